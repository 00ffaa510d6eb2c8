#!/usr/bin/env bash
# `metrics.listen`: the metrics over HTTP while `cdctail run` tails real 5.0
# segments (fixtures copied into a cdc_raw directory, as t0460 does) into a
# real Kafka. Checks: bad values are refused naming the file; /metrics passes
# `promtool check metrics`; read-behind samples equal what the test's own
# _cdc.idx made readable; events, acknowledgements and the latency
# histogram's _count equal the messages counted in Kafka (kcat), and its _sum
# lies between the bounds the messages' ts and the test's clock give; slow
# and stuck HTTP clients delay neither delivery nor another scrape; a later
# scrape shows the counters grown; other paths are 404; the textfile has the
# histograms too; SIGTERM with a stuck client open exits 0 promptly and
# closes the port; docs/run.md's example alert rules pass `promtool check
# rules`.
. "$(dirname "$0")/lib.sh"
PORT=${METRICS_KAFKA_PORT:-9470}
HPORT=${METRICS_HTTP_PORT:-19470}
B=127.0.0.1:$PORT
URL=http://127.0.0.1:$HPORT/metrics
command -v promtool >/dev/null || { not_ok "metrics-http: promtool not installed (scripts/deps.sh installs prometheus)"; exit 0; }

A=fixtures/5.0/seed/cdc_raw/CommitLog-7-1795574591940.log
SB=fixtures/5.0/types/cdc_raw/CommitLog-7-1795574614094.log
C=fixtures/5.0/compress-lz4/cdc_raw
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
"$CDCTAIL" replay --schema "$TMP/abc.json" --node n1 "$SB" >"$TMP/wantB" 2>/dev/null
"$CDCTAIL" replay --schema "$TMP/abc.json" --node n1 "$C" >"$TMP/wantC" 2>/dev/null
nB=$(wc -l <"$TMP/wantB"); nC=$(wc -l <"$TMP/wantC")
topics=$(cat "$TMP/wantB" "$TMP/wantC" | python3 -c '
import json, sys
print(" ".join(sorted({"t470.%s.%s" % (e["keyspace"], e["table"]) for e in map(json.loads, sys.stdin)})))')

wait_for() { local n=$(( $1 * 10 )); shift; while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done; return 1; }
# val NAME FILE: the value of one series ("" when absent)
val() { awk -v k="$1" '$1 == k { print $2 }' "$2"; }
# scrape OUT: GET /metrics into OUT (body only); fails on anything but 200
scrape() { curl -sf --max-time 5 -o "$1" "$URL"; }
# kafka_msgs OUT: every message value of the topics, one a line
kafka_msgs() { : >"$1"; for t in $topics; do kcat -b "$B" -C -t "$t" -e -q -f '%s\n' >>"$1" 2>/dev/null; done; }
kafka_count() { kafka_msgs "$TMP/k.now"; wc -l <"$TMP/k.now"; }
kafka_at_least() { [ "$(kafka_count)" -ge "$1" ]; }
now_us() { python3 -c 'import time; print(int(time.time() * 1e6))'; }

raw=$TMP/cdc_raw
mkdir -p "$raw" "$TMP/commitlog"
cat >"$TMP/run.conf" <<EOF
cdc_raw = $raw
state_dir = $TMP/state
schema = $TMP/abc.json
kafka.bootstrap.servers = $B
kafka.linger.ms = 5
topic.prefix = t470
node = n1
rescan_interval = 200ms
checkpoint_interval = 200ms
read_ahead = false
log_file = $TMP/run.log
metrics.textfile = $TMP/m.prom
metrics.interval = 200ms
metrics.listen = 127.0.0.1:$HPORT
EOF

# ---- bad values: exit 1 before anything starts, naming the file and the key
for v in localhost:$HPORT 127.0.0.1:0 127.0.0.1:65536 '[::1]9464' ':9464' '127.0.0.1:12a'; do
	sed "s|^metrics.listen = .*|metrics.listen = $v|" "$TMP/run.conf" >"$TMP/bad.conf"
	"$CDCTAIL" run --config "$TMP/bad.conf" --set log_file=- 2>"$TMP/bad.err"
	brc=$?
	check "config: metrics.listen = $v refused (exit $brc): $(head -c 110 "$TMP/bad.err")" \
		sh -c "[ $brc = 1 ] && grep -q -F '$TMP/bad.conf: metrics.listen = $v:' '$TMP/bad.err' && [ ! -e '$TMP/state' ]"
done
python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1)
open(sys.argv[2], "w").close(); time.sleep(30)' "$HPORT" "$TMP/taken" &
tpid=$!
at_exit "kill $tpid 2>/dev/null"
wait_for 5 test -e "$TMP/taken"
"$CDCTAIL" run --config "$TMP/run.conf" --set log_file=- 2>"$TMP/bad.err"
brc=$?
kill $tpid; wait $tpid 2>/dev/null
check "config: a port in use is refused at the start (exit $brc): $(head -c 120 "$TMP/bad.err")" \
	sh -c "[ $brc = 1 ] && grep -q 'run.conf: metrics.listen = 127.0.0.1:$HPORT: cannot listen on 127.0.0.1:$HPORT: Address already in use' '$TMP/bad.err'"

