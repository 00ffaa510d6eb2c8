#!/usr/bin/env bash
# The Debian package as an operator meets it: `make deb` (dpkg-buildpackage,
# lintian clean), then on this machine `dpkg -i`: the files are where the
# package says and are the tree's (binary, man pages, docs, the unit with
# /usr paths, not enabled; the configuration and the cron file as
# conffiles); `cdctail version` prints the package's version; `man -w`
# finds both pages; every library the binary loads belongs to a package in
# Depends. Then a reinstall over itself with the configuration changed by
# the operator keeps the change, `dpkg -r` keeps the configuration, and
# `dpkg --purge` removes every file. The package is purged at the end
# whatever happens; the test refuses to run where cdctail is already
# installed (it would remove it).
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" != 0 ]; then
	not_ok "deb: dpkg -i needs root"
	exit 0
fi
if dpkg-query -W -f='${Status}' cdctail 2>/dev/null | grep -q installed || [ -e /usr/bin/cdctail ] ||
	[ -e /etc/cdctail ] || [ -e /etc/cron.d/cdctail ]; then
	not_ok "deb: cdctail is already installed on this machine; not touching it"
	exit 0
fi

ver=$(head -1 debian/changelog | cut -d' ' -f2 | tr -d '()')
if ! make -s deb >"$TMP/deb.log" 2>&1; then
	tail -30 "$TMP/deb.log"
	not_ok "deb: make deb failed (dpkg-buildpackage or lintian)"
	exit 0
fi
deb=$(ls build/deb/cdctail_"$ver"_*.deb 2>/dev/null | head -1)
check "deb: make deb builds $deb and lintian reports no error or warning" [ -f "$deb" ]
grep -E '^[EW]: ' "$TMP/deb.log" | head -5

at_exit "dpkg --purge cdctail >/dev/null 2>&1"
if ! DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >"$TMP/install.log" 2>&1 </dev/null; then
	cat "$TMP/install.log"
	not_ok "deb: dpkg -i $deb failed"
	exit 0
fi
ok "deb: dpkg -i installs it ($(dpkg-query -W -f='${Package} ${Version} ${db:Status-Status}' cdctail))"
dpkg -L cdctail | sort >"$TMP/files"

