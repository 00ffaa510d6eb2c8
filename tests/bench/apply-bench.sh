#!/usr/bin/env bash
# Throughput of `cdctail apply` (the release build, ./cdctail) into a real
# Cassandra 5.0 on this machine: N synthetic update events (two cells, one
# with a TTL) of distinct rows, read from a JSON-lines file, applied with the
# defaults (prepared statements, 128 requests in flight, LOCAL_QUORUM).
# Prints events/s. With LIST=1 the events are list appends instead (one
# element each, to 1000 rows), applied once each through the id record.
# Run under the services lock:
#   flock /tmp/cdctail-services.lock [env LIST=1] tests/bench/apply-bench.sh [N]
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
N=${1:-100000}
ADDR=${APPLY_BENCH_ADDR:-127.0.0.14}
PY=$(scripts/deps.sh --python)
TMP=$(mktemp -d /tmp/apply-bench.XXXXXX)
trap 'scripts/cassandra.sh stop --dir "$TMP/cass" >/dev/null 2>&1; rm -rf "$TMP"' EXIT
scripts/cassandra.sh start --version 5.0 --dir "$TMP/cass" --addr "$ADDR" >"$TMP/c.log" 2>&1 || { tail "$TMP/c.log"; exit 1; }
"$PY" scripts/cql.py --host "$ADDR" -e "CREATE KEYSPACE b WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}" \
	-e "CREATE TABLE b.t (k int, c int, v text, n int, PRIMARY KEY (k, c))" \
	-e "CREATE TABLE b.l (k int PRIMARY KEY, l list<int>)" >/dev/null || exit 1
python3 - "$N" "${LIST:-0}" >"$TMP/ev.jsonl" <<'PY'
import sys, time
n, ts = int(sys.argv[1]), int(time.time() * 1e6)
exp = int(time.time()) + 3600
for i in range(n):
    if sys.argv[2] == "1":
        print('{"op":"update","keyspace":"b","table":"l","key":{"k":%d},"cells":{"l":{"elements":[{"ts":%d,"value":%d}]}},'
              '"list_append":true,"ts":%d,"id":"%016x"}' % (i % 1000, ts + i, i, ts + i, i))
        continue
    print('{"op":"update","keyspace":"b","table":"t","key":{"k":%d},"clustering":{"c":%d},'
          '"cells":{"v":{"ts":%d,"value":"value-%d"},"n":{"ts":%d,"ttl":3600,"expires":%d,"value":%d}},'
          '"ts":%d,"id":"%016x"}' % (i % 5000, i // 5000, ts + i, i, ts + i, exp, i, ts + i, i))
PY
t0=$(date +%s%N)
./cdctail apply --state-dir "$TMP/st" --host "$ADDR" "$TMP/ev.jsonl" 2>"$TMP/err"
rc=$?
t1=$(date +%s%N)
tail -1 "$TMP/err"
if [ "${LIST:-0}" = 1 ]; then
	got=$("$PY" scripts/cql.py --host "$ADDR" -e "SELECT l FROM b.l" 2>/dev/null | grep -o '[0-9]\+' | wc -l)
else
	got=$("$PY" scripts/cql.py --host "$ADDR" -e "SELECT count(*) FROM b.t" 2>/dev/null | grep -o '[0-9]\+' | tail -1)
fi
ms=$(( (t1 - t0) / 1000000 ))
echo "apply: $N events in $ms ms (exit $rc, start-up included): $(( N * 1000 / (ms ? ms : 1) )) events/s; rows (LIST=1: list elements) on the target: $got"
