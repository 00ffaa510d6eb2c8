#!/usr/bin/env bash
# scripts/kafka.sh - a one-node Kafka (KRaft: broker and controller in one
# process) on 127.0.0.1:9092 (controller 9093), from the Maven Central jars.
#
#   scripts/kafka.sh start --dir DIR [--port 9092]
#   scripts/kafka.sh stop --dir DIR
#
# start formats the storage once, starts the broker in the background (log in
# DIR/kafka.log) and returns when a metadata request answers (kcat -L), within
# $KAFKA_START_TIMEOUT (default 120) seconds.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
cmd=$1; shift
dir= port=9092
while [ $# -gt 0 ]; do
	case $1 in
	--dir) dir=$2; shift ;;
	--port) port=$2; shift ;;
	*) usage ;;
	esac
	shift
done
[ -n "$dir" ] || usage
running() { [ -f "$dir/kafka.pid" ] && kill -0 "$(cat "$dir/kafka.pid")" 2>/dev/null; }

case $cmd in
stop)
	if running; then
		p=$(cat "$dir/kafka.pid"); kill "$p" || true
		for ((i = 0; i < 60; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
		kill -9 "$p" 2>/dev/null || true
	fi
	rm -f "$dir/kafka.pid"; exit 0 ;;
start) ;;
*) usage ;;
esac

home=$("$SCRIPTS_DIR/kafka-install.sh")
running && die "Kafka already running from $dir"
mkdir -p "$dir/data"
dir=$(cd "$dir" && pwd)
cport=$((port + 1))
cat >"$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
PROPS
cat >"$dir/log4j.properties" <<L4J
log4j.rootLogger=WARN, F
log4j.appender.F=org.apache.log4j.FileAppender
log4j.appender.F.File=$dir/server.log
log4j.appender.F.layout=org.apache.log4j.PatternLayout
log4j.appender.F.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
L4J
jopts=(-Xms256m -Xmx512m -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$home/lib/*")
if [ ! -f "$dir/data/meta.properties" ]; then
	java "${jopts[@]}" kafka.tools.StorageTool format -t "$(cat /proc/sys/kernel/random/uuid | tr -d - | head -c 22)" \
		-c "$dir/server.properties" >"$dir/format.log" 2>&1 || { cat "$dir/format.log" >&2; die "kafka storage format failed"; }
fi
log "starting Kafka $KAFKA_VERSION on 127.0.0.1:$port (dir $dir)"
t0=$(date +%s)
nohup java "${jopts[@]}" kafka.Kafka "$dir/server.properties" >"$dir/kafka.log" 2>&1 </dev/null &
echo $! >"$dir/kafka.pid"
for ((i = 0; i < ${KAFKA_START_TIMEOUT:-120} * 2; i++)); do
	running || { tail -30 "$dir/kafka.log" "$dir/server.log" >&2; die "Kafka exited during start-up"; }
	if wait_port 127.0.0.1 "$port" 1 && kcat -b "127.0.0.1:$port" -L -m 3 >/dev/null 2>&1; then
		log "Kafka up on 127.0.0.1:$port in $(( $(date +%s) - t0 )) s"
		exit 0
	fi
	sleep 0.5
done
tail -30 "$dir/server.log" >&2 || true
"$0" stop --dir "$dir"
die "Kafka did not answer on 127.0.0.1:$port"
