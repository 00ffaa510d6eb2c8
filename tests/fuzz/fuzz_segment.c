/* fuzz_segment.c - libFuzzer target for the container parser: descriptor,
 * sync sections, decompression, entry framing, _cdc.idx text, and what is
 * read of each entry body: the schema-free head `cdctail dump` prints and a
 * full decode with the fuzz schema (tests/fuzz/fuzz_schema.h) plus every
 * fixture's schema.json, so that the real bodies of every version in the
 * seeds decode past the table lookup.
 *
 * The input is a whole segment file (seeds: real segments of descriptor
 * versions 6, 7 and 8 cut from the fixtures). Its last byte steers the run,
 * so that the segment's own bytes stay what a real file holds:
 *   bit 0     read only up to a limit taken from the two bytes before it
 *             (the _cdc.idx path);
 *   bit 1     in fuzz builds (CDCTAIL_FUZZ), ignore CRC mismatches so that
 *             mutated inputs reach the code behind the checks; the corpus
 *             replay in make test runs every input both ways
 *             (build/asan/replay_segment with the checks,
 *             build/asan/replay_segment-crc-bypass without);
 *   bits 2-3  the messaging version entry bodies are read with: 10 (what
 *             3.0 and 3.11 write in commitlog version 6), 11 (3.11's
 *             VERSION_3014, which no commitlog uses), 12 (4.0, 4.1), 13
 *             (5.0): a body of one version read as another must fail
 *             cleanly;
 *   bits 4-7  0xA: read-ahead (include/segment.h) on the segment copied into a
 *             zero-filled 1 MiB buffer, as a pre-sized memory-mapped file:
 *             first with the bytes from a cut (taken from the three bytes
 *             before the limit's) zeroed, as if not written yet, then with
 *             them written and a refresh, so that resuming at a pending entry
 *             or an open section runs on arbitrary bytes. */
#include <glob.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "mutation.h"
#include "schema.h"
#include "segment.h"
#include "fuzz_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static cdc_schema *schema;
static cdc_decoder *dec;
static uint8_t *live; /* the 1 MiB "file" of bit 4 */

#define LIVE_SIZE (1u << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char err[CDC_ERRSTR_SIZE];
	glob_t g;
	size_t i;

	schema = fuzz_schema_load();
	/* tables of the same name differ by id between the fixtures' nodes */
	if (glob("fixtures/*/*/schema.json", 0, NULL, &g) == 0) {
		for (i = 0; i < g.gl_pathc; i++)
			cdc_schema_load_file(schema, g.gl_pathv[i], err, sizeof(err));
		globfree(&g);
	}
	dec = cdc_decoder_new(schema);
	return 0;
}

/* Reads everything there is now: entries are peeked and decoded. */
static int drain(cdc_segment *s, int mv, int n)
{
	char err[CDC_ERRSTR_SIZE];
	cdc_mutation_head h;
	cdc_mutation m;
	cdc_item it;

	while (cdc_segment_next(s, &it, err, sizeof(err)) == 1 && n++ < 200000) {
		if (it.kind != CDC_ITEM_ENTRY)
			continue;
		cdc_mutation_peek(it.entry.body, it.entry.size, mv, &h, err, sizeof(err));
		cdc_decode(dec, it.entry.body, it.entry.size, mv, &m, err, sizeof(err));
	}
	return n;
}

/* High nibble 0xA: read-ahead over the input as a live 1 MiB file, written in two
 * steps. */
static int read_ahead_run(const uint8_t *data, size_t size, uint8_t ctl, int mv)
{
	char err[CDC_ERRSTR_SIZE];
	cdc_segment *s;
	size_t cut = ((size_t)data[size - 4] << 16 | (size_t)data[size - 5] << 8 | data[size - 6]) % size;
	int n;

	if (!live && !(live = calloc(1, LIVE_SIZE)))
		return 0;
	memset(live, 0, LIVE_SIZE);
	memcpy(live, data, cut);
	if (cdc_segment_open_mem(&s, "fuzz", live, LIVE_SIZE, err, sizeof(err)) != 0)
		return 0;
	cdc_segment_set_limit(s, (ctl & 1) ? ((uint64_t)data[size - 2] << 8 | data[size - 3]) : 0);
	cdc_segment_set_read_ahead(s, 1, err, sizeof(err));
	n = drain(s, mv, 0);
	memcpy(live + cut, data + cut, size - cut);
	cdc_segment_refresh(s, err, sizeof(err));
	n = drain(s, mv, n);
	cdc_segment_set_limit(s, CDC_NO_LIMIT);
	cdc_segment_refresh(s, err, sizeof(err));
	drain(s, mv, n);
	cdc_segment_destroy(s);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int versions[] = { 10, 11, 12, 13 };
	char err[CDC_ERRSTR_SIZE];
	cdc_segment *s;
	cdc_item it;
	cdc_index ix;
	cdc_mutation_head h;
	cdc_mutation m;
	uint8_t ctl = size ? data[size - 1] : 0;
	int n = 0, mv = versions[(ctl >> 2) & 3];

	if (!schema)
		LLVMFuzzerInitialize(NULL, NULL);
#ifdef CDCTAIL_FUZZ
	cdc_fuzz_ignore_crc = (ctl >> 1) & 1;
#endif
	cdc_index_parse((const char *)data, size < 64 ? size : 64, &ix, "fuzz_cdc.idx", err, sizeof(err));
	if ((ctl >> 4) == 0xA && size > 32 && size <= LIVE_SIZE)
		return read_ahead_run(data, size, ctl, mv);
	if (cdc_segment_open_mem(&s, "fuzz", data, size, err, sizeof(err)) != 0)
		return 0;
	if (size > 32 && (ctl & 1))
		cdc_segment_set_limit(s, (uint64_t)data[size - 2] << 8 | data[size - 3]);
	while (cdc_segment_next(s, &it, err, sizeof(err)) == 1 && n++ < 100000) {
		if (it.kind != CDC_ITEM_ENTRY)
			continue;
		cdc_mutation_peek(it.entry.body, it.entry.size, mv, &h, err, sizeof(err));
		cdc_decode(dec, it.entry.body, it.entry.size, mv, &m, err, sizeof(err));
	}
	cdc_segment_refresh(s, err, sizeof(err));
	while (cdc_segment_next(s, &it, err, sizeof(err)) == 1 && n++ < 200000)
		;
	cdc_segment_destroy(s);
	return 0;
}
