/* dump.c - `cdctail dump`. */
#include "dump.h"
#include "err.h"
#include "log.h"
#include "mutation.h"
#include "segment.h"
#include "schema.h"

#include <stdlib.h>

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

static void put_del(FILE *out, const char *what, const cdc_deletion *d)
{
	fprintf(out, " %s ts=%" PRId64 " ldt=%" PRId64, what, d->ts, d->ldt);
}

static void put_values(FILE *out, const cdc_value *v, uint32_t n)
{
	uint32_t i;

	fputc('(', out);
	for (i = 0; i < n; i++) {
		if (i)
			fputc(',', out);
		if (v[i].null)
			fputs("null", out);
		else
			put_hex(out, v[i].p, v[i].len);
	}
	fputc(')', out);
}

static const char *rt_kind_name(int k)
{
	static const char *names[] = { "EXCL_END_BOUND", "INCL_START_BOUND", "EXCL_END_INCL_START_BOUNDARY",
				       "STATIC_CLUSTERING", "CLUSTERING", "INCL_END_EXCL_START_BOUNDARY",
				       "INCL_END_BOUND", "EXCL_START_BOUND" };

	return k >= 0 && k < 8 ? names[k] : "?";
}

/* The canonical text of a decoded entry: one line per item, values in hex. */
static void dump_decoded(FILE *out, const cdc_mutation *m)
{
	uint32_t u, i, j;

	for (u = 0; u < m->nupdates; u++) {
		const cdc_update *up = &m->updates[u];

		fprintf(out, "      update %s.%s cdc=%d key=", up->table->keyspace, up->table->name, up->cdc);
		for (i = 0; i < up->nkc; i++) {
			if (i)
				fputc(':', out);
			put_hex(out, m->values[up->kc_first + i].p, m->values[up->kc_first + i].len);
		}
		fputc('\n', out);
		if (up->pdel.ts != CDC_TS_NONE) {
			fputs("        partition", out);
			put_del(out, "deletion", &up->pdel);
			fputc('\n', out);
		}
		for (i = 0; i < up->nrows; i++) {
			const cdc_row *r = &m->rows[up->row_first + i];

			fputs("        row ", out);
			if (r->is_static)
				fputs("static", out);
			else
				put_values(out, m->values + r->ck_first, r->nck);
			if (r->lts != CDC_TS_NONE) {
				fprintf(out, " liveness ts=%" PRId64, r->lts);
				if (r->lttl)
					fprintf(out, " ttl=%" PRId32 " expires=%" PRId64, r->lttl, r->lldt);
			}
			if (r->del.ts != CDC_TS_NONE)
				put_del(out, r->shadowable ? "shadowable_deletion" : "deletion", &r->del);
			fputc('\n', out);
			for (j = 0; j < r->ncdel; j++) {
				const cdc_complex_deletion *cd = &m->cdels[r->cdel_first + j];

				fprintf(out, "          complex_deletion %s ts=%" PRId64 " ldt=%" PRId64, cd->col->name,
					cd->del.ts, cd->del.ldt);
				fputc('\n', out);
			}
			for (j = 0; j < r->ncells; j++) {
				const cdc_cell *c = &m->cells[r->cell_first + j];

				fprintf(out, "          cell %s ts=%" PRId64, c->col->name, c->ts);
				if (c->expiring)
					fprintf(out, " ttl=%" PRId32 " expires=%" PRId64, c->ttl, c->ldt);
				if (c->deleted)
					fprintf(out, " deleted ldt=%" PRId64, c->ldt);
				if (c->has_path) {
					fputs(" path=", out);
					put_hex(out, c->path.p, c->path.len);
				}
				fputs(" value=", out);
				put_hex(out, c->value.p, c->value.len);
				fputc('\n', out);
			}
		}
		for (i = 0; i < up->nrt; i++) {
			const cdc_rt_marker *rt = &m->rts[up->rt_first + i];

			fprintf(out, "        marker %s ", rt_kind_name(rt->kind));
			put_values(out, m->values + rt->v_first, rt->nv);
			put_del(out, "deletion", &rt->del);
			if (rt->del2.ts != CDC_TS_NONE)
				put_del(out, "start_deletion", &rt->del2);
			fputc('\n', out);
		}
	}
}

