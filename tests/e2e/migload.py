#!/usr/bin/env python3
"""The application of the migration test (tests/e2e/t0700-migration.sh): a
write load that runs the whole time, first into the source Cassandra by CQL,
then, when told, straight into the final Kafka topics as events (the seed's
step 9), in the minimal event format `cdctail apply` reads (docs/apply.md).

usage:
  migload.py --host A --host B --keyspace KS --rf 2 --create [--cdc false]
  migload.py --host A --host B --keyspace KS --rf 2 --rate 1000 --control FILE
             --log writes.jsonl --bootstrap 127.0.0.1:9092 [--seed S]

Two tables: the seed's movies_by_genre (tests/e2e/loadgen.py's mix, its
statements) and `extras`, with a set, a list, a map and a UDT:

  extras (id int, seq int, tags set<text>, notes list<text>,
          scores map<text,int>, credit frozen-less UDT credit(name, role),
          PRIMARY KEY (id, seq))

70 % of the writes go to movies_by_genre, 30 % to extras (whole-row insert,
list append, set add and remove, map put and remove, UDT field set, row
delete).

Timestamps: every write carries `USING TIMESTAMP` (or, as an event, `ts`)
equal to the wall clock in microseconds, made strictly increasing (+1 when
the clock has not moved): timestamps follow the clock, as the snapshot and
the lag figures assume (docs/snapshot.md).

The control file (--control) says what to do; it is read every 100 ms, and
CONTROL.mode says the mode in force once a switch is complete:
  cql     write by CQL (the default when the file is absent or empty)
  kafka   write events to the final topics ({prefix}.{keyspace}.{table},
          key = the partition key as compact JSON): the CQL writes in flight
          are all acknowledged before the first event is produced, so every
          event's ts is above every CQL write's
  stop    finish (the writes in flight acknowledged) and exit

Log (--log, JSON lines): one line per write Cassandra or Kafka
acknowledged, {"via":"cql"|"kafka","ts":..,"table":..,"shape":..}, and for
events also "event": the event as produced (the comparer's model of the
direct writes reads it); failed ones with "failed":true and "error".
stdout at the end: a JSON summary (per phase: attempted, acknowledged,
failed, achieved rate, latency p50/p99). Exit 1 when a write failed.
"""
import argparse
import collections
import json
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import loadgen  # noqa: E402

EXTRAS_MIX = [("x_insert", 30), ("x_append", 20), ("x_tag_add", 15), ("x_tag_del", 5), ("x_score_put", 15),
              ("x_score_del", 5), ("x_credit", 5), ("x_delete", 5)]
TAGS = ["a", "b", "c", "d", "e", "f"]
NOTES = ["n1", "n2", "n3", "it's"]
SCORE_KEYS = ["k1", "k2", "k3", "k4"]
ROLES = ["lead", "support", "extra", "voice"]
NAMES = ["Ana", "Bo", "Zoë"]
EXTRAS_IDS = 200
EXTRAS_SEQS = 5


def compact(o):
    return json.dumps(o, ensure_ascii=False, separators=(",", ":"))


class Clock:
    """Wall-clock microseconds, strictly increasing across threads."""

    def __init__(self):
        self.last = 0
        self.lock = threading.Lock()

    def next(self):
        with self.lock:
            t = int(time.time() * 1e6)
            self.last = t if t > self.last else self.last + 1
            return self.last


def create(s, a):
    s.execute(f"CREATE KEYSPACE IF NOT EXISTS {a.keyspace} WITH replication = "
              f"{{'class': 'SimpleStrategy', 'replication_factor': {a.rf}}}", timeout=120)
    s.execute(f"CREATE TABLE IF NOT EXISTS {a.keyspace}.movies_by_genre ({loadgen.COLUMNS}) WITH cdc = {a.cdc}",
              timeout=120)
    s.execute(f"CREATE TYPE IF NOT EXISTS {a.keyspace}.credit (name text, role text)", timeout=120)
    s.execute(f"CREATE TABLE IF NOT EXISTS {a.keyspace}.extras (id int, seq int, tags set<text>, "
              f"notes list<text>, scores map<text, int>, credit credit, PRIMARY KEY (id, seq)) "
              f"WITH cdc = {a.cdc}", timeout=120)
    s.cluster.control_connection.wait_for_schema_agreement(wait_time=60)


