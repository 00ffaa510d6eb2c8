#!/usr/bin/env bash
# scripts/cassandra.sh - one Cassandra node from the cassandra-all jars, on a
# loopback address, with CDC on. No Docker, no conf/ from a tarball: the yaml,
# logback config and JVM flags are written here.
#
#   scripts/cassandra.sh start --version 5.0|4.1|4.0 --dir DIR [--addr 127.0.0.1]
#        [--compression none|lz4|snappy|deflate|zstd] [--seeds ADDR]
#        [--segment-size-mb 1] [--sync-period-ms 500] [--cdc-total-space-mb 4096]
#        [--cdc-block-writes true|false]   (4.1+: cdc_block_writes; Cassandra's default true)
#        [--storage-compat NONE|CASSANDRA_4] [--cluster-name NAME] [--heap 1g]
#        [--auth]   (PasswordAuthenticator; user cassandra/cassandra, ready a few s after start)
#        [--tls-keystore FILE --tls-password P [--tls-truststore FILE] [--tls-client-auth]]
#                   (client_encryption_options: CQL only over TLS with the key and
#                   certificate in the JKS/PKCS12 keystore FILE; --tls-client-auth
#                   also requires a client certificate signed by a CA in the
#                   truststore; P opens both stores)
#        [--commitlog-access legacy|auto|mmap|direct]   (5.0: commitlog_disk_access_mode)
#   scripts/cassandra.sh stop --dir DIR
#   scripts/cassandra.sh status --dir DIR
#
# start returns once CQL answers on ADDR:9042 (deadline $CASSANDRA_START_TIMEOUT,
# default 240 s) and prints the node's log tail when it does not. Data, commitlog,
# cdc_raw (DIR/cdc_raw) and logs (DIR/logs/system.log) live under DIR.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() { sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
[ $# -ge 1 ] || usage
cmd=$1; shift
version= dir= addr=127.0.0.1 compression=none seeds= segmb=1 syncms=500 cdcmb=4096
cdcblock= compat= cluster=cdctail heap=1g auth=0 keystore= truststore= tlspass= clientauth=false claccess=
while [ $# -gt 0 ]; do
	case $1 in
	--version) version=$2; shift ;;
	--dir) dir=$2; shift ;;
	--addr) addr=$2; shift ;;
	--compression) compression=$2; shift ;;
	--seeds) seeds=$2; shift ;;
	--segment-size-mb) segmb=$2; shift ;;
	--sync-period-ms) syncms=$2; shift ;;
	--cdc-total-space-mb) cdcmb=$2; shift ;;
	--cdc-block-writes) cdcblock=$2; shift ;;
	--storage-compat) compat=$2; shift ;;
	--cluster-name) cluster=$2; shift ;;
	--heap) heap=$2; shift ;;
	--auth) auth=1 ;;
	--tls-keystore) keystore=$2; shift ;;
	--tls-truststore) truststore=$2; shift ;;
	--tls-password) tlspass=$2; shift ;;
	--tls-client-auth) clientauth=true ;;
	--commitlog-access) claccess=$2; shift ;;
	*) usage ;;
	esac
	shift
done
[ -n "$dir" ] || usage

node_pid() { [ -f "$dir/cassandra.pid" ] && cat "$dir/cassandra.pid"; }
running() { local p; p=$(node_pid) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

stop_node() {
	local p i
	running || { rm -f "$dir/cassandra.pid"; return 0; }
	p=$(node_pid)
	kill "$p" 2>/dev/null || true
	for ((i = 0; i < 60; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
	if kill -0 "$p" 2>/dev/null; then
		log "cassandra pid $p did not stop in 30 s; killing it"
		kill -9 "$p" 2>/dev/null || true
		sleep 1
	fi
	rm -f "$dir/cassandra.pid"
}

case $cmd in
stop) stop_node; exit 0 ;;
status) if running; then echo "running pid $(node_pid)"; else echo stopped; exit 1; fi; exit 0 ;;
start) ;;
*) usage ;;
esac

[ -n "$version" ] || usage
if [ -n "$keystore" ]; then
	[ -n "$tlspass" ] || die "--tls-keystore needs --tls-password"
	[ $clientauth = false ] || [ -n "$truststore" ] || die "--tls-client-auth needs --tls-truststore"
	keystore=$(cd "$(dirname "$keystore")" && pwd)/$(basename "$keystore")
	[ -z "$truststore" ] || truststore=$(cd "$(dirname "$truststore")" && pwd)/$(basename "$truststore")
