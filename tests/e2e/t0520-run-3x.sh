#!/usr/bin/env bash
# `cdctail run` against a real Cassandra 3.11 and a real Kafka. 3.x writes no
# _cdc.idx: a segment appears in cdc_raw whole, moved there when Cassandra
# discards it after the memtables it holds are flushed. The seed's mutation
# mix at a steady rate while the keyspace is flushed over JMX every few
# seconds and cdctail is killed with SIGKILL twice; at the end a drain moves
# the last segment. Then: every acknowledged write's event is in Kafka
# (tests/e2e/kafka_verify.py), cdc_raw is empty (every segment archived), the
# archive replayed into a fresh topic gives the same events, the schema came
# from the live node over protocol v4, and SIGTERM exits 0.
. "$(dirname "$0")/lib.sh"
PY=$(scripts/deps.sh --python)
V=${RUN3X_VERSION:-3.11}
ADDR=${LIVE_ADDR:-127.0.0.1}
PORT=${KAFKA_TEST_PORT:-9392}
B=127.0.0.1:$PORT
RATE=${RUN3X_RATE:-1000}
SECS=${RUN3X_SECONDS:-20}
JMX=$((7100 + ${ADDR##*.}))
ks=run3x

jmx() { java scripts/fixtures/JmxOp.java 127.0.0.1 "$JMX" "$@" >>"$TMP/jmx.log" 2>&1; }

kdir=$TMP/kafka
if ! scripts/kafka.sh start --dir "$kdir" --port "$PORT" >"$TMP/k.log" 2>&1; then
	cat "$TMP/k.log"
	not_ok "run $V: could not start Kafka on $B (log above)"
	exit 0
fi
at_exit "scripts/kafka.sh stop --dir '$kdir'"
cdir=$TMP/cass
if ! scripts/cassandra.sh start --version "$V" --dir "$cdir" --addr "$ADDR" >"$TMP/c.log" 2>&1; then
	cat "$TMP/c.log"
	not_ok "run $V: could not start Cassandra $V on $ADDR (log above)"
	exit 0
fi
at_exit "scripts/cassandra.sh stop --dir '$cdir'"

"$PY" tests/e2e/loadgen.py --host "$ADDR" --keyspace "$ks" --rf 1 --create --rate 10 --seconds 0.5 \
	--log "$TMP/w0.jsonl" >/dev/null || not_ok "run $V: schema creation failed"
conf=$TMP/run.conf
cat >"$conf" <<EOF
cdc_raw = $cdir/cdc_raw
state_dir = $TMP/state
cassandra.host = $ADDR
kafka.bootstrap.servers = $B
kafka.linger.ms = 5
topic.prefix = t
rescan_interval = 1s
checkpoint_interval = 500ms
node = $ADDR
archive_dir = $TMP/archive
EOF
log=$TMP/run.log
start_run() { "$CDCTAIL" run --config "$conf" 2>>"$log" & echo $! >"$TMP/pid"; }
start_run

"$PY" tests/e2e/loadgen.py --host "$ADDR" --keyspace "$ks" --rf 1 --rate "$RATE" --seconds "$SECS" \
	--log "$TMP/w1.jsonl" >"$TMP/load.json" 2>"$TMP/load.err" &
loadpid=$!
flushes=0 kills=0
while kill -0 $loadpid 2>/dev/null; do
	sleep 3
	jmx flush "$ks" && flushes=$((flushes + 1))
	if [ $kills -lt 2 ] && [ $flushes -ge 1 ]; then
		pid=$(cat "$TMP/pid")
		kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
		wait "$pid" 2>/dev/null
		start_run
	fi
done
wait $loadpid
read -r acked failed rate < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); print(d["acknowledged"], d["failed"], d["achieved_rate"])' "$TMP/load.json")
check "run $V: Cassandra acknowledged all $acked writes at $rate/s ($failed failed)" [ "${failed:-1}" = 0 -a "${acked:-0}" -gt 0 ]
# the first segment also holds system tables' writes: flush those too
jmx flush system; jmx flush "$ks"
moved=0
for i in $(seq 1 40); do
	moved=$(ls "$TMP/archive" 2>/dev/null | grep -c '\.log$')
	[ "$moved" -ge 1 ] && break
	sleep 0.5
done
check "run $V: flushed $flushes times while writing (killed $kills times); with the node up, $moved segments were moved into cdc_raw, consumed and archived" \
	[ $flushes -ge 2 -a "$moved" -ge 1 -a $kills = 2 ]
"$CDCTAIL" schema export --host "$ADDR" --keyspace "$ks" --output "$TMP/schema.json" 2>"$TMP/export.err" ||
	not_ok "run $V: schema export failed: $(tail -1 "$TMP/export.err")"
jmx drain || { cat "$TMP/jmx.log"; not_ok "run $V: drain over JMX failed"; }

"$PY" tests/e2e/kafka_verify.py --bootstrap "$B" --topic "t.$ks.movies_by_genre" \
	--writes "$TMP/w0.jsonl" --writes "$TMP/w1.jsonl" --key-format json --idle 10 --timeout 300 \
	>"$TMP/verify.json" 2>"$TMP/verify.err"
vrc=$?
summary=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("%d writes, %d messages: %d lost, %d duplicates, %d spurious, %d key mismatches" % (
    d["writes"], d["messages"], d["lost"], d["duplicates"], d["spurious"], d["message_key"]["mismatch"]))' "$TMP/verify.json" 2>/dev/null)
[ $vrc = 0 ] || { tail -5 "$TMP/verify.err"; grep -v '^%' "$log" | tail -5; }
check "run $V: every write is in Kafka with its key ($summary)" [ $vrc = 0 ]
left=0
for i in $(seq 1 30); do
	left=$(ls "$cdir/cdc_raw" | grep -c '\.log$')
	[ "$left" = 0 ] && break
	sleep 1
done
narch=$(ls "$TMP/archive" | grep -c '\.log$')
check "run $V: cdc_raw is empty ($left left), $narch segments archived, none with an idx" \
	sh -c "[ $left = 0 -a $narch -ge 2 ] && ! ls '$TMP/archive' | grep -q idx"
"$CDCTAIL" replay --schema "$TMP/schema.json" --node "$ADDR" --kafka "$B" --topic-prefix r "$TMP/archive" \
	>/dev/null 2>"$TMP/replay.err"
rrc=$?
kcat -b "$B" -C -t "t.$ks.movies_by_genre" -e -q -f '%s\n' 2>/dev/null | sort -u >"$TMP/run-events"
kcat -b "$B" -C -t "r.$ks.movies_by_genre" -e -q -f '%s\n' 2>/dev/null | sort -u >"$TMP/replay-events"
check "run $V: replay of the archive (exit $rrc) into a fresh topic gives the events run sent ($(wc -l <"$TMP/run-events") distinct)" \
	sh -c "[ $rrc = 0 ] && [ -s '$TMP/run-events' ] && cmp -s '$TMP/run-events' '$TMP/replay-events'"
check "run $V: events say commitlog version 6" grep -q '"cl_version":6' "$TMP/run-events"
pid=$(cat "$TMP/pid")
kill -TERM "$pid"
wait "$pid"
trc=$?
check "run $V: SIGTERM: exit $trc, checkpoint saved" sh -c "[ $trc = 0 ] && tail -1 '$log' | grep -q 'checkpoint saved'"
check "run $V: no sanitizer report in the service's log" sh -c "! grep -q -E 'AddressSanitizer|runtime error|LeakSanitizer' '$log'"
