#!/usr/bin/env bash
# CQL over TLS against a real node: Cassandra $TLS_VERSION (default 5.0) on
# $TLS_ADDR (default 127.0.0.7, an address no other test uses) with
# client_encryption_options required and require_client_auth on. The test
# makes its own CA, a second CA the node knows nothing of, the node's
# certificate (IP:$ADDR and DNS:cdctail-tls-node.test) and client
# certificates with openssl, and the node's JKS keystore and truststore with
# openssl + keytool. The table is created, and the expected export written,
# by the Python driver over TLS (scripts/fixtures/gen.py export_schema, as
# in t0250). Cases:
#   - the CA, a client certificate and key: the schema is read over TLS and
#     is what the Python exporter reads; also with the DNS name as
#     --server-name (name check and SNI);
#   - a CA that did not sign the node's certificate: refused, exit 1, one line;
#   - a name the certificate does not carry: refused, one line; accepted
#     with --no-verify-host;
#   - no client certificate, or one of a CA the node does not trust: refused
#     by the node, one line;
#   - plain TCP to the TLS port: one line saying the node may require TLS.
. "$(dirname "$0")/lib.sh"
PY=$(scripts/deps.sh --python)
ADDR=${TLS_ADDR:-127.0.0.7}
V=${TLS_VERSION:-5.0}
KEYTOOL=${CDCTAIL_CACHE:-$HOME/.cache/cdctail}/jdk11/bin/keytool
[ -x "$KEYTOOL" ] || KEYTOOL=keytool
PASS=cdctail-test
P=$TMP/pki
NODE_DNS=cdctail-tls-node.test
mkdir -p "$P"

# ---- the PKI
mkpki() {
	local n
	for n in ca ca2; do
		openssl req -x509 -newkey rsa:2048 -nodes -keyout "$P/$n.key" -out "$P/$n.pem" -days 2 \
			-subj "/CN=cdctail test $n" || return 1
	done
	# leaf NAME CA SAN...
	leaf() {
		local name=$1 ca=$2 san=$3
		openssl req -newkey rsa:2048 -nodes -keyout "$P/$name.key" -out "$P/$name.csr" -subj "/CN=$name" &&
			printf 'subjectAltName=%s\n' "$san" >"$P/$name.ext" &&
			openssl x509 -req -in "$P/$name.csr" -CA "$P/$ca.pem" -CAkey "$P/$ca.key" -CAcreateserial \
				-out "$P/$name.pem" -days 2 -extfile "$P/$name.ext"
	}
	leaf node ca "IP:$ADDR,DNS:$NODE_DNS" &&
		leaf client ca "DNS:cdctail-client.test" &&
		leaf stranger ca2 "DNS:cdctail-client.test" || return 1
	# the node's keystore (key + chain) and truststore (the CA that signs clients)
	openssl pkcs12 -export -in "$P/node.pem" -inkey "$P/node.key" -certfile "$P/ca.pem" -name node \
		-out "$P/node.p12" -passout "pass:$PASS" &&
		"$KEYTOOL" -importkeystore -noprompt -srckeystore "$P/node.p12" -srcstoretype PKCS12 \
			-srcstorepass "$PASS" -destkeystore "$P/node.jks" -deststoretype JKS -deststorepass "$PASS" &&
		"$KEYTOOL" -importcert -noprompt -alias ca -file "$P/ca.pem" -keystore "$P/trust.jks" \
			-storetype JKS -storepass "$PASS"
}
if ! mkpki >"$TMP/pki.log" 2>&1; then
	tail -20 "$TMP/pki.log"
	not_ok "tls: could not make the test CA, certificates and keystores (openssl, keytool)"
	exit 0
fi

dir=$TMP/cass
t0=$(date +%s)
if ! scripts/cassandra.sh start --version "$V" --dir "$dir" --addr "$ADDR" --tls-keystore "$P/node.jks" \
	--tls-truststore "$P/trust.jks" --tls-password "$PASS" --tls-client-auth >"$TMP/start.log" 2>&1; then
	cat "$TMP/start.log"
	scripts/cassandra.sh stop --dir "$dir"
	not_ok "tls: could not start Cassandra $V on $ADDR with client encryption (log above)"
	exit 0
