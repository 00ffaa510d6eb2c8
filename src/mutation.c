/* mutation.c - commitlog entry bodies: serialized Mutations. */
#include "mutation.h"
#include "err.h"
#include "vint.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int cdc_mutation_peek(const uint8_t *body, size_t len, int messaging_version,
		      cdc_mutation_head *out, char *errstr, size_t errlen)
{
	size_t off = 0, n;
	uint64_t v;

	(void)messaging_version; /* versions 10, 12 and 13 share this prefix */
	memset(out, 0, sizeof(*out));
	n = cdc_uvint(body, len, &v);
	if (n == 0)
		return cdc_error(errstr, errlen, "body offset 0: truncated update count");
	if (v == 0 || v > UINT32_MAX)
		return cdc_error(errstr, errlen, "body offset 0: update count %" PRIu64 " (expected 1 or more)", v);
	out->updates = (uint32_t)v;
	off += n;
	if (len - off < 16)
		return cdc_error(errstr, errlen, "body offset %zu: truncated table id", off);
	memcpy(out->table_id, body + off, 16);
	off += 16;
	n = cdc_uvint(body + off, len - off, &v);
	if (n == 0)
		return cdc_error(errstr, errlen, "body offset %zu: truncated partition key length", off);
	off += n;
	if (v > len - off)
		return cdc_error(errstr, errlen,
				 "body offset %zu: partition key of %" PRIu64 " bytes runs past the body (%zu left)",
				 off, v, len - off);
	out->key = body + off;
	out->key_len = (size_t)v;
	return 0;
}

void cdc_uuid_format(const uint8_t id[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	int i, o = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[id[i] >> 4];
		out[o++] = hex[id[i] & 15];
	}
	out[o] = '\0';
}

/* ---- full decoding ---- */

#include <stdlib.h>

#define TIMESTAMP_EPOCH 1442880000000000LL /* EncodingStats: 2015-09-22, microseconds */
#define DELETION_EPOCH 1442880000LL        /* seconds */

/* Partition flags (UnfilteredRowIteratorSerializer). */
#define P_IS_EMPTY 0x01
#define P_HAS_PARTITION_DELETION 0x04
#define P_HAS_STATIC_ROW 0x08
#define P_HAS_ROW_ESTIMATE 0x10
/* Row flags (UnfilteredSerializer). */
#define R_END_OF_PARTITION 0x01
#define R_IS_MARKER 0x02
#define R_HAS_TIMESTAMP 0x04
#define R_HAS_TTL 0x08
#define R_HAS_DELETION 0x10
#define R_HAS_ALL_COLUMNS 0x20
#define R_HAS_COMPLEX_DELETION 0x40
#define R_EXTENSION 0x80
#define RX_IS_STATIC 0x01
#define RX_HAS_SHADOWABLE_DELETION 0x02
/* Cell flags (Cell.Serializer). */
#define C_IS_DELETED 0x01
#define C_IS_EXPIRING 0x02
#define C_HAS_EMPTY_VALUE 0x04
#define C_USE_ROW_TIMESTAMP 0x08
#define C_USE_ROW_TTL 0x10

#define GROW_ARRAY(d, arr, n, cap) \
	((n) < (cap) ? 0 : grow_array((void **)&(arr), &(cap), sizeof(*(arr))))

struct cdc_decoder {
	const cdc_schema *schema;
	cdc_update *updates; size_t nupd, capupd;
	cdc_row *rows; size_t nrows, caprows;
	cdc_cell *cells; size_t ncells, capcells;
	cdc_complex_deletion *cdels; size_t ncdels, capcdels;
	cdc_rt_marker *rts; size_t nrts, caprts;
	cdc_value *vals; size_t nvals, capvals;
	const cdc_column **hdr; size_t nhdr, caphdr; /* statics then regulars of one update */
	uint8_t *present; size_t cappresent;          /* column subsets of 64+ columns */
	int skip_non_cdc;                             /* cdc_decoder_skip_non_cdc */
	cdc_cdc_flag_fn flag_fn;                      /* cdc_decoder_set_cdc_flag */
	void *flag_opaque;
	int single;                                   /* the entry has one update */
};

/* The reading state of one body. */
typedef struct rd {
	const uint8_t *p;
	size_t len, off;
	int msgver;
	const cdc_table *table;
	int64_t min_ts, min_ldt;
	int32_t min_ttl;
	char *errstr;
	size_t errlen;
} rd;

