#!/usr/bin/env bash
# Writers race the reader: 8 client threads (tests/e2e/frontier.py write),
# 15 % of the mutations 20-200 KB (an event holds the blob twice, in hex:
# up to about 800 KB, under the broker's 1 MB message limit, so that none
# goes to the dead-letter file), the rest up to 200 bytes, for 30 s, on a real Cassandra
# (5.0, 4.1) with a 10 s commitlog sync, while `cdctail run` reads ahead,
# looking every 1 ms (a large body is copied in some tens of microseconds:
# at the default 10 ms the reader meets one only a few times in such a
# run; through the service under ASan, 0-2 a run were met, so the count is
# reported, not required: tests/e2e/frontier.py and test_segment_ahead's
# real mid-write copies are where partly written entries are met for sure).
# Checks: the service read ahead (its entry counter is not 0) and reports
# how many partly written entries it stopped at; every acknowledged
# row is in Kafka exactly once (no kill: no duplicate), keyed by the (k, c)
# the client wrote; and the events equal those the idx-bounded replay of
# cdc_raw gives after the node's clean stop.
. "$(dirname "$0")/lib.sh"
PY=$(scripts/deps.sh --python)
ADDR=${LIVE_ADDR:-127.0.0.1}
PORT=${KAFKA_TEST_PORT:-9392}
B=127.0.0.1:$PORT

kdir=$TMP/kafka
if ! scripts/kafka.sh start --dir "$kdir" --port "$PORT" >"$TMP/k.log" 2>&1; then
	cat "$TMP/k.log"
	not_ok "read-ahead race: could not start Kafka on $B (log above)"
	exit 0
fi
at_exit "scripts/kafka.sh stop --dir '$kdir'"

for v in ${RUN_VERSIONS:-5.0 4.1}; do
	cdir=$TMP/cass-$v
	if ! scripts/cassandra.sh start --version "$v" --dir "$cdir" --addr "$ADDR" --segment-size-mb 32 \
		--sync-period-ms 10000 >"$TMP/c.log" 2>&1; then
		cat "$TMP/c.log"
		not_ok "read-ahead race $v: could not start Cassandra $v on $ADDR (log above)"
		continue
	fi
	at_exit "scripts/cassandra.sh stop --dir '$cdir'"
	ks=rr${v/./}
	"$PY" scripts/cql.py --host "$ADDR" \
		-e "CREATE KEYSPACE $ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}" \
		-e "CREATE TABLE $ks.t (k int, c int, v blob, PRIMARY KEY (k, c)) WITH cdc = true" >/dev/null ||
		not_ok "read-ahead race $v: schema creation failed"
	"$CDCTAIL" schema export --host "$ADDR" --keyspace "$ks" --output "$TMP/schema-$v.json" 2>/dev/null
	conf=$TMP/run-$v.conf
	cat >"$conf" <<EOF
cdc_raw = $cdir/cdc_raw
state_dir = $TMP/state-$v
cassandra.host = $ADDR
kafka.bootstrap.servers = $B
kafka.linger.ms = 5
kafka.message.max.bytes = 4000000
topic.prefix = t$ks
node = $ADDR
delete_consumed = false
read_ahead = true
read_ahead_interval = 1ms
metrics.textfile = $TMP/metrics-$v.prom
metrics.interval = 1s
EOF
	log=$TMP/run-$v.log
	"$CDCTAIL" run --config "$conf" 2>>"$log" &
	pid=$!
	sleep 3
	"$PY" tests/e2e/frontier.py write --host "$ADDR" --keyspace "$ks" --seconds 30 --threads 8 \
		--big-min 20000 --big-max 200000 --keys "$TMP/keys-$v" >"$TMP/write-$v.json" 2>"$TMP/write-$v.err"
	acked=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["acknowledged"])' "$TMP/write-$v.json" 2>/dev/null)
	# everything in Kafka: wait until as many events as acknowledged rows (or 60 s)
	topic=t$ks.$ks.t
	for i in $(seq 1 60); do
		n=$(kcat -b "$B" -C -t "$topic" -e -q -f '%s\n' 2>/dev/null | wc -l)
		[ "$n" -ge "${acked:-1}" ] && break
		sleep 1
	done
	sleep 2
	kcat -b "$B" -C -t "$topic" -e -q -f '%s\n' >"$TMP/run-events-$v" 2>/dev/null
	check "read-ahead race $v: every one of the $acked acknowledged rows is in Kafka exactly once" \
		python3 - "$TMP/run-events-$v" "$TMP/keys-$v" <<'PY'
import collections, json, sys
got = collections.Counter()
for l in open(sys.argv[1], encoding="utf-8"):
    e = json.loads(l)
    got[(e["key"]["k"], e["clustering"]["c"])] += 1
want = {tuple(map(int, l.split())) for l in open(sys.argv[2])}
lost = [k for k in want if got[k] == 0]
twice = [k for k, n in got.items() if n > 1]
print(f"# {len(want)} rows written, {sum(got.values())} events: {len(lost)} lost, {len(twice)} twice")
sys.exit(0 if want and not lost and not twice and set(got) >= want else 1)
PY
	check "read-ahead race $v: no event went to the dead-letter file" [ ! -s "$TMP/state-$v/dead-letter.jsonl" ]
	sleep 2
	check "read-ahead race $v: the service read ahead, and counts the partly written entries it met: $(grep '^cdctail_read_ahead' "$TMP/metrics-$v.prom" 2>/dev/null | tr '\n' ' ')" \
		python3 - "$TMP/metrics-$v.prom" <<'PY'
import sys
m = {}
for l in open(sys.argv[1]):
    if l.startswith("cdctail_read_ahead"):
        k, v = l.rsplit(" ", 1)
        m[k] = float(v)
partial = sum(v for k, v in m.items() if 'state="size"' in k or 'state="body"' in k)
print(f"# the service stopped {partial:.0f} times at a partly written entry (a size or a body not yet good)")
sys.exit(0 if m.get("cdctail_read_ahead_entries_total", 0) > 0 else 1)
PY
	kill -TERM "$pid"
	wait "$pid"
	trc=$?
	scripts/cassandra.sh stop --dir "$cdir" >/dev/null 2>&1
	"$CDCTAIL" replay --schema "$TMP/schema-$v.json" --node "$ADDR" --table "$ks.t" "$cdir/cdc_raw" \
		>"$TMP/replay-events-$v" 2>"$TMP/replay-$v.err"
	rrc=$?
	check "read-ahead race $v: the events read ahead equal the idx-bounded replay's after the node's clean stop (replay exit $rrc)" \
		python3 - "$TMP/run-events-$v" "$TMP/replay-events-$v" "$rrc" <<'PY'
import sys
run = set(open(sys.argv[1], encoding="utf-8"))
rep = set(open(sys.argv[2], encoding="utf-8"))
print(f"# {len(run)} events in Kafka, {len(rep)} from replay, {len(run ^ rep)} differ")
sys.exit(0 if rep and run == rep and sys.argv[3] == "0" else 1)
PY
	check "read-ahead race $v: SIGTERM: exit $trc" [ "$trc" = 0 ]
	check "read-ahead race $v: no sanitizer report in the service's log" sh -c "! grep -q -E 'AddressSanitizer|runtime error|LeakSanitizer' '$log'"
done
