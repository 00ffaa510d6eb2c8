#!/usr/bin/env bash
# `cdctail snapshot` against a real Cassandra 5.0 and a real Kafka. Rows with
# known values, write times (USING TIMESTAMP) and TTLs are written through CQL
# (tests/e2e/snapshot_data.py: simple columns, non-frozen list/set/map/UDT
# grown at a second time with another TTL, frozen ones, tuples, statics, a
# static-only partition, clustering DESC, a composite partition key, rows with
# only their key, counters). Then:
#   - as JSON lines: one event per row and static row, every cell's value,
#     write time and TTL (collections: per element) as the CQL wrote them, the
#     row's liveness as docs/snapshot.md says, source.snapshot, the id; the
#     start time printed equals the state file's and the events'; the events'
#     cql replayed into a copy keyspace gives the same tables through CQL;
#   - a row written by one INSERT (every type: the fixture's all_types rows)
#     has the same event as `cdctail replay` of the node's cdc_raw gives for
#     it, byte for byte up to the source (the same id);
#   - to Kafka: the same events in the table topics, keyed by partition key;
#   - SIGKILL mid-run and a resume: to Kafka every row arrives, a row twice
#     only when its token lies in the range that was unfinished; to --output
#     every row exactly once (the file is cut back to the recorded length);
#   - a progress line on a terminal, none otherwise;
#   - an unknown table or keyspace, an unreachable node, a bad state file:
#     a clear message and exit 1; usage errors exit 2.
. "$(dirname "$0")/lib.sh"
PY=$(scripts/deps.sh --python)
V=${SNAPSHOT_VERSION:-5.0}
ADDR=${SNAPSHOT_ADDR:-127.0.0.11}
PORT=${SNAPSHOT_KAFKA_PORT:-9396}
B=127.0.0.1:$PORT
t_begin=$(date +%s)
data() { "$PY" tests/e2e/snapshot_data.py "$@" 2> >(grep -v 'Warning\|warn(' >&2); }

kdir=$TMP/kafka
scripts/kafka.sh start --dir "$kdir" --port "$PORT" >"$TMP/k.log" 2>&1 &
kpid=$!
at_exit "scripts/kafka.sh stop --dir '$kdir'"
cdir=$TMP/cass
at_exit "scripts/cassandra.sh stop --dir '$cdir'"
if ! scripts/cassandra.sh start --version "$V" --dir "$cdir" --addr "$ADDR" >"$TMP/c.log" 2>&1; then
	tail -20 "$TMP/c.log"
	not_ok "snapshot $V: could not start Cassandra $V on $ADDR (log above)"
	exit 0
fi
if ! wait $kpid; then
	tail -20 "$TMP/k.log"
	not_ok "snapshot $V: could not start Kafka on $B (log above)"
	exit 0
fi

data load --host "$ADDR" --out "$TMP/exp.json" --plain 3000 --big 6000 || not_ok "snapshot $V: writing the rows failed"
# every type, from the fixture's table of them (its first three INSERTs)
fx=fixtures/$V/types
{ sed -n '1p; /all_types/p' "$fx/schema.cql"; grep -m3 '^INSERT INTO types.all_types' "$fx/workload.cql"; } >"$TMP/types.cql"
"$PY" scripts/cql.py --host "$ADDR" -f "$TMP/types.cql" >/dev/null 2>"$TMP/types.err" || { tail -3 "$TMP/types.err"; not_ok "snapshot $V: types.cql"; }

# ---- the whole keyspace as JSON lines
before=$(date +%s%6N)
"$CDCTAIL" snapshot --host "$ADDR" --keyspace snap --state "$TMP/st1" --output "$TMP/ev1.jsonl" --ranges 64 \
	>"$TMP/out1" 2>"$TMP/err1"
rc=$?
after=$(date +%s%6N)
tail -2 "$TMP/err1" | sed 's/^/# /'
check "snapshot $V: exit 0, nothing on stdout with --output (exit $rc)" [ $rc = 0 -a ! -s "$TMP/out1" ]
S=$(awk '$1 == "start" {print $2}' "$TMP/st1")
printed=$(sed -n 's/.*start time [^ ]* (\([0-9]*\) us since the epoch).*/\1/p' "$TMP/err1")
check "snapshot $V: the start time printed ($printed) is the state file's ($S), taken when the snapshot began" \
	sh -c "[ -n '$S' ] && [ '$printed' = '$S' ] && [ '$S' -ge $((before - 1000000)) ] && [ '$S' -le '$after' ]"
check "snapshot $V: the state file records every table done" \
	sh -c "[ \$(grep -c '^table snap\.[a-z]* done\$' '$TMP/st1') = 5 ]"
data verify --expected "$TMP/exp.json" --events "$TMP/ev1.jsonl" --start "$S" --version "$V"
data apply --host "$ADDR" --events "$TMP/ev1.jsonl" --version "$V" --start "$S"

# ---- the same rows' change events, from the node's cdc_raw
"$CDCTAIL" snapshot --host "$ADDR" --table types.all_types --output "$TMP/ev-types.jsonl" 2>"$TMP/err-types" ||
	{ tail -2 "$TMP/err-types"; not_ok "snapshot $V: types.all_types"; }
