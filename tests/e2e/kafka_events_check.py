#!/usr/bin/env python3
"""kafka_events_check.py --bootstrap B --prefix P --want FILE [--want FILE]
                        [--absent FILE] [--idle S] [--timeout S]

Reads every message of every topic whose name starts with P (from the low
watermark to the high one, as tests/e2e/kafka_verify.py does; its consume()
is used) and compares the message values with the lines of the --want files
(the events expected, one JSON text a line, e.g. `cdctail replay` of the
intact segments), as multisets of exact texts:

  lost        wanted lines with no message equal to them
  duplicates  messages beyond the number of times their line is wanted
              (at-least-once: reported, not a failure)
  spurious    messages equal to no wanted line
  absent      lines of --absent (events that must not be in Kafka, e.g. those
              of a damaged entry) found in Kafka

Prints one JSON object; exit 0 when lost, spurious and absent are all 0 and
Kafka was read to its high watermarks."""
import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_verify  # noqa: E402


def lines(paths):
    c = collections.Counter()
    for p in paths:
        with open(p, encoding="utf-8") as f:
            for l in f:
                l = l.rstrip("\n")
                if l:
                    c[l] += 1
    return c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--want", action="append", default=[])
    ap.add_argument("--absent", action="append", default=[])
    ap.add_argument("--idle", type=float, default=3)
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": "kafka-events-check"})
    topics = sorted(t for t in c.list_topics(timeout=30).topics if t.startswith(a.prefix))
    c.close()
    a.topic = topics
    msgs, _parts, missing, errors, _secs = kafka_verify.consume(a)
    got = collections.Counter(m[4].decode("utf-8") for m in msgs if m[4] is not None)
    want = lines(a.want)
    absent = lines(a.absent)
    lost = sum((want - got).values())
    dup = sum(max(0, got[k] - want[k]) for k in got if k in want)
    spurious = sum(v for k, v in got.items() if k not in want)
    found_absent = sum(1 for k in absent if k in got)
    out = {"topics": len(topics), "messages": sum(got.values()), "wanted": sum(want.values()), "lost": lost,
           "duplicates": dup, "spurious": spurious, "absent_found": found_absent, "errors": errors + missing}
    print(json.dumps(out))
    ok = topics and not lost and not spurious and not found_absent and not errors and not missing
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
