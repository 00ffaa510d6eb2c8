#!/usr/bin/env python3
"""The workload and the expectations of t0560 (cdctail relay), computed from
what this script produced and where Kafka put it, never from relay's output.

  produce BROKER MANIFEST --tag T --changes N --cut-at F [--topics a.b,c.d]
      writes events shaped as `cdctail run` writes them (id = XXH3-64 of the
      text before ,"id") into tmp.KS.TABLE: every change from replica n1,
      most also from n2 (late by a few messages), some from n3, a few sent
      twice by n1 (a restarted run); the first F of the changes have a ts
      before the cut. Plus messages that are not events. MANIFEST gets one
      JSON line per message with the partition and offset Kafka gave it.
  expect MANIFEST MODE [--since TS]
      prints the expected output (MODE: all, dedup, min2) as JSON.
  check MANIFEST BROKER PREFIX MODE [--since TS] [--at-least-once]
      reads PREFIX.KS.TABLE in full and compares; prints TAP lines.
  deadletters MANIFEST FILE
      the non-events must be in the dead-letter file with topic/partition/offset.
  unconfirmed MANIFEST FILE --since TS
      the changes only one replica sent must be in FILE once the window ends.
  wait-kill BROKER PREFIX COUNT PID
      SIGKILLs PID once the PREFIX topics hold COUNT messages; prints the count.
  count BROKER PREFIX
      prints how many messages the PREFIX topics hold.
"""
import argparse, collections, json, os, random, signal, sys, time

import xxhash
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient

CUT_TS = 1764000000000000  # the "snapshot start" of the test: 2025-11-24T16:00:00Z
STEP = 1000                # µs between changes


def event(ks, table, key, ts, n, node, seg):
    head = ('{"op":"insert","keyspace":"%s","table":"%s","key":{"id":%d},"cells":{"v":{"ts":%d,"value":"c%d"}},'
            '"ts":%d,"cql":"INSERT INTO %s.%s (id, v) VALUES (%d, \'c%d\') USING TIMESTAMP %d;"'
            % (ks, table, key, ts, n, ts, ks, table, key, n, ts))
    i = xxhash.xxh3_64_hexdigest(head.encode())
    return i, head + ',"id":"%s","source":{"segment":%d,"offset":%d,"cl_version":8,"node":"%s"}}' % (
        i, seg, 100 + n, node)


def produce(a):
    rnd = random.Random(a.seed)
    topics = a.topics.split(",")
    p = Producer({"bootstrap.servers": a.broker, "enable.idempotence": True, "linger.ms": 20})
    out = []

    def report(meta):
        def cb(err, msg):
            if err:
                raise SystemExit("produce failed: %s" % err)
            m = dict(meta, partition=msg.partition(), offset=msg.offset())
            out.append(m)
        return cb

    plan = []  # (step, topic, key, value, meta)
    for t in topics:
        ks, table = t.split(".")
        for n in range(a.changes):
            key = rnd.randrange(40)
            ts = CUT_TS + (n - int(a.changes * a.cut_at)) * STEP + a.ts_offset
            seg = {"n1": 1, "n2": 2, "n3": 3}
            senders = [("n1", 0)]
            r = rnd.random()
            if r < 0.85:
                senders.append(("n2", rnd.randrange(6)))
            if rnd.random() < 0.3:
                senders.append(("n3", rnd.randrange(10)))
            if rnd.random() < 0.05:
                senders.append(("n1", 1 + rnd.randrange(4)))  # n1 again (restarted before its checkpoint)
            for node, lag in senders:
                i, v = event(ks, table, key, ts, n, node, seg[node] + a.seed * 10)
                plan.append((n + lag, len(plan), "tmp." + t, json.dumps({"id": key}, separators=(",", ":")), v,
                             {"topic": "tmp." + t, "ks": ks, "table": table, "key": json.dumps({"id": key},
                              separators=(",", ":")), "value": v, "id": i, "ts": ts, "node": node,
                              "event": True, "tag": a.tag}))
    plan.sort()
    if a.junk:
        t = "tmp." + topics[0]
        for j, (k, v) in enumerate([("j1", "not json at all"), ("j2", '{"op":"insert","keyspace":"a"}'),
                                    ("j3", '{"rows":[],"key":"drama:2015"}'), ("j4", None),
                                    ("j5", '{"id":"x","ts":1,"keyspace":"bad name","table":"t"}')]):
            plan.insert(len(plan) // 2 + j * 7, (0, -1, t, k, v, {"topic": t, "key": k, "value": v,
                                                                 "event": False, "tag": a.tag}))
    for _, _, t, k, v, meta in plan:
        while True:
            try:
                p.produce(t, key=k.encode(), value=v.encode() if v is not None else None, on_delivery=report(meta))
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    if p.flush(60) != 0:
        raise SystemExit("messages left unacknowledged")
    with open(a.manifest, "a") as f:
        for m in out:
            f.write(json.dumps(m) + "\n")
    print("# produced %d messages (%d events) into %s" % (len(out), sum(m["event"] for m in out), ",".join(topics)))


