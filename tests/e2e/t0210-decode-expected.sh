#!/usr/bin/env bash
# The mutation decoder against the CQL that made each fixture: every
# statement of the seed workload (the ten seed shapes on ASC and DESC tables,
# TTLs, nulls, 200 random statements) decodes to exactly the partition update
# its text, USING TIMESTAMP and TTL imply, on every version and compression.
# The ops fixtures: every element operation (list paths by position, set,
# map, UDT fields, TTLs) and every range marker, boundaries included, as
# tests/e2e/cqlmodel.py reads their CQL; both boundary kinds must appear.
# The types fixtures decode with no error (t0215 checks their events).
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
		types|ddl) ok "decode $rel: $(grep -c '^      update ' "$TMP/out") partition updates, no decode error" ;;
		schema-change)
			# columns added and dropped between writes: each entry keeps the
			# columns its statement wrote, minus those dropped since (their
			# data is gone, as Cassandra's reader treats it: ts <= dropped_time);
			# the decoder needs dropped_columns to parse past them
			got=$(awk '/update schema_change.evolving/ { if (n++) print line; line = "" }
				/^          cell / { line = line " " $2 } END { print line }' "$TMP/out" | sed 's/^ //' | paste -sd'|')
			want="a|a d|a d|d"
			check "decode $rel: cells per entry across ADD/DROP are [$got], expected from the CQL and the drops [$want]" [ "$got" = "$want" ] ;;
		*) python3 tests/e2e/decode_expect.py "$rel" "$TMP/out" ;;
		esac
	done
done
