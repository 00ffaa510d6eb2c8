#!/usr/bin/env python3
"""The migration test's checker (tests/e2e/t0700-migration.sh), with the
Python driver only: what it expects comes from Cassandra (the source, read
with CQL) and from the events the loader itself produced (migload.py's log),
never from cdctail's output.

  migcompare.py dump --host A [--host B] --keyspace KS [--consistency ALL] --out F
      every row of movies_by_genre and extras, each regular column with its
      value, WRITETIME and TTL (per element for non-frozen collections and
      UDT fields: Cassandra 5.0), and the read's start and end time
  migcompare.py compare --source F --direct writes.jsonl --target F
      the source dump with the loader's direct-to-Kafka events applied in ts
      order (each of them is newer than every source write) is the expected
      target; prints a JSON summary (rows compared, differences by kind,
      the first few differences); exit 1 when there is a difference
  migcompare.py group-lag --bootstrap B --group G --topic-regex R
      the consumer group's lag (end offset minus committed) summed over the
      topics matching R, one JSON line

TTLs: a source cell's expiry is its read time plus TTL(); a direct event's is
its `expires`; the target's is its read time plus TTL(). They must agree
within the seconds the reads took, plus one (TTL() is whole seconds).
"""
import argparse
import json
import re
import struct
import sys
import time

SIMPLE = {"movies_by_genre": ["title", "director", "country"], "extras": []}
COMPLEX = {"movies_by_genre": {}, "extras": {"tags": "set", "notes": "list", "scores": "map", "credit": "udt"}}
KEYS = {"movies_by_genre": (["genre", "year"], ["rating", "duration"]), "extras": (["id"], ["seq"])}
UDT_FIELDS = ["name", "role"]


def f32(x):
    return struct.unpack("f", struct.pack("f", float(x)))[0]


def rowkey(table, pk, ck):
    if table == "movies_by_genre":
        ck = [f32(ck[0]), ck[1]]
    return json.dumps([table, list(pk), list(ck)], separators=(",", ":"), ensure_ascii=False)


def connect(hosts, cl):
    from cassandra import ConsistencyLevel
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra.policies import RoundRobinPolicy, TokenAwarePolicy
    prof = ExecutionProfile(load_balancing_policy=TokenAwarePolicy(RoundRobinPolicy()), request_timeout=120,
                            consistency_level=getattr(ConsistencyLevel, cl))
    c = Cluster(hosts, execution_profiles={EXEC_PROFILE_DEFAULT: prof}, connect_timeout=30)
    return c, c.connect()


def as_list(x):
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def dump(a):
    """Plain SELECTs. The Python driver cannot decode a list with null items,
    which 5.0 returns for TTL() of a non-frozen collection without TTLs and
    for WRITETIME() of a UDT with a null field (SELECT JSON of them fails on
    the server), so: TTL() of simple columns only, WRITETIME() per element
    of sets, lists and maps, and per UDT field through WRITETIME(u.f) when
    the node takes it (else the UDT's values only: "udt_wt": false)."""
    from cassandra.query import SimpleStatement
    c, s = connect(a.host, a.consistency)
    t0 = time.time()
    rows = {}
    udt_wt = True
    try:
        s.execute(f"SELECT WRITETIME(credit.name) FROM {a.keyspace}.extras LIMIT 1")
    except Exception:  # noqa: BLE001
        udt_wt = False
    for table in ("movies_by_genre", "extras"):
        pk, ck = KEYS[table]
        simple, cx = SIMPLE[table], COMPLEX[table]
        parts = pk + ck + [f"{x}, WRITETIME({x}), TTL({x})" for x in simple]
        for x, kind in cx.items():
            if kind != "udt":
                parts.append(f"{x}, WRITETIME({x})")
            elif udt_wt:
                parts.append(", ".join([x] + [f"WRITETIME({x}.{f})" for f in UDT_FIELDS]))
            else:
                parts.append(x)
        st = SimpleStatement(f"SELECT {', '.join(parts)} FROM {a.keyspace}.{table}", fetch_size=2000)
        for r in s.execute(st, timeout=300):
            now = time.time()
            r = list(r)
            k = rowkey(table, r[:len(pk)], r[len(pk):len(pk) + len(ck)])
            i = len(pk) + len(ck)
            out = {}
            for x in simple:
                v, wt, ttl = r[i], r[i + 1], r[i + 2]
                i += 3
                if v is not None:
                    out[x] = {"v": v, "wt": wt, "exp": None if ttl is None else now + ttl}
            for x, kind in cx.items():
                d = None
                if kind == "udt":
                    v = r[i]
                    fw = dict(zip(UDT_FIELDS, r[i + 1:i + 1 + len(UDT_FIELDS)])) if udt_wt else {}
                    i += 1 + (len(UDT_FIELDS) if udt_wt else 0)
                    if v is not None:
                        present = [f for f in UDT_FIELDS if getattr(v, f) is not None]
                        if present:
                            d = {"udt": {f: [getattr(v, f), fw.get(f)] for f in present}, "n": len(present)}
                    if d is not None:
                        d["nwt"] = len(present)
                else:
                    v, wts = r[i], as_list(r[i + 1])
                    i += 2
                    if kind == "set" and v:
                        d = {"set": {e: w for e, w in zip(sorted(v), wts)}, "n": len(v)}
                    elif kind == "map" and v:
                        d = {"map": {k2: [v[k2], w] for k2, w in zip(sorted(v), wts)}, "n": len(v)}
                    elif kind == "list" and v:
                        d = {"list": [[e, w] for e, w in zip(list(v), wts)], "n": len(v)}
                    if d is not None:
                        d["nwt"] = len(wts)
                if d is not None:
                    out[x] = d
            rows[k] = {"cols": out, "live": True if not out else None}
    t1 = time.time()
    c.shutdown()
    with open(a.out, "w", encoding="utf-8") as f:
        json.dump({"t0": t0, "t1": t1, "udt_wt": udt_wt, "rows": rows}, f, ensure_ascii=False)
    print(json.dumps({"rows": len(rows), "seconds": round(t1 - t0, 2), "udt_writetime": udt_wt}))
    return 0


