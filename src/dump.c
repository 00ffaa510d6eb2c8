/* dump.c - `cdctail dump`. */
#include "dump.h"
#include "err.h"
#include "mutation.h"
#include "segment.h"

#include <inttypes.h>
#include <string.h>

static void put_hex(FILE *out, const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		fprintf(out, "%02x", p[i]);
}

static int is_index_name(const char *path)
{
	size_t n = strlen(path);

	return n > 8 && strcmp(path + n - 8, "_cdc.idx") == 0;
}

/* Lists a `_cdc.idx` file. */
static int dump_index(FILE *out, FILE *err, const char *path)
{
	char errstr[CDC_ERRSTR_SIZE];
	cdc_index idx;

	if (cdc_index_read(path, &idx, errstr, sizeof(errstr)) != 0) {
		fprintf(err, "cdctail: %s\n", errstr);
		return -1;
	}
	fprintf(out, "index %s offset=%" PRIu64 " completed=%s\n", path, idx.offset,
		idx.completed ? "yes" : "no");
	return 0;
}

static void dump_entry(FILE *out, const cdc_segment *seg, const cdc_entry_info *e,
		       const cdc_dump_opts *opts)
{
	char errstr[CDC_ERRSTR_SIZE], uuid[37];
	cdc_mutation_head h;

	fprintf(out, "    entry offset=%" PRIu64 " end=%" PRIu64 " size=%" PRIu32 " crc=%08" PRIx32,
		e->offset, e->end, e->size, e->crc);
	if (cdc_mutation_peek(e->body, e->size, cdc_segment_descriptor(seg)->messaging_version,
			      &h, errstr, sizeof(errstr)) == 0) {
		cdc_uuid_format(h.table_id, uuid);
		fprintf(out, " updates=%" PRIu32 " table=%s key=", h.updates, uuid);
		put_hex(out, h.key, h.key_len);
	} else {
		fprintf(out, " undecodable=\"%s\"", errstr);
	}
	fputc('\n', out);
	if (opts->hex_bodies) {
		fputs("      body=", out);
		put_hex(out, e->body, e->size);
		fputc('\n', out);
	}
}

int cdc_dump_file(FILE *out, FILE *err, const char *path, const cdc_dump_opts *opts,
		  cdc_dump_stats *stats)
{
	char errstr[CDC_ERRSTR_SIZE], idxpath[4096];
	const cdc_descriptor *d;
	cdc_segment *seg;
	cdc_segment_end end;
	cdc_index idx;
	cdc_item it;
	unsigned long entries = 0, errors = 0;
	int r, rc = 0;

	if (is_index_name(path))
		return dump_index(out, err, path);
	if (cdc_segment_open(&seg, path, errstr, sizeof(errstr)) != 0) {
		fprintf(out, "segment %s error=\"%s\"\n", path, errstr);
		fprintf(err, "cdctail: %s\n", errstr);
		stats->errors++;
		return -1;
	}
	stats->segments++;
	d = cdc_segment_descriptor(seg);
	fprintf(out, "segment %s version=%" PRId32 " messaging=%" PRId32 " id=%" PRId64
		" compression=%s header_len=%" PRIu32 " header_crc=%08" PRIx32 " params=%s\n",
		path, d->version, d->messaging_version, d->id, cdc_compression_name(d->compression),
		d->header_len, d->header_crc, d->params);
	if (opts->use_index && cdc_index_path_for(path, idxpath, sizeof(idxpath)) == 0) {
		if (cdc_index_read(idxpath, &idx, errstr, sizeof(errstr)) == 0) {
			fprintf(out, "  index offset=%" PRIu64 " completed=%s\n", idx.offset,
				idx.completed ? "yes" : "no");
			cdc_segment_set_limit(seg, idx.offset);
		} else {
			fprintf(out, "  index none (%s)\n", errstr);
		}
	}
	while ((r = cdc_segment_next(seg, &it, errstr, sizeof(errstr))) == 1) {
		switch (it.kind) {
		case CDC_ITEM_SECTION:
			stats->sections++;
			fprintf(out, "  section file=%" PRIu64 " next=%" PRIu64 " logical=%" PRIu64
				"..%" PRIu64 " stored=%" PRIu32 " crc=%08" PRIx32 "\n",
				it.section.file_offset, it.section.file_end, it.section.logical_start,
				it.section.logical_end, it.section.stored_len, it.section.crc);
			break;
		case CDC_ITEM_ENTRY:
			entries++;
			if (opts->entries)
				dump_entry(out, seg, &it.entry, opts);
			break;
		case CDC_ITEM_ERROR:
			errors++;
			fprintf(out, "    error offset=%" PRIu64 " \"%s\"\n", it.entry.offset, errstr);
			fprintf(err, "cdctail: %s\n", errstr);
			rc = 1;
			break;
		}
	}
	end = cdc_segment_end_state(seg);
	if (r < 0) {
		errors++;
		fprintf(out, "  error \"%s\"\n", errstr);
		fprintf(err, "cdctail: %s\n", errstr);
		rc = -1;
	} else if (end.reason == CDC_END_TRUNCATED) {
		fprintf(err, "cdctail: warning: %s\n", errstr);
	}
	fprintf(out, "  end reason=%s file=%" PRIu64 " logical=%" PRIu64 " entries=%lu errors=%lu\n",
		cdc_end_reason_name(end.reason), end.file_offset, end.logical_offset, entries, errors);
	stats->entries += entries;
	stats->errors += errors;
	cdc_segment_destroy(seg);
	return rc;
}