fi
full=$(cassandra_full_version "$version")
home=$("$SCRIPTS_DIR/cassandra-install.sh" "$full")
running && die "a node is already running from $dir (pid $(node_pid))"
seeds=${seeds:-$addr}
mkdir -p "$dir"/{data,commitlog,cdc_raw,saved_caches,hints,logs}
dir=$(cd "$dir" && pwd)

case $compression in
none) comp_yaml= ;;
lz4) comp_yaml=LZ4Compressor ;;
snappy) comp_yaml=SnappyCompressor ;;
deflate) comp_yaml=DeflateCompressor ;;
zstd) comp_yaml=ZstdCompressor ;;
*) die "unknown compression '$compression' (none, lz4, snappy, deflate, zstd)" ;;
esac

case $full in
3.*|4.0.*)
	java=$CDCTAIL_CACHE/jdk11/bin/java
	sizes="commitlog_segment_size_in_mb: $segmb
commitlog_sync_period_in_ms: $syncms
cdc_total_space_in_mb: $cdcmb"
	;;
4.1.*)
	java=$CDCTAIL_CACHE/jdk11/bin/java
	sizes="commitlog_segment_size: ${segmb}MiB
commitlog_sync_period: ${syncms}ms
cdc_total_space: ${cdcmb}MiB"
	;;
*)
	java=${JAVA17:-java}
	sizes="commitlog_segment_size: ${segmb}MiB
commitlog_sync_period: ${syncms}ms
cdc_total_space: ${cdcmb}MiB"
	;;
esac
"$java" -version >/dev/null 2>&1 || die "no usable Java for Cassandra $full ($java)"

{
	cat <<YAML
cluster_name: $cluster
num_tokens: 4
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
commitlog_directory: $dir/commitlog
data_file_directories: [$dir/data]
saved_caches_directory: $dir/saved_caches
hints_directory: $dir/hints
cdc_raw_directory: $dir/cdc_raw
cdc_enabled: true
commitlog_sync: periodic
$sizes
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "$seeds"
listen_address: $addr
rpc_address: $addr
native_transport_port: 9042
storage_port: 7000
endpoint_snitch: SimpleSnitch
start_native_transport: true
auto_snapshot: false
YAML
	if [ -n "$comp_yaml" ]; then
		printf 'commitlog_compression:\n  - class_name: %s\n' "$comp_yaml"
	fi
	if [ $auth = 1 ]; then
		echo "authenticator: PasswordAuthenticator"
	fi
	if [ -n "$keystore" ]; then
		cat <<TLS
client_encryption_options:
  enabled: true
  optional: false
  keystore: $keystore
  keystore_password: $tlspass
  require_client_auth: $clientauth
TLS
		[ -z "$truststore" ] || printf '  truststore: %s\n  truststore_password: %s\n' "$truststore" "$tlspass"
	fi
	if [ -n "$claccess" ]; then
		case $full in 5.*) echo "commitlog_disk_access_mode: $claccess" ;; *) die "--commitlog-access is for 5.0" ;; esac
	fi
	if [ -n "$cdcblock" ]; then
		case $cdcblock in true|false) ;; *) die "--cdc-block-writes true or false" ;; esac
		case $full in 3.*|4.0.*) die "--cdc-block-writes is for 4.1 and later (4.0 always blocks)" ;; esac
		echo "cdc_block_writes: $cdcblock"
	fi
	if [ -n "$compat" ]; then
		case $full in 5.*) echo "storage_compatibility_mode: $compat" ;; *) die "--storage-compat is for 5.0" ;; esac
	fi
} >"$dir/cassandra.yaml"

cat >"$dir/logback.xml" <<XML
<configuration>
  <appender name="FILE" class="ch.qos.logback.core.FileAppender">
    <file>$dir/logs/system.log</file>
    <encoder><pattern>%-5level [%thread] %date{ISO8601} %logger{0}: %msg%n</pattern></encoder>
  </appender>
  <root level="INFO"><appender-ref ref="FILE"/></root>
</configuration>
XML

