#!/usr/bin/env bash
# `cdctail run` against a real Cassandra (5.0 and 4.1) and a real Kafka:
# the seed's mutation mix at about 1000 writes/s for a minute while cdctail
# is killed with SIGKILL at random moments spread over the whole minute (at
# least 10 times) and Kafka is stopped for 30 s, cdctail's RSS sampled all
# through the outage (bounded: under RUN_RSS_MAX_MB), and `cdctail cleanup`
# run every 5 s next to it, as cron would (it must never fail, and the
# loss check below shows it removed nothing unconsumed). Then: every
# acknowledged write's event is in Kafka (by ts and key:
# tests/e2e/kafka_verify.py, which knows nothing of cdctail's code), Cassandra
# rejected no write (cdc_total_space is small, so it would have if consumed
# segments were not removed), every COMPLETED segment is gone from cdc_raw
# (archived), replaying the archive into a fresh topic gives the same events
# (replay exits 0), `replay --since` cuts exactly, a final SIGTERM exits 0
# with the checkpoint saved. Before the load: a table created while running
# is picked up, and rows too large for their topic (max.message.bytes, set on
# the real broker) go to the dead-letter file while the service goes on.
. "$(dirname "$0")/lib.sh"
PY=$(scripts/deps.sh --python)
ADDR=${LIVE_ADDR:-127.0.0.1}
PORT=${KAFKA_TEST_PORT:-9392}
B=127.0.0.1:$PORT
RATE=${RUN_RATE:-1000}
SECONDS_LOAD=${RUN_SECONDS:-60}
KILLS=${RUN_KILLS:-12}
RSS_MAX_MB=${RUN_RSS_MAX_MB:-128}

kdir=$TMP/kafka
if ! scripts/kafka.sh start --dir "$kdir" --port "$PORT" >"$TMP/k.log" 2>&1; then
	cat "$TMP/k.log"
	not_ok "run: could not start Kafka on $B (log above)"
	exit 0
fi
at_exit "scripts/kafka.sh stop --dir '$kdir'"

# supervise PIDFILE CONF LOG: start cdctail run in the background
start_run() {
	"$CDCTAIL" run --config "$2" 2>>"$3" &
	echo $! >"$1"
}

# poll_count TOPIC PATTERN WANT: how many messages of TOPIC match PATTERN,
# read again each second for up to 30 s until there are WANT
poll_count() {
	local n=0 i
	for i in $(seq 1 30); do
		n=$(kcat -b "$B" -C -t "$1" -e -q -f '%s\n' 2>/dev/null | grep -c "$2")
		[ "$n" -ge "$3" ] && break
		sleep 1
	done
	echo "$n"
}

for v in ${RUN_VERSIONS:-5.0 4.1}; do
	cdir=$TMP/cass-$v
	if ! scripts/cassandra.sh start --version "$v" --dir "$cdir" --addr "$ADDR" --cdc-total-space-mb 24 \
		--sync-period-ms 200 >"$TMP/c.log" 2>&1; then
		cat "$TMP/c.log"
		not_ok "run $v: could not start Cassandra $v on $ADDR (log above)"
		continue
	fi
	at_exit "scripts/cassandra.sh stop --dir '$cdir'"
	ks=run${v/./}
	"$PY" tests/e2e/loadgen.py --host "$ADDR" --keyspace "$ks" --rf 1 --create --rate 10 --seconds 0.5 \
		--log "$TMP/w0-$v.jsonl" >/dev/null || not_ok "run $v: schema creation failed"
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
metrics.textfile = $TMP/metrics-$v.prom
metrics.interval = 1s
node = $ADDR
archive_dir = $TMP/archive-$v
EOF
	log=$TMP/run-$v.log
	pidf=$TMP/run-$v.pid
	start_run "$pidf" "$conf" "$log"
	# a table created after the service started: its id is unknown until the
	# schema is read again (once), then its writes flow like the others
	sleep 3
	{
		echo "CREATE TABLE $ks.late (k int PRIMARY KEY, v text) WITH cdc = true;"
		for i in $(seq 1 20); do echo "INSERT INTO $ks.late (k, v) VALUES ($i, 'v$i') USING TIMESTAMP $((1700000000000000 + i));"; done
	} >"$TMP/late.cql"
	"$PY" scripts/cql.py --host "$ADDR" -f "$TMP/late.cql" >/dev/null 2>"$TMP/late.err" || cat "$TMP/late.err"
	got=$(poll_count "t$ks.$ks.late" '"op":"insert"' 20)
	check "run $v: a table created while running is picked up by a schema refresh: $got of 20 inserts in Kafka" [ "$got" = 20 ]
	# a topic whose max.message.bytes is below two rows' events: the broker
	# refuses them for good; they go to the dead-letter file, the next row
	# of the table (small) reaches Kafka behind them
	"$PY" - "$B" "t$ks.$ks.big" <<'PY' || echo "# creating the topic failed"