class Writes:
    """Each shape as (CQL statement, values) and as an event."""

    def __init__(self, s, ks, ttl):
        self.ks, self.ttl = ks, ttl
        self.seed = loadgen.Statements(s, ks, "movies_by_genre", ttl)
        t = f"{ks}.extras"
        w = "WHERE id = ? AND seq = ?"
        self.xq = {
            "x_insert": s.prepare(f"INSERT INTO {t} (id, seq, tags, notes, scores, credit) VALUES (?, ?, ?, ?, ?, ?) "
                                  f"USING TIMESTAMP ?"),
            "x_append": s.prepare(f"UPDATE {t} USING TIMESTAMP ? SET notes = notes + ? {w}"),
            "x_tag_add": s.prepare(f"UPDATE {t} USING TIMESTAMP ? SET tags = tags + ? {w}"),
            "x_tag_del": s.prepare(f"UPDATE {t} USING TIMESTAMP ? SET tags = tags - ? {w}"),
            "x_score_put": s.prepare(f"UPDATE {t} USING TIMESTAMP ? SET scores = scores + ? {w}"),
            "x_score_del": s.prepare(f"DELETE scores[?] FROM {t} USING TIMESTAMP ? {w}"),
            "x_credit": s.prepare(f"UPDATE {t} USING TIMESTAMP ? SET credit.role = ? {w}"),
            "x_delete": s.prepare(f"DELETE FROM {t} USING TIMESTAMP ? {w}"),
        }

    def seed_write(self, shape, ts, rng):
        q, v, rec = self.seed.make(shape, ts, rng)
        ev = {"op": None, "keyspace": self.ks, "table": "movies_by_genre", "key": rec["key"]}
        ck = rec["clustering"]
        if shape in ("insert", "insert_ttl"):
            g, y, r, d, title, director, country = v[:7]
            ev["op"] = "insert"
            ev["clustering"] = ck
            cells = {"title": {"value": title}, "director": {"value": director}, "country": {"value": country}}
            if shape == "insert_ttl":
                exp = ts // 1000000 + self.ttl
                for c in cells.values():
                    c["ttl"], c["expires"] = self.ttl, exp
                ev["ttl"], ev["expires"] = self.ttl, exp
            ev["cells"] = cells
        elif shape == "update":
            ev["op"] = "update"
            ev["clustering"] = ck
            ev["cells"] = {"director": {"value": v[1]}, "country": {"value": v[2]}}
        elif shape == "delete_director":
            ev["op"] = "delete_cells"
            ev["clustering"] = ck
            ev["cells"] = {"director": {"deleted": True}}
        elif shape == "delete_row":
            ev["op"] = "delete_row"
            ev["clustering"] = ck
        elif shape == "delete_range":
            ev["op"] = "delete_range"
            ev["start"] = {"clustering": {"rating": ck["rating"], "duration": rec["range"]["duration"]["gt"]},
                           "inclusive": False}
            ev["end"] = {"clustering": {"rating": ck["rating"]}, "inclusive": True}
        elif shape == "delete_rating":
            ev["op"] = "delete_range"
            ev["start"] = {"clustering": {"rating": ck["rating"]}, "inclusive": True}
            ev["end"] = {"clustering": {"rating": ck["rating"]}, "inclusive": True}
        elif shape == "delete_partition":
            ev["op"] = "delete_partition"
        ev["ts"] = ts
        return q, v, {"shape": shape, "table": "movies_by_genre"}, ev

    def extras_write(self, shape, ts, rng):
        i, n = rng.randrange(EXTRAS_IDS), rng.randrange(EXTRAS_SEQS)
        ev = {"op": "update", "keyspace": self.ks, "table": "extras", "key": {"id": i},
              "clustering": {"seq": n}}
        if shape == "x_insert":
            tags = sorted(set(rng.sample(TAGS, rng.randint(0, 3))))
            notes = [rng.choice(NOTES) for _ in range(rng.randint(0, 2))]
            scores = {k: rng.randint(0, 99) for k in rng.sample(SCORE_KEYS, rng.randint(0, 2))}
            credit = {"name": rng.choice(NAMES), "role": rng.choice(ROLES)}
            v = [i, n, set(tags) or None, notes or None, scores or None, (credit["name"], credit["role"]), ts]
            ev["op"] = "insert"
            ev["cells"] = {"tags": {"value": tags}, "notes": {"value": notes},
                           "scores": {"value": [[k, scores[k]] for k in sorted(scores)]}, "credit": {"value": credit}}
        elif shape == "x_append":
            e = rng.choice(NOTES)
            v = [ts, [e], i, n]
            ev["cells"] = {"notes": {"elements": [{"value": e}]}}
        elif shape in ("x_tag_add", "x_tag_del"):
            e = rng.choice(TAGS)
            v = [ts, {e}, i, n]
            el = {"value": e}
            if shape == "x_tag_del":
                el["deleted"] = True
            ev["cells"] = {"tags": {"elements": [el]}}
        elif shape == "x_score_put":
            k, s = rng.choice(SCORE_KEYS), rng.randint(0, 99)
            v = [ts, {k: s}, i, n]
            ev["cells"] = {"scores": {"elements": [{"key": k, "value": s}]}}
        elif shape == "x_score_del":
            k = rng.choice(SCORE_KEYS)
            v = [k, ts, i, n]
            ev["op"] = "delete_cells"
            ev["cells"] = {"scores": {"elements": [{"key": k, "deleted": True}]}}
        elif shape == "x_credit":
            r = rng.choice(ROLES)
            v = [ts, r, i, n]
            ev["cells"] = {"credit": {"elements": [{"field": "role", "value": r}]}}
        elif shape == "x_delete":
            v = [ts, i, n]
            ev["op"] = "delete_row"
        else:
            raise ValueError(shape)
        ev["ts"] = ts
        return self.xq[shape], v, {"shape": shape, "table": "extras"}, ev


