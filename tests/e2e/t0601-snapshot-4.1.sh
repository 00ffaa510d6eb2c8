#!/usr/bin/env bash
# `cdctail snapshot` against a real Cassandra 4.1, as JSON lines: the rows of
# tests/e2e/snapshot_data.py, every cell against what the CQL wrote, where
# 4.1 refuses WRITETIME and TTL of non-frozen collections and UDTs, so their
# elements carry the snapshot's start time - 1 and no TTL (docs/snapshot.md);
# the events' cql replayed into a copy equals the source through CQL; rows
# written by one INSERT (every 4.1 type) have the event replay gives from the
# node's cdc_raw, up to the source; SIGKILL and resume into --output give
# every row exactly once, also over a partial line a first range left.
. "$(dirname "$0")/lib.sh"
PY=$(scripts/deps.sh --python)
V=${SNAPSHOT41_VERSION:-4.1}
ADDR=${SNAPSHOT41_ADDR:-127.0.0.12}
t_begin=$(date +%s)
data() { "$PY" tests/e2e/snapshot_data.py "$@" 2> >(grep -v 'Warning\|warn(' >&2); }

cdir=$TMP/cass
at_exit "scripts/cassandra.sh stop --dir '$cdir'"
if ! scripts/cassandra.sh start --version "$V" --dir "$cdir" --addr "$ADDR" >"$TMP/c.log" 2>&1; then
	tail -20 "$TMP/c.log"
	not_ok "snapshot $V: could not start Cassandra $V on $ADDR (log above)"
	exit 0
fi
data load --host "$ADDR" --out "$TMP/exp.json" --plain 2000 --big 3000 || not_ok "snapshot $V: writing the rows failed"
fx=fixtures/$V/types
{ sed -n '1p; /all_types/p' "$fx/schema.cql"; grep -m3 '^INSERT INTO types.all_types' "$fx/workload.cql"; } >"$TMP/types.cql"
"$PY" scripts/cql.py --host "$ADDR" -f "$TMP/types.cql" >/dev/null 2>"$TMP/types.err" || { tail -3 "$TMP/types.err"; not_ok "snapshot $V: types.cql"; }

before=$(date +%s%6N)
"$CDCTAIL" snapshot --host "$ADDR" --keyspace snap --state "$TMP/st1" --output "$TMP/ev1.jsonl" --ranges 32 \
	2>"$TMP/err1"
rc=$?
tail -2 "$TMP/err1" | sed 's/^/# /'
S=$(awk '$1 == "start" {print $2}' "$TMP/st1")
check "snapshot $V: exit $rc (want 0), start time $S saved and printed, taken when the snapshot began" \
	sh -c "[ $rc = 0 ] && [ -n '$S' ] && grep -q '($S us since the epoch)' '$TMP/err1' && [ '$S' -ge $((before - 1000000)) ]"
data verify --expected "$TMP/exp.json" --events "$TMP/ev1.jsonl" --start "$S" --version "$V"
data apply --host "$ADDR" --events "$TMP/ev1.jsonl" --version "$V" --start "$S"

"$CDCTAIL" snapshot --host "$ADDR" --table types.all_types --output "$TMP/ev-types.jsonl" 2>"$TMP/err-types" ||
	{ tail -2 "$TMP/err-types"; not_ok "snapshot $V: types.all_types"; }
sleep 1 # a commitlog sync: _cdc.idx covers the writes
"$CDCTAIL" schema export --host "$ADDR" --keyspace snap --keyspace types --output "$TMP/schema.json" 2>"$TMP/err-se"
"$CDCTAIL" replay --schema "$TMP/schema.json" --table snap.plain --table types.all_types "$cdir/cdc_raw" \
	>"$TMP/changes.jsonl" 2>"$TMP/err-replay"
cat "$TMP/ev1.jsonl" "$TMP/ev-types.jsonl" >"$TMP/ev-all.jsonl"
data crosscheck --snapshot "$TMP/ev-all.jsonl" --changes "$TMP/changes.jsonl" --version "$V" --min 800

# SIGKILL once a third of the ring is recorded, then resume into the same file
st=$TMP/st2
"$CDCTAIL" snapshot --host "$ADDR" --table snap.big --state "$st" --output "$TMP/ev2.jsonl" --ranges 60 \
	--page-size 10 >/dev/null 2>"$TMP/err2a" &
pid=$!
for ((i = 0; i < 600; i++)); do
	t=$(awk '$1 == "table" && $3 == "token" {print $4}' "$st" 2>/dev/null)
	[ -n "$t" ] && [ "$t" -gt -3074457345618258602 ] && break
	kill -0 $pid 2>/dev/null || break
	sleep 0.02
done
sleep 0.0$((RANDOM % 9 + 1))
kill -9 $pid 2>/dev/null
wait $pid 2>/dev/null
killed_at=$(awk '$1 == "table" {print $3, $4}' "$st")
"$CDCTAIL" snapshot --host "$ADDR" --table snap.big --state "$st" --output "$TMP/ev2.jsonl" --ranges 60 \
	--page-size 10 >/dev/null 2>"$TMP/err2b"
rc=$?
check "snapshot $V: killed at $killed_at, resumed (exit $rc): every row of snap.big exactly once in --output" \
	python3 -c '
import collections, json, sys
seen = collections.Counter(json.loads(l)["key"]["k"] for l in open(sys.argv[1], encoding="utf-8"))
sys.exit(0 if int(sys.argv[2]) == 0 and len(seen) == 3000 and set(seen.values()) == {1} else 1)' "$TMP/ev2.jsonl" $rc
check "snapshot $V: the resume said so and kept the start time" \
	sh -c "grep -q 'resumed from' '$TMP/err2b' && [ \"\$(grep -o '(.* us since' '$TMP/err2a')\" = \"\$(grep -o '(.* us since' '$TMP/err2b')\" ]"
# a run killed in its first range left a partial line and no token: the
# resume cuts the file back to the 0 bytes its state recorded
S3=$(awk '$1 == "start" {print $2}' "$st")
printf 'cdctail-snapshot 1\nstart %s\noutput 0\n' "$S3" >"$TMP/st3"
printf '{"op":"insert","keyspace":"snap","table":"big","key":{"k":1},"cel' >"$TMP/ev3.jsonl"
"$CDCTAIL" snapshot --host "$ADDR" --table snap.big --state "$TMP/st3" --output "$TMP/ev3.jsonl" --ranges 8 \
	>/dev/null 2>"$TMP/err3"
rc=$?
check "snapshot $V: resumed from a state with 'output 0' over a partial line (exit $rc): every row once, every line whole" \
	python3 -c '
import collections, json, sys
seen = collections.Counter(json.loads(l)["key"]["k"] for l in open(sys.argv[1], encoding="utf-8"))
sys.exit(0 if int(sys.argv[2]) == 0 and len(seen) == 3000 and set(seen.values()) == {1} else 1)' "$TMP/ev3.jsonl" $rc
printf 'cdctail-snapshot 1\nstart %s\noutput 99999999\n' "$S3" >"$TMP/st4"
"$CDCTAIL" snapshot --host "$ADDR" --table snap.big --state "$TMP/st4" --output "$TMP/ev3.jsonl" >/dev/null 2>"$TMP/err4"
rc=$?
check "snapshot $V: an output file shorter than its state recorded: exit $rc (want 1), says so" \
	sh -c "[ $rc = 1 ] && grep -q 'shorter than the 99999999 bytes the state file recorded' '$TMP/err4'"
echo "# t0601 took $(($(date +%s) - t_begin)) s"
