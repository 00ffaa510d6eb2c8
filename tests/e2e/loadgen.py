#!/usr/bin/env python3
"""Load generator for end-to-end tests of `cdctail run`: writes the seed's
mutation mix into a real Cassandra at a fixed rate and logs every write that
Cassandra acknowledged, so that tests/e2e/kafka_verify.py can check that each
one reached Kafka. Depends only on Cassandra (cassandra-driver), Kafka
(confluent-kafka, probe mode only) and the event format of docs/events.md.

usage:
  loadgen.py --host ADDR [--host ADDR2] --keyspace KS --rf N --rate 1000
             --seconds 60 --log writes.jsonl [--seed S] [--create]
  loadgen.py --host ADDR --keyspace KS --latency-probe N --probe-topic T
             --bootstrap 127.0.0.1:9092 [--log probe.jsonl]

Every statement carries an explicit, unique, strictly increasing
`USING TIMESTAMP` (microseconds: now*1e6 at start, +1 per write), so the
event of each write is found by its `ts` (docs/events.md: `ts` is the write
timestamp). Statements are prepared and run with execute_async, at most
--inflight at a time, consistency ALL when --rf > 1, else ONE.

The mix (--seed makes it repeatable; the timestamps are not):
  insert          60%  INSERT of a full row
  update          15%  UPDATE director, country of one row
  delete_director  5%  DELETE director (a cell tombstone)
  delete_row       5%  DELETE one row
  delete_range     5%  DELETE ... WHERE rating = X AND duration > Y
  delete_rating    3%  DELETE ... WHERE rating = X (every row with one rating)
  delete_partition 2%  DELETE a whole partition
  insert_ttl       5%  INSERT of a full row USING TTL
Partitions: genre from a list of 6 x year 1990..2020.

Log (--log, JSON lines, in acknowledgement order, not ts order): one line per
acknowledged write
  {"ts":..,"shape":..,"ks":..,"table":..,"key":{"genre":..,"year":..},
   "clustering":{..what the statement names..}[,"range":{"duration":{"gt":Y}}][,"ttl":S]}
and one line per write that failed, with "failed":true and "error":"..." (a
failed write may or may not have been applied: the verifier treats its ts as
neither lost nor spurious).
stdout: one JSON summary (attempted, acknowledged, failed, achieved_rate,
latency_ms p50/p99/max, ...). Exit 1 when a write failed, else 0.

Probe mode (--latency-probe N): a confluent-kafka consumer is assigned to every
partition of --probe-topic at its end offset; then N single INSERTs, 100 ms
apart, each acknowledged synchronously; for each, the time from the CQL
acknowledgement to the first Kafka message whose event has that ts. Prints
{"probes":N,"received":..,"p50_ms":..,"p99_ms":..,"max_ms":..}; exit 1 when
an event did not arrive within --probe-timeout seconds after the last write.
"""
import argparse
import collections
import json
import random
import sys
import threading
import time

GENRES = ['horror', 'comedy', 'action', 'sci-fi', 'drama', 'thriller']
YEARS = list(range(1990, 2021))
RATINGS = [5.5, 6.0, 7.4, 7.5, 8.25, 9.0, 9.5]  # 7.4 is not exact in float: the event says 7.4 (shortest)
TITLES = ['Jurassic World', 'Toy Story', 'Deadpool', 'Gravity', 'The Matrix', "It's \"quoted\"", 'Amélie']
DIRECTORS = ['Philippe Falardeau', 'Martin Scorsese', 'Steven Spielberg', 'Ridley Scott', 'Agnès Varda']
COUNTRIES = ['US', 'FR', 'RS', 'JP', 'GB']
MIX = [("insert", 60), ("update", 15), ("delete_director", 5), ("delete_row", 5), ("delete_range", 5),
       ("delete_rating", 3), ("delete_partition", 2), ("insert_ttl", 5)]
COLUMNS = ("title text, genre text, year int, rating float, duration int, director text, country text, "
           "PRIMARY KEY ((genre, year), rating, duration)")


def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    i = min(len(xs) - 1, max(0, int(round(p / 100.0 * len(xs) + 0.5)) - 1))
    return xs[i]


def connect(a):
    from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
    from cassandra import ConsistencyLevel
    from cassandra.policies import RoundRobinPolicy, TokenAwarePolicy
    cl = ConsistencyLevel.ALL if a.rf > 1 else ConsistencyLevel.ONE
    prof = ExecutionProfile(load_balancing_policy=TokenAwarePolicy(RoundRobinPolicy()),
                            request_timeout=a.request_timeout, consistency_level=cl)
    cluster = Cluster(a.host, port=a.port, execution_profiles={EXEC_PROFILE_DEFAULT: prof},
                      connect_timeout=30, control_connection_timeout=30)
    return cluster, cluster.connect()


