/* fuzz_cdcspace.c - libFuzzer target for the cassandra.yaml reader of
 * cdc_total_space (cdcspace.h): any text, no crash, and a value found is
 * the size of a line that names it. */
#include <stddef.h>
#include <stdint.h>

#include "cdcspace.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CDC_ERRSTR_SIZE];
	uint64_t b = 0;
	int r = cdc_space_parse_yaml((const char *)data, size, &b, err, sizeof(err));

	if (r == 0 && b == 0)
		__builtin_trap(); /* 0 means "the default": never returned as found */
	return 0;
}
