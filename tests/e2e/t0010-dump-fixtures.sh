#!/usr/bin/env bash
# Every real fixture segment reads to its end with no fault (ASan/UBSan
# build), its _cdc.idx parses, and reading up to the idx offset of a finished
# segment gives the same entries as reading it all.
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
