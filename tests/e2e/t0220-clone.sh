#!/usr/bin/env bash
# A clone equals its source: a real Cassandra 5.0 runs the seed workload and
# collection/static/UDT statements; `cdctail replay` reads its live cdc_raw;
# every event's cql is applied to a fresh keyspace; SELECT *, WRITETIME and TTL
# agree (tests/e2e/clone_check.py).
. "$(dirname "$0")/lib.sh"
PY=$(scripts/deps.sh --python)
ADDR=${CLONE_ADDR:-127.0.0.1}
dir=$TMP/cass
if ! scripts/cassandra.sh start --version "${CLONE_VERSION:-5.0}" --dir "$dir" --addr "$ADDR" >"$TMP/start.log" 2>&1; then
	cat "$TMP/start.log"
	not_ok "clone: could not start Cassandra on $ADDR"
	exit 0
fi
at_exit "scripts/cassandra.sh stop --dir '$dir'"
"$PY" tests/e2e/clone_check.py "$CDCTAIL" "$ADDR" "$dir/cdc_raw" "$TMP"
