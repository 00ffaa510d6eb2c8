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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static cdc_schema *schema;
static cdc_decoder *dec;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *files[] = { "fixtures/5.0/types/schema.json", "fixtures/5.0/seed/schema.json" };
	char err[CDC_ERRSTR_SIZE];
	size_t i;

	(void)argc;
	(void)argv;
	schema = cdc_schema_new();
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (cdc_schema_load_file(schema, files[i], err, sizeof(err)) != 0)
			abort(); /* run from the repository root */
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
