/* fuzz_schema_stream.c - libFuzzer target for the table definitions read
 * from schema entries (schema_stream.h), with the `ddl` fixture's schema
 * (Cassandra 5.0's system_schema tables included). The first byte picks
 * what the rest is: below 0x80, an entry body (its value mod 3 picks the
 * messaging version) decoded and learnt from; from 0x80, checkpoint note
 * text loaded. Either way every definition held is then written out as a
 * document, loaded as a schema and saved as notes again.
 * Seeds: the fixture's schema entries, written by
 * `CDCTAIL_SEEDS=tests/fuzz/corpus/schema_stream build/asan/test_schema_stream`. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mutation.h"
#include "schema.h"
#include "schema_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static cdc_schema *schema;
static cdc_decoder *dec;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[CDC_ERRSTR_SIZE];

	(void)argc;
	(void)argv;
	schema = cdc_schema_new();
	if (!schema || cdc_schema_load_file(schema, "fixtures/5.0/ddl/schema.json", err, sizeof(err)) != 0)
		abort();
	dec = cdc_decoder_new(schema);
	return 0;
}

/* Writes out, loads and saves every definition d holds. */
static void use_all(cdc_stream_defs *d, const uint8_t *ids, size_t nids)
{
	cdc_buf notes = CDC_BUF_INIT;
	size_t i;

	for (i = 0; i < nids; i++) {
		cdc_buf doc = CDC_BUF_INIT;
		char err[CDC_ERRSTR_SIZE];

		if (cdc_stream_defs_doc(d, ids + 16 * i, &doc) == 1) {
			cdc_schema *s = cdc_schema_new();

			cdc_schema_load_json(s, doc.p, doc.len, "fuzz", err, sizeof(err));
			cdc_schema_destroy(s);
		}
		cdc_buf_free(&doc);
	}
	cdc_stream_defs_save(d, &notes);
	cdc_buf_free(&notes);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int versions[] = { 10, 12, 13 };
	char err[CDC_ERRSTR_SIZE];
	cdc_stream_defs *d;
	cdc_mutation m;
	uint8_t ids[16 * 8];
	size_t nids = 0;

	if (!schema)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size < 1 || !(d = cdc_stream_defs_new()))
		return 0;
	if (data[0] < 0x80) {
		if (cdc_decode(dec, data + 1, size - 1, versions[data[0] % 3], &m, err, sizeof(err)) == 0) {
			uint32_t i, r;

			cdc_stream_defs_entry(d, &m);
			/* the ids the entry's tables rows carry */
			for (i = 0; i < m.nupdates; i++)
				for (r = 0; r < m.updates[i].nrows; r++) {
					const cdc_row *row = &m.rows[m.updates[i].row_first + r];
					uint32_t k;

					for (k = 0; k < row->ncells && nids < 8; k++) {
						const cdc_cell *c = &m.cells[row->cell_first + k];

						if (c->value.len == 16 && strcmp(c->col->name, "id") == 0)
							memcpy(ids + 16 * nids++, c->value.p, 16);
					}
				}
		}
	} else {
		char *text = malloc(size);

		if (text) {
			memcpy(text, data + 1, size - 1);
			text[size - 1] = '\0';
			cdc_stream_defs_load(d, text, err, sizeof(err));
			free(text);
		}
	}
	use_all(d, ids, nids);
	cdc_stream_defs_prune(d, schema);
	cdc_stream_defs_destroy(d);
	return 0;
}
