#!/usr/bin/env bash
# long-test: `make migration` runs it; scripts/test.sh leaves it out (it takes
# several minutes and three Cassandra nodes).
#
# The seed's ten migration steps on real services (docs/migration.md):
#  1-2  a source Cassandra of two nodes (127.0.0.71, .72, RF=2), `cdctail run`
#       on each into temporary topics tmp.{keyspace}.{table}; a write load
#       (tests/e2e/migload.py: the seed's mix plus a table with a set, a list,
#       a map and a UDT, MIG_RATE writes/s, CL ALL) runs the whole time; it
#       starts with the tables' cdc off, so the rows written before are only
#       in the snapshot; each `cdctail run` is SIGKILLed now and then and
#       started again, so the temporary topics hold real duplicates
#  3-4  `cdctail snapshot` into the final topics cdctail.{keyspace}.{table}
#  5    `cdctail relay --since (snapshot start - 5 min) --dedup` (MIG_RELAY=
#       min-copies: --min-copies 2) from the temporary topics to the final ones
#  6    `cdctail apply` from the final topics into a fresh target Cassandra
#       (127.0.0.73, its own cluster; MIG_TARGET=keyspace: a keyspace of the
#       source cluster through --keyspace-map instead)
#  7    wait until apply's lag is under 1 s (p99 over its last minute, from its
#       metrics file), printing p50/p99 every 5 s
#  8-9  the load switches to producing events straight into the final topics
#  10   the source side stops (runs, relay, the two source nodes)
# Then: the target must equal the source as read by CQL at CL ALL, plus the
# events the loader produced, row by row: values, WRITETIME, TTL (within the
# seconds the reads took) (tests/e2e/migcompare.py).
. "$(dirname "$0")/lib.sh"
PY=$(scripts/deps.sh --python)
BIN=${MIG_CDCTAIL:-$TOP/cdctail} # the release build: the services share 2 cores with 3 JVMs
A1=${MIG_ADDR1:-127.0.0.71}
A2=${MIG_ADDR2:-127.0.0.72}
A3=${MIG_ADDR3:-127.0.0.73}
PORT=${MIG_KAFKA_PORT:-9792}
B=127.0.0.1:$PORT
RATE=${MIG_RATE:-1000}
PRE=${MIG_PRE_SECONDS:-10}        # load before cdc is on: rows only the snapshot has
DIRECT=${MIG_DIRECT_SECONDS:-20}  # the direct-to-Kafka phase
KILL_EVERY=${MIG_KILL_EVERY:-7}   # a cdctail run SIGKILLed every N s
KS=mig
TARGET=${MIG_TARGET:-node}
t_all=$(date +%s)
phase() { echo "# $(date -u +%H:%M:%S) +$(( $(date +%s) - t_all )) s: $*"; }

[ -x "$BIN" ] || { not_ok "migration: $BIN is not built (make cdctail)"; exit 0; }
has_apply=1
"$BIN" apply --help >/dev/null 2>&1 || has_apply=0

kdir=$TMP/kafka
if ! scripts/kafka.sh start --dir "$kdir" --port "$PORT" >"$TMP/k.log" 2>&1; then
	cat "$TMP/k.log"; not_ok "migration: could not start Kafka on $B"; exit 0
fi
at_exit "scripts/kafka.sh stop --dir '$kdir'"
phase "Kafka up"
for a in "$A1" "$A2"; do
	if ! scripts/cassandra.sh start --version 5.0 --dir "$TMP/c-$a" --addr "$a" --seeds "$A1" \
		--cluster-name migsrc --sync-period-ms 200 >"$TMP/c-$a.log" 2>&1; then
		tail -20 "$TMP/c-$a.log"; not_ok "migration: could not start the source node $a"; exit 0
	fi
	at_exit "scripts/cassandra.sh stop --dir '$TMP/c-$a' >/dev/null 2>&1"
done
up=0
for i in $(seq 1 60); do
	n=$("$PY" scripts/cql.py --host "$A1" -e "SELECT peer FROM system.peers;" 2>/dev/null | grep -c peer)
	[ "$n" -ge 1 ] && { up=1; break; }
	sleep 1
done
check "migration: the source cluster of two nodes ($A1, $A2) is up" [ $up = 1 ]
phase "source cluster up"
TKS=$KS; TH=$A3; kmap=()
if [ "$TARGET" = node ]; then
	if ! scripts/cassandra.sh start --version 5.0 --dir "$TMP/c-$A3" --addr "$A3" --seeds "$A3" \
		--cluster-name migdst >"$TMP/c-$A3.log" 2>&1; then
		tail -20 "$TMP/c-$A3.log"; not_ok "migration: could not start the target node $A3"; exit 0
	fi
	at_exit "scripts/cassandra.sh stop --dir '$TMP/c-$A3' >/dev/null 2>&1"
	phase "target node up"