def load(path):
    return [json.loads(l) for l in open(path)]


def expected(msgs, mode, since):
    """Per output topic: the list of (key, id, value) in the relay's read order
    within each source partition."""
    by_part = collections.defaultdict(list)
    for m in msgs:
        by_part[(m["topic"], m["partition"])].append(m)
    out = []  # (topic, partition, offset, msg)
    for (t, part), ms in by_part.items():
        ms.sort(key=lambda m: m["offset"])
        seen = collections.defaultdict(set)
        for m in ms:
            if not m["event"] or (since is not None and m["ts"] < since):
                continue
            if mode == "all":
                out.append(m)
            elif mode == "dedup":
                if not seen[m["id"]]:
                    out.append(m)
                seen[m["id"]].add(m["node"])
            elif mode == "min2":
                if m["node"] in seen[m["id"]]:
                    continue
                seen[m["id"]].add(m["node"])
                if len(seen[m["id"]]) == 2:
                    out.append(m)
    return out


def read_all(broker, prefix):
    admin = AdminClient({"bootstrap.servers": broker})
    md = admin.list_topics(timeout=10)
    c = Consumer({"bootstrap.servers": broker, "group.id": "relay-check-%d" % os.getpid(),
                  "enable.auto.commit": False, "enable.partition.eof": True})
    tps = [TopicPartition(t, p, 0) for t, tm in md.topics.items() if t.startswith(prefix + ".")
           for p in tm.partitions]
    got = []
    if not tps:
        return got
    c.assign(tps)
    left = {(tp.topic, tp.partition) for tp in tps}
    for tp in tps:
        lo, hi = c.get_watermark_offsets(tp, timeout=10)
        if hi == 0:
            left.discard((tp.topic, tp.partition))
    deadline = time.time() + 30
    while left and time.time() < deadline:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            if m.error().code() == -191:  # _PARTITION_EOF
                left.discard((m.topic(), m.partition()))
            continue
        got.append({"topic": m.topic(), "partition": m.partition(), "offset": m.offset(),
                    "key": m.key().decode() if m.key() is not None else None,
                    "value": m.value().decode() if m.value() is not None else None})
    c.close()
    return got


def say(good, msg):
    print(("ok - " if good else "not ok - ") + msg)
    return good


def check(a):
    msgs = load(a.manifest)
    want = expected(msgs, a.mode, a.since)
    got = read_all(a.broker, a.prefix)
    name = "relay %s (%s)" % (a.prefix, a.mode if a.since is None else a.mode + " --since")
    wantc = collections.Counter(("%s.%s.%s" % (a.prefix, m["ks"], m["table"]), m["key"], m["value"]) for m in want)
    gotc = collections.Counter((g["topic"], g["key"], g["value"]) for g in got)
    missing, extra = wantc - gotc, gotc - wantc
    for x in list(missing)[:3]:
        print("# missing:", x[0], x[1], x[2][:120])
    for x in list(extra)[:3]:
        print("# unexpected:", x[0], x[1], (x[2] or "")[:120])
    if a.at_least_once:
        # nothing lost; anything extra must be a repeat of an expected message
        say(not missing and all(x in wantc for x in extra) and len(want) > 0,
            "%s: all %d expected messages present after SIGKILL and restart, %d repeats, %d missing, "
            "%d foreign" % (name, len(want), sum(extra.values()), sum(missing.values()),
                            sum(v for x, v in extra.items() if x not in wantc)))
    else:
        say(not missing and not extra and len(want) > 0,
            "%s: output topics hold exactly the %d expected messages (%d read, %d missing, %d unexpected)"
            % (name, len(want), len(got), sum(missing.values()), sum(extra.values())))
    # order per key: the output's sequence for each key is the expected one
    # (repeats after a crash come back in order after the copies before them)
    wseq, gseq = collections.defaultdict(list), collections.defaultdict(list)
    for m in want:
        wseq[("%s.%s.%s" % (a.prefix, m["ks"], m["table"]), m["key"])].append(m["value"])
    keyparts = collections.defaultdict(set)
    for g in sorted(got, key=lambda g: (g["topic"], g["partition"], g["offset"])):
        gseq[(g["topic"], g["key"])].append(g["value"])
        keyparts[(g["topic"], g["key"])].add(g["partition"])
    bad = [k for k in wseq if (gseq[k] != wseq[k] if not a.at_least_once else not subseq_with_repeats(wseq[k], gseq[k]))]
    say(not bad and len(wseq) > 10, "%s: order per key kept (%d keys%s)" % (name, len(wseq), ", first wrong: %s %s" % bad[0] if bad else ""))
    say(all(len(v) == 1 for v in keyparts.values()) and len(keyparts) > 0,
        "%s: each key in one output partition (%d keys)" % (name, len(keyparts)))


