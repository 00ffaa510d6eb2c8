#!/usr/bin/env bash
# Every real fixture segment reads to its end with no fault (ASan/UBSan
# build), every section and entry line carries a CRC verdict, its _cdc.idx
# parses, and reading up to the idx offset of a finished segment gives the
# same entries as reading it all. On corrupted copies (tests/e2e/dump_expect.py
# computes the expected lines with zlib from the format's facts) the bad entry
# or marker is listed, marked bad with the stored and the computed CRC, before
# its error.
. "$(dirname "$0")/lib.sh"

n=0
for v in $(fixture_versions); do
	for f in $(fixture_segments "$v"); do
		n=$((n + 1))
		rel=${f#"$TOP"/}
		if ! "$CDCTAIL" dump "$f" >"$TMP/all" 2>"$TMP/err"; then
			not_ok "dump $rel: $(head -3 "$TMP/err")"
			continue
		fi
		entries=$(grep -c '^    entry ' "$TMP/all")
		if [ "$entries" -eq 0 ]; then
			not_ok "dump $rel: no entries"
			continue
		fi
		if grep '^  section ' "$TMP/all" | grep -qv ' crc=ok$' ||
			grep '^    entry ' "$TMP/all" | grep -qv ' size_crc=ok crc=ok '; then
			not_ok "dump $rel: a section or entry without its crc=ok verdict"
			continue
		fi
		idx=${f%.log}_cdc.idx
		if [ -f "$idx" ]; then
			"$CDCTAIL" dump --index "$f" >"$TMP/idx" 2>"$TMP/err" || { not_ok "dump --index $rel"; continue; }
			if grep -q 'COMPLETED' "$idx"; then
				a=$(grep '^    entry ' "$TMP/all" | md5sum); b=$(grep '^    entry ' "$TMP/idx" | md5sum)
				[ "$a" = "$b" ] || { not_ok "dump --index $rel: entries differ from a full read of a COMPLETED segment"; continue; }
			fi
		fi
		ok "dump $rel ($entries entries)"
	done
done
[ $n -gt 0 ] || not_ok "no fixture segments found under fixtures/"

# expect_lines OUT EXPECTED: the EXPECTED line prefixes appear in OUT on
# consecutive lines, in order.
expect_lines() {
	python3 - "$1" "$2" <<'PY'
import sys
out = open(sys.argv[1]).read().splitlines()
want = open(sys.argv[2]).read().splitlines()
for i in range(len(out)):
    if all(i + k < len(out) and out[i + k].startswith(w) for k, w in enumerate(want)):
        sys.exit(0)
print('# expected, on consecutive lines:', *want, sep='\n#   ')
sys.exit(1)
PY
}

for v in $(fixture_versions); do
	for c in seed compress-lz4; do
		f=$(ls "$TOP"/fixtures/"$v"/$c/cdc_raw/CommitLog-*.log 2>/dev/null | head -1)
		[ -n "$f" ] || continue
		rel=${f#"$TOP"/}
		rm -rf "$TMP/bad"
		python3 tests/e2e/dump_expect.py "$f" "$TMP/bad" >"$TMP/expect" || { not_ok "dump_expect.py $rel"; continue; }
		for kind in $(cut -f1 "$TMP/expect" | uniq); do
			awk -F'\t' -v k="$kind" '$1 == k { print $2 }' "$TMP/expect" >"$TMP/want"
			"$CDCTAIL" dump "$TMP/bad/$kind/$(basename "$f")" >"$TMP/out" 2>/dev/null
			rc=$?
			if [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
				not_ok "dump $rel with a flipped $kind: exit $rc"
			elif expect_lines "$TMP/out" "$TMP/want"; then
				ok "dump $rel with a flipped $kind: $(head -1 "$TMP/want" | sed 's/^ *//')"
			else
				grep -B1 -A1 -E 'BAD|error' "$TMP/out" | head -8
				not_ok "dump $rel with a flipped $kind: the bad item is not listed with its CRCs before the error"
			fi
		done
	done
done
