#!/usr/bin/env bash
# `cdctail schema export` against real nodes (5.0 and 4.1) on $SCHEMA_ADDR
# (default 127.0.0.5, away from the 127.0.0.1 other tests use): a schema with
# UDTs (one nesting another), frozen and non-frozen collections, a tuple, a
# static column, DESC clustering, dropped columns, cdc on and off, a quoted
# table and type name and a 600-column table (so the columns query spans pages) must
# export exactly as the Python exporter (scripts/fixtures/gen.py
# export_schema, through the cassandra-driver) writes it, compared as parsed
# JSON with only the order of tables/columns/types ignored. Then a node with
# PasswordAuthenticator (scripts/cassandra.sh --auth): the right password
# exports, a wrong one or none fails with exit 1 and a clear message.
. "$(dirname "$0")/lib.sh"
PY=$(scripts/deps.sh --python)
ADDR=${SCHEMA_ADDR:-127.0.0.5}
export FIXTURE_ADDR=$ADDR

cat >"$TMP/sx.py" <<'PYEOF'
"""Helper of t0250: DDL, the Python exporter, JSON comparison."""
import json, os, sys, time
sys.path.insert(0, os.path.join(os.environ["TOP"], "scripts", "fixtures"))
from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.policies import WhiteListRoundRobinPolicy
from cassandra.auth import PlainTextAuthProvider

DDL = [
    "DROP KEYSPACE IF EXISTS sx",
    "DROP KEYSPACE IF EXISTS sx2",
    "CREATE KEYSPACE sx WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    "CREATE TYPE sx.address (street text, zip int, tags frozen<set<text>>)",
    "CREATE TYPE sx.person (name text, home frozen<address>, phones map<text, text>)",
    "CREATE TABLE sx.events (day text, kind int, ts timeuuid, payload map<text, text>, nums frozen<list<int>>,"
    " who frozen<person>, pair frozen<tuple<int, text>>, st text static, addr address,"
    " PRIMARY KEY ((day, kind), ts)) WITH CLUSTERING ORDER BY (ts DESC) AND cdc = true",
    "CREATE TABLE sx.plain (id uuid PRIMARY KEY, a int, b text, gone bigint, old list<text>) WITH cdc = false",
    "ALTER TABLE sx.plain DROP gone",
    "ALTER TABLE sx.plain DROP old",
    "CREATE TABLE sx.\"MixedCase\" (k int, c1 text, c2 bigint, v set<frozen<tuple<int, text>>>,"
    " m frozen<map<text, frozen<list<text>>>>, PRIMARY KEY (k, c1, c2)) WITH CLUSTERING ORDER BY (c1 ASC, c2 DESC)",
    "CREATE KEYSPACE sx2 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
    "CREATE TABLE sx2.wide (k int PRIMARY KEY, " + ", ".join("c%03d int" % i for i in range(600)) + ") WITH cdc = true",
    "CREATE TYPE sx2.\"Quoted\" (\"Field X\" text, y frozen<list<frozen<map<int, text>>>>)",
]


def session(addr, user=None, password=None):
    prof = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([addr]), request_timeout=60)
    auth = PlainTextAuthProvider(username=user, password=password) if user else None
    c = Cluster([addr], execution_profiles={EXEC_PROFILE_DEFAULT: prof}, connect_timeout=30, auth_provider=auth)
    return c, c.connect()


def export(addr, keyspaces, user=None, password=None):
    import gen
    c, s = session(addr, user, password)
    release = s.execute("SELECT release_version FROM system.local").one().release_version
    doc = {"format": "cdctail-schema/1", "source": {"cassandra_version": release, "host": addr},
           "types": [], "tables": []}
    for ks in keyspaces:
        one = gen.export_schema(s, ks, release)
        doc["types"] += one["types"]
        doc["tables"] += one["tables"]
    ids, internal = gen.internal_schema(s)
    doc["internal_ids"] = ids
    doc["tables"] += internal
    c.shutdown()
    return doc


def canon(doc):
    """The document with every order but field order made canonical."""
    doc = json.loads(json.dumps(doc))
    doc.get("internal_ids", []).sort()
    doc["types"].sort(key=lambda t: (t["keyspace"], t["name"]))
    for t in doc["tables"]:
        t["columns"].sort(key=lambda c: c["name"])
        t["dropped_columns"].sort(key=lambda c: c["name"])
    doc["tables"].sort(key=lambda t: (t["keyspace"], t["table"]))
    return doc


