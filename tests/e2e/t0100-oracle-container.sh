#!/usr/bin/env bash
# The container layer agrees with Cassandra's own CommitLogReader (the Java
# oracle in tests/oracle, built against cassandra-all of the same version):
# same entries, same positions, sizes, table ids and keys, for every fixture
# of every version and compression; and the same survivors on corrupted
# copies (a flipped body byte, a torn tail).
. "$(dirname "$0")/lib.sh"

# ours: "entry <base> end= size= updates= table= key=" from `cdctail dump`,
# entries that passed every check (crc=ok) only
ours() {
	"$CDCTAIL" dump "$@" 2>/dev/null | awk '
		/^segment / { n = split($2, p, "/"); base = p[n] }
		/^    entry / && / crc=ok / {
			line = "entry " base
			for (i = 2; i <= NF; i++) if ($i !~ /^(offset|size_crc|crc)=/) line = line " " $i
			print line
		}'
}
theirs() { grep '^entry ' "$1" | awk -v f="$2" '$2 == f'; }

corrupt_copies() { # makes corrupted copies of a few segments in $TMP/bad/<version>/
	local v=$1 out=$TMP/bad/$v f i=0
	mkdir -p "$out"
	for f in $(fixture_segments "$v" | head -4); do
		i=$((i + 1))
		python3 - "$f" "$out" "$i" "$CDCTAIL" <<'PY'
import os, subprocess, sys, shutil
src, out, i, cdctail = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
data = bytearray(open(src, 'rb').read())
base = os.path.basename(src)
lines = subprocess.run([cdctail, 'dump', src], capture_output=True, text=True).stdout.splitlines()
ents = [dict(kv.split('=', 1) for kv in l.split()[1:6]) for l in lines if l.startswith('    entry ')]
secs = [dict(kv.split('=', 1) for kv in l.split()[1:4]) for l in lines if l.startswith('  section ')]
compressed = 'compressionClass' in lines[0]
# 1: a flipped byte in the middle of an entry body (uncompressed) or payload
d = bytearray(data)
if not compressed and ents:
    e = ents[len(ents) // 2]
    d[(int(e['offset']) + int(e['end'])) // 2] ^= 1
elif secs:
    d[int(secs[0]['file']) + 20] ^= 1
os.makedirs(f'{out}/flip{i}', exist_ok=True)
open(f'{out}/flip{i}/{base}', 'wb').write(d)
# 2: a torn tail: cut halfway into the last section that holds entries
full = [x for x in secs if x['logical'].split('..')[0] != x['logical'].split('..')[1]]
if full:
    s = full[-1]
    cut = (int(s['file']) + int(s['next'])) // 2
    os.makedirs(f'{out}/torn{i}', exist_ok=True)
    open(f'{out}/torn{i}/{base}', 'wb').write(data[:cut])
PY
	done
}

any=0
for v in $(fixture_versions); do
	files=$(fixture_segments "$v")
	[ -n "$files" ] || continue
	any=1
	# shellcheck disable=SC2086
	if ! tests/oracle/run.sh --version "$v" $files >"$TMP/oracle-$v" 2>"$TMP/oracle-$v.err"; then
		tail -20 "$TMP/oracle-$v.err"
		not_ok "oracle $v: Cassandra's reader could not run"
		continue
	fi
	for f in $files; do
		b=$(basename "$f"); rel=${f#"$TOP"/}
		ours "$f" >"$TMP/ours"
		theirs "$TMP/oracle-$v" "$b" >"$TMP/theirs"
		n=$(wc -l <"$TMP/theirs")
		if [ "$n" -gt 0 ] && diff -u "$TMP/theirs" "$TMP/ours" >"$TMP/diff"; then
			ok "oracle $v $rel: $n entries identical"
		else
			head -20 "$TMP/diff"
			not_ok "oracle $v $rel: differs from Cassandra's reader ($n oracle entries)"
		fi
	done
	corrupt_copies "$v"
	for d in "$TMP"/bad/"$v"/*/; do
		f=$(ls "$d"CommitLog-*.log)
		b=$(basename "$f"); kind=$(basename "$d")
		tests/oracle/run.sh --version "$v" "$f" >"$TMP/o" 2>/dev/null
		theirs "$TMP/o" "$b" >"$TMP/theirs"
		ours "$f" >"$TMP/ours"
		if [ "$kind" != "${kind#flip}" ] && head -c 200 "$f" | grep -q compressionClass; then
			# After a section it cannot decompress, Cassandra's reader does not
			# advance its logical position past it (CompressedSegmenter adds the
			# section's length only after a successful uncompress), so its later
			# positions drift from the writer's; cdctail keeps the writer's (those
			# of _cdc.idx). Compare the surviving entries without positions.
			sed -i 's/ end=[0-9]*//' "$TMP/theirs" "$TMP/ours"
		fi
		if grep -q "^error $b EXCEPTION" "$TMP/o"; then
			# Cassandra's reader threw (zstd-jni raises an unchecked exception on
			# a corrupt frame) and gave up on the whole segment; cdctail reports
			# the section and goes on. Cassandra's survivors must be a prefix of ours.
			n=$(wc -l <"$TMP/theirs")
			"$CDCTAIL" dump "$f" >/dev/null 2>"$TMP/dump.err"
			if head -n "$n" "$TMP/ours" | diff -q - "$TMP/theirs" >/dev/null &&
				grep -q ' [1-9][0-9]* faults$' "$TMP/dump.err"; then
				ok "oracle $v corrupted ($kind) $b: Cassandra aborts after $n entries, cdctail reports the fault and keeps $(wc -l <"$TMP/ours")"
			else
				not_ok "oracle $v corrupted ($kind) $b: Cassandra aborted; cdctail's entries do not extend its $n"
			fi
		elif diff -u "$TMP/theirs" "$TMP/ours" >"$TMP/diff"; then
			ok "oracle $v corrupted ($kind) $b: same $(wc -l <"$TMP/ours") surviving entries"
		else
			head -20 "$TMP/diff"
			not_ok "oracle $v corrupted ($kind) $b: survivors differ from Cassandra's reader"
		fi
	done
done
[ $any = 1 ] || not_ok "no fixtures to compare"
