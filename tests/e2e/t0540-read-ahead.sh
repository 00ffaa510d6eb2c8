#!/usr/bin/env bash
# `cdctail run` with read-ahead against a real Cassandra (5.0 and 4.1) whose
# commitlog_sync_period is 10 s, and a real Kafka:
# - events arrive well before the sync: 30 single INSERTs 100 ms apart, CQL
#   acknowledgement to the event consumed from Kafka, p99 under 1 s (without
#   read-ahead a change waits for the sync: 5 s on average);
# - their content equals what the idx-bounded read gives later: once the
#   node has synced (and completed, at a clean stop), `cdctail replay` of
#   cdc_raw, which reads only up to _cdc.idx, gives the same events, byte for
#   byte, as Kafka received ahead of the sync, and no write is lost or
#   duplicated (tests/e2e/kafka_verify.py against the load's log);
# - SIGKILL while reading ahead (1000 writes/s for 30 s, 4 kills at random
#   moments): no write lost; duplicates within what the checkpoint allows
#   (it never passes the idx, so a restart re-sends at most what was read
#   since the last sync and checkpoint: kills x rate x (sync period +
#   checkpoint_interval + 3 s)); none without kills.
. "$(dirname "$0")/lib.sh"
PY=$(scripts/deps.sh --python)
ADDR=${LIVE_ADDR:-127.0.0.1}
PORT=${KAFKA_TEST_PORT:-9392}
B=127.0.0.1:$PORT
RATE=${RUN_RATE:-1000}
SYNC_MS=10000
KILLS=${RA_KILLS:-4}

kdir=$TMP/kafka
if ! scripts/kafka.sh start --dir "$kdir" --port "$PORT" >"$TMP/k.log" 2>&1; then
	cat "$TMP/k.log"
	not_ok "read-ahead: could not start Kafka on $B (log above)"
	exit 0
fi
at_exit "scripts/kafka.sh stop --dir '$kdir'"

start_run() {
	"$CDCTAIL" run --config "$2" 2>>"$3" &
	echo $! >"$1"
}

# verify TOPIC OUT WRITES...: kafka_verify.py's report into OUT; prints a summary
verify() {
	local topic=$1 out=$2; shift 2
	local w=()
	for f in "$@"; do w+=(--writes "$f"); done
	"$PY" tests/e2e/kafka_verify.py --bootstrap "$B" --topic "$topic" "${w[@]}" --idle 15 --timeout 300 >"$out" 2>"$out.err"
	python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("%d writes, %d messages: %d lost, %d duplicates, %d spurious" % (d["writes"], d["messages"], d["lost"], d["duplicates"], d["spurious"]))' "$out" 2>/dev/null
}

for v in ${RUN_VERSIONS:-5.0 4.1}; do
	cdir=$TMP/cass-$v
	if ! scripts/cassandra.sh start --version "$v" --dir "$cdir" --addr "$ADDR" --segment-size-mb 32 \
		--sync-period-ms $SYNC_MS >"$TMP/c.log" 2>&1; then
		cat "$TMP/c.log"
		not_ok "read-ahead $v: could not start Cassandra $v on $ADDR (log above)"
		continue
	fi
	at_exit "scripts/cassandra.sh stop --dir '$cdir'"
	ks=ra${v/./}
	"$PY" tests/e2e/loadgen.py --host "$ADDR" --keyspace "$ks" --rf 1 --create --rate 10 --seconds 0.5 \
		--log "$TMP/w0-$v.jsonl" >/dev/null || not_ok "read-ahead $v: schema creation failed"
	conf=$TMP/run-$v.conf
	cat >"$conf" <<EOF