def main():
    cmd, addr = sys.argv[1], sys.argv[2]
    if cmd == "ddl":
        c, s = session(addr)
        for st in DDL:
            s.execute(st)
        c.shutdown()
    elif cmd == "export":  # export ADDR OUT KS... [-- USER PASSWORD]
        args = sys.argv[4:]
        user = password = None
        if "--" in args:
            i = args.index("--")
            user, password = args[i + 1], args[i + 2]
            args = args[:i]
        json.dump(export(addr, args, user, password), open(sys.argv[3], "w"), indent=1)
    elif cmd == "compare":  # compare - MINE EXPECTED
        mine, exp = json.load(open(sys.argv[3])), json.load(open(sys.argv[4]))
        a, b = canon(mine), canon(exp)
        if a != b:
            for k in ("format", "source", "types", "internal_ids"):
                if a.get(k) != b.get(k):
                    print("differs in %s:\n  cdctail %s\n  python  %s" % (k, a.get(k), b.get(k)))
            ta = {(t["keyspace"], t["table"]): t for t in a["tables"]}
            tb = {(t["keyspace"], t["table"]): t for t in b["tables"]}
            for key in sorted(set(ta) | set(tb)):
                if ta.get(key) != tb.get(key):
                    print("table %s differs:\n  cdctail %s\n  python  %s" % (key, json.dumps(ta.get(key))[:600],
                                                                        json.dumps(tb.get(key))[:600]))
            sys.exit(1)
        # the columns also come in the exporter's order (kind, position, name)
        for t, u in zip(sorted(mine["tables"], key=lambda t: (t["keyspace"], t["table"])),
                        sorted(exp["tables"], key=lambda t: (t["keyspace"], t["table"]))):
            if [c["name"] for c in t["columns"]] != [c["name"] for c in u["columns"]]:
                print("column order of %s.%s differs" % (t["keyspace"], t["table"]))
                sys.exit(1)
        print("%d tables, %d columns, %d types, %d dropped columns equal" % (
            len(a["tables"]), sum(len(t["columns"]) for t in a["tables"]), len(a["types"]),
            sum(len(t["dropped_columns"]) for t in a["tables"])))
    elif cmd == "wait-auth":  # wait-auth ADDR: until cassandra/cassandra can log in
        last = None
        for _ in range(120):
            try:
                c, s = session(addr, "cassandra", "cassandra")
                s.execute("SELECT release_version FROM system.local")
                c.shutdown()
                return
            except Exception as e:  # the default role is created a few seconds after start
                last = e
                time.sleep(1)
        print("cannot log in as cassandra: %s" % last)
        sys.exit(1)


main()
PYEOF
export TOP

start_node() { # start_node VERSION DIR [--auth]
	local v=$1 dir=$2 t0
	shift 2
	t0=$(date +%s)
	if ! scripts/cassandra.sh start --version "$v" --dir "$dir" --addr "$ADDR" "$@" >"$TMP/start.log" 2>&1; then
		cat "$TMP/start.log"
		return 1
	fi
	at_exit "scripts/cassandra.sh stop --dir '$dir'"
	echo "# Cassandra $v started on $ADDR in $(($(date +%s) - t0)) s"
}

for v in ${SCHEMA_VERSIONS:-5.0 4.1 3.11}; do
	dir=$TMP/cass-$v
	if ! start_node "$v" "$dir"; then
		not_ok "schema $v: could not start Cassandra $v on $ADDR (log above)"
		continue
	fi
	if ! "$PY" "$TMP/sx.py" ddl "$ADDR" >"$TMP/ddl.log" 2>&1; then
		cat "$TMP/ddl.log"
		not_ok "schema $v: DDL failed"
		scripts/cassandra.sh stop --dir "$dir"
		continue
	fi
	"$PY" "$TMP/sx.py" export "$ADDR" "$TMP/py-all.json" sx sx2 2>"$TMP/py.err" || cat "$TMP/py.err"
	"$PY" "$TMP/sx.py" export "$ADDR" "$TMP/py-sx.json" sx 2>"$TMP/py.err" || cat "$TMP/py.err"

	"$CDCTAIL" schema export --host "$ADDR" >"$TMP/c-all.json" 2>"$TMP/c.err"
	rc=$?
	[ $rc = 0 ] || cat "$TMP/c.err"
	msg=$("$PY" "$TMP/sx.py" compare - "$TMP/c-all.json" "$TMP/py-all.json" 2>&1)
	cmp_rc=$?
	[ $cmp_rc = 0 ] || echo "$msg"
	check "schema $v: every non-system keyspace exports as the Python exporter writes it ($msg)" \
		[ $rc = 0 -a $cmp_rc = 0 ]

	"$CDCTAIL" schema export --host "$ADDR" --port 9042 --keyspace sx --output "$TMP/c-sx.json" >"$TMP/c.out" 2>"$TMP/c.err"
	rc=$?
	[ $rc = 0 ] || cat "$TMP/c.err"
	msg=$("$PY" "$TMP/sx.py" compare - "$TMP/c-sx.json" "$TMP/py-sx.json" 2>&1)
	cmp_rc=$?
	[ $cmp_rc = 0 ] || echo "$msg"
	check "schema $v: --keyspace sx --output FILE ($msg), nothing on stdout" \
		[ $rc = 0 -a $cmp_rc = 0 -a ! -s "$TMP/c.out" ]

	"$CDCTAIL" schema export --host "$ADDR" --keyspace system_schema >"$TMP/c-sys.json" 2>"$TMP/c.err"
	rc=$?
	n=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(1 for t in d["tables"] if t["table"] == "columns"))' "$TMP/c-sys.json" 2>/dev/null)
	check "schema $v: a system keyspace is exported when named (system_schema.columns: $n)" [ $rc = 0 -a "$n" = 1 ]

	"$CDCTAIL" schema export --host "$ADDR" --keyspace no_such_ks >/dev/null 2>"$TMP/c.err"
	rc=$?
	good=0; [ $rc = 1 ] && grep -q "no_such_ks does not exist" "$TMP/c.err" && good=1
	check "schema $v: an unknown keyspace fails with exit 1 ($(head -1 "$TMP/c.err"))" [ $good = 1 ]

	seg=$(ls fixtures/5.0/seed/cdc_raw/CommitLog-*.log | head -1)
	"$CDCTAIL" decode --schema "$TMP/c-all.json" "$seg" >/dev/null 2>"$TMP/d.err"
	rc=$?
	[ $rc = 0 ] || tail -3 "$TMP/d.err"
	check "schema $v: the export works as decode --schema" [ $rc = 0 ]
	scripts/cassandra.sh stop --dir "$dir"
