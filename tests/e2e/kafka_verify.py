#!/usr/bin/env python3
"""Checks Kafka against the log of tests/e2e/loadgen.py: every write Cassandra
acknowledged arrived as an event (docs/events.md) in its table's topic.
Depends only on Kafka (confluent-kafka) and the documented event format.

usage:
  kafka_verify.py --bootstrap 127.0.0.1:9092 --topic T [--topic T2]
                  --writes writes.jsonl [--writes more.jsonl] [--copies 1|2]
                  [--since TS | --exact-since TS] [--report out.json]
                  [--key-format report|json] [--lost-out FILE]

Reads every message of the topics from the beginning (a consumer with a
unique group id, assigned to every partition from the low watermark) until it
has reached the partitions' high watermarks (get_watermark_offsets, asked again
each time) and no new message came for --idle seconds (default 5). Then:

  lost        acknowledged writes (ts >= --since) with no event of the same
              ts, keyspace, table and partition key (`key`)
  duplicates  events beyond --copies for one write (at-least-once: reported,
              never a failure)
  under_copied  with --copies 2: writes that arrived fewer than 2 times (but
              at least once; 0 is lost)
  id_mismatch writes whose events do not all carry the same `id` (every
              replica's copy of one write has the same id, docs/events.md)
  spurious    events (ts >= --since) whose ts no logged write used, or whose
              key/keyspace/table differ from the write of that ts. The ts of a
              write that failed (logged "failed":true: maybe applied) is
              neither spurious nor lost. TTL expiry writes nothing to the
              commitlog, and docs/events.md lists no expiry event: an
              expiring insert gives one insert event with `ttl`, so there is
              no exception for TTLs.
  before_cut  with --exact-since TS: events with ts < TS (a replay started
              at TS must not send them); every write with ts >= TS is checked
              as by --since
  bad_messages  values that are not a JSON object with ts and key
  clustering_mismatch  (information, not a failure) row writes whose event's
              `clustering` differs from the row the write named
  message key docs/events.md does not document the Kafka message key: by
              default (--key-format report) the first 3 keys are reported with
              the event's key, and how many keys equal the event's `key` as
              compact JSON, never a failure. --key-format json makes a
              message key that does not parse as JSON equal to the event's
              `key` a failure (key_mismatch).

Prints the report as JSON (and writes it to --report); exit 1 when lost,
spurious, id_mismatch, before_cut, bad_messages or key_mismatch is not 0, or
(--copies 2) under_copied is not 0; exit 2 on usage or Kafka errors; else 0.
"""
import argparse
import collections
import json
import re
import sys
import time
import uuid

ID_RE = re.compile(r"^[0-9a-f]{16}$")
EXAMPLES = 10


def compact(o):
    return json.dumps(o, separators=(",", ":"), ensure_ascii=False)


def load_writes(paths):
    acked, failed = {}, {}
    dup_ts = 0
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                w = json.loads(line)
                ts = int(w["ts"])
                if ts in acked or ts in failed:
                    dup_ts += 1
                (failed if w.get("failed") else acked)[ts] = w
    return acked, failed, dup_ts