# the files, byte for byte where the tree has them as they are
bad=0
same() { # same TREE_FILE INSTALLED
	if ! cmp -s "$1" "$2"; then echo "# $2 is not $1"; bad=1; fi
}
for f in docs/*.md; do same "$f" "/usr/share/doc/cdctail/$(basename "$f")"; done
same CHANGELOG.md /usr/share/doc/cdctail/CHANGELOG.md
same scripts/systemd/cdctail.conf /etc/cdctail/cdctail.conf
same scripts/cdctail-cleanup.cron /etc/cron.d/cdctail
zcat /usr/share/man/man1/cdctail.1.gz >"$TMP/m1" && same man/cdctail.1 "$TMP/m1"
zcat /usr/share/man/man5/cdctail.conf.5.gz >"$TMP/m5" && same man/cdctail.conf.5 "$TMP/m5"
sed 's|/usr/local/|/usr/|g' scripts/systemd/cdctail.service >"$TMP/unit" && same "$TMP/unit" /lib/systemd/system/cdctail.service
check "deb: the docs (their README.md the index), CHANGELOG, man pages, configuration, cron file and unit are the tree's" [ $bad = 0 ]
for f in /usr/bin/cdctail /etc/cdctail/cdctail.conf /etc/cron.d/cdctail /lib/systemd/system/cdctail.service \
	/usr/share/man/man1/cdctail.1.gz /usr/share/man/man5/cdctail.conf.5.gz /usr/share/doc/cdctail/copyright \
	/usr/share/doc/cdctail/changelog.gz; do
	grep -qx "$f" "$TMP/files" || { echo "# $f not in dpkg -L"; bad=1; }
done
check "deb: dpkg -L lists the binary, unit, configuration, cron file, man pages, copyright and changelog" [ $bad = 0 ]
check "deb: the unit starts /usr/bin/cdctail run --config /etc/cdctail/cdctail.conf" \
	grep -qx 'ExecStart=/usr/bin/cdctail run --config /etc/cdctail/cdctail.conf' /lib/systemd/system/cdctail.service
check "deb: the unit is not enabled on install (no multi-user.target.wants link)" \
	test ! -e /etc/systemd/system/multi-user.target.wants/cdctail.service
conffiles=$(dpkg-query -W -f='${Conffiles}\n' cdctail | awk 'NF { print $1 }' | sort | tr '\n' ' ')
check "deb: conffiles are the configuration and the cron file ($conffiles)" \
	[ "$conffiles" = "/etc/cdctail/cdctail.conf /etc/cron.d/cdctail " ]

out=$(/usr/bin/cdctail version 2>&1)
check "deb: cdctail version prints the package's version ($out)" [ "$out" = "cdctail $(dpkg-query -W -f='${Version}' cdctail)" ]
check "deb: cdctail on PATH is the package's ($(command -v cdctail))" [ "$(command -v cdctail)" = /usr/bin/cdctail ]
m1=$(man -w cdctail 2>&1) m5=$(man -w cdctail.conf 2>&1)
check "deb: man -w cdctail finds $m1, man -w cdctail.conf finds $m5" \
	[ "$m1" = /usr/share/man/man1/cdctail.1.gz -a "$m5" = /usr/share/man/man5/cdctail.conf.5.gz ]
check "deb: man cdctail renders the page (its COMMANDS section)" \
	sh -c 'MANWIDTH=80 man -P cat cdctail 2>/dev/null | grep -q "^COMMANDS"'

# every shared library the binary loads comes from a package in Depends
depends=$(dpkg-query -W -f='${Depends}' cdctail)
bad=0 n=0
while read -r lib; do
	n=$((n + 1))
	pkg=$(dpkg -S "$lib" 2>/dev/null | head -1 | cut -d: -f1)
	[ -n "$pkg" ] || pkg=$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -1 | cut -d: -f1)
	if [ -z "$pkg" ] || ! printf '%s\n' "$depends" | tr ',' '\n' | grep -q "^ *$pkg\( \|$\)"; then
		echo "# $lib (package '${pkg:-none}') is not in Depends: $depends"
		bad=1
	fi
done < <(ldd /usr/bin/cdctail >"$TMP/ldd"; readelf -d /usr/bin/cdctail | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
	while read -r so; do awk -v so="$so" '$1 == so && $3 ~ /^\// { print $3 }' "$TMP/ldd"; done)
check "deb: the $n libraries the binary links (NEEDED) all come from packages in Depends (from dpkg-shlibdeps)" [ $bad = 0 -a $n -ge 8 ]

# reinstall over itself after the operator edited the configuration
echo "# changed by the operator (t0040)" >>/etc/cdctail/cdctail.conf
cp /etc/cdctail/cdctail.conf "$TMP/edited"
if DEBIAN_FRONTEND=noninteractive dpkg -i "$deb" >"$TMP/reinstall.log" 2>&1 </dev/null; then
	ok "deb: dpkg -i over the installed package succeeds without a question"
else
	cat "$TMP/reinstall.log"
	not_ok "deb: dpkg -i over the installed package"
fi
check "deb: the operator's change to the conffile is kept, and no .dpkg-new/.dpkg-dist is left" \
	sh -c 'cmp -s "$1" /etc/cdctail/cdctail.conf && ! ls /etc/cdctail/*.dpkg-* >/dev/null 2>&1' sh "$TMP/edited"

# remove keeps the configuration, purge removes everything
dpkg -r cdctail >"$TMP/remove.log" 2>&1
check "deb: dpkg -r removes the binary and keeps the configuration" \
	sh -c '[ ! -e /usr/bin/cdctail ] && cmp -s "$1" /etc/cdctail/cdctail.conf' sh "$TMP/edited"
dpkg --purge cdctail >"$TMP/purge.log" 2>&1
left=
while read -r f; do
	[ "$f" = /. ] && continue
	if [ -d "$f" ]; then # a directory of its own left behind (shared ones like /lib stay)
		case $f in */cdctail | */cdctail/*) left="$left $f" ;; esac
	elif [ -e "$f" ] || [ -L "$f" ]; then
		left="$left $f"
	fi
done <"$TMP/files"
check "deb: dpkg --purge removes every file and directory of the package, the configuration too${left:+ (left:$left)}" \
	sh -c '[ -z "$1" ] && ! dpkg-query -W -f="\${Status}" cdctail 2>/dev/null | grep -q "installed\|config-files" && [ ! -e /etc/cdctail ]' sh "$left"
