/* fuzz_snapshot_row.c - libFuzzer target for the rows of `cdctail snapshot`:
 * a CQL result row (its cells as the native protocol frames them: [int
 * length][bytes], length -1 for null) of a table of the `types` and `seed`
 * fixture schemas, turned into a row with snapshot_row.h (collections,
 * UDTs, WRITETIME/TTL lists) and rendered as events with their CQL. The
 * first byte picks the table, the second whether WRITETIME/TTL are lists
 * per element (5.0) and which row (static or clustering). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "err.h"
#include "event.h"
#include "snapshot_row.h"
#include "fuzz_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static cdc_schema *schema;
static cdc_snaprow *rb;
static cdc_eventer *ev;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	schema = fuzz_schema_load();
	rb = cdc_snaprow_new();
	ev = cdc_eventer_new();
	cdc_eventer_set_snapshot(ev, 1796284862123000);
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
	static const cdc_snaprow_clock clock = { 1796284862122999, 1796284862 };
	cdc_event_source src = { .node = "fuzz", .cassandra = "5.0.9" };
	cdc_cql_value cells[512];
	char err[CDC_ERRSTR_SIZE];
	const cdc_table *t;
	cdc_mutation m;
	size_t off = 2;
	int n = 0, per_element, is_static;

	if (!schema)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size < 2 || !cdc_schema_table_count(schema))
		return 0;
	t = cdc_schema_table_at(schema, data[0] % cdc_schema_table_count(schema));
	per_element = data[1] & 1;
	is_static = (data[1] >> 1) & 1;
	while (off + 4 <= size && n < 512) {
		int32_t len = (int32_t)((uint32_t)data[off] << 24 | (uint32_t)data[off + 1] << 16 |
					(uint32_t)data[off + 2] << 8 | data[off + 3]);

		off += 4;
		if (len < 0) {
			cells[n].p = NULL;
			cells[n++].len = 0;
			continue;
		}
		if ((size_t)len > size - off)
			break;
		cells[n].p = data + off;
		cells[n++].len = (size_t)len;
		off += (size_t)len;
	}
	/* a short row is padded with nulls (bit 2: left as it is) */
	if (!(data[1] & 4))
		while (n < cdc_snaprow_ncols(t, per_element) && n < 512) {
			cells[n].p = NULL;
			cells[n++].len = 0;
		}
	if (cdc_snaprow_build(rb, t, per_element, cells, n, is_static, &clock, &m, err, sizeof(err)) == 1)
		cdc_events_emit(ev, &m, &src, sink, NULL, err, sizeof(err));
	return 0;
}