def create(s, a):
    s.execute(f"CREATE KEYSPACE IF NOT EXISTS {a.keyspace} WITH replication = "
              f"{{'class': 'SimpleStrategy', 'replication_factor': {a.rf}}}", timeout=120)
    s.execute(f"CREATE TABLE IF NOT EXISTS {a.keyspace}.{a.table} ({COLUMNS}) WITH cdc = true", timeout=120)
    # every node must know the table before a write at CL ALL reaches it
    s.cluster.control_connection.wait_for_schema_agreement(wait_time=60)


class Statements:
    def __init__(self, s, ks, table, ttl):
        t = f"{ks}.{table}"
        self.ttl = ttl
        p = "genre = ? AND year = ?"
        self.q = {
            "insert": s.prepare(f"INSERT INTO {t} (genre, year, rating, duration, title, director, country) "
                                f"VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ?"),
            "insert_ttl": s.prepare(f"INSERT INTO {t} (genre, year, rating, duration, title, director, country) "
                                    f"VALUES (?, ?, ?, ?, ?, ?, ?) USING TIMESTAMP ? AND TTL ?"),
            "update": s.prepare(f"UPDATE {t} USING TIMESTAMP ? SET director = ?, country = ? "
                                f"WHERE {p} AND rating = ? AND duration = ?"),
            "delete_director": s.prepare(f"DELETE director FROM {t} USING TIMESTAMP ? "
                                         f"WHERE {p} AND rating = ? AND duration = ?"),
            "delete_row": s.prepare(f"DELETE FROM {t} USING TIMESTAMP ? WHERE {p} AND rating = ? AND duration = ?"),
            "delete_range": s.prepare(f"DELETE FROM {t} USING TIMESTAMP ? WHERE {p} AND rating = ? AND duration > ?"),
            "delete_rating": s.prepare(f"DELETE FROM {t} USING TIMESTAMP ? WHERE {p} AND rating = ?"),
            "delete_partition": s.prepare(f"DELETE FROM {t} USING TIMESTAMP ? WHERE {p}"),
        }

    def make(self, shape, ts, rng):
        """(prepared statement, values, log record without ts/ks/table)."""
        g, y = rng.choice(GENRES), rng.choice(YEARS)
        r, d = rng.choice(RATINGS), rng.randint(85, 150)
        rec = {"shape": shape, "key": {"genre": g, "year": y}, "clustering": {"rating": r, "duration": d}}
        if shape in ("insert", "insert_ttl"):
            v = [g, y, r, d, rng.choice(TITLES), rng.choice(DIRECTORS), rng.choice(COUNTRIES), ts]
            if shape == "insert_ttl":
                v.append(self.ttl)
                rec["ttl"] = self.ttl
        elif shape == "update":
            v = [ts, rng.choice(DIRECTORS), rng.choice(COUNTRIES), g, y, r, d]
        elif shape in ("delete_director", "delete_row"):
            v = [ts, g, y, r, d]
        elif shape == "delete_range":
            v = [ts, g, y, r, d]
            rec["clustering"] = {"rating": r}
            rec["range"] = {"duration": {"gt": d}}
        elif shape == "delete_rating":
            v = [ts, g, y, r]
            rec["clustering"] = {"rating": r}
        elif shape == "delete_partition":
            v = [ts, g, y]
            rec["clustering"] = {}
        else:
            raise ValueError(shape)
        return self.q[shape], v, rec