static int grow_array(void **p, size_t *cap, size_t elem)
{
	size_t want = *cap ? *cap * 2 : 64;
	void *np = realloc(*p, want * elem);

	if (!np)
		return -1;
	*p = np;
	*cap = want;
	return 0;
}

cdc_decoder *cdc_decoder_new(const cdc_schema *schema)
{
	cdc_decoder *d = calloc(1, sizeof(*d));

	if (d)
		d->schema = schema;
	return d;
}

void cdc_decoder_set_schema(cdc_decoder *d, const cdc_schema *schema)
{
	d->schema = schema;
}

void cdc_decoder_skip_non_cdc(cdc_decoder *d, int on)
{
	d->skip_non_cdc = on;
}

void cdc_decoder_set_cdc_flag(cdc_decoder *d, cdc_cdc_flag_fn fn, void *opaque)
{
	d->flag_fn = fn;
	d->flag_opaque = opaque;
}

void cdc_decoder_destroy(cdc_decoder *d)
{
	if (!d)
		return;
	free(d->updates);
	free(d->rows);
	free(d->cells);
	free(d->cdels);
	free(d->rts);
	free(d->vals);
	free(d->hdr);
	free(d->present);
	free(d);
}

/* Formats a decode error: body offset, table, what was expected. */
static int bad(rd *r, const char *what)
{
	return cdc_error(r->errstr, r->errlen, "body offset %zu%s%s%s%s: %s", r->off,
			 r->table ? " (table " : "", r->table ? r->table->keyspace : "",
			 r->table ? "." : "", r->table ? r->table->name : "", what);
}

static int rd_u8(rd *r, uint8_t *v)
{
	if (r->off >= r->len)
		return bad(r, "truncated: expected a flags byte");
	*v = r->p[r->off++];
	return 0;
}

static int rd_uv(rd *r, uint64_t *v)
{
	size_t n = cdc_uvint(r->p + r->off, r->len - r->off, v);

	if (n == 0)
		return bad(r, "truncated: expected a vint");
	r->off += n;
	return 0;
}

static int rd_bytes(rd *r, size_t n, cdc_value *v)
{
	if (n > r->len - r->off)
		return bad(r, "truncated: value runs past the end of the entry");
	v->p = r->p + r->off;
	v->len = (uint32_t)n;
	v->null = 0;
	r->off += n;
	return 0;
}

/* A length-prefixed byte string (writeWithVIntLength). */
static int rd_vbytes(rd *r, cdc_value *v)
{
	uint64_t n;

	if (rd_uv(r, &n) != 0)
		return -1;
	if (n > r->len - r->off)
		return bad(r, "length runs past the end of the entry");
	return rd_bytes(r, (size_t)n, v);
}

/* A value of type t as AbstractType.writeValue writes it. */
static int rd_value(rd *r, const cdc_type *t, cdc_value *v)
{
	if (t && t->fixed_len >= 0)
		return rd_bytes(r, (size_t)t->fixed_len, v);
	return rd_vbytes(r, v);
}

static int rd_ts(rd *r, int64_t *ts)
{
	uint64_t v;

	if (rd_uv(r, &v) != 0)
		return -1;
	*ts = (int64_t)((uint64_t)r->min_ts + v);
	return 0;
}

/* Local deletion times: 32-bit wrap through 4.x; unsigned 32-bit in 5.0's
 * messaging version 13 (CASSANDRA-14227). */
static int rd_ldt(rd *r, int64_t *ldt)
{
	uint64_t v;
	int32_t sum;

	if (rd_uv(r, &v) != 0)
		return -1;
	sum = (int32_t)((uint32_t)v + (uint32_t)r->min_ldt);
	*ldt = (r->msgver >= 13 && sum < 0 && sum != INT32_MAX) ? (int64_t)(uint32_t)sum : sum;
	return 0;
}

static int rd_ttl(rd *r, int32_t *ttl)
{
	uint64_t v;

	if (rd_uv(r, &v) != 0)
		return -1;
	*ttl = (int32_t)((uint32_t)v + (uint32_t)r->min_ttl);
	return 0;
}

static int rd_deletion(rd *r, cdc_deletion *d)
{
	return rd_ts(r, &d->ts) || rd_ldt(r, &d->ldt) ? -1 : 0;
}

