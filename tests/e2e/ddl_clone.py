#!/usr/bin/env python3
"""A clone built from the Kafka events of the schema-change run, compared
with its source, table by table: values, WRITETIME and TTL.

usage: ddl_clone.py --host H --keyspace KS --events events.jsonl --report load-report.json

The clone keyspace KS_clone gets the source's tables as they are at the end
(t, and t2 as re-created), plus t's dropped column v, so that the events
decoded before cdctail's schema knew of the drop still apply. Each distinct
event (by id) is applied by its `cql`, in ts order, after two rewrites a
consumer that follows the schema makes: the clustering column renamed from c
to cc, and the events of t2's first incarnation (written before its DROP)
left out, as are those of the dropped keyspace. The source rows written
while t had cdc = false (clustering 9) are not in the comparison: Cassandra
does not track them for CDC, so no event exists for them. Prints TAP lines."""
import argparse
import json
import re
import time

from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.concurrent import execute_concurrent
from cassandra.policies import WhiteListRoundRobinPolicy


def session(host):
    prof = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([host]), request_timeout=120)
    c = Cluster([host], execution_profiles={EXEC_PROFILE_DEFAULT: prof})
    return c, c.connect()


def rows(s, ks, table, key_cols, cols, single):
    sel = ", ".join(key_cols + cols + ["writetime(%s), ttl(%s)" % (c, c) for c in single])
    out = {}
    for r in s.execute("SELECT %s FROM %s.%s" % (sel, ks, table)):
        r = tuple(r)
        out[r[:len(key_cols)]] = r[len(key_cols):]
    return out


def same(a, b, nvals, slack):
    """Values and WRITETIMEs equal; the clone's TTL at least the source's and
    at most `slack` seconds more (a TTL restarts when a statement is applied
    again: docs/events.md, Limits; slack is the time since the load began)."""
    if a[:nvals] != b[:nvals]:
        return False
    for i in range(nvals, len(a), 2):
        if a[i] != b[i]:
            return False
        ta, tb = a[i + 1], b[i + 1]
        if (ta is None) != (tb is None) or (ta is not None and not 0 <= tb - ta <= slack):
            return False
    return True


def main():
    ap = argparse.ArgumentParser()
    for k in ("host", "keyspace", "events", "report"):
        ap.add_argument("--" + k, required=True)
    a = ap.parse_args()
    ks, cl = a.keyspace, a.keyspace + "_clone"
    cluster, s = session(a.host)
    version = s.execute("SELECT release_version FROM system.local").one().release_version
    load = json.load(open(a.report))
    t2_again = min(d["after_ts"] for d in load["ddl"] if d["cql"].startswith("DROP TABLE"))
    s.execute("DROP KEYSPACE IF EXISTS %s" % cl)
    s.execute("CREATE KEYSPACE %s WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}" % cl)
    s.execute("CREATE TYPE %s.addr (street text, zip int, city text)" % cl)
    s.execute("CREATE TABLE %s.t (k int, cc int, v text, a text, l list<int>, st text static, u frozen<addr>, "
              "nu addr, PRIMARY KEY (k, cc))" % cl)
    s.execute("CREATE TABLE %s.t2 (k int PRIMARY KEY, w int)" % cl)
    events, seen = [], set()
    for line in open(a.events):
        e = json.loads(line)
        if e["id"] in seen:
            continue
        seen.add(e["id"])
        if e["keyspace"] != ks or (e["table"] == "t2" and e["ts"] < t2_again):
            continue
        events.append(e)
    events.sort(key=lambda e: e["ts"])
    stmts = []
    for e in events:
        q = e["cql"].replace(" %s.%s " % (ks, e["table"]), " %s.%s " % (cl, e["table"]))
        q = re.sub(r"\(k, c([,)])", r"(k, cc\1", q)
        q = q.replace(" AND c = ", " AND cc = ")
        stmts.append((q, ()))
    res = execute_concurrent(s, stmts, concurrency=50, raise_on_first_error=False)
    errors = [(q, r.result_or_exc) for (q, _), r in zip(stmts, res) if not r.success]
    for q, ex in errors[:3]:
        print("# could not apply: %s: %s" % (q[:200], ex))
    print("%s - ddl clone %s: %d distinct events applied to %s by their cql (%d could not be)" % (
        "ok" if events and not errors else "not ok", version, len(events), cl, len(errors)))
    for table, key_cols, cols, single in (
            ("t", ["k", "cc"], ["a", "l", "st", "u", "nu"], ["a", "st", "u"]),
            ("t2", ["k"], ["w"], ["w"])):
        src = rows(s, ks, table, key_cols, cols, single)
        if table == "t":
            src = {k: v for k, v in src.items() if k[1] != 9}  # written while cdc = false
        dst = rows(s, cl, table, key_cols, cols, single)
        slack = time.time() - load["ddl"][0]["t"] + 30
        diff = [k for k in set(src) | set(dst)
                if k not in src or k not in dst or not same(src[k], dst[k], len(cols), slack)]
        for k in diff[:3]:
            print("# %s %s: source %s, clone %s" % (table, k, src.get(k), dst.get(k)))
        print("%s - ddl clone %s: %s.%s equals %s.%s (%d rows; values of %s, WRITETIME and TTL of %s)" % (
            "ok" if src and not diff else "not ok", version, ks, table, cl, table, len(src), ", ".join(cols),
            ", ".join(single)))
    cluster.shutdown()


main()
