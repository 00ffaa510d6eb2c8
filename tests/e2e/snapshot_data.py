#!/usr/bin/env python3
"""tests/e2e/snapshot_data.py - the data of the snapshot tests (t0600, t0601),
and the checks of what `cdctail snapshot` made of it.

  load --host H --out EXPECTED.json [--big N]
      creates keyspace snap (its tables below) and writes rows with known
      values, write timestamps (USING TIMESTAMP) and TTLs; EXPECTED.json
      holds, for every row and static row, every cell as the CQL wrote it
      (value as docs/events.md renders it, ts, TTL) - computed here from what
      was written, never read back.
  verify --expected EXPECTED.json --events FILE --start US --version 5.0|4.1
      checks every event against EXPECTED.json: one event per row (and per
      static row), no other; op; every cell's value, ts and TTL (4.1: the
      elements of non-frozen collections and UDTs at START - 1, no TTL: 4.1
      refuses WRITETIME/TTL on them); the row's liveness (ts, ttl); the id;
      source.snapshot and source.snapshot_start.
  apply --host H --events FILE --version V --start US
      runs every event's cql against a copy of the keyspace (snapcopy) and
      compares both keyspaces through CQL: every row, every value, every
      WRITETIME (5.0: per element too), every TTL (which restarts when
      replayed: the copy's exceeds the source's by at most the seconds since
      START, the snapshot's start).
  crosscheck --snapshot FILE --changes FILE --version V [--min N]
      rows written by one INSERT (no TTL, never changed again) have the same
      event text from the snapshot as from `cdctail replay` of the node's
      cdc_raw, up to the source: the same id.
  tokens --host H --table T --out FILE
      token(k) of every k of table T (for the resume checks).

Prints TAP lines ("ok - ..." / "not ok - ...").
"""
import argparse, json, sys, time, uuid

KS = "snap"
T0 = 1750000000000000  # base write time (µs)

SCHEMA = [
    "CREATE KEYSPACE {ks} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}",
    "CREATE TYPE {ks}.addr (street text, no int)",
    "CREATE TABLE {ks}.plain (k int, c text, v text, n bigint, d double, b blob, f boolean, u uuid, "
    "PRIMARY KEY (k, c)) WITH cdc = true",
    "CREATE TABLE {ks}.coll (k int, c int, s text static, s2 int static, l list<int>, st set<text>, "
    "m map<text, int>, u addr, fu frozen<addr>, fl frozen<list<int>>, tp tuple<int, text>, v int, "
    "PRIMARY KEY (k, c))",
    "CREATE TABLE {ks}.multi (a int, b text, c int, d int, v int, PRIMARY KEY ((a, b), c, d)) "
    "WITH CLUSTERING ORDER BY (c DESC, d ASC)",
    "CREATE TABLE {ks}.cnt (k int PRIMARY KEY, n counter)",
    "CREATE TABLE {ks}.big (k int PRIMARY KEY, v text)",
]
COMPLEX = {("coll", "l"), ("coll", "st"), ("coll", "m"), ("coll", "u")}


def ok(good, msg):
    print(("ok - " if good else "not ok - ") + msg)
    return good


def session(host):
    from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
    from cassandra.policies import WhiteListRoundRobinPolicy
    prof = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([host]), request_timeout=60)
    c = Cluster([host], execution_profiles={EXEC_PROFILE_DEFAULT: prof}, protocol_version=4)
    return c, c.connect()


def run_all(s, stmt, args):
    from cassandra.concurrent import execute_concurrent_with_args
    for good, r in execute_concurrent_with_args(s, stmt, args, concurrency=64, raise_on_first_error=True):
        pass


def cell(value, ts, ttl):
    return {"value": value, "ts": ts, "ttl": ttl or None}


