#!/usr/bin/env bash
# The container layer agrees with Cassandra's own CommitLogReader (the Java
# oracle in tests/oracle, built against cassandra-all of the same version):
# same entries, same positions, sizes, table ids and keys, for every fixture
# of every version and compression; and the same survivors on corrupted
# copies (tests/e2e/corrupt_copies.py): for each version an uncompressed
# segment (seed, and 5.0's version-8 seed-v8) and a Deflate one get a body
# flip in a middle entry, a flipped entry size, a flipped CRC of a middle
# section's sync marker, a cut in the middle of an entry and a cut at a
# section boundary (the uncompressed ones also a section's `next` moved into
# its last entry); the LZ4, Snappy and Zstd segments a flipped byte in the
# middle section's compressed bytes and a cut there. Each copy: both readers
# report a fault, or neither does. One JVM per version reads all files.
# Where the two readers intentionally differ: docs/oracle.md, docs/format.md.
. "$(dirname "$0")/lib.sh"

# ours FILE: "entry <base> end= size= updates= table= key=" from `cdctail
# dump`, entries that passed every check (crc=ok) only
ours() {
	awk '
		/^segment / { n = split($2, p, "/"); base = p[n] }
		/^    entry / && / crc=ok / {
			line = "entry " base
			for (i = 2; i <= NF; i++) if ($i !~ /^(offset|size_crc|crc)=/) line = line " " $i
			print line
		}' "$1"
}
# cdctail's dump reported a fault: a bad item, an error, a torn tail
ours_faulted() { grep -qE ' (size_crc|crc)=BAD| bad=|^ *error|reason=(truncated|error) ' "$1"; }

