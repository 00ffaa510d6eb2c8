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
if [ -s "$TMP/ev-5.0-types" ] && [ -s "$TMP/ev-5.0-ops" ]; then
	python3 tests/e2e/events_selftest.py fixtures/5.0/types "$TMP/ev-5.0-types" fixtures/5.0/ops "$TMP/ev-5.0-ops"
else
	not_ok "events checker self-test: no 5.0 types/ops events to mutate"
fi
