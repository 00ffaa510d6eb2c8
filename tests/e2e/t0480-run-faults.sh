#!/usr/bin/env bash
# `cdctail run` under faults, with real 5.0 segments (fixtures/) and a real
# Kafka; no Cassandra (the segments are fed the way t0460 feeds them).
#
# state_dir full (a small tmpfs filled up by a filler file): a segment whose
# events Kafka has acknowledged is not released while the checkpoint that
# would say so cannot be written; the old checkpoint stays whole and
# readable; the service says why in its log and goes on; a SIGKILL and a
# restart on the full state_dir change nothing; once the filler is deleted
# the checkpoint is written and the segment released. Every event is in
# Kafka (those re-sent after the SIGKILL are counted as duplicates). On the
# way: cdctail_cdc_total_space_bytes is Cassandra's default for cdc_raw's
# filesystem without a setting, and a cassandra.yaml's cdc_total_space with
# cassandra.config (over the cdc_total_space key); cdctail_cdc_raw_bytes is
# what cdc_raw holds.
#
# A corrupt segment appearing in cdc_raw while the service runs (a copy of
# the ops fixture's segment with one byte flipped in the body of an entry
# holding events): the entry is recorded as skipped with its reason, the
# segment quarantined with its idx, the events of every other entry (before
# and after the damage) are in Kafka, those of the damaged entry are not, and
# the next segments (the ddl fixture's two) are read and released. Expected
# events are `cdctail replay` of the intact fixture segments (t0230 and
# t0215 check those against the CQL that wrote them).
. "$(dirname "$0")/lib.sh"
PY=$(scripts/deps.sh --python)
PORT=${KAFKA_FAULT_PORT:-9417}
B=127.0.0.1:$PORT
F=fixtures/5.0
A=$F/compress-lz4/cdc_raw/CommitLog-7-1795574639757
Bs=$F/compress-zstd/cdc_raw/CommitLog-7-1795574717524
C=$F/ops/cdc_raw/CommitLog-7-1796111504021
metric() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
wait_for() { local n=$(( $1 * 10 )); shift; while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done; return 1; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
# feed SEGMENT_BASE: into cdc_raw as Cassandra leaves a finished one (the idx
# first, then the whole file renamed in)
feed() {
	cp "$1_cdc.idx" "$raw/"
	cp "$1.log" "$raw/.incoming" && mv "$raw/.incoming" "$raw/$(basename "$1").log"
}
# checkpoint_ok FILE: the file is whole (its closing line's count and CRC,
# docs/checkpoint.md, computed here with zlib)
checkpoint_ok() {
	python3 - "$1" <<'PY'
import re, sys, zlib
t = open(sys.argv[1], "rb").read()
i = t.rstrip(b"\n").rfind(b"\n") + 1
m = re.fullmatch(rb"end (\d+) ([0-9a-f]{8})\n", t[i:])
n = sum(1 for l in t[:i].split(b"\n") if l.startswith(b"segment "))
sys.exit(0 if m and int(m.group(1)) == n and int(m.group(2), 16) == zlib.crc32(t[:i]) else 1)
PY
}

kdir=$TMP/kafka
if ! scripts/kafka.sh start --dir "$kdir" --port "$PORT" >"$TMP/k.log" 2>&1; then
	cat "$TMP/k.log"
	not_ok "faults: could not start Kafka on $B (log above)"
	exit 0
fi
at_exit "scripts/kafka.sh stop --dir '$kdir'"

# one schema for the fixtures used (their tables side by side)
python3 - $F/compress-lz4/schema.json $F/compress-zstd/schema.json $F/ops/schema.json $F/ddl/schema.json >"$TMP/schema.json" <<'PY'
import json, sys
out = None
for p in sys.argv[1:]:
    s = json.load(open(p))
    if out is None:
        out = s
        continue
    for k, v in s.items():
        if isinstance(v, list):
            out[k] = out.get(k, []) + [x for x in v if x not in out.get(k, [])]
json.dump(out, sys.stdout)
PY
for s in "$A" "$Bs" "$C"; do
	"$CDCTAIL" replay --schema "$TMP/schema.json" --node n1 "$s.log" >"$TMP/want-$(basename "$s")" 2>/dev/null
done
"$CDCTAIL" replay --schema "$TMP/schema.json" --node n1 $F/ddl/cdc_raw >"$TMP/want-ddl" 2>/dev/null
wantA=$TMP/want-$(basename "$A") wantB=$TMP/want-$(basename "$Bs") wantC=$TMP/want-$(basename "$C")

raw=$TMP/cdc_raw st=$TMP/state
mkdir -p "$raw" "$st"
mount -t tmpfs -o size=4m tmpfs "$st" || { not_ok "faults: cannot mount a tmpfs on $st"; exit 0; }
at_exit "umount -l '$st'"
cat >"$TMP/run.conf" <<EOF
cdc_raw = $raw
state_dir = $st
schema = $TMP/schema.json
kafka.bootstrap.servers = $B
kafka.linger.ms = 5
topic.prefix = f
node = n1
rescan_interval = 200ms
checkpoint_interval = 100ms
log_file = $TMP/run.log
metrics.textfile = $TMP/m.prom
metrics.interval = 200ms
EOF
"$CDCTAIL" run --config "$TMP/run.conf" 2>>"$TMP/stderr" &
pid=$!
at_exit "kill -9 \$pid 2>/dev/null"
feed "$A"
wait_for 30 sh -c "[ ! -e '$raw/$(basename "$A").log' ]"
check "state_dir full: before it fills, segment A is released ($(wc -l <"$wantA") events)" \
	sh -c "[ ! -e '$raw/$(basename "$A").log' ] && [ -f '$st/checkpoint' ]"
sleep 0.5
dd if=/dev/zero of="$st/filler" bs=64k status=none 2>/dev/null
sync
cp "$st/checkpoint" "$TMP/checkpoint.before"
capwant=$(python3 -c 'import os, sys; v = os.statvfs(sys.argv[1]); print(min(4096 << 20, v.f_blocks * v.f_frsize // 8 >> 20 << 20))' "$raw")
check "cdc space: without cassandra.config or cdc_total_space, cdctail_cdc_total_space_bytes is Cassandra's default for cdc_raw's filesystem ($(metric cdctail_cdc_total_space_bytes "$TMP/m.prom"), want $capwant)" \
	[ "$(metric cdctail_cdc_total_space_bytes "$TMP/m.prom")" = "$capwant" ]
check "state_dir full: the tmpfs is full (a 4 KiB write fails)" sh -c "! head -c 4096 /dev/zero >'$st/probe' 2>/dev/null; r=\$?; rm -f '$st/probe'; exit \$r"
nA=$(wc -l <"$wantA") nB=$(wc -l <"$wantB")
feed "$Bs"
wait_for 30 sh -c "[ \"\$(awk '\$1 == \"cdctail_events_acked_total\" { print \$2 }' '$TMP/m.prom')\" -ge $((nA + nB)) ] 2>/dev/null"
acked=$(metric cdctail_events_acked_total "$TMP/m.prom")
sleep 2
check "state_dir full: B's $nB events acknowledged ($acked in all), B not released while its checkpoint cannot be written" \
	sh -c "[ '$acked' -ge $((nA + nB)) ] && [ -f '$raw/$(basename "$Bs").log' -a -f '$raw/$(basename "$Bs")_cdc.idx' ]"
check "state_dir full: the service runs on and its log says why ($(grep -c 'checkpoint' "$TMP/run.log") checkpoint lines: $(grep -m1 -o 'checkpoint NOT saved.*' "$TMP/run.log" | cut -c1-160))" \
	sh -c "kill -0 $pid && grep -q 'checkpoint NOT saved.*No space left on device' '$TMP/run.log'"
old_ok() { checkpoint_ok "$st/checkpoint" && cmp -s "$st/checkpoint" "$TMP/checkpoint.before" && [ ! -e "$st/checkpoint.tmp" ]; }
check "state_dir full: the old checkpoint is whole, readable and unchanged (no record of B), no temporary file left" old_ok
check "state_dir full: cdctail_checkpoint_errors_total $(metric cdctail_checkpoint_errors_total "$TMP/m.prom") > 0" \
	sh -c "[ '$(metric cdctail_checkpoint_errors_total "$TMP/m.prom")' -gt 0 ] 2>/dev/null"
# SIGKILL and a restart while it is still full
kill -9 $pid; wait $pid 2>/dev/null
rm -f "$TMP/m.prom" # the new process's figures only
printf 'cluster_name: x\ncdc_total_space: 24MiB # as scripts/cassandra.sh writes it\n' >"$TMP/cassandra.yaml"
"$CDCTAIL" run --config "$TMP/run.conf" --set cassandra.config="$TMP/cassandra.yaml" --set cdc_total_space=1G 2>>"$TMP/stderr" &
pid=$!
wait_for 30 sh -c "[ \"\$(awk '\$1 == \"cdctail_events_acked_total\" { print \$2 }' '$TMP/m.prom')\" -ge $nB ] 2>/dev/null"
sleep 1
resent=$(metric cdctail_events_acked_total "$TMP/m.prom")
check "state_dir full: after a SIGKILL the restart on the full state_dir reads the old checkpoint, sends B again ($resent events) and keeps B" \
	sh -c "kill -0 $pid && [ '$resent' -ge $nB ] && [ -f '$raw/$(basename "$Bs").log' ] && [ \$(grep -c 'tailing' '$TMP/run.log') = 2 ]"
check "cdc space: with cassandra.config, cdctail_cdc_total_space_bytes is its cdc_total_space ($(metric cdctail_cdc_total_space_bytes "$TMP/m.prom"), want $((24 << 20)); the config key's 1G loses); cdctail_cdc_raw_bytes $(metric cdctail_cdc_raw_bytes "$TMP/m.prom") = B's two files" \
	sh -c "[ '$(metric cdctail_cdc_total_space_bytes "$TMP/m.prom")' = $((24 << 20)) ] && [ '$(metric cdctail_cdc_raw_bytes "$TMP/m.prom")' = $(( $(stat -c %s "$Bs.log") + $(stat -c %s "$Bs"_cdc.idx) )) ] && grep -q 'cdc_total_space 25165824 bytes (24 MiB), from cassandra.yaml' '$TMP/run.log'"
t0=$(now_ms)
rm -f "$st/filler"
wait_for 30 sh -c "[ ! -e '$raw/$(basename "$Bs").log' ]"
rec=$(( $(now_ms) - t0 ))
echo "# matrix: state_dir full: recovery $rec ms after the filler was deleted"
check "state_dir full: once space returns, B is released ($rec ms after the filler was deleted), the checkpoint is whole, the log says it is saved again" \
	eval "[ ! -e '$raw/$(basename "$Bs").log' -a ! -e '$raw/$(basename "$Bs")_cdc.idx' ] && checkpoint_ok '$st/checkpoint' && grep -q 'checkpoint saved again' '$TMP/run.log'"
"$PY" tests/e2e/kafka_events_check.py --bootstrap "$B" --prefix f. --want "$wantA" --want "$wantB" >"$TMP/k1.json" 2>"$TMP/k1.err"
krc=$?
echo "# matrix: state_dir full: $(cat "$TMP/k1.json")"
check "state_dir full: Kafka holds every event of A and B ($(cat "$TMP/k1.json"))" [ $krc = 0 ]

# ---- a corrupt segment appears while the service runs
cp "$C.log" "$TMP/bad.log"
off=$(python3 - "$wantC" "$TMP/bad.log" <<'PY'
import json, struct, sys
# the entry of the middle event: flip a byte in the middle of its body
# (entry: size, size CRC, body, body CRC; docs/format.md)
offs = sorted({json.loads(l)["source"]["offset"] for l in open(sys.argv[1])})
o = offs[len(offs) // 2]
b = bytearray(open(sys.argv[2], "rb").read())
size = struct.unpack(">I", b[o:o + 4])[0]
b[o + 8 + size // 2] ^= 0x40
open(sys.argv[2], "wb").write(b)
print(o)
PY
)
python3 - "$wantC" "$off" "$TMP/wantC-kept" "$TMP/wantC-damaged" <<'PY'
import json, sys
o = int(sys.argv[2])
with open(sys.argv[3], "w") as k, open(sys.argv[4], "w") as d:
    for l in open(sys.argv[1]):
        (d if json.loads(l)["source"]["offset"] == o else k).write(l)
PY
nbefore=$(python3 -c 'import json, sys; print(sum(1 for l in open(sys.argv[1]) if json.loads(l)["source"]["offset"] < int(sys.argv[2])))' "$TMP/wantC-kept" "$off")
nafter=$(( $(wc -l <"$TMP/wantC-kept") - nbefore ))
cp "$C.log" "$TMP/intact.log"
mkdir -p "$TMP/badseg"
cp "$TMP/bad.log" "$TMP/badseg/$(basename "$C").log"
cp "$C"_cdc.idx "$TMP/badseg/"
t0=$(now_ms)
feed "$TMP/badseg/$(basename "$C")"
q=$st/quarantine
wait_for 30 test -f "$q/$(basename "$C").log"
qms=$(( $(now_ms) - t0 ))
for s in $F/ddl/cdc_raw/*.log; do feed "${s%.log}"; done
wait_for 30 sh -c "! ls '$raw'/CommitLog-*.log >/dev/null 2>&1"
check "corrupt segment: quarantined with its idx after $qms ms; the skipped entry is recorded with its offset ($off) and reason; the log names file and reason" \
	python3 - "$q" "$(basename "$C")" "$off" "$TMP/run.log" "$raw" <<'PY'
import json, os, sys
q, name, off, log, raw = sys.argv[1], sys.argv[2], int(sys.argv[3]), open(sys.argv[4]).read(), sys.argv[5]
rec = [json.loads(l) for l in open(os.path.join(q, name + ".log.skipped"))]
print("# skipped: %s" % rec)
ok = os.path.exists(os.path.join(q, name + ".log")) and os.path.exists(os.path.join(q, name + "_cdc.idx"))
ok &= not os.path.exists(os.path.join(raw, name + ".log"))
ok &= len(rec) == 1 and rec[0]["offset"] == off and "CRC" in rec[0]["reason"]
ok &= (name + ".log") in log and "quarantined" in log and "CRC" in log
sys.exit(0 if ok else 1)
PY
check "corrupt segment: the next segments (ddl's two) are read and released" sh -c "! ls '$raw'/CommitLog-*.log >/dev/null 2>&1"
"$PY" tests/e2e/kafka_events_check.py --bootstrap "$B" --prefix f. --want "$wantA" --want "$wantB" --want "$TMP/wantC-kept" \
	--want "$TMP/want-ddl" --absent "$TMP/wantC-damaged" >"$TMP/k2.json" 2>"$TMP/k2.err"
krc=$?
echo "# matrix: corrupt segment: $(cat "$TMP/k2.json"); $(wc -l <"$TMP/wantC-damaged") events in the damaged entry, $nbefore before it, $nafter after it, $(wc -l <"$TMP/want-ddl") in the next segments"
check "corrupt segment: Kafka holds the $nbefore events before the damage and the $nafter after it, not the $(wc -l <"$TMP/wantC-damaged") of the damaged entry, and the next segments' $(wc -l <"$TMP/want-ddl") ($(cat "$TMP/k2.json"))" \
	sh -c "[ $krc = 0 ] && [ $nbefore -gt 0 -a $nafter -gt 0 ] && [ -s '$TMP/wantC-damaged' ]"
check "corrupt segment: metrics: 1 quarantined, 1 skipped entry" \
	sh -c "[ '$(metric cdctail_segments_quarantined_total "$TMP/m.prom")' = 1 ] && [ '$(metric cdctail_skipped_entries_total "$TMP/m.prom")' = 1 ]"
kill -TERM $pid; wait $pid
rc=$?
check "faults: SIGTERM exits 0 ($rc), no sanitizer report" \
	sh -c "[ $rc = 0 ] && ! grep -q -E 'AddressSanitizer|runtime error|LeakSanitizer' '$TMP/stderr' '$TMP/run.log'"
