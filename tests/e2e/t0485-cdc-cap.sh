#!/usr/bin/env bash
# cdc_total_space reached while Kafka is down, on a real Cassandra 5.0 (1 MiB
# segments, cdc_total_space 2 MiB) and a real Kafka, with `cdctail run`
# reading the node's cassandra.yaml (cassandra.config).
#
# CDC_BLOCK=true (cdc_block_writes: true, the default; this test): Kafka is
# stopped, writes go on at 1000/s until Cassandra refuses them
# (CDCWriteException); cdctail_cdc_raw_bytes then stands near
# cdctail_cdc_total_space_bytes (2 MiB, from the yaml); `cdctail cleanup
# --max-bytes 1M --delete-unconsumed --archive-dir` takes the oldest
# COMPLETED segments out, says so, and writes are accepted again; cdctail
# counts the segments cleanup took (cdctail_segments_lost_total). Kafka
# back: every acknowledged write is in Kafka except some of those in the
# segments cleanup took (replayed from the archive, they are exactly where
# the lost writes are), and nothing else.
#
# CDC_BLOCK=false (tests/soak/cdc-cap-noblock.sh): writes are never refused;
# Cassandra deletes the oldest unconsumed segments itself; cdctail counts
# each in cdctail_segments_lost_total and logs the offset delivered; the
# writes lost are counted from Kafka.
. "$(dirname "$0")/lib.sh"
PY=$(scripts/deps.sh --python)
BLOCK=${CDC_BLOCK:-true}
ADDR=${CAP_ADDR:-127.0.0.1}
PORT=${KAFKA_CAP_PORT:-9419}
B=127.0.0.1:$PORT
CAP_MB=2
T0=$(date +%s)
metric() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
wait_for() { local n=$(( $1 * 10 )); shift; while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done; return 1; }

kdir=$TMP/kafka
if ! scripts/kafka.sh start --dir "$kdir" --port "$PORT" >"$TMP/k.log" 2>&1; then
	cat "$TMP/k.log"; not_ok "cap: could not start Kafka on $B (log above)"; exit 0
fi
at_exit "scripts/kafka.sh stop --dir '$kdir'"
cdir=$TMP/cass
if ! scripts/cassandra.sh start --version 5.0 --dir "$cdir" --addr "$ADDR" --cdc-total-space-mb $CAP_MB \
	--cdc-block-writes "$BLOCK" --sync-period-ms 200 >"$TMP/c.log" 2>&1; then
	cat "$TMP/c.log"; not_ok "cap: could not start Cassandra 5.0 on $ADDR (log above)"; exit 0
fi
at_exit "scripts/cassandra.sh stop --dir '$cdir'"
echo "# services up after $(( $(date +%s) - T0 )) s"
ks=cap
"$PY" tests/e2e/loadgen.py --host "$ADDR" --keyspace $ks --rf 1 --create --rate 10 --seconds 0.5 \
	--log "$TMP/w0.jsonl" >/dev/null || not_ok "cap: schema creation failed"
cat >"$TMP/run.conf" <<EOF
cdc_raw = $cdir/cdc_raw
state_dir = $TMP/state
cassandra.host = $ADDR
cassandra.config = $cdir/cassandra.yaml
kafka.bootstrap.servers = $B
kafka.linger.ms = 5
topic.prefix = c
node = $ADDR
rescan_interval = 250ms
checkpoint_interval = 500ms
metrics.textfile = $TMP/m.prom
metrics.interval = 250ms
log_file = $TMP/run.log
EOF
"$CDCTAIL" run --config "$TMP/run.conf" 2>>"$TMP/stderr" &
pid=$!
at_exit "kill -9 \$pid 2>/dev/null"
in_kafka() { kcat -b "$B" -C -t c.$ks.movies_by_genre -e -q 2>/dev/null | grep -q '"op":"insert"'; }
wait_for 30 in_kafka
check "cap: cdctail_cdc_total_space_bytes is the yaml's cdc_total_space ($(metric cdctail_cdc_total_space_bytes "$TMP/m.prom"))" \
	[ "$(metric cdctail_cdc_total_space_bytes "$TMP/m.prom")" = $((CAP_MB << 20)) ]
