# scripts/lib.sh - shared by the service scripts. Sourced, not run.
CDCTAIL_CACHE=${CDCTAIL_CACHE:-$HOME/.cache/cdctail}
export CDCTAIL_CACHE
SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP_DIR=$(cd "$SCRIPTS_DIR/.." && pwd)

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# wait_port HOST PORT SECONDS: 0 once a TCP connect succeeds, 1 at the deadline.
wait_port() {
	local host=$1 port=$2 secs=$3 i
	for ((i = 0; i < secs * 2; i++)); do
		if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then return 0; fi
		sleep 0.5
	done
	return 1
}

# Full versions used for each short one.
cassandra_full_version() {
	case $1 in
	5.0) echo 5.0.9 ;; 4.1) echo 4.1.10 ;; 4.0) echo 4.0.19 ;; 3.11) echo 3.11.19 ;;
	[0-9]*.[0-9]*.[0-9]*) echo "$1" ;;
	*) die "unknown Cassandra version '$1' (expected 5.0, 4.1, 4.0, 3.11 or a full x.y.z)" ;;
	esac
}
KAFKA_VERSION=${KAFKA_VERSION:-3.9.1}
KAFKA_SCALA=2.13

# The venv with the Python drivers the tests use.
PYVENV=$CDCTAIL_CACHE/venv