kdir=$TMP/kafka
if ! scripts/kafka.sh start --dir "$kdir" --port "$PORT" >"$TMP/k.log" 2>&1; then
	cat "$TMP/k.log"
	not_ok "metrics-http: could not start Kafka on $B (log above)"
	exit 0
fi
at_exit "scripts/kafka.sh stop --dir '$kdir'"

# A: no idx, a second link (its commitlog copy): undecided. B: its first sync
# (27042 bytes) readable but, A undecided, not read: a read-behind of 27042
cp "$A" "$TMP/commitlog/" && ln "$TMP/commitlog/$(basename "$A")" "$raw/"
cp "$SB" "$raw/" && printf 27042 >"$raw/CommitLog-7-1795574614094_cdc.idx"
"$CDCTAIL" run --config "$TMP/run.conf" 2>"$TMP/stderr" &
pid=$!
at_exit "kill -9 $pid 2>/dev/null"
wait_for 20 sh -c "curl -sf --max-time 2 '$URL' 2>/dev/null | grep -q '^cdctail_read_behind_bytes_count [3-9]'"
scrape "$TMP/s1"
check "scrape 1: 200, promtool check metrics passes" sh -c "promtool check metrics <'$TMP/s1' >'$TMP/p1' 2>&1 || { cat '$TMP/p1'; false; }"
check "scrape 1: Content-Type is the text format 0.0.4" sh -c "curl -s -o /dev/null -D - '$URL' | grep -qi '^content-type: text/plain; version=0.0.4'"
rb_sum=$(val cdctail_read_behind_bytes_sum "$TMP/s1"); rb_n=$(val cdctail_read_behind_bytes_count "$TMP/s1")
rb_0=$(val 'cdctail_read_behind_bytes_bucket{le="0"}' "$TMP/s1"); rb_64k=$(val 'cdctail_read_behind_bytes_bucket{le="65536"}' "$TMP/s1")
check "scrape 1: read-behind $rb_n samples, sum $rb_sum: each one 0 (before the listing) or B's 27042 readable bytes (le=0: $rb_0, le=65536: $rb_64k); nothing delivered ($(val cdctail_events_acked_total "$TMP/s1"))" \
	python3 -c 'import sys; s, n, z, k, a = map(int, sys.argv[1:]); sys.exit(0 if s > 0 and s % 27042 == 0 and z + s // 27042 == n and k == n and a == 0 else 1)' \
	"${rb_sum:-x}" "${rb_n:-x}" "${rb_0:-x}" "${rb_64k:-x}" "$(val cdctail_events_acked_total "$TMP/s1")"
check "HTTP: /foo is 404, POST /metrics 405" sh -c "[ \$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$HPORT/foo) = 404 ] && [ \$(curl -s -o /dev/null -w '%{http_code}' -X POST '$URL') = 405 ]"

# ---- slow and stuck clients: 4 connect and send nothing, 4 send a request
# and never read (1 KiB receive buffer), 1 sends its request a byte every
# 0.5 s; held 30 s (stopped below)
python3 - "$HPORT" "$TMP/slow.ready" <<'PY' &
import socket, sys, time
port, ready = int(sys.argv[1]), sys.argv[2]
socks = []
for i in range(4):
    socks.append(socket.create_connection(("127.0.0.1", port)))
