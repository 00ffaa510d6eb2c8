#!/usr/bin/env bash
# The seed's own setup: two Cassandra nodes (127.0.0.1 and 127.0.0.2, one
# cluster, RF=2), one `cdctail run` per node, both into the same Kafka
# topic. Every write arrives twice (once from each node's commitlog) and both
# copies carry the same `id` (tests/e2e/kafka_verify.py --copies 2).
. "$(dirname "$0")/lib.sh"
PY=$(scripts/deps.sh --python)
A1=${TWO_ADDR1:-127.0.0.1}
A2=${TWO_ADDR2:-127.0.0.2}
PORT=${KAFKA_TEST_PORT:-9392}
B=127.0.0.1:$PORT
V=${TWO_VERSION:-5.0}

kdir=$TMP/kafka
if ! scripts/kafka.sh start --dir "$kdir" --port "$PORT" >"$TMP/k.log" 2>&1; then
	cat "$TMP/k.log"; not_ok "two nodes: could not start Kafka on $B"; exit 0
fi
at_exit "scripts/kafka.sh stop --dir '$kdir'"
for a in "$A1" "$A2"; do
	if ! scripts/cassandra.sh start --version "$V" --dir "$TMP/c-$a" --addr "$a" --seeds "$A1" \
		--cluster-name two --sync-period-ms 200 >"$TMP/c.log" 2>&1; then
		cat "$TMP/c.log"; not_ok "two nodes: could not start Cassandra $V on $a"; exit 0
	fi
	at_exit "scripts/cassandra.sh stop --dir '$TMP/c-$a'"
done
# both nodes see each other
up=0
for i in $(seq 1 60); do
	n=$("$PY" scripts/cql.py --host "$A1" -e "SELECT peer FROM system.peers;" 2>/dev/null | grep -c peer)
	[ "$n" -ge 1 ] && { up=1; break; }
	sleep 1
done
check "two nodes: Cassandra $V on $A1 and $A2 form one cluster" [ $up = 1 ]
"$PY" tests/e2e/loadgen.py --host "$A1" --host "$A2" --keyspace two --rf 2 --create --rate 10 --seconds 0.5 \
	--log "$TMP/w0.jsonl" >/dev/null || not_ok "two nodes: schema creation failed"
pids=()
for a in "$A1" "$A2"; do
	cat >"$TMP/run-$a.conf" <<EOF
cdc_raw = $TMP/c-$a/cdc_raw
state_dir = $TMP/state-$a
cassandra.host = $a
kafka.bootstrap.servers = $B
kafka.linger.ms = 5
topic.prefix = two
node = $a
rescan_interval = 1s
EOF
	"$CDCTAIL" run --config "$TMP/run-$a.conf" 2>"$TMP/run-$a.log" &
	pids+=($!)
done
"$PY" tests/e2e/loadgen.py --host "$A1" --host "$A2" --keyspace two --rf 2 --rate "${TWO_RATE:-300}" \
	--seconds "${TWO_SECONDS:-20}" --log "$TMP/w1.jsonl" >"$TMP/load.json"
lrc=$?
check "two nodes: every write acknowledged by both replicas (CL ALL): $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["acknowledged"], "acknowledged,", d["failed"], "failed")' "$TMP/load.json")" [ $lrc = 0 ]
"$PY" tests/e2e/kafka_verify.py --bootstrap "$B" --topic two.two.movies_by_genre --writes "$TMP/w0.jsonl" \
	--writes "$TMP/w1.jsonl" --copies 2 --key-format json --idle 15 --timeout 300 >"$TMP/verify.json" 2>"$TMP/verify.err"
vrc=$?
summary=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("%d writes, %d messages: %d lost, %s under 2 copies, %d id mismatches, %d duplicates beyond 2" % (
    d["writes"], d["messages"], d["lost"], d["under_copied"], d["id_mismatch"], d["duplicates"]))' "$TMP/verify.json" 2>/dev/null)
[ $vrc = 0 ] || tail -5 "$TMP/verify.err"
check "two nodes: every write is in Kafka twice, both copies with the same id ($summary)" [ $vrc = 0 ]
nodes=$(kcat -b "$B" -C -t two.two.movies_by_genre -e -q -c 2000 -f '%s\n' 2>/dev/null |
	python3 -c 'import json, sys; print(" ".join(sorted({json.loads(l)["source"]["node"] for l in sys.stdin})))')
check "two nodes: events come from both nodes' cdctail ($nodes)" [ "$nodes" = "$(printf '%s\n' "$A1" "$A2" | sort | tr '\n' ' ' | sed 's/ $//')" ]
for p in "${pids[@]}"; do kill -TERM "$p"; done
rcs=""
for p in "${pids[@]}"; do wait "$p"; rcs="$rcs $?"; done
check "two nodes: both services stop cleanly on SIGTERM (exit$rcs)" [ "$rcs" = " 0 0" ]
