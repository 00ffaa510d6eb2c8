#!/usr/bin/env python3
"""make bench's Python-driver side of the snapshot and apply figures
(scripts/bench.sh): the peer that cdctail snapshot and cdctail apply are
measured against, on the same node, table and rows.

  cqlpeer.py fill --host H --keyspace KS --rows N [--concurrency 128]
      creates KS.items (a partition key, a clustering column, four regular
      columns) and writes N rows with one prepared
      INSERT ... USING TIMESTAMP ? AND TTL ? through execute_concurrent:
      prints {"rows":N,"seconds":..,"rows_per_s":..}
  cqlpeer.py select --host H --keyspace KS [--page-size 1000]
      reads every row of KS.items with a plain paged SELECT, with the
      WRITETIME and TTL of each regular column (what a snapshot reads):
      prints {"rows":..,"seconds":..,"rows_per_s":..}
  cqlpeer.py create --host H --keyspace KS
      only the keyspace and table (a target for cdctail apply)
  cqlpeer.py count --host H --keyspace KS
      the rows of KS.items: {"rows":..}
"""
import argparse
import json
import random
import sys
import time

COLS = "p int, c int, name text, qty int, price double, note text, PRIMARY KEY (p, c)"


def session(a):
    from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile
    from cassandra import ConsistencyLevel
    prof = ExecutionProfile(request_timeout=60, consistency_level=ConsistencyLevel.ONE)
    c = Cluster([a.host], execution_profiles={EXEC_PROFILE_DEFAULT: prof})
    return c, c.connect()


def create(s, ks):
    s.execute(f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = "
              "{'class': 'SimpleStrategy', 'replication_factor': 1}")
    s.execute(f"CREATE TABLE IF NOT EXISTS {ks}.items ({COLS})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("cmd", choices=("fill", "select", "create", "count"))
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--keyspace", required=True)
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--concurrency", type=int, default=128)
    ap.add_argument("--page-size", type=int, default=1000)
    a = ap.parse_args()
    c, s = session(a)
    try:
        if a.cmd == "create":
            create(s, a.keyspace)
            return 0
        if a.cmd == "count":
            n = s.execute(f"SELECT COUNT(*) FROM {a.keyspace}.items", timeout=300).one()[0]
            print(json.dumps({"rows": n}))
            return 0
        if a.cmd == "fill":
            from cassandra.concurrent import execute_concurrent_with_args
            create(s, a.keyspace)
            q = s.prepare(f"INSERT INTO {a.keyspace}.items (p, c, name, qty, price, note) VALUES (?, ?, ?, ?, ?, ?) "
                          "USING TIMESTAMP ? AND TTL ?")
            rng = random.Random(1)
            ts0 = int(time.time() * 1e6)
            args = [(i // 20, i % 20, f"item-{i}", rng.randint(0, 1000), rng.random() * 100,
                     "n" * rng.randint(0, 40), ts0 + i, 86400 if i % 10 == 0 else 0) for i in range(a.rows)]
            t0 = time.monotonic()
            res = execute_concurrent_with_args(s, q, args, concurrency=a.concurrency, raise_on_first_error=True)
            dt = time.monotonic() - t0
            bad = sum(1 for ok, _ in res if not ok)
            print(json.dumps({"rows": a.rows, "failed": bad, "seconds": round(dt, 3), "rows_per_s": round(a.rows / dt)}))
            return 1 if bad else 0
        from cassandra.query import SimpleStatement
        cols = ["name", "qty", "price", "note"]
        sel = ", ".join(["p", "c"] + [f"{x}, WRITETIME({x}), TTL({x})" for x in cols])
        t0 = time.monotonic()
        n = 0
        for _ in s.execute(SimpleStatement(f"SELECT {sel} FROM {a.keyspace}.items", fetch_size=a.page_size),
                           timeout=300):
            n += 1
        dt = time.monotonic() - t0
        print(json.dumps({"rows": n, "seconds": round(dt, 3), "rows_per_s": round(n / dt)}))
        return 0
    finally:
        c.shutdown()


if __name__ == "__main__":
    sys.exit(main())