/* A column list of the serialization header: vint count, then names. */
static int rd_columns(cdc_decoder *d, rd *r, size_t *count)
{
	uint64_t n, i;
	cdc_value name;
	int hint = 0;

	if (rd_uv(r, &n) != 0)
		return -1;
	if (n > r->len - r->off)
		return bad(r, "column count larger than the entry");
	for (i = 0; i < n; i++) {
		const cdc_column *c;

		if (rd_vbytes(r, &name) != 0)
			return -1;
		c = cdc_table_column_next(r->table, name.p, name.len, &hint);
		if (!c) {
			char msg[300];

			snprintf(msg, sizeof(msg), "column '%.*s' is not in the schema (nor dropped)",
				 (int)(name.len > 200 ? 200 : name.len), (const char *)name.p);
			bad(r, msg);
			return CDC_DECODE_STALE_SCHEMA;
		}
		if (GROW_ARRAY(d, d->hdr, d->nhdr, d->caphdr) != 0)
			return bad(r, "out of memory");
		d->hdr[d->nhdr++] = c;
	}
	*count = (size_t)n;
	return 0;
}

/* Clustering values (ClusteringPrefix values without size): a 2-bit
 * empty/null header per value, in blocks of 32, then the values. */
static int rd_clustering(cdc_decoder *d, rd *r, uint32_t n, uint32_t *first)
{
	uint32_t i = 0, lim;
	uint64_t header = 0;

	*first = (uint32_t)d->nvals;
	while (i < n) {
		if (rd_uv(r, &header) != 0)
			return -1;
		lim = n - i > 32 ? i + 32 : n;
		for (; i < lim; i++) {
			unsigned sh = (i * 2) % 64;
			cdc_value *v;

			if (GROW_ARRAY(d, d->vals, d->nvals, d->capvals) != 0)
				return bad(r, "out of memory");
			v = &d->vals[d->nvals++];
			memset(v, 0, sizeof(*v));
			if (header >> (sh + 1) & 1) {
				v->null = 1;
			} else if (header >> sh & 1) {
				v->p = r->p + r->off;
			} else if (i >= (uint32_t)r->table->nck) {
				return bad(r, "more clustering values than clustering columns");
			} else if (rd_value(r, r->table->ck[i]->type, v) != 0) {
				return -1;
			}
		}
	}
	return 0;
}

static int rd_cell(cdc_decoder *d, rd *r, const cdc_column *col, const cdc_row *row)
{
	cdc_cell *c;
	uint8_t f = 0;

	if (GROW_ARRAY(d, d->cells, d->ncells, d->capcells) != 0)
		return bad(r, "out of memory");
	c = &d->cells[d->ncells];
	memset(c, 0, sizeof(*c));
	c->col = col;
	if (rd_u8(r, &f) != 0)
		return -1;
	c->flags = f;
	c->deleted = !!(f & C_IS_DELETED);
	c->expiring = !!(f & C_IS_EXPIRING);
	if (f & C_USE_ROW_TIMESTAMP)
		c->ts = row->lts;
	else if (rd_ts(r, &c->ts) != 0)
		return -1;
	if (f & C_USE_ROW_TTL) {
		c->ttl = row->lttl;
		c->ldt = row->lldt;
	} else {
		if ((c->deleted || c->expiring) && rd_ldt(r, &c->ldt) != 0)
			return -1;
		if (c->expiring && rd_ttl(r, &c->ttl) != 0)
			return -1;
	}
	if (col->complex) {
		if (rd_vbytes(r, &c->path) != 0)
			return -1;
		c->has_path = 1;
		if (col->type->kind == CDC_T_UDT && (c->path.len != 2 || (c->path.p[0] << 8 | c->path.p[1]) >= col->type->nsub)) {
			char msg[300];

			snprintf(msg, sizeof(msg), "column '%s': a field of type %s.%s that the schema lacks (field %d of %d)",
				 col->name, col->type->udt_keyspace ? col->type->udt_keyspace : "?",
				 col->type->name ? col->type->name : "?",
				 c->path.len == 2 ? (c->path.p[0] << 8 | c->path.p[1]) : -1, col->type->nsub);
			bad(r, msg);
			return CDC_DECODE_STALE_SCHEMA;
		}
	}
	if (!(f & C_HAS_EMPTY_VALUE)) {
		/* Written with the column's own type (SerializationHeader.getType):
		 * collections and UDTs are variable-length, so complex cells always
		 * carry a length, whatever their element type. */
		if (rd_value(r, col->type, &c->value) != 0)
			return -1;
	} else {
		c->value.p = r->p + r->off;
	}
	/* Like Cassandra's reader (DeserializationHelper.isDropped), data of a
	 * column dropped after it was written is gone: parsed, not kept. */
	if (!(col->dropped_time && c->ts <= col->dropped_time))
		d->ncells++;
	return 0;
}

