#!/usr/bin/env bash
# make bench: cdctail's throughput at each layer against Cassandra's own
# commitlog reader on the same segments, in the same run, with ratios.
#
# Input: the fixtures, and a generated set of >= 200 MiB made of the real
# entry bodies of fixtures/5.0/seed re-framed into 32 MiB segments
# (tests/bench/mkbig.py). cdctail: build/bench (CPU seconds on one core, best
# of 3). Cassandra: tests/oracle's Bench (CommitLogReader + Mutation
# deserialization, as replay does), 6 passes in one JVM, the best of the last
# four (JIT warm), wall and main-thread CPU; both sides pinned to one core. Absolute times on a shared
# machine are noise; the ratios of one run hold.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$TOP_DIR"
MIB=${BENCH_MIB:-256}
data=build/bench-data
schema=fixtures/5.0/seed/schema.json
if [ "$(ls "$data"/*.log 2>/dev/null | wc -l)" -eq 0 ]; then
	mkdir -p "$data"
	python3 tests/bench/mkbig.py ./cdctail "$data" "$MIB" fixtures/5.0/seed
fi
files=("$data"/CommitLog-*.log)

# BENCH_KAFKA_ONLY=1: only the Kafka and latency part (below)
if [ -z "${BENCH_KAFKA_ONLY:-}" ]; then
echo "== cdctail on the fixtures (all versions, ${#files[@]} generated segments below)"
for v in 5.0 4.1 4.0; do
	build/bench -s fixtures/$v/seed/schema.json -p 3 fixtures/$v/seed/cdc_raw/*.log | sed "s/^/  $v seed: /"
done
echo "== cdctail on $(du -sm "$data" | cut -f1) MiB (${#files[@]} segments of real entries)"
PIN=; command -v taskset >/dev/null && PIN="taskset -c ${BENCH_CPU:-1}"
$PIN build/bench -s "$schema" -p 3 "${files[@]}" | tee build/bench-cdctail.txt

echo "== Cassandra 5.0.9's CommitLogReader + Mutation.serializer on the same segments"
tests/oracle/run.sh --version 5.0 /dev/null >/dev/null 2>&1 || true
O=tests/oracle/target-5.0.9
# one core for both sides (taskset): the JVM's JIT and GC threads share it,
# as cdctail's one thread has it alone
PIN=; command -v taskset >/dev/null && PIN="taskset -c ${BENCH_CPU:-1}"
java_bench() { # CASE_DIR FILE...
	local case=$1; shift
	$PIN java --add-exports java.base/jdk.internal.ref=ALL-UNNAMED --add-exports java.base/sun.nio.ch=ALL-UNNAMED \
		--add-opens java.base/java.io=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED -Xmx2g \
		-Dlogback.configurationFile=logback-oracle.xml -cp "$O/classes:$(cat "$O/classpath.txt")" \
		cdctail.oracle.Bench --schema "$case" --passes 6 "$@"
}
java_bench fixtures/5.0/seed "${files[@]}" | tee build/bench-java.txt

# a second workload: the bodies of fixtures/5.0/types (every CQL type,
# collections, UDTs, statics, TTLs, counters), 64 MiB
tdata=build/bench-data-types
if [ "$(ls "$tdata"/*.log 2>/dev/null | wc -l)" -eq 0 ]; then
	mkdir -p "$tdata"
	python3 tests/bench/mkbig.py ./cdctail "$tdata" "${BENCH_TYPES_MIB:-64}" fixtures/5.0/types
fi
tfiles=("$tdata"/CommitLog-*.log)
echo "== the types workload, $(du -sm "$tdata" | cut -f1) MiB: cdctail, then Cassandra's reader"
$PIN build/bench -s fixtures/5.0/types/schema.json -p 3 "${tfiles[@]}" | tee build/bench-cdctail-types.txt
java_bench fixtures/5.0/types "${tfiles[@]}" | tee build/bench-java-types.txt

echo "== memory: cdctail replay's peak RSS as input grows"
for n in 1 $(( ${#files[@]} / 2 )) ${#files[@]}; do
	/usr/bin/time -f "%M" -o build/bench-rss.txt ./cdctail replay --schema "$schema" "${files[@]:0:$n}" >/dev/null 2>&1
	echo "  $n segments: $(( $(cat build/bench-rss.txt) / 1024 )) MiB"
done

fi # BENCH_KAFKA_ONLY

# ---- Kafka: throughput against librdkafka's own producer, and latency ----
KPORT=${BENCH_KAFKA_PORT:-9592}
kdir=build/bench-kafka
rm -rf "$kdir"
if scripts/kafka.sh start --dir "$kdir" --port "$KPORT" >build/bench-kafka.log 2>&1; then
	KB=127.0.0.1:$KPORT
	sub=("${files[@]:0:${BENCH_KAFKA_SEGMENTS:-2}}")
	echo "== to Kafka ($KB): cdctail replay --kafka vs librdkafka's producer alone, same messages and properties"
	./cdctail replay --schema "$schema" "${sub[@]}" 2>/dev/null >build/bench-events.jsonl
	python3 -c '
import json, sys
with open(sys.argv[2], "w") as out:
    for l in open(sys.argv[1], encoding="utf-8"):
        e = json.loads(l)
        k = json.dumps(e["key"], separators=(",", ":"), ensure_ascii=False)
        out.write("peer.%s.%s\t%s\t%s\n" % (e["keyspace"], e["table"], k, l.rstrip("\n")))' build/bench-events.jsonl build/bench-msgs.tsv
	# two rounds, alternating, on fresh topics each time; the best of each side
	# counts (the first producer on a new broker can wait for its coordinator)
	for round in 1 2; do
		build/kprod "$KB" <(sed "s/^peer\./peer$round./" build/bench-msgs.tsv) -X linger.ms=5 >build/bench-kprod-$round.txt
		t0=$(date +%s.%N)
		/usr/bin/time -f "%M" -o build/bench-replay-kafka-$round.rss \
			./cdctail replay --schema "$schema" --kafka "$KB" -X linger.ms=5 --topic-prefix cdc$round --no-progress "${sub[@]}" \
			2>build/bench-replay-kafka-$round.txt >/dev/null
		t1=$(date +%s.%N)
		echo "$t0 $t1" >build/bench-replay-kafka-$round.time
	done
	python3 - <<'PY'
import re
best_c = best_k = None
for r in (1, 2):
    t0, t1 = map(float, open(f"build/bench-replay-kafka-{r}.time").read().split())
    m = re.search(r"(\d+) events, .* (\d+) delivered to Kafka, (\d+) delivery failures",
                  open(f"build/bench-replay-kafka-{r}.txt").read())
    ev, dl, fl = map(int, m.groups())
    rss = int(open(f"build/bench-replay-kafka-{r}.rss").read().split()[-1]) / 1024
    k = dict(kv.split("=") for kv in open(f"build/bench-kprod-{r}.txt").read().split()[1:])
    print(f"  round {r}: cdctail replay --kafka {ev} events, {dl} acknowledged, {fl} failed in {t1 - t0:.2f} s = "
          f"{ev / (t1 - t0):.0f} events/s, peak RSS {rss:.1f} MiB (goal < 64); librdkafka alone {k['delivered']} of "
          f"{k['messages']} in {k['seconds']} s = {float(k['msgs_per_s']):.0f} msgs/s")
    if fl == 0 and dl == ev and (best_c is None or ev / (t1 - t0) > best_c):
        best_c = ev / (t1 - t0)
    if k["failed"] == "0" and (best_k is None or float(k["msgs_per_s"]) > best_k):
        best_k = float(k["msgs_per_s"])
print(f"  cdctail replay --kafka (read + decode + JSON + produce), best round: {best_c:.0f} events/s")
print(f"  librdkafka producer alone, best round: {best_k:.0f} msgs/s")
print(f"  ratio cdctail / librdkafka: {best_c / best_k:.2f} (goal >= 0.80)")
PY
	# latency: CQL write acknowledged -> its event in Kafka, through `cdctail
	# run`, at Cassandra's default commitlog settings (periodic, 10 s, 32 MiB
	# segments), without read-ahead and then with it, on the same node; and
	# the service's CPU per 1000 events during 20 s at 1000 writes/s
	PY=$(scripts/deps.sh --python)
	LADDR=${BENCH_ADDR:-127.0.0.1}
	cdir=build/bench-cass
	rm -rf "$cdir" build/bench-state
	if scripts/cassandra.sh start --version 5.0 --dir "$cdir" --addr "$LADDR" --sync-period-ms 10000 \
		--segment-size-mb 32 >build/bench-cass.log 2>&1; then
		"$PY" tests/e2e/loadgen.py --host "$LADDR" --keyspace lat --rf 1 --create --rate 10 --seconds 0.2 \
			--log build/bench-lat0.jsonl >/dev/null
		echo "== latency: CQL write acknowledged -> event in Kafka (cdctail run, Cassandra 5.0, commitlog periodic sync 10 s)"
		# BENCH_SNAP_ONLY=1 (with BENCH_KAFKA_ONLY=1): only the snapshot and apply figures
		for ra in $([ -n "${BENCH_SNAP_ONLY:-}" ] || echo false true); do
			printf 'cdc_raw = %s\nstate_dir = build/bench-state\ncassandra.host = %s\nkafka.bootstrap.servers = %s\nkafka.linger.ms = 5\nmetrics.textfile = build/bench-run.prom\nmetrics.interval = 1s\nread_ahead = %s\n' \
				"$cdir/cdc_raw" "$LADDR" "$KB" "$ra" >build/bench-run.conf
			./cdctail run --config build/bench-run.conf 2>build/bench-run-ra-$ra.log &
			rpid=$!
			sleep 3
			if ! kill -0 $rpid 2>/dev/null; then
				echo "  read_ahead = $ra: cdctail run refused the configuration: $(grep -v '^$' build/bench-run-ra-$ra.log | tail -1)"
				continue
			fi
			cpu0=$(awk '{ print $14 + $15 }' /proc/$rpid/stat)
			ev0=$(awk '/^cdctail_events_acked_total/ { print $2 }' build/bench-run.prom 2>/dev/null)
			"$PY" tests/e2e/loadgen.py --host "$LADDR" --keyspace lat --rf 1 --rate 1000 --seconds 20 \
				--log /dev/null >build/bench-load-ra-$ra.json
			sleep 12 # the last writes' sync, for the run without read-ahead
			cpu1=$(awk '{ print $14 + $15 }' /proc/$rpid/stat)
			ev1=$(awk '/^cdctail_events_acked_total/ { print $2 }' build/bench-run.prom 2>/dev/null)
			"$PY" tests/e2e/loadgen.py --host "$LADDR" --keyspace lat --latency-probe "${BENCH_PROBES:-200}" \
				--probe-topic cdctail.lat.movies_by_genre --bootstrap "$KB" --log build/bench-lat-ra-$ra.jsonl \
				>build/bench-latency-ra-$ra.json
			python3 - "$ra" build/bench-latency-ra-$ra.json "$cpu0" "$cpu1" "${ev0:-0}" "${ev1:-0}" "$(getconf CLK_TCK)" <<'PY'
import json, sys
ra, path, c0, c1, e0, e1, hz = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:])
d = json.load(open(path))
ev = e1 - e0
cpu = (c1 - c0) / hz
print(f"  read_ahead = {ra}: {d['received']} of {d['probes']} probes, p50 {d['p50_ms'] or 0:.0f} ms, p99 {d['p99_ms'] or 0:.0f} ms, "
      f"max {d['max_ms'] or 0:.0f} ms" + (" (goal p99 < 50 ms)" if ra == "true" else ""))
print(f"    1000 writes/s for 20 s (+12 s): {ev:.0f} events acknowledged, {cpu:.2f} s CPU = "
      + (f"{cpu * 1000 / ev * 1000:.1f} ms CPU per 1000 events" if ev else "no events"))
PY
			kill -TERM $rpid; wait $rpid || true
		done
		# snapshot: rows/s against a plain paged SELECT (the Python driver) of the
		# same table, the same columns with WRITETIME and TTL; apply: events/s into
		# the same node against the Python driver's execute_concurrent of the same
		# INSERTs (prepared, USING TIMESTAMP ? AND TTL ?, 128 in flight as apply's
		# --max-in-flight default)
		NR=${BENCH_SNAP_ROWS:-100000}
		echo "== snapshot and apply ($NR rows, Cassandra 5.0 on $LADDR): cdctail vs the Python driver, same table"
		"$PY" tests/bench/cqlpeer.py fill --host "$LADDR" --keyspace bsnap --rows "$NR" >build/bench-fill.json
		"$PY" tests/bench/cqlpeer.py select --host "$LADDR" --keyspace bsnap >build/bench-select.json
		rm -f build/bench-snap.state
		t0=$(date +%s.%N)
		./cdctail snapshot --host "$LADDR" --table bsnap.items --state build/bench-snap.state --output build/bench-snap.jsonl \
			--consistency ONE --no-progress 2>build/bench-snap.err
		t1=$(date +%s.%N)
		echo "$t0 $t1" >build/bench-snap.time
		apply_rc=none
		if ./cdctail apply --help >/dev/null 2>&1; then
			"$PY" tests/bench/cqlpeer.py create --host "$LADDR" --keyspace bapply
			rm -rf build/bench-apply
			t0=$(date +%s.%N)
			./cdctail apply --host "$LADDR" --state-dir build/bench-apply --keyspace-map bsnap=bapply \
				--consistency ONE build/bench-snap.jsonl 2>build/bench-apply.err
			apply_rc=$?
			t1=$(date +%s.%N)
			echo "$t0 $t1" >build/bench-apply.time
			"$PY" tests/bench/cqlpeer.py count --host "$LADDR" --keyspace bapply >build/bench-apply-count.json
		fi
		python3 - "$apply_rc" <<'PY'
import json, sys
fill = json.load(open("build/bench-fill.json")); sel = json.load(open("build/bench-select.json"))
t0, t1 = map(float, open("build/bench-snap.time").read().split())
rows = sum(1 for _ in open("build/bench-snap.jsonl"))
snap = rows / (t1 - t0)
print(f"  cdctail snapshot --output: {rows} rows in {t1 - t0:.2f} s = {snap:.0f} rows/s (wall, with its start)")
print(f"  Python driver, paged SELECT with WRITETIME/TTL: {sel['rows']} rows in {sel['seconds']} s = {sel['rows_per_s']} rows/s")
print(f"  ratio snapshot / paged SELECT: {snap / sel['rows_per_s']:.2f}")
if sys.argv[1] == "none":
    print("  cdctail apply: not in this build, no apply figures")
    sys.exit(0)
t0, t1 = map(float, open("build/bench-apply.time").read().split())
n = json.load(open("build/bench-apply-count.json"))["rows"]
ap = rows / (t1 - t0)
print(f"  cdctail apply (file, exit {sys.argv[1]}): {rows} events in {t1 - t0:.2f} s = {ap:.0f} events/s; {n} rows on the target")
print(f"  Python driver execute_concurrent (128 in flight), same INSERTs: {fill['rows']} in {fill['seconds']} s = {fill['rows_per_s']} rows/s")
print(f"  ratio apply / execute_concurrent: {ap / fill['rows_per_s']:.2f}")
PY
		scripts/cassandra.sh stop --dir "$cdir" >/dev/null 2>&1 || true
	else
		echo "== latency: could not start Cassandra 5.0 (build/bench-cass.log)"
	fi
	scripts/kafka.sh stop --dir "$kdir" >/dev/null 2>&1 || true
else
	echo "== Kafka: could not start a broker (build/bench-kafka.log); no Kafka figures"
fi

[ -n "${BENCH_KAFKA_ONLY:-}" ] && exit 0
python3 - <<'PY'
def ratios(name, cfile, jfile):
    c = {l.split()[1]: dict(kv.split('=') for kv in l.split()[2:]) for l in open(cfile)}
    j = [dict(kv.split('=') for kv in l.split()[2:]) for l in open(jfile) if l.startswith('pass')]
    warm = j[2:] if len(j) > 2 else j
    jw = min(float(p['seconds']) for p in warm); jc = min(float(p['cpu']) for p in warm)
    dec = float(c['decode']['cpu'].rstrip('s')); evs = float(c['events']['cpu'].rstrip('s'))
    print(f"  {name}: Cassandra's best warm pass {jw:.3f} s wall ({jc:.3f} s main-thread CPU); cdctail decode {dec:.3f} s, events {evs:.3f} s")
    print(f"    decode vs Cassandra deserialize:  {jw / dec:.1f}x wall, {jc / dec:.1f}x main-thread CPU")
    print(f"    decode + JSON + CQL events vs Cassandra deserialize only:  {jw / evs:.2f}x wall, {jc / evs:.2f}x CPU")
print("== ratios (Cassandra time / cdctail time; > 1: cdctail faster; both on one core)")
ratios("seed workload", "build/bench-cdctail.txt", "build/bench-java.txt")
ratios("types workload", "build/bench-cdctail-types.txt", "build/bench-java-types.txt")
PY
