#!/usr/bin/env bash
# `cdctail run` while the schema changes under it, on real Cassandra (5.0 and
# 4.1) and a real Kafka: writes at DDL_RATE/s (1000) the whole time, during
# which these run one after another on the live node, each followed by
# DDL_STEP s of writes that use what it changed (tests/e2e/ddl_load.py):
# ALTER TABLE ADD of a simple, a collection, a static, a frozen and a
# non-frozen UDT column; ALTER TYPE ADD a field (used in both); ALTER TABLE
# DROP; ALTER TABLE RENAME of the clustering column; CREATE TABLE WITH cdc =
# true; ALTER TABLE WITH cdc = false, then true; DROP TABLE and CREATE of the
# same name (a new table id); CREATE and DROP KEYSPACE. The node's CQL port is
# reached through tests/e2e/slow_proxy.py, which holds each connection 1.5 s,
# so that each schema refresh takes that long; cdctail is SIGKILLed right
# after three of the changes, while a refresh is under way, and stopped
# (SIGSTOP) from before CREATE KEYSPACE until after DROP KEYSPACE, so that
# the keyspace's table is gone from the node before cdctail reads a byte of
# it: only the commitlog's own schema entries can decode it. Checks: every
# acknowledged write on a table tracked for CDC is in Kafka with the right
# column names and values, by its timestamp, and none of those made while
# cdc = false (tests/e2e/ddl_verify.py); nothing was skipped or quarantined,
# no COMPLETED segment is left in cdc_raw and all of them are in the archive
# (so none with a skipped entry was deleted); the refreshes were counted;
# a clone built from the events equals its source table by table
# (tests/e2e/ddl_clone.py); SIGTERM exits 0; no sanitizer report.
. "$(dirname "$0")/lib.sh"
PY=$(scripts/deps.sh --python)
ADDR=${LIVE_ADDR:-127.0.0.1}
PORT=${KAFKA_TEST_PORT:-9392}
B=127.0.0.1:$PORT
RATE=${DDL_RATE:-1000}
STEP=${DDL_STEP:-3}
PROXY_PORT=19042

kdir=$TMP/kafka
if ! scripts/kafka.sh start --dir "$kdir" --port "$PORT" >"$TMP/k.log" 2>&1; then
	cat "$TMP/k.log"
	not_ok "run ddl: could not start Kafka on $B (log above)"
	exit 0
fi
at_exit "scripts/kafka.sh stop --dir '$kdir'"

for v in ${DDL_VERSIONS:-5.0 4.1}; do
	cdir=$TMP/cass-$v
	if ! scripts/cassandra.sh start --version "$v" --dir "$cdir" --addr "$ADDR" --sync-period-ms 200 \
		>"$TMP/c.log" 2>&1; then
		cat "$TMP/c.log"
		not_ok "run ddl $v: could not start Cassandra $v on $ADDR (log above)"
		continue
	fi
	at_exit "scripts/cassandra.sh stop --dir '$cdir'"
	"$PY" tests/e2e/slow_proxy.py --listen "127.0.0.1:$PROXY_PORT" --to "$ADDR:9042" --delay 1.5 \
		--state "$TMP/proxy-$v.state" 2>"$TMP/proxy-$v.err" &
	proxy=$!
	at_exit "kill $proxy 2>/dev/null"
	ks=ddl${v/./}
	conf=$TMP/run-$v.conf
	cat >"$conf" <<EOF