/* Row body after the clustering: liveness, deletion, columns, cells. */
static int rd_row_body(cdc_decoder *d, rd *r, cdc_row *row, size_t hdr_first, size_t hdr_count)
{
	uint8_t f = row->flags;
	uint64_t enc;
	size_t i, nsel = 0;
	const cdc_column *sel[64];
	const cdc_column **cols = hdr_count ? d->hdr + hdr_first : NULL; /* no NULL + 0 */
	size_t ncols = hdr_count;
	int large = 0, rc = 0;
	uint8_t *present = NULL;

	row->lts = CDC_TS_NONE;
	row->del.ts = CDC_TS_NONE;
	if ((f & R_HAS_TIMESTAMP) && rd_ts(r, &row->lts) != 0)
		return -1;
	if (f & R_HAS_TTL) {
		if (rd_ttl(r, &row->lttl) != 0 || rd_ldt(r, &row->lldt) != 0)
			return -1;
	}
	if (f & R_HAS_DELETION) {
		if (rd_deletion(r, &row->del) != 0)
			return -1;
		row->shadowable = !!(row->ext_flags & RX_HAS_SHADOWABLE_DELETION);
	}
	row->cell_first = (uint32_t)d->ncells;
	row->cdel_first = (uint32_t)d->ncdels;
	if (!(f & R_HAS_ALL_COLUMNS)) {
		if (rd_uv(r, &enc) != 0)
			return -1;
		if (enc != 0 && ncols < 64) {
			if (enc >> ncols)
				return bad(r, "column subset names more columns than the header");
			for (i = 0; i < ncols; i++)
				if (!(enc >> i & 1))
					sel[nsel++] = cols[i];
			cols = sel;
			ncols = nsel;
		} else if (enc != 0) {
			/* >= 64 columns: count of missing, then indexes of present or missing ones */
			size_t missing = (size_t)enc, count, k;

			if (missing > ncols)
				return bad(r, "column subset larger than the header");
			if (ncols > d->cappresent) {
				uint8_t *np = realloc(d->present, ncols);

				if (!np)
					return bad(r, "out of memory");
				d->present = np;
				d->cappresent = ncols;
			}
			present = d->present;
			memset(present, 0, ncols);
			count = ncols - missing;
			if (count < ncols / 2) {
				for (k = 0; k < count; k++) {
					uint64_t idx;

					if (rd_uv(r, &idx) != 0)
						return -1;
					if (idx >= ncols)
						return bad(r, "column subset index out of range");
					present[idx] = 1;
				}
			} else {
				memset(present, 1, ncols);
				for (k = 0; k < missing; k++) {
					uint64_t idx;

					if (rd_uv(r, &idx) != 0)
						return -1;
					if (idx >= ncols)
						return bad(r, "column subset index out of range");
					present[idx] = 0;
				}
			}
			large = 1;
		}
	}
	for (i = 0; i < ncols; i++) {
		const cdc_column *c = cols[i];

		if (large && !present[i])
			continue;
		if (!c->complex) {
			if ((rc = rd_cell(d, r, c, row)) != 0)
				goto fail;
		} else {
			uint64_t n, k;

			if (f & R_HAS_COMPLEX_DELETION) {
				cdc_complex_deletion *cd;

				if (GROW_ARRAY(d, d->cdels, d->ncdels, d->capcdels) != 0) {
					bad(r, "out of memory");
					goto fail;
				}
				cd = &d->cdels[d->ncdels];
				cd->col = c;
				if (rd_deletion(r, &cd->del) != 0)
					goto fail;
				if (cd->del.ts != INT64_MIN &&
				    !(c->dropped_time && cd->del.ts <= c->dropped_time))
					d->ncdels++;
			}
			if (rd_uv(r, &n) != 0)
				goto fail;
			if (n > r->len - r->off) {
				bad(r, "complex column cell count larger than the entry");
				goto fail;
			}
			for (k = 0; k < n; k++)
				if ((rc = rd_cell(d, r, c, row)) != 0)
					goto fail;
		}
	}
	row->ncells = (uint32_t)(d->ncells - row->cell_first);
	row->ncdel = (uint32_t)(d->ncdels - row->cdel_first);
	return 0;
fail:
	return rc > 0 ? rc : -1; /* a stale schema (from rd_cell), or malformed */
}