class Model:
    """The source's rows with the direct events applied on top."""

    def __init__(self, rows):
        self.rows = rows
        self.undecidable = set()

    def row(self, k):
        r = self.rows.get(k)
        if r is None:
            r = self.rows[k] = {"cols": {}, "live": False}
        return r

    def settle(self, k):
        r = self.rows.get(k)
        if r is None or r["cols"] or r["live"]:
            self.undecidable.discard(k)
            return
        if r["live"] is None:  # a source row whose key liveness CQL cannot show
            self.undecidable.add(k)
        else:
            del self.rows[k]

    def apply(self, ev):
        t, ts = ev["table"], ev["ts"]
        pk = [ev["key"][c] for c in KEYS[t][0]]
        ckn = KEYS[t][1]
        op = ev["op"]
        if op in ("delete_partition", "delete_range"):
            pkj = json.dumps(list(pk), separators=(",", ":"), ensure_ascii=False)
            for k in list(self.rows):
                kt, kp, kc = json.loads(k)
                if kt != t or json.dumps(kp, separators=(",", ":"), ensure_ascii=False) != pkj:
                    continue
                if op == "delete_range":
                    s, e = ev["start"], ev["end"]
                    r = f32(s["clustering"]["rating"])
                    if kc[0] != r:
                        continue
                    if "duration" in s["clustering"] and not kc[1] > s["clustering"]["duration"]:
                        continue
                    assert "duration" not in e["clustering"]
                del self.rows[k]
                self.undecidable.discard(k)
            return
        k = rowkey(t, pk, [ev["clustering"][c] for c in ckn])
        if op == "delete_row":
            self.rows.pop(k, None)
            self.undecidable.discard(k)
            return
        r = self.row(k)
        if op == "insert":
            r["live"] = True
        for name, cell in ev.get("cells", {}).items():
            kind = COMPLEX[t].get(name)
            if cell.get("deleted"):
                r["cols"].pop(name, None)
                continue
            if kind is None:
                r["cols"][name] = {"v": cell["value"], "wt": ts, "exp": cell.get("expires")}
                continue
            if "value" in cell:  # a whole value: the column overwritten
                r["cols"].pop(name, None)
                v = cell["value"]
                if kind == "set":
                    d = {"set": {e: ts for e in v}}
                elif kind == "map":
                    d = {"map": {kv[0]: [kv[1], ts] for kv in v}}
                elif kind == "list":
                    d = {"list": [[e, ts] for e in v]}
                else:
                    d = {"udt": {f: [v[f], ts] for f in UDT_FIELDS if v.get(f) is not None}}
                if next(iter(d.values())):
                    r["cols"][name] = d
                continue
            col = r["cols"].setdefault(name, {kind: {} if kind != "list" else []})
            body = col[kind]
            for el in cell["elements"]:
                if kind == "set":
                    if el.get("deleted"):
                        body.pop(el["value"], None)
                    else:
                        body[el["value"]] = ts
                elif kind == "map":
                    if el.get("deleted"):
                        body.pop(el["key"], None)
                    else:
                        body[el["key"]] = [el["value"], ts]
                elif kind == "list":
                    body.append([el["value"], ts])
                else:
                    if el.get("deleted"):
                        body.pop(el["field"], None)
                    else:
                        body[el["field"]] = [el["value"], ts]
            if not body:
                del r["cols"][name]
        self.settle(k)


def canon(col):
    """A column without its expiry and without the counts, for comparing."""
    c = {x: y for x, y in col.items() if x not in ("exp", "n", "nwt")}
    return json.dumps(c, sort_keys=True, ensure_ascii=False)


