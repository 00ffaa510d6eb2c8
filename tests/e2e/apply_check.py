#!/usr/bin/env python3
"""Helpers of t0570 (`cdctail apply`) against a real Cassandra and Kafka.

  load ADDR WORK     writes a mixed workload by CQL into keyspace src (seed
                     shapes, lists, sets, maps, a UDT, statics, TTLs, a cell
                     already expired when applied, deletes of rows, ranges,
                     cells, partitions, counters), creates the same tables in
                     keyspace dst (plus dst.app, which only an application's
                     event fills), writes WORK/schema.json and WORK/load.json
  produce BROKER EVENTS WORK
                     sends every event of EVENTS 1 to 3 times (a fixed seed)
                     to cdctail.src.TABLE keyed by partition key, plus the
                     minimal application event (dst.app) and an event the
                     target refuses (a partition key over 64 KiB)
  compare ADDR WORK  src against dst through CQL: every row, value, WRITETIME
                     and TTL (TTL within the seconds since load), lists not
                     doubled; the application's row
  offsets BROKER GROUP
                     the group's committed offset of every partition equals
                     its high watermark
Prints TAP lines."""
import json, os, random, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'scripts', 'fixtures'))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import workloads  # noqa: E402
import gen  # noqa: E402
import clone_check  # noqa: E402  (session, snapshot: the list decoder for TTL of collections)

EXTRA_DDL = [
    "CREATE TYPE {ks}.addr (street text, zip int);",
    "CREATE TABLE {ks}.things (id int, c int, s text static, l list<int>, st set<text>, m map<text, int>, "
    "u addr, fu frozen<addr>, t tuple<int, text>, v text, e text, PRIMARY KEY (id, c)) WITH cdc = true;",
    "CREATE TABLE {ks}.hits (k int PRIMARY KEY, n counter) WITH cdc = true;",
]
EXTRA = [
    "INSERT INTO {ks}.things (id, c, s, l, st, m, u, fu, t, v) VALUES (1, 1, 'stat', [1, 2], {{'a', 'b'}}, {{'x': 1}}, {{street: 'Main', zip: 1}}, {{street: 'F', zip: 2}}, (3, 'three'), 'v1') USING TIMESTAMP {ts};",
    "UPDATE {ks}.things USING TIMESTAMP {ts} SET st = st + {{'c'}}, m['y'] = 2, u.zip = 7, l = l + [3] WHERE id = 1 AND c = 1;",
    "UPDATE {ks}.things USING TIMESTAMP {ts} SET l = l + [4, 5] WHERE id = 1 AND c = 1;",
    "UPDATE {ks}.things USING TIMESTAMP {ts} SET l = [0] + l WHERE id = 1 AND c = 1;",
    "UPDATE {ks}.things USING TIMESTAMP {ts} SET st = st - {{'a'}} WHERE id = 1 AND c = 1;",
    "DELETE m['x'] FROM {ks}.things USING TIMESTAMP {ts} WHERE id = 1 AND c = 1;",
    "UPDATE {ks}.things USING TIMESTAMP {ts} SET m = {{'only': 9}}, s = 'stat2' WHERE id = 1 AND c = 1;",
    "UPDATE {ks}.things USING TIMESTAMP {ts} SET l = [7, 8] WHERE id = 3 AND c = 1;",
    "UPDATE {ks}.things USING TIMESTAMP {ts} SET l = l + [9] WHERE id = 3 AND c = 1;",
    "UPDATE {ks}.things USING TIMESTAMP {ts} AND TTL 5000 SET l = l + [10], st = st + {{'ttl'}} WHERE id = 3 AND c = 1;",
    "INSERT INTO {ks}.things (id, c, v) VALUES (2, 1, 'ttl') USING TIMESTAMP {ts} AND TTL 7200;",
    "UPDATE {ks}.things USING TIMESTAMP {ts} AND TTL 3600 SET v = 'upd-ttl' WHERE id = 2 AND c = 2;",
    "DELETE s FROM {ks}.things USING TIMESTAMP {ts} WHERE id = 2;",
    "DELETE st FROM {ks}.things USING TIMESTAMP {ts} WHERE id = 1 AND c = 1;",
    # a value, then a newer one that has expired by the time apply runs: the
    # expired cell must still shadow the older value
    "UPDATE {ks}.things USING TIMESTAMP {ts} SET e = 'old' WHERE id = 4 AND c = 1;",
    "UPDATE {ks}.things USING TIMESTAMP {ts} AND TTL 1 SET e = 'gone' WHERE id = 4 AND c = 1;",
    "UPDATE {ks}.things USING TIMESTAMP {ts} SET v = 'row4' WHERE id = 4 AND c = 1;",
    "DELETE FROM {ks}.things USING TIMESTAMP {ts} WHERE id = 5 AND c > 1;",
    "INSERT INTO {ks}.things (id, c, v, l) VALUES (5, 1, 'five', [50, 51]) USING TIMESTAMP {ts};",
    "DELETE FROM {ks}.things USING TIMESTAMP {ts} WHERE id = 6;",
    "UPDATE {ks}.hits SET n = n + 5 WHERE k = 1;",
]
APP_DDL = "CREATE TABLE dst.app (k text, c int, v text, PRIMARY KEY (k, c));"
APP_TS = 1764000000000000