/* Splits the partition key into its components (CompositeType for more than
 * one partition key column: u16 length, bytes, end-of-component byte). */
static int split_key(cdc_decoder *d, rd *r, cdc_update *u)
{
	const uint8_t *k = u->key;
	size_t n = u->key_len, off = 0;
	int i;

	u->kc_first = (uint32_t)d->nvals;
	if (r->table->npk <= 1) {
		if (GROW_ARRAY(d, d->vals, d->nvals, d->capvals) != 0)
			return bad(r, "out of memory");
		d->vals[d->nvals].p = k;
		d->vals[d->nvals].len = (uint32_t)n;
		d->vals[d->nvals++].null = 0;
		u->nkc = 1;
		return 0;
	}
	for (i = 0; i < r->table->npk; i++) {
		size_t l;

		if (n - off < 2)
			return bad(r, "partition key: truncated composite component");
		l = (size_t)k[off] << 8 | k[off + 1];
		off += 2;
		if (l + 1 > n - off)
			return bad(r, "partition key: composite component runs past the key");
		if (GROW_ARRAY(d, d->vals, d->nvals, d->capvals) != 0)
			return bad(r, "out of memory");
		d->vals[d->nvals].p = k + off;
		d->vals[d->nvals].len = (uint32_t)l;
		d->vals[d->nvals++].null = 0;
		off += l + 1; /* end-of-component byte */
	}
	if (off != n)
		return bad(r, "partition key: bytes left after the last component");
	u->nkc = (uint32_t)r->table->npk;
	return 0;
}