def run_load(s, a, out):
    rng = random.Random(a.seed)
    shapes = [sh for sh, _ in MIX]
    weights = [w for _, w in MIX]
    st = Statements(s, a.keyspace, a.table, a.ttl)
    total = int(a.rate * a.seconds)
    sem = threading.BoundedSemaphore(a.inflight)
    done = collections.deque()  # (record, latency s, error or None), appended by the driver's thread
    lock = threading.Lock()
    counts = {"acked": 0, "failed": 0}
    ts0 = a.ts_start if a.ts_start is not None else int(time.time() * 1e6)

    def finish(rec, t_sent, err):
        lat = time.monotonic() - t_sent
        with lock:
            counts["failed" if err else "acked"] += 1
        done.append((rec, lat, err))
        sem.release()

    lat_ok, errors, shape_count = [], collections.Counter(), collections.Counter()
    last_ack = [0.0]

    def drain():
        while done:
            rec, lat, err = done.popleft()
            if err is None:
                lat_ok.append(lat)
                last_ack[0] = time.monotonic()
            else:
                rec["failed"] = True
                rec["error"] = f"{type(err).__name__}: {err}"[:300]
                errors[type(err).__name__] += 1
            if out:
                out.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")

    start = time.monotonic()
    deadline = start + a.seconds
    behind_max = 0.0
    sent = 0
    blocked = 0.0
    while sent < total:
        now = time.monotonic()
        if now >= deadline + a.grace:
            break
        due = min(total, int((now - start) * a.rate) + 1)
        if due <= sent:
            drain()
            time.sleep(max(0.0, start + sent / a.rate - time.monotonic()))
            continue
        behind_max = max(behind_max, (now - start) - sent / a.rate)
        while sent < due:
            t_b = time.monotonic()
            if not sem.acquire(timeout=a.request_timeout + 5):
                print("loadgen: no acknowledgement within the request timeout", file=sys.stderr)
                break
            blocked += time.monotonic() - t_b
            ts = ts0 + sent
            shape = rng.choices(shapes, weights)[0]
            q, v, rec = st.make(shape, ts, rng)
            rec = {"ts": ts, **rec, "ks": a.keyspace, "table": a.table}
            shape_count[shape] += 1
            t_sent = time.monotonic()
            try:
                f = s.execute_async(q, v)
                f.add_callbacks(lambda _r, rec=rec, t=t_sent: finish(rec, t, None),
                                lambda e, rec=rec, t=t_sent: finish(rec, t, e))
            except Exception as e:  # noqa: BLE001  (e.g. NoHostAvailable raised synchronously)
                finish(rec, t_sent, e)
            sent += 1
        if len(done) > 2000:
            drain()
    send_end = time.monotonic()
    # wait for the writes in flight
    for _ in range(a.inflight):
        sem.acquire(timeout=a.request_timeout + 5)
    drain()
    elapsed_send = send_end - start
    elapsed_ack = (last_ack[0] or send_end) - start
    return {
        "mode": "load", "keyspace": a.keyspace, "table": a.table, "seed": a.seed,
        "target_rate": a.rate, "seconds": a.seconds, "inflight_max": a.inflight,
        "consistency": "ALL" if a.rf > 1 else "ONE",
        "attempted": sent, "target_writes": total,
        "acknowledged": counts["acked"], "failed": counts["failed"],
        "errors": dict(errors),
        "achieved_rate": round(counts["acked"] / elapsed_ack, 1) if elapsed_ack > 0 else None,
        "send_rate": round(sent / elapsed_send, 1) if elapsed_send > 0 else None,
        "elapsed_s": round(elapsed_ack, 3),
        "max_behind_schedule_ms": round(behind_max * 1000, 1),
        "blocked_on_inflight_s": round(blocked, 3),
        "latency_ms": {"p50": ms(pct(lat_ok, 50)), "p99": ms(pct(lat_ok, 99)), "max": ms(max(lat_ok, default=None))},
        "shapes": dict(sorted(shape_count.items())),
        "ts_first": ts0, "ts_last": ts0 + sent - 1,
    }


def ms(x):
    return None if x is None else round(x * 1000, 2)


