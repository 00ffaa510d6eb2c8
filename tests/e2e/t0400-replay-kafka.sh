#!/usr/bin/env bash
# `cdctail replay --kafka` into a real Kafka (KRaft, scripts/kafka.sh): every
# event of a fixture lands in its table's topic (cdctail.<keyspace>.<table>),
# keyed by the partition key, byte-identical to the JSON lines replay writes
# without Kafka; the exit code and summary say every event was acknowledged;
# an unreachable broker makes replay fail, not lose events silently.
. "$(dirname "$0")/lib.sh"
PORT=${KAFKA_TEST_PORT:-9392}
B=127.0.0.1:$PORT
kdir=$TMP/kafka
if ! scripts/kafka.sh start --dir "$kdir" --port "$PORT" >"$TMP/k.log" 2>&1; then
	cat "$TMP/k.log"
	not_ok "replay-kafka: could not start Kafka on $B (log above)"
	exit 0
fi
at_exit "scripts/kafka.sh stop --dir '$kdir'"

for case in 5.0/seed 5.0/types 4.1/seed; do
	fx=fixtures/$case
	prefix=t$(echo "$case" | tr -dc '0-9a-z')
	"$CDCTAIL" replay --schema "$fx/schema.json" "$fx/cdc_raw" >"$TMP/lines" 2>/dev/null
	"$CDCTAIL" replay --schema "$fx/schema.json" --kafka "$B" --topic-prefix "$prefix" \
		-X linger.ms=5 "$fx/cdc_raw" >"$TMP/out" 2>"$TMP/err"
	rc=$?
	n=$(wc -l <"$TMP/lines")
	check "replay-kafka $case: exit 0 and $n events acknowledged ($(tail -1 "$TMP/err"))" \
		grep -q " $n events, .*, $n delivered to Kafka, 0 delivery failures\$" "$TMP/err"
	[ $rc -eq 0 ] || { tail -3 "$TMP/err"; not_ok "replay-kafka $case: exit $rc"; }
	check "replay-kafka $case: nothing written to stdout" [ ! -s "$TMP/out" ]
	: >"$TMP/got"
	for t in $(python3 -c '
import json, sys
print("\n".join(sorted({"%s.%s.%s" % (sys.argv[2], e["keyspace"], e["table"]) for e in map(json.loads, open(sys.argv[1]))})))' "$TMP/lines" "$prefix"); do
		kcat -b "$B" -C -t "$t" -e -q -f '%t\t%k\t%s\n' >>"$TMP/got" 2>>"$TMP/kcat.err"
	done
	python3 - "$TMP/lines" "$TMP/got" "$prefix" <<'PY'
import collections, json, sys
lines, got, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
want = collections.Counter()
for l in open(lines, encoding="utf-8"):
    e = json.loads(l)
    key = json.dumps(e["key"], separators=(",", ":"), ensure_ascii=False)
    want[(f"{prefix}.{e['keyspace']}.{e['table']}", key, l.rstrip("\n"))] += 1
have = collections.Counter()
keyok = True
for l in open(got, encoding="utf-8"):
    t, k, v = l.rstrip("\n").split("\t", 2)
    have[(t, k, v)] += 1
missing, extra = want - have, have - want
for m in list(missing)[:3]: print("# missing:", m[0], m[1], m[2][:100])
for m in list(extra)[:3]: print("# unexpected:", m[0], m[1], m[2][:100])
ok = not missing and not extra and sum(want.values()) > 0
print(f"{'ok' if ok else 'not ok'} - replay-kafka {prefix}: {sum(have.values())} messages in Kafka equal the {sum(want.values())} JSON lines, topic per table, key = partition key")
PY
done

# the trigger format keys messages "genre:year", as the seed's trigger did
fx=fixtures/5.0/seed
"$CDCTAIL" replay --schema "$fx/schema.json" --format trigger --kafka "$B" --topic-prefix trig "$fx/cdc_raw" 2>"$TMP/err" >/dev/null
kcat -b "$B" -C -t trig.seed.movies_by_genre -e -q -f '%k\t%s\n' >"$TMP/got" 2>/dev/null
check "replay-kafka trigger format: message key equals the message's \"key\" ($(wc -l <"$TMP/got") messages)" python3 -c '
import json, sys
rows = [l.rstrip("\n").split("\t", 1) for l in open(sys.argv[1])]
sys.exit(0 if rows and all(json.loads(v)["key"] == k for k, v in rows) else 1)' "$TMP/got"

# a broker that is not there: replay reports it and exits non-zero
timeout 60 "$CDCTAIL" replay --schema "$fx/schema.json" --kafka 127.0.0.1:1 -X message.timeout.ms=3000 \
	"$fx/cdc_raw" >/dev/null 2>"$TMP/err"
rc=$?
check "replay-kafka: unreachable broker gives exit $rc (want 1) and says so ($(grep -c 'delivery failed' "$TMP/err") lines)" \
	sh -c "[ $rc -eq 1 ] && grep -q 'delivery failed' '$TMP/err' && grep -q ' 0 delivered to Kafka' '$TMP/err'"
