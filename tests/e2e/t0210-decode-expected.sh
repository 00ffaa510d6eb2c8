#!/usr/bin/env bash
# The mutation decoder against the CQL that made each fixture: every
# statement of the seed workload (the ten seed shapes on ASC and DESC tables,
# TTLs, nulls, 200 random statements) decodes to exactly the partition update
# its text, USING TIMESTAMP and TTL imply, on every version and compression.
# The types fixtures decode with no error.
. "$(dirname "$0")/lib.sh"

for v in $(fixture_versions); do
	for case in "$TOP"/fixtures/"$v"/*/; do
		case=${case%/}; name=$(basename "$case"); rel=${case#"$TOP"/}
		"$CDCTAIL" decode --schema "$case/schema.json" "$case"/cdc_raw/CommitLog-*.log >"$TMP/out" 2>"$TMP/err"
		rc=$?
		errors=$(grep -c 'decode-error' "$TMP/out")
		if [ $rc -ne 0 ] || [ "$errors" -ne 0 ]; then
			head -5 "$TMP/err"
			not_ok "decode $rel: exit $rc, $errors entries could not be decoded"
			continue
		fi
		case $name in
		types) ok "decode $rel: $(grep -c '^      update ' "$TMP/out") partition updates, no decode error" ;;
		*) python3 tests/e2e/decode_expect.py "$rel" "$TMP/out" ;;
		esac
	done
done
