#!/usr/bin/env bash
# `cdctail cleanup` on a cdc_raw built from a real Cassandra 5.0 segment
# (fixtures/5.0/seed): consumed segments go, unconsumed ones stay unless
# --delete-unconsumed, a live segment (idx not COMPLETED) never goes, a
# --dry-run changes nothing, archiving keeps the bytes, symlinks and other
# files are left alone, a damaged checkpoint stops everything.
. "$(dirname "$0")/lib.sh"

SRC=$TOP/fixtures/5.0/seed
SEG=CommitLog-7-1795574591940
RAW=$TMP/cdc_raw STATE=$TMP/state ARCH=$TMP/archive
mkdir -p "$RAW" "$STATE" "$ARCH" "$TMP/outside"

# A: the real segment, COMPLETED at 88478; B: the same bytes under the next id,
# COMPLETED; C: the same under the id after, with the live fixture's idx (88470,
# Cassandra still writing it). All a day old, as if Cassandra had moved on.
cp -p "$SRC/cdc_raw/$SEG.log" "$SRC/cdc_raw/${SEG}_cdc.idx" "$RAW/"
cp -p "$SRC/cdc_raw/$SEG.log" "$RAW/CommitLog-7-1795574591941.log"
cp -p "$SRC/cdc_raw/${SEG}_cdc.idx" "$RAW/CommitLog-7-1795574591941_cdc.idx"
cp -p "$SRC/cdc_raw_live/$SEG.log" "$RAW/CommitLog-7-1795574591942.log"
cp -p "$SRC/cdc_raw_live/${SEG}_cdc.idx" "$RAW/CommitLog-7-1795574591942_cdc.idx"
# Not ours to touch: a symlink with a consumed segment's name (target outside),
# and a file with another name.
cp "$SRC/cdc_raw/$SEG.log" "$TMP/outside/CommitLog-7-1795574591943.log"
ln -s "$TMP/outside/CommitLog-7-1795574591943.log" "$RAW/CommitLog-7-1795574591943.log"
echo hello >"$RAW/README"
touch -d '1 day ago' "$RAW"/CommitLog-*

# write_checkpoint LINES...: STATE/checkpoint in the documented format
# (docs/checkpoint.md), closed by the count and the CRC-32 of what precedes.
write_checkpoint() {
	python3 - "$STATE/checkpoint" "$@" <<'PY'
import sys, zlib
path, lines = sys.argv[1], sys.argv[2:]
text = "cdctail-checkpoint 1\n" + "".join(l + "\n" for l in lines)
text += "end %d %08x\n" % (len(lines), zlib.crc32(text.encode()) & 0xffffffff)
open(path + ".tmp", "w").write(text)
import os; os.rename(path + ".tmp", path)
PY
}
# A consumed by the idx rule (position == COMPLETED offset); B short of it;
# C past its current offset (not COMPLETED: still unconsumed); the symlink's
# id finished.
write_checkpoint "segment 1795574591940 88478 0" "segment 1795574591941 1000 0" \
	"segment 1795574591942 88470 0" "segment 1795574591943 1048576 1"

listing() { (cd "$1" && find . -printf '%P %y %s %T@ %m %l\n' | sort); }
cleanup() { "$CDCTAIL" cleanup --cdc-raw "$RAW" --state-dir "$STATE" "$@" >"$TMP/out" 2>"$TMP/err"; }
show() { echo "# exit $1"; sed 's/^/# out: /' "$TMP/out"; sed 's/^/# err: /' "$TMP/err"; }

# 1. --dry-run: the decisions, and not one byte or mtime changed anywhere.
listing "$RAW" >"$TMP/before"; listing "$STATE" >"$TMP/state-before"
cleanup --dry-run --max-bytes 1500K --delete-unconsumed; rc=$?
listing "$RAW" >"$TMP/after"; listing "$STATE" >"$TMP/state-after"
show $rc
check "dry run exits 0" [ $rc -eq 0 ]
check "dry run changes nothing in cdc_raw" cmp -s "$TMP/before" "$TMP/after"
check "dry run changes nothing in the state directory" cmp -s "$TMP/state-before" "$TMP/state-after"
check "dry run says it would remove the consumed segment" \
	grep -qx "would remove $SEG.log (1048576 bytes, consumed)" "$TMP/out"