sleep 1 # a commitlog sync: _cdc.idx covers the writes
"$CDCTAIL" schema export --host "$ADDR" --keyspace snap --keyspace types --output "$TMP/schema.json" 2>"$TMP/err-se"
"$CDCTAIL" replay --schema "$TMP/schema.json" --table snap.plain --table types.all_types "$cdir/cdc_raw" \
	>"$TMP/changes.jsonl" 2>"$TMP/err-replay"
cat "$TMP/ev1.jsonl" "$TMP/ev-types.jsonl" >"$TMP/ev-all.jsonl"
data crosscheck --snapshot "$TMP/ev-all.jsonl" --changes "$TMP/changes.jsonl" --version "$V" --min 1000

# ---- the same into Kafka, two tables, without a state file
"$CDCTAIL" snapshot --host "$ADDR" --table snap.coll --table snap.multi --kafka "$B" --topic-prefix s1 \
	-X linger.ms=5 --ranges 16 >"$TMP/out2" 2>"$TMP/err2"
rc=$?
tail -1 "$TMP/err2" | sed 's/^/# /'
S2=$(sed -n 's/.*start time [^ ]* (\([0-9]*\) us since the epoch).*/\1/p' "$TMP/err2")
: >"$TMP/k2"
for t in coll multi; do
	kcat -b "$B" -C -t "s1.snap.$t" -e -q -f '%t\t%k\t%s\n' >>"$TMP/k2" 2>>"$TMP/kcat.err"
done
check "snapshot $V: to Kafka exit 0, every event acknowledged (exit $rc)" \
	sh -c "[ $rc = 0 ] && grep -q ' 0 delivery failures, done\$' '$TMP/err2' && [ ! -s '$TMP/out2' ]"
check "snapshot $V: each Kafka message in its table's topic, keyed by the event's key ($(wc -l <"$TMP/k2") messages)" \
	python3 -c '
import json, sys
rows = [l.rstrip("\n").split("\t", 2) for l in open(sys.argv[1], encoding="utf-8")]
good = all(t == "s1.snap." + json.loads(v)["table"] and k == json.dumps(json.loads(v)["key"], separators=(",", ":"))
           for t, k, v in rows)
sys.exit(0 if rows and good else 1)' "$TMP/k2"
cut -f3 "$TMP/k2" >"$TMP/ev2.jsonl"
data verify --expected "$TMP/exp.json" --events "$TMP/ev2.jsonl" --start "$S2" --version "$V" --tables coll,multi

# ---- SIGKILL mid-run, then resume: Kafka
N=60
"$PY" tests/e2e/snapshot_data.py tokens --host "$ADDR" --table big --out "$TMP/tokens" 2>/dev/null
kill_run() { # state, then the snapshot's arguments; kills it soon after a third of the ring is recorded
	local st=$1 t i; shift
	"$CDCTAIL" snapshot --host "$ADDR" --table snap.big --state "$st" --ranges $N --page-size 10 "$@" \
		>/dev/null 2>"$st.err1" &
	local pid=$!
	for ((i = 0; i < 600; i++)); do
		t=$(awk '$1 == "table" && $3 == "token" {print $4}' "$st" 2>/dev/null)
		[ -n "$t" ] && [ "$t" -gt -3074457345618258602 ] && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.02
	done
	sleep 0.0$((RANDOM % 9 + 1)) # into the next range, most likely
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	cp "$st" "$st.at-kill"
	"$CDCTAIL" snapshot --host "$ADDR" --table snap.big --state "$st" --ranges $N --page-size 10 "$@" \
		>/dev/null 2>"$st.err2"
}
kill_run "$TMP/st3" --kafka "$B" --topic-prefix s3 -X linger.ms=5
rc=$?
tail -1 "$TMP/st3.err2" | sed 's/^/# /'
kcat -b "$B" -C -t s3.snap.big -e -q -f '%s\n' >"$TMP/ev3.jsonl" 2>>"$TMP/kcat.err"
check "snapshot $V: killed at $(awk '$1 == "table" {print $3, $4}' "$TMP/st3.at-kill"), the resume exits 0, resumed from the state file" \
	sh -c "[ $rc = 0 ] && grep -q 'resumed from' '$TMP/st3.err2' && grep -q '^table snap.big done' '$TMP/st3' && ! grep -q 'table snap.big done' '$TMP/st3.at-kill'"
python3 - "$TMP/ev3.jsonl" "$TMP/tokens" "$TMP/st3.at-kill" $N "$V" <<'PY'
import collections, json, sys
events, tokens, state, n, v = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
tok = {int(k): int(t) for k, t in (l.split() for l in open(tokens))}
st = dict(l.split(" ", 1) for l in open(state).read().splitlines()[1:] if not l.startswith("table"))
done = [l.split() for l in open(state) if l.startswith("table")]
t_kill = int(done[0][3]) if done and done[0][2] == "token" else -2**63
def boundary(i):
    return -2**63 + (i * (2**64 - 1)) // n if i < n else 2**63 - 1