def subseq_with_repeats(want, got):
    """Whether got is want with stretches repeated (a crash replays from the
    last commit): every element of want appears, in order, and got holds
    nothing else."""
    i = 0
    for g in got:
        if i < len(want) and g == want[i]:
            i += 1
        elif g not in want[:i]:
            return False
    return i == len(want)


def deadletters(a):
    msgs = [m for m in load(a.manifest) if not m["event"]]
    lines = [json.loads(l) for l in open(a.file)] if os.path.exists(a.file) else []
    have = {(d["topic"], d["partition"], d["offset"]) for d in lines}
    want = {(m["topic"], m["partition"], m["offset"]) for m in msgs}
    say(want and want <= have and all(d.get("error", "").startswith("not an event") for d in lines),
        "relay: the %d messages that are not events are in %s with topic, partition, offset (%d lines)"
        % (len(want), os.path.basename(a.file), len(lines)))
    vals = {(m["topic"], m["partition"], m["offset"]): m["value"] for m in msgs}
    say(all(d["event"] == vals[(d["topic"], d["partition"], d["offset"])] for d in lines if
            (d["topic"], d["partition"], d["offset"]) in vals),
        "relay: each dead letter holds the message as read (null for the one without a value)")


def unconfirmed(a):
    """--min-copies 2: the changes (at or after --since) only one replica sent
    must be listed when they leave the id window, and no other."""
    nodes = collections.defaultdict(set)
    for m in load(a.manifest):
        if m["event"] and m["ts"] >= a.since:
            nodes[m["id"]].add(m["node"])
    want = {i for i, n in nodes.items() if len(n) < 2}
    lines = [json.loads(l) for l in open(a.file)] if os.path.exists(a.file) else []
    have = collections.Counter(d["id"] for d in lines)
    say(want and set(have) == want and all(v == 1 for v in have.values()) and
        all(d["copies"] == 1 and d["min_copies"] == 2 for d in lines),
        "relay --min-copies 2: the %d changes only one replica sent are listed in %s when they leave the "
        "window (%d lines, %d expected missing, %d not expected)" % (len(want), os.path.basename(a.file),
                                                                     len(lines), len(want - set(have)),
                                                                     len(set(have) - want)))


def count(broker, prefix):
    admin = AdminClient({"bootstrap.servers": broker})
    md = admin.list_topics(timeout=10)
    c = Consumer({"bootstrap.servers": broker, "group.id": "relay-count"})
    n = 0
    for t, tm in md.topics.items():
        if t.startswith(prefix + "."):
            for p in tm.partitions:
                try:
                    lo, hi = c.get_watermark_offsets(TopicPartition(t, p), timeout=10)
                except Exception:  # a topic just created: no leader yet
                    continue
                n += hi - lo
    c.close()
    return n


def wait_kill(a):
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            os.kill(a.pid, 0)
        except ProcessLookupError:
            print("exited")
            return
        n = count(a.broker, a.prefix)
        if n >= a.count:
            os.kill(a.pid, signal.SIGKILL)
            print(n)
            return
        time.sleep(0.05)
    print("timeout")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("produce")
    p.add_argument("broker"); p.add_argument("manifest")
    p.add_argument("--tag", default="a"); p.add_argument("--changes", type=int, default=500)
    p.add_argument("--cut-at", type=float, default=0.2); p.add_argument("--seed", type=int, default=1)
    p.add_argument("--ts-offset", type=int, default=0)
    p.add_argument("--topics", default="shop.orders,shop.items,ks2.t")
    p.add_argument("--junk", action="store_true")
    p = sub.add_parser("expect")
    p.add_argument("manifest"); p.add_argument("mode"); p.add_argument("--since", type=int)
    p = sub.add_parser("check")
    p.add_argument("manifest"); p.add_argument("broker"); p.add_argument("prefix"); p.add_argument("mode")
    p.add_argument("--since", type=int); p.add_argument("--at-least-once", action="store_true")
    p = sub.add_parser("deadletters")
    p.add_argument("manifest"); p.add_argument("file")
    p = sub.add_parser("unconfirmed")
    p.add_argument("manifest"); p.add_argument("file"); p.add_argument("--since", type=int, required=True)
    p = sub.add_parser("wait-kill")
    p.add_argument("broker"); p.add_argument("prefix"); p.add_argument("count", type=int); p.add_argument("pid", type=int)
    p = sub.add_parser("count")
    p.add_argument("broker"); p.add_argument("prefix")
    a = ap.parse_args()
    if a.cmd == "produce":
        produce(a)
    elif a.cmd == "expect":
        print(json.dumps(expected(load(a.manifest), a.mode, a.since)))
    elif a.cmd == "check":
        check(a)
    elif a.cmd == "deadletters":
        deadletters(a)
    elif a.cmd == "unconfirmed":
        unconfirmed(a)
    elif a.cmd == "wait-kill":
        wait_kill(a)
    elif a.cmd == "count":
        print(count(a.broker, a.prefix))


if __name__ == "__main__":
    main()
