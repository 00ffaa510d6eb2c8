#!/usr/bin/env python3
"""Clone test against a real Cassandra (issue 4, 'a clone that equals its
source'): run the seed workload (the ten seed shapes, ASC and DESC tables,
TTLs, nulls, random mix) plus collection/static/UDT statements against a
source keyspace; read the node's cdc_raw with `cdctail replay`; apply each
event's `cql` to a fresh keyspace; compare both with SELECT *, WRITETIME and
TTL on every regular column (on 5.0 also of non-frozen collections and UDTs,
whose WRITETIME and TTL are lists, one entry per element: CASSANDRA-8877).
The ops statements (element operations, batched range deletions that become
boundaries) are in the mix, shuffled, except the list operations Cassandra
resolves by reading the list (`l[i] = v`, `l = l - [v]`, `DELETE l[i]`): an
event cannot name a list element in CQL today (docs/events.md, Limits).
Prints TAP lines.

usage: clone_check.py CDCTAIL ADDR CDC_RAW_DIR WORKDIR"""
import json, os, subprocess, sys, time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'scripts', 'fixtures'))
import workloads  # noqa: E402
import gen  # noqa: E402  (export_schema)

from cassandra import cqltypes, protocol
from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.policies import WhiteListRoundRobinPolicy

EXTRA_DDL = [
    "CREATE TYPE {ks}.addr (street text, zip int);",
    "CREATE TABLE {ks}.things (id int, c int, s text static, l list<int>, st set<text>, m map<text, int>, "
    "u addr, fu frozen<addr>, t tuple<int, text>, v text, PRIMARY KEY (id, c)) WITH cdc = true;",
]
EXTRA = [
    "INSERT INTO {ks}.things (id, c, s, l, st, m, u, fu, t, v) VALUES (1, 1, 'stat', [1, 2], {{'a', 'b'}}, {{'x': 1}}, {{street: 'Main', zip: 1}}, {{street: 'F', zip: 2}}, (3, 'three'), 'v1') USING TIMESTAMP {ts};",
    "UPDATE {ks}.things USING TIMESTAMP {ts} SET st = st + {{'c'}}, m['y'] = 2, u.zip = 7, l = l + [3] WHERE id = 1 AND c = 1;",
    "UPDATE {ks}.things USING TIMESTAMP {ts} SET st = st - {{'a'}} WHERE id = 1 AND c = 1;",
    "DELETE m['x'] FROM {ks}.things USING TIMESTAMP {ts} WHERE id = 1 AND c = 1;",
    "UPDATE {ks}.things USING TIMESTAMP {ts} SET m = {{'only': 9}}, s = 'stat2' WHERE id = 1 AND c = 1;",
    "INSERT INTO {ks}.things (id, c, v) VALUES (2, 1, 'ttl') USING TIMESTAMP {ts} AND TTL 7200;",
    "UPDATE {ks}.things USING TIMESTAMP {ts} AND TTL 3600 SET v = 'upd-ttl' WHERE id = 2 AND c = 2;",
    "DELETE s FROM {ks}.things USING TIMESTAMP {ts} WHERE id = 2;",
    "DELETE st FROM {ks}.things USING TIMESTAMP {ts} WHERE id = 1 AND c = 1;",
]


def session(addr):
    prof = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([addr]), request_timeout=60)
    c = Cluster([addr], execution_profiles={EXEC_PROFILE_DEFAULT: prof})
    return c, c.connect()


def close(c, v, w):
    """Source and clone agree: equal, TTLs within the test's duration (a TTL
    restarts when replayed), per element for a collection's list of them."""
    if c.startswith("ttl_") and isinstance(v, list) and isinstance(w, list):
        return len(v) == len(w) and all(close(c, a, b) for a, b in zip(v, w))
    if c.startswith("ttl_") and isinstance(v, int) and isinstance(w, int):
        return abs(v - w) <= 30
    return v == w


