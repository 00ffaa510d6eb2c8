#!/usr/bin/env bash
# Entries `cdctail run` cannot deliver are kept, never deleted, and can be
# sent later (docs/run.md, "Skipped entries"), without services: the `ddl`
# fixture of 5.0 (a real segment with schema changes between writes) read
# with a schema file from before those changes (t's columns a, l, st, u, nu
# and the table t2 removed, so that the entries that use them cannot be
# decoded), JSON lines to a file. Checks: `replay` with that file exits 1
# naming table and column; `run` records each such entry in
# quarantine_dir/<segment>.skipped with its offset and a reason that names
# the table and column and says the file is older than the segment, logs
# each with file and offset, and delivers the others; the segment, once
# COMPLETED and delivered, is moved to quarantine_dir with its idx, not
# kept or archived although delete_consumed = false and an archive_dir are
# set, and cleanup leaves it there; `cdctail replay --skipped` with the
# full schema sends exactly the skipped entries' events, which with run's
# are replay's of the whole segment.
. "$(dirname "$0")/lib.sh"

fx=fixtures/5.0/ddl
seg=$(ls $fx/cdc_raw/CommitLog-*.log | head -1)
name=$(basename "$seg")
idx=${seg%.log}_cdc.idx
python3 - "$fx/schema.json" "$TMP/old.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for t in d["tables"]:
    if t["keyspace"] == "ddl" and t["table"] == "t":
        t["columns"] = [c for c in t["columns"] if c["name"] not in ("a", "l", "st", "u", "nu")]
d["tables"] = [t for t in d["tables"] if not (t["keyspace"] == "ddl" and t["table"] == "t2")]
json.dump(d, open(sys.argv[2], "w"))
PY
"$CDCTAIL" replay --schema "$fx/schema.json" --node n1 "$seg" >"$TMP/all.jsonl" 2>/dev/null
"$CDCTAIL" replay --schema "$TMP/old.json" "$seg" >/dev/null 2>"$TMP/old-replay.err"
rc=$?
check "replay with a schema file older than the segment exits 1 ($rc), naming table and column: $(grep -m1 -o "table ddl.t: column '[a-z]*'.*" "$TMP/old-replay.err" | cut -c1-160)" \
	sh -c "[ $rc = 1 ] && grep -q \"(table ddl.t: column 'a' is not in the schema.*the schema file is older than the segment (export it again\" '$TMP/old-replay.err'"

raw=$TMP/raw state=$TMP/state q=$TMP/state/quarantine
mkdir -p "$raw" "$TMP/archive"
cp "$seg" "$idx" "$raw/"
{
	echo "cdc_raw = $raw"
	echo "state_dir = $state"
	echo "schema = $TMP/old.json"
	echo "output = $TMP/out-run.jsonl"
	echo "node = n1"
	echo "rescan_interval = 200ms"
	echo "checkpoint_interval = 100ms"
	echo "archive_dir = $TMP/archive"
	echo "delete_consumed = false"
} >"$TMP/run.conf"
"$CDCTAIL" run --config "$TMP/run.conf" 2>"$TMP/run.log" &
pid=$!
for i in $(seq 1 100); do [ -f "$q/$name" ] && break; sleep 0.1; done
kill -TERM $pid
wait $pid
trc=$?
# the entries whose events use what the old schema lacks (by replay's events)
want=$(python3 - "$TMP/all.jsonl" "$TMP/old.json" <<'PY'
import json, sys
old = json.load(open(sys.argv[2]))
cols = {(t["keyspace"], t["table"]): {c["name"] for c in t["columns"]} for t in old["tables"]}
offs = set()
for l in open(sys.argv[1]):
    e = json.loads(l)
    have = cols.get((e["keyspace"], e["table"]))
    if have is None or not set(e.get("cells", {})) <= have:
        offs.add(e["source"]["offset"])
print(len(offs))
PY
)
got=$(wc -l <"$q/$name.skipped" 2>/dev/null || echo 0)
check "run: $got skipped entries recorded in quarantine_dir/$name.skipped (the $want whose events use what the old schema lacks), each naming table and column and the file being older" \
	python3 - "$q/$name.skipped" "$want" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
ok = len(recs) == int(sys.argv[2]) > 0 and all(r["segment"].startswith("CommitLog-") and r["end"] > r["offset"] > 0 and
     "older than the segment" in r["reason"] and ("column '" in r["reason"] or "table " in r["reason"]) for r in recs)
print("# first: %s" % (recs[0]["reason"][:150] if recs else "-"))
sys.exit(0 if ok else 1)
PY
logged=$(grep -c "$name: entry at offset [0-9]*: .*not delivered: recorded in $q" "$TMP/run.log")
check "run: each skipped entry was logged with its file and offset ($logged)" [ "$logged" = "$got" ]
check "run: the segment and its idx are in quarantine_dir, neither in cdc_raw nor in the archive, although delete_consumed = false and archive_dir is set (exit $trc)" \
	sh -c "[ -f '$q/$name' ] && [ -f '$q/$(basename "$idx")' ] && [ ! -e '$raw/$name' ] && [ ! -e '$TMP/archive/$name' ] && [ $trc = 0 ]"
"$CDCTAIL" cleanup --cdc-raw "$raw" --state-dir "$state" >"$TMP/cleanup.out" 2>"$TMP/cleanup.err"
crc=$?
check "cleanup afterwards (exit $crc) leaves the quarantine alone" sh -c "[ $crc = 0 ] && [ -f '$q/$name' ] && [ -f '$q/$name.skipped' ]"
# the recovery: the skipped entries only, with the schema that has them
"$CDCTAIL" replay --schema "$fx/schema.json" --node n1 --skipped "$q/$name" >"$TMP/recovered.jsonl" 2>"$TMP/rec.err"
rrc=$?
check "replay --skipped (exit $rrc) sends exactly the skipped entries' events: with run's, they are replay's of the whole segment ($(wc -l <"$TMP/recovered.jsonl") recovered + $(wc -l <"$TMP/out-run.jsonl") delivered = $(wc -l <"$TMP/all.jsonl"))" \
	python3 - "$TMP/all.jsonl" "$TMP/out-run.jsonl" "$TMP/recovered.jsonl" "$rrc" "$q/$name.skipped" <<'PY'
import json, sys
allev = [l for l in open(sys.argv[1])]
run, rec = [l for l in open(sys.argv[2])], [l for l in open(sys.argv[3])]
skipped = {json.loads(l)["offset"] for l in open(sys.argv[5])}
ok = sys.argv[4] == "0" and sorted(run + rec) == sorted(allev) and rec and \
     all(json.loads(l)["source"]["offset"] in skipped for l in rec)
sys.exit(0 if ok else 1)
PY