fi
at_exit "scripts/cassandra.sh stop --dir '$dir'"
echo "# Cassandra $V with client_encryption_options (require_client_auth) up on $ADDR in $(($(date +%s) - t0)) s"

# ---- the Python driver over TLS: DDL, then the expected export
cat >"$TMP/tls.py" <<'PYEOF'
"""Helper of t0255: the Python driver over TLS with a client certificate."""
import json, os, ssl, sys
sys.path.insert(0, os.path.join(os.environ["TOP"], "scripts", "fixtures"))
from cassandra.cluster import Cluster, ExecutionProfile, EXEC_PROFILE_DEFAULT
from cassandra.policies import WhiteListRoundRobinPolicy

cmd, addr, pki = sys.argv[1], sys.argv[2], sys.argv[3]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False  # the driver gives no server name; the chain is still checked
ctx.load_verify_locations(os.path.join(pki, "ca.pem"))
ctx.load_cert_chain(os.path.join(pki, "client.pem"), os.path.join(pki, "client.key"))
prof = ExecutionProfile(load_balancing_policy=WhiteListRoundRobinPolicy([addr]), request_timeout=60)
c = Cluster([addr], ssl_context=ctx, execution_profiles={EXEC_PROFILE_DEFAULT: prof}, connect_timeout=30)
s = c.connect()
if cmd == "ddl":
    for st in ["DROP KEYSPACE IF EXISTS tlsks",
               "CREATE KEYSPACE tlsks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}",
               "CREATE TYPE tlsks.addr (street text, zip int)",
               "CREATE TABLE tlsks.orders (shop text, id timeuuid, total decimal, ship frozen<addr>,"
               " tags set<text>, PRIMARY KEY (shop, id)) WITH CLUSTERING ORDER BY (id DESC) AND cdc = true"]:
        s.execute(st)
elif cmd == "export":
    import gen
    release = s.execute("SELECT release_version FROM system.local").one().release_version
    doc = gen.export_schema(s, "tlsks", release)
    doc["internal_ids"], internal = gen.internal_schema(s)
    doc["tables"] += internal
    print(json.dumps(doc, sort_keys=True))
c.shutdown()
PYEOF
export TOP
if ! "$PY" "$TMP/tls.py" ddl "$ADDR" "$P" >"$TMP/ddl.log" 2>&1 ||
	! "$PY" "$TMP/tls.py" export "$ADDR" "$P" >"$TMP/py.json" 2>"$TMP/py.err"; then
	tail -5 "$TMP/ddl.log" "$TMP/py.err"
	not_ok "tls: the Python driver could not write or read the schema over TLS"
	exit 0
fi

# same_as_python FILE: the tables and types of FILE equal the Python export
same_as_python() {
	"$PY" - "$1" "$TMP/py.json" <<'PYEOF'
import json, sys
mine, exp = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
def canon(d):
    return (sorted(json.dumps(t, sort_keys=True) for t in d["tables"]),
            sorted(json.dumps(t, sort_keys=True) for t in d["types"]), sorted(d.get("internal_ids", [])))
user = [t for t in exp["tables"] if not t.get("internal")]
ok = canon(mine) == canon(exp) and len(user) == 1
print("%d table, %d type%s" % (len(user), len(mine["types"]), "" if ok else ": DIFFERENT"))
sys.exit(0 if ok else 1)
PYEOF
}

