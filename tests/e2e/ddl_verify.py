#!/usr/bin/env python3
"""Checks Kafka against the log of tests/e2e/ddl_load.py: every write
Cassandra acknowledged on a table tracked for CDC arrived as an event with
the column names and values the write set, in the table's topic; writes
made while the table had cdc = false arrived as none.

usage: ddl_verify.py --bootstrap B --prefix P --keyspace KS --writes writes.jsonl
                     --report load-report.json --events-out events.jsonl [--idle 15]

Names: the clustering column renamed at step RENAME_STEP may carry its old
name in the events of writes made before the rename (docs/events.md); a
write after it must carry the new one. A column dropped at DROP_STEP: the
events of writes made before the drop may lack its cells (Cassandra drops
the data of a dropped column, and so does cdctail once its schema knows the
drop). Every other cell must be there with the value written, and the
event's ts must be the write's. Prints a JSON summary; exit 1 on any loss,
wrong name or value, or event of an untracked write."""
import argparse
import json
import sys
import time
import uuid

from confluent_kafka import Consumer, TopicPartition

RENAME_STEP = 7   # ALTER TABLE t RENAME c TO cc (ddl_load.steps)
DROP_STEP = 6     # ALTER TABLE t DROP v


def consume(bootstrap, topics, idle):
    """Every message of the topics, from the beginning, until none came for
    `idle` seconds. A topic that does not exist yet (cdctail creates it with
    its first event, which may come late) is looked for again every 2 s and
    read from the beginning once it appears."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "ddl-verify-" + uuid.uuid4().hex,
                  "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    missing, out, last, looked = list(topics), [], time.time(), 0.0
    while time.time() - last < idle:
        if missing and time.time() - looked >= 2:
            md = c.list_topics(timeout=30)
            looked = time.time()
            found = [t for t in missing if t in md.topics and md.topics[t].partitions]
            parts = [TopicPartition(t, p, 0) for t in found for p in md.topics[t].partitions]
            if parts:
                c.incremental_assign(parts)
                last = time.time()
            missing = [t for t in missing if t not in found]
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        out.append(json.loads(m.value()))
        last = time.time()
    c.close()
    return out


def elements(cell):
    els = cell.get("elements", [])
    if els and "field" in els[0]:
        return {e["field"]: e.get("value") for e in els if not e.get("deleted")}
    return [e.get("value") for e in els if not e.get("deleted")]


def check_event(w, e):
    """What is wrong with event e for write w ('' when nothing)."""
    if e["key"] != w["key"]:
        return "key %s" % e["key"]
    if w["clustering"] is not None:
        names = ["c", "cc"] if w["step"] < RENAME_STEP else ["cc"]
        ck = e.get("clustering", {})
        if len(ck) != 1 or list(ck)[0] not in names or list(ck.values())[0] != w["clustering"]:
            return "clustering %s (want %s under %s)" % (ck, w["clustering"], names)
    if bool(e.get("static")) != bool(w["static"]):
        return "static %s" % e.get("static")
    have = {n: (c["value"] if "value" in c else elements(c)) for n, c in e.get("cells", {}).items()}
    want = dict(w["cells"])
    if w["step"] < DROP_STEP and "v" in want and "v" not in have:
        del want["v"]
    if have != want:
        return "cells %s (want %s)" % (have, want)
    if e["ts"] != w["ts"]:
        return "ts %s" % e["ts"]
    return ""


def main():
    ap = argparse.ArgumentParser()
    for k in ("bootstrap", "prefix", "keyspace", "writes", "report", "events-out"):
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--idle", type=float, default=15)
    a = ap.parse_args()
    ks = a.keyspace
    topics = ["%s.%s.t" % (a.prefix, ks), "%s.%s.t2" % (a.prefix, ks), "%s.%s_gone.x" % (a.prefix, ks)]
    events = consume(a.bootstrap, topics, a.idle)
    with open(a.events_out, "w") as f:
        for e in events:
            f.write(json.dumps(e) + "\n")
    by_ts = {}
    for e in events:
        by_ts.setdefault(e["ts"], []).append(e)
    writes = [json.loads(l) for l in open(a.writes)]
    lost, wrong, untracked_seen, dup, tracked, untracked, failed = [], [], [], 0, 0, 0, 0
    names = {"c": 0, "cc": 0}
    for w in writes:
        if w.get("failed"):
            failed += 1
            continue
        got = [e for e in by_ts.get(w["ts"], []) if e["keyspace"] == w["keyspace"] and e["table"] == w["table"]]
        if not w["tracked"]:
            untracked += 1
            if got:
                untracked_seen.append(w)
            continue
        tracked += 1
        if not got:
            lost.append(w)
            continue
        dup += len(got) - 1
        for e in got:
            why = check_event(w, e)
            if why:
                wrong.append((w, why))
                break
        if w["clustering"] is not None and w["step"] < RENAME_STEP:
            names[list(got[0]["clustering"])[0]] += 1
    wts = {w["ts"] for w in writes}
    spurious = [e for e in events if e["ts"] not in wts and e["ts"] - 1 not in wts]
    for w in lost[:3]:
        print("# lost: %s" % json.dumps(w), file=sys.stderr)
    for w, why in wrong[:5]:
        print("# wrong: %s: %s" % (json.dumps(w), why), file=sys.stderr)
    for e in spurious[:3]:
        print("# spurious: %s" % json.dumps(e)[:300], file=sys.stderr)
    load = json.load(open(a.report))
    out = {"writes": len(writes), "tracked": tracked, "untracked": untracked, "failed": failed,
           "events": len(events), "lost": len(lost), "wrong": len(wrong), "untracked_seen": len(untracked_seen),
           "duplicates": dup, "spurious": len(spurious),
           "renamed_column_before_rename": names, "kills": load["kills"], "ddl": len(load["ddl"])}
    print(json.dumps(out))
    sys.exit(0 if tracked and not lost and not wrong and not untracked_seen and not spurious else 1)


main()
