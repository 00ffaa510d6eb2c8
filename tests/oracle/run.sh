#!/usr/bin/env bash
# tests/oracle/run.sh --version 5.0|4.1|4.0 [--strict] FILE...
# Builds (once per version, with Maven, against cassandra-all of that version)
# and runs the oracle: Cassandra's own CommitLogReader over FILEs. 5.0 runs on
# JDK 17, 4.x on the Java 11 runtime scripts/cassandra-install.sh provides.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../../scripts/lib.sh"
[ "${1:-}" = --version ] && [ $# -ge 3 ] || die "usage: tests/oracle/run.sh --version 5.0|4.1|4.0 [--strict] FILE..."
full=$(cassandra_full_version "$2"); shift 2
home=$("$SCRIPTS_DIR/cassandra-install.sh" "$full")
out=$here/target-$full
jar=$out/cdctail-oracle-1.jar
if [ ! -f "$jar" ] || [ "$here/src/main/java/cdctail/oracle/Oracle.java" -nt "$jar" ]; then
	(cd "$here" && mvn -B -q -Dstyle.color=never -Dcassandra.version="$full" -DbuildDir="$out" package) >&2 ||
		die "maven could not build the oracle against cassandra-all $full"
fi
# The exports Cassandra's jvm11/jvm17 client options give its tools (buffer
# cleaning through jdk.internal.ref, direct buffers).
opens=(--add-exports java.base/jdk.internal.misc=ALL-UNNAMED --add-exports java.base/jdk.internal.ref=ALL-UNNAMED
       --add-exports java.base/sun.nio.ch=ALL-UNNAMED --add-opens java.base/java.nio=ALL-UNNAMED
       --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/java.io=ALL-UNNAMED
       --add-opens java.base/sun.nio.ch=ALL-UNNAMED --add-opens java.base/java.util=ALL-UNNAMED
       --add-opens java.base/jdk.internal.ref=ALL-UNNAMED)
case $full in
4.*) java=$CDCTAIL_CACHE/jdk11/bin/java ;;
*) java=${JAVA17:-java} ;;
esac
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
exec "$java" "${opens[@]}" -Xmx512m -Dlogback.configurationFile=logback-oracle.xml \
	-Dcassandra.storagedir="$tmp" -cp "$jar:$home/lib/*" cdctail.oracle.Oracle "$@"
