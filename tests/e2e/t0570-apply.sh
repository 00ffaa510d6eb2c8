#!/usr/bin/env bash
# `cdctail apply` against a real Cassandra 5.0 (source keyspace src and
# target keyspace dst on one node, --keyspace-map src=dst) and a real Kafka.
# A mixed workload is written by CQL into src (tests/e2e/apply_check.py:
# lists, sets, maps, a UDT, statics, TTLs, a cell expired before it is
# applied, deletes of cells, rows, ranges and partitions, a counter); the
# node's cdc_raw is read with `cdctail replay`; every event goes into Kafka
# 1 to 3 times, with a minimal application event and one the target
# refuses. Then:
#   - apply is SIGKILLed right after a list append was acknowledged and
#     before it was recorded (CDCTAIL_APPLY_KILL_AFTER_LIST_WRITES), and run
#     again with --once: dst equals src through CQL, row by row, values,
#     WRITETIME and TTL (within the seconds elapsed), lists not doubled, the
#     killed write found on the target (resolved), duplicates skipped;
#   - the refused write and the counter are in the dead-letter file;
#   - the group's committed offsets are the end of every partition, and a
#     third run applies nothing;
#   - the metrics file has the applied events by table and op and the lag.
. "$(dirname "$0")/lib.sh"
PY=$(scripts/deps.sh --python)
ADDR=${APPLY_ADDR:-127.0.0.13}
PORT=${APPLY_KAFKA_PORT:-9397}
B=127.0.0.1:$PORT
CHK=tests/e2e/apply_check.py
t_begin=$(date +%s)
chk() { "$PY" "$CHK" "$@" 2> >(grep -v 'Warning\|warn(' >&2); }

kdir=$TMP/kafka
scripts/kafka.sh start --dir "$kdir" --port "$PORT" >"$TMP/k.log" 2>&1 &
kpid=$!
at_exit "scripts/kafka.sh stop --dir '$kdir'"
cdir=$TMP/cass
at_exit "scripts/cassandra.sh stop --dir '$cdir'"
if ! scripts/cassandra.sh start --version 5.0 --dir "$cdir" --addr "$ADDR" >"$TMP/c.log" 2>&1; then
	tail -20 "$TMP/c.log"
	not_ok "apply: could not start Cassandra 5.0 on $ADDR (log above)"
	exit 0
fi
if ! wait $kpid; then
	tail -20 "$TMP/k.log"
	not_ok "apply: could not start Kafka on $B (log above)"
	exit 0
fi
echo "# services up in $(($(date +%s) - t_begin)) s"

chk load "$ADDR" "$TMP" || not_ok "apply: writing the workload failed"
# the events of keyspace src, once the marker written last is read
for _ in $(seq 60); do
	"$CDCTAIL" replay --schema "$TMP/schema.json" "$cdir/cdc_raw" 2>/dev/null | grep '"keyspace":"src"' >"$TMP/events.jsonl"
	grep -q '"table":"zz_marker"' "$TMP/events.jsonl" && break
	sleep 0.5
done
check "apply: $(wc -l <"$TMP/events.jsonl") events read from the node's cdc_raw, the marker among them" \
	grep -q '"table":"zz_marker"' "$TMP/events.jsonl"
sleep 1 # the TTL 1 cell has expired
chk produce "$B" "$TMP/events.jsonl" "$TMP"

apply() { # apply NAME ARGS...: stderr in $TMP/NAME.err, exit code in $TMP/NAME.rc
	local name=$1; shift
	timeout 60 "$CDCTAIL" apply --state-dir "$TMP/st" --host "$ADDR" --keyspace-map src=dst --kafka "$B" \
		--group t0570 --topic '^cdctail\.src\..*' --metrics-file "$TMP/apply.prom" \
		-X session.timeout.ms=6000 "$@" 2>"$TMP/$name.err"
	echo $? >"$TMP/$name.rc"
	tail -1 "$TMP/$name.err" | sed "s/^/# $name: /"
}
summary() { grep -o 'applied [0-9]* events.*' "$TMP/$1.err" | tail -1; }
count() { summary "$1" | grep -o "[0-9]* $2" | head -1 | grep -o '^[0-9]*'; }

# killed after the second list append's write, before its record
CDCTAIL_APPLY_KILL_AFTER_LIST_WRITES=2 apply run1 --once
check "apply: the first run was SIGKILLed after a list write (exit $(cat "$TMP/run1.rc"), want 137)" \
	[ "$(cat "$TMP/run1.rc")" = 137 ]
t0=$(date +%s%N)
apply run2 --once
t1=$(date +%s%N)
cp "$TMP/apply.prom" "$TMP/run2.prom"
check "apply: the second run exits 1 (a refused write), exit $(cat "$TMP/run2.rc")" [ "$(cat "$TMP/run2.rc")" = 1 ]
n=$(count run2 'events')
echo "# run2: $n events applied in $(( (t1 - t0) / 1000000 )) ms (ASan build, group join included)"
check "apply: the list append written by the killed run was found on the target, not applied again ($(count run2 resolved) resolved, $(count run2 uncertain) uncertain)" \
	[ "$(count run2 resolved)" -ge 1 -a "$(count run2 uncertain)" = 0 ]
check "apply: duplicate list appends skipped by id ($(count run2 'duplicate list appends skipped'))" \
	[ "$(count run2 'duplicate list appends skipped')" -ge 1 ]
chk compare "$ADDR" "$TMP"
dl=$TMP/st/apply-dead-letter.jsonl
check "apply: the refused write is in the dead-letter file with its event and Kafka position" \
	"$PY" -c 'import json,sys; L=[json.loads(l) for l in open(sys.argv[1])]; sys.exit(0 if any("refused" in d["error"] and "g"*70000 in d["event"] and d["input"].startswith("cdctail.src.movies_by_genre[") for d in L) else 1)' "$dl"
check "apply: the counter change is reported in the dead-letter file as not applied" \
	"$PY" -c 'import json,sys; L=[json.loads(l) for l in open(sys.argv[1])]; sys.exit(0 if any("counter cells" in d["error"] and d["table"] == "hits" for d in L) else 1)' "$dl"
check "apply: counters counted ($(count run2 'counter cells'))" [ "$(count run2 'counter cells')" -ge 1 ]
chk offsets "$B" t0570
apply run3 --once
check "apply: a third run reads nothing: offsets were committed ($(summary run3 | cut -c1-40))" \
	sh -c "[ '$(cat "$TMP/run3.rc")' = 0 ] && [ '$(count run3 events)' = 0 ]"
apply run4 --idle-exit 2
check "apply: --idle-exit 2 stops a run that has nothing to read (exit $(cat "$TMP/run4.rc"), $(count run4 events) events)" \
	sh -c "[ '$(cat "$TMP/run4.rc")' = 0 ] && [ '$(count run4 events)' = 0 ]"
check "apply: the metrics file has applied events by table and op, errors and the lag" \
	sh -c "grep -q '^cdctail_apply_events_total{keyspace=\"dst\",table=\"things\",op=\"update\"} [1-9]' '$TMP/run2.prom' &&
	       grep -q '^cdctail_apply_write_errors_total [1-9]' '$TMP/run2.prom' &&
	       grep -q '^cdctail_apply_lag_seconds{quantile=\"0.99\"}' '$TMP/run2.prom'"
echo "# t0570: $(($(date +%s) - t_begin)) s"
