#!/usr/bin/env python3
"""Writes at a steady rate to a live Cassandra while every kind of schema
change an operator makes runs on it, one after another, each followed by
writes that use what it changed; and SIGKILLs `cdctail run` now and then
right after a change (while its schema refresh is under way), starting it
again at once.

usage: ddl_load.py --host H --keyspace KS --rate 1000 --step-seconds 3
                   --writes writes.jsonl --report report.json
                   --run-cmd "cdctail run --config F" --run-log LOG --pidfile P
                   --proxy-state FILE --kill-steps 2,6,11

Every write carries its own USING TIMESTAMP (unique, microseconds) and is
logged once Cassandra acknowledged it, with what its event must hold: table,
key, clustering value and the names the clustering column has had since,
the cells it set (as event JSON values), whether it is static, and whether
Cassandra tracks it for CDC (not while the table has cdc = false). The
report: writes acknowledged and failed, the rate achieved over the whole run
and over the write phases (between the schema changes), the schema
changes with their times, the kills and whether a refresh was in flight
(a connection open through tests/e2e/slow_proxy.py) at each."""
import argparse
import json
import os
import signal
import subprocess
import threading
import time

from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.policies import WhiteListRoundRobinPolicy
from cassandra.query import SimpleStatement


class Clock:
    """Unique write timestamps that follow the wall clock."""

    def __init__(self):
        self.last = 0
        self.lock = threading.Lock()

    def next(self):
        with self.lock:
            self.last = max(self.last + 1, time.time_ns() // 1000)
            return self.last


def steps(ks):
    """(ddl statements, write maker, names of the clustering column from
    then on) per step. A write maker gives (cql, expect) for key k and ts."""
    t, t2, ks2 = f"{ks}.t", f"{ks}.t2", f"{ks}_gone"

    def w(table, cql, ck, cells, static=False, tracked=True, keyspace=ks):
        return lambda k, ts: (cql.format(k=k, ts=ts), {"keyspace": keyspace, "table": table, "key": {"k": k},
                                                       "clustering": ck, "cells": cells(k), "static": static,
                                                       "tracked": tracked})

    ttl = " AND TTL 86400"
    return [
        ([], w("t", f"INSERT INTO {t} (k, c, v) VALUES ({{k}}, 0, 'v{{k}}') USING TIMESTAMP {{ts}}{ttl}", 0,
               lambda k: {"v": f"v{k}"})),
        ([f"ALTER TABLE {t} ADD a text"],
         w("t", f"INSERT INTO {t} (k, c, a) VALUES ({{k}}, 1, 'a{{k}}') USING TIMESTAMP {{ts}}", 1,
           lambda k: {"a": f"a{k}"})),
        ([f"ALTER TABLE {t} ADD l list<int>"],
         w("t", f"UPDATE {t} USING TIMESTAMP {{ts}} SET l = l + [{{k}}] WHERE k = {{k}} AND c = 2", 2,
           lambda k: {"l": [k]})),
        ([f"ALTER TABLE {t} ADD st text static"],
         w("t", f"INSERT INTO {t} (k, st) VALUES ({{k}}, 's{{k}}') USING TIMESTAMP {{ts}}", None,
           lambda k: {"st": f"s{k}"}, static=True)),
        ([f"ALTER TABLE {t} ADD u frozen<addr>", f"ALTER TABLE {t} ADD nu addr"],
         w("t", f"INSERT INTO {t} (k, c, u, nu) VALUES ({{k}}, 4, {{{{street: 'x{{k}}', zip: {{k}}}}}}, "
                f"{{{{street: 'y{{k}}', zip: {{k}}}}}}) USING TIMESTAMP {{ts}}", 4,
           lambda k: {"u": {"street": f"x{k}", "zip": k}, "nu": {"street": f"y{k}", "zip": k}})),
        ([f"ALTER TYPE {ks}.addr ADD city text"],
         w("t", f"INSERT INTO {t} (k, c, u, nu) VALUES ({{k}}, 5, {{{{street: 'x{{k}}', zip: {{k}}, city: 'c{{k}}'}}}}, "
                f"{{{{street: 'y{{k}}', zip: {{k}}, city: 'd{{k}}'}}}}) USING TIMESTAMP {{ts}}", 5,
           lambda k: {"u": {"street": f"x{k}", "zip": k, "city": f"c{k}"},
                      "nu": {"street": f"y{k}", "zip": k, "city": f"d{k}"}})),
        ([f"ALTER TABLE {t} DROP v"],
         w("t", f"INSERT INTO {t} (k, c, a) VALUES ({{k}}, 6, 'after drop {{k}}') USING TIMESTAMP {{ts}}{ttl}", 6,
           lambda k: {"a": f"after drop {k}"})),
        ([f"ALTER TABLE {t} RENAME c TO cc"],
         w("t", f"INSERT INTO {t} (k, cc, a) VALUES ({{k}}, 7, 'renamed {{k}}') USING TIMESTAMP {{ts}}", 7,
           lambda k: {"a": f"renamed {k}"})),
        ([f"CREATE TABLE {t2} (k int PRIMARY KEY, v text) WITH cdc = true"],
         w("t2", f"INSERT INTO {t2} (k, v) VALUES ({{k}}, 'first t2 {{k}}') USING TIMESTAMP {{ts}}", None,
           lambda k: {"v": f"first t2 {k}"})),
        ([f"ALTER TABLE {t} WITH cdc = false"],
         w("t", f"INSERT INTO {t} (k, cc, a) VALUES ({{k}}, 9, 'cdc off {{k}}') USING TIMESTAMP {{ts}}", 9,
           lambda k: {"a": f"cdc off {k}"}, tracked=False)),
        ([f"ALTER TABLE {t} WITH cdc = true"],
         w("t", f"INSERT INTO {t} (k, cc, a) VALUES ({{k}}, 10, 'cdc on {{k}}') USING TIMESTAMP {{ts}}", 10,
           lambda k: {"a": f"cdc on {k}"})),
        ([f"DROP TABLE {t2}", f"CREATE TABLE {t2} (k int PRIMARY KEY, w int) WITH cdc = true"],
         w("t2", f"INSERT INTO {t2} (k, w) VALUES ({{k}}, {{k}}) USING TIMESTAMP {{ts}}", None,
           lambda k: {"w": k})),
        ([f"CREATE KEYSPACE {ks2} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}",
          f"CREATE TABLE {ks2}.x (k int PRIMARY KEY, v text) WITH cdc = true"],
         w("x", f"INSERT INTO {ks2}.x (k, v) VALUES ({{k}}, 'gone {{k}}') USING TIMESTAMP {{ts}}", None,
           lambda k: {"v": f"gone {k}"}, keyspace=ks2)),
        ([f"DROP KEYSPACE {ks2}"], None),
    ]


class Load:
    def __init__(self, a):
        self.a = a
        prof = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([a.host]), request_timeout=60)
        self.cluster = Cluster([a.host], execution_profiles={EXEC_PROFILE_DEFAULT: prof})
        self.s = self.cluster.connect()
        self.clock = Clock()
        self.out = open(a.writes, "w")
        self.lock = threading.Lock()
        self.inflight = threading.Semaphore(200)
        self.acked = self.failed = 0
        self.key = 0
        self.report = {"ddl": [], "kills": []}
        self.run = None
        self.step = 0

    def start_run(self):
        log = open(self.a.run_log, "a")
        self.run = subprocess.Popen(self.a.run_cmd.split(), stderr=log, stdout=log)
        with open(self.a.pidfile, "w") as f:
            f.write("%d\n" % self.run.pid)

    def kill_run(self, step):
        try:
            refreshing = int(open(self.a.proxy_state).read().strip() or 0) > 0
        except (OSError, ValueError):
            refreshing = False
        self.run.send_signal(signal.SIGKILL)
        self.run.wait()
        self.report["kills"].append({"step": step, "t": time.time(), "mid_refresh": refreshing})
        self.start_run()

    def done(self, expect, ts):
        def ok(_):
            with self.lock:
                self.acked += 1
                self.out.write(json.dumps(dict(expect, ts=ts)) + "\n")
            self.inflight.release()

        def bad(e):
            with self.lock:
                self.failed += 1
                self.out.write(json.dumps(dict(expect, ts=ts, failed=True, error=str(e)[:200])) + "\n")
            self.inflight.release()
        return ok, bad

    def write(self, maker):
        self.key += 1
        ts = self.clock.next()
        cql, expect = maker(self.key, ts)
        expect["step"] = self.step
        self.inflight.acquire()
        f = self.s.execute_async(SimpleStatement(cql))
        ok, bad = self.done(expect, ts)
        f.add_callbacks(ok, bad)

    def drain(self):
        for _ in range(200):
            self.inflight.acquire()
        for _ in range(200):
            self.inflight.release()

    def main(self):
        self.s.execute(f"CREATE KEYSPACE {self.a.keyspace} WITH replication = "
                       "{'class': 'SimpleStrategy', 'replication_factor': 1}")
        self.s.execute(f"CREATE TYPE {self.a.keyspace}.addr (street text, zip int)")
        self.s.execute(f"CREATE TABLE {self.a.keyspace}.t (k int, c int, v text, PRIMARY KEY (k, c)) WITH cdc = true")
        self.start_run()
        time.sleep(2)
        kill_steps = {int(x) for x in self.a.kill_steps.split(",") if x}
        pause = [int(x) for x in self.a.pause_steps.split(",") if x]
        t_start = time.time()
        writing = 0.0
        for i, (ddl, maker) in enumerate(steps(self.a.keyspace)):
            self.step = i
            self.drain()
            if pause and i == pause[0]:
                self.run.send_signal(signal.SIGSTOP)  # cdctail reads none of what follows
                self.report["paused"] = {"from_step": i, "t": time.time()}
            for st in ddl:
                self.s.execute(st, timeout=120)
                self.report["ddl"].append({"step": i, "cql": st, "t": time.time(), "after_ts": self.clock.next()})
            if pause and i == pause[-1]:
                self.run.send_signal(signal.SIGCONT)
                self.report["paused"].update(until_step=i, seconds=round(time.time() - self.report["paused"]["t"], 1))
            kill_at = time.time() + 0.2 + (i % 5) * 0.2 if i in kill_steps else None
            end = time.time() + self.a.step_seconds
            n = 0
            t0 = time.time()
            writing += self.a.step_seconds if maker else 0
            while maker and time.time() < end:
                if kill_at and time.time() >= kill_at:
                    self.kill_run(i)
                    kill_at = None
                target = int((time.time() - t0) * self.a.rate)
                while n < target:
                    self.write(maker)
                    n += 1
                time.sleep(0.002)
        self.drain()
        took = time.time() - t_start
        self.out.close()
        self.report.update(acknowledged=self.acked, failed=self.failed, seconds=round(took, 1),
                           achieved_rate=round(self.acked / took, 1),
                           writing_rate=round(self.acked / writing, 1))
        with open(self.a.report, "w") as f:
            json.dump(self.report, f)
        self.cluster.shutdown()


def main():
    ap = argparse.ArgumentParser()
    for k in ("host", "keyspace", "writes", "report", "run-cmd", "run-log", "pidfile", "proxy-state"):
        ap.add_argument("--" + k, required=True)
    ap.add_argument("--rate", type=float, default=1000)
    ap.add_argument("--step-seconds", type=float, default=3)
    ap.add_argument("--kill-steps", default="")
    ap.add_argument("--pause-steps", default="",
                    help="FIRST,LAST: cdctail is SIGSTOPped before step FIRST's statements, SIGCONTed after LAST's")
    Load(ap.parse_args()).main()


if __name__ == "__main__":
    main()
