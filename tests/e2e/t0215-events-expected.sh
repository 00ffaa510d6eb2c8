#!/usr/bin/env bash
# Events against the CQL that made each fixture: for the `types` and `ops`
# fixtures of every version, every statement's events from `cdctail replay`
# are those docs/events.md promises for what the statement wrote (op, key,
# clustering, range bounds and their inclusive flags, each cell's value, ts,
# ttl, deleted flag, collection elements, the event's ts), with values
# rendered from the CQL literals by the checker's own rules
# (tests/e2e/events_expect.py, tests/e2e/cqlmodel.py). Then the checker is
# shown to fail: each of a list of one-change mutations of the 5.0 events must
# be reported (tests/e2e/events_selftest.py).
. "$(dirname "$0")/lib.sh"

for v in $(fixture_versions); do
	for name in types ops; do
		case=$TOP/fixtures/$v/$name rel=fixtures/$v/$name
		[ -d "$case" ] || { not_ok "events $rel: no such fixture"; continue; }
		if ! "$CDCTAIL" replay --schema "$case/schema.json" "$case/cdc_raw" >"$TMP/ev-$v-$name" 2>"$TMP/err"; then
			head -5 "$TMP/err"
			not_ok "events $rel: replay failed"
			continue
		fi
		python3 tests/e2e/events_expect.py "$case" "$TMP/ev-$v-$name"
	done
done
# schema changes between writes (fixtures/*/ddl): every write's event, in
# the schema of its time, the cdc = false stretch left out; replay exits 0
for v in $(fixture_versions); do
	case=$TOP/fixtures/$v/ddl rel=fixtures/$v/ddl
	[ -d "$case" ] || { not_ok "events $rel: no such fixture"; continue; }
	"$CDCTAIL" replay --schema "$case/schema.json" "$case/cdc_raw" >"$TMP/ev-$v-ddl" 2>"$TMP/err"
	rc=$?
	check "events $rel: replay exits 0 ($rc): no fault, every table id known" [ $rc = 0 ]
	python3 tests/e2e/ddl_expect.py "$case" "$TMP/ev-$v-ddl"
done
# ... and the checker fails on a lost event, a wrong value, and an event of
# a write made while cdc = false
if [ -s "$TMP/ev-5.0-ddl" ]; then
	sed 5d "$TMP/ev-5.0-ddl" >"$TMP/m1"
	sed 's/"value":"a1"/"value":"zz"/' "$TMP/ev-5.0-ddl" >"$TMP/m2"
	{ cat "$TMP/ev-5.0-ddl"; python3 - fixtures/5.0/ddl <<'PY'
import json, sys
w = [json.loads(l) for l in open(sys.argv[1] + "/workload.jsonl") if '"tracked": false' in l][0]
print(json.dumps({"op": "insert", "keyspace": w["keyspace"], "table": w["table"], "key": w["expect"]["key"], "ts": w["ts"]}))
PY
	} >"$TMP/m3"
	fails=0
	for m in m1 m2 m3; do
		python3 tests/e2e/ddl_expect.py fixtures/5.0/ddl "$TMP/$m" >"$TMP/$m.tap"
		grep -q '^not ok' "$TMP/$m.tap" && fails=$((fails + 1))
	done
	check "events ddl checker: a lost event, a changed value and an event of a cdc = false write are each caught ($fails of 3)" [ $fails = 3 ]
else
	not_ok "events ddl checker: no 5.0 ddl events to mutate"
fi
if [ -s "$TMP/ev-5.0-types" ] && [ -s "$TMP/ev-5.0-ops" ]; then
	python3 tests/e2e/events_selftest.py fixtures/5.0/types "$TMP/ev-5.0-types" fixtures/5.0/ops "$TMP/ev-5.0-ops"
else
	not_ok "events checker self-test: no 5.0 types/ops events to mutate"
fi
