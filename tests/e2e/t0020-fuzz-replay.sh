#!/usr/bin/env bash
# The saved fuzz corpora replay under ASan/UBSan without a fault. Every
# replay_NAME has the product's CRC checks on; replay_segment-crc-bypass
# replays the segment corpus once more with them bypassed, as libFuzzer ran it
# (CDCTAIL_FUZZ, include/segment.h).
. "$(dirname "$0")/lib.sh"

for bin in build/asan/replay_*; do
	name=${bin#build/asan/replay_}
	dir=tests/fuzz/corpus/${name%-crc-bypass}
	if [ ! -d "$dir" ] || [ -z "$(ls -A "$dir")" ]; then
		not_ok "fuzz corpus $dir is missing or empty"
		continue
	fi
	if "$bin" "$dir"/* >"$TMP/out" 2>&1; then
		ok "fuzz replay $name ($(ls "$dir" | wc -l) inputs)"
	else
		tail -20 "$TMP/out"
		not_ok "fuzz replay $name"
	fi
done