/* The listing of an entry the container layer refused (a CDC_ITEM_ERROR that
 * is not a section's): where it is, what was checked and with what result,
 * then the error line. A compressed section that does not decompress is
 * listed as a section marked bad. */
static void dump_bad_item(FILE *out, const cdc_entry_info *e, const cdc_dump_opts *opts,
			  const char *errstr)
{
	switch (e->fault) {
	case CDC_FAULT_SECTION:
		fprintf(out, "  section file=%" PRIu64 " logical=%" PRIu64 "..%" PRIu64
			" crc=ok bad=decompression\n", e->section_offset, e->offset, e->end);
		break;
	case CDC_FAULT_BODY_CRC:
		fprintf(out, "    entry offset=%" PRIu64 " end=%" PRIu64 " size=%" PRIu32
			" size_crc=ok crc=BAD stored=%08" PRIx32 " computed=%08" PRIx32 "\n",
			e->offset, e->end, e->size, e->crc, e->computed_crc);
		if (opts->hex_bodies && e->body) {
			fputs("      body=", out);
			put_hex(out, e->body, e->size);
			fputc('\n', out);
		}
		break;
	case CDC_FAULT_SIZE_CRC:
		fprintf(out, "    entry offset=%" PRIu64 " size=%" PRIu32 " size_crc=BAD stored=%08" PRIx32
			" computed=%08" PRIx32 " crc=unchecked\n",
			e->offset, e->size, e->size_crc, e->computed_size_crc);
		break;
	case CDC_FAULT_PAST_END:
		fprintf(out, "    entry offset=%" PRIu64 " size=%" PRIu32
			" size_crc=ok crc=unchecked bad=past-section-end\n", e->offset, e->size);
		break;
	case CDC_FAULT_SIZE:
		fprintf(out, "    entry offset=%" PRIu64 " size=%" PRIu32
			" size_crc=unchecked crc=unchecked bad=size\n", e->offset, e->size);
		break;
	case CDC_FAULT_SHORT:
		fprintf(out, "    entry offset=%" PRIu64 " size=%" PRIu32
			" size_crc=unchecked crc=unchecked bad=header-past-section-end\n", e->offset, e->size);
		break;
	case CDC_FAULT_NONE:
		break;
	}
	fprintf(out, "%serror offset=%" PRIu64 " \"%s\"\n", e->fault == CDC_FAULT_SECTION ? "  " : "    ",
		e->offset, errstr);
}

/* The sync marker reading stopped at, when it could not be used. */
static void dump_bad_marker(FILE *out, const cdc_segment_end *end)
{
	if (!end->bad_marker)
		return;
	if (end->marker_crc != end->marker_computed_crc)
		fprintf(out, "  section file=%" PRIu64 " next=%" PRIu32 " crc=BAD stored=%08" PRIx32
			" computed=%08" PRIx32 "\n", end->file_offset, end->marker_next, end->marker_crc,
			end->marker_computed_crc);
	else
		fprintf(out, "  section file=%" PRIu64 " next=%" PRIu32 " crc=ok bad=%s\n", end->file_offset,
			end->marker_next, end->reason == CDC_END_TRUNCATED ? "next-past-end-of-file" : "next-before-marker");
}