import sys
from confluent_kafka.admin import AdminClient, NewTopic
a = AdminClient({"bootstrap.servers": sys.argv[1]})
for f in a.create_topics([NewTopic(sys.argv[2], 1, 1, config={"max.message.bytes": "1500"})]).values():
    f.result(30)
PY
	big=$(head -c 3000 /dev/zero | tr '\0' x)
	{
		echo "CREATE TABLE $ks.big (k int PRIMARY KEY, v text) WITH cdc = true;"
		echo "INSERT INTO $ks.big (k, v) VALUES (1, '$big') USING TIMESTAMP 1700000000000101;"
		echo "INSERT INTO $ks.big (k, v) VALUES (2, '$big') USING TIMESTAMP 1700000000000102;"
	} >"$TMP/big.cql"
	"$PY" scripts/cql.py --host "$ADDR" -f "$TMP/big.cql" >/dev/null 2>"$TMP/big.err" || cat "$TMP/big.err"
	dl=$TMP/state-$v/dead-letter.jsonl
	for i in $(seq 1 30); do [ "$(cat "$dl" 2>/dev/null | grep -c '"topic":"t'"$ks.$ks"'.big"')" -ge 2 ] && break; sleep 1; done
	echo "INSERT INTO $ks.big (k, v) VALUES (3, 'small') USING TIMESTAMP 1700000000000103;" >"$TMP/big2.cql"
	"$PY" scripts/cql.py --host "$ADDR" -f "$TMP/big2.cql" >/dev/null 2>>"$TMP/big.err" || cat "$TMP/big.err"
	small=$(poll_count "t$ks.$ks.big" '"ts":1700000000000103' 1)
	check "run $v: rows too large for their topic (the broker's max.message.bytes) are in the dead-letter file with segment, offset, error; the next row reached Kafka ($small)" \
		python3 - "$dl" "t$ks.$ks.big" "$TMP/metrics-$v.prom" "$small" <<'PY'
