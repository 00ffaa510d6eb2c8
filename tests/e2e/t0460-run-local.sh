#!/usr/bin/env bash
# `cdctail run` without services: a cdc_raw directory fed the way Cassandra
# feeds it (a segment growing, its _cdc.idx offset advancing, then
# COMPLETED), JSON lines to a file. Checks: events equal `replay` of the
# finished segment, nothing beyond the idx offset is read early, the segment
# is removed only after COMPLETED, a damaged segment is quarantined and the
# service goes on, symlinks are left alone, a second service on the same
# state_dir is refused, the metrics textfile's series and values, SIGHUP
# reopens the log, keeps running on a bad configuration and applies a good
# one, systemd's READY/STATUS/WATCHDOG/STOPPING arrive on $NOTIFY_SOCKET (READY
# also while the schema is awaited), SIGTERM exits 0. Then, each with its own
# state: segments without _cdc.idx (docs/run.md), SIGTERM with messages in
# flight to an unreachable Kafka (ASan build), messages Kafka refuses going
# to the dead-letter file (librdkafka's mock cluster), unsafe kafka.acks /
# enable.idempotence refused.
. "$(dirname "$0")/lib.sh"

fx=fixtures/5.0/seed
seg=$(ls $fx/cdc_raw/CommitLog-*.log)
name=$(basename "$seg")
idxname=${name%.log}_cdc.idx
raw=$TMP/cdc_raw
mkdir -p "$raw"
"$CDCTAIL" replay --schema $fx/schema.json --node n1 "$seg" >"$TMP/want" 2>/dev/null
want=$(wc -l <"$TMP/want")
# the entry offsets, to move the idx by whole sync sections
mapfile -t secs < <("$CDCTAIL" dump --no-entries "$seg" 2>/dev/null | awk '/section/ { for (i = 1; i <= NF; i++) if ($i ~ /^next=/) { sub("next=", "", $i); print $i } }')
# the section end with about half of the events before it
half=$(python3 -c '
import json, sys
offs = sorted(json.loads(l)["source"]["offset"] for l in open(sys.argv[1]))
mid = offs[len(offs) // 2]
print(min(int(x) for x in sys.argv[2:] if int(x) > mid))' "$TMP/want" "${secs[@]}")

# systemd's notify socket: listen SOCKET LOG (until STOPPING=1); sets $npid
listen() {
	python3 - "$1" "$2" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as f:
    while True:
        m = s.recv(4096).decode()
        f.write(m.replace("\n", " ") + "\n"); f.flush()
        if "STOPPING=1" in m:
            break
PY
	npid=$!
	at_exit "kill $npid 2>/dev/null"
	for i in $(seq 1 50); do [ -S "$1" ] && break; sleep 0.1; done
}
# metric NAME[{labels}] FILE: the value of one series ("" when absent)
metric() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
# wait_for SECONDS CMD...: until CMD succeeds (polling every 0.1 s)
wait_for() { local n=$(( $1 * 10 )); shift; while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done; return 1; }
listen "$TMP/notify.sock" "$TMP/notify.log"

cat >"$TMP/run.conf" <<EOF
cdc_raw = $raw
state_dir = $TMP/state
schema = $fx/schema.json
output = $TMP/out.jsonl
node = n1
rescan_interval = 200ms
checkpoint_interval = 100ms
log_file = $TMP/run.log
metrics.textfile = $TMP/m.prom
metrics.interval = 200ms
EOF
# a symlink to a segment outside cdc_raw, and a damaged segment
cp "$seg" "$TMP/outside.log"
ln -s "$TMP/outside.log" "$raw/CommitLog-7-1.log"
head -c 20000 /dev/urandom >"$raw/CommitLog-7-2.log"
printf '20000\nCOMPLETED' >"$raw/CommitLog-7-2_cdc.idx"
# the segment appears with only its first section synced
head -c "$half" "$seg" >"$raw/$name"
truncate -s "$(stat -c %s "$seg")" "$raw/$name"
printf '%s' "$half" >"$raw/$idxname"

NOTIFY_SOCKET=$TMP/notify.sock WATCHDOG_USEC=400000 "$CDCTAIL" run --config "$TMP/run.conf" 2>"$TMP/stderr" &
pid=$!
at_exit "kill -9 $pid 2>/dev/null"
sleep 1.5
n1=$(wc -l <"$TMP/out.jsonl" 2>/dev/null || echo 0)
first=$(python3 -c '
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["source"]["offset"] < int(sys.argv[2])))' "$TMP/want" "$half")
check "run: only the synced part is read: $n1 events (want $first of $want)" [ "$n1" = "$first" -a "$first" -gt 0 -a "$first" -lt "$want" ]
sleep 0.3
raw_bytes=$(find "$raw" -maxdepth 1 -type f \( -name 'CommitLog-*.log' -o -name '*_cdc.idx' \) -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
check "run: metrics while the segment is pending: 1 pending, cdc_raw $(metric cdctail_cdc_raw_bytes "$TMP/m.prom") bytes (want $raw_bytes), 1 decode error (the damaged segment)" \
	sh -c "[ '$(metric cdctail_segments_pending "$TMP/m.prom")' = 1 ] && [ '$(metric cdctail_cdc_raw_bytes "$TMP/m.prom")' = '$raw_bytes' ] && [ '$(metric cdctail_decode_errors_total "$TMP/m.prom")' = 1 ]"
"$CDCTAIL" run --config "$TMP/run.conf" 2>"$TMP/second.err"
src=$?
check "run: a second service on the same state_dir is refused (exit $src)" sh -c "[ $src = 1 ] && grep -q 'another cdctail run' '$TMP/run.log'"
# Cassandra syncs the rest, then completes the segment
dd if="$seg" of="$raw/$name" bs=4096 conv=notrunc status=none   # in place, as Cassandra's mmap writes
printf '%s' "${secs[-1]}" >"$raw/$idxname"
sleep 1.5
check "run: the segment stays while its idx is not COMPLETED" [ -f "$raw/$name" ]
printf '%s\nCOMPLETED' "${secs[-1]}" >"$raw/$idxname"
t_c=$(date +%s%N); for i in $(seq 1 300); do [ -f "$raw/$name" -o -f "$raw/$idxname" ] || break; sleep 0.05; done; echo "# removed $(( ($(date +%s%N) - t_c) / 1000000 )) ms after COMPLETED"
check "run: removed after COMPLETED and every event written" [ ! -f "$raw/$name" -a ! -f "$raw/$idxname" ]
check "run: events equal replay's ($(wc -l <"$TMP/out.jsonl") of $want)" cmp -s "$TMP/want" "$TMP/out.jsonl"
check "run: the damaged segment is quarantined with its idx" \
	sh -c "[ -f '$TMP/state/quarantine/CommitLog-7-2.log' -a -f '$TMP/state/quarantine/CommitLog-7-2_cdc.idx' -a ! -e '$raw/CommitLog-7-2.log' ] && grep -q 'CommitLog-7-2.log.*quarantined' '$TMP/run.log'"
check "run: the symlink and its target are untouched" [ -L "$raw/CommitLog-7-1.log" -a -f "$TMP/outside.log" ]
sleep 0.5
check "run: metrics say 1 segment done, 1 quarantined, 0 pending" \
	sh -c "grep -q '^cdctail_segments_done_total 1' '$TMP/m.prom' && grep -q '^cdctail_segments_quarantined_total 1' '$TMP/m.prom' && grep -q '^cdctail_segments_pending 0' '$TMP/m.prom'"
# events by table and op: counted when written (acknowledged), equal to the events of the segment
check "run: cdctail_events_total by table and op equals the segment's events" python3 - "$TMP/want" "$TMP/m.prom" <<'PY'
import collections, json, re, sys
want = collections.Counter()
for l in open(sys.argv[1]):
    e = json.loads(l); want[(e["keyspace"], e["table"], e["op"])] += 1
got = {}
for l in open(sys.argv[2]):
    m = re.match(r'cdctail_events_total\{keyspace="([^"]*)",table="([^"]*)",op="([^"]*)"\} (\d+)$', l)
    if m:
        got[m.group(1, 2, 3)] = int(m.group(4))
got = {k: v for k, v in got.items() if v}
print("# %d series, %d events; want %d series, %d events" % (len(got), sum(got.values()), len(want), sum(want.values())))
sys.exit(0 if got == dict(want) else 1)
PY
newest=$(python3 -c 'import json, sys; print(max(json.loads(l)["ts"] for l in open(sys.argv[1])))' "$TMP/want")
lag=$(metric cdctail_lag_seconds "$TMP/m.prom")
check "run: lag $lag s is now minus the newest written event's write time; no delivery errors, dead letters or re-reads" \
	python3 -c 'import sys, time; lag, newest = float(sys.argv[1]), int(sys.argv[2]); d = time.time() - newest / 1e6 - lag; sys.exit(0 if -1 < d < 3 and all(a == "0" for a in sys.argv[3:]) else 1)' \
	"${lag:-x}" "$newest" "$(metric cdctail_delivery_errors_total "$TMP/m.prom")" "$(metric cdctail_dead_letter_total "$TMP/m.prom")" "$(metric cdctail_rereads_total "$TMP/m.prom")"
check "run: rescans and inotify overflows are exported" \
	sh -c "[ '$(metric cdctail_rescans_total "$TMP/m.prom")' -ge 1 ] && [ -n '$(metric cdctail_inotify_overflows_total "$TMP/m.prom")' ]"
# SIGHUP: the log is reopened (logrotate moved it away)
mv "$TMP/run.log" "$TMP/run.log.1"
kill -HUP $pid
for i in $(seq 1 50); do [ -f "$TMP/run.log" ] && grep -q SIGHUP "$TMP/run.log" && break; sleep 0.1; done
check "run: SIGHUP reopens the log file and re-reads the configuration" grep -q 'SIGHUP' "$TMP/run.log"
# SIGHUP with a bad configuration: refused, the service goes on with the running one
cp "$TMP/run.conf" "$TMP/run.conf.good"
echo "rescan_intervall = 1s" >>"$TMP/run.conf"
kill -HUP $pid
wait_for 5 grep -q 'configuration NOT reloaded' "$TMP/run.log"
sleep 0.5
check "run: SIGHUP with a bad configuration: logged, refused, still running" \
	sh -c "grep -q \"NOT reloaded: unknown configuration key 'rescan_intervall'\" '$TMP/run.log' && kill -0 $pid"
m_before=$(stat -c %Y.%y "$TMP/m.prom")
sleep 0.5
check "run: ... and still at work (metrics rewritten)" [ "$(stat -c %Y.%y "$TMP/m.prom")" != "$m_before" ]
# a good configuration with a changed setting takes effect
sed "s|^metrics.textfile = .*|metrics.textfile = $TMP/m2.prom|" "$TMP/run.conf.good" >"$TMP/run.conf"
kill -HUP $pid
wait_for 5 test -f "$TMP/m2.prom"
check "run: SIGHUP applies a changed setting (metrics.textfile now $TMP/m2.prom)" \
	sh -c "[ -f '$TMP/m2.prom' ] && grep -q '^cdctail_segments_done_total 1' '$TMP/m2.prom' && kill -0 $pid"
kill -TERM $pid
wait $pid
rc=$?
check "run: SIGTERM exits 0 ($rc) with the checkpoint saved" sh -c "[ $rc = 0 ] && grep -q 'checkpoint saved' '$TMP/run.log'"
# a restart: the lag is known from the checkpoint before anything new is acknowledged
"$CDCTAIL" run --config "$TMP/run.conf" 2>>"$TMP/stderr" &
pid=$!
rm -f "$TMP/m2.prom"; wait_for 5 test -f "$TMP/m2.prom"
lag2=$(metric cdctail_lag_seconds "$TMP/m2.prom")
kill -TERM $pid; wait $pid
check "run: after a restart, lag ${lag2:-absent} s comes from the checkpoint (not 0)" \
	python3 -c 'import sys, time; lag, newest = float(sys.argv[1]), int(sys.argv[2]); d = time.time() - newest / 1e6 - lag; sys.exit(0 if -1 < d < 3 else 1)' "${lag2:-x}" "$newest"
wait $npid 2>/dev/null
check "run: systemd hears READY=1, WATCHDOG=1, STATUS=, RELOADING=1 and STOPPING=1" python3 -c '
import sys
t = open(sys.argv[1]).read()
sys.exit(0 if all(k in t for k in ("READY=1", "WATCHDOG=1", "STATUS=", "RELOADING=1", "STOPPING=1")) else 1)' "$TMP/notify.log"
check "run: no sanitizer report" sh -c "! grep -q -E 'AddressSanitizer|runtime error|LeakSanitizer' '$TMP/stderr' '$TMP/run.log' '$TMP/run.log.1'"
# the shipped unit file passes systemd's own checker (with ExecStart pointed at this build)
if command -v systemd-analyze >/dev/null; then
	sed "s|/usr/local/bin/cdctail|$TOP/cdctail|" scripts/systemd/cdctail.service >"$TMP/cdctail.service"
	check "run: systemd-analyze verify accepts scripts/systemd/cdctail.service" sh -c "systemd-analyze verify '$TMP/cdctail.service' >'$TMP/verify.out' 2>&1 && ! grep -q . '$TMP/verify.out' || { cat '$TMP/verify.out'; false; }"
fi
# the shipped example config is accepted by run's key check
sed "s|^cdc_raw = .*|cdc_raw = $TMP/none|; s|^state_dir = .*|state_dir = $TMP/state2|; s|^metrics.textfile.*||" scripts/systemd/cdctail.conf >"$TMP/example.conf"
timeout 5 "$CDCTAIL" run --config "$TMP/example.conf" --set schema=$fx/schema.json --set kafka.bootstrap.servers=127.0.0.1:1 \
	--set log_file=- 2>"$TMP/example.err" &
epid=$!
sleep 2
kill -TERM $epid 2>/dev/null; wait $epid
check "run: the example config loads (no unknown key)" sh -c "! grep -q 'unknown configuration key' '$TMP/example.err' && grep -q tailing '$TMP/example.err'"

# ---- segments without _cdc.idx (docs/run.md). Three real 5.0 segments, in
# id order: A without idx and with a second link (Cassandra's commitlog
# copy), B with an idx that Cassandra advances, C without idx and with one
# link only (its commitlog copy deleted: discarded).
A=fixtures/5.0/seed/cdc_raw/CommitLog-7-1795574591940.log
B=fixtures/5.0/types/cdc_raw/CommitLog-7-1795574614094.log
C=fixtures/5.0/compress-lz4/cdc_raw/CommitLog-7-1795574639757.log
python3 - fixtures/5.0/seed/schema.json fixtures/5.0/types/schema.json fixtures/5.0/compress-lz4/schema.json >"$TMP/abc.json" <<'PY'
import json, sys
out = None
for p in sys.argv[1:]:
    s = json.load(open(p))
    if out is None:
        out = s
    else:
        out["types"] += s["types"]; out["tables"] += s["tables"]
json.dump(out, sys.stdout)
PY
"$CDCTAIL" replay --schema "$TMP/abc.json" --node n1 "$B" >"$TMP/wantB" 2>/dev/null
"$CDCTAIL" replay --schema "$TMP/abc.json" --node n1 "$C" >"$TMP/wantC" 2>/dev/null
raw3=$TMP/raw3
mkdir -p "$raw3" "$TMP/commitlog"
cp "$A" "$TMP/commitlog/" && ln "$TMP/commitlog/$(basename "$A")" "$raw3/"     # 2 links
cp "$B" "$raw3/" && printf 27042 >"$raw3/CommitLog-7-1795574614094_cdc.idx"  # a first sync
cp "$C" "$raw3/"                                                             # 1 link, no idx
sed -e "s|^cdc_raw = .*|cdc_raw = $raw3|" -e "s|^state_dir = .*|state_dir = $TMP/state3|" \
    -e "s|^schema = .*|schema = $TMP/abc.json|" -e "s|^output = .*|output = $TMP/out3.jsonl|" \
    -e "s|^log_file = .*|log_file = $TMP/run3.log|" -e "s|^metrics.textfile = .*|metrics.textfile = $TMP/m3.prom|" \
    "$TMP/run.conf.good" >"$TMP/run3.conf"
# the rules of the idx, as without read-ahead (A holds CDC entries, which a
# real idx-less segment cannot: read ahead, they would be sent at once)
echo "read_ahead = false" >>"$TMP/run3.conf"
"$CDCTAIL" run --config "$TMP/run3.conf" 2>>"$TMP/stderr" &
pid=$!
# the first sync of B must be seen before the next one is written: wait
# until the service has listed the three segments (its metrics say so)
wait_for 20 grep -q '^cdctail_segments_pending 3' "$TMP/m3.prom"
sleep 1
check "idx-less: A (no idx, 2 links) with only one sync of the newer B seen: undecided, so B is not read before it ($(cat "$TMP/out3.jsonl" 2>/dev/null | wc -l) events)" \
	sh -c "[ ! -s '$TMP/out3.jsonl' ] && [ -f '$raw3/$(basename "$A")' ]"
printf 86825 >"$raw3/CommitLog-7-1795574614094_cdc.idx"                      # Cassandra's next sync of B
wait_for 20 sh -c "[ \$(wc -l <'$TMP/out3.jsonl') -ge $(wc -l <"$TMP/wantB") ]"
check "idx-less: after a later sync of B, A is found to hold no CDC data; B is read to its idx ($(wc -l <"$TMP/out3.jsonl") events)" \
	sh -c "cmp -s '$TMP/wantB' '$TMP/out3.jsonl' && grep -q 'CommitLog-7-1795574591940.log: no _cdc.idx while .* holds no CDC data' '$TMP/run3.log'"
printf '86825\nCOMPLETED' >"$raw3/CommitLog-7-1795574614094_cdc.idx"
cat "$TMP/wantB" "$TMP/wantC" >"$TMP/wantBC"
wait_for 8 sh -c "[ \$(wc -l <'$TMP/out3.jsonl') -ge $(wc -l <"$TMP/wantBC") ]"
sleep 0.5
check "idx-less: C (1 link: discarded by Cassandra) is read whole after B completed, in id order ($(wc -l <"$TMP/out3.jsonl") of $(wc -l <"$TMP/wantBC") events)" \
	cmp -s "$TMP/wantBC" "$TMP/out3.jsonl"
check "idx-less: B is released; A and C are left to Cassandra (C's discard was under 60 s ago)" \
	sh -c "[ ! -e '$raw3/$(basename "$B")' -a -f '$raw3/$(basename "$A")' -a -f '$raw3/$(basename "$C")' ] && [ '$(metric cdctail_segments_pending "$TMP/m3.prom")' = 2 ]"
rm "$raw3/$(basename "$A")" "$TMP/commitlog/$(basename "$A")"               # Cassandra's discard of A
wait_for 5 sh -c "grep -q '^cdctail_segments_pending 1' '$TMP/m3.prom'"
check "idx-less: when Cassandra removes A, it is forgotten (1 pending: C)" grep -q '^cdctail_segments_pending 1' "$TMP/m3.prom"
kill -TERM $pid; wait $pid
check "idx-less: SIGTERM exits 0 ($?)" [ $? = 0 ]

# ---- segments removed from cdc_raw by someone else (by hand, or by
# Cassandra with cdc_block_writes: false) before cdctail read them to the
# end: what was read is delivered, the loss is logged and counted
# (cdctail_segments_lost_total), and the segments after it are read
python3 -c 'import json, sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["source"]["offset"] < 84518))' \
	"$TMP/wantB" >"$TMP/nB1"
"$CDCTAIL" replay --schema "$TMP/abc.json" --node n1 fixtures/5.0/compress-lz4/cdc_raw >"$TMP/wantC2" 2>/dev/null
head -n "$(cat "$TMP/nB1")" "$TMP/wantB" | cat - "$TMP/wantC2" >"$TMP/want6"
lost_conf() { # lost_conf N: a config for cdc_raw TMP/rawN
	sed -e "s|^cdc_raw = .*|cdc_raw = $TMP/raw$1|" -e "s|^state_dir = .*|state_dir = $TMP/state$1|" \
	    -e "s|^schema = .*|schema = $TMP/abc.json|" -e "s|^output = .*|output = $TMP/out$1.jsonl|" \
	    -e "s|^log_file = .*|log_file = $TMP/run$1.log|" -e "s|^metrics.textfile = .*|metrics.textfile = $TMP/m$1.prom|" \
	    "$TMP/run.conf.good" >"$TMP/run$1.conf"
	echo "read_ahead = false" >>"$TMP/run$1.conf"
}
mkdir -p "$TMP/raw6"
cp "$B" "$TMP/raw6/" && printf 84518 >"$TMP/raw6/CommitLog-7-1795574614094_cdc.idx"
cp fixtures/5.0/compress-lz4/cdc_raw/* "$TMP/raw6/"
lost_conf 6
"$CDCTAIL" run --config "$TMP/run6.conf" 2>>"$TMP/stderr" &
pid=$!
wait_for 20 sh -c "[ \$(wc -l <'$TMP/out6.jsonl' 2>/dev/null || echo 0) -ge $(cat "$TMP/nB1") ]"
sleep 0.5
n_before=$(wc -l <"$TMP/out6.jsonl")
rm "$TMP/raw6/$(basename "$B")" "$TMP/raw6/CommitLog-7-1795574614094_cdc.idx"
wait_for 20 sh -c "[ \$(wc -l <'$TMP/out6.jsonl') -ge $(wc -l <"$TMP/want6") ]"
sleep 0.5
check "removed while read: B's first sync delivered ($n_before of $(cat "$TMP/nB1") events) before B and its idx were removed; the loss logged and counted (cdctail_segments_lost_total $(metric cdctail_segments_lost_total "$TMP/m6.prom")); the next segment read whole ($(wc -l <"$TMP/out6.jsonl") of $(wc -l <"$TMP/want6") events in all)" \
	sh -c "[ $n_before = $(cat "$TMP/nB1") ] && cmp -s '$TMP/want6' '$TMP/out6.jsonl' && [ '$(metric cdctail_segments_lost_total "$TMP/m6.prom")' = 1 ] && grep -q 'CommitLog-7-1795574614094.log: removed from cdc_raw with its _cdc.idx while being read' '$TMP/run6.log'"
kill -TERM $pid; wait $pid
check "removed while read: SIGTERM exits 0 ($?)" [ $? = 0 ]
# the same removal while cdctail is stopped: found at the next start
mkdir -p "$TMP/raw7"
cp "$B" "$TMP/raw7/" && printf 84518 >"$TMP/raw7/CommitLog-7-1795574614094_cdc.idx"
lost_conf 7
"$CDCTAIL" run --config "$TMP/run7.conf" 2>>"$TMP/stderr" &
pid=$!
wait_for 20 sh -c "[ \$(wc -l <'$TMP/out7.jsonl' 2>/dev/null || echo 0) -ge $(cat "$TMP/nB1") ]"
sleep 1
kill -TERM $pid; wait $pid
rm "$TMP/raw7/$(basename "$B")" "$TMP/raw7/CommitLog-7-1795574614094_cdc.idx"
"$CDCTAIL" run --config "$TMP/run7.conf" 2>>"$TMP/stderr" &
pid=$!
wait_for 10 grep -q 'segment 1795574614094 was removed from cdc_raw' "$TMP/run7.log"
sleep 0.5
check "removed while stopped: at the next start the unfinished segment's loss after what was delivered is logged and counted (cdctail_segments_lost_total $(metric cdctail_segments_lost_total "$TMP/m7.prom"))" \
	sh -c "grep -q -E 'segment 1795574614094 was removed from cdc_raw .* after offset [1-9][0-9]* was delivered' '$TMP/run7.log' && [ '$(metric cdctail_segments_lost_total "$TMP/m7.prom")' = 1 ]"
kill -TERM $pid; wait $pid

# ---- SIGTERM with messages in flight to an unreachable Kafka (ASan build):
# the delivery reports of the purge are served while the segments still
# exist, and no position beyond what Kafka acknowledged (nothing) is saved
raw4=$TMP/raw4
mkdir -p "$raw4"
cp "$seg" "$raw4/" && printf '%s\nCOMPLETED' "${secs[-1]}" >"$raw4/$idxname"
sed -e "s|^cdc_raw = .*|cdc_raw = $raw4|" -e "s|^state_dir = .*|state_dir = $TMP/state4|" \
    -e "s|^log_file = .*|log_file = $TMP/run4.log|" -e "s|^metrics.textfile = .*|metrics.textfile = $TMP/m4.prom|" \
    -e "/^output = /d" "$TMP/run.conf.good" >"$TMP/run4.conf"
printf 'kafka.bootstrap.servers = 127.0.0.1:1\nkafka.message.timeout.ms = 1000\nshutdown_timeout = 1s\n' >>"$TMP/run4.conf"
"$CDCTAIL" run --config "$TMP/run4.conf" 2>"$TMP/stderr4" &
pid=$!
wait_for 8 sh -c "[ \"\$(awk '\$1 == \"cdctail_rereads_total\" { print \$2 }' '$TMP/m4.prom' 2>/dev/null)\" -ge 1 ] 2>/dev/null"
sleep 0.5
staged=$(awk '/^cdctail_events_total\{/ { s += $2 } END { print s + 0 }' "$TMP/m4.prom")
check "unreachable Kafka: delivery errors $(metric cdctail_delivery_errors_total "$TMP/m4.prom") and re-reads $(metric cdctail_rereads_total "$TMP/m4.prom") counted, no event counted ($staged), $(metric cdctail_in_flight "$TMP/m4.prom") in flight, no lag series" \
	sh -c "[ '$(metric cdctail_delivery_errors_total "$TMP/m4.prom")' -gt 0 ] && [ '$(metric cdctail_rereads_total "$TMP/m4.prom")' -ge 1 ] && [ '$(metric cdctail_events_acked_total "$TMP/m4.prom")' = 0 ] && [ $staged = 0 ] && grep -q '^cdctail_events_total{' '$TMP/m4.prom' && [ '$(metric cdctail_in_flight "$TMP/m4.prom")' -gt 0 ] && ! grep -q cdctail_lag_seconds '$TMP/m4.prom'"
kill -TERM $pid; wait $pid
rc=$?
first_ev=$(python3 -c 'import json, sys; print(min(json.loads(l)["source"]["offset"] for l in open(sys.argv[1])))' "$TMP/want")
pos=$(awk '$1 == "segment" { print $3 }' "$TMP/state4/checkpoint" 2>/dev/null)
check "unreachable Kafka: SIGTERM with messages in flight exits $rc, no sanitizer report, checkpoint ${pos:-none} not past the first event (entry at $first_ev)" \
	sh -c "[ $rc = 0 ] && ! grep -q -E 'AddressSanitizer|runtime error|LeakSanitizer' '$TMP/stderr4' && [ '${pos:-0}' -le '$first_ev' ] && grep -q 'still unacknowledged' '$TMP/run4.log'"

# ---- messages Kafka will never accept (librdkafka's mock cluster, with
# message.max.bytes below the largest events): written to the dead-letter
# file with segment, offset and error, counted, logged; the rest goes on
T=fixtures/5.0/types
raw5=$TMP/raw5
mkdir -p "$raw5"
cp "$T"/cdc_raw/* "$raw5/"
"$CDCTAIL" replay --schema $T/schema.json --node n1 "$T/cdc_raw" >"$TMP/want5" 2>/dev/null
sed -e "s|^cdc_raw = .*|cdc_raw = $raw5|" -e "s|^state_dir = .*|state_dir = $TMP/state5|" -e "s|^schema = .*|schema = $T/schema.json|" \
    -e "s|^log_file = .*|log_file = $TMP/run5.log|" -e "s|^metrics.textfile = .*|metrics.textfile = $TMP/m5.prom|" \
    -e "/^output = /d" "$TMP/run.conf.good" >"$TMP/run5.conf"
printf 'kafka.bootstrap.servers = 127.0.0.1:1\nkafka.test.mock.num.brokers = 1\nkafka.message.max.bytes = 1100\n' >>"$TMP/run5.conf"
"$CDCTAIL" run --config "$TMP/run5.conf" 2>"$TMP/stderr5" &
pid=$!
wait_for 10 sh -c "[ ! -e '$raw5/$(ls $T/cdc_raw | grep '\.log$')' ]"
sleep 0.3
kill -TERM $pid; wait $pid
rc=$?
check "dead letters: the events Kafka refused are in state_dir/dead-letter.jsonl with segment, offset, error, and equal to the segment's events there; the others acknowledged; the segment released (exit $rc)" \
	python3 - "$TMP/want5" "$TMP/state5/dead-letter.jsonl" "$TMP/m5.prom" "$TMP/run5.log" "$raw5" <<'PY'
import json, os, re, sys
want = [json.loads(l) for l in open(sys.argv[1])]
dead = [json.loads(l) for l in open(sys.argv[2])]
prom = dict(l.split() for l in open(sys.argv[3]) if l.startswith("cdctail_") and "{" not in l)
log = open(sys.argv[4]).read()
by_off = {}
for e in want:
    by_off.setdefault(e["source"]["offset"], []).append(e)
ok = bool(dead)
for d in dead:
    ev = json.loads(d["event"])
    ok &= d["segment"] == "CommitLog-7-%d.log" % ev["source"]["segment"] and d["segment_id"] == ev["source"]["segment"]
    ok &= ev in by_off.get(d["offset"], []) and len(d["event"]) > 1000 and "too large" in d["error"]
    ok &= ("entry at offset %d: Kafka will not accept" % d["offset"]) in log
# every event over the limit is there, every small one went to Kafka
big = sum(1 for l in open(sys.argv[1]) if len(l) > 1100)
small = sum(1 for l in open(sys.argv[1]) if len(l) < 950)
ok &= len(dead) >= big and int(prom["cdctail_dead_letter_total"]) == len(dead)
ok &= int(prom["cdctail_events_acked_total"]) == len(want) - len(dead) and len(want) - len(dead) >= small
ok &= int(prom["cdctail_segments_done_total"]) == 1 and not any(f.endswith(".log") for f in os.listdir(sys.argv[5]))
print("# %d events: %d dead letters (%d over 1100 bytes), %s acknowledged" % (len(want), len(dead), big, prom["cdctail_events_acked_total"]))
sys.exit(0 if ok else 1)
PY

# ---- kafka.acks / kafka.enable.idempotence that would give up at-least-once are refused
for kv in kafka.acks=1 kafka.enable.idempotence=false; do
	"$CDCTAIL" run --config "$TMP/run5.conf" --set "$kv" --set log_file=- 2>"$TMP/unsafe.err"
	urc=$?
	check "config: $kv is refused (exit $urc): $(grep -o "${kv%%=*} = [^:]*: [a-z ]*" "$TMP/unsafe.err" | head -1)" \
		sh -c "[ $urc = 1 ] && grep -q 'allow_unsafe_kafka = true' '$TMP/unsafe.err'"
done
timeout 5 "$CDCTAIL" run --config "$TMP/run5.conf" --set kafka.acks=1 --set kafka.enable.idempotence=false --set allow_unsafe_kafka=true --set log_file=- \
	--set state_dir="$TMP/state6" --set cdc_raw="$TMP/none" 2>"$TMP/unsafe.err" &
upid=$!
wait_for 5 grep -q tailing "$TMP/unsafe.err"
kill -TERM $upid; wait $upid
check "config: kafka.acks=1 and enable.idempotence=false with allow_unsafe_kafka = true start (exit $?)" grep -q tailing "$TMP/unsafe.err"

# ---- systemd: READY=1 as soon as the service runs, also while Cassandra is
# not serving the schema yet (so systemd's start timeout cannot kill it);
# STATUS says what it waits for, the watchdog is fed
listen "$TMP/notify2.sock" "$TMP/notify2.log"
NOTIFY_SOCKET=$TMP/notify2.sock WATCHDOG_USEC=400000 "$CDCTAIL" run --config "$TMP/run.conf.good" \
	--set schema=live --set cassandra.host=127.0.0.1 --set cassandra.port=1 --set state_dir="$TMP/state7" \
	--set cdc_raw="$TMP/none" --set log_file="$TMP/run7.log" 2>>"$TMP/stderr" &
pid=$!
wait_for 5 grep -q 'waiting for the Cassandra schema' "$TMP/notify2.log"
sleep 1
kill -TERM $pid; wait $pid
rc=$?
wait $npid 2>/dev/null
check "systemd: READY=1 while the schema is awaited, STATUS says so, WATCHDOG=1 goes on, SIGTERM exits $rc" python3 -c '
import sys
t = open(sys.argv[1]).read().splitlines()
ready = [i for i, l in enumerate(t) if "READY=1" in l]
wd = sum(1 for l in t if "WATCHDOG=1" in l)
sys.exit(0 if ready and any("waiting for the Cassandra schema" in l for l in t[ready[0]:]) and wd >= 2 and sys.argv[2] == "0" else 1)' "$TMP/notify2.log" "$rc"
check "run: no sanitizer report in the later runs" sh -c "! grep -q -E 'AddressSanitizer|runtime error|LeakSanitizer' '$TMP/stderr' '$TMP/stderr5' '$TMP/run3.log' '$TMP/run5.log'"
