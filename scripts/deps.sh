#!/usr/bin/env bash
# scripts/deps.sh [--build] - installs what is missing, fast when nothing is.
#   --build   only the packages needed to build cdctail (README's first command)
#   (default) also test tools, the Python venv with cassandra-driver, and the
#             Cassandra/Kafka/JDK installs into $CDCTAIL_CACHE
#   --python  print the venv's python path and exit
set -euo pipefail
. "$(dirname "$0")/lib.sh"

build_pkgs="build-essential pkg-config librdkafka-dev liblz4-dev zlib1g-dev libdeflate-dev libcjson-dev libsnappy-dev libzstd-dev libxxhash-dev libcmocka-dev libssl-dev liblmdb-dev"
test_pkgs="clang libclang-rt-14-dev kcat valgrind python3-venv maven unzip curl debhelper lintian man-db"

mode=all
case ${1:-} in
--build) mode=build ;;
--python) echo "$PYVENV/bin/python"; exit 0 ;;
"") ;;
*) die "usage: scripts/deps.sh [--build|--python]" ;;
esac

pkgs=$build_pkgs
[ $mode = all ] && pkgs="$pkgs $test_pkgs"
missing=()
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing Debian packages: ${missing[*]}"
	sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -q >/dev/null || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}" >/dev/null ||
		die "apt-get install ${missing[*]} failed"
fi
[ $mode = build ] && exit 0

if [ ! -x "$PYVENV/bin/python" ] || ! "$PYVENV/bin/python" -c 'import cassandra, confluent_kafka, xxhash' 2>/dev/null; then
	log "creating the Python venv in $PYVENV (cassandra-driver, confluent-kafka, xxhash)"
	mkdir -p "$CDCTAIL_CACHE"
	python3 -m venv "$PYVENV" || die "python3 -m venv failed"
	"$PYVENV/bin/pip" install -q cassandra-driver confluent-kafka xxhash ||
		die "pip install cassandra-driver confluent-kafka xxhash failed"
fi
for v in 5.0 4.1 4.0 3.11; do "$SCRIPTS_DIR/cassandra-install.sh" "$v" >/dev/null; done
"$SCRIPTS_DIR/kafka-install.sh" >/dev/null