def say_mode(path, mode):
    """Writes the mode now in force to CONTROL.mode (after a switch, once the
    writes of the previous mode are all acknowledged), for a test to wait on."""
    if path:
        with open(path + ".mode.tmp", "w") as f:
            f.write(mode + "\n")
        os.replace(path + ".mode.tmp", path + ".mode")


def read_control(path):
    if not path:
        return "cql"
    try:
        with open(path) as f:
            w = f.read().strip()
    except OSError:
        return "cql"
    return w or "cql"


class Phase:
    def __init__(self, name):
        self.name = name
        self.attempted = self.acked = self.failed = 0
        self.lat = []
        self.t0 = time.monotonic()
        self.t_last = self.t0
        self.errors = collections.Counter()
        self.shapes = collections.Counter()
        self.ts_first = self.ts_last = None

    def summary(self):
        el = self.t_last - self.t0
        return {"attempted": self.attempted, "acknowledged": self.acked, "failed": self.failed,
                "errors": dict(self.errors), "shapes": dict(sorted(self.shapes.items())),
                "seconds": round(el, 2), "achieved_rate": round(self.acked / el, 1) if el > 0 else None,
                "latency_ms": {"p50": loadgen.ms(loadgen.pct(self.lat, 50)), "p99": loadgen.ms(loadgen.pct(self.lat, 99))},
                "ts_first": self.ts_first, "ts_last": self.ts_last}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--host", action="append", required=True)
    ap.add_argument("--port", type=int, default=9042)
    ap.add_argument("--keyspace", required=True)
    ap.add_argument("--rf", type=int, default=1)
    ap.add_argument("--create", action="store_true", help="create the keyspace, type and tables, then exit")
    ap.add_argument("--cdc", default="true", choices=("true", "false"), help="the tables' cdc flag with --create")
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--control")
    ap.add_argument("--log")
    ap.add_argument("--bootstrap", default="127.0.0.1:9092")
    ap.add_argument("--topic-prefix", default="cdctail")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ttl", type=int, default=86400)
    ap.add_argument("--inflight", type=int, default=256)
    ap.add_argument("--request-timeout", type=float, default=30.0)
    ap.add_argument("--max-seconds", type=float, default=1800, help="stop anyway after this long")
    a = ap.parse_args()
    a.table = "movies_by_genre"
    a.grace = 0
    cluster, s = loadgen.connect(a)
    try:
        if a.create:
            create(s, a)
            return 0
        return run(s, a)
    finally:
        cluster.shutdown()


