#!/usr/bin/env bash
# make test: install what is missing, build (release + ASan/UBSan), run every
# test, and close with "N passed, N failed".
#
# Tests are executables under tests/unit (cmocka, run under ASan/UBSan) and
# tests/e2e/tNNNN-*.sh (shell, TAP-style "ok"/"not ok" lines, real binary,
# real services). A test script that cannot start a service it needs says so
# and reports "not ok": nothing is skipped silently.
#
# Environment: TESTS="t01 t02" runs only the e2e scripts whose names start
# with one of those prefixes; SKIP_DEPS=1 skips the install step; LONG_TESTS=1
# also runs the scripts marked "# long-test:" (make migration runs t0700 so).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
start=$(date +%s)
log_dir=${TEST_LOG_DIR:-$top/build/test-logs}
rm -rf "$log_dir"; mkdir -p "$log_dir"
export CDCTAIL_TOP=$top TEST_LOG_DIR=$log_dir

pass=0; fail=0; failed_names=()
count() { # count TAP lines of one test's output file
	local f=$1 p n
	p=$(grep -c '^ok ' "$f" || true)
	n=$(grep -c '^not ok ' "$f" || true)
	pass=$((pass + p)); fail=$((fail + n))
	while IFS= read -r l; do failed_names+=("$l"); done < <(grep '^not ok ' "$f" || true)
}

if [ "${SKIP_DEPS:-0}" != 1 ]; then
	echo "== installing what is missing (scripts/deps.sh)"
	if ! scripts/deps.sh; then
		echo "FATAL: scripts/deps.sh could not install the build and test dependencies" >&2
		echo "0 passed, 1 failed"
		exit 1
	fi
fi

echo "== building"
if ! make -j2 cdctail asan >"$log_dir/build.log" 2>&1; then
	cat "$log_dir/build.log"
	echo "not ok - build" >"$log_dir/build.tap"
	count "$log_dir/build.tap"
	echo "$pass passed, $fail failed"
	exit 1
fi
echo "ok - build (release and ASan/UBSan)" | tee "$log_dir/build.tap"
count "$log_dir/build.tap"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "== unit tests (cmocka, ASan/UBSan)"
for t in build/asan/test_*; do
	[ -x "$t" ] || continue
	name=$(basename "$t")
	out="$log_dir/$name.log"
	CMOCKA_MESSAGE_OUTPUT=STDOUT "$t" >"$out" 2>&1
	rc=$?
	# one TAP line per cmocka test case
	sed -n -e 's/^\[       OK \] \(.*\)$/ok - '"$name"': \1/p' \
	       -e 's/^\[  FAILED  \] \(.*\)$/not ok - '"$name"': \1/p' "$out" |
		grep -v 'test(s), listed below' | awk '!seen[$0]++' > "$out.tap"
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$out.tap"; then
		echo "not ok - $name exited $rc (crash or sanitizer report, see $out)" >>"$out.tap"
	fi
	[ $rc -ne 0 ] && tail -30 "$out"
	cat "$out.tap"
	count "$out.tap"
done

echo "== end-to-end tests"
for t in tests/e2e/t[0-9]*.sh; do
	[ -x "$t" ] || continue
	name=$(basename "$t" .sh)
	if [ -n "${TESTS:-}" ]; then
		sel=0; for p in $TESTS; do case $name in "$p"*) sel=1;; esac; done
		[ $sel = 1 ] || continue
	fi
	# long tests (a "# long-test:" line) have their own make target
	if [ -z "${LONG_TESTS:-}" ] && grep -q '^# long-test:' "$t"; then
		echo "-- $name: not run by make test (long; $(sed -n 's/^# long-test: *//p' "$t" | head -1))"
		continue
	fi
	echo "-- $name"
	out="$log_dir/$name.log"
	t0=$(date +%s)
	"$t" >"$out" 2>&1
	rc=$?
	grep -E '^(ok|not ok) ' "$out" >"$out.tap" || true
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$out.tap"; then
		echo "not ok - $name exited $rc without reporting a failure" >>"$out.tap"
	fi
	if ! grep -qE '^(ok|not ok) ' "$out.tap"; then
		echo "not ok - $name reported no result" >>"$out.tap"
	fi
	cat "$out.tap"
	grep -q '^not ok' "$out.tap" && { echo "   (log: $out)"; grep -vE '^(ok|not ok) ' "$out" | tail -25; }
	echo "   ($(( $(date +%s) - t0 )) s)"
	count "$out.tap"
done

echo
if [ $fail -gt 0 ]; then
	echo "Failed:"
	printf '  %s\n' "${failed_names[@]}"
fi
echo "make test took $(( $(date +%s) - start )) s"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