import json, sys
dead = [json.loads(l) for l in open(sys.argv[1])]
mine = [d for d in dead if d["topic"] == sys.argv[2]]
keys = {json.loads(d["event"])["key"]["k"] for d in mine}
ok = keys == {1, 2} and all(d["segment"].startswith("CommitLog-") and d["offset"] > 0 and "too large" in d["error"] for d in mine)
prom = {l.split()[0]: l.split()[1] for l in open(sys.argv[3]) if l.startswith("cdctail_")}
print("# %d dead letters for %s (keys %s): %s" % (len(mine), sys.argv[2], sorted(keys), mine[0]["error"] if mine else "-"))
sys.exit(0 if ok and int(prom.get("cdctail_dead_letter_total", 0)) >= 1 and sys.argv[4] != "0" else 1)
PY
	"$PY" tests/e2e/loadgen.py --host "$ADDR" --keyspace "$ks" --rf 1 --rate "$RATE" --seconds "$SECONDS_LOAD" \
		--log "$TMP/w1-$v.jsonl" >"$TMP/load-$v.json" 2>"$TMP/load-$v.err" &
	loadpid=$!
	t0=$(date +%s%N)
	kills=0 kafka_down=0 kafka_back=0 rss_max=0 rss_n=0 kill_at="" cleanups=0 cleanup_bad=0 next_cleanup=2000
	mkdir -p "$TMP/archive-$v" # cron's cleanup archives there too (it wants an existing directory)
	# kill -9 once in each of KILLS equal slices of the load (its first 95 %,
	# so that the last one comes before the load ends), at a random point of
	# the slice; Kafka away for 30 s from second 15; RSS sampled every 0.5 s
	# while Kafka is away
	slice=$(( SECONDS_LOAD * 950 / KILLS ))                          # ms
	next_kill=$(( (RANDOM % 800 + 100) * slice / 1000 ))            # ms into the load
	while kill -0 $loadpid 2>/dev/null; do
		sleep 0.5
		el=$(( ($(date +%s%N) - t0) / 1000000 ))
		if [ $kafka_down = 0 ] && [ $el -ge 15000 ]; then
			scripts/kafka.sh stop --dir "$kdir" >/dev/null 2>&1
			kafka_down=$(date +%s)
		fi
		if [ $kafka_down != 0 ] && [ $kafka_back = 0 ]; then
			if [ $(( $(date +%s) - kafka_down )) -ge 30 ]; then
				scripts/kafka.sh start --dir "$kdir" --port "$PORT" >>"$TMP/k.log" 2>&1 || echo "# Kafka restart failed"
				kafka_back=$(date +%s)
			else
				r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$(cat "$pidf")/status" 2>/dev/null)
				[ -n "$r" ] && rss_n=$((rss_n + 1)) && [ "$r" -gt $rss_max ] && rss_max=$r
			fi
		fi
		# cron's cleanup next to the running service (docs/cleanup.md: safe
		# to run alongside it): consumed segments only, into the same archive
		if [ $el -ge $next_cleanup ]; then
			"$CDCTAIL" cleanup --cdc-raw "$cdir/cdc_raw" --state-dir "$TMP/state-$v" --archive-dir "$TMP/archive-$v" \
				>>"$TMP/cleanup-$v.out" 2>>"$TMP/cleanup-$v.err"
			crc=$?
			cleanups=$((cleanups + 1))
			[ $crc -eq 0 ] || { cleanup_bad=$((cleanup_bad + 1)); echo "# cleanup exit $crc: $(tail -1 "$TMP/cleanup-$v.err")"; }
			next_cleanup=$((el + 5000))
		fi
		if [ $kills -lt "$KILLS" ] && [ $el -ge $next_kill ]; then
			pid=$(cat "$pidf")
			kill -9 "$pid" 2>/dev/null && kills=$((kills + 1)) && kill_at="$kill_at $((el / 1000))"
			wait "$pid" 2>/dev/null
			start_run "$pidf" "$conf" "$log"
			next_kill=$(( (kills * 1000 + RANDOM % 800 + 100) * slice / 1000 ))
		fi
	done
	wait $loadpid
	[ $kafka_back != 0 ] || { scripts/kafka.sh start --dir "$kdir" --port "$PORT" >>"$TMP/k.log" 2>&1; kafka_back=1; }
	read -r acked failed rate < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); print(d["acknowledged"], d["failed"], d["achieved_rate"])' "$TMP/load-$v.json")
	check "run $v: Cassandra acknowledged all $acked writes at $rate/s (asked $RATE/s), rejected none ($failed failed)" \
		python3 -c 'import sys; f, a, r, want = sys.argv[1:]; sys.exit(0 if f == "0" and int(a) > 0 and float(r) >= 0.9 * float(want) else 1)' \
		"${failed:-1}" "${acked:-0}" "${rate:-0}" "$RATE"
	check "run $v: cdctail was killed with SIGKILL $kills times, at seconds$kill_at of the ${SECONDS_LOAD} s load, and Kafka was stopped for $(( kafka_back - kafka_down )) s" \
		python3 -c 'import sys; k, down, n = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]); at = [int(x) for x in sys.argv[4:]]