def run(s, a):
    from confluent_kafka import Producer
    rng = random.Random(a.seed)
    w = Writes(s, a.keyspace, a.ttl)
    seed_shapes, seed_w = zip(*loadgen.MIX)
    x_shapes, x_w = zip(*EXTRAS_MIX)
    clock = Clock()
    out = open(a.log, "w", encoding="utf-8") if a.log else None
    done = collections.deque()
    sem = threading.BoundedSemaphore(a.inflight)
    prod = None
    phases = {"cql": Phase("cql")}
    ph = phases["cql"]

    def finish(rec, t_sent, err, phase):
        done.append((rec, time.monotonic() - t_sent, err, phase))
        sem.release()

    def drain():
        while done:
            rec, lat, err, p = done.popleft()
            if err is None:
                p.acked += 1
                p.lat.append(lat)
                p.t_last = time.monotonic()
            else:
                p.failed += 1
                rec["failed"] = True
                rec["error"] = f"{type(err).__name__}: {err}"[:300]
                p.errors[type(err).__name__] += 1
            if out:
                out.write(compact(rec) + "\n")

    def wait_inflight():
        if prod is not None:
            prod.flush(60)
        got = 0
        for _ in range(a.inflight):
            if sem.acquire(timeout=a.request_timeout + 5):
                got += 1
        for _ in range(got):
            sem.release()
        drain()

    mode = read_control(a.control)
    say_mode(a.control, mode)
    t_ctl = time.monotonic()
    start = time.monotonic()
    sent_in_mode = 0
    mode_start = start
    while True:
        now = time.monotonic()
        if now - t_ctl >= 0.1:
            t_ctl = now
            m = read_control(a.control)
            if m != mode or now - start > a.max_seconds:
                if now - start > a.max_seconds:
                    m = "stop"
                wait_inflight()
                if prod is not None:
                    prod.flush(60)
                    drain()
                if m == "stop":
                    break
                if m == "kafka" and prod is None:
                    prod = Producer({"bootstrap.servers": a.bootstrap, "linger.ms": 5, "enable.idempotence": True,
                                     "acks": "all"})
                mode = m
                say_mode(a.control, mode)
                phases.setdefault(mode, Phase(mode))
                ph = phases[mode]
                ph.t0 = ph.t_last = time.monotonic()
                sent_in_mode = 0
                mode_start = time.monotonic()
        due = int((time.monotonic() - mode_start) * a.rate) + 1
        if due - sent_in_mode > a.rate:
            # more than a second behind (the machine cannot keep the rate):
            # the rate is a ceiling, a backlog is not worked off later
            sent_in_mode = due - a.rate
        if due <= sent_in_mode:
            drain()
            if prod is not None:
                prod.poll(0)
            time.sleep(max(0.0, min(0.01, mode_start + sent_in_mode / a.rate - time.monotonic())))
            continue
        while sent_in_mode < due and time.monotonic() - t_ctl < 0.1:
            if prod is not None and mode == "kafka":
                # delivery reports (which free the slots) come from poll()
                t_end = time.monotonic() + a.request_timeout + 5
                while not sem.acquire(blocking=False) and time.monotonic() < t_end:
                    prod.poll(0.005)
                got = time.monotonic() < t_end
            else:
                got = sem.acquire(timeout=a.request_timeout + 5)
            if not got:
                print("migload: no acknowledgement within the request timeout", file=sys.stderr)
                break
            ts = clock.next()
            if rng.random() < 0.7:
                shape = rng.choices(seed_shapes, seed_w)[0]
                q, v, rec, ev = w.seed_write(shape, ts, rng)
            else:
                shape = rng.choices(x_shapes, x_w)[0]
                q, v, rec, ev = w.extras_write(shape, ts, rng)
            rec = {"via": "cql" if mode == "cql" else "kafka", "ts": ts, **rec}
            ph.attempted += 1
            ph.shapes[shape] += 1
            ph.ts_first = ts if ph.ts_first is None else ph.ts_first
            ph.ts_last = ts
            t_sent = time.monotonic()
            if mode == "cql":
                try:
                    f = s.execute_async(q, v)
                    f.add_callbacks(lambda _r, rec=rec, t=t_sent, p=ph: finish(rec, t, None, p),
                                    lambda e, rec=rec, t=t_sent, p=ph: finish(rec, t, e, p))
                except Exception as e:  # noqa: BLE001
                    finish(rec, t_sent, e, ph)
            else:
                rec["event"] = ev
                topic = f"{a.topic_prefix}.{a.keyspace}.{ev['table']}"

                def cb(err, _msg, rec=rec, t=t_sent, p=ph):
                    finish(rec, t, None if err is None else RuntimeError(str(err)), p)
                while True:
                    try:
                        prod.produce(topic, key=compact(ev["key"]).encode(), value=compact(ev).encode(), on_delivery=cb)
                        break
                    except BufferError:
                        prod.poll(0.05)
                prod.poll(0)
            sent_in_mode += 1
        if len(done) > 2000:
            drain()
    if prod is not None:
        prod.flush(60)
    drain()
    if out:
        out.close()
    r = {k: p.summary() for k, p in phases.items()}
    print(json.dumps(r))
    return 1 if any(p.failed for p in phases.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