# export NAME ARGS...: cdctail schema export --keyspace tlsks over TLS;
# rc, stdout in $TMP/NAME.json, stderr in $TMP/NAME.err
CLIENT=(--ca-file "$P/ca.pem" --cert-file "$P/client.pem" --key-file "$P/client.key")
export_() {
	local name=$1
	shift
	"$CDCTAIL" schema export --host "$ADDR" --keyspace tlsks --timeout-ms 20000 "$@" \
		>"$TMP/$name.json" 2>"$TMP/$name.err"
	echo $? >"$TMP/$name.rc"
	echo "# $name: exit $(cat "$TMP/$name.rc")$( [ -s "$TMP/$name.err" ] && printf ': %s' "$(cat "$TMP/$name.err")")"
}
# refused NAME PATTERN: exit 1, nothing on stdout, exactly one line on stderr matching PATTERN
refused() {
	[ "$(cat "$TMP/$1.rc")" = 1 ] && [ ! -s "$TMP/$1.json" ] && [ "$(wc -l <"$TMP/$1.err")" = 1 ] &&
		grep -Eq "^cdctail: $ADDR:9042: TLS[: ].*($2)" "$TMP/$1.err"
}

export_ good "${CLIENT[@]}"
msg=$(same_as_python "$TMP/good.json" 2>&1)
check "tls: schema export over TLS with the CA, a client certificate and key reads what the Python driver reads ($msg)" \
	[ "$(cat "$TMP/good.rc")" = 0 -a "${msg%%:*}" = "$msg" ]

export_ dns "${CLIENT[@]}" --server-name "$NODE_DNS"
msg=$(same_as_python "$TMP/dns.json" 2>&1)
check "tls: --server-name $NODE_DNS (the certificate's DNS name, sent as SNI) is accepted ($msg)" \
	[ "$(cat "$TMP/dns.rc")" = 0 -a "${msg%%:*}" = "$msg" ]

export_ ca2 --ca-file "$P/ca2.pem" --cert-file "$P/client.pem" --key-file "$P/client.key"
check "tls: a node whose certificate the given CA did not sign is refused, exit 1, in one line" \
	refused ca2 "certificate is not signed by a CA in $P/ca2.pem"

export_ sysca --tls --cert-file "$P/client.pem" --key-file "$P/client.key"
check "tls: without --ca-file the system's CAs are used, and they did not sign it: refused in one line" \
	refused sysca "not signed by a CA in the system's CA certificates"

export_ name "${CLIENT[@]}" --server-name wrong-node.test
check "tls: a name the node's certificate does not carry is refused, exit 1, in one line" \
	refused name "does not name wrong-node.test"

export_ noverify "${CLIENT[@]}" --server-name wrong-node.test --no-verify-host
msg=$(same_as_python "$TMP/noverify.json" 2>&1)
check "tls: the same with --no-verify-host is accepted ($msg)" \
	[ "$(cat "$TMP/noverify.rc")" = 0 -a "${msg%%:*}" = "$msg" ]

export_ nocert --ca-file "$P/ca.pem"
check "tls: without a client certificate the node (require_client_auth) refuses, exit 1, in one line" \
	refused nocert "client certificate|refused the connection|closed the connection"

export_ stranger --ca-file "$P/ca.pem" --cert-file "$P/stranger.pem" --key-file "$P/stranger.key"
check "tls: a client certificate of a CA the node does not trust is refused, exit 1, in one line" \
	refused stranger "refused the connection|closed the connection|certificate"

export_ plain
check "tls: plain TCP to the node is refused in one line that names TLS" \
	sh -c '[ "$(cat "$1.rc")" = 1 ] && [ "$(wc -l <"$1.err")" = 1 ] && grep -q "requires TLS" "$1.err"' sh "$TMP/plain"

# a bad local file is reported before anything is sent
export_ badkey --ca-file "$P/ca.pem" --cert-file "$P/client.pem" --key-file "$P/stranger.key"
check "tls: a key that does not belong to the certificate is refused before connecting, in one line" \
	sh -c '[ "$(cat "$1.rc")" = 1 ] && [ "$(wc -l <"$1.err")" = 1 ] && grep -q "does not belong to the certificate" "$1.err"' sh "$TMP/badkey"
scripts/cassandra.sh stop --dir "$dir"
