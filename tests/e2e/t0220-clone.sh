#!/usr/bin/env bash
# A clone equals its source: a real Cassandra (5.0, then 4.1: CLONE_VERSION,
# a list) runs the seed workload, collection/static/UDT statements, every CQL
# type and the ops element operations and range boundaries; `cdctail replay`
# reads its live cdc_raw; every event's cql is applied to a fresh keyspace;
# SELECT *, WRITETIME and TTL agree (tests/e2e/clone_check.py; on 5.0 also
# WRITETIME/TTL of non-frozen collections and UDTs). One node at a time, on
# CLONE_ADDR.
. "$(dirname "$0")/lib.sh"
PY=$(scripts/deps.sh --python)
ADDR=${CLONE_ADDR:-127.0.0.1}
for v in ${CLONE_VERSION:-5.0 4.1}; do
	dir=$TMP/cass-$v
	at_exit "scripts/cassandra.sh stop --dir '$dir'"
	if ! scripts/cassandra.sh start --version "$v" --dir "$dir" --addr "$ADDR" >"$TMP/start-$v.log" 2>&1; then
		cat "$TMP/start-$v.log"
		not_ok "clone $v: could not start Cassandra on $ADDR"
		scripts/cassandra.sh stop --dir "$dir"
		continue
	fi
	t0=$(date +%s)
	"$PY" tests/e2e/clone_check.py "$CDCTAIL" "$ADDR" "$dir/cdc_raw" "$TMP" || not_ok "clone $v: clone_check.py exited $? (see above)"
	echo "# clone $v: $(($(date +%s) - t0)) s after the node was up"
	scripts/cassandra.sh stop --dir "$dir"
done