static int rd_update(cdc_decoder *d, rd *r, cdc_mutation *out)
{
	cdc_update *u;
	cdc_value key;
	uint64_t v;
	size_t nstat = 0, nreg = 0;
	uint8_t f = 0;
	int rc;

	if (GROW_ARRAY(d, d->updates, d->nupd, d->capupd) != 0)
		return bad(r, "out of memory");
	u = &d->updates[d->nupd];
	memset(u, 0, sizeof(*u));
	if (r->len - r->off < 16)
		return bad(r, "truncated: expected a 16-byte table id");
	r->table = cdc_schema_table(d->schema, r->p + r->off);
	if (!r->table) {
		memcpy(out->missing_table, r->p + r->off, 16);
		return CDC_DECODE_UNKNOWN_TABLE;
	}
	u->table = r->table;
	u->cdc = (uint8_t)(d->flag_fn ? d->flag_fn(d->flag_opaque, r->table) : r->table->cdc);
	r->off += 16;
	if (rd_vbytes(r, &key) != 0)
		return -1;
	u->key = key.p;
	u->key_len = key.len;
	if (split_key(d, r, u) != 0 || rd_u8(r, &f) != 0)
		return -1;
	u->flags = f;
	u->pdel.ts = CDC_TS_NONE;
	u->row_first = (uint32_t)d->nrows;
	u->rt_first = (uint32_t)d->nrts;
	if ((f & P_IS_EMPTY) || (d->single && d->skip_non_cdc && !u->cdc)) {
		if (!(f & P_IS_EMPTY))
			r->off = r->len; /* the rest is this update's rows */
		d->nupd++;
		return 0;
	}
	if (rd_uv(r, &v) != 0)
		return -1;
	r->min_ts = (int64_t)((uint64_t)TIMESTAMP_EPOCH + v);
	u->min_ts = r->min_ts;
	if (rd_uv(r, &v) != 0)
		return -1;
	r->min_ldt = (int64_t)(int32_t)((uint32_t)v + (uint32_t)DELETION_EPOCH);
	if (rd_uv(r, &v) != 0)
		return -1;
	r->min_ttl = (int32_t)v;
	d->nhdr = 0;
	if ((f & P_HAS_STATIC_ROW) && (rc = rd_columns(d, r, &nstat)) != 0)
		return rc;
	if ((rc = rd_columns(d, r, &nreg)) != 0)
		return rc;
	if ((f & P_HAS_PARTITION_DELETION) && rd_deletion(r, &u->pdel) != 0)
		return -1;
	if (f & P_HAS_STATIC_ROW) {
		uint8_t rf = 0, xf = 0;
		cdc_row *row;

		if (rd_u8(r, &rf) != 0)
			return -1;
		if ((rf & R_EXTENSION) && rd_u8(r, &xf) != 0)
			return -1;
		if (!(rf & R_EXTENSION) || !(xf & RX_IS_STATIC))
			return bad(r, "static row without its static flag");
		if (GROW_ARRAY(d, d->rows, d->nrows, d->caprows) != 0)
			return bad(r, "out of memory");
		row = &d->rows[d->nrows];
		memset(row, 0, sizeof(*row));
		row->is_static = 1;
		row->flags = rf;
		row->ext_flags = xf;
		row->ck_first = (uint32_t)d->nvals;
		if ((rc = rd_row_body(d, r, row, 0, nstat)) != 0)
			return rc;
		d->nrows++;
	}
	if ((f & P_HAS_ROW_ESTIMATE) && rd_uv(r, &v) != 0)
		return -1;
	for (;;) {
		uint8_t rf = 0, xf = 0;

		if (rd_u8(r, &rf) != 0)
			return -1;
		if (rf & R_END_OF_PARTITION)
			break;
		if ((rf & R_EXTENSION) && rd_u8(r, &xf) != 0)
			return -1;
		if (rf & R_IS_MARKER) {
			cdc_rt_marker *m;
			uint8_t kind = 0;
			uint32_t n;

			if (GROW_ARRAY(d, d->rts, d->nrts, d->caprts) != 0)
				return bad(r, "out of memory");
			m = &d->rts[d->nrts];
			memset(m, 0, sizeof(*m));
			if (rd_u8(r, &kind) != 0)
				return -1;
			if (kind > 7 || kind == 3 || kind == 4)
				return bad(r, "range tombstone marker with an unknown bound kind");
			m->kind = kind;
			if (r->len - r->off < 2)
				return bad(r, "truncated: expected a bound size");
			n = (uint32_t)r->p[r->off] << 8 | r->p[r->off + 1];
			r->off += 2;
			if (n > (uint32_t)r->table->nck)
				return bad(r, "bound has more values than clustering columns");
			m->nv = n;
			m->v_first = (uint32_t)d->nvals;
			if (n && rd_clustering(d, r, n, &m->v_first) != 0)
				return -1;
			if (rd_deletion(r, &m->del) != 0)
				return -1;
			if (kind == CDC_RT_EXCL_END_INCL_START_BOUNDARY || kind == CDC_RT_INCL_END_EXCL_START_BOUNDARY) {
				if (rd_deletion(r, &m->del2) != 0)
					return -1;
			} else {
				m->del2.ts = CDC_TS_NONE;
			}
			d->nrts++;
		} else {
			cdc_row *row;
			uint32_t first;

			if (GROW_ARRAY(d, d->rows, d->nrows, d->caprows) != 0)
				return bad(r, "out of memory");
			row = &d->rows[d->nrows];
			memset(row, 0, sizeof(*row));
			row->flags = rf;
			row->ext_flags = xf;
			if (rd_clustering(d, r, (uint32_t)r->table->nck, &first) != 0)
				return -1;
			row = &d->rows[d->nrows]; /* rd_clustering does not move rows; keep it plain */
			row->ck_first = first;
			row->nck = (uint32_t)r->table->nck;
			if ((rc = rd_row_body(d, r, &d->rows[d->nrows], nstat, nreg)) != 0)
				return rc;
			d->nrows++;
		}
	}
	u = &d->updates[d->nupd];
	u->nrows = (uint32_t)(d->nrows - u->row_first);
	u->nrt = (uint32_t)(d->nrts - u->rt_first);
	d->nupd++;
	return 0;
}

int cdc_decode(cdc_decoder *d, const uint8_t *body, size_t len, int messaging_version,
	       cdc_mutation *out, char *errstr, size_t errlen)
{
	rd r = { body, len, 0, messaging_version, NULL, 0, 0, 0, errstr, errlen };
	uint64_t n, i;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	d->nupd = d->nrows = d->ncells = d->ncdels = d->nrts = d->nvals = 0;
	if (rd_uv(&r, &n) != 0)
		return -1;
	if (n == 0 || n > len)
		return bad(&r, "mutation update count is 0 or larger than the entry");
	d->single = n == 1;
	for (i = 0; i < n && rc == 0; i++)
		rc = rd_update(d, &r, out);
	if (rc == 0 && r.off != len)
		rc = bad(&r, "bytes left after the last partition update");
	if (rc != 0 && rc != CDC_DECODE_UNKNOWN_TABLE)
		out->failed_table = r.table;
	out->nupdates = (uint32_t)d->nupd;
	out->updates = d->updates;
	out->rows = d->rows;
	out->cells = d->cells;
	out->cdels = d->cdels;
	out->rts = d->rts;
	out->values = d->vals;
	return rc;
}
