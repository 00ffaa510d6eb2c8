# tests/e2e/lib.sh - sourced by the end-to-end tests (git's t/ style).
# Each test prints TAP-like lines: "ok - NAME" or "not ok - NAME"; the runner
# (scripts/test.sh) counts them.
set -uo pipefail
TOP=${CDCTAIL_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$TOP" || exit 1
CDCTAIL=${CDCTAIL:-$TOP/build/asan/cdctail}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/cdctail-e2e.XXXXXX")
_cleanups=()
_cleanup() {
	local i
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do eval "${_cleanups[$i]}" || true; done
	[ -n "${KEEP_TMP:-}" ] && echo "# kept $TMP" || rm -rf "$TMP"
}
trap _cleanup EXIT
at_exit() { _cleanups+=("$1"); }

ok() { echo "ok - $*"; }
not_ok() { echo "not ok - $*"; }
# check NAME CMD...: runs CMD, reports ok/not ok
check() {
	local name=$1; shift
	if "$@"; then ok "$name"; else not_ok "$name"; fi
}

# Fixture versions present, and the segment files of one version.
fixture_versions() { for d in "$TOP"/fixtures/*/; do [ -d "$d" ] && basename "$d"; done; }
fixture_segments() { ls "$TOP"/fixtures/"$1"/*/cdc_raw/CommitLog-*.log 2>/dev/null; }
