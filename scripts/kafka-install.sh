#!/usr/bin/env bash
# scripts/kafka-install.sh - the Kafka broker jars (kafka_2.13 $KAFKA_VERSION and
# runtime dependencies) from Maven Central into $CDCTAIL_CACHE/kafka/<version>/lib.
# Prints the install directory. Idempotent.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
dir=$CDCTAIL_CACHE/kafka/$KAFKA_VERSION
if [ ! -f "$dir/lib/.complete" ]; then
	log "installing Kafka $KAFKA_VERSION from Maven Central into $dir"
	mkdir -p "$dir/lib"
	cat >"$dir/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>cdctail</groupId><artifactId>kafka-runtime</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_$KAFKA_SCALA</artifactId><version>$KAFKA_VERSION</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
  </dependencies>
</project>
POM
	(cd "$dir" && mvn -B -q -Dstyle.color=never dependency:copy-dependencies -DoutputDirectory=lib -DincludeScope=runtime >&2) ||
		die "maven could not fetch kafka_$KAFKA_SCALA $KAFKA_VERSION"
	touch "$dir/lib/.complete"
fi
echo "$dir"
