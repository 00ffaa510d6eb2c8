#!/usr/bin/env python3
"""scripts/cql.py --host ADDR [-e CQL | -f FILE] - runs CQL statements one by
one (synchronously, in order) with the Python driver and prints result rows
as JSON lines. Statements in a file are separated by ';' at line ends."""
import argparse, json, sys, time

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=9042)
    ap.add_argument('-e', dest='cql', action='append', default=[])
    ap.add_argument('-f', dest='file')
    a = ap.parse_args()
    from cassandra.cluster import Cluster
    from cassandra.policies import WhiteListRoundRobinPolicy
    from cassandra.cluster import ExecutionProfile, EXEC_PROFILE_DEFAULT
    prof = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([a.host]), request_timeout=60)
    c = Cluster([a.host], port=a.port, execution_profiles={EXEC_PROFILE_DEFAULT: prof})
    s = c.connect()
    stmts = list(a.cql)
    if a.file:
        buf = []
        for line in open(a.file):
            if not line.strip() or line.strip().startswith('--'):
                continue
            buf.append(line.rstrip('\n'))
            if line.rstrip().endswith(';'):
                stmts.append('\n'.join(buf)); buf = []
        if buf:
            stmts.append('\n'.join(buf))
    for st in stmts:
        for r in s.execute(st):
            print(json.dumps(r._asdict() if hasattr(r, '_asdict') else list(r), default=str))
    c.shutdown()

if __name__ == '__main__':
    main()
