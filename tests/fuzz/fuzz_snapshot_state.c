/* fuzz_snapshot_state.c - libFuzzer target for the state file of `cdctail
 * snapshot`: what parses must format back to a text that parses to the same
 * state (abort otherwise). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "snapshot_state.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cdc_snap_state a, b;
	cdc_buf text = CDC_BUF_INIT;
	char err[CDC_ERRSTR_SIZE];
	size_t i;

	cdc_snap_state_init(&a);
	cdc_snap_state_init(&b);
	if (cdc_snap_state_parse(&a, (const char *)data, size, "fuzz", err, sizeof(err)) == 0) {
		cdc_snap_state_format(&a, &text);
		if (text.oom || cdc_snap_state_parse(&b, text.p, text.len, "again", err, sizeof(err)) != 0)
			abort();
		if (a.start_us != b.start_us || a.output_bytes != b.output_bytes || a.ntables != b.ntables)
			abort();
		for (i = 0; i < a.ntables; i++)
			if (strcmp(a.tables[i].keyspace, b.tables[i].keyspace) != 0 ||
			    strcmp(a.tables[i].table, b.tables[i].table) != 0 || a.tables[i].done != b.tables[i].done ||
			    (!a.tables[i].done && a.tables[i].token != b.tables[i].token))
				abort();
		cdc_snap_state_table(&a, "ks", "added");
	}
	cdc_buf_free(&text);
	cdc_snap_state_free(&a);
	cdc_snap_state_free(&b);
	return 0;
}