else
	TKS=${KS}copy; TH=$A1; kmap=(--keyspace-map "$KS=$TKS")
fi

# step 1: the schema, cdc off for now; the target's own schema
"$PY" tests/e2e/migload.py --host "$A1" --host "$A2" --keyspace $KS --rf 2 --create --cdc false ||
	{ not_ok "migration: source schema"; exit 0; }
"$PY" tests/e2e/migload.py --host "$TH" --keyspace $TKS --rf 1 --create --cdc false ||
	{ not_ok "migration: target schema"; exit 0; }

# the load, the whole time
ctl=$TMP/load.control
echo cql >"$ctl"
"$PY" tests/e2e/migload.py --host "$A1" --host "$A2" --keyspace $KS --rf 2 --rate "$RATE" --control "$ctl" \
	--log "$TMP/writes.jsonl" --bootstrap "$B" >"$TMP/load.json" 2>"$TMP/load.err" &
lpid=$!
at_exit "echo stop >'$ctl'; kill $lpid 2>/dev/null"
phase "load started ($RATE writes/s), tables without cdc for $PRE s"
sleep "$PRE"

# step 2: cdctail run on each node into the temporary topics, then cdc on
for a in "$A1" "$A2"; do
	cat >"$TMP/run-$a.conf" <<EOC
cdc_raw = $TMP/c-$a/cdc_raw
state_dir = $TMP/state-$a
cassandra.host = $a
kafka.bootstrap.servers = $B
kafka.linger.ms = 5
topic.prefix = tmp
node = $a
rescan_interval = 1s
EOC
done
runs_flag=$TMP/runs.on
touch "$runs_flag"
(
	# both services; one of them SIGKILLed every KILL_EVERY s and started again
	declare -A pid
	start_run() { "$BIN" run --config "$TMP/run-$1.conf" 2>>"$TMP/run-$1.log" & pid[$1]=$!; }
	start_run "$A1"; start_run "$A2"
	n=0 kills=0
	while [ -e "$runs_flag" ]; do
		sleep 1
		n=$((n + 1))
		if [ $((n % KILL_EVERY)) = 0 ] && [ -e "$runs_flag" ]; then
			a=$([ $((n / KILL_EVERY % 2)) = 0 ] && echo "$A1" || echo "$A2")
			kill -KILL "${pid[$a]}" 2>/dev/null; wait "${pid[$a]}" 2>/dev/null
			kills=$((kills + 1)); echo $kills >"$TMP/kills"
			start_run "$a"
		fi
		for a in "$A1" "$A2"; do kill -0 "${pid[$a]}" 2>/dev/null || { echo "died $a" >>"$TMP/run-deaths"; start_run "$a"; }; done
	done
	rc=""
	for a in "$A1" "$A2"; do kill -TERM "${pid[$a]}"; wait "${pid[$a]}"; rc="$rc $?"; done
	echo "$rc" >"$TMP/runs.rc"
) &
runs_pid=$!
at_exit "rm -f '$runs_flag'; wait $runs_pid 2>/dev/null"
sleep 3
for t in movies_by_genre extras; do
	"$PY" scripts/cql.py --host "$A1" -e "ALTER TABLE $KS.$t WITH cdc = true;" >/dev/null ||
		not_ok "migration: ALTER TABLE $KS.$t WITH cdc = true"
done
phase "cdctail run on both nodes into tmp.*, cdc on"
sleep 10

# steps 3-4: the snapshot into the final topics
t_s=$(date +%s)
"$BIN" snapshot --host "$A1" --keyspace $KS --state "$TMP/snap.state" --kafka "$B" --consistency ALL \
	--no-progress >"$TMP/snap.out" 2>"$TMP/snap.err"
src=$?
S=$(awk '$1 == "start" { print $2; exit }' "$TMP/snap.state" 2>/dev/null)
snap_events=$(grep -o '[0-9]* events' "$TMP/snap.err" | tail -1)
check "migration: cdctail snapshot exit 0 in $(( $(date +%s) - t_s )) s ($(tail -1 "$TMP/snap.err"))" [ $src = 0 ]
[ -n "$S" ] || { not_ok "migration: no snapshot start time in the state file"; exit 0; }
phase "snapshot done, start $S"

# step 5: the relay, from the snapshot's start minus five minutes
since=$((S - 300000000))
relay_mode=(--dedup); [ "${MIG_RELAY:-dedup}" = min-copies ] && relay_mode=(--min-copies 2)
"$BIN" relay --kafka "$B" --from 'tmp.{keyspace}.{table}' --to 'cdctail.{keyspace}.{table}' --since "$since" \
	"${relay_mode[@]}" --state-dir "$TMP/relay" 2>"$TMP/relay.log" &