scripts/kafka.sh stop --dir "$kdir" >/dev/null 2>&1
kafka_down=$(date +%s)
# writes until Cassandra refuses them (block) or for as long (no block)
"$PY" tests/e2e/loadgen.py --host "$ADDR" --keyspace $ks --rf 1 --rate 1000 --seconds "${CAP_LOAD_SECONDS:-24}" \
	--request-timeout 5 --log "$TMP/w1.jsonl" >"$TMP/load1.json" 2>"$TMP/load1.err" &
lpid=$!
maxraw=0 nearcap_at=
while kill -0 $lpid 2>/dev/null; do
	r=$(metric cdctail_cdc_raw_bytes "$TMP/m.prom")
	[ -n "$r" ] && [ "$r" -gt $maxraw ] && maxraw=$r
	sleep 0.25
done
wait $lpid
read -r acked failed < <(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["acknowledged"], d["failed"])' "$TMP/load1.json")
cdcerr=$(grep -c '"failed":true' "$TMP/w1.jsonl")
firsterr=$(grep -m1 '"failed":true' "$TMP/w1.jsonl" | python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["error"][:160])' 2>/dev/null)
raw_now=$(metric cdctail_cdc_raw_bytes "$TMP/m.prom")
echo "# matrix: cap $BLOCK: $acked writes acknowledged, $failed refused ($firsterr); cdc_raw at most $maxraw bytes of $((CAP_MB << 20))"
if [ "$BLOCK" = true ]; then
	ncdc=$(grep -c 'CDCWriteException: Rejecting mutation to keyspace cap' "$cdir/logs/system.log")
	check "cap block: Cassandra refused writes once cdc_raw was full ($failed of $((acked + failed)); its log has $ncdc CDCWriteException)" \
		sh -c "[ '$failed' -gt 0 ] && [ $ncdc -ge '$failed' ]"
	grep -m1 -o 'CDCWriteException: .*' "$cdir/logs/system.log" | sed 's/^/# /' 
	check "cap block: cdctail_cdc_raw_bytes near the cap while writes are refused: $raw_now (at most $maxraw) of $((CAP_MB << 20)) bytes (Cassandra refuses once cdc_raw plus one 1 MiB segment exceeds the cap)" \
		[ "${raw_now:-0}" -gt $(( (CAP_MB - 1) << 20 )) ]
	mkdir -p "$TMP/unconsumed"
	"$CDCTAIL" cleanup --cdc-raw "$cdir/cdc_raw" --state-dir "$TMP/state" --max-bytes 1M --delete-unconsumed \
		--archive-dir "$TMP/unconsumed" >"$TMP/cleanup.out" 2>"$TMP/cleanup.err"
	crc=$?
	nun=$(grep -c 'DELETING UNCONSUMED' "$TMP/cleanup.err")
	check "cap block: cleanup --delete-unconsumed (exit $crc) took out $nun segments, each announced" \
		sh -c "[ $nun -ge 1 ] && [ \$(ls '$TMP/unconsumed' | grep -c '\\.log\$') = $nun ]"
	sleep 1 # Cassandra looks at cdc_raw again every cdc_free_space_check_interval (250 ms)
	"$PY" tests/e2e/loadgen.py --host "$ADDR" --keyspace $ks --rf 1 --rate 200 --seconds 3 --request-timeout 5 \
		--log "$TMP/w2.jsonl" >"$TMP/load2.json" 2>"$TMP/load2.err"
	read -r acked2 failed2 < <(python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d["acknowledged"], d["failed"])' "$TMP/load2.json")
	# Cassandra re-measures cdc_raw when a write meets its full segment: that
	# first write is refused, the next ones are accepted
	check "cap block: after the cleanup Cassandra accepts writes again ($acked2 acknowledged, $failed2 refused, all among the first 5)" \
		python3 - "$TMP/w2.jsonl" <<'PY'
