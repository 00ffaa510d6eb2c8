#!/usr/bin/env bash
# The mutation decoder agrees with Cassandra's own deserialization: for every
# fixture segment of every version, the partition updates `cdctail decode`
# prints are, line for line, those the Java oracle prints with
# `--mode mutations` (Cassandra's Mutation.serializer over the same entry
# bodies, with the fixture's tables created under their real ids). The
# canonical text both sides print is in docs/oracle.md ("--mode mutations").
# Only entries of the fixture's own keyspaces are compared: the oracle knows
# Cassandra's system tables, the fixture schema does not.
. "$(dirname "$0")/lib.sh"

# The fixture's keyspaces, one per line (not Cassandra's own, whose
# system_schema definitions the schema carries to follow schema changes).
keyspaces() {
	python3 -c 'import json,sys; print("\n".join(sorted({t["keyspace"] for t in json.load(open(sys.argv[1]))["tables"] if not t.get("internal")})))' "$1"
}

# The schema without the tables dropped during the workload: the oracle
# creates the tables of schema.cql, the final ones, so both sides leave the
# dropped ones' entries undecoded (t0215 checks those against the CQL).
oracle_schema() {
	python3 -c 'import json,sys; d = json.load(open(sys.argv[1])); d["tables"] = [t for t in d["tables"] if not t.get("dropped")]; json.dump(d, open(sys.argv[2], "w"))' "$1" "$2"
}

# Keeps "entry BASE end=POS" and the decoded lines after it (indentation
# dropped), for entries whose updates are in the listed keyspaces.
# stdin: `cdctail decode` output or the oracle's; $1: keyspace file.
canon() {
	awk -v ksfile="$1" '
		BEGIN { while ((getline k < ksfile) > 0) ks[k] = 1 }
		function flush() { if (n && keep) for (i = 1; i <= n; i++) print buf[i]; n = 0; keep = 0 }
		/^segment / { flush(); m = split($2, p, "/"); base = p[m]; next }
		$1 == "entry" {
			flush()
			b = base; e = ""
			for (i = 2; i <= NF; i++) if ($i ~ /^end=/) e = $i
			if ($2 !~ /=/) b = $2          # the oracle names the file on each entry
			buf[++n] = "entry " b " " e
			next
		}
		$1 == "update" { split($2, q, "."); if (q[1] in ks) keep = 1 }
		$1 ~ /^(update|partition|row|complex_deletion|cell|marker|unknown-table|decode-error)$/ {
			if (n) { sub(/^[ \t]+/, ""); buf[++n] = $0 }
			next
		}
		$1 == "end" || $1 == "section" || $1 == "index" { flush() }
		END { flush() }'
}

any=0
for v in $(fixture_versions); do
	for case in "$TOP"/fixtures/"$v"/*/; do
		case=${case%/}; rel=${case#"$TOP"/}
		files=$(ls "$case"/cdc_raw/CommitLog-*.log 2>/dev/null) || continue
		[ -n "$files" ] || continue
		any=1
		keyspaces "$case/schema.json" >"$TMP/ks"
		oracle_schema "$case/schema.json" "$TMP/schema.json"
		# shellcheck disable=SC2086
		if ! tests/oracle/run.sh --version "$v" --mode mutations --schema "$case" $files \
			>"$TMP/oracle" 2>"$TMP/oracle.err"; then
			tail -5 "$TMP/oracle.err"
			not_ok "oracle mutations $rel: the oracle could not run with --mode mutations"
			continue
		fi
		for f in $files; do
			b=$(basename "$f")
			"$CDCTAIL" decode --schema "$TMP/schema.json" "$f" 2>/dev/null | canon "$TMP/ks" >"$TMP/ours"
			canon "$TMP/ks" <"$TMP/oracle" | awk -v b="$b" '/^entry / { on = ($2 == b) } on' >"$TMP/theirs"
			n=$(grep -c '^entry ' "$TMP/theirs")
			if [ "$n" -gt 0 ] && diff -u "$TMP/theirs" "$TMP/ours" >"$TMP/diff"; then
				ok "oracle mutations $rel/$b: $n entries, $(grep -c '^update ' "$TMP/ours") updates identical"
			else
				head -30 "$TMP/diff"
				not_ok "oracle mutations $rel/$b: differs from Cassandra's deserialization ($n oracle entries)"
			fi
		done
		# the ops case batches adjoining and overlapping range deletions of one
		# partition with different timestamps: Cassandra's reader must show
		# them merged into boundary markers of both kinds
		if [ "$(basename "$case")" = ops ]; then
			canon "$TMP/ks" <"$TMP/oracle" >"$TMP/theirs-all"
			a=$(grep -c '^marker EXCL_END_INCL_START_BOUNDARY .* start_deletion ' "$TMP/theirs-all")
			b=$(grep -c '^marker INCL_END_EXCL_START_BOUNDARY .* start_deletion ' "$TMP/theirs-all")
			check "oracle mutations $rel: Cassandra reads $a EXCL_END_INCL_START and $b INCL_END_EXCL_START boundaries (the CQL makes 5 of each)" \
				[ "$a" = 5 -a "$b" = 5 ]
		fi
	done
done
[ $any = 1 ] || not_ok "no fixtures to compare"