def load(addr, work):
    cluster, s = clone_check.session(addr)
    clock = workloads.Clock(int(time.time() * 1e6) - 10_000_000)
    rng = random.Random(11)
    ddl = workloads.seed_ddl("src") + [d.format(ks="src") for d in EXTRA_DDL]
    stmts = [st["cql"] for st in workloads.seed_statements("src", clock, rng)]
    stmts += [x.format(ks="src", ts=clock.next()) for x in EXTRA]
    for st in ddl + stmts:
        s.execute(st)
    s.execute("CREATE TABLE src.zz_marker (k int PRIMARY KEY) WITH cdc = true")
    s.execute("INSERT INTO src.zz_marker (k) VALUES (1)")
    for st in ddl + ["CREATE TABLE src.zz_marker (k int PRIMARY KEY) WITH cdc = true"]:
        s.execute(st.replace(" src.", " dst.").replace("KEYSPACE src ", "KEYSPACE dst "))
    s.execute(APP_DDL)
    with open(os.path.join(work, "schema.json"), "w") as f:
        json.dump(gen.export_schema(s, "src", "live"), f)
    with open(os.path.join(work, "load.json"), "w") as f:
        json.dump({"t": time.time(), "statements": len(stmts)}, f)
    print(f"ok - apply: {len(stmts)} statements written to keyspace src")
    cluster.shutdown()


def app_events():
    """The minimal event an application writes (docs/apply.md), and one the
    target refuses: a partition key longer than 65535 bytes."""
    ok = {"op": "update", "keyspace": "src", "table": "app", "key": {"k": "a"}, "clustering": {"c": 1},
          "cells": {"v": {"value": "from-app"}}, "ts": APP_TS}
    big = {"op": "update", "keyspace": "src", "table": "movies_by_genre", "key": {"genre": "g" * 70000, "year": 1},
           "clustering": {"rating": 1.0, "duration": 1}, "cells": {"title": {"value": "refused"}}, "ts": APP_TS}
    return [ok, big]


def produce(broker, events, work):
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": broker, "enable.idempotence": True, "linger.ms": 20})
    rng = random.Random(5)
    lines = [l.rstrip("\n") for l in open(events, encoding="utf-8") if l.strip()]
    n = 0
    copies = {1: 0, 2: 0, 3: 0}
    for l in lines:
        e = json.loads(l)
        k = rng.choice((1, 2, 3))
        copies[k] += 1
        for _ in range(k):
            p.produce(f"cdctail.src.{e['table']}", key=json.dumps(e["key"], separators=(",", ":")), value=l)
            n += 1
        p.poll(0)
    extra = app_events()
    for e in extra:
        p.produce(f"cdctail.src.{e['table']}", key=json.dumps(e["key"])[:100], value=json.dumps(e))
        n += 1
    left = p.flush(30)
    print(f"{'ok' if left == 0 else 'not ok'} - apply: {n} messages in Kafka: {len(lines)} events "
          f"({copies[1]} once, {copies[2]} twice, {copies[3]} three times) and {len(extra)} application events")
    with open(os.path.join(work, "produced.json"), "w") as f:
        json.dump({"messages": n, "events": len(lines), "lists": sum(1 for l in lines if '"list_append":true' in l)}, f)


