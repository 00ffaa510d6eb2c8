/* fuzz_event.c - libFuzzer target for the event layer: an entry body is
 * decoded with the `types` and `seed` fixture schemas and every change is
 * rendered as JSON with its CQL (value rendering of every CQL type). The
 * first byte picks the messaging version. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "event.h"
#include "mutation.h"
#include "schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static cdc_schema *schema;
static cdc_decoder *dec;
static cdc_eventer *ev;

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
	ev = cdc_eventer_new();
	return 0;
}

static int sink(void *opaque, const cdc_update *u, const char *json, size_t len)
{
	(void)opaque;
	(void)u;
	(void)json;
	(void)len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int versions[] = { 10, 12, 13 };
	cdc_event_source src = { "fuzz", 1, 0, 7 };
	char err[CDC_ERRSTR_SIZE];
	cdc_mutation m;

	if (!schema)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size < 1)
		return 0;
	if (cdc_decode(dec, data + 1, size - 1, versions[data[0] % 3], &m, err, sizeof(err)) == 0)
		cdc_events_emit(ev, &m, &src, sink, NULL, err, sizeof(err));
	return 0;
}