rpid=$!
at_exit "kill -TERM $rpid 2>/dev/null; wait $rpid 2>/dev/null"
phase "relay started (--since $since ${relay_mode[*]})"

# step 6: apply into the target
if [ $has_apply = 0 ]; then
	not_ok "migration: \`cdctail apply\` is not in this build: steps 6-10 and the comparison not run"
	echo kafka >"$ctl"; sleep 5; echo stop >"$ctl"; wait $lpid; lrc=$?
	check "migration: every write acknowledged, by CQL then by Kafka ($(cat "$TMP/load.json"))" [ $lrc = 0 ]
	rm -f "$runs_flag"; wait $runs_pid
	kill -TERM $rpid; wait $rpid
	echo "# relay: $(tail -1 "$TMP/relay.log"); SIGKILLs: $(cat "$TMP/kills" 2>/dev/null)"
	exit 0
fi
"$BIN" apply --kafka "$B" --group mig-apply --topic "^cdctail\\.$KS\\..*" --host "$TH" "${kmap[@]}" \
	--state-dir "$TMP/apply" --metrics-file "$TMP/apply.prom" --metrics-interval 1 2>"$TMP/apply.log" &
apid=$!
at_exit "kill -TERM $apid 2>/dev/null; wait $apid 2>/dev/null"
phase "apply started into $TH ($TKS)"

# lag: p50 and p99 from apply's metrics file (µs or s, by the metric's name)
lag_ms() { # QUANTILE -> ms, or empty
	python3 - "$TMP/apply.prom" "$1" <<'PY'
import re, sys
q = sys.argv[2]
try:
    text = open(sys.argv[1]).read()
except OSError:
    sys.exit(0)
for l in text.splitlines():
    if l.startswith("#") or "lag" not in l:
        continue
    m = re.match(r'([a-z_]+)\{[^}]*quantile="([0-9.]+)"[^}]*\}\s+(\S+)', l)
    if m and float(m.group(2)) == float(q):
        v = float(m.group(3))
        print(f"{v * 1000:.0f}" if m.group(1).endswith("_seconds") else f"{v / 1000:.0f}")
        break
PY
}
lags=()
ok_lag=0
for i in $(seq 1 "${MIG_LAG_WAIT:-300}"); do
	sleep 1
	kill -0 $apid 2>/dev/null || break
	p50=$(lag_ms 0.5); p99=$(lag_ms 0.99)
	[ -n "$p50" ] && lags+=("$p50/$p99")
	[ $((i % 5)) = 0 ] && echo "#   apply lag p50 ${p50:-?} ms, p99 ${p99:-?} ms (+$i s)"
	# p99 over apply's last minute: every event of that minute within 1 s, or nearly
	if [ -n "$p99" ] && [ "$p99" -lt 1000 ] && [ "$i" -ge 10 ]; then ok_lag=1; break; fi
done
check "migration: apply's lag under 1 s (p50 ${p50:-?} ms, p99 ${p99:-?} ms after $i s)" [ $ok_lag = 1 ]
echo "# lag while catching up (p50/p99 ms, each second): ${lags[*]:0:60}"
sleep "${MIG_STEADY_SECONDS:-10}"
p50=$(lag_ms 0.5); p99=$(lag_ms 0.99)
steady="p50 ${p50:-?} ms, p99 ${p99:-?} ms"
phase "steady state, lag $steady"

# steps 8-9: the load switches to events straight into the final topics
echo kafka >"$ctl"
# the CQL writes in flight acknowledged, none sent after (the source read
# below must see every CQL write the load made)
for i in $(seq 1 600); do [ "$(cat "$ctl.mode" 2>/dev/null)" = kafka ] && break; sleep 0.1; done
check "migration: the load switched to Kafka (its CQL writes all answered)" [ "$(cat "$ctl.mode" 2>/dev/null)" = kafka ]
phase "load writing to Kafka directly"
# the source side's last changes: the runs deliver, the relay copies them
sleep 5
for i in $(seq 1 60); do
	l=$("$PY" tests/e2e/migcompare.py group-lag --bootstrap "$B" --group cdctail-relay --topic-regex '^tmp\.' 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["lag"])' 2>/dev/null)
	[ "$l" = 0 ] && break
	sleep 1
done
check "migration: the temporary topics are depleted (relay lag ${l:-?})" [ "$l" = 0 ]
"$PY" tests/e2e/migcompare.py dump --host "$A1" --host "$A2" --keyspace $KS --consistency ALL \
	--out "$TMP/src.json" >"$TMP/src.dump" 2>&1 || { cat "$TMP/src.dump"; not_ok "migration: source dump"; }