def consume(a):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": f"kafka-verify-{uuid.uuid4()}",
                  "auto.offset.reset": "earliest", "enable.auto.commit": False,
                  "enable.partition.eof": False, "fetch.wait.max.ms": 100})
    tps, missing_topics = [], []
    md = c.list_topics(timeout=30)
    for t in a.topic:
        tm = md.topics.get(t)
        if tm is None or tm.error is not None or not tm.partitions:
            missing_topics.append(t)
            continue
        for p in sorted(tm.partitions):
            tps.append(TopicPartition(t, p))
    # start at the low watermark: earliest, explicitly (no group rebalance to wait for)
    low, high = {}, {}
    for tp in tps:
        lo, hi = c.get_watermark_offsets(tp, timeout=30, cached=False)
        low[(tp.topic, tp.partition)], high[(tp.topic, tp.partition)] = lo, hi
    if tps:
        c.assign([TopicPartition(tp.topic, tp.partition, low[(tp.topic, tp.partition)]) for tp in tps])
    pos = dict(low)  # next offset to read per partition
    msgs = []
    errors = []
    t0 = time.monotonic()
    last_new = time.monotonic()
    last_wm = 0.0
    while tps:
        batch = c.consume(num_messages=5000, timeout=0.5)
        now = time.monotonic()
        for m in batch:
            if m.error():
                errors.append(str(m.error()))
                continue
            tp = (m.topic(), m.partition())
            pos[tp] = max(pos[tp], m.offset() + 1)
            msgs.append((m.topic(), m.partition(), m.offset(), m.key(), m.value()))
        if batch:
            last_new = now
        caught_up = all(pos[tp] >= high[tp] for tp in pos)
        if caught_up and now - last_wm >= 1.0:
            # new messages may have arrived since: ask again
            for tp in pos:
                _lo, hi = c.get_watermark_offsets(TopicPartition(*tp), timeout=30, cached=False)
                high[tp] = hi
            last_wm = now
            caught_up = all(pos[tp] >= high[tp] for tp in pos)
        if caught_up and now - last_new >= a.idle:
            break
        if now - t0 > a.timeout:
            errors.append(f"gave up after {a.timeout} s: not at the high watermark "
                          f"({sum(max(0, high[tp] - pos[tp]) for tp in pos)} messages left)")
            break
    c.close()
    parts = {f"{t}[{p}]": {"low": low[(t, p)], "high": high[(t, p)], "read_to": pos[(t, p)]} for t, p in pos}
    return msgs, parts, missing_topics, errors, time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bootstrap", default="127.0.0.1:9092")
    ap.add_argument("--topic", action="append", required=True)
    ap.add_argument("--writes", action="append", required=True, help="loadgen.py --log file (repeatable)")
    ap.add_argument("--copies", type=int, choices=(1, 2), default=1)
    ap.add_argument("--since", type=int, help="check only writes and events with ts >= SINCE")
    ap.add_argument("--exact-since", type=int, metavar="TS",
                    help="as --since TS, and no event with ts < TS may be present")
    ap.add_argument("--report", help="also write the report here")
    ap.add_argument("--lost-out", help="write the ts of every lost write here, one a line")
    ap.add_argument("--idle", type=float, default=5.0, help="seconds with no new message at the end offsets")
    ap.add_argument("--timeout", type=float, default=900.0, help="give up reading after this many seconds")
    ap.add_argument("--key-format", choices=("report", "json"), default="report")
    a = ap.parse_args()
    if a.since is not None and a.exact_since is not None:
        ap.error("--since and --exact-since exclude each other")
    since = a.exact_since if a.exact_since is not None else a.since

    acked, failed, dup_ts = load_writes(a.writes)
    try:
        msgs, parts, missing_topics, kerrors, read_s = consume(a)
    except Exception as e:  # noqa: BLE001  (KafkaException: broker down etc.)
        print(json.dumps({"error": f"{type(e).__name__}: {e}"}))
        return 2

    by_ts = collections.defaultdict(list)  # ts -> [event summary]
    bad, bad_ids = [], 0
    key_samples, key_compact_equal, key_mismatch, key_mismatch_ex = [], 0, 0, []
    spurious, spurious_ex = 0, []
    before_cut, before_cut_ex = 0, []
    ignored_before_since = 0
    unacked_seen = 0
    ops = collections.Counter()
    for topic, part, off, mkey, val in msgs:
        try:
            e = json.loads(val)
            ts, ekey = int(e["ts"]), e["key"]
        except Exception as ex:  # noqa: BLE001
            bad.append({"topic": topic, "partition": part, "offset": off, "error": str(ex),
                        "value": (val or b"")[:200].decode("utf-8", "replace")})
            continue
        ops[e.get("op")] += 1
        ev = {"topic": topic, "partition": part, "offset": off, "ts": ts, "key": ekey,
              "keyspace": e.get("keyspace"), "table": e.get("table"), "op": e.get("op"), "id": e.get("id"),
              "clustering": e.get("clustering")}
        if not isinstance(ev["id"], str) or not ID_RE.match(ev["id"]):
            bad_ids += 1
        # (d) the message key
        mk = mkey.decode("utf-8", "replace") if mkey is not None else None
        if len(key_samples) < 3:
            key_samples.append({"topic": topic, "message_key": mk, "event_key": ekey})
        if mk == compact(ekey):
            key_compact_equal += 1
        if a.key_format == "json":
            try:
                okk = json.loads(mk) == ekey
            except Exception:  # noqa: BLE001
                okk = False
            if not okk:
                key_mismatch += 1
                if len(key_mismatch_ex) < EXAMPLES:
                    key_mismatch_ex.append({"message_key": mk, "event_key": ekey, "offset": off, "topic": topic})
        if since is not None and ts < since:
            if a.exact_since is not None:
                before_cut += 1
                if len(before_cut_ex) < EXAMPLES:
                    before_cut_ex.append(ev)
            ignored_before_since += 1
            continue
        w = acked.get(ts)
        if w is None:
            if ts in failed:
                unacked_seen += 1
                continue
            spurious += 1
            if len(spurious_ex) < EXAMPLES:
                spurious_ex.append({**ev, "why": "no write used this ts"})
            continue
        if ekey != w["key"] or ev["keyspace"] != w.get("ks", ev["keyspace"]) or ev["table"] != w.get("table", ev["table"]):
            spurious += 1
            if len(spurious_ex) < EXAMPLES:
                spurious_ex.append({**ev, "why": "the write of this ts has another key/table",
                                    "write": {"key": w["key"], "ks": w.get("ks"), "table": w.get("table")}})
            continue
        by_ts[ts].append(ev)

    lost, lost_ex, lost_by_shape = 0, [], collections.Counter()
    lost_ts = []
    dup_total, dup_writes, dup_max, dup_ex = 0, 0, 0, []
    under, under_ex = 0, []
    idm, idm_ex = 0, []
    cmis, cmis_ex = 0, []
    copies_hist = collections.Counter()
    shape_ops = collections.defaultdict(collections.Counter)
    checked = 0
    for ts, w in acked.items():
        if since is not None and ts < since:
            continue
        checked += 1
        evs = by_ts.get(ts, [])
        copies_hist[len(evs)] += 1
        if not evs:
            lost += 1
            lost_ts.append(ts)
            lost_by_shape[w.get("shape")] += 1
            if len(lost_ex) < EXAMPLES:
                lost_ex.append(w)
            continue
        for ev in evs:
            shape_ops[w.get("shape")][ev["op"]] += 1
            # a write naming a whole clustering (a row) gives an event of that row
            wc = w.get("clustering") or {}
            if len(wc) >= 2 and "range" not in w and ev["clustering"] is not None and ev["clustering"] != wc:
                cmis += 1
                if len(cmis_ex) < EXAMPLES:
                    cmis_ex.append({"ts": ts, "write": wc, "event": ev["clustering"]})
        extra = len(evs) - a.copies
        if extra > 0:
            dup_total += extra
            dup_writes += 1
            dup_max = max(dup_max, len(evs))
            if len(dup_ex) < EXAMPLES:
                dup_ex.append({"ts": ts, "copies": len(evs),
                               "at": [f"{ev['topic']}[{ev['partition']}]@{ev['offset']}" for ev in evs]})
        if a.copies == 2 and len(evs) < 2:
            under += 1
            if len(under_ex) < EXAMPLES:
                under_ex.append({"ts": ts, "copies": len(evs), "key": w["key"], "shape": w.get("shape")})
        ids = sorted({ev["id"] for ev in evs}, key=str)
        if len(ids) > 1:
            idm += 1
            if len(idm_ex) < EXAMPLES:
                idm_ex.append({"ts": ts, "ids": ids, "key": w["key"]})

    fail = (lost or spurious or idm or before_cut or bad or key_mismatch or kerrors or missing_topics
            or (a.copies == 2 and under))
    rep = {
        "ok": not fail,
        "messages": len(msgs),
        "writes": len(acked), "writes_failed_in_log": len(failed), "writes_checked": checked,
        "since": since, "exact_since": a.exact_since is not None,
        "lost": lost, "duplicates": dup_total, "writes_with_duplicates": dup_writes,
        "spurious": spurious, "id_mismatch": idm,
        "copies": a.copies, "under_copied": under if a.copies == 2 else None,
        "copies_histogram": {str(k): v for k, v in sorted(copies_hist.items())},
        "before_cut": before_cut if a.exact_since is not None else None,
        "ignored_before_since": ignored_before_since,
        "unacknowledged_writes_seen": unacked_seen,
        "bad_messages": len(bad), "bad_ids": bad_ids,
        "message_key": {"format_checked": a.key_format, "first": key_samples,
                        "equal_to_compact_json_of_key": key_compact_equal, "mismatch": key_mismatch},
        "clustering_mismatch": cmis,
        "ops": dict(ops), "shape_ops": {k: dict(v) for k, v in sorted(shape_ops.items())},
        "lost_by_shape": dict(lost_by_shape),
        "duplicate_ts_in_writes_log": dup_ts,
        "missing_topics": missing_topics, "kafka_errors": kerrors[:EXAMPLES],
        "partitions": parts, "read_seconds": round(read_s, 2),
        "examples": {"lost": lost_ex, "spurious": spurious_ex, "id_mismatch": idm_ex, "duplicates": dup_ex,
                     "under_copied": under_ex, "before_cut": before_cut_ex, "bad": bad[:EXAMPLES],
                     "key_mismatch": key_mismatch_ex, "clustering_mismatch": cmis_ex},
    }
    text = json.dumps(rep, ensure_ascii=False)
    print(text)
    if a.lost_out:
        with open(a.lost_out, "w", encoding="utf-8") as f:
            f.writelines("%d\n" % t for t in sorted(lost_ts))
    if a.report:
        with open(a.report, "w", encoding="utf-8") as f:
            f.write(json.dumps(rep, ensure_ascii=False, indent=1) + "\n")
    if kerrors or missing_topics:
        return 2
    return 1 if fail else 0


if __name__ == "__main__":
    sys.exit(main())