def _list_with_nulls(cls, data, protocol_version):
    """A list whose elements may be null: TTL(l) of a collection has a null
    for each element without a TTL, which the driver's own list decoder
    refuses ("Length must be positive")."""
    n, p, out = int.from_bytes(data[:4], "big", signed=True), 4, []
    for _ in range(n):
        size = int.from_bytes(data[p:p + 4], "big", signed=True)
        p += 4
        if size < 0:
            out.append(None)
            continue
        out.append(cls.subtypes[0].from_binary(data[p:p + size], protocol_version))
        p += size
    return out


cqltypes.ListType.deserialize_safe = classmethod(_list_with_nulls)


def snapshot(s, ks, table, allcols, cols):
    sel = ", ".join(allcols + [f"writetime({c}) AS wt_{c}, ttl({c}) AS ttl_{c}" for c in cols])
    rows = {}
    # the driver's pure-Python decoding, which uses the list decoder above
    handler, s.client_protocol_handler = s.client_protocol_handler, protocol._ProtocolHandler
    try:
        result = list(s.execute(f"SELECT {sel} FROM {ks}.{table}"))
    finally:
        s.client_protocol_handler = handler
    for r in result:
        d = r._asdict()
        key = tuple(sorted((k, repr(v)) for k, v in d.items() if not k.startswith(('wt_', 'ttl_'))))
        rows[key] = {k: v for k, v in d.items() if k.startswith(('wt_', 'ttl_'))}
    return rows


def run_pair(s, cdctail, cdc_raw, work, src, dst, ddl, stmts, skip_tables=(), multi_cell_times=False):
    """Runs ddl+stmts on src, replays cdc_raw, applies events to dst, compares."""
    version = s.execute("SELECT release_version FROM system.local").one().release_version
    # a last write to a table of its own: once its event is read, every
    # statement before it is (the commitlog is read in order up to its sync)
    marker_ddl = f"CREATE TABLE {src}.zz_marker (k int PRIMARY KEY) WITH cdc = true"
    ddl = list(ddl) + [marker_ddl]
    for st in ddl:
        s.execute(st)
    for st in stmts:
        s.execute(st)
    s.execute(f"INSERT INTO {src}.zz_marker (k) VALUES (1)")
    for st in ddl:
        s.execute(st.replace(f" {src}.", f" {dst}.").replace(f"KEYSPACE {src} ", f"KEYSPACE {dst} "))
    schema = gen.export_schema(s, src, "live")
    path = os.path.join(work, f"schema-{src}.json")
    with open(path, "w") as f:
        json.dump(schema, f)
    want = len([x for x in stmts if "counter" not in x])
    events, seen_marker = [], False
    for _ in range(60):
        p = subprocess.run([cdctail, "replay", "--schema", path, cdc_raw], capture_output=True, text=True)
        events = [json.loads(l) for l in p.stdout.splitlines() if l.strip()]
        events = [e for e in events if e["keyspace"] == src]
        seen_marker = any(e["table"] == "zz_marker" for e in events)
        if seen_marker:
            break
        time.sleep(0.5)
    ok = seen_marker and len(events) >= want + 1
    print(f"{'ok' if ok else 'not ok'} - clone {version} {src}: {len(events)} events read from the live cdc_raw for {len(stmts)} statements and the marker after them")
    applied = skipped = 0
    for e in events:
        if e["cql"] is None:  # counters: no idempotent CQL exists (docs/events.md)
            skipped += 1
            continue
        cql = e["cql"].replace(f" {src}.", f" {dst}.")
        try:
            s.execute(cql)
            applied += 1
        except Exception as ex:  # noqa: BLE001
            print(f"# could not apply: {cql}\n#   {ex}")
    print(f"{'ok' if applied + skipped == len(events) else 'not ok'} - clone {version} {src}: applied {applied} event statements to keyspace {dst} ({skipped} counter events carry no cql)")
    natives = {"ascii", "bigint", "blob", "boolean", "date", "decimal", "double", "duration", "float", "inet",
               "int", "smallint", "text", "time", "timestamp", "timeuuid", "tinyint", "uuid", "varchar", "varint"}
    udts = {ty["name"] for ty in schema["types"]}
    for t in schema["tables"]:
        if not t["cdc"] or t["table"] in skip_tables:
            continue
        allcols = [c["name"] for c in t["columns"]]
        # WRITETIME/TTL of single-cell columns (natives and frozen types); on
        # 5.0 of multi-cell ones too (non-frozen collections and UDTs)
        multi = lambda ty: ty.startswith(("list<", "set<", "map<")) or ty in udts
        cols = [c["name"] for c in t["columns"] if c["kind"] in ("regular", "static")
                and (c["type"] in natives or c["type"].startswith(("frozen<", "tuple<", "vector<"))
                     or (multi_cell_times and multi(c["type"])))]
        nmulti = sum(1 for c in t["columns"] if c["name"] in cols and multi(c["type"]))
        a, b = snapshot(s, src, t["table"], allcols, cols), snapshot(s, dst, t["table"], allcols, cols)
        diffs = []
        for k in set(a) | set(b):
            if k not in a or k not in b:
                diffs.append(("missing in " + ("clone" if k not in b else "source"), k))
                continue
            for c, v in a[k].items():
                w = b[k][c]
                if not close(c, v, w):
                    diffs.append((c, k, v, w))
        for d in diffs[:5]:
            print(f"# {t['table']}: {d}")
        print(f"{'not ok' if diffs else 'ok'} - clone {version}: {src}.{t['table']} equals {dst}.{t['table']} "
              f"({len(a)} rows; values, WRITETIME and TTL of {len(cols)} columns, {nmulti} of them multi-cell)")