for i in range(4):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    s.connect(("127.0.0.1", port)); s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 50); socks.append(s)
drip = socket.create_connection(("127.0.0.1", port)); socks.append(drip)
open(ready, "w").close()
req = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
end = time.time() + 30
i = 0
while time.time() < end:
    try:
        drip.send(req[i % len(req):i % len(req) + 1])
    except OSError:
        break
    i += 1
    time.sleep(0.5)
PY
spid=$!
at_exit "kill $spid 2>/dev/null"
wait_for 5 test -e "$TMP/slow.ready"
t0=$(now_us)
printf 86825 >"$raw/CommitLog-7-1795574614094_cdc.idx"                   # B's next sync: A holds no CDC data, B is read
s_t0=$(date +%s%N); scrape "$TMP/s_during"; s_ms=$(( ($(date +%s%N) - s_t0) / 1000000 ))
check "slow clients: a scrape while 9 slow/stuck connections are open answers in $s_ms ms" sh -c "[ -s '$TMP/s_during' ] && [ $s_ms -lt 2000 ]"
acked_b() { scrape "$TMP/s.poll" && [ "$(val cdctail_events_acked_total "$TMP/s.poll")" -ge "$nB" ]; }
wait_for 15 acked_b
d_ms=$(( ($(date +%s%N) - s_t0) / 1000000 ))
alive=$(kill -0 $spid 2>/dev/null && echo yes || echo no)
wait_for 10 kafka_at_least "$nB"
check "slow clients: B's $nB events acknowledged in $d_ms ms (the first messages to new topics) while they are open ($alive), $(kafka_count) in Kafka" \
	sh -c "[ $(kafka_count) = $nB ] && [ $d_ms -lt 10000 ] && [ $alive = yes ]"
sleep 0.5                                                                 # the acknowledgements counted
scrape "$TMP/s2"
t1=$(now_us)
kafka_msgs "$TMP/k2"
check "scrape 2: promtool check metrics passes" sh -c "promtool check metrics <'$TMP/s2' >'$TMP/p2' 2>&1 || { cat '$TMP/p2'; false; }"
check "scrape 2: cdctail_events_total by table and op equals the messages in Kafka ($(wc -l <"$TMP/k2")), as do events_acked_total ($(val cdctail_events_acked_total "$TMP/s2")) and delivery_latency_seconds_count ($(val cdctail_delivery_latency_seconds_count "$TMP/s2"))" \
	python3 - "$TMP/k2" "$TMP/s2" "$nB" <<'PY'
import collections, json, re, sys
have = collections.Counter()
for l in open(sys.argv[1]):
    e = json.loads(l); have[(e["keyspace"], e["table"], e["op"])] += 1
got, flat = {}, {}
for l in open(sys.argv[2]):
    m = re.match(r'cdctail_events_total\{keyspace="([^"]*)",table="([^"]*)",op="([^"]*)"\} (\d+)$', l)
    if m and int(m.group(4)):
        got[m.group(1, 2, 3)] = int(m.group(4))
    elif not l.startswith("#") and "{" not in l:
        k, v = l.split(); flat[k] = v
n = sum(have.values())
ok = got == dict(have) and n == int(sys.argv[3]) and int(flat["cdctail_events_acked_total"]) == n
ok &= int(flat["cdctail_delivery_latency_seconds_count"]) == n
sys.exit(0 if ok else 1)
PY
lat_sum=$(val cdctail_delivery_latency_seconds_sum "$TMP/s2")
check "scrape 2: latency _sum $lat_sum s lies between sum(sync - ts) and sum(scrape - ts) of the messages' ts" \
	python3 -c '
import json, sys
ts = [json.loads(l)["ts"] for l in open(sys.argv[1])]
s, t0, t1 = float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
lo, hi = sum(t0 - t for t in ts) / 1e6, sum(t1 - t for t in ts) / 1e6
print("# %d events: %.1f <= %.1f <= %.1f" % (len(ts), lo, s, hi))
sys.exit(0 if ts and lo <= s <= hi else 1)' "$TMP/k2" "${lat_sum:-x}" "$t0" "$t1"

