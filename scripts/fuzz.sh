#!/usr/bin/env bash
# scripts/fuzz.sh SECONDS TARGET... - runs each libFuzzer target for SECONDS
# on its corpus (tests/fuzz/corpus/<name>/, seeded from the fixtures), keeping
# new inputs in build/fuzz/corpus-<name>/ and any crash in build/fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=$1; shift
for bin in "$@"; do
	name=$(basename "$bin"); name=${name#fuzz_}
	seed=tests/fuzz/corpus/$name
	work=build/fuzz/corpus-$name
	mkdir -p "$work" "$seed"
	echo "== fuzzing $name for $secs s (seed corpus $seed, new inputs in $work)"
	"$bin" -max_total_time="$secs" -max_len=1200000 -rss_limit_mb=2048 -timeout=20 \
		-artifact_prefix=build/fuzz/"$name"- -print_final_stats=1 "$work" "$seed"
done