sys.exit(0 if k >= 10 and down >= 30 and at and at[0] < n / 4 and at[-1] >= n * 3 / 4 else 1)' \
		"$kills" "$(( kafka_back - kafka_down ))" "$SECONDS_LOAD" $kill_at
	check "run $v: cdctail cleanup ran $cleanups times next to the service ($cleanup_bad failed, $(grep -c '^archived' "$TMP/cleanup-$v.out" 2>/dev/null) segments archived by it)" \
		[ $cleanups -ge 5 -a $cleanup_bad -eq 0 ]
	check "run $v: cdctail's RSS while Kafka was away: at most $((rss_max / 1024)) MiB in $rss_n samples (bound $RSS_MAX_MB MiB)" \
		[ $rss_n -ge 20 -a $rss_max -gt 0 -a $rss_max -lt $((RSS_MAX_MB * 1024)) ]
	# cdctail catches up by itself
	"$PY" tests/e2e/kafka_verify.py --bootstrap "$B" --topic "t$ks.$ks.movies_by_genre" \
		--writes "$TMP/w0-$v.jsonl" --writes "$TMP/w1-$v.jsonl" --key-format json --idle 20 --timeout 300 \
		>"$TMP/verify-$v.json" 2>"$TMP/verify-$v.err"
	vrc=$?
	summary=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("%d writes, %d messages: %d lost, %d duplicates, %d spurious, %d id mismatches, %d key mismatches" % (
    d["writes"], d["messages"], d["lost"], d["duplicates"], d["spurious"], d["id_mismatch"], d["message_key"]["mismatch"]))' "$TMP/verify-$v.json" 2>/dev/null)
	[ $vrc = 0 ] || { tail -5 "$TMP/verify-$v.err"; grep -v '^%' "$log" | tail -5; }
	check "run $v: every write is in Kafka with its key ($summary)" [ $vrc = 0 ]
	# the live segment is not COMPLETED; every COMPLETED one must be gone
	left=0
	for i in $(seq 1 30); do
		left=0
		for idx in "$cdir"/cdc_raw/*_cdc.idx; do
			[ -f "$idx" ] && grep -q COMPLETED "$idx" && [ -f "${idx%_cdc.idx}.log" ] && left=$((left + 1))
		done
		[ $left = 0 ] && break
		sleep 1
	done
	check "run $v: no COMPLETED segment left in cdc_raw ($left; $(ls "$cdir"/cdc_raw | grep -c '\.log$') live)" [ $left = 0 ]
	check "run $v: metrics textfile has events, lag and cdc_raw bytes" \
		grep -q '^cdctail_events_total{keyspace="'"$ks"'",table="movies_by_genre",op="insert"} [1-9]' "$TMP/metrics-$v.prom"
	# the archived segments replayed into a fresh topic give the same events;
	# --since cuts exactly at a write timestamp
	"$CDCTAIL" schema export --host "$ADDR" --keyspace "$ks" --output "$TMP/schema-$v.json" 2>>"$TMP/export.err" ||
		not_ok "run $v: schema export failed: $(tail -1 "$TMP/export.err")"
	"$CDCTAIL" replay --schema "$TMP/schema-$v.json" --node "$ADDR" --kafka "$B" --topic-prefix r$ks \
		"$TMP/archive-$v" >/dev/null 2>"$TMP/replay-$v.err"
	rrc=$?
	kcat -b "$B" -C -t "t$ks.$ks.movies_by_genre" -e -q -f '%s\n' >"$TMP/run-events" 2>/dev/null
	kcat -b "$B" -C -t "r$ks.$ks.movies_by_genre" -e -q -f '%s\n' >"$TMP/replay-events" 2>/dev/null
	check "run $v: replay of the $(ls "$TMP/archive-$v" | grep -c '\.log$') archived segments (exit $rrc) into a fresh topic gives the events run sent for them" \
		python3 - "$TMP/run-events" "$TMP/replay-events" "$TMP/archive-$v" "$rrc" <<'PY'
import json, os, re, sys
segs = {int(m.group(1)) for f in os.listdir(sys.argv[3]) if (m := re.match(r"CommitLog-\d+-(\d+)\.log$", f))}
run = {l for l in open(sys.argv[1], encoding="utf-8") if json.loads(l)["source"]["segment"] in segs}
rep = set(open(sys.argv[2], encoding="utf-8"))
print(f"# {len(run)} distinct events of archived segments from run, {len(rep)} from replay, {len(run ^ rep)} differ")
sys.exit(0 if segs and run == rep and sys.argv[4] == "0" else 1)
PY
	mid=$(python3 -c '
import json, sys
ts = sorted(w["ts"] for w in map(json.loads, open(sys.argv[1])) if not w.get("failed"))
print(ts[len(ts) // 2])' "$TMP/w1-$v.jsonl")
	"$CDCTAIL" replay --schema "$TMP/schema-$v.json" --kafka "$B" --topic-prefix s$ks --since "$mid" \
		"$TMP/archive-$v" "$cdir/cdc_raw" >/dev/null 2>>"$TMP/replay-$v.err"
	src=$?
	"$PY" tests/e2e/kafka_verify.py --bootstrap "$B" --topic "s$ks.$ks.movies_by_genre" --writes "$TMP/w1-$v.jsonl" \
		--exact-since "$mid" --idle 5 >"$TMP/since-$v.json" 2>&1
	check "run $v: replay --since $mid of archive + cdc_raw (exit $src): nothing before, everything from it ($(python3 -c '
import json, sys
d = json.load(open(sys.argv[1])); print("%s lost, %s before the cut" % (d.get("lost"), d.get("before_cut")))' "$TMP/since-$v.json" 2>/dev/null))" \
		python3 -c 'import json, sys; sys.exit(0 if json.load(open(sys.argv[1]))["ok"] and sys.argv[2] == "0" else 1)' "$TMP/since-$v.json" "$src"
	pid=$(cat "$pidf")
	kill -TERM "$pid"
	wait "$pid"
	trc=$?
	check "run $v: SIGTERM: exit $trc, checkpoint saved" sh -c "[ $trc = 0 ] && tail -1 '$log' | grep -q 'checkpoint saved'"
	check "run $v: no sanitizer report in the service's log" sh -c "! grep -q -E 'AddressSanitizer|runtime error|LeakSanitizer' '$log'"
	scripts/cassandra.sh stop --dir "$cdir" >/dev/null 2>&1
done