check "dry run names the unconsumed segment it would delete" \
	grep -q "(dry run) DELETING UNCONSUMED segment CommitLog-7-1795574591941.log" "$TMP/err"
check "dry run summary" grep -q "1 segments removed (1048591 bytes), 0 archived, 0 quarantined, 1 unconsumed kept, 1 unconsumed deleted, cdc_raw now 1048581 bytes (dry run" "$TMP/err"

# 2. A real run over a limit it cannot meet without --delete-unconsumed: the
# consumed segment goes, the unconsumed ones stay, exit 3 with the list.
cleanup --max-bytes 1500K; rc=$?
show $rc
check "limit not met: exit 3" [ $rc -eq 3 ]
check "consumed segment and idx removed" eval '[ ! -e "$RAW/$SEG.log" ] && [ ! -e "$RAW/${SEG}_cdc.idx" ]'
check "one action line for each removed file" \
	diff <(cat "$TMP/out") <(printf 'removed %s.log (1048576 bytes, consumed)\nremoved %s_cdc.idx (15 bytes, consumed)\n' "$SEG" "$SEG")
check "unconsumed segments kept" eval '[ -f "$RAW/CommitLog-7-1795574591941.log" ] && [ -f "$RAW/CommitLog-7-1795574591942.log" ]'
check "says which segment would have to go" grep -q "  CommitLog-7-1795574591941.log (1048591 bytes" "$TMP/err"
check "says the limit was not met" grep -q "limit not met" "$TMP/err"
check "summary line" grep -qx "cdctail cleanup: 1 segments removed (1048591 bytes), 0 archived, 0 quarantined, 2 unconsumed kept, 0 unconsumed deleted, cdc_raw now 2097172 bytes" "$TMP/err"

# 3. With --delete-unconsumed and an archive (same filesystem: rename): the
# oldest completed unconsumed segment goes, loudly; the live one stays.
cleanup --max-bytes 1500K --delete-unconsumed --archive-dir "$ARCH"; rc=$?
show $rc
check "--delete-unconsumed meets the limit: exit 0" [ $rc -eq 0 ]
check "DELETING UNCONSUMED on stderr" grep -q "DELETING UNCONSUMED segment CommitLog-7-1795574591941.log (1048576 bytes, checkpoint position 1000, idx offset 88478 COMPLETED): events in it are lost to Kafka" "$TMP/err"
check "archived, bytes intact" cmp -s "$SRC/cdc_raw/$SEG.log" "$ARCH/CommitLog-7-1795574591941.log"
check "archived idx" eval '[ -f "$ARCH/CommitLog-7-1795574591941_cdc.idx" ] && [ ! -e "$RAW/CommitLog-7-1795574591941_cdc.idx" ]'
check "archive line on stdout" grep -qx "archived CommitLog-7-1795574591941.log (1048576 bytes, UNCONSUMED) to $ARCH/CommitLog-7-1795574591941.log" "$TMP/out"
check "unconsumed deletion counted" grep -q "1 unconsumed deleted" "$TMP/err"

# 4. The live segment (idx not COMPLETED) is never deleted, whatever the limit.
cleanup --max-bytes 0 --delete-unconsumed; rc=$?
show $rc
check "live segment never deleted: exit 3" eval '[ $rc -eq 3 ] && [ -f "$RAW/CommitLog-7-1795574591942.log" ] &&
	[ -f "$RAW/CommitLog-7-1795574591942_cdc.idx" ]'
check "live segment bytes unchanged" cmp -s "$SRC/cdc_raw_live/$SEG.log" "$RAW/CommitLog-7-1795574591942.log"

