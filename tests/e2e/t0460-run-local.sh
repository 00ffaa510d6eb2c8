#!/usr/bin/env bash
# `cdctail run` without services: a cdc_raw directory fed the way Cassandra
# feeds it (a segment growing, its _cdc.idx offset advancing, then
# COMPLETED), JSON lines to a file. Checks: events equal `replay` of the
# finished segment, nothing beyond the idx offset is read early, the segment
# is removed only after COMPLETED, a damaged segment is quarantined and the
# service goes on, symlinks are left alone, a second service on the same
# state_dir is refused, SIGHUP reopens the log, systemd's READY/STATUS/
# WATCHDOG/STOPPING arrive on $NOTIFY_SOCKET, SIGTERM exits 0.
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

# systemd's notify socket
python3 - "$TMP/notify.sock" "$TMP/notify.log" <<'PY' &
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
for i in $(seq 1 50); do [ -S "$TMP/notify.sock" ] && break; sleep 0.1; done

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
check "run: metrics say 1 segment done, 1 quarantined" \
	sh -c "grep -q '^cdctail_segments_done_total 1' '$TMP/m.prom' && grep -q '^cdctail_segments_quarantined_total 1' '$TMP/m.prom'"
# SIGHUP: the log is reopened (logrotate moved it away)
mv "$TMP/run.log" "$TMP/run.log.1"
kill -HUP $pid
for i in $(seq 1 50); do [ -f "$TMP/run.log" ] && grep -q SIGHUP "$TMP/run.log" && break; sleep 0.1; done
check "run: SIGHUP reopens the log file and re-reads the configuration" grep -q 'SIGHUP' "$TMP/run.log"
kill -TERM $pid
wait $pid
rc=$?
check "run: SIGTERM exits 0 ($rc) with the checkpoint saved" sh -c "[ $rc = 0 ] && grep -q 'checkpoint saved' '$TMP/run.log'"
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
