#!/usr/bin/env bash
# make bench: cdctail's throughput at each layer against Cassandra's own
# commitlog reader on the same segments, in the same run, with ratios.
#
# Input: the fixtures, and a generated set of >= 200 MiB made of the real
# entry bodies of fixtures/5.0/seed re-framed into 32 MiB segments
# (tests/bench/mkbig.py). cdctail: build/bench (CPU seconds on one core, best
# of 3). Cassandra: tests/oracle's Bench (CommitLogReader + Mutation
# deserialization, as replay does), 5 passes in one JVM, the best of the last
# three (JIT warm), wall and main-thread CPU. Absolute times on a shared
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

echo "== cdctail on the fixtures (all versions, ${#files[@]} generated segments below)"
for v in 5.0 4.1 4.0; do
	build/bench -s fixtures/$v/seed/schema.json -p 3 fixtures/$v/seed/cdc_raw/*.log | sed "s/^/  $v seed: /"
done
echo "== cdctail on $(du -sm "$data" | cut -f1) MiB (${#files[@]} segments of real entries)"
build/bench -s "$schema" -p 3 "${files[@]}" | tee build/bench-cdctail.txt

echo "== Cassandra 5.0.9's CommitLogReader + Mutation.serializer on the same segments"
tests/oracle/run.sh --version 5.0 /dev/null >/dev/null 2>&1 || true
O=tests/oracle/target-5.0.9
java --add-exports java.base/jdk.internal.ref=ALL-UNNAMED --add-exports java.base/sun.nio.ch=ALL-UNNAMED \
	--add-opens java.base/java.io=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED -Xmx2g \
	-Dlogback.configurationFile=logback-oracle.xml -cp "$O/classes:$(cat "$O/classpath.txt")" \
	cdctail.oracle.Bench --schema fixtures/5.0/seed --passes 5 "${files[@]}" | tee build/bench-java.txt

echo "== memory: cdctail replay's peak RSS as input grows"
for n in 1 $(( ${#files[@]} / 2 )) ${#files[@]}; do
	/usr/bin/time -f "%M" -o build/bench-rss.txt ./cdctail replay --schema "$schema" "${files[@]:0:$n}" >/dev/null 2>&1
	echo "  $n segments: $(( $(cat build/bench-rss.txt) / 1024 )) MiB"
done

python3 - <<'PY'
import re
c = {l.split()[1]: dict(kv.split('=') for kv in l.split()[2:]) for l in open('build/bench-cdctail.txt')}
j = [dict(kv.split('=') for kv in l.split()[2:]) for l in open('build/bench-java.txt') if l.startswith('pass')]
warm = j[2:] if len(j) > 2 else j
jw = min(float(p['seconds']) for p in warm); jc = min(float(p['cpu']) for p in warm)
dec = float(c['decode']['cpu'].rstrip('s')); evs = float(c['events']['cpu'].rstrip('s'))
print("== ratios (Cassandra time / cdctail time; > 1: cdctail faster)")
print(f"  decode vs Cassandra deserialize:  {jw / dec:.1f}x wall, {jc / dec:.1f}x main-thread CPU")
print(f"  decode + JSON + CQL events vs Cassandra deserialize only:  {jw / evs:.2f}x wall, {jc / evs:.2f}x CPU")
PY
