/* snapshot_row.c - a CQL row of `cdctail snapshot` as a decoded mutation. */
#include "snapshot_row.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

struct cdc_snaprow {
	cdc_update upd;
	cdc_row row;
	cdc_cell *cells;
	size_t ncells, cap_cells;
	cdc_value *values;
	size_t cap_values;
	const cdc_column **order;   /* the table's columns in Cassandra's cell order */
	size_t cap_order;
	const cdc_table *order_of;  /* the table `order` is of */
	uint8_t *fieldidx;          /* 2-byte big-endian UDT field indexes 0..n-1 */
	int nfieldidx;
};

cdc_snaprow *cdc_snaprow_new(void)
{
	return calloc(1, sizeof(cdc_snaprow));
}

void cdc_snaprow_destroy(cdc_snaprow *b)
{
	if (!b)
		return;
	free(b->cells);
	free(b->values);
	free(b->order);
	free(b->fieldidx);
	free(b);
}

/* Whether WRITETIME() and TTL() of column c are selected. */
static int has_times(const cdc_column *c, int per_element)
{
	return !c->complex || per_element;
}

int cdc_snaprow_ncols(const cdc_table *t, int per_element)
{
	int i, n = 1 + t->npk + t->nck;

	for (i = 0; i < t->ncols; i++)
		n += has_times(t->cols[i], per_element) ? 3 : 1;
	return n;
}

/* `token("a", "b")` of the partition key. */
static void token_expr(cdc_buf *out, const cdc_table *t)
{
	int i;

	cdc_buf_puts(out, "token(");
	for (i = 0; i < t->npk; i++) {
		if (i)
			cdc_buf_puts(out, ", ");
		cdc_buf_puts(out, t->pk[i]->cql_name);
	}
	cdc_buf_putc(out, ')');
}

void cdc_snaprow_select(cdc_buf *out, const cdc_table *t, int per_element, int64_t lo, int64_t hi)
{
	int i;

	cdc_buf_puts(out, "SELECT ");
	token_expr(out, t);
	for (i = 0; i < t->npk; i++)
		cdc_buf_printf(out, ", %s", t->pk[i]->cql_name);
	for (i = 0; i < t->nck; i++)
		cdc_buf_printf(out, ", %s", t->ck[i]->cql_name);
	for (i = 0; i < t->ncols; i++) {
		const char *n = t->cols[i]->cql_name;

		cdc_buf_printf(out, ", %s", n);
		if (has_times(t->cols[i], per_element))
			cdc_buf_printf(out, ", WRITETIME(%s), TTL(%s)", n, n);
	}
	cdc_buf_printf(out, " FROM %s WHERE ", t->cql_name);
	token_expr(out, t);
	cdc_buf_printf(out, " > %lld AND ", (long long)lo);
	token_expr(out, t);
	cdc_buf_printf(out, " <= %lld", (long long)hi);
}

static int64_t be64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return (int64_t)v;
}

