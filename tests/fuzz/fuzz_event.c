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
#include "fuzz_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static cdc_schema *schema;
static cdc_decoder *dec;
static cdc_eventer *ev;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	schema = fuzz_schema_load();
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
	cdc_event_source src = { "fuzz", 1, 0, 7, "5.0.9" };
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
