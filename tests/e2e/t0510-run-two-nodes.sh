#!/usr/bin/env bash
# The seed's own setup: two Cassandra nodes (127.0.0.1 and 127.0.0.2, one
# cluster, RF=2), one `cdctail run` per node, both into the same Kafka
# topic. Every write arrives twice (once from each node's commitlog) and both
# copies carry the same `id` (tests/e2e/kafka_verify.py --copies 2). On
# Cassandra 5.0 and 4.1 (TWO_VERSIONS), one Kafka for both.
. "$(dirname "$0")/lib.sh"
PY=$(scripts/deps.sh --python)
A1=${TWO_ADDR1:-127.0.0.1}
A2=${TWO_ADDR2:-127.0.0.2}
PORT=${KAFKA_TEST_PORT:-9392}
B=127.0.0.1:$PORT

kdir=$TMP/kafka
if ! scripts/kafka.sh start --dir "$kdir" --port "$PORT" >"$TMP/k.log" 2>&1; then
	cat "$TMP/k.log"; not_ok "two nodes: could not start Kafka on $B"; exit 0
fi
at_exit "scripts/kafka.sh stop --dir '$kdir'"
for V in ${TWO_VERSIONS:-${TWO_VERSION:-5.0 4.1}}; do
	t_v=$(date +%s)
	w=$TMP/$V
	mkdir -p "$w"
	started=1
	for a in "$A1" "$A2"; do
		if ! scripts/cassandra.sh start --version "$V" --dir "$w/c-$a" --addr "$a" --seeds "$A1" \
			--cluster-name two --sync-period-ms 200 >"$TMP/c.log" 2>&1; then
			cat "$TMP/c.log"; not_ok "two nodes $V: could not start Cassandra $V on $a"; started=0; break
		fi
		at_exit "scripts/cassandra.sh stop --dir '$w/c-$a'"
	done
	[ $started = 1 ] || continue
	# both nodes see each other
	up=0
	for i in $(seq 1 60); do
		n=$("$PY" scripts/cql.py --host "$A1" -e "SELECT peer FROM system.peers;" 2>/dev/null | grep -c peer)
		[ "$n" -ge 1 ] && { up=1; break; }
		sleep 1
	done
	check "two nodes $V: Cassandra $V on $A1 and $A2 form one cluster ($(( $(date +%s) - t_v )) s to start)" [ $up = 1 ]
	ks=two${V/./}
	"$PY" tests/e2e/loadgen.py --host "$A1" --host "$A2" --keyspace $ks --rf 2 --create --rate 10 --seconds 0.5 \
		--log "$w/w0.jsonl" >/dev/null || not_ok "two nodes $V: schema creation failed"
	pids=()
	for a in "$A1" "$A2"; do
		cat >"$w/run-$a.conf" <<EOC
cdc_raw = $w/c-$a/cdc_raw
state_dir = $w/state-$a
cassandra.host = $a
kafka.bootstrap.servers = $B
kafka.linger.ms = 5
topic.prefix = two
node = $a
rescan_interval = 1s
EOC
		"$CDCTAIL" run --config "$w/run-$a.conf" 2>"$w/run-$a.log" &
		pids+=($!)
	done
	"$PY" tests/e2e/loadgen.py --host "$A1" --host "$A2" --keyspace $ks --rf 2 --rate "${TWO_RATE:-300}" \
		--seconds "${TWO_SECONDS:-20}" --log "$w/w1.jsonl" >"$w/load.json"
	lrc=$?
	check "two nodes $V: every write acknowledged by both replicas (CL ALL): $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["acknowledged"], "acknowledged,", d["failed"], "failed")' "$w/load.json")" [ $lrc = 0 ]
	topic=two.$ks.movies_by_genre
	"$PY" tests/e2e/kafka_verify.py --bootstrap "$B" --topic $topic --writes "$w/w0.jsonl" \
		--writes "$w/w1.jsonl" --copies 2 --key-format json --idle "${TWO_IDLE:-10}" --timeout 300 >"$w/verify.json" 2>"$w/verify.err"
	vrc=$?
	summary=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("%d writes, %d messages: %d lost, %s under 2 copies, %d id mismatches, %d duplicates beyond 2" % (
    d["writes"], d["messages"], d["lost"], d["under_copied"], d["id_mismatch"], d["duplicates"]))' "$w/verify.json" 2>/dev/null)
	[ $vrc = 0 ] || tail -5 "$w/verify.err"
	check "two nodes $V: every write is in Kafka twice, both copies with the same id ($summary)" [ $vrc = 0 ]
	nodes=$(kcat -b "$B" -C -t $topic -e -q -c 2000 -f '%s\n' 2>/dev/null |
		python3 -c 'import json, sys; print(" ".join(sorted({json.loads(l)["source"]["node"] for l in sys.stdin})))')
	check "two nodes $V: events come from both nodes' cdctail ($nodes)" [ "$nodes" = "$(printf '%s\n' "$A1" "$A2" | sort | tr '\n' ' ' | sed 's/ $//')" ]
	for p in "${pids[@]}"; do kill -TERM "$p"; done
	rcs=""
	for p in "${pids[@]}"; do wait "$p"; rcs="$rcs $?"; done
	check "two nodes $V: both services stop cleanly on SIGTERM (exit$rcs)" [ "$rcs" = " 0 0" ]
	check "two nodes $V: no sanitizer report in the services' logs" sh -c "! grep -q -E 'AddressSanitizer|runtime error|LeakSanitizer' '$w/run-$A1.log' '$w/run-$A2.log'"
	for a in "$A2" "$A1"; do scripts/cassandra.sh stop --dir "$w/c-$a" >/dev/null 2>&1; done
	echo "# Cassandra $V: $(( $(date +%s) - t_v )) s"
done