def compare(a):
    src = json.load(open(a.source, encoding="utf-8"))
    tgt = json.load(open(a.target, encoding="utf-8"))
    m = Model(src["rows"])
    n_direct = 0
    events = []
    with open(a.direct, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("via") != "kafka":
                continue
            if rec.get("failed"):
                print(json.dumps({"error": "a direct write failed", "rec": rec}))
                return 1
            events.append(rec["event"])
    events.sort(key=lambda e: e["ts"])
    for ev in events:
        m.apply(ev)
        n_direct += 1
    # the slack: how long each read took, plus one second (TTL() is whole seconds)
    slack = (src["t1"] - src["t0"]) + (tgt["t1"] - tgt["t0"]) + 2
    diffs = {"missing_rows": 0, "extra_rows": 0, "values": 0, "writetime": 0, "ttl": 0, "wt_count": 0}
    first = []
    compared = 0
    cells = 0

    def note(kind, k, detail):
        diffs[kind] += 1
        if len(first) < 12:
            first.append({"kind": kind, "row": k, **detail})

    tr = tgt["rows"]
    if not (src.get("udt_wt", True) and tgt.get("udt_wt", True)):
        for rows in (m.rows, tr):
            for r in rows.values():
                u = r["cols"].get("credit")
                if u and "udt" in u:
                    u["udt"] = {f: [v[0], None] for f, v in u["udt"].items()}
    for k in sorted(set(m.rows) | set(tr)):
        if k in m.undecidable:
            continue
        e, g = m.rows.get(k), tr.get(k)
        if e is None:
            note("extra_rows", k, {"target": g})
            continue
        if g is None:
            note("missing_rows", k, {"expected": e})
            continue
        compared += 1
        for name in sorted(set(e["cols"]) | set(g["cols"])):
            ec, gc = e["cols"].get(name), g["cols"].get(name)
            cells += 1
            if ec is None or gc is None:
                note("values", k, {"column": name, "expected": ec, "target": gc})
                continue
            if gc.get("n") is not None and gc["n"] != gc["nwt"] and "udt" not in gc:
                note("wt_count", k, {"column": name, "target": gc})
            if canon(ec) != canon(gc):
                # a value or only a write time?
                def strip(c):
                    if "v" in c:
                        return json.dumps(c["v"], ensure_ascii=False)
                    kind = next(x for x in c if x in ("set", "map", "list", "udt"))
                    b = c[kind]
                    if kind == "set":
                        return json.dumps(sorted(b), ensure_ascii=False)
                    if kind == "list":
                        return json.dumps([x[0] for x in b], ensure_ascii=False)
                    return json.dumps({x: y[0] for x, y in sorted(b.items())}, ensure_ascii=False)
                kind = "values" if strip(ec) != strip(gc) else "writetime"
                note(kind, k, {"column": name, "expected": ec, "target": gc})
                continue
            ee, ge = ec.get("exp"), gc.get("exp")
            if (ee is None) != (ge is None) or (ee is not None and abs(ee - ge) > slack):
                note("ttl", k, {"column": name, "expected_expiry": ee, "target_expiry": ge, "slack_s": round(slack, 1)})
    total = sum(diffs.values())
    print(json.dumps({"source_rows": len(src["rows"]), "direct_events": n_direct, "expected_rows": len(m.rows),
                      "target_rows": len(tr), "rows_compared": compared, "cells_compared": cells,
                      "undecidable_rows": len(m.undecidable), "differences": total, "by_kind": diffs,
                      "first": first}, ensure_ascii=False, default=str))
    return 1 if total else 0


def group_lag(a):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": a.group, "enable.auto.commit": False})
    rx = re.compile(a.topic_regex)
    md = c.list_topics(timeout=10)
    tps = [TopicPartition(t, p) for t, tm in md.topics.items() if rx.search(t) for p in tm.partitions]
    lag = 0
    end = 0
    for tp in c.committed(tps, timeout=10):
        lo, hi = c.get_watermark_offsets(tp, timeout=10, cached=False)
        end += hi
        lag += hi - (tp.offset if tp.offset >= 0 else lo)
    c.close()
    print(json.dumps({"partitions": len(tps), "end_offsets": end, "lag": lag}))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--host", action="append", required=True)
    d.add_argument("--keyspace", required=True)
    d.add_argument("--consistency", default="ONE")
    d.add_argument("--out", required=True)
    c = sub.add_parser("compare")
    c.add_argument("--source", required=True)
    c.add_argument("--direct", required=True)
    c.add_argument("--target", required=True)
    g = sub.add_parser("group-lag")
    g.add_argument("--bootstrap", required=True)
    g.add_argument("--group", required=True)
    g.add_argument("--topic-regex", required=True)
    a = ap.parse_args()
    return {"dump": dump, "compare": compare, "group-lag": group_lag}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