any=0
for v in $(fixture_versions); do
	files=$(fixture_segments "$v")
	[ -n "$files" ] || continue
	any=1
	one() { ls "$TOP"/fixtures/"$v"/"$1"/cdc_raw/CommitLog-*.log 2>/dev/null | head -1; }
	args=()
	for c in seed seed-v8 compress-deflate; do f=$(one $c) && [ -n "$f" ] && args+=("$c=$f"); done
	for c in compress-lz4 compress-snappy compress-zstd; do f=$(one $c) && [ -n "$f" ] && args+=("$c=$f:payload"); done
	rm -rf "$TMP/bad"
	if ! python3 tests/e2e/corrupt_copies.py "$TMP/bad" "${args[@]}" >"$TMP/copies"; then
		not_ok "oracle $v: corrupt_copies.py failed"
		continue
	fi
	# shellcheck disable=SC2086
	if ! tests/oracle/run.sh --version "$v" $files $(cut -f2 "$TMP/copies") >"$TMP/oracle" 2>"$TMP/oracle.err"; then
		tail -20 "$TMP/oracle.err"
		not_ok "oracle $v: Cassandra's reader could not run"
		continue
	fi
	# the oracle's output per file, in argument order: $TMP/o.N
	rm -f "$TMP"/o.*
	awk -v d="$TMP" '/^segment / { n++ } n { print > (d "/o." n) }' "$TMP/oracle"
	i=0
	for f in $files; do
		i=$((i + 1))
		rel=${f#"$TOP"/}
		"$CDCTAIL" dump "$f" >"$TMP/dump" 2>/dev/null
		ours "$TMP/dump" >"$TMP/ours"
		grep '^entry ' "$TMP/o.$i" >"$TMP/theirs"
		n=$(wc -l <"$TMP/theirs")
		if [ "$n" -gt 0 ] && diff -u "$TMP/theirs" "$TMP/ours" >"$TMP/diff"; then
			ok "oracle $v $rel: $n entries identical"
		else
			head -20 "$TMP/diff"
			not_ok "oracle $v $rel: differs from Cassandra's reader ($n oracle entries)"
		fi
	done
	while IFS=$'\t' read -r kind f; do
		i=$((i + 1))
		b=$(basename "$f")
		"$CDCTAIL" dump "$f" >"$TMP/dump" 2>/dev/null
		ours "$TMP/dump" >"$TMP/ours"
		grep '^entry ' "$TMP/o.$i" >"$TMP/theirs"
		no=$(wc -l <"$TMP/ours"); nt=$(wc -l <"$TMP/theirs")
		detected=neither
		if ours_faulted "$TMP/dump" && grep -q '^error ' "$TMP/o.$i"; then detected=both
		elif ours_faulted "$TMP/dump" || grep -q '^error ' "$TMP/o.$i"; then detected=one; fi
		what="oracle $v $kind $b"
		if [ "$detected" = one ]; then
			grep -E 'BAD|bad=|error|reason=' "$TMP/dump" | head -5
			grep '^error ' "$TMP/o.$i" | head -3
			not_ok "$what: only one of the readers reports a fault"
		elif grep -q "^error $b EXCEPTION" "$TMP/o.$i"; then
			# Cassandra's reader threw (zstd-jni raises an unchecked exception on
			# a corrupt frame) and gave up on the whole segment; cdctail reports
			# the section and goes on. Cassandra's survivors are a prefix of ours.
			if head -n "$nt" "$TMP/ours" | diff -q - "$TMP/theirs" >/dev/null; then
				ok "$what: Cassandra's reader aborts after $nt entries (exception), cdctail reports the section and keeps $no"
			else
				not_ok "$what: Cassandra's reader aborted; its $nt entries are not the first of cdctail's"
			fi
		elif l=$(awk '/^  section .* bad=decompression/ { split($3, a, "[=.]"); print a[2]; exit }' "$TMP/dump") && [ -n "$l" ]; then
			# After a section it cannot decompress, Cassandra's reader does not
			# advance its logical position past it (CompressedSegmenter adds the
			# section's length only after a successful uncompress), so its later
			# positions drift from the writer's; cdctail keeps the writer's (those
			# of _cdc.idx). Entries before that section: same positions; after it,
			# the same entries.
			k=$(awk -v l="$l" '{ split($3, a, "="); if (a[2] + 0 < l + 0) n++ } END { print n + 0 }' "$TMP/ours")
			if diff -q <(head -n "$k" "$TMP/ours") <(head -n "$k" "$TMP/theirs") >/dev/null &&
				diff -q <(tail -n +"$((k + 1))" "$TMP/ours" | sed 's/ end=[0-9]*//') \
					<(tail -n +"$((k + 1))" "$TMP/theirs" | sed 's/ end=[0-9]*//') >/dev/null; then
				ok "$what: same $no surviving entries ($k before the undecompressable section at the same positions, the rest without: Cassandra's positions drift there)"
			else
				diff -u "$TMP/theirs" "$TMP/ours" | head -20
				not_ok "$what: survivors differ from Cassandra's reader"
			fi
		elif [ "$kind" != "${kind%-next-short}" ]; then
			# The section now ends inside its last entry. Cassandra's readSection
			# only checks that an entry starts before the section's end, and in an
			# uncompressed segment it reads on into the file: it keeps that entry
			# when its CRCs match. cdctail refuses an entry that runs past the end
			# its sync marker declares (docs/oracle.md). Otherwise the same.
			if [ "$nt" -eq $((no + 1)) ] && python3 -c 'import sys; t, o = (open(f).read().splitlines() for f in sys.argv[1:]); sys.exit(not any(t[:i] + t[i + 1:] == o for i in range(len(t))))' "$TMP/theirs" "$TMP/ours"; then
				ok "$what: same $no surviving entries at the same positions, but for the entry across the moved section end, which only Cassandra's reader keeps; fault reported by $detected"
			else
				diff -u "$TMP/theirs" "$TMP/ours" | head -20
				not_ok "$what: expected Cassandra's survivors to be cdctail's plus the entry across the moved section end ($nt theirs, $no ours)"
			fi
		elif diff -u "$TMP/theirs" "$TMP/ours" >"$TMP/diff"; then
			ok "$what: same $no surviving entries at the same positions, fault reported by $detected"
		else
			head -20 "$TMP/diff"
			not_ok "$what: survivors differ from Cassandra's reader ($nt theirs, $no ours)"
		fi
	done <"$TMP/copies"
done
[ $any = 1 ] || not_ok "no fixtures to compare"
