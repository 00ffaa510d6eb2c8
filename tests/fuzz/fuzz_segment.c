/* fuzz_segment.c - libFuzzer target for the container parser: descriptor,
 * sync sections, decompression, entry framing, _cdc.idx text, and the
 * schema-free mutation head read by `cdctail dump`. */
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mutation.h"
#include "segment.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CDC_ERRSTR_SIZE];
	cdc_segment *s;
	cdc_item it;
	cdc_index ix;
	cdc_mutation_head h;
	int n = 0;

	cdc_index_parse((const char *)data, size < 64 ? size : 64, &ix, "fuzz_cdc.idx", err, sizeof(err));
	if (cdc_segment_open_mem(&s, "fuzz", data, size, err, sizeof(err)) != 0)
		return 0;
	/* A limit taken from the input exercises the index path too. */
	if (size > 32 && (data[size - 1] & 1))
		cdc_segment_set_limit(s, (uint64_t)data[size - 2] << 8 | data[size - 3]);
	while (cdc_segment_next(s, &it, err, sizeof(err)) == 1 && n++ < 100000) {
		if (it.kind == CDC_ITEM_ENTRY)
			cdc_mutation_peek(it.entry.body, it.entry.size, 12, &h, err, sizeof(err));
	}
	cdc_segment_refresh(s, err, sizeof(err));
	while (cdc_segment_next(s, &it, err, sizeof(err)) == 1 && n++ < 200000)
		;
	cdc_segment_destroy(s);
	return 0;
}