static void dump_entry(FILE *out, const cdc_segment *seg, const cdc_entry_info *e,
		       const cdc_dump_opts *opts, cdc_decoder *dec, unsigned long *errors)
{
	char errstr[CDC_ERRSTR_SIZE], uuid[37];
	cdc_mutation_head h;

	fprintf(out, "    entry offset=%" PRIu64 " end=%" PRIu64 " size=%" PRIu32 " size_crc=ok crc=ok%s",
		e->offset, e->end, e->size, e->ahead ? " ahead=yes" : "");
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
	if (dec) {
		cdc_mutation m;
		int rc = cdc_decode(dec, e->body, e->size, cdc_segment_descriptor(seg)->messaging_version,
				    &m, errstr, sizeof(errstr));

		if (rc == 0) {
			dump_decoded(out, &m);
		} else if (rc == CDC_DECODE_UNKNOWN_TABLE) {
			cdc_uuid_format(m.missing_table, uuid);
			fprintf(out, "      unknown-table %s\n", uuid);
		} else if (m.failed_table && m.failed_table->internal) {
			/* Cassandra's own tables, read with another release's schema */
			fprintf(out, "      internal-table-not-decoded \"%s\"\n", errstr);
		} else {
			fprintf(out, "      decode-error \"%s: entry at offset %" PRIu64 ": %s\"\n",
				cdc_segment_path(seg), e->offset, errstr);
			cdc_log(CDC_LOG_ERR, "%s: entry at offset %" PRIu64 ": %s", cdc_segment_path(seg), e->offset, errstr);
			(*errors)++;
		}
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
	cdc_decoder *dec = NULL;
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
	if (opts->schema && !(dec = cdc_decoder_new(opts->schema))) {
		cdc_segment_destroy(seg);
		return -1;
	}
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
			if (opts->read_ahead)
				cdc_segment_set_limit(seg, 0);
		}
	}
	if (opts->read_ahead && cdc_segment_set_read_ahead(seg, 1, errstr, sizeof(errstr)) != CDC_AHEAD_OK)
		fprintf(out, "  read-ahead off \"%s\"\n", errstr);
	while ((r = cdc_segment_next(seg, &it, errstr, sizeof(errstr))) == 1) {
		switch (it.kind) {
		case CDC_ITEM_SECTION:
			stats->sections++;
			if (it.section.open)
				fprintf(out, "  section file=%" PRIu64 " open logical=%" PRIu64 ".. ahead=yes\n",
					it.section.file_offset, it.section.logical_start);
			else
				fprintf(out, "  section file=%" PRIu64 " next=%" PRIu64 " logical=%" PRIu64
					"..%" PRIu64 " payload=%" PRIu32 " crc=ok%s\n",
					it.section.file_offset, it.section.file_end, it.section.logical_start,
					it.section.logical_end, it.section.stored_len,
					it.section.ahead ? " ahead=yes" : "");
			break;
		case CDC_ITEM_ENTRY:
			entries++;
			if (opts->entries)
				dump_entry(out, seg, &it.entry, opts, dec, &errors);
			break;
		case CDC_ITEM_ERROR:
			errors++;
			dump_bad_item(out, &it.entry, opts, errstr);
			fprintf(err, "cdctail: %s\n", errstr);
			rc = 1;
			break;
		}
	}
	end = cdc_segment_end_state(seg);
	dump_bad_marker(out, &end);
	if (r < 0) {
		errors++;
		fprintf(out, "  error \"%s\"\n", errstr);
		fprintf(err, "cdctail: %s\n", errstr);
		rc = -1;
	} else if (end.reason == CDC_END_TRUNCATED) {
		fprintf(err, "cdctail: warning: %s\n", errstr);
	}
	fprintf(out, "  end reason=%s file=%" PRIu64 " logical=%" PRIu64 " entries=%lu errors=%lu",
		cdc_end_reason_name(end.reason), end.file_offset, end.logical_offset, entries, errors);
	if (opts->read_ahead) {
		uint64_t counts[CDC_PENDING_KINDS], ahead;

		cdc_segment_ahead_stats(seg, counts, &ahead);
		fprintf(out, " ahead=%" PRIu64, ahead);
		if (end.reason == CDC_END_AHEAD)
			fprintf(out, " pending=%s", cdc_pending_name(end.pending));
	}
	fputc('\n', out);
	stats->entries += entries;
	stats->errors += errors;
	if (errors && rc == 0)
		rc = 1;
	cdc_decoder_destroy(dec);
	cdc_segment_destroy(seg);
	return rc;
}