def compare(addr, work):
    cluster, s = clone_check.session(addr)
    info = json.load(open(os.path.join(work, "load.json")))
    slack = int(time.time() - info["t"]) + 2
    schema = json.load(open(os.path.join(work, "schema.json")))
    natives = {"ascii", "bigint", "blob", "boolean", "date", "decimal", "double", "duration", "float", "inet",
               "int", "smallint", "text", "time", "timestamp", "timeuuid", "tinyint", "uuid", "varchar", "varint"}
    udts = {ty["name"] for ty in schema["types"]}
    multi = lambda ty: ty.startswith(("list<", "set<", "map<")) or ty in udts

    def close(c, v, w):
        if c.startswith("ttl_") and isinstance(v, list) and isinstance(w, list):
            return len(v) == len(w) and all(close(c, a, b) for a, b in zip(v, w))
        if c.startswith("ttl_") and isinstance(v, int) and isinstance(w, int):
            return 0 <= v - w <= slack or 0 <= w - v <= 1
        return v == w
    for t in schema["tables"]:
        if not t["cdc"] or t["table"] in ("hits", "zz_marker"):
            continue
        allcols = [c["name"] for c in t["columns"]]
        cols = [c["name"] for c in t["columns"] if c["kind"] in ("regular", "static")
                and (c["type"] in natives or c["type"].startswith(("frozen<", "tuple<")) or multi(c["type"]))]
        a, b = clone_check.snapshot(s, "src", t["table"], allcols, cols), clone_check.snapshot(s, "dst", t["table"], allcols, cols)
        diffs = []
        for k in set(a) | set(b):
            if k not in a or k not in b:
                diffs.append(("missing in " + ("target" if k not in b else "source"), k))
                continue
            diffs += [(c, k, v, b[k][c]) for c, v in a[k].items() if not close(c, v, b[k][c])]
        for d in diffs[:5]:
            print(f"# {t['table']}: {str(d)[:400]}")
        print(f"{'not ok' if diffs or not a else 'ok'} - apply: dst.{t['table']} equals src.{t['table']} "
              f"({len(a)} rows; values, WRITETIME and TTL of {len(cols)} columns, TTL within {slack} s)")
    lists = {(r.id, r.c): r.l for r in s.execute("SELECT id, c, l FROM src.things")}
    got = {(r.id, r.c): r.l for r in s.execute("SELECT id, c, l FROM dst.things")}
    want = {(1, 1): [0, 1, 2, 3, 4, 5], (3, 1): [7, 8, 9, 10], (5, 1): [50, 51]}
    print(f"{'ok' if all(lists.get(k) == v == got.get(k) for k, v in want.items()) else 'not ok'} - apply: "
          f"lists applied once each: source {[lists.get(k) for k in want]}, target {[got.get(k) for k in want]}")
    e = s.execute("SELECT e, v FROM dst.things WHERE id = 4 AND c = 1").one()
    print(f"{'ok' if e and e.e is None and e.v == 'row4' else 'not ok'} - apply: a cell expired before it was applied "
          f"shadows the older value ({e and (e.e, e.v)})")
    r = s.execute("SELECT v, writetime(v) AS w, ttl(v) AS t FROM dst.app WHERE k = 'a' AND c = 1").one()
    print(f"{'ok' if r and (r.v, r.w, r.t) == ('from-app', APP_TS, None) else 'not ok'} - apply: the minimal "
          f"application event applied with its ts ({r and (r.v, r.w, r.t)})")
    cluster.shutdown()


def offsets(broker, group):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": broker, "group.id": group, "enable.auto.commit": False})
    md = c.list_topics(timeout=10)
    tps = [TopicPartition(t, p) for t in md.topics if t.startswith("cdctail.src.") for p in md.topics[t].partitions]
    bad = []
    for tp in c.committed(tps, timeout=10):
        hi = c.get_watermark_offsets(tp, timeout=10)[1]
        if tp.offset != hi and not (hi == 0 and tp.offset < 0):  # nothing to commit in an empty partition
            bad.append((tp.topic, tp.partition, tp.offset, hi))
    c.close()
    print(f"{'ok' if tps and not bad else 'not ok'} - apply: the group's committed offsets are the end of each of "
          f"{len(tps)} partitions {bad[:3]}")


if __name__ == "__main__":
    cmd = sys.argv[1]
    {"load": load, "produce": produce, "compare": compare, "offsets": offsets}[cmd](*sys.argv[2:])
