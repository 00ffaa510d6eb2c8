#!/usr/bin/env bash
# `cdctail relay` against a real Kafka (no Cassandra): events shaped as
# `cdctail run` writes them, each change sent by up to three "replicas"
# (n1 always, n2 mostly and late, n3 sometimes, n1 twice now and then), some
# written before the cut, into three tmp.* topics, plus messages that are not
# events. The expected output is computed by tests/e2e/relay_check.py from
# what it produced and the partitions and offsets Kafka gave each message.
#   - --since CUT --dedup: exactly the first copy of each change at or after
#     the cut, in order per key; the non-events in the dead-letter file with
#     topic, partition and offset; a second run copies nothing (offsets were
#     committed);
#   - --since CUT --min-copies 2: exactly the second replica's copy of each
#     change two replicas sent (n1 twice is not two replicas); then running
#     continuously, new changes are copied as they come, and SIGTERM stops it
#     cleanly (exit 0, committed: a --once run after it reads nothing); with
#     a window of 1 s, the changes only one replica sent are listed in
#     unconfirmed.jsonl;
#   - --dedup, SIGKILLed mid-run and restarted: every change present, order
#     per key kept (a stretch after the last commit may repeat);
#   - --to that --from matches is refused.
. "$(dirname "$0")/lib.sh"
PORT=${RELAY_KAFKA_PORT:-9572}
B=127.0.0.1:$PORT
PY=$(scripts/deps.sh --python)
CHK=tests/e2e/relay_check.py
CUT=1764000000000000
kdir=$TMP/kafka
t0=$(date +%s)
if ! scripts/kafka.sh start --dir "$kdir" --port "$PORT" >"$TMP/k.log" 2>&1; then
	cat "$TMP/k.log"
	not_ok "relay: could not start Kafka on $B (log above)"
	exit 0
fi
at_exit "scripts/kafka.sh stop --dir '$kdir'"
echo "# Kafka up in $(( $(date +%s) - t0 )) s"

relay() { # relay NAME ARGS...: runs relay in the foreground, stderr in $TMP/NAME.err
	local name=$1; shift
	timeout 60 "$CDCTAIL" relay --kafka "$B" --from 'tmp.{keyspace}.{table}' "$@" 2>"$TMP/$name.err"
	echo $? >"$TMP/$name.rc"
}
summary() { grep '^cdctail relay: ' "$TMP/$1.err" | tail -1; }
read_n() { summary "$1" | sed -n 's/^cdctail relay: \([0-9]*\) read.*/\1/p'; }

"$PY" $CHK produce "$B" "$TMP/m.jsonl" --changes 700 --junk >"$TMP/p.out" 2>&1 || { cat "$TMP/p.out"; not_ok "relay: producing the workload failed"; exit 0; }
cat "$TMP/p.out"
total=$(wc -l <"$TMP/m.jsonl")

# 1. --since --dedup
s0=$(date +%s.%N)
relay d1 --to 'dd.{keyspace}.{table}' --group gd --state-dir "$TMP/sd" --since "$CUT" --dedup --once
check "relay --dedup --once: exit 0, read all $total messages ($(summary d1))" \
	sh -c "[ \$(cat '$TMP/d1.rc') = 0 ] && [ '$(read_n d1)' = $total ]"
echo "# relay --dedup --once (ASan build, group join included): $total messages in $(echo "$(date +%s.%N) - $s0" | bc) s"
"$PY" $CHK check "$TMP/m.jsonl" "$B" dd dedup --since "$CUT"
"$PY" $CHK deadletters "$TMP/m.jsonl" "$TMP/sd/dead-letter.jsonl"
relay d2 --to 'dd.{keyspace}.{table}' --group gd --state-dir "$TMP/sd" --since "$CUT" --dedup --once
check "relay: a second run of the group reads nothing new, exit 0 ($(summary d2))" \
	sh -c "[ \$(cat '$TMP/d2.rc') = 0 ] && [ '$(read_n d2)' = 0 ]"

# 2. --since --min-copies 2, then continuous with new changes, SIGTERM
relay m1 --to 'mc.{keyspace}.{table}' --group gm --state-dir "$TMP/sm" --since "$CUT" --min-copies 2 --once
check "relay --min-copies 2 --once: exit 0 ($(summary m1))" [ "$(cat "$TMP/m1.rc")" = 0 ]
"$PY" $CHK check "$TMP/m.jsonl" "$B" mc min2 --since "$CUT"

