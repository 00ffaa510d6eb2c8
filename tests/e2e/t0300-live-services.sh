#!/usr/bin/env bash
# Real services on this machine: a one-node Cassandra of each version (5.0,
# 4.1, 4.0) with CDC on, started by scripts/cassandra.sh; writes to a cdc
# table reach cdc_raw and cdctail reads them up to the _cdc.idx offset while
# the node runs, then to COMPLETED after a clean stop. Then a real Kafka
# (KRaft) broker started by scripts/kafka.sh takes and returns a message.
. "$(dirname "$0")/lib.sh"
PY=$(scripts/deps.sh --python)
ADDR=${LIVE_ADDR:-127.0.0.1}
N=50

for v in ${LIVE_VERSIONS:-5.0 4.1 4.0}; do
	dir=$TMP/cass-$v
	t0=$(date +%s)
	if ! scripts/cassandra.sh start --version "$v" --dir "$dir" --addr "$ADDR" --compression lz4 >"$TMP/start.log" 2>&1; then
		cat "$TMP/start.log"
		not_ok "live $v: could not start Cassandra $v on $ADDR (log above)"
		continue
	fi
	at_exit "scripts/cassandra.sh stop --dir '$dir'"
	ok "live $v: Cassandra $v started on $ADDR in $(( $(date +%s) - t0 )) s"
	{
		echo "CREATE KEYSPACE live WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1};"
		echo "CREATE TABLE live.movies_by_genre (title text, genre text, year int, rating float, duration int, director text, country text, PRIMARY KEY ((genre, year), rating, duration)) WITH cdc = true;"
		for ((i = 0; i < N; i++)); do
			echo "INSERT INTO live.movies_by_genre (genre, year, rating, duration, title) VALUES ('drama', $((1990 + i)), 7.4, 110, 'row $i') USING TIMESTAMP $((1732500000000000 + i));"
		done
		echo "SELECT id FROM system_schema.tables WHERE keyspace_name = 'live' AND table_name = 'movies_by_genre';"
	} >"$TMP/w.cql"
	if ! "$PY" scripts/cql.py --host "$ADDR" -f "$TMP/w.cql" >"$TMP/id.json" 2>"$TMP/cql.err"; then
		cat "$TMP/cql.err"; not_ok "live $v: CQL workload failed"; continue
	fi
	id=$("$PY" -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["id"])' "$TMP/id.json")
	# within a few sync periods the idx covers all N writes
	seen=0
	for ((i = 0; i < 40; i++)); do
		seen=$(for f in "$dir"/cdc_raw/CommitLog-*.log; do [ -f "${f%.log}_cdc.idx" ] && "$CDCTAIL" dump --index "$f" 2>/dev/null; done | grep -c "table=$id" || true)
		[ "$seen" -ge $N ] && break
		sleep 0.5
	done
	check "live $v: all $N writes read from the live segment up to _cdc.idx ($seen seen)" [ "$seen" -eq $N ]
	scripts/cassandra.sh stop --dir "$dir"
	done_ok=1
	for idx in "$dir"/cdc_raw/*_cdc.idx; do grep -q COMPLETED "$idx" || done_ok=0; done
	check "live $v: every _cdc.idx says COMPLETED after a clean stop" [ $done_ok = 1 ]
	after=$("$CDCTAIL" dump "$dir"/cdc_raw/CommitLog-*.log 2>"$TMP/dump.err" | grep -c "table=$id")
	clean=0; grep -q ' 0 faults$' "$TMP/dump.err" && clean=1
	[ $clean = 1 ] || tail -5 "$TMP/dump.err"
	check "live $v: the finished segments read with no fault, $N entries ($after)" [ "$after" -eq $N -a $clean = 1 ]
done

kdir=$TMP/kafka
if scripts/kafka.sh start --dir "$kdir" >"$TMP/k.log" 2>&1; then
	at_exit "scripts/kafka.sh stop --dir '$kdir'"
	ok "kafka: broker (KRaft) started on 127.0.0.1:9092"
	echo "probe-value" | kcat -b 127.0.0.1:9092 -P -t cdctail.probe -k probe-key
	got=$(kcat -b 127.0.0.1:9092 -C -t cdctail.probe -c 1 -e -f '%k=%s' 2>/dev/null)
	check "kafka: a produced message comes back ($got)" [ "$got" = "probe-key=probe-value" ]
else
	cat "$TMP/k.log"
	not_ok "kafka: could not start the broker (log above)"
fi
