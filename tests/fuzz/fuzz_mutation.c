/* fuzz_mutation.c - libFuzzer target for the mutation decoder, with the
 * schema of the `types` and `seed` fixtures (every CQL type, collections,
 * UDTs, statics, counters, composite keys, DESC clustering). The input is one
 * entry body; the first byte picks the messaging version. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "mutation.h"
#include "schema.h"
#include "fuzz_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static cdc_schema *schema;
static cdc_decoder *dec;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	schema = fuzz_schema_load();
	dec = cdc_decoder_new(schema);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int versions[] = { 10, 12, 13 };
	char err[CDC_ERRSTR_SIZE];
	cdc_mutation m;

	if (!schema)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size < 1)
		return 0;
	cdc_decode(dec, data + 1, size - 1, versions[data[0] % 3], &m, err, sizeof(err));
	return 0;
}