static int32_t be32(const uint8_t *p)
{
	return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

int cdc_snaprow_token(const cdc_cql_value *cells, int ncells, int64_t *token, char *errstr, size_t errlen)
{
	if (ncells < 1 || !cells[0].p || cells[0].len != 8)
		return cdc_error(errstr, errlen, "token() of the row is not a bigint");
	*token = be64(cells[0].p);
	return 0;
}

void cdc_snaprow_key_bytes(const cdc_table *t, const cdc_cql_value *cells, cdc_buf *out)
{
	int i;

	cdc_buf_reset(out);
	for (i = 1; i <= t->npk; i++) {
		uint32_t n = cells[i].p ? (uint32_t)cells[i].len : UINT32_MAX;
		uint8_t len[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };

		cdc_buf_put(out, len, 4);
		if (cells[i].p)
			cdc_buf_put(out, cells[i].p, cells[i].len);
	}
}

/* Cassandra's order of a row's cells (ColumnMetadata.compareTo within one
 * kind): simple columns before complex ones, each by name bytes. */
static int cell_order(const void *x, const void *y)
{
	const cdc_column *a = *(const cdc_column *const *)x, *b = *(const cdc_column *const *)y;

	if (a->complex != b->complex)
		return a->complex - b->complex;
	return strcmp(a->name, b->name);
}

static int grow(void **p, size_t *cap, size_t want, size_t elem)
{
	size_t n = *cap ? *cap : 16;
	void *np;

	if (want <= *cap)
		return 0;
	while (n < want)
		n *= 2;
	np = realloc(*p, n * elem);
	if (!np)
		return -1;
	*p = np;
	*cap = n;
	return 0;
}

/* A new cell of column c at the end of the row; NULL when out of memory. */
static cdc_cell *add_cell(cdc_snaprow *b, const cdc_column *c)
{
	cdc_cell *x;

	if (grow((void **)&b->cells, &b->cap_cells, b->ncells + 1, sizeof(*b->cells)) != 0)
		return NULL;
	x = &b->cells[b->ncells++];
	memset(x, 0, sizeof(*x));
	x->col = c;
	return x;
}

/* Sets ts and TTL of a cell from WRITETIME/TTL values (either NULL: not
 * read, the unknown timestamp and no TTL). */
static int set_times(cdc_cell *x, const cdc_cql_value *wt, const cdc_cql_value *ttl, const cdc_snaprow_clock *k,
		     const char *col, char *errstr, size_t errlen)
{
	x->ts = k->unknown_ts;
	if (wt) {
		if (!wt->p || wt->len != 8)
			return cdc_error(errstr, errlen, "column %s: WRITETIME is %s", col, wt->p ? "not a bigint" : "null");
		x->ts = be64(wt->p);
	}
	if (ttl && ttl->p) {
		if (ttl->len != 4 || be32(ttl->p) <= 0)
			return cdc_error(errstr, errlen, "column %s: TTL is not a positive int", col);
		x->expiring = 1;
		x->ttl = be32(ttl->p);
		x->ldt = k->now_s + x->ttl;
	}
	return 0;
}

/* The n-th item (from 0) of a list<bigint>/list<int> of WRITETIMEs/TTLs,
 * walking with *off; NULL list: *item stays NULL. */
static int times_item(const cdc_cql_value *list, int32_t count, size_t *off, int32_t i, cdc_cql_value *item,
		      const cdc_cql_value **out, const char *what, const char *col, char *errstr, size_t errlen)
{
	*out = NULL;
	if (!list)
		return 0;
	if (i >= count)
		return cdc_error(errstr, errlen, "column %s: %s lists %d items, fewer than the value has", col, what,
				 (int)count);
	if (cdc_cql_coll_next(list, off, item, errstr, errlen) != 0)
		return -1;
	*out = item;
	return 0;
}

/* The count of a WRITETIME/TTL list (NULL: not read); -1 with errstr. */
static int times_count(const cdc_cql_value *list, int32_t *n, const char *col, char *errstr, size_t errlen)
{
	char e[200];

	*n = 0;
	if (!list)
		return 0;
	if (!list->p)
		return cdc_error(errstr, errlen, "column %s: WRITETIME/TTL list is null for a value that is not", col);
	if (cdc_cql_coll_count(list, n, e, sizeof(e)) != 0)
		return cdc_error(errstr, errlen, "column %s: WRITETIME/TTL list: %s", col, e);
	return 0;
}

/* The elements of a non-frozen collection (or the fields of a non-frozen
 * UDT) as cells, each with its item of the WRITETIME and TTL lists (wt,
 * ttl NULL: not read). */
static int complex_cells(cdc_snaprow *b, const cdc_column *c, const cdc_cql_value *v, const cdc_cql_value *wt,
			 const cdc_cql_value *ttl, const cdc_snaprow_clock *k, char *errstr, size_t errlen)
{
	const cdc_type *t = c->type;
	cdc_cql_value w_item, t_item, item, key;
	const cdc_cql_value *wp, *tp;
	size_t off = 0, woff = 0, toff = 0;
	int32_t n, nw, nt, i;
	char e[200];

	if (times_count(wt, &nw, c->name, errstr, errlen) != 0 || times_count(ttl, &nt, c->name, errstr, errlen) != 0)
		return -1;
	if (t->kind == CDC_T_UDT) {
		/* fields, each [int length][bytes], as many as were serialized */
		if (t->nsub > b->nfieldidx) {
			uint8_t *f = realloc(b->fieldidx, (size_t)t->nsub * 2);

			if (!f)
				return cdc_error(errstr, errlen, "out of memory");
			b->fieldidx = f;
			for (i = b->nfieldidx; i < t->nsub; i++) {
				f[2 * i] = (uint8_t)(i >> 8);
				f[2 * i + 1] = (uint8_t)i;
			}
			b->nfieldidx = t->nsub;
		}
		for (i = 0; off < v->len; i++) {
			cdc_cell *x;

			if (i >= t->nsub)
				return cdc_error(errstr, errlen, "column %s: more fields than type %s has (%d)", c->name,
						 t->name ? t->name : "?", t->nsub);
			if (off + 4 > v->len)
				return cdc_error(errstr, errlen, "column %s: field %d truncated", c->name, i);
			{
				int32_t len = be32(v->p + off);

				off += 4;
				if (len >= 0 && (size_t)len > v->len - off)
					return cdc_error(errstr, errlen, "column %s: field %d goes past the value", c->name, i);
				item.p = len < 0 ? NULL : v->p + off;
				item.len = len < 0 ? 0 : (size_t)len;
				if (len > 0)
					off += (size_t)len;
			}
			if (times_item(wt, nw, &woff, i, &w_item, &wp, "WRITETIME", c->name, errstr, errlen) != 0 ||
			    times_item(ttl, nt, &toff, i, &t_item, &tp, "TTL", c->name, errstr, errlen) != 0)
				return -1;
			if (!item.p)
				continue; /* no cell for that field */
			if (!(x = add_cell(b, c)))
				return cdc_error(errstr, errlen, "out of memory");
			x->has_path = 1;
			x->path.p = b->fieldidx + 2 * i;
			x->path.len = 2;
			x->value.p = item.p;
			x->value.len = (uint32_t)item.len;
			if (set_times(x, wt ? wp : NULL, tp, k, c->name, errstr, errlen) != 0)
				return -1;
		}
		return 0;
	}
	if (cdc_cql_coll_count(v, &n, e, sizeof(e)) != 0)
		return cdc_error(errstr, errlen, "column %s: %s", c->name, e);
	if (wt && nw != n)
		return cdc_error(errstr, errlen, "column %s: WRITETIME lists %d items for %d elements", c->name, (int)nw,
				 (int)n);
	if (ttl && nt != n)
		return cdc_error(errstr, errlen, "column %s: TTL lists %d items for %d elements", c->name, (int)nt, (int)n);
	for (i = 0; i < n; i++) {
		cdc_cell *x;

		if (cdc_cql_coll_next(v, &off, &item, e, sizeof(e)) != 0)
			return cdc_error(errstr, errlen, "column %s: %s", c->name, e);
		key = item;
		if (t->kind == CDC_T_MAP && cdc_cql_coll_next(v, &off, &item, e, sizeof(e)) != 0)
			return cdc_error(errstr, errlen, "column %s: %s", c->name, e);
		if (!key.p || !item.p)
			return cdc_error(errstr, errlen, "column %s: a null element", c->name);
		if (times_item(wt, nw, &woff, i, &w_item, &wp, "WRITETIME", c->name, errstr, errlen) != 0 ||
		    times_item(ttl, nt, &toff, i, &t_item, &tp, "TTL", c->name, errstr, errlen) != 0)
			return -1;
		if (!(x = add_cell(b, c)))
			return cdc_error(errstr, errlen, "out of memory");
		x->has_path = 1;
		if (t->kind == CDC_T_LIST) {
			x->value.p = item.p; /* the element's time-UUID cannot be read: no path */
			x->value.len = (uint32_t)item.len;
		} else if (t->kind == CDC_T_SET) {
			x->path.p = item.p;
			x->path.len = (uint32_t)item.len;
		} else {
			x->path.p = key.p;
			x->path.len = (uint32_t)key.len;
			x->value.p = item.p;
			x->value.len = (uint32_t)item.len;
		}
		if (set_times(x, wt ? wp : NULL, tp, k, c->name, errstr, errlen) != 0)
			return -1;
	}
	if (off != v->len)
		return cdc_error(errstr, errlen, "column %s: bytes after the last element", c->name);
	return 0;
}

/* The result column of t->cols[i]'s value (its WRITETIME and TTL follow
 * when selected). */
static int value_index(const cdc_table *t, int per_element, const cdc_column *c)
{
	int i, n = 1 + t->npk + t->nck;

	for (i = 0; i < t->ncols && t->cols[i] != c; i++)
		n += has_times(t->cols[i], per_element) ? 3 : 1;
	return n;
}

/* The table's columns in cell order, cached while the table stays the same. */
static int column_order(cdc_snaprow *b, const cdc_table *t)
{
	int i;

	if (b->order_of == t)
		return 0;
	if (grow((void **)&b->order, &b->cap_order, (size_t)t->ncols + 1, sizeof(*b->order)) != 0)
		return -1;
	b->order_of = t;
	for (i = 0; i < t->ncols; i++)
		b->order[i] = t->cols[i];
	qsort(b->order, (size_t)t->ncols, sizeof(*b->order), cell_order);
	return 0;
}

/* The primary key liveness of a clustering row: the smallest write time of
 * its cells, expiring with the longest-lived one when all expire. */
static void liveness(cdc_snaprow *b, const cdc_snaprow_clock *k)
{
	cdc_row *r = &b->row;
	int all_expire = b->ncells > 0;
	size_t i;

	r->lts = b->ncells ? INT64_MAX : k->unknown_ts;
	r->lttl = 0;
	r->lldt = 0;
	for (i = 0; i < b->ncells; i++) {
		const cdc_cell *c = &b->cells[i];

		if (c->ts < r->lts)
			r->lts = c->ts;
		if (!c->expiring)
			all_expire = 0;
	}
	for (i = 0; all_expire && i < b->ncells; i++)
		if (b->cells[i].ttl > r->lttl) {
			r->lttl = b->cells[i].ttl;
			r->lldt = b->cells[i].ldt;
		}
}

int cdc_snaprow_build(cdc_snaprow *b, const cdc_table *t, int per_element, const cdc_cql_value *cells, int ncells,
		      int is_static, const cdc_snaprow_clock *k, cdc_mutation *m, char *errstr, size_t errlen)
{
	int i, nkeys = t->npk + t->nck;

	if (ncells != cdc_snaprow_ncols(t, per_element))
		return cdc_error(errstr, errlen, "%s.%s: %d result columns, want %d", t->keyspace, t->name, ncells,
				 cdc_snaprow_ncols(t, per_element));
	if (grow((void **)&b->values, &b->cap_values, (size_t)nkeys + 1, sizeof(*b->values)) != 0 ||
	    column_order(b, t) != 0)
		return cdc_error(errstr, errlen, "out of memory");
	for (i = 0; i < t->npk; i++)
		if (!cells[1 + i].p)
			return cdc_error(errstr, errlen, "%s.%s: a null partition key column", t->keyspace, t->name);
	if (!is_static)
		for (i = 0; i < t->nck; i++)
			if (!cells[1 + t->npk + i].p)
				return 0; /* the static row of a partition without rows */
	for (i = 0; i < nkeys; i++) {
		b->values[i].p = cells[1 + i].p;
		b->values[i].len = (uint32_t)cells[1 + i].len;
		b->values[i].null = 0;
	}
	b->ncells = 0;
	for (i = 0; i < t->ncols; i++) {
		const cdc_column *c = b->order[i];
		int vi = value_index(t, per_element, c), times = has_times(c, per_element);
		const cdc_cql_value *v = &cells[vi];

		if ((c->kind == CDC_COL_STATIC) != !!is_static || !v->p)
			continue;
		if (c->complex) {
			if (complex_cells(b, c, v, times ? &cells[vi + 1] : NULL, times ? &cells[vi + 2] : NULL, k,
					  errstr, errlen) != 0)
				return -1;
			continue;
		}
		{
			cdc_cell *x = add_cell(b, c);

			if (!x)
				return cdc_error(errstr, errlen, "out of memory");
			x->value.p = v->p;
			x->value.len = (uint32_t)v->len;
			if (set_times(x, times ? &cells[vi + 1] : NULL, times ? &cells[vi + 2] : NULL, k, c->name, errstr,
				      errlen) != 0)
				return -1;
		}
	}
	if (is_static && b->ncells == 0)
		return 0;
	memset(&b->row, 0, sizeof(b->row));
	b->row.is_static = (uint8_t)!!is_static;
	b->row.ck_first = (uint32_t)t->npk;
	b->row.nck = is_static ? 0 : (uint32_t)t->nck;
	b->row.del.ts = CDC_TS_NONE;
	b->row.ncells = (uint32_t)b->ncells;
	if (is_static)
		b->row.lts = CDC_TS_NONE;
	else
		liveness(b, k);
	memset(&b->upd, 0, sizeof(b->upd));
	b->upd.table = t;
	b->upd.key = cells[1].p;
	b->upd.key_len = cells[1].len;
	b->upd.nkc = (uint32_t)t->npk;
	b->upd.cdc = 1;
	b->upd.pdel.ts = CDC_TS_NONE;
	b->upd.nrows = 1;
	b->upd.min_ts = b->row.lts;
	memset(m, 0, sizeof(*m));
	m->nupdates = 1;
	m->updates = &b->upd;
	m->rows = &b->row;
	m->cells = b->cells;
	m->values = b->values;
	return 1;
}