def load(a):
    c, s = session(a.host)
    for q in SCHEMA:
        s.execute(q.format(ks=KS))
    rows = []  # {"table", "key", "clustering" | "static", "cells"}
    t_write = time.time()

    # plain: simple columns; some rows expiring, some updated later, some
    # with a cell deleted later, some with only their primary key
    ins = s.prepare("INSERT INTO snap.plain (k, c, v, n, d, b, f, u) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                    "USING TIMESTAMP ? AND TTL ?")
    pk_only = s.prepare("INSERT INTO snap.plain (k, c) VALUES (?, ?) USING TIMESTAMP ?")
    upd = s.prepare("UPDATE snap.plain USING TIMESTAMP ? SET v = ? WHERE k = ? AND c = ?")
    dele = s.prepare("DELETE n FROM snap.plain USING TIMESTAMP ? WHERE k = ? AND c = ?")
    a_ins, a_pk, a_upd, a_del = [], [], [], []
    for i in range(a.plain):
        k, ck, ts = i % 97, "c%05d" % i, T0 + i * 10
        if i % 7 == 0:
            a_pk.append((k, ck, ts))
            rows.append({"table": "plain", "key": {"k": k}, "clustering": {"c": ck}, "cells": {}})
            continue
        ttl = 100000 + i if i % 3 == 0 else 0
        v = "v%d \u00fc'q" % i
        n, d, b, f, u = i * 1000003 - 500000000, i + 0.25, bytes([i % 256, 7]), i % 2 == 0, uuid.uuid5(uuid.NAMESPACE_OID, str(i))
        a_ins.append((k, ck, v, n, d, b, f, u, ts, ttl))
        cells = {"v": cell(v, ts, ttl), "n": cell(n, ts, ttl), "d": cell(d, ts, ttl),
                 "b": cell("0x" + b.hex(), ts, ttl), "f": cell(f, ts, ttl), "u": cell(str(u), ts, ttl)}
        if i % 5 == 0:
            a_upd.append((ts + 5, "upd%d" % i, k, ck))
            cells["v"] = cell("upd%d" % i, ts + 5, 0)
        if i % 11 == 0:
            a_del.append((ts + 3, k, ck))
            del cells["n"]
        rows.append({"table": "plain", "key": {"k": k}, "clustering": {"c": ck}, "cells": cells})
    run_all(s, ins, a_ins)
    run_all(s, pk_only, a_pk)
    run_all(s, upd, a_upd)
    run_all(s, dele, a_del)

    # coll: non-frozen list, set, map, UDT written by an INSERT and grown by
    # an UPDATE at another time (with another TTL); frozen ones; statics
    ins = s.prepare("INSERT INTO snap.coll (k, c, l, st, m, u, fu, fl, tp, v) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "USING TIMESTAMP ? AND TTL ?")
    grow = s.prepare("UPDATE snap.coll USING TIMESTAMP ? AND TTL ? SET l = l + ?, st = st + ?, m = m + ?, "
                     "u.no = ? WHERE k = ? AND c = ?")
    stat = s.prepare("UPDATE snap.coll USING TIMESTAMP ? AND TTL ? SET s = ?, s2 = ? WHERE k = ?")
    a_ins, a_grow, a_stat = [], [], []
    for k in range(12):
        ts3, ttl3 = T0 + 900000 + k, (50000 + k if k % 2 else 0)
        a_stat.append((ts3, ttl3, "static %d" % k, k * 10, k))
        rows.append({"table": "coll", "key": {"k": k}, "static": True,
                     "cells": {"s": cell("static %d" % k, ts3, ttl3), "s2": cell(k * 10, ts3, ttl3)}})
        for cc in range(3):
            j = k * 3 + cc
            t1, t2 = T0 + 500000 + j * 100, T0 + 700000 + j * 100
            ttl1 = 90000 + j if j % 2 == 0 else 0
            ttl2 = 80000 + j if j % 3 == 0 else 0
            l, st, m = [j, j + 1], {"a%d" % j, "b"}, {"x": j, "y": -j}
            u = ("st %d" % j, j)  # (street, no)
            a_ins.append((k, cc, l, st, m, u, ("f%d" % j, -j), [j, 0, j], (j, "t%d" % j), j * 7, t1, ttl1))
            add_l, add_st, add_m, no = [100 + j], {"c%d" % j}, {"z": 1000 + j}, 2000 + j
            a_grow.append((t2, ttl2, add_l, add_st, add_m, no, k, cc))
            el = lambda v, t, tt: {"value": v, "ts": t, "ttl": tt or None}
            cells = {
                "l": {"elements": [el(j, t1, ttl1), el(j + 1, t1, ttl1), el(100 + j, t2, ttl2)]},
                "st": {"elements": [el(x, t1, ttl1) if x in st else el(x, t2, ttl2)
                                    for x in sorted(st | add_st, key=lambda z: z.encode())]},
                "m": {"elements": [{"key": "x", "value": j, "ts": t1, "ttl": ttl1 or None},
                                   {"key": "y", "value": -j, "ts": t1, "ttl": ttl1 or None},
                                   {"key": "z", "value": 1000 + j, "ts": t2, "ttl": ttl2 or None}]},
                "u": {"elements": [{"field": "street", "value": "st %d" % j, "ts": t1, "ttl": ttl1 or None},
                                   {"field": "no", "value": no, "ts": t2, "ttl": ttl2 or None}]},
                "fu": cell({"street": "f%d" % j, "no": -j}, t1, ttl1),
                "fl": cell([j, 0, j], t1, ttl1),
                "tp": cell([j, "t%d" % j], t1, ttl1),
                "v": cell(j * 7, t1, ttl1),
            }
            rows.append({"table": "coll", "key": {"k": k}, "clustering": {"c": cc}, "cells": cells})
    run_all(s, ins, a_ins)
    run_all(s, grow, a_grow)
    run_all(s, stat, a_stat)
    # a partition with only its static row
    s.execute("INSERT INTO snap.coll (k, s) VALUES (1000, 'only static') USING TIMESTAMP %d" % (T0 + 999999))
    rows.append({"table": "coll", "key": {"k": 1000}, "static": True,
                 "cells": {"s": cell("only static", T0 + 999999, 0)}})

    # multi: a composite partition key, clustering DESC, rows with only their key
    ins = s.prepare("INSERT INTO snap.multi (a, b, c, d, v) VALUES (?, ?, ?, ?, ?) USING TIMESTAMP ?")
    pk = s.prepare("INSERT INTO snap.multi (a, b, c, d) VALUES (?, ?, ?, ?) USING TIMESTAMP ?")
    a_ins, a_pk = [], []
    for a_ in range(15):
        for b_ in ("x", "y"):
            for c_ in range(3):
                for d_ in range(2):
                    j = ((a_ * 2 + (b_ == "y")) * 3 + c_) * 2 + d_
                    ts = T0 + 2000000 + j
                    key, clu = {"a": a_, "b": b_}, {"c": c_, "d": d_}
                    if j % 4 == 0:
                        a_pk.append((a_, b_, c_, d_, ts))
                        rows.append({"table": "multi", "key": key, "clustering": clu, "cells": {}})
                    else:
                        a_ins.append((a_, b_, c_, d_, j, ts))
                        rows.append({"table": "multi", "key": key, "clustering": clu, "cells": {"v": cell(j, ts, 0)}})
    run_all(s, ins, a_ins)
    run_all(s, pk, a_pk)

    # cnt: counters (their write time is the node's)
    inc = s.prepare("UPDATE snap.cnt SET n = n + ? WHERE k = ?")
    run_all(s, inc, [(k + 1, k) for k in range(20)])
    run_all(s, inc, [(100, k) for k in range(0, 20, 4)])
    for k in range(20):
        rows.append({"table": "cnt", "key": {"k": k}, "clustering": {}, "counter": True,
                     "cells": {"n": {"value": k + 1 + (100 if k % 4 == 0 else 0), "ts": None, "ttl": None}}})

    # big: many partitions, for the resume checks
    ins = s.prepare("INSERT INTO snap.big (k, v) VALUES (?, ?) USING TIMESTAMP ?")
    run_all(s, ins, [(k, "big %d" % k, T0 + 3000000 + k) for k in range(a.big)])
    for k in range(a.big):
        rows.append({"table": "big", "key": {"k": k}, "clustering": {},
                     "cells": {"v": cell("big %d" % k, T0 + 3000000 + k, 0)}})
    t_done = time.time()
    c.shutdown()
    json.dump({"written_at": t_write, "done_at": t_done, "rows": rows}, open(a.out, "w"))
    print("# wrote %d rows in %.1f s" % (len(rows), t_done - t_write))


def ident(r):
    return (r["table"], json.dumps(r["key"], sort_keys=True),
            "static" if r.get("static") else json.dumps(r.get("clustering", {}), sort_keys=True))


def check_ttl(name, got, want_ttl, exp, written_at, read_at, errs):
    """A TTL read back: at most the written one, at least it less the time
    that passed (and 2 s of rounding); expires near write time + TTL."""
    if want_ttl is None:
        if "ttl" in got or "expires" in got:
            errs.append("%s: ttl %s, want none" % (name, got.get("ttl")))
        return
    t = got.get("ttl")
    if t is None or not (want_ttl - (read_at - written_at) - 3 <= t <= want_ttl):
        errs.append("%s: ttl %s, want %d less the seconds since it was written" % (name, t, want_ttl))
        return
    e = got.get("expires")
    if e is None or abs(e - (written_at + want_ttl)) > (read_at - written_at) + 3:
        errs.append("%s: expires %s, want about %d" % (name, e, written_at + want_ttl))


def verify(a):
    import xxhash
    exp = json.load(open(a.expected))
    start = a.start
    unknown = start - 1
    per_element = a.version.startswith("5")
    want = {ident(r): r for r in exp["rows"] if not a.tables or r["table"] in a.tables.split(",")}
    got = {}
    bad_lines = 0
    events = []
    for line in open(a.events, encoding="utf-8"):
        line = line.rstrip("\n")
        if not line:
            continue
        try:
            e = json.loads(line)
        except ValueError:
            bad_lines += 1
            continue
        events.append((line, e))
    ok(bad_lines == 0 and events, "snapshot %s: %d events, every line JSON (%d not)" % (a.version, len(events), bad_lines))
    id_bad = src_bad = 0
    for line, e in events:
        if xxhash.xxh3_64_hexdigest(line[:line.index(',"id":')].encode()) != e.get("id"):
            id_bad += 1
        sc = e.get("source", {})
        if sc.get("snapshot") is not True or sc.get("snapshot_start") != start or "segment" in sc \
                or not sc.get("cassandra", "").startswith(a.version):
            src_bad += 1
        r = {"table": e["table"], "key": e["key"]}
        if e.get("static"):
            r["static"] = True
        else:
            r["clustering"] = e.get("clustering", {})
        got.setdefault(ident(r), []).append(e)
    ok(id_bad == 0, "snapshot %s: every id is XXH3-64 of the text before it (%d wrong)" % (a.version, id_bad))
    ok(src_bad == 0, "snapshot %s: every source is {snapshot: true, snapshot_start: %d, cassandra: %s...} (%d not)"
       % (a.version, start, a.version, src_bad))
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    dups = [k for k in got if len(got[k]) > 1]
    ok(not missing and not extra, "snapshot %s: one event for each of the %d rows and static rows written "
       "(%d missing, %d unexpected; e.g. %s)" % (a.version, len(want), len(missing), len(extra), (missing + extra)[:2]))
    if a.allow_dups is None:
        ok(not dups, "snapshot %s: no row delivered twice (%d were)" % (a.version, len(dups)))
    errs = []
    read_at = time.time()
    written_at = exp["written_at"]
    for k, r in want.items():
        if k not in got:
            continue
        e = got[k][0]
        name = "%s %s %s" % k
        op = "update" if r.get("static") else "insert"
        if e["op"] != op:
            errs.append("%s: op %s, want %s" % (name, e["op"], op))
        cells = e.get("cells", {})
        if set(cells) != set(r["cells"]):
            errs.append("%s: cells %s, want %s" % (name, sorted(cells), sorted(r["cells"])))
            continue
        all_ts, all_ttl = [], []
        for col, w in r["cells"].items():
            g = cells[col]
            cname = "%s.%s" % (name, col)
            if "elements" in w:
                if "elements" not in g or "cleared_ts" in g:
                    errs.append("%s: %s, want elements only" % (cname, g))
                    continue
                if len(g["elements"]) != len(w["elements"]):
                    errs.append("%s: %d elements, want %d" % (cname, len(g["elements"]), len(w["elements"])))
                    continue
                for ge, we in zip(g["elements"], w["elements"]):
                    for f in ("value", "key", "field"):
                        if f in we and ge.get(f) != we[f]:
                            errs.append("%s: element %s %r, want %r" % (cname, f, ge.get(f), we[f]))
                    if "index" in ge:
                        errs.append("%s: a list element with an index" % cname)
                    wts, wttl = (we["ts"], we["ttl"]) if per_element else (unknown, None)
                    if ge.get("ts") != wts:
                        errs.append("%s: element ts %s, want %s" % (cname, ge.get("ts"), wts))
                    check_ttl(cname, ge, wttl, None, written_at, read_at, errs)
                    all_ts.append(ge.get("ts", 0))
                    all_ttl.append(ge.get("ttl"))
                continue
            if g.get("value") != w["value"]:
                errs.append("%s: value %r, want %r" % (cname, g.get("value"), w["value"]))
            if r.get("counter"):
                ts_ok = exp["written_at"] * 1e6 - 2e6 <= g.get("ts", 0) <= exp["done_at"] * 1e6 + 2e6
                if not ts_ok:
                    errs.append("%s: counter ts %s not between the writes' start and end" % (cname, g.get("ts")))
            elif g.get("ts") != w["ts"]:
                errs.append("%s: ts %s, want %s" % (cname, g.get("ts"), w["ts"]))
            if r.get("static") and g.get("static") is not True:
                errs.append("%s: no \"static\":true" % cname)
            check_ttl(cname, g, w["ttl"], None, written_at, read_at, errs)
            all_ts.append(g.get("ts", 0))
            all_ttl.append(g.get("ttl"))
        # the row's liveness: the smallest cell write time (start - 1 with no
        # cell), expiring with the longest-lived cell when all expire
        if r.get("static"):
            lts = None
            if "ttl" in e:
                errs.append("%s: a static row with a ttl" % name)
        else:
            lts = min(all_ts) if all_ts else unknown
            if all_ttl and all(t is not None for t in all_ttl):
                if e.get("ttl") != max(all_ttl):
                    errs.append("%s: row ttl %s, want %s" % (name, e.get("ttl"), max(all_ttl)))
            elif "ttl" in e:
                errs.append("%s: row ttl %s, want none" % (name, e.get("ttl")))
        want_ts = max(all_ts + ([lts] if lts is not None else []))
        if e.get("ts") != want_ts:
            errs.append("%s: event ts %s, want %s" % (name, e.get("ts"), want_ts))
        if r.get("counter"):
            if e.get("cql") is not None or e.get("no_cql") != "counter":
                errs.append("%s: counter event with cql %r" % (name, e.get("cql")))
        elif not e.get("cql") or "USING TIMESTAMP" not in e["cql"]:
            errs.append("%s: cql %r" % (name, e.get("cql")))
    for x in errs[:8]:
        print("# " + x)
    ok(not errs, "snapshot %s: every cell's value, write time and TTL, every row's op, ts and TTL as the CQL wrote "
       "them (%d rows checked, %d mismatches)" % (a.version, len(want) - len(missing), len(errs)))


def apply(a):
    """Runs the events' cql against snapcopy, then compares snap and snapcopy."""
    import re
    c, s = session(a.host)
    s.execute("DROP KEYSPACE IF EXISTS snapcopy")
    for q in SCHEMA:
        s.execute(q.format(ks="snapcopy"))
    stmts = []
    for line in open(a.events, encoding="utf-8"):
        e = json.loads(line)
        if e.get("cql") and (not a.tables or e["table"] in a.tables.split(",")):
            stmts.append(re.sub(r"\b(INTO|UPDATE|FROM) snap\.", r"\1 snapcopy.", e["cql"]))
    from cassandra.concurrent import execute_concurrent
    failed = [r for good, r in execute_concurrent(s, [(q, ()) for q in stmts], concurrency=32, raise_on_first_error=False)
              if not good]
    ok(not failed, "snapshot %s: the %d cql statements of the events run (%d failed: %s)" % (
        a.version, len(stmts), len(failed), str(failed[:1])[:200]))
    per_element = a.version.startswith("5")
    lag = time.time() - a.start / 1e6
    tables = {"plain": (["k", "c"], ["v", "n", "d", "b", "f", "u"], []),
              "coll": (["k", "c"], ["s", "s2", "fu", "fl", "tp", "v"], ["l", "st", "m", "u"]),
              "multi": (["a", "b", "c", "d"], ["v"], [])}
    for t, (keys, simple, cplx) in tables.items():
        if a.tables and t not in a.tables.split(","):
            continue
        sel = keys + simple + ["writetime(%s)" % x for x in simple] + ["ttl(%s)" % x for x in simple] + cplx
        if per_element:
            sel += ["writetime(%s)" % x for x in cplx]
        q = "SELECT %s FROM %%s.%s" % (", ".join(sel), t)
        src = {tuple(r[:len(keys)]): r for r in s.execute(q % "snap")}
        cpy = {tuple(r[:len(keys)]): r for r in s.execute(q % "snapcopy")}
        diffs = []
        nk, ns = len(keys), len(simple)
        for k in set(src) | set(cpy):
            x, y = src.get(k), cpy.get(k)
            if x is None or y is None:
                diffs.append("%s %s only in %s" % (t, k, "snapcopy" if x is None else "snap"))
                continue
            for i, col in enumerate(sel):
                xv, yv = x[i], y[i]
                if col.startswith("ttl("):
                    # a replayed TTL restarts: the copy's is the source's
                    # plus the seconds between the snapshot's read and now
                    if (xv is None) != (yv is None) or (xv is not None and not -3 <= yv - xv <= lag + 3):
                        diffs.append("%s %s %s: %s vs %s" % (t, k, col, xv, yv))
                elif xv != yv:
                    diffs.append("%s %s %s: %r vs %r" % (t, k, col, xv, yv))
        for d in diffs[:5]:
            print("# " + d)
        ok(not diffs and src, "snapshot %s: snapcopy.%s, written by the events' cql, equals snap.%s through CQL "
           "(%d rows: values, WRITETIME%s, TTL; %d differences)" % (
               a.version, t, t, len(src), " per element" if per_element else "", len(diffs)))
    c.shutdown()


def crosscheck(a):
    """A row written by one INSERT, without TTL, and not changed since has
    the same event from the snapshot as from the commitlog: the same text
    up to the id (so the same id), only the source differs."""
    def key(e):
        return (e["table"], json.dumps(e["key"]), json.dumps(e.get("clustering")), bool(e.get("static")))
    changes = {}
    for line in open(a.changes, encoding="utf-8"):
        e = json.loads(line)
        changes.setdefault(key(e), []).append((line.rstrip("\n"), e))
    snap = {}
    for line in open(a.snapshot, encoding="utf-8"):
        e = json.loads(line)
        snap[key(e)] = line.rstrip("\n")
    same = differ = 0
    for k, evs in changes.items():
        line, e = evs[0]
        if len(evs) != 1 or e["op"] != "insert" or not e["cells"] or '"ttl"' in line or '"deleted"' in line:
            continue
        s = snap.get(k)
        head = line[:line.index(',"source":')]
        if s is not None and s[:s.index(',"source":')] == head:
            same += 1
        else:
            differ += 1
            if differ <= 2:
                print("# change:   " + head[:300])
                print("# snapshot: " + (s or "(none)")[:300])
    ok(differ == 0 and same >= a.min, "snapshot %s: %d rows written by one INSERT have the event the commitlog gives, "
       "byte for byte up to the source (same id; %d differ)" % (a.version, same, differ))


def tokens(a):
    c, s = session(a.host)
    with open(a.out, "w") as f:
        for r in s.execute("SELECT token(k), k FROM snap.%s" % a.table):
            f.write("%d %d\n" % (r[1], r[0]))
    c.shutdown()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("load")
    p.add_argument("--host", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--plain", type=int, default=3000)
    p.add_argument("--big", type=int, default=6000)
    p = sub.add_parser("verify")
    p.add_argument("--expected", required=True)
    p.add_argument("--events", required=True)
    p.add_argument("--start", type=int, required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--tables", default="")
    p.add_argument("--allow-dups", default=None)
    p = sub.add_parser("apply")
    p.add_argument("--host", required=True)
    p.add_argument("--start", type=int, required=True)
    p.add_argument("--events", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--tables", default="")
    p = sub.add_parser("crosscheck")
    p.add_argument("--snapshot", required=True)
    p.add_argument("--changes", required=True)
    p.add_argument("--version", required=True)
    p.add_argument("--min", type=int, default=1)
    p = sub.add_parser("tokens")
    p.add_argument("--host", required=True)
    p.add_argument("--table", required=True)
    p.add_argument("--out", required=True)
    a = ap.parse_args()
    {"load": load, "verify": verify, "apply": apply, "crosscheck": crosscheck, "tokens": tokens}[a.cmd](a)


if __name__ == "__main__":
    main()