hi = next(boundary(i) for i in range(n + 1) if boundary(i) > t_kill)
seen = collections.Counter()
starts = set()
for l in open(events, encoding="utf-8"):
    e = json.loads(l)
    seen[e["key"]["k"]] += 1
    starts.add(e["source"]["snapshot_start"])
missing = [k for k in tok if seen[k] == 0]
dups = [k for k in seen if seen[k] > 1]
outside = [k for k in dups if not (t_kill < tok[k] <= hi)]
inside = sum(1 for k in tok if t_kill < tok[k] <= hi)
print(("ok" if not missing and seen and set(seen) <= set(tok) else "not ok") +
      " - snapshot %s: after SIGKILL and resume, every one of the %d rows is in Kafka (%d missing)" % (v, len(tok), len(missing)))
print(("ok" if not outside else "not ok") +
      " - snapshot %s: %d rows delivered twice, all with a token in the range unfinished at the kill (%d, %d] "
      "(%d rows there; %d outside it)" % (v, len(dups), t_kill, hi, inside, len(outside)))
print(("ok" if starts == {int(st["start"])} else "not ok") +
      " - snapshot %s: both runs' events carry the start time of the state file (%s)" % (v, sorted(starts)))
PY

# ---- SIGKILL mid-run, then resume: --output, exactly once
kill_run "$TMP/st4" --output "$TMP/ev4.jsonl"
rc=$?
check "snapshot $V: --output killed at $(awk '$1 == "table" {print $3, $4}' "$TMP/st4.at-kill") and resumed: exit 0 and every row exactly once" \
	python3 -c '
import collections, json, sys
seen = collections.Counter(json.loads(l)["key"]["k"] for l in open(sys.argv[1], encoding="utf-8"))
n = sum(1 for _ in open(sys.argv[2]))
sys.exit(0 if int(sys.argv[3]) == 0 and len(seen) == n and set(seen.values()) == {1} else 1)' "$TMP/ev4.jsonl" "$TMP/tokens" $rc

# ---- progress line: on a terminal by default, not otherwise
script -qec "'$CDCTAIL' snapshot --host '$ADDR' --table snap.multi --output '$TMP/ev5.jsonl' --ranges 8" /dev/null \
	>"$TMP/tty" 2>&1
check "snapshot $V: a progress line on a terminal ($(tr '\r' '\n' <"$TMP/tty" | grep -c 'range [0-9]*/8'))" \
	grep -q $'\rcdctail snapshot: snap.multi range 8/8, 180 rows' "$TMP/tty"
check "snapshot $V: no progress line when stderr is not a terminal" sh -c "! grep -q 'range [0-9]*/' '$TMP/err1'"

# ---- bad input
bad() { # name, expected message (grep -E), then the arguments
	local name=$1 msg=$2; shift 2
	timeout 60 "$CDCTAIL" snapshot "$@" >"$TMP/bad.out" 2>"$TMP/bad.err"
	local rc=$?
	check "snapshot $V: $name: exit $rc (want 1), says: $(grep -m1 -E "$msg" "$TMP/bad.err" | cut -c1-120)" \
		sh -c "[ $rc = 1 ] && grep -qE '$msg' '$TMP/bad.err' && [ ! -s '$TMP/bad.out' ]"
}
bad "an unknown table" "snap\.nope: no such table on $ADDR:9042" --host "$ADDR" --table snap.nope
bad "an unknown keyspace" "keyspace nokeyspace does not exist" --host "$ADDR" --keyspace nokeyspace
bad "an unreachable node" "127\.0\.0\.1:1: cannot connect" --host 127.0.0.1 --port 1 --table snap.big
bad "a consistency one node cannot give (TWO: the level is sent)" "Cannot achieve consistency level TWO" \
	--host "$ADDR" --table snap.multi --consistency TWO
"$CDCTAIL" snapshot --host "$ADDR" --table snap.multi --consistency ALL --output "$TMP/ev6.jsonl" 2>/dev/null
check "snapshot $V: --consistency ALL reads every row of snap.multi ($(wc -l <"$TMP/ev6.jsonl") events)" \
	[ "$(wc -l <"$TMP/ev6.jsonl")" = 180 ]
printf 'cdctail-snapshot 1\nstart x\n' >"$TMP/badstate"
bad "a state file that does not load" "badstate: line 2 is not" --host "$ADDR" --table snap.big --state "$TMP/badstate"
"$CDCTAIL" snapshot --host "$ADDR" >/dev/null 2>"$TMP/u.err"
rc1=$?
"$CDCTAIL" snapshot --table nodot >/dev/null 2>>"$TMP/u.err"
rc2=$?
"$CDCTAIL" snapshot --table a.b --ranges 0 >/dev/null 2>>"$TMP/u.err"
rc3=$?
check "snapshot $V: no table, a --table without a keyspace, --ranges 0: exit 2 ($rc1 $rc2 $rc3)" \
	[ $rc1 = 2 -a $rc2 = 2 -a $rc3 = 2 ]
echo "# t0600 took $(($(date +%s) - t_begin)) s"