# The module exports/opens Cassandra's conf/jvm11-server.options and
# jvm17-server.options ask for (JMX, NIO internals, jamm's object sizing).
jvm_modules=(
	--add-exports java.base/jdk.internal.misc=ALL-UNNAMED
	--add-exports java.base/jdk.internal.ref=ALL-UNNAMED
	--add-exports java.base/sun.nio.ch=ALL-UNNAMED
	--add-exports java.management.rmi/com.sun.jmx.remote.internal.rmi=ALL-UNNAMED
	--add-exports java.rmi/sun.rmi.registry=ALL-UNNAMED
	--add-exports java.rmi/sun.rmi.server=ALL-UNNAMED
	--add-exports java.sql/java.sql=ALL-UNNAMED
	--add-opens java.base/java.lang.module=ALL-UNNAMED
	--add-opens java.base/jdk.internal.loader=ALL-UNNAMED
	--add-opens java.base/jdk.internal.ref=ALL-UNNAMED
	--add-opens java.base/jdk.internal.reflect=ALL-UNNAMED
	--add-opens java.base/jdk.internal.math=ALL-UNNAMED
	--add-opens java.base/jdk.internal.module=ALL-UNNAMED
	--add-opens java.base/jdk.internal.util.jar=ALL-UNNAMED
	--add-opens jdk.management/com.sun.management.internal=ALL-UNNAMED
)
case $full in
5.*) jvm_modules+=(
	--add-exports java.base/java.lang.ref=ALL-UNNAMED
	--add-exports jdk.unsupported/sun.misc=ALL-UNNAMED
	--add-opens java.base/sun.nio.ch=ALL-UNNAMED
	--add-opens java.base/java.io=ALL-UNNAMED
	--add-opens java.base/java.nio=ALL-UNNAMED
	--add-opens java.base/java.util.concurrent=ALL-UNNAMED
	--add-opens java.base/java.util=ALL-UNNAMED
	--add-opens java.base/java.util.concurrent.atomic=ALL-UNNAMED
	--add-opens java.base/java.lang=ALL-UNNAMED
	--add-opens java.base/java.math=ALL-UNNAMED
	--add-opens java.base/java.lang.reflect=ALL-UNNAMED
	--add-opens java.base/java.net=ALL-UNNAMED
	-Djava.security.manager=allow
) ;;
esac
jamm=$(ls "$home"/lib/jamm-*.jar | head -1)
octet=${addr##*.}

log "starting Cassandra $full on $addr (dir $dir, compression $compression${keystore:+, CQL over TLS})"
t0=$(date +%s)
# shellcheck disable=SC2086
nohup "$java" -Xms256m -Xmx"$heap" -Xss512k -XX:+UseG1GC \
	-javaagent:"$jamm" "${jvm_modules[@]}" \
	-Djava.net.preferIPv4Stack=true \
	-Dcassandra.config="file://$dir/cassandra.yaml" \
	-Dcassandra-foreground=yes \
	-Dcassandra.storagedir="$dir" \
	-Dcassandra.logdir="$dir/logs" \
	-Dlogback.configurationFile="$dir/logback.xml" \
	-Dcassandra.skip_wait_for_gossip_to_settle=0 \
	-Dcassandra.ring_delay_ms=1000 \
	-Dcassandra.superuser_setup_delay_ms=0 \
	-Dcassandra.jmx.local.port=$((7100 + octet)) \
	-cp "$home/lib/*" org.apache.cassandra.service.CassandraDaemon \
	>"$dir/logs/stdout.log" 2>&1 </dev/null &
echo $! >"$dir/cassandra.pid"

deadline=${CASSANDRA_START_TIMEOUT:-240}
for ((i = 0; i < deadline * 2; i++)); do
	if ! running; then
		echo "Cassandra $full on $addr exited during start-up; log tail:" >&2
		tail -40 "$dir/logs/system.log" "$dir/logs/stdout.log" >&2 2>/dev/null || true
		exit 1
	fi
	if grep -q 'Starting listening for CQL clients' "$dir/logs/system.log" 2>/dev/null &&
		wait_port "$addr" 9042 1; then
		log "Cassandra $full up on $addr:9042 in $(( $(date +%s) - t0 )) s"
		exit 0
	fi
	sleep 0.5
done
echo "Cassandra $full on $addr did not answer CQL within $deadline s; log tail:" >&2
tail -40 "$dir/logs/system.log" >&2 2>/dev/null || true
stop_node
exit 1