# 5. Symlinks, their targets and other files are left alone throughout.
check "symlink with a segment name left alone" [ -L "$RAW/CommitLog-7-1795574591943.log" ]
check "symlink target left alone" cmp -s "$SRC/cdc_raw/$SEG.log" "$TMP/outside/CommitLog-7-1795574591943.log"
check "other files left alone" grep -qx hello "$RAW/README"

# 6. Archiving to another filesystem (copy, fsync, unlink) when one is at hand.
SHM=$(mktemp -d /dev/shm/cdctail-e2e.XXXXXX 2>/dev/null) && at_exit "rm -rf '$SHM'"
if [ -n "$SHM" ] && [ "$(stat -c %d "$SHM")" != "$(stat -c %d "$RAW")" ]; then
	cp -p "$SRC/cdc_raw/$SEG.log" "$SRC/cdc_raw/${SEG}_cdc.idx" "$RAW/"
	cleanup --archive-dir "$SHM"; rc=$?
	show $rc
	check "cross-filesystem archive: exit 0" [ $rc -eq 0 ]
	check "cross-filesystem archive: bytes intact" cmp -s "$SRC/cdc_raw/$SEG.log" "$SHM/$SEG.log"
	check "cross-filesystem archive: mtime kept" [ "$(stat -c %Y "$SHM/$SEG.log")" = "$(stat -c %Y "$SRC/cdc_raw/$SEG.log")" ]
	check "cross-filesystem archive: gone from cdc_raw, no temporary left" \
		eval '[ ! -e "$RAW/$SEG.log" ] && [ -z "$(ls -A "$SHM" | grep tmp)" ]'
else
	echo "# no second filesystem at /dev/shm: the copy path is covered by test_cleanup only"
fi

# 7. A damaged checkpoint stops everything; a usage error is exit 2.
cp -p "$SRC/cdc_raw/$SEG.log" "$SRC/cdc_raw/${SEG}_cdc.idx" "$RAW/"
sed -i 's/^segment 1795574591940 88478 0$/segment 1795574591940 88478 1/' "$STATE/checkpoint"
listing "$RAW" >"$TMP/before"
cleanup; rc=$?
show $rc
check "damaged checkpoint: exit 1 naming it" eval '[ $rc -eq 1 ] && grep -q "$STATE/checkpoint: line" "$TMP/err"'
check "damaged checkpoint: nothing touched" cmp -s "$TMP/before" <(listing "$RAW")
"$CDCTAIL" cleanup --cdc-raw "$RAW" >/dev/null 2>&1; rc=$?
check "no --state-dir: exit 2" [ $rc -eq 2 ]
"$CDCTAIL" cleanup --cdc-raw "$RAW" --state-dir "$STATE" --max-age 3x >/dev/null 2>&1; rc=$?
check "bad --max-age: exit 2" [ $rc -eq 2 ]

# 8. Files vanishing underneath (`cdctail run` removes consumed segments too):
# not an error. Many small consumed segments, removed by cleanup and by a
# concurrent rm at once, a few rounds; every round must exit 0.
mapfile -t lines < <(for i in $(seq 1000 1399); do echo "segment $i 1 1"; done)
write_checkpoint "${lines[@]}"
rm -f "$RAW"/CommitLog-7-17955745919*
races=0
for round in 1 2 3 4 5; do
	for i in $(seq 1000 1399); do
		echo x >"$RAW/CommitLog-7-$i.log"; printf '1\nCOMPLETED' >"$RAW/CommitLog-7-${i}_cdc.idx"
	done
	(cd "$RAW" && ls -r CommitLog-7-1[0-3]* | xargs rm -f) & rmpid=$!
	cleanup; rc=$?
	wait $rmpid
	[ $rc -eq 0 ] || { show $rc; races=$((races + 1)); }
done
check "files vanishing concurrently are not errors (5 rounds)" [ $races -eq 0 ]
check "nothing left of them" eval '[ -z "$(ls "$RAW" | grep "^CommitLog-7-1[0-3]")" ]'