# ---- more data: B completed, C (with its COMPLETED idx) arrives
printf '86825\nCOMPLETED' >"$raw/CommitLog-7-1795574614094_cdc.idx"
cp "$C"/* "$raw/"
wait_for 20 kafka_at_least $((nB + nC))
sleep 0.5
scrape "$TMP/s3"
n3=$(kafka_count)
check "scrape 3: counters grew: events_acked_total $(val cdctail_events_acked_total "$TMP/s2") -> $(val cdctail_events_acked_total "$TMP/s3") = $n3 in Kafka ($nB + $nC), latency _count too, segments_done_total $(val cdctail_segments_done_total "$TMP/s2") -> $(val cdctail_segments_done_total "$TMP/s3"), read-behind samples $(val cdctail_read_behind_bytes_count "$TMP/s2") -> $(val cdctail_read_behind_bytes_count "$TMP/s3")" \
	sh -c "[ $n3 = $((nB + nC)) ] && [ '$(val cdctail_events_acked_total "$TMP/s3")' = $n3 ] && [ '$(val cdctail_delivery_latency_seconds_count "$TMP/s3")' = $n3 ] && [ '$(val cdctail_segments_done_total "$TMP/s3")' -gt '$(val cdctail_segments_done_total "$TMP/s2")' ] && [ '$(val cdctail_read_behind_bytes_count "$TMP/s3")' -gt '$(val cdctail_read_behind_bytes_count "$TMP/s2")' ] && promtool check metrics <'$TMP/s3' >/dev/null 2>&1"
sleep 0.3
check "textfile: the same histograms, promtool check metrics passes, latency _count $(val cdctail_delivery_latency_seconds_count "$TMP/m.prom")" \
	sh -c "[ '$(val cdctail_delivery_latency_seconds_count "$TMP/m.prom")' = $n3 ] && grep -q '^cdctail_read_behind_bytes_bucket{le=\"+Inf\"}' '$TMP/m.prom' && promtool check metrics <'$TMP/m.prom' >/dev/null 2>&1"

# ---- SIGHUP with a new port: served there, the old one closed, the counters kept
kill $spid 2>/dev/null; wait $spid 2>/dev/null
H2=$((HPORT + 1))
sed -i "s|^metrics.listen = .*|metrics.listen = 127.0.0.1:$H2|" "$TMP/run.conf"
kill -HUP $pid
wait_for 10 sh -c "curl -sf --max-time 1 -o '$TMP/s4' http://127.0.0.1:$H2/metrics"
check "SIGHUP: metrics.listen moved to :$H2, :$HPORT closed, events_acked_total kept ($(val cdctail_events_acked_total "$TMP/s4"))" \
	sh -c "[ '$(val cdctail_events_acked_total "$TMP/s4")' = $n3 ] && ! curl -s --max-time 1 -o /dev/null '$URL'"
URL=http://127.0.0.1:$H2/metrics
HPORT=$H2

# ---- SIGTERM with a stuck client open: exit 0 promptly, the port closed
python3 -c 'import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1]))); s.sendall(b"GET /metr"); time.sleep(20)' "$HPORT" &
stuck=$!
at_exit "kill $stuck 2>/dev/null"
sleep 0.3
k_t0=$(date +%s%N)
kill -TERM $pid; wait $pid
rc=$?
k_ms=$(( ($(date +%s%N) - k_t0) / 1000000 ))
check "SIGTERM with a stuck HTTP client: exit $rc in $k_ms ms, port closed, no sanitizer report" \
	sh -c "[ $rc = 0 ] && [ $k_ms -lt 5000 ] && ! curl -s --max-time 2 -o /dev/null '$URL' && ! grep -q -E 'AddressSanitizer|runtime error|LeakSanitizer' '$TMP/stderr' '$TMP/run.log'"
kill $stuck 2>/dev/null

# ---- the example alert rules of docs/run.md
awk '/^### Example alert rules/ { f = 1 } f && /^```yaml/ { g = 1; next } g && /^```/ { exit } g' docs/run.md >"$TMP/rules.yml"
check "docs/run.md: promtool check rules passes on the example alert rules ($(grep -c -- '- alert:' "$TMP/rules.yml") alerts)" \
	sh -c "[ \$(grep -c -- '- alert:' '$TMP/rules.yml') -ge 3 ] && promtool check rules '$TMP/rules.yml' >'$TMP/rules.out' 2>&1 || { cat '$TMP/rules.out'; false; }"
echo "# scrape sample:"; grep -E '^cdctail_(events_acked_total|delivery_latency_seconds_(count|sum)|read_behind_bytes_(sum|count)|segments_done_total) ' "$TMP/s3" | sed 's/^/#   /'
