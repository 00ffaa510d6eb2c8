"""Events of the `ddl` fixture against the statements that made them.

Usage: ddl_expect.py CASE_DIR EVENTS.jsonl

Every write of CASE_DIR/workload.jsonl (scripts/fixtures/workloads.py,
ddl_statements) says what its event must hold: table, key, clustering value
(under the clustering column's name then, or a later one after a RENAME),
the cells it set, and whether Cassandra tracked it for CDC (not while the
table had cdc = false). Cells of a column dropped later are gone (their
timestamp is not after the drop, schema.json's dropped_columns), as
Cassandra reads them. Prints one TAP line per kind of check."""
import json
import sys


def elements(cell):
    """The values of a non-frozen collection's or UDT's elements, in order:
    a list, or a dict by field name for a UDT."""
    els = cell.get("elements", [])
    if els and "field" in els[0]:
        return {e["field"]: e.get("value") for e in els if not e.get("deleted")}
    return [e.get("value") for e in els if not e.get("deleted")]


def cell_value(cell):
    return cell["value"] if "value" in cell else elements(cell)


def main():
    case, events_path = sys.argv[1], sys.argv[2]
    rel = case.rstrip("/").split("fixtures/", 1)[-1]
    schema = json.load(open(case + "/schema.json"))
    dropped = {}
    for t in schema["tables"]:
        for d in t.get("dropped_columns", []):
            dropped[(t["keyspace"], t["table"], d["name"])] = max(dropped.get((t["keyspace"], t["table"], d["name"]), 0),
                                                                  d["dropped_time"])
    events = [json.loads(l) for l in open(events_path)]
    by_ts = {}
    for e in events:
        by_ts.setdefault(e["ts"], []).append(e)
    writes = [json.loads(l) for l in open(case + "/workload.jsonl")]
    writes = [w for w in writes if w["shape"] == "write"]
    bad, tracked, untracked = [], 0, 0
    for w in writes:
        got = [e for e in by_ts.get(w["ts"], []) if e["keyspace"] == w["keyspace"] and e["table"] == w["table"]]
        x = w["expect"]
        if not w["tracked"]:
            untracked += 1
            if got:
                bad.append("%s: written while cdc = false, yet %d event(s)" % (w["cql"], len(got)))
            continue
        tracked += 1
        if len(got) != 1:
            bad.append("%s: %d events (want 1)" % (w["cql"], len(got)))
            continue
        e = got[0]
        if e["key"] != x["key"]:
            bad.append("%s: key %s (want %s)" % (w["cql"], e["key"], x["key"]))
        if x["clustering"] is not None:
            ck = e.get("clustering", {})
            names = [n for n in ck if n in x["clustering_names"]]
            if len(ck) != 1 or not names or ck[names[0]] != x["clustering"]:
                bad.append("%s: clustering %s (want %s under one of %s)" % (w["cql"], ck, x["clustering"],
                                                                          x["clustering_names"]))
        if bool(e.get("static")) != bool(x["static"]):
            bad.append("%s: static %s (want %s)" % (w["cql"], e.get("static"), x["static"]))
        want = {n: v for n, v in x["cells"].items()
                if not w["ts"] <= dropped.get((w["keyspace"], w["table"], n), -1)}
        have = {n: cell_value(c) for n, c in e.get("cells", {}).items()}
        if have != want:
            bad.append("%s: cells %s (want %s)" % (w["cql"], have, want))
        for n, c in e.get("cells", {}).items():
            if c.get("ts", w["ts"]) != w["ts"] and not c.get("elements"):
                bad.append("%s: cell %s ts %s (want %s)" % (w["cql"], n, c.get("ts"), w["ts"]))
    stray = len(events) - tracked
    for b in bad[:10]:
        print("# " + b)
    ddl = [w["cql"] for w in [json.loads(l) for l in open(case + "/workload.jsonl")] if w["shape"] == "ddl"]
    print("%s - events %s: each of the %d writes tracked for CDC has its event with the table, key, clustering "
          "and cells the CQL wrote, across %d schema changes (ALTER TABLE ADD/DROP/RENAME/WITH cdc, ALTER TYPE ADD, "
          "CREATE/DROP TABLE, CREATE/DROP KEYSPACE)" % ("ok" if not bad else "not ok", rel, tracked, len(ddl)))
    print("%s - events %s: the %d writes made while the table had cdc = false have none, and no other event "
          "(%d extra)" % ("ok" if untracked and stray == 0 and not any("cdc = false" in b for b in bad) else "not ok",
                          rel, untracked, stray))


main()