cdc_raw = $cdir/cdc_raw
state_dir = $TMP/state-$v
cassandra.host = 127.0.0.1
cassandra.port = $PROXY_PORT
kafka.bootstrap.servers = $B
kafka.linger.ms = 5
topic.prefix = d$ks
rescan_interval = 1s
checkpoint_interval = 500ms
metrics.textfile = $TMP/metrics-$v.prom
metrics.interval = 1s
archive_dir = $TMP/archive-$v
node = $ADDR
EOF
	mkdir -p "$TMP/archive-$v"
	log=$TMP/run-$v.log pidf=$TMP/run-$v.pid
	"$PY" tests/e2e/ddl_load.py --host "$ADDR" --keyspace "$ks" --rate "$RATE" --step-seconds "$STEP" \
		--writes "$TMP/w-$v.jsonl" --report "$TMP/load-$v.json" --run-cmd "$CDCTAIL run --config $conf" \
		--run-log "$log" --pidfile "$pidf" --proxy-state "$TMP/proxy-$v.state" --kill-steps 2,6,11 --pause-steps 12,13 \
		>"$TMP/load-$v.out" 2>&1
	lrc=$?
	[ $lrc = 0 ] || tail -5 "$TMP/load-$v.out"
	read -r acked failed rate wrate kills mid < <(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(d["acknowledged"], d["failed"], d["achieved_rate"], d["writing_rate"], len(d["kills"]), sum(k["mid_refresh"] for k in d["kills"]))' \
		"$TMP/load-$v.json" 2>/dev/null)
	check "run ddl $v: $acked writes acknowledged at $wrate/s between the 16 schema statements ($rate/s over the whole run; asked $RATE/s), ${failed:-?} failed" \
		python3 -c 'import sys; a, f, r, want, rc = sys.argv[1:]; sys.exit(0 if rc == "0" and f == "0" and int(a) > 0 and float(r) >= 0.9 * float(want) else 1)' \
		"${acked:-0}" "${failed:-1}" "${wrate:-0}" "$RATE" "$lrc"
	check "run ddl $v: cdctail SIGKILLed $kills times right after a schema change, $mid of them while a schema refresh was under way" \
		[ "${kills:-0}" = 3 -a "${mid:-0}" -ge 1 ]
	# the stream reaches Kafka: verify once cdctail has caught up
	"$PY" tests/e2e/ddl_verify.py --bootstrap "$B" --prefix "d$ks" --keyspace "$ks" --writes "$TMP/w-$v.jsonl" \
		--report "$TMP/load-$v.json" --events-out "$TMP/events-$v.jsonl" --idle 20 \
		>"$TMP/verify-$v.json" 2>"$TMP/verify-$v.err"
	vrc=$?
	[ $vrc = 0 ] || { tail -8 "$TMP/verify-$v.err"; grep -v '^%' "$log" | tail -5; }
	summary=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("%d tracked writes, %d events: %d lost, %d with a wrong name or value, %d duplicates, %d spurious; %d untracked writes, %d of them in Kafka; writes before the rename named its column c in %d events, cc in %d" % (
    d["tracked"], d["events"], d["lost"], d["wrong"], d["duplicates"], d["spurious"], d["untracked"], d["untracked_seen"],
    d["renamed_column_before_rename"]["c"], d["renamed_column_before_rename"]["cc"]))' "$TMP/verify-$v.json" 2>/dev/null)
	check "run ddl $v: every acknowledged write is in Kafka with its column names and values ($summary)" [ $vrc = 0 ]
	read -r xw xe psec < <(python3 -c '
import json, sys
w = [json.loads(l) for l in open(sys.argv[1])]
e = [json.loads(l) for l in open(sys.argv[2])]
p = json.load(open(sys.argv[3])).get("paused", {})
print(sum(1 for x in w if x["table"] == "x" and not x.get("failed")),
      len({(x["key"]["k"], x["ts"]) for x in e if x.get("table") == "x"}), p.get("seconds", "-"))' \
		"$TMP/w-$v.jsonl" "$TMP/events-$v.jsonl" "$TMP/load-$v.json" 2>/dev/null)
	check "run ddl $v: cdctail stopped (SIGSTOP) for $psec s from before CREATE KEYSPACE ${ks}_gone to after its DROP: the $xw writes to ${ks}_gone.x decoded by the definition the commitlog gave ($xe distinct events)" \
		[ "${xw:-0}" -gt 0 -a "${xw:-0}" = "${xe:--1}" ]
	left=0
	for i in $(seq 1 30); do
		left=0
		for idx in "$cdir"/cdc_raw/*_cdc.idx; do
			[ -f "$idx" ] && grep -q COMPLETED "$idx" && [ -f "${idx%_cdc.idx}.log" ] && left=$((left + 1))
		done
		[ $left = 0 ] && break
		sleep 1
	done
	quar=$(ls "$TMP/state-$v/quarantine" 2>/dev/null | wc -l)
	check "run ddl $v: nothing skipped or quarantined ($quar files in quarantine_dir), every COMPLETED segment archived ($left left in cdc_raw, $(ls "$TMP/archive-$v" | grep -c '\.log$') in the archive)" \
		[ "$quar" = 0 -a "$left" = 0 ]
	refreshes=$(awk '$1 == "cdctail_schema_refreshes_total" { print $2 }' "$TMP/metrics-$v.prom")
	relog=$(grep -c 'schema read again' "$log")
	rtime=$(grep -o 'schema read again from the node in [0-9]* ms' "$log" | awk '{ print $(NF-1) }' | sort -n |
		awk '{ a[NR] = $1 } END { if (NR) printf "median %d ms, max %d ms (through a proxy holding each connection 1.5 s)", a[int((NR + 1) / 2)], a[NR] }')
	check "run ddl $v: schema refreshes counted: $refreshes by the last process, $relog read again in all after 16 schema statements; $rtime" \
		[ "${refreshes:-0}" -ge 1 -a "$relog" -ge 5 ]
	"$PY" tests/e2e/ddl_clone.py --host "$ADDR" --keyspace "$ks" --events "$TMP/events-$v.jsonl" \
		--report "$TMP/load-$v.json" 2>&1 | tee "$TMP/clone-$v.out" | grep -E '^(ok|not ok|#)'
	grep -qE '^(ok|not ok)' "$TMP/clone-$v.out" || not_ok "run ddl $v: the clone check did not run: $(tail -1 "$TMP/clone-$v.out")"
	pid=$(cat "$pidf")
	kill -TERM "$pid"
	for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
	check "run ddl $v: SIGTERM stops it with the checkpoint saved" sh -c "! kill -0 $pid 2>/dev/null && tail -1 '$log' | grep -q 'checkpoint saved'"
	check "run ddl $v: no sanitizer report in the service's log" sh -c "! grep -q -E 'AddressSanitizer|runtime error|LeakSanitizer' '$log'"
	kill "$proxy" 2>/dev/null
	scripts/cassandra.sh stop --dir "$cdir" >/dev/null 2>&1
done