phase "source read at CL ALL: $(cat "$TMP/src.dump")"
late=$(python3 - "$TMP/writes.jsonl" "$TMP/src.json" <<'PY'
import json, sys
t0 = json.load(open(sys.argv[2]))["t0"] * 1e6
n = 0
for line in open(sys.argv[1]):
    w = json.loads(line)
    n += w["via"] == "cql" and w["ts"] >= t0
print(n)
PY
)
check "migration: no CQL write was made after the source read began (${late:-?})" [ "${late:-1}" = 0 ]

# step 10: the source side goes
rm -f "$runs_flag"; wait $runs_pid
check "migration: both cdctail run stop cleanly at the end (exit$(cat "$TMP/runs.rc" 2>/dev/null)), $(cat "$TMP/kills" 2>/dev/null || echo 0) SIGKILLs before" \
	[ "$(cat "$TMP/runs.rc" 2>/dev/null)" = " 0 0" ]
kill -TERM $rpid; wait $rpid; rrc=$?
check "migration: relay stops cleanly ($(tail -1 "$TMP/relay.log"))" [ $rrc = 0 ]
for a in "$A2" "$A1"; do scripts/cassandra.sh stop --dir "$TMP/c-$a" >/dev/null 2>&1; done
phase "source side stopped"
sleep "$DIRECT"
echo stop >"$ctl"
wait $lpid; lrc=$?
load=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("; ".join("%s: %d acknowledged of %d, %d failed, %.0f/s, latency p99 %s ms" % (k, v["acknowledged"], v["attempted"], v["failed"], v["achieved_rate"] or 0, v["latency_ms"]["p99"]) for k, v in d.items()))' "$TMP/load.json" 2>/dev/null)
# a write the source refused (Unavailable: a replica marked down on the loaded
# machine) or that timed out changes nothing in the comparison: the expected
# rows are read from the source; the load must have run, though
ran=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
c, k = d.get("cql", {}), d.get("kafka", {})
print(int(c.get("acknowledged", 0) >= 0.9 * max(1, c.get("attempted", 0)) and k.get("attempted", 0) > 0 and k.get("failed", 1) == 0))' "$TMP/load.json" 2>/dev/null)
check "migration: the load ran (exit $lrc; $load)" [ "$ran" = 1 ]

# apply drains the final topics
for i in $(seq 1 120); do
	l=$("$PY" tests/e2e/migcompare.py group-lag --bootstrap "$B" --group mig-apply --topic-regex "^cdctail\\.$KS\\." 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["lag"])' 2>/dev/null)
	[ "$l" = 0 ] && break
	sleep 1
done
check "migration: apply read the final topics to their end (lag ${l:-?})" [ "$l" = 0 ]
sleep 2
"$PY" tests/e2e/migcompare.py dump --host "$TH" --keyspace $TKS --out "$TMP/tgt.json" >"$TMP/tgt.dump" 2>&1 ||
	{ cat "$TMP/tgt.dump"; not_ok "migration: target dump"; }
kill -TERM $apid; wait $apid; arc=$?
check "migration: apply stops cleanly on SIGTERM ($(tail -1 "$TMP/apply.log"))" [ $arc = 0 ]
"$PY" tests/e2e/migcompare.py compare --source "$TMP/src.json" --direct "$TMP/writes.jsonl" --target "$TMP/tgt.json" \
	>"$TMP/compare.json" 2>"$TMP/compare.err"
crc=$?
[ $crc = 0 ] || { cat "$TMP/compare.err"; python3 -m json.tool "$TMP/compare.json" | head -80; }
summary=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("%d source rows + %d direct events = %d expected rows; %d target rows; %d rows and %d cells compared, %d undecidable; %d differences %s" % (
    d["source_rows"], d["direct_events"], d["expected_rows"], d["target_rows"], d["rows_compared"], d["cells_compared"],
    d["undecidable_rows"], d["differences"], json.dumps(d["by_kind"])))' "$TMP/compare.json" 2>/dev/null)
check "migration: target = source + direct writes: values, WRITETIME, TTL ($summary)" [ $crc = 0 ]
events=$(grep -c . "$TMP/writes.jsonl")
echo "# figures: writes $events ($load); snapshot: $(tail -1 "$TMP/snap.err"); relay: $(tail -1 "$TMP/relay.log"); apply: $(tail -1 "$TMP/apply.log"); lag at steady state $steady; $summary; $(( $(date +%s) - t_all )) s in all"
[ -n "${MIG_KEEP:-}" ] && cp -r "$TMP" "$MIG_KEEP"
exit 0
