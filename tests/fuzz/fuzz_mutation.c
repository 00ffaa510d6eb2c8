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

/* Adds fuzz.wide (id 11111111-1111-1111-1111-111111111111): an int key, an
 * int clustering column and 70 int columns w00..w69, so that column subsets
 * take their 64-or-more encoding (seed: corpus/mutation/wide-*). */
static int load_wide(cdc_schema *s)
{
	char json[8192], err[CDC_ERRSTR_SIZE];
	int n, i;

	n = snprintf(json, sizeof(json),
		     "{\"format\":\"cdctail-schema/1\",\"tables\":[{\"keyspace\":\"fuzz\",\"table\":\"wide\","
		     "\"id\":\"11111111-1111-1111-1111-111111111111\",\"cdc\":true,\"columns\":["
		     "{\"name\":\"k\",\"kind\":\"partition_key\",\"position\":0,\"clustering_order\":\"none\",\"type\":\"int\"},"
		     "{\"name\":\"c\",\"kind\":\"clustering\",\"position\":0,\"clustering_order\":\"asc\",\"type\":\"int\"}");
	for (i = 0; i < 70; i++)
		n += snprintf(json + n, sizeof(json) - (size_t)n,
			      ",{\"name\":\"w%02d\",\"kind\":\"regular\",\"position\":-1,\"clustering_order\":\"none\",\"type\":\"int\"}",
			      i);
	n += snprintf(json + n, sizeof(json) - (size_t)n, "]}]}");
	return cdc_schema_load_json(s, json, (size_t)n, "fuzz-wide", err, sizeof(err));
}

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
	if (load_wide(schema) != 0)
		abort();
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
