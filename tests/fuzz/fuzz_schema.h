/* fuzz_schema.h - the schema the decoder-level fuzz targets decode with:
 * the `types` and `seed` fixture schemas (every CQL type, collections, UDTs,
 * statics, counters, composite keys, DESC clustering) and fuzz.wide. */
#ifndef CDCTAIL_FUZZ_SCHEMA_H
#define CDCTAIL_FUZZ_SCHEMA_H

#include <stdio.h>
#include <stdlib.h>

#include "err.h"
#include "schema.h"

/* Adds fuzz.wide (id 11111111-1111-1111-1111-111111111111): an int key, an
 * int clustering column and 70 int columns w00..w69, so that column subsets
 * take their 64-or-more encoding (seed: corpus/mutation/wide-*). */
static inline int load_wide(cdc_schema *s)
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

/* Loads it all (run from the repository root); aborts if it cannot. */
static inline cdc_schema *fuzz_schema_load(void)
{
	static const char *files[] = { "fixtures/5.0/types/schema.json", "fixtures/5.0/seed/schema.json" };
	char err[CDC_ERRSTR_SIZE];
	cdc_schema *s = cdc_schema_new();
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (!s || cdc_schema_load_file(s, files[i], err, sizeof(err)) != 0)
			abort();
	if (load_wide(s) != 0)
		abort();
	return s;
}

#endif
