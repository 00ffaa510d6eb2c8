#!/usr/bin/env bash
# `make install PREFIX=/opt/... DESTDIR=$TMP/dest`, as a package build does it:
# the installed bin/cdctail is the built one and runs (--help, help); the docs,
# the man pages and the systemd unit, example config and cron file are there, byte for byte,
# with their modes; the tree under DESTDIR holds those files and nothing else;
# and nothing lands outside DESTDIR: every command of the install recipe
# (`make -n`) writes only below it, and PREFIX itself is not created.
. "$(dirname "$0")/lib.sh"

prefix=/opt/cdctail-t0030-$$
dest=$TMP/dest
doc=$dest$prefix/share/doc/cdctail
if [ -e "$prefix" ]; then
	not_ok "install: $prefix exists before the test; cannot tell whether install writes there"
	exit 0
fi
if ! make -s cdctail >"$TMP/build.log" 2>&1; then
	tail -5 "$TMP/build.log"
	not_ok "install: make cdctail failed"
	exit 0
fi

# The recipe, expanded by make: each command must be install(1) with every
# destination below DESTDIR.
make -s -n install PREFIX="$prefix" DESTDIR="$dest" >"$TMP/plan" 2>&1
if python3 - "$TMP/plan" "$dest" <<'PY'; then
import shlex, sys
plan, dest = open(sys.argv[1]).read().replace('\\\n', ' '), sys.argv[2] + '/'
bad, n = [], 0
for line in plan.splitlines():
    if not line.strip():
        continue
    args = shlex.split(line)
    if args[0] != 'install':
        bad.append('not install(1): ' + line)
        continue
    n += 1
    ops, i, dirs = [], 1, False
    while i < len(args):
        if args[i] == '-d':
            dirs = True
        elif args[i] in ('-m', '-o', '-g'):
            i += 1
        elif not args[i].startswith('-'):
            ops.append(args[i])
        i += 1
    for target in (ops if dirs else ops[-1:]):
        if not target.startswith(dest):
            bad.append(f'writes {target}, outside DESTDIR: {line}')
if bad or n == 0:
    print('\n'.join('# ' + b for b in bad) or '# no install command in the recipe')
    sys.exit(1)
PY
	ok "install: each of the recipe's $(grep -c '^install ' "$TMP/plan") install commands writes only below DESTDIR"
else
	not_ok "install: the recipe writes outside DESTDIR (not run)"
	exit 0
fi

if ! make -s install PREFIX="$prefix" DESTDIR="$dest" >"$TMP/install.log" 2>&1; then
	tail -10 "$TMP/install.log"
	not_ok "install: make install PREFIX=$prefix DESTDIR=$dest failed"
	exit 0
fi
check "install: PREFIX itself ($prefix) not created" test ! -e "$prefix"

bin=$dest$prefix/bin/cdctail
check "install: bin/cdctail is the built binary, mode 0755" \
	sh -c '[ "$(stat -c %a "$1")" = 755 ] && cmp -s "$1" cdctail' sh "$bin"
for a in --help help; do
	if "$bin" $a >"$TMP/help" 2>&1 && grep -q '^Usage: cdctail ' "$TMP/help" && grep -q '^  dump ' "$TMP/help"; then
		ok "install: the installed cdctail $a prints the usage and exits 0"
	else
		head -3 "$TMP/help"
		not_ok "install: the installed cdctail $a"
	fi
done

# Expected files: docs/*.md, the three examples and the man pages, byte for
# byte, mode 0644.
want() {
	for f in docs/*.md; do echo "$f share/doc/cdctail/$(basename "$f")"; done
	echo "man/cdctail.1 share/man/man1/cdctail.1"
	echo "man/cdctail.conf.5 share/man/man5/cdctail.conf.5"
	for f in scripts/systemd/cdctail.service scripts/systemd/cdctail.conf scripts/cdctail-cleanup.cron; do
		echo "$f share/doc/cdctail/examples/$(basename "$f")"
	done
}
bad=0 n=0
while read -r src rel; do
	n=$((n + 1))
	if ! cmp -s "$src" "$dest$prefix/$rel" || [ "$(stat -c %a "$dest$prefix/$rel")" != 644 ]; then
		echo "# $rel missing, different from $src, or not mode 0644"
		bad=1
	fi
done < <(want)
check "install: $n docs, examples (systemd unit, example config, cron file) and man pages installed as in the tree, mode 0644" [ $bad = 0 ]

(cd "$dest" && find . -mindepth 1 \( -type f -o -type l \) -printf '%P\n' | sort) >"$TMP/got"
{ echo "${prefix#/}/bin/cdctail"; want | awk -v p="${prefix#/}" '{ print p "/" $2 }'; } | sort >"$TMP/expected"
if diff -u "$TMP/expected" "$TMP/got" >"$TMP/diff"; then
	ok "install: DESTDIR holds exactly those $(wc -l <"$TMP/got") files"
else
	cat "$TMP/diff"
	not_ok "install: DESTDIR holds other files than expected"
fi
