#!/usr/bin/env bash
# `cdctail replay` on every fixture: no fault; every line is a JSON event with
# the documented fields; every event's ts is a USING TIMESTAMP of a statement
# of the workload, and every USING TIMESTAMP of a statement on a cdc table
# (counters aside: they cannot carry one) produced at least one event with
# that ts: a batch whose statements carry their own (the ops case's range
# pairs) has one per statement, and no fixture statement is wholly shadowed;
# every id is the XXH3-64 of the event text before it (computed by the
# Python xxhash package, not by cdctail).
. "$(dirname "$0")/lib.sh"
PY=$(scripts/deps.sh --python)

for case in "$TOP"/fixtures/*/*/; do
	case=${case%/}; rel=${case#"$TOP"/}
	"$CDCTAIL" replay --schema "$case/schema.json" "$case/cdc_raw" >"$TMP/ev" 2>"$TMP/err"
	rc=$?
	if [ $rc -ne 0 ]; then
		grep -v 'not in the schema' "$TMP/err" | head -5
		not_ok "replay $rel: exit $rc"
		continue
	fi
	"$PY" - "$case" "$TMP/ev" <<'PY'
import json, re, sys, xxhash
case, evf = sys.argv[1], sys.argv[2]
schema = json.load(open(f"{case}/schema.json"))
cdc = {(t["keyspace"], t["table"]) for t in schema["tables"] if t["cdc"]}
stmts = [json.loads(l) for l in open(f"{case}/workload.jsonl", encoding="utf-8")]
want = {}
for s in stmts:
    # a write made while its table had cdc = false is not tracked by Cassandra
    if (s["keyspace"], s["table"]) in cdc and s.get("tracked", True):
        for ts in re.findall(r"USING TIMESTAMP (-?\d+)", s["cql"]):
            want.setdefault(int(ts), s)
bad, seen, n = [], set(), 0
for line in open(evf, encoding="utf-8"):
    e = json.loads(line); n += 1
    cut = line.find(',"id":"')
    if cut < 0 or e.get("id") != xxhash.xxh3_64_hexdigest(line[:cut].encode("utf-8")):
        bad.append(f"id is not XXH3-64 of the text before it: {line[:120]}")
    for f in ("op", "keyspace", "table", "key", "ts", "cql", "id", "source"):
        if f not in e:
            bad.append(f"missing {f}: {line[:120]}")
    if e["op"] not in ("insert", "update", "delete_cells", "delete_row", "delete_range", "delete_partition"):
        bad.append(f"op {e['op']}")
    if (e["keyspace"], e["table"]) not in cdc:
        bad.append(f"event of a table without cdc: {e['table']}")
    if e["table"] != "counters":
        if e["ts"] in want:
            seen.add(e["ts"])
        elif e["ts"] - 1 not in want:   # a collection overwrite's deletion is at ts - 1
            bad.append(f"ts {e['ts']} is no statement's: {line[:160]}")
missing = [s for t, s in want.items() if t not in seen]
for b in bad[:5] + [f"no event for: {s['cql']}" for s in missing[:5]]:
    print("#", b)
print(f"{'not ok' if bad or missing else 'ok'} - replay {case.split('fixtures/')[1]}: {n} events, {len(want)} statement timestamps of cdc tables all seen, ids are XXH3-64")
PY
done