import json, sys
w = sorted((json.loads(l) for l in open(sys.argv[1])), key=lambda x: x["ts"])
bad = [i for i, x in enumerate(w) if x.get("failed")]
sys.exit(0 if len(w) >= 500 and all(i < 5 for i in bad) else 1)
PY
else
	check "cap noblock: Cassandra refused no write ($failed of $((acked + failed)))" [ "$failed" = 0 -a "$acked" -gt 0 ]
	wait_for 10 sh -c "[ \"\$(awk '\$1 == \"cdctail_segments_lost_total\" { print \$2 }' '$TMP/m.prom')\" -ge 1 ] 2>/dev/null"
	nun=$(metric cdctail_segments_lost_total "$TMP/m.prom")
	check "cap noblock: Cassandra deleted unconsumed segments itself: cdctail counts $nun in cdctail_segments_lost_total and logs what was delivered of each" \
		sh -c "[ '${nun:-0}' -ge 1 ] && grep -q -E 'removed from cdc_raw' '$TMP/run.log'"
	grep -E 'removed from cdc_raw' "$TMP/run.log" | sed 's/^/# /' | cut -c1-240 | head -5
fi
scripts/kafka.sh start --dir "$kdir" --port "$PORT" >>"$TMP/k.log" 2>&1 || echo "# Kafka restart failed"
echo "# Kafka down for $(( $(date +%s) - kafka_down )) s"
# cdctail catches up: nothing in flight, at most the live segment pending
t_back=$(date +%s%N)
drained() { [ "$(metric cdctail_in_flight "$TMP/m.prom")" = 0 ] && [ "$(metric cdctail_segments_pending "$TMP/m.prom")" -le 1 ]; }
wait_for 60 drained
echo "# matrix: cap $BLOCK: caught up $(( ($(date +%s%N) - t_back) / 1000000 )) ms after Kafka was back"
ws=(--writes "$TMP/w0.jsonl" --writes "$TMP/w1.jsonl")
[ -f "$TMP/w2.jsonl" ] && ws+=(--writes "$TMP/w2.jsonl")
"$PY" tests/e2e/kafka_verify.py --bootstrap "$B" --topic c.$ks.movies_by_genre "${ws[@]}" --key-format json --idle 3 \
	--timeout 120 --lost-out "$TMP/lost.ts" >"$TMP/verify.json" 2>"$TMP/verify.err"
summary=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("%d writes, %d messages: %d lost, %d duplicates, %d spurious" % (d["writes"], d["messages"], d["lost"], d["duplicates"], d["spurious"]))' "$TMP/verify.json" 2>/dev/null)
echo "# matrix: cap $BLOCK: $summary; $(( $(date +%s) - T0 )) s in all"
if [ "$BLOCK" = true ]; then
	"$CDCTAIL" schema export --host "$ADDR" --keyspace $ks --output "$TMP/schema.json" 2>>"$TMP/export.err"
	"$CDCTAIL" replay --schema "$TMP/schema.json" --node "$ADDR" "$TMP/unconsumed" >"$TMP/unconsumed.jsonl" 2>/dev/null
	nlost=$(metric cdctail_segments_lost_total "$TMP/m.prom")
	check "cap block: the writes missing from Kafka ($(wc -l <"$TMP/lost.ts")) are all in the $nun segments cleanup took ($(wc -l <"$TMP/unconsumed.jsonl") events); nothing else is lost or spurious ($summary); a loss is never silent (cdctail_segments_lost_total $nlost, at most $nun)" \
		python3 - "$TMP/lost.ts" "$TMP/unconsumed.jsonl" "$TMP/verify.json" "${nlost:-x}" "$nun" <<'PY'
import json, sys
lost = {int(l) for l in open(sys.argv[1])}
taken = {json.loads(l)["ts"] for l in open(sys.argv[2])}
d = json.load(open(sys.argv[3]))
n, nun = int(sys.argv[4]), int(sys.argv[5])
print("# %d lost, %d of them in the segments taken; %d events in those segments" % (len(lost), len(lost & taken), len(taken)))
sys.exit(0 if lost <= taken and d["spurious"] == 0 and len(lost) == d["lost"] and (n >= 1 or not lost) and n <= nun else 1)
PY
else
	check "cap noblock: writes lost to Cassandra's own deletion are counted ($summary), none spurious" \
		python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if d["spurious"] == 0 and d["writes"] > 0 else 1)' "$TMP/verify.json"
fi
kill -TERM $pid; wait $pid
rc=$?
check "cap: SIGTERM exits 0 ($rc), no sanitizer report" \
	sh -c "[ $rc = 0 ] && ! grep -q -E 'AddressSanitizer|runtime error|LeakSanitizer' '$TMP/stderr' '$TMP/run.log'"
echo "# $(( $(date +%s) - T0 )) s"