def run_probe(s, a, out):
    from confluent_kafka import Consumer, TopicPartition
    import uuid
    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": f"loadgen-probe-{uuid.uuid4()}",
                  "enable.auto.commit": False, "auto.offset.reset": "latest",
                  "fetch.wait.max.ms": 10, "fetch.min.bytes": 1, "socket.nagle.disable": True})
    st = Statements(s, a.keyspace, a.table, a.ttl)
    rng = random.Random(a.seed)
    # the topic: wait until it exists (the first event creates it); when it
    # does not exist yet, one warm-up insert (logged, "probe":"warmup") makes it
    t_start = time.monotonic()
    t_end = t_start + a.probe_timeout
    parts = []
    warm = False
    while time.monotonic() < t_end:
        md = c.list_topics(a.probe_topic, timeout=10).topics.get(a.probe_topic)
        if md is not None and md.error is None and md.partitions:
            parts = sorted(md.partitions)
            break
        if not warm and time.monotonic() - t_start > 2:
            warm = True
            ts = int(time.time() * 1e6)
            q, v, rec = st.make("insert", ts, rng)
            s.execute(q, v)
            if out:
                rec = {"ts": ts, **rec, "ks": a.keyspace, "table": a.table, "probe": "warmup"}
                out.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
        time.sleep(0.5)
    if not parts:
        print(json.dumps({"mode": "probe", "error": f"topic {a.probe_topic} not found"}))
        return None
    tps = []
    for p in parts:
        _lo, hi = c.get_watermark_offsets(TopicPartition(a.probe_topic, p), timeout=10, cached=False)
        tps.append(TopicPartition(a.probe_topic, p, hi))
    c.assign(tps)
    arrivals = {}  # ts -> [monotonic time of each copy]
    stop = threading.Event()
    ready = threading.Event()

    def consume():
        while not stop.is_set():
            # poll returns at the first message; consume(n, timeout) would wait
            # the whole timeout for n messages, adding up to it to each arrival
            first = c.poll(0.05)
            ready.set()
            now = time.monotonic()
            msgs = ([first] + c.consume(num_messages=500, timeout=0)) if first is not None else []
            for m in msgs:
                if m.error():
                    continue
                try:
                    ts = json.loads(m.value())["ts"]
                except Exception:  # noqa: BLE001
                    continue
                arrivals.setdefault(ts, []).append(now)

    th = threading.Thread(target=consume, daemon=True)
    th.start()
    ready.wait(10)
    time.sleep(0.5)  # the fetch from the assigned offsets is running
    acked = {}
    failed = 0
    ts = int(time.time() * 1e6) + 1000
    for i in range(a.latency_probe):
        ts += 1
        q, v, rec = st.make("insert", ts, rng)
        rec = {"ts": ts, **rec, "ks": a.keyspace, "table": a.table, "probe": True}
        try:
            s.execute(q, v)
            acked[ts] = time.monotonic()
        except Exception as e:  # noqa: BLE001
            failed += 1
            rec["failed"] = True
            rec["error"] = f"{type(e).__name__}: {e}"[:300]
        if out:
            out.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
        time.sleep(0.1)
    t_end = time.monotonic() + a.probe_timeout
    while time.monotonic() < t_end and not all(t in arrivals for t in acked):
        time.sleep(0.05)
    time.sleep(0.5)  # late copies (a second replica's cdctail)
    stop.set()
    th.join(5)
    c.close()
    lats = [min(arrivals[t]) - acked[t] for t in acked if t in arrivals]
    copies = collections.Counter(len(arrivals[t]) for t in acked if t in arrivals)
    return {
        "mode": "probe", "topic": a.probe_topic, "probes": a.latency_probe, "failed": failed,
        "received": len(lats), "missing": len(acked) - len(lats),
        "copies": {str(k): v for k, v in sorted(copies.items())},
        "p50_ms": ms(pct(lats, 50)), "p99_ms": ms(pct(lats, 99)), "max_ms": ms(max(lats, default=None)),
        "min_ms": ms(min(lats, default=None)),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", action="append", required=True, help="contact point (repeat for more)")
    ap.add_argument("--port", type=int, default=9042)
    ap.add_argument("--keyspace", required=True)
    ap.add_argument("--table", default="movies_by_genre")
    ap.add_argument("--rf", type=int, default=1)
    ap.add_argument("--rate", type=float, default=1000, help="writes per second")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--log", help="JSON lines, one per write (acknowledged or failed)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--create", action="store_true", help="create the keyspace and table first")
    ap.add_argument("--inflight", type=int, default=256, help="most writes in flight at once")
    ap.add_argument("--ttl", type=int, default=86400, help="TTL of the insert_ttl shape (s)")
    ap.add_argument("--request-timeout", type=float, default=30.0)
    ap.add_argument("--grace", type=float, default=5.0,
                    help="keep sending this long past --seconds when behind, then stop")
    ap.add_argument("--ts-start", type=int, help="first write timestamp (µs; default: now). Two loadgens "
                    "writing at once need ranges that do not overlap (+1 per write)")
    ap.add_argument("--latency-probe", type=int, metavar="N")
    ap.add_argument("--probe-topic")
    ap.add_argument("--bootstrap", default="127.0.0.1:9092")
    ap.add_argument("--probe-timeout", type=float, default=60.0)
    a = ap.parse_args()
    if a.latency_probe and not a.probe_topic:
        ap.error("--latency-probe needs --probe-topic (cdctail.<keyspace>.<table> by default)")
    cluster, s = connect(a)
    out = open(a.log, "w", encoding="utf-8") if a.log else None
    try:
        if a.create:
            create(s, a)
        if a.latency_probe:
            r = run_probe(s, a, out)
            if r is None:
                return 1
            print(json.dumps(r))
            return 1 if r["missing"] or r["failed"] else 0
        r = run_load(s, a, out)
        print(json.dumps(r))
        return 1 if r["failed"] else 0
    finally:
        if out:
            out.close()
        cluster.shutdown()


if __name__ == "__main__":
    sys.exit(main())
