#!/usr/bin/env bash
# `cdctail replay --since/--until/--keyspace/--table`: the window cuts exactly
# at the write timestamp (checked against the fixture's own statements, not
# against unfiltered output): no event outside [since, until), and every cdc
# statement inside it has its event; table filters keep only that table.
. "$(dirname "$0")/lib.sh"

for case in 5.0/seed 4.1/seed 4.0/seed 5.0/types; do
	fx=fixtures/$case
	read -r lo mid hi < <(python3 -c '
import json, sys
ts = sorted(s["ts"] for s in map(json.loads, open(sys.argv[1])) if s["ts"] is not None)
print(ts[0], ts[len(ts) // 2], ts[3 * len(ts) // 4])' "$fx/workload.jsonl")
	iso=$(python3 -c 'import datetime, sys; t = int(sys.argv[1]); print(datetime.datetime.fromtimestamp(t // 10**6, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % (t % 10**6))' "$mid")
	for since in "$mid" "$iso"; do
		"$CDCTAIL" replay --schema "$fx/schema.json" --since "$since" --until "$hi" "$fx/cdc_raw" >"$TMP/ev" 2>"$TMP/err"
		rc=$?
		python3 - "$fx" "$TMP/ev" "$mid" "$hi" "$rc" "$since" <<'PY'
import json, sys
fx, evf, lo, hi, rc, arg = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
schema = json.load(open(f"{fx}/schema.json"))
cdc = {(t["keyspace"], t["table"]) for t in schema["tables"] if t["cdc"]}
want = {s["ts"] for s in map(json.loads, open(f"{fx}/workload.jsonl"))
        if s["ts"] is not None and lo <= s["ts"] < hi and (s["keyspace"], s["table"]) in cdc and s["table"] != "counters"}
ev = [json.loads(l) for l in open(evf)]
outside = [e["ts"] for e in ev if not lo <= e["ts"] < hi]
seen = {e["ts"] for e in ev}
missing = want - seen
ok = rc == 0 and not outside and not missing and want
print(f"{'ok' if ok else 'not ok'} - replay {fx[9:]} --since {arg} --until {hi}: {len(ev)} events, "
      f"{len(outside)} outside the window, {len(missing)} of {len(want)} statements in it missing, exit {rc}")
PY
	done
	"$CDCTAIL" replay --schema "$fx/schema.json" --table "${case#*/}.nosuch" "$fx/cdc_raw" >"$TMP/ev" 2>/dev/null
	check "replay $case --table of another table: no events" [ ! -s "$TMP/ev" ]
done
fx=fixtures/5.0/seed
"$CDCTAIL" replay --schema "$fx/schema.json" --table seed.movies_by_genre_desc "$fx/cdc_raw" >"$TMP/ev" 2>/dev/null
check "replay --table seed.movies_by_genre_desc keeps that table only" python3 -c '
import json, sys
t = {json.loads(l)["table"] for l in open(sys.argv[1])}
sys.exit(0 if t == {"movies_by_genre_desc"} else 1)' "$TMP/ev"
"$CDCTAIL" replay --schema "$fx/schema.json" --since 2024-13-01 "$fx/cdc_raw" >/dev/null 2>"$TMP/err"
check "replay --since with a bad date: exit 2 and says why" sh -c "[ $? -eq 2 ] && grep -q 'ISO 8601' '$TMP/err'"