"$CDCTAIL" relay --kafka "$B" --from 'tmp.{keyspace}.{table}' --to 'mc.{keyspace}.{table}' --group gm \
	--state-dir "$TMP/sm" --since "$CUT" --min-copies 2 2>"$TMP/m2.err" &
rpid=$!
at_exit "kill -9 $rpid 2>/dev/null"
for ((i = 0; i < 100; i++)); do grep -q 'partitions assigned' "$TMP/m2.err" && break; sleep 0.1; done
before=$("$PY" $CHK count "$B" mc)
"$PY" $CHK produce "$B" "$TMP/m.jsonl" --changes 60 --seed 2 --ts-offset 100000000 --tag b >/dev/null
want=$("$PY" $CHK expect "$TMP/m.jsonl" min2 --since "$CUT" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
for ((i = 0; i < 100; i++)); do [ "$("$PY" $CHK count "$B" mc)" -ge "$want" ] && break; sleep 0.2; done
kill -TERM $rpid
wait $rpid
rc=$?
check "relay running: new changes copied as they come ($before, then $want in mc.*), SIGTERM: exit $rc (want 0), $(grep -c '^cdctail relay: ' "$TMP/m2.err") summary" \
	sh -c "[ $rc = 0 ] && grep -q '^cdctail relay: ' '$TMP/m2.err'"
"$PY" $CHK check "$TMP/m.jsonl" "$B" mc min2 --since "$CUT"
relay m3 --to 'mc.{keyspace}.{table}' --group gm --state-dir "$TMP/sm" --since "$CUT" --min-copies 2 --once
check "relay: after SIGTERM everything was committed: the next run reads nothing ($(summary m3))" \
	sh -c "[ \$(cat '$TMP/m3.rc') = 0 ] && [ '$(read_n m3)' = 0 ]"

# changes that never got a second copy are listed when they leave the window
relay m4 --to 'mc.{keyspace}.{table}' --group gm --state-dir "$TMP/sm" --since "$CUT" --min-copies 2 \
	--dedup-window 1s --idle-exit 2
check "relay --dedup-window 1s --idle-exit 2: exit 0 ($(summary m4))" [ "$(cat "$TMP/m4.rc")" = 0 ]
"$PY" $CHK unconfirmed "$TMP/m.jsonl" "$TMP/sm/unconfirmed.jsonl" --since "$CUT"

# 3. SIGKILL mid-run, restart: nothing lost (all changes, no --since)
all=$(wc -l <"$TMP/m.jsonl")
"$CDCTAIL" relay --kafka "$B" --from 'tmp.{keyspace}.{table}' --to 'kc.{keyspace}.{table}' --group gk \
	--state-dir "$TMP/sk" --dedup --once --batch 50 --commit-interval 20 \
	--consumer-prop session.timeout.ms=6000 2>"$TMP/k1.err" &
kpid=$!
at_exit "kill -9 $kpid 2>/dev/null"
killed=$("$PY" $CHK wait-kill "$B" kc 400 $kpid)
wait $kpid 2>/dev/null
relay k2 --to 'kc.{keyspace}.{table}' --group gk --state-dir "$TMP/sk" --dedup --once
check "relay: SIGKILLed with $killed copies in kc.*, the restart exits 0 and reads on from the commit ($(summary k2))" \
	sh -c "[ '$killed' -gt 0 ] 2>/dev/null && [ \$(cat '$TMP/k2.rc') = 0 ] && [ '$(read_n k2)' -gt 0 ] && [ '$(read_n k2)' -lt $all ]"
"$PY" $CHK check "$TMP/m.jsonl" "$B" kc dedup --at-least-once

# 4. usage: the output must not be read back
"$CDCTAIL" relay --kafka "$B" --from 'tmp.{keyspace}.{table}' --to 'tmp.x.{table}' --state-dir "$TMP/sx" --once \
	>/dev/null 2>"$TMP/x.err"
rc=$?
check "relay: --to inside --from is refused (exit $rc: $(grep -o 'would read its own copies' "$TMP/x.err"))" \
	sh -c "[ $rc = 1 ] && grep -q 'would read its own copies' '$TMP/x.err'"
echo "# t0560 took $(( $(date +%s) - t0 )) s"