done

# PasswordAuthenticator
v=${SCHEMA_AUTH_VERSION:-5.0}
dir=$TMP/cass-auth
if ! start_node "$v" "$dir" --auth; then
	not_ok "schema auth: could not start Cassandra $v with --auth (log above)"
	exit 0
fi
if ! "$PY" "$TMP/sx.py" wait-auth "$ADDR"; then
	not_ok "schema auth: the default superuser never became usable"
	exit 0
fi
echo "CREATE KEYSPACE authks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};" >"$TMP/a.cql"
echo "CREATE TABLE authks.t (k int PRIMARY KEY, v text) WITH cdc = true;" >>"$TMP/a.cql"
"$PY" - "$ADDR" "$TMP/a.cql" <<'PYEOF'
import sys
from cassandra.cluster import Cluster
from cassandra.auth import PlainTextAuthProvider
c = Cluster([sys.argv[1]], auth_provider=PlainTextAuthProvider(username="cassandra", password="cassandra"))
s = c.connect()
for st in open(sys.argv[2]).read().split(";"):
    if st.strip():
        s.execute(st)
c.shutdown()
PYEOF
"$PY" "$TMP/sx.py" export "$ADDR" "$TMP/py-auth.json" authks -- cassandra cassandra 2>"$TMP/py.err" || cat "$TMP/py.err"

CDCTAIL_CQL_PASSWORD=cassandra "$CDCTAIL" schema export --host "$ADDR" --user cassandra >"$TMP/c-auth.json" 2>"$TMP/c.err"
rc=$?
[ $rc = 0 ] || cat "$TMP/c.err"
msg=$("$PY" "$TMP/sx.py" compare - "$TMP/c-auth.json" "$TMP/py-auth.json" 2>&1)
good=0; [ $rc = 0 ] && echo "$msg" | grep -q equal && good=1
check "schema auth $v: user cassandra with CDCTAIL_CQL_PASSWORD exports ($msg)" [ $good = 1 ]

printf 'cassandra\n' >"$TMP/pw"
"$CDCTAIL" schema export --host "$ADDR" --user cassandra --password-file "$TMP/pw" --keyspace authks >"$TMP/c-auth2.json" 2>"$TMP/c.err"
rc=$?
good=0; [ $rc = 0 ] && cmp -s "$TMP/c-auth.json" "$TMP/c-auth2.json" && good=1
check "schema auth $v: --password-file and --keyspace give the same document" [ $good = 1 ]

CDCTAIL_CQL_PASSWORD=wrong "$CDCTAIL" schema export --host "$ADDR" --user cassandra >"$TMP/c.out" 2>"$TMP/c.err"
rc=$?
echo "# wrong password: exit $rc: $(cat "$TMP/c.err")"
good=0; [ $rc = 1 -a ! -s "$TMP/c.out" ] && grep -q "^cdctail: $ADDR:9042: authentication error" "$TMP/c.err" && good=1
check "schema auth $v: a wrong password fails with exit 1, naming the node and the server's reason" [ $good = 1 ]

"$CDCTAIL" schema export --host "$ADDR" >"$TMP/c.out" 2>"$TMP/c.err"
rc=$?
echo "# no credentials: exit $rc: $(cat "$TMP/c.err")"
good=0; [ $rc = 1 ] && grep -q "requires authentication" "$TMP/c.err" && good=1
check "schema auth $v: no credentials fails with exit 1 saying authentication is required" [ $good = 1 ]
scripts/cassandra.sh stop --dir "$dir"