def interleave(rng, seqs):
    """A random merge of several statement lists, each kept in its order (a
    prepend must follow the elements it goes before)."""
    seqs, out = [list(x) for x in seqs if x], []
    while seqs:
        q = rng.choice([i for i, x in enumerate(seqs) for _ in x])  # weighted by what is left
        out.append(seqs[q].pop(0))
        seqs = [x for x in seqs if x]
    return out


def main():
    cdctail, addr, cdc_raw, work = sys.argv[1:5]
    cluster, s = session(addr)
    version = s.execute("SELECT release_version FROM system.local").one().release_version
    clock = workloads.Clock()
    rng = __import__('random').Random(7)
    src = "src"
    ddl = workloads.seed_ddl(src) + [d.format(ks=src) for d in EXTRA_DDL]
    stmts = [st["cql"] for st in workloads.seed_statements(src, clock, rng)]
    stmts += [x.format(ks=src, ts=clock.next()) for x in EXTRA]
    # 5.0 selects WRITETIME and TTL of non-frozen collections and UDTs
    # (one per element); 4.x refuses them
    mc = int(version.split(".")[0]) >= 5
    run_pair(s, cdctail, cdc_raw, work, src, "clone", ddl, stmts, multi_cell_times=mc)
    # every CQL type, collections, UDTs, statics, batches (counters compared apart: no cql)
    src = "srct"
    stmts = [st["cql"] for st in workloads.types_statements(src, clock, version)]
    run_pair(s, cdctail, cdc_raw, work, src, "clonet", workloads.types_ddl(src, version), stmts,
             skip_tables=("counters",), multi_cell_times=mc)
    # element operations and range boundaries, the tables interleaved at random; without the list
    # operations that need a read of the list (workloads.OPS_LIST_READ_SHAPES)
    src = "srco"
    ops = workloads.ops_statements(src, clock, with_list_reads=False)
    stmts = interleave(rng, [[st["cql"] for st in ops if st["table"] == t] for t in sorted({st["table"] for st in ops})])
    run_pair(s, cdctail, cdc_raw, work, src, "cloneo", workloads.ops_ddl(src), stmts, multi_cell_times=mc)
    cluster.shutdown()


if __name__ == "__main__":
    main()