cdc_raw = $cdir/cdc_raw
state_dir = $TMP/state-$v
cassandra.host = $ADDR
kafka.bootstrap.servers = $B
kafka.linger.ms = 5
topic.prefix = t$ks
rescan_interval = 1s
checkpoint_interval = 500ms
node = $ADDR
delete_consumed = false
read_ahead = true
metrics.textfile = $TMP/metrics-$v.prom
metrics.interval = 1s
EOF
	log=$TMP/run-$v.log
	pidf=$TMP/run-$v.pid
	start_run "$pidf" "$conf" "$log"
	topic=t$ks.$ks.movies_by_genre
	sleep 3

	# 1. events well before the sync
	"$PY" tests/e2e/loadgen.py --host "$ADDR" --keyspace "$ks" --latency-probe 30 --probe-topic "$topic" \
		--bootstrap "$B" --log "$TMP/probe-$v.jsonl" --probe-timeout 30 >"$TMP/probe-$v.json" 2>"$TMP/probe-$v.err"
	check "read-ahead $v: CQL ack -> event in Kafka with a ${SYNC_MS} ms commitlog sync: $(cat "$TMP/probe-$v.json" 2>/dev/null) (p99 under 1000 ms)" \
		python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if d["received"] == d["probes"] == 30 and d["p99_ms"] < 1000 else 1)' \
		"$TMP/probe-$v.json"
	check "read-ahead $v: the log says read-ahead is on" grep -q -i 'read-ahead' "$log"

	# 2. a load without kills: nothing lost, nothing twice
	"$PY" tests/e2e/loadgen.py --host "$ADDR" --keyspace "$ks" --rf 1 --rate 300 --seconds 5 \
		--log "$TMP/w1-$v.jsonl" >"$TMP/load1-$v.json" 2>&1
	s=$(verify "$topic" "$TMP/verify1-$v.json" "$TMP/w0-$v.jsonl" "$TMP/probe-$v.jsonl" "$TMP/w1-$v.jsonl")
	check "read-ahead $v: 5 s at 300 writes/s, no kill: $s (0 lost, 0 duplicates)" \
		python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if d["writes"] > 1000 and d["lost"] == 0 and d["duplicates"] == 0 and d["spurious"] == 0 else 1)' \
		"$TMP/verify1-$v.json"

	# 3. SIGKILL while reading ahead
	"$PY" tests/e2e/loadgen.py --host "$ADDR" --keyspace "$ks" --rf 1 --rate "$RATE" --seconds 30 \
		--log "$TMP/w2-$v.jsonl" >"$TMP/load2-$v.json" 2>&1 &
	loadpid=$!
	t0=$(date +%s%N) kills=0 kill_at=""
	next_kill=$(( RANDOM % 4000 + 2000 ))
	while kill -0 $loadpid 2>/dev/null; do
		sleep 0.2
		el=$(( ($(date +%s%N) - t0) / 1000000 ))
		if [ $kills -lt "$KILLS" ] && [ $el -ge $next_kill ]; then
			pid=$(cat "$pidf")
			kill -9 "$pid" 2>/dev/null && kills=$((kills + 1)) && kill_at="$kill_at $((el / 1000))"
			wait "$pid" 2>/dev/null
			start_run "$pidf" "$conf" "$log"
			next_kill=$(( el + RANDOM % 3000 + 4000 ))
		fi
	done
	wait $loadpid
	s=$(verify "$topic" "$TMP/verify2-$v.json" "$TMP/w0-$v.jsonl" "$TMP/probe-$v.jsonl" "$TMP/w1-$v.jsonl" "$TMP/w2-$v.jsonl")
	check "read-ahead $v: 30 s at $RATE writes/s, SIGKILL $kills times (seconds$kill_at): $s (0 lost; duplicates at most $KILLS x $RATE x $(( SYNC_MS / 1000 + 4 )) s)" \
		python3 -c 'import json, sys
d = json.load(open(sys.argv[1])); kills, rate, sync_s = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
sys.exit(0 if kills >= 3 and d["lost"] == 0 and d["spurious"] == 0 and d["duplicates"] <= kills * rate * (sync_s + 0.5 + 3) else 1)' \
		"$TMP/verify2-$v.json" "$kills" "$RATE" "$(( SYNC_MS / 1000 ))"

	# 4. what Kafka got ahead of the sync = what the idx-bounded read gives
	# once Cassandra synced and completed every segment (a clean stop)
	"$CDCTAIL" schema export --host "$ADDR" --keyspace "$ks" --output "$TMP/schema-$v.json" 2>"$TMP/export-$v.err" ||
		not_ok "read-ahead $v: schema export failed: $(tail -1 "$TMP/export-$v.err")"
	pid=$(cat "$pidf")
	sleep 2
	kill -TERM "$pid"
	wait "$pid"
	trc=$?
	scripts/cassandra.sh stop --dir "$cdir" >/dev/null 2>&1
	kcat -b "$B" -C -t "$topic" -e -q -f '%s\n' >"$TMP/run-events-$v" 2>/dev/null
	"$CDCTAIL" replay --schema "$TMP/schema-$v.json" --node "$ADDR" "$cdir/cdc_raw" \
		>"$TMP/replay-events-$v" 2>"$TMP/replay-$v.err"
	rrc=$?
	check "read-ahead $v: events sent ahead of the sync equal those the idx-bounded replay of cdc_raw gives after it (replay exit $rrc)" \
		python3 - "$TMP/run-events-$v" "$TMP/replay-events-$v" "$rrc" <<'PY'
import json, sys
run = {l for l in open(sys.argv[1], encoding="utf-8")}
rep = {l for l in open(sys.argv[2], encoding="utf-8") if json.loads(l)["table"] == "movies_by_genre"}
print(f"# {len(run)} distinct events in Kafka, {len(rep)} from replay, {len(run ^ rep)} differ")
sys.exit(0 if rep and run == rep and sys.argv[3] == "0" else 1)
PY
	check "read-ahead $v: SIGTERM: exit $trc, checkpoint saved" sh -c "[ $trc = 0 ] && tail -1 '$log' | grep -q 'checkpoint saved'"
	check "read-ahead $v: no sanitizer report in the service's log" sh -c "! grep -q -E 'AddressSanitizer|runtime error|LeakSanitizer' '$log'"
done
