/* applyplan.c - an event's structured fields to bound CQL statements
 * (include/applyplan.h). A row change is first broken into atoms (one per
 * cell, element, field or clearing deletion, each with its kind, timestamp
 * and TTL); atoms of one kind, timestamp and TTL then share one statement,
 * and elements of one collection in one statement share one value. */
#include "applyplan.h"
#include "bind.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define MAX_TTL 630720000 /* Cassandra's limit: 20 years */

typedef enum {
	F_SET,        /* c = ?            (simple column) */
	F_ADD,        /* c = c + ?        (set/map elements, list appends) */
	F_SUB,        /* c = c - ?        (set elements, map keys removed) */
	F_PRE,        /* c = ? + c        (list prepends) */
	F_FIELD,      /* c.f = ?          (UDT field) */
	F_FIELD_NULL, /* c.f = null       (UDT field removed) */
	F_DEL,        /* DELETE c         (simple tombstone, collection cleared) */
} form;

typedef struct atom {
	int del;              /* a DELETE target, else an UPDATE assignment */
	int64_t ts;
	int32_t ttl;
	const cdc_column *col;
	form f;
	int field;            /* UDT field index */
	const cdc_jv *v;      /* F_SET, F_FIELD: the value; collections: the element (set value, map key, list value) */
	const cdc_jv *mv;     /* map value */
	int done;
	size_t stmt;          /* the statement it went into, once done */
} atom;

typedef struct ctx {
	cdc_plan *p;
	int64_t now_s;
	char *errstr;
	size_t errlen;
	uint32_t where_first, nwhere; /* the key values, once */
} ctx;

/* ---------------------------------------------------------------- values */

static int new_value(cdc_plan *p, size_t off, int32_t len)
{
	if (p->nval == p->capval) {
		size_t cap = p->capval ? p->capval * 2 : 32;
		cdc_plan_value *v = realloc(p->val, cap * sizeof(*v));

		if (!v)
			return -1;
		p->val = v;
		p->capval = cap;
	}
	p->val[p->nval].off = off;
	p->val[p->nval].len = len;
	p->nval++;
	return 0;
}

/* Binds a JSON value of type t as the next value. */
static int bind_json(ctx *c, const cdc_jv *v, const cdc_type *t, const char *what)
{
	cdc_plan *p = c->p;
	size_t at = p->vals.len;
	char e[CDC_ERRSTR_SIZE];

	if (cdc_bind_value(&p->vals, &p->doc, v, t, e, sizeof(e)) != 0)
		return cdc_error(c->errstr, c->errlen, "%s: %s", what, e);
	if (p->vals.oom || p->vals.len - at > INT32_MAX || new_value(p, at, (int32_t)(p->vals.len - at)) != 0)
		return cdc_error(c->errstr, c->errlen, "out of memory");
	return 0;
}

static int bind_i64(ctx *c, int64_t x)
{
	size_t at = c->p->vals.len;

	cdc_bind_i64(&c->p->vals, x);
	return new_value(c->p, at, 8) ? cdc_error(c->errstr, c->errlen, "out of memory") : 0;
}

static int bind_i32(ctx *c, int32_t x)
{
	size_t at = c->p->vals.len;

	cdc_bind_i32(&c->p->vals, x);
	return new_value(c->p, at, 4) ? cdc_error(c->errstr, c->errlen, "out of memory") : 0;
}

/* A value already bound (index i) bound once more. */
static int bind_again(ctx *c, uint32_t i)
{
	return new_value(c->p, c->p->val[i].off, c->p->val[i].len) ? cdc_error(c->errstr, c->errlen, "out of memory") : 0;
}

/* ------------------------------------------------------------ statements */

static int begin_stmt(ctx *c)
{
	cdc_plan *p = c->p;

	if (p->nst == p->capst) {
		size_t cap = p->capst ? p->capst * 2 : 8;
		cdc_plan_stmt *s = realloc(p->st, cap * sizeof(*s));

		if (!s)
			return cdc_error(c->errstr, c->errlen, "out of memory");
		p->st = s;
		p->capst = cap;
	}
	p->st[p->nst].cql_off = p->cql.len;
	p->st[p->nst].val_first = (uint32_t)p->nval;
	return 0;
}

static int end_stmt(ctx *c)
{
	cdc_plan *p = c->p;

	cdc_buf_putc(&p->cql, '\0');
	if (p->cql.oom || p->vals.oom)
		return cdc_error(c->errstr, c->errlen, "out of memory");
	p->st[p->nst].nval = (uint32_t)p->nval - p->st[p->nst].val_first;
	p->nst++;
	return 0;
}

/* " WHERE pk = ? AND ck = ?" for the first nck clustering columns, and
 * their values (bound once per event, referenced by every statement). */
static int where(ctx *c, uint32_t nck)
{
	const cdc_table *t = c->p->table;
	cdc_buf *q = &c->p->cql;
	uint32_t i, n = (uint32_t)t->npk + nck;

	cdc_buf_lit(q, " WHERE ");
	for (i = 0; i < n; i++) {
		const cdc_column *col = i < (uint32_t)t->npk ? t->pk[i] : t->ck[i - (uint32_t)t->npk];

		if (i)
			cdc_buf_lit(q, " AND ");
		cdc_buf_puts(q, col->cql_name);
		cdc_buf_lit(q, " = ?");
		if (bind_again(c, c->where_first + i) != 0)
			return -1;
	}
	return 0;
}

/* Binds the partition key (and clustering when ck is not NULL) once. */
static int bind_key(ctx *c, const cdc_jv *key, const cdc_jv *ck, uint32_t nck)
{
	const cdc_table *t = c->p->table;
	const cdc_jv_doc *d = &c->p->doc;
	uint32_t i;

	c->where_first = (uint32_t)c->p->nval;
	for (i = 0; i < (uint32_t)t->npk; i++) {
		const cdc_jv *v = cdc_jv_get(d, key, t->pk[i]->name);

		if (!v || v->kind == CDC_JV_NULL)
			return cdc_error(c->errstr, c->errlen, "key has no %s", t->pk[i]->name);
		if (bind_json(c, v, t->pk[i]->type, t->pk[i]->name) != 0)
			return -1;
	}
	for (i = 0; i < nck; i++) {
		const cdc_jv *v = cdc_jv_get(d, ck, t->ck[i]->name);

		if (!v)
			return cdc_error(c->errstr, c->errlen, "clustering has no %s", t->ck[i]->name);
		if (bind_json(c, v, t->ck[i]->type, t->ck[i]->name) != 0)
			return -1;
	}
	c->nwhere = (uint32_t)t->npk + nck;
	c->p->key_first = c->where_first;
	c->p->nkey = c->nwhere;
	return 0;
}

/* --------------------------------------------------------------- deletes */

static int simple_delete(ctx *c, int64_t ts, uint32_t nck)
{
	cdc_buf *q = &c->p->cql;

	if (begin_stmt(c) != 0)
		return -1;
	cdc_buf_lit(q, "DELETE FROM ");
	cdc_buf_puts(q, c->p->table->cql_name);
	cdc_buf_lit(q, " USING TIMESTAMP ?");
	if (bind_i64(c, ts) != 0 || where(c, nck) != 0)
		return -1;
	return end_stmt(c);
}

/* The clustering prefix of a range bound, bound as values; *n columns. */
static int bound_values(ctx *c, const cdc_jv *b, uint32_t *n, uint32_t *first, int *incl)
{
	const cdc_table *t = c->p->table;
	const cdc_jv *cl = cdc_jv_get(&c->p->doc, b, "clustering");
	const cdc_jv *in = cdc_jv_get(&c->p->doc, b, "inclusive");
	uint32_t i;

	*n = 0;
	*first = (uint32_t)c->p->nval;
	if (!cl || cl->kind != CDC_JV_OBJECT)
		return cdc_error(c->errstr, c->errlen, "a range bound without its clustering object");
	*incl = !in || in->kind == CDC_JV_TRUE;
	for (i = 0; i < (uint32_t)t->nck; i++) {
		const cdc_jv *v = cdc_jv_get(&c->p->doc, cl, t->ck[i]->name);

		if (!v)
			break;
		if (bind_json(c, v, t->ck[i]->type, t->ck[i]->name) != 0)
			return -1;
		(*n)++;
	}
	if (*n != cl->n)
		return cdc_error(c->errstr, c->errlen, "a range bound that is not a prefix of the clustering columns");
	return 0;
}

static int same_value(const cdc_plan *p, uint32_t a, uint32_t b)
{
	const cdc_plan_value *x = &p->val[a], *y = &p->val[b];

	return x->len == y->len && (x->len <= 0 || memcmp(p->vals.p + x->off, p->vals.p + y->off, (size_t)x->len) == 0);
}

/* DELETE FROM t USING TIMESTAMP ? WHERE pk AND prefix = AND (cols) op (?)
 * for a slice between two bounds given in clustering order (the start of
 * a DESC column holds its larger value). */
static int range_delete(ctx *c, const cdc_jv *ev, int64_t ts)
{
	cdc_plan *p = c->p;
	const cdc_table *t = p->table;
	const cdc_jv *sb = cdc_jv_get(&p->doc, ev, "start"), *eb = cdc_jv_get(&p->doc, ev, "end");
	uint32_t sn = 0, en = 0, sf = 0, ef = 0, common = 0, i, k;
	int sincl = 1, eincl = 1, tuple;
	cdc_buf *q = &p->cql;

	if (sb && bound_values(c, sb, &sn, &sf, &sincl) != 0)
		return -1;
	if (eb && bound_values(c, eb, &en, &ef, &eincl) != 0)
		return -1;
	while (common < sn && common < en && same_value(p, sf + common, ef + common))
		common++;
	tuple = sn - common > 1 || en - common > 1;
	if (begin_stmt(c) != 0)
		return -1;
	cdc_buf_lit(q, "DELETE FROM ");
	cdc_buf_puts(q, t->cql_name);
	cdc_buf_lit(q, " USING TIMESTAMP ? WHERE ");
	if (bind_i64(c, ts) != 0)
		return -1;
	for (i = 0; i < (uint32_t)t->npk; i++) {
		if (i)
			cdc_buf_lit(q, " AND ");
		cdc_buf_puts(q, t->pk[i]->cql_name);
		cdc_buf_lit(q, " = ?");
		if (bind_again(c, c->where_first + i) != 0)
			return -1;
	}
	for (i = 0; i < common; i++) {
		cdc_buf_lit(q, " AND ");
		cdc_buf_puts(q, t->ck[i]->cql_name);
		cdc_buf_lit(q, " = ?");
		if (bind_again(c, sf + i) != 0)
			return -1;
	}
	for (k = 0; k < 2; k++) {
		uint32_t n = k == 0 ? sn : en, first = k == 0 ? sf : ef;
		int incl = k == 0 ? sincl : eincl, lower;

		if (n <= common)
			continue;
		lower = (k == 0) != (t->ck[common]->desc != 0);
		cdc_buf_lit(q, " AND ");
		if (tuple)
			cdc_buf_putc(q, '(');
		for (i = common; i < n; i++) {
			if (i > common)
				cdc_buf_lit(q, ", ");
			cdc_buf_puts(q, t->ck[i]->cql_name);
		}
		if (tuple)
			cdc_buf_putc(q, ')');
		cdc_buf_puts(q, lower ? (incl ? " >= " : " > ") : (incl ? " <= " : " < "));
		if (tuple)
			cdc_buf_putc(q, '(');
		for (i = common; i < n; i++) {
			cdc_buf_puts(q, i > common ? ", ?" : "?");
			if (bind_again(c, first + i) != 0)
				return -1;
		}
		if (tuple)
			cdc_buf_putc(q, ')');
	}
	return end_stmt(c);
}

/* ------------------------------------------------------------------ rows */

/* The TTL a cell (or the row) gets: from "expires" (seconds: the time
 * left), else "ttl"; *expired when the time left is not positive. */
static int ttl_of(ctx *c, const cdc_jv *o, int32_t *ttl, int *expired)
{
	const cdc_jv *ex = cdc_jv_get(&c->p->doc, o, "expires"), *tl = cdc_jv_get(&c->p->doc, o, "ttl");
	int64_t x;

	*ttl = 0;
	*expired = 0;
	if (ex) {
		if (cdc_jv_int(ex, &x) != 0)
			return cdc_error(c->errstr, c->errlen, "expires is not an integer");
		x -= c->now_s;
		if (x <= 0)
			*expired = 1;
		else
			*ttl = (int32_t)(x > MAX_TTL ? MAX_TTL : x);
		return 0;
	}
	if (tl) {
		if (cdc_jv_int(tl, &x) != 0 || x < 0 || x > MAX_TTL)
			return cdc_error(c->errstr, c->errlen, "ttl is not an integer from 0 to %d", MAX_TTL);
		*ttl = (int32_t)x;
	}
	return 0;
}

/* A timestamp member, or dflt when absent. */
static int ts_of(ctx *c, const cdc_jv *o, const char *name, int64_t dflt, int64_t *ts)
{
	const cdc_jv *v = cdc_jv_get(&c->p->doc, o, name);

	*ts = dflt;
	if (v && cdc_jv_int(v, ts) != 0)
		return cdc_error(c->errstr, c->errlen, "%s is not an integer", name);
	return 0;
}

static int add_atom(ctx *c, int del, int64_t ts, int32_t ttl, const cdc_column *col, form f, int field,
		    const cdc_jv *v, const cdc_jv *mv)
{
	cdc_plan *p = c->p;
	atom *a;

	if (p->natoms == p->capatoms) {
		size_t cap = p->capatoms ? p->capatoms * 2 : 32;
		void *n = realloc(p->atoms, cap * sizeof(atom));

		if (!n)
			return cdc_error(c->errstr, c->errlen, "out of memory");
		p->atoms = n;
		p->capatoms = cap;
	}
	a = (atom *)p->atoms + p->natoms++;
	a->del = del;
	a->ts = ts;
	a->ttl = del ? 0 : ttl;
	a->col = col;
	a->f = f;
	a->field = field;
	a->v = v;
	a->mv = mv;
	a->done = 0;
	return 0;
}

/* Whether a list element's index (hex time-UUID) marks a prepend: Cassandra
 * gives prepended elements time-UUIDs before 2010-01-01 (Lists.Prepender). */
static int prepended(const cdc_jv *ix)
{
	uint8_t b[16];
	uint64_t t;
	size_t i;

	if (!ix || ix->kind != CDC_JV_STRING || ix->len != 32)
		return 0;
	for (i = 0; i < 16; i++) {
		char h[3] = { ix->s[2 * i], ix->s[2 * i + 1], 0 };
		char *end;

		b[i] = (uint8_t)strtoul(h, &end, 16);
		if (*end)
			return 0;
	}
	if ((b[6] >> 4) != 1)
		return 0;
	t = (uint64_t)(b[6] & 0x0f) << 56 | (uint64_t)b[7] << 48 | (uint64_t)b[4] << 40 | (uint64_t)b[5] << 32 |
	    (uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 | (uint64_t)b[2] << 8 | b[3];
	return t < 122192928000000000ull + 1262304000000ull * 10000;
}

/* One element of a non-frozen collection or UDT. */
static int element(ctx *c, const cdc_column *col, const cdc_jv *e, int64_t cts)
{
	const cdc_jv_doc *d = &c->p->doc;
	const cdc_type *t = col->type;
	const cdc_jv *del = cdc_jv_get(d, e, "deleted");
	int64_t ts;
	int32_t ttl;
	int expired, gone;

	if (e->kind != CDC_JV_OBJECT)
		return cdc_error(c->errstr, c->errlen, "%s: an element that is not an object", col->name);
	if (ts_of(c, e, "ts", cts, &ts) != 0 || ttl_of(c, e, &ttl, &expired) != 0)
		return -1;
	gone = (del && del->kind == CDC_JV_TRUE) || expired;
	c->p->expired += expired && !(del && del->kind == CDC_JV_TRUE);
	switch (t->kind) {
	case CDC_T_SET: {
		const cdc_jv *v = cdc_jv_get(d, e, "value");

		if (!v)
			return cdc_error(c->errstr, c->errlen, "%s: a set element without value", col->name);
		return add_atom(c, 0, ts, ttl, col, gone ? F_SUB : F_ADD, 0, v, NULL);
	}
	case CDC_T_MAP: {
		const cdc_jv *k = cdc_jv_get(d, e, "key"), *v = cdc_jv_get(d, e, "value");

		if (!k || (!gone && !v))
			return cdc_error(c->errstr, c->errlen, "%s: a map element without key or value", col->name);
		return add_atom(c, 0, ts, ttl, col, gone ? F_SUB : F_ADD, 0, k, v);
	}
	case CDC_T_UDT: {
		const cdc_jv *f = cdc_jv_get(d, e, "field"), *v = cdc_jv_get(d, e, "value");
		int i;

		for (i = 0; f && i < t->nsub; i++)
			if (f->kind == CDC_JV_STRING && strlen(t->field_names[i]) == f->len &&
			    memcmp(t->field_names[i], f->s, f->len) == 0)
				break;
		if (!f || i >= t->nsub)
			return cdc_error(c->errstr, c->errlen, "%s: a UDT element of a field the type does not have", col->name);
		if (!gone && !v)
			return cdc_error(c->errstr, c->errlen, "%s.%s: no value", col->name, t->field_names[i]);
		return add_atom(c, 0, ts, ttl, col, gone ? F_FIELD_NULL : F_FIELD, i, v, NULL);
	}
	case CDC_T_LIST: {
		const cdc_jv *v = cdc_jv_get(d, e, "value");

		if (del && del->kind == CDC_JV_TRUE) {
			c->p->list_removals++; /* no CQL names the element */
			return 0;
		}
		if (expired)
			return 0; /* an element that is already gone: nothing to add */
		if (!v)
			return cdc_error(c->errstr, c->errlen, "%s: a list element without value", col->name);
		c->p->list_append = 1;
		return add_atom(c, 0, ts, ttl, col, prepended(cdc_jv_get(d, e, "index")) ? F_PRE : F_ADD, 0, v, NULL);
	}
	default:
		return cdc_error(c->errstr, c->errlen, "%s: elements for a column that is not a non-frozen collection or UDT",
				 col->name);
	}
}

/* A whole value given for a non-frozen collection or UDT (an application's
 * event may write `"value": [..]`): the column overwritten, as CQL's
 * `c = [..]` does (cleared one microsecond before, elements at ts). */
static int whole_complex(ctx *c, const cdc_column *col, const cdc_jv *v, int64_t ts, int32_t ttl)
{
	const cdc_jv_doc *d = &c->p->doc;
	const cdc_type *t = col->type;
	const cdc_jv *e;
	int i;

	if (add_atom(c, 1, ts - 1, 0, col, F_DEL, 0, NULL, NULL) != 0)
		return -1;
	if (v->kind == CDC_JV_NULL)
		return 0;
	if (t->kind == CDC_T_UDT) {
		if (v->kind != CDC_JV_OBJECT)
			return cdc_error(c->errstr, c->errlen, "%s: a UDT value that is not an object", col->name);
		for (i = 0; i < t->nsub; i++) {
			const cdc_jv *f = cdc_jv_get(d, v, t->field_names[i]);

			if (f && f->kind != CDC_JV_NULL && add_atom(c, 0, ts, ttl, col, F_FIELD, i, f, NULL) != 0)
				return -1;
		}
		return 0;
	}
	if (v->kind != CDC_JV_ARRAY)
		return cdc_error(c->errstr, c->errlen, "%s: a collection value that is not an array", col->name);
	for (e = cdc_jv_child(d, v); e; e = cdc_jv_next(d, e)) {
		const cdc_jv *k = e, *mv = NULL;

		if (t->kind == CDC_T_MAP) {
			if (e->kind != CDC_JV_ARRAY || e->n != 2)
				return cdc_error(c->errstr, c->errlen, "%s: a map entry that is not [key, value]", col->name);
			k = cdc_jv_child(d, e);
			mv = cdc_jv_next(d, k);
		}
		if (t->kind == CDC_T_LIST)
			c->p->list_append = 1;
		if (add_atom(c, 0, ts, ttl, col, F_ADD, 0, k, mv) != 0)
			return -1;
	}
	return 0;
}

/* One member of "cells". */
static int cell(ctx *c, const cdc_jv *o, int64_t evts)
{
	const cdc_plan *p = c->p;
	const cdc_jv_doc *d = &p->doc;
	const cdc_column *col = cdc_table_column(p->table, (const uint8_t *)o->key, o->keylen);
	const cdc_jv *del, *v, *els;
	int64_t ts, cts;
	int32_t ttl;
	int expired;

	if (!col || col->dropped_time)
		return cdc_error(c->errstr, c->errlen, "%s has no column %.*s", p->table->cql_name, (int)o->keylen, o->key);
	if (o->kind != CDC_JV_OBJECT)
		return cdc_error(c->errstr, c->errlen, "cell %s is not an object", col->name);
	if (col->type->kind == CDC_T_COUNTER) {
		c->p->counters++;
		return 0;
	}
	if (ts_of(c, o, "ts", evts, &ts) != 0 || ttl_of(c, o, &ttl, &expired) != 0)
		return -1;
	del = cdc_jv_get(d, o, "deleted");
	v = cdc_jv_get(d, o, "value");
	els = cdc_jv_get(d, o, "elements");
	if (del && del->kind == CDC_JV_TRUE)
		return add_atom(c, 1, ts, 0, col, F_DEL, 0, NULL, NULL);
	if (!col->complex) {
		if (!v)
			return cdc_error(c->errstr, c->errlen, "cell %s has neither value nor deleted", col->name);
		if (expired) {
			c->p->expired++;
			return add_atom(c, 1, ts, 0, col, F_DEL, 0, NULL, NULL);
		}
		return add_atom(c, 0, ts, ttl, col, F_SET, 0, v, NULL);
	}
	if (v && !els)
		return whole_complex(c, col, v, ts, ttl);
	if (ts_of(c, o, "cleared_ts", INT64_MIN, &cts) != 0)
		return -1;
	if (cts != INT64_MIN && add_atom(c, 1, cts, 0, col, F_DEL, 0, NULL, NULL) != 0)
		return -1;
	if (els) {
		const cdc_jv *e;

		if (els->kind != CDC_JV_ARRAY)
			return cdc_error(c->errstr, c->errlen, "%s: elements is not an array", col->name);
		for (e = cdc_jv_child(d, els); e; e = cdc_jv_next(d, e))
			if (element(c, col, e, ts) != 0)
				return -1;
	}
	return 0;
}

/* The value of one assignment: the atom's own, or for F_ADD/F_SUB/F_PRE a
 * collection of the elements of every atom of the group with the same
 * column and form (they are marked done). */
static int assignment_value(ctx *c, atom *a, atom *all, size_t n)
{
	cdc_plan *p = c->p;
	const cdc_type *t = a->col->type;
	size_t at, j;
	uint32_t count = 0;
	char e[CDC_ERRSTR_SIZE];

	if (a->f == F_SET)
		return bind_json(c, a->v, t, a->col->name);
	if (a->f == F_FIELD)
		return bind_json(c, a->v, t->sub[a->field], a->col->name);
	at = p->vals.len;
	{
		size_t head = cdc_bind_coll_begin(&p->vals);

		for (j = 0; j < n; j++) {
			atom *b = &all[j];

			if (b->done || b->col != a->col || b->f != a->f || b->del != a->del || b->ts != a->ts ||
			    b->ttl != a->ttl)
				continue;
			b->done = 1;
			b->stmt = p->nst;
			/* a map's removals are a set of its keys; additions key, value pairs */
			{
				size_t el = cdc_bind_elem_begin(&p->vals);

				if (cdc_bind_value(&p->vals, &p->doc, b->v, t->sub[0], e, sizeof(e)) != 0)
					return cdc_error(c->errstr, c->errlen, "%s: %s", a->col->name, e);
				cdc_bind_elem_end(&p->vals, el);
			}
			if (t->kind == CDC_T_MAP && a->f == F_ADD) {
				size_t el = cdc_bind_elem_begin(&p->vals);

				if (cdc_bind_value(&p->vals, &p->doc, b->mv, t->sub[1], e, sizeof(e)) != 0)
					return cdc_error(c->errstr, c->errlen, "%s: %s", a->col->name, e);
				cdc_bind_elem_end(&p->vals, el);
			}
			count++;
		}
		cdc_bind_coll_end(&p->vals, head, count);
	}
	if (p->vals.oom || new_value(p, at, (int32_t)(p->vals.len - at)) != 0)
		return cdc_error(c->errstr, c->errlen, "out of memory");
	return 0;
}

/* Whether atom j would set a column that statement `stmt` already sets in
 * another way (`s = s + ?, s = s - ?` is refused): it goes into a later one. */
static int clashes(atom *all, size_t from, size_t j, size_t stmt)
{
	size_t k;

	for (k = from; k < j; k++) {
		const atom *x = &all[k];

		if (x->done && x->stmt == stmt && x->col == all[j].col &&
		    (x->f != all[j].f || ((x->f == F_FIELD || x->f == F_FIELD_NULL) && x->field == all[j].field)))
			return 1;
	}
	return 0;
}

/* The statements of the atoms: one per (kind, ts, ttl), in first-seen order. */
static int emit_atoms(ctx *c, uint32_t nck)
{
	cdc_plan *p = c->p;
	atom *all = p->atoms;
	cdc_buf *q = &p->cql;
	size_t i, j;

	for (i = 0; i < p->natoms; i++) {
		atom *a = &all[i];
		int first = 1;

		if (a->done)
			continue;
		if (begin_stmt(c) != 0)
			return -1;
		if (a->del) {
			cdc_buf_lit(q, "DELETE ");
		} else {
			cdc_buf_lit(q, "UPDATE ");
			cdc_buf_puts(q, p->table->cql_name);
			cdc_buf_lit(q, " USING TIMESTAMP ? AND TTL ? SET ");
			if (bind_i64(c, a->ts) != 0 || bind_i32(c, a->ttl) != 0)
				return -1;
		}
		for (j = i; j < p->natoms; j++) {
			atom *b = &all[j];
			const char *name = b->col->cql_name;

			if (b->done || b->del != a->del || b->ts != a->ts || b->ttl != a->ttl || clashes(all, i, j, p->nst))
				continue;
			if (!first)
				cdc_buf_lit(q, ", ");
			first = 0;
			b->stmt = p->nst;
			if (b->f == F_DEL) {
				b->done = 1;
				cdc_buf_puts(q, name);
				continue;
			}
			cdc_buf_puts(q, name);
			switch (b->f) {
			case F_SET: cdc_buf_lit(q, " = ?"); break;
			case F_ADD: cdc_buf_lit(q, " = "); cdc_buf_puts(q, name); cdc_buf_lit(q, " + ?"); break;
			case F_SUB: cdc_buf_lit(q, " = "); cdc_buf_puts(q, name); cdc_buf_lit(q, " - ?"); break;
			case F_PRE: cdc_buf_lit(q, " = ? + "); cdc_buf_puts(q, name); break;
			case F_FIELD:
			case F_FIELD_NULL:
				cdc_buf_putc(q, '.');
				cdc_cql_ident(q, b->col->type->field_names[b->field]);
				cdc_buf_puts(q, b->f == F_FIELD ? " = ?" : " = null");
				break;
			default: break;
			}
			if (b->f == F_FIELD_NULL) {
				b->done = 1;
				continue;
			}
			if (assignment_value(c, b, all, p->natoms) != 0)
				return -1;
			b->done = 1;
		}
		if (a->del) {
			cdc_buf_lit(q, " FROM ");
			cdc_buf_puts(q, p->table->cql_name);
			cdc_buf_lit(q, " USING TIMESTAMP ?");
			if (bind_i64(c, a->ts) != 0)
				return -1;
		}
		if (where(c, nck) != 0 || end_stmt(c) != 0)
			return -1;
	}
	return 0;
}

/* INSERT INTO t (pk, ck[, simple cells of the liveness' ts and TTL])
 * VALUES (...) USING TIMESTAMP ? AND TTL ?: the row's liveness, and the
 * cells that share it (taken out of the atoms). */
static int insert(ctx *c, int64_t lts, int32_t lttl, int row_expired)
{
	cdc_plan *p = c->p;
	const cdc_table *t = p->table;
	atom *all = p->atoms;
	cdc_buf *q = &p->cql;
	uint32_t i, n = c->nwhere, extra = 0;
	size_t j;

	if (begin_stmt(c) != 0)
		return -1;
	cdc_buf_lit(q, "INSERT INTO ");
	cdc_buf_puts(q, t->cql_name);
	cdc_buf_lit(q, " (");
	for (i = 0; i < n; i++) {
		if (i)
			cdc_buf_lit(q, ", ");
		cdc_buf_puts(q, i < (uint32_t)t->npk ? t->pk[i]->cql_name : t->ck[i - (uint32_t)t->npk]->cql_name);
		if (bind_again(c, c->where_first + i) != 0)
			return -1;
	}
	for (j = 0; j < p->natoms && !row_expired; j++) {
		atom *a = &all[j];

		if (a->done || a->del || a->f != F_SET || a->ts != lts || a->ttl != lttl)
			continue;
		cdc_buf_lit(q, ", ");
		cdc_buf_puts(q, a->col->cql_name);
		if (bind_json(c, a->v, a->col->type, a->col->name) != 0)
			return -1;
		a->done = 1;
		extra++;
	}
	cdc_buf_lit(q, ") VALUES (?");
	for (i = 1; i < n + extra; i++)
		cdc_buf_lit(q, ", ?");
	cdc_buf_lit(q, ") USING TIMESTAMP ? AND TTL ?");
	if (bind_i64(c, lts) != 0 || bind_i32(c, row_expired ? 1 : lttl) != 0)
		return -1;
	return end_stmt(c);
}

static int row_change(ctx *c, const cdc_jv *ev, const cdc_jv *key, int insert_op)
{
	cdc_plan *p = c->p;
	const cdc_jv_doc *d = &p->doc;
	const cdc_jv *st = cdc_jv_get(d, ev, "static"), *cells = cdc_jv_get(d, ev, "cells"), *o;
	int is_static = st && st->kind == CDC_JV_TRUE;
	uint32_t nck = is_static ? 0 : (uint32_t)p->table->nck;
	int64_t lts;
	int32_t lttl;
	int expired;

	if (bind_key(c, key, cdc_jv_get(d, ev, "clustering"), nck) != 0)
		return -1;
	if (cells && cells->kind != CDC_JV_OBJECT)
		return cdc_error(c->errstr, c->errlen, "cells is not an object");
	for (o = cdc_jv_child(d, cells); o; o = cdc_jv_next(d, o))
		if (cell(c, o, p->ts) != 0)
			return -1;
	if (insert_op && !is_static) { /* a static row has no liveness of its own */
		if (ts_of(c, ev, "liveness_ts", p->ts, &lts) != 0 || ttl_of(c, ev, &lttl, &expired) != 0)
			return -1;
		if (insert(c, lts, lttl, expired) != 0)
			return -1;
	}
	return emit_atoms(c, nck);
}

/* ----------------------------------------------------------------- event */

static int copy_str(const cdc_jv *v, char *out, size_t cap)
{
	if (!v || v->kind != CDC_JV_STRING || v->len >= cap || memchr(v->s, 0, v->len))
		return -1;
	memcpy(out, v->s, v->len);
	out[v->len] = '\0';
	return 0;
}

int cdc_plan_event(cdc_plan *p, const char *line, size_t len, cdc_plan_lookup_fn lookup, void *opaque,
		   int64_t now_us, char *errstr, size_t errlen)
{
	ctx c = { p, now_us / 1000000, errstr, errlen, 0, 0 };
	const cdc_jv *ev, *ks, *tb, *key, *id;
	const cdc_jv_doc *d = &p->doc;
	char e[CDC_ERRSTR_SIZE];

	cdc_buf_reset(&p->cql);
	cdc_buf_reset(&p->vals);
	p->nval = p->nst = p->natoms = 0;
	p->table = NULL;
	p->keyspace = p->name = NULL;
	p->kslen = p->namelen = 0;
	p->op[0] = '\0';
	p->id[0] = '\0';
	p->ts = 0;
	p->list_append = 0;
	p->list_removals = p->counters = p->expired = 0;
	p->key_first = p->nkey = 0;
	if (cdc_jv_parse(&p->doc, line, len, e, sizeof(e)) != 0)
		return cdc_error(errstr, errlen, "not a JSON event: %s", e);
	ev = cdc_jv_root(d);
	if (ev->kind != CDC_JV_OBJECT)
		return cdc_error(errstr, errlen, "not a JSON object");
	ks = cdc_jv_get(d, ev, "keyspace");
	tb = cdc_jv_get(d, ev, "table");
	key = cdc_jv_get(d, ev, "key");
	if (copy_str(cdc_jv_get(d, ev, "op"), p->op, sizeof(p->op)) != 0)
		return cdc_error(errstr, errlen, "the event has no op");
	if (!ks || ks->kind != CDC_JV_STRING || !tb || tb->kind != CDC_JV_STRING)
		return cdc_error(errstr, errlen, "the event has no keyspace or table");
	p->keyspace = ks->s;
	p->kslen = ks->len;
	p->name = tb->s;
	p->namelen = tb->len;
	if (!key || key->kind != CDC_JV_OBJECT)
		return cdc_error(errstr, errlen, "the event has no key object");
	if (ts_of(&c, ev, "ts", INT64_MIN, &p->ts) != 0)
		return -1;
	if (p->ts == INT64_MIN)
		return cdc_error(errstr, errlen, "the event has no ts");
	id = cdc_jv_get(d, ev, "id");
	if (id && copy_str(id, p->id, sizeof(p->id)) != 0)
		return cdc_error(errstr, errlen, "id is not a string of at most 64 bytes");
	if (!id) {
		static const char hex[] = "0123456789abcdef";
		uint64_t h = XXH3_64bits(line, len);
		int b;

		for (b = 0; b < 16; b++)
			p->id[b] = hex[(h >> (60 - 4 * b)) & 15];
		p->id[16] = '\0';
	}
	p->table = lookup(opaque, ks->s, ks->len, tb->s, tb->len);
	if (!p->table) {
		cdc_error(errstr, errlen, "the target has no table for %.*s.%.*s", (int)ks->len, ks->s, (int)tb->len, tb->s);
		return CDC_PLAN_NO_TABLE;
	}
	if (strcmp(p->op, "delete_partition") == 0) {
		if (bind_key(&c, key, NULL, 0) != 0)
			return -1;
		return simple_delete(&c, p->ts, 0);
	}
	if (strcmp(p->op, "delete_row") == 0) {
		if (bind_key(&c, key, cdc_jv_get(d, ev, "clustering"), (uint32_t)p->table->nck) != 0)
			return -1;
		return simple_delete(&c, p->ts, (uint32_t)p->table->nck);
	}
	if (strcmp(p->op, "delete_range") == 0) {
		if (bind_key(&c, key, NULL, 0) != 0)
			return -1;
		return range_delete(&c, ev, p->ts);
	}
	if (strcmp(p->op, "insert") == 0 || strcmp(p->op, "update") == 0 || strcmp(p->op, "delete_cells") == 0)
		return row_change(&c, ev, key, p->op[0] == 'i');
	return cdc_error(errstr, errlen, "unknown op '%s'", p->op);
}

int cdc_plan_list_adds(cdc_plan *p, cdc_buf *bytes, cdc_plan_elem **out, size_t *n, char *errstr, size_t errlen)
{
	atom *all = p->atoms;
	size_t i, k = 0;
	char e[CDC_ERRSTR_SIZE];

	*out = NULL;
	*n = 0;
	if (!p->natoms)
		return 0;
	*out = calloc(p->natoms, sizeof(**out));
	if (!*out)
		return cdc_error(errstr, errlen, "out of memory");
	for (i = 0; i < p->natoms; i++) {
		const atom *a = &all[i];
		size_t at = bytes->len;

		if (a->col->type->kind != CDC_T_LIST || (a->f != F_ADD && a->f != F_PRE))
			continue;
		if (cdc_bind_value(bytes, &p->doc, a->v, a->col->type->sub[0], e, sizeof(e)) != 0) {
			free(*out);
			*out = NULL;
			return cdc_error(errstr, errlen, "%s: %s", a->col->name, e);
		}
		(*out)[k].col = a->col;
		(*out)[k].off = at;
		(*out)[k].len = bytes->len - at;
		(*out)[k].ts = a->ts;
		k++;
	}
	*n = k;
	return bytes->oom ? cdc_error(errstr, errlen, "out of memory") : 0;
}

void cdc_plan_free(cdc_plan *p)
{
	cdc_jv_free(&p->doc);
	cdc_buf_free(&p->cql);
	cdc_buf_free(&p->vals);
	cdc_buf_free(&p->tmp);
	free(p->val);
	free(p->st);
	free(p->atoms);
	memset(p, 0, sizeof(*p));
}

const char *cdc_plan_cql(const cdc_plan *p, size_t i)
{
	return p->cql.p + p->st[i].cql_off;
}

void cdc_plan_describe(const cdc_plan *p, cdc_buf *out)
{
	size_t i;
	uint32_t k;

	for (i = 0; i < p->nst; i++) {
		const cdc_plan_stmt *s = &p->st[i];

		cdc_buf_puts(out, cdc_plan_cql(p, i));
		cdc_buf_lit(out, " [");
		for (k = 0; k < s->nval; k++) {
			const cdc_plan_value *v = &p->val[s->val_first + k];

			if (k)
				cdc_buf_lit(out, ", ");
			if (v->len < 0)
				cdc_buf_lit(out, "null");
			else {
				cdc_buf_lit(out, "0x");
				cdc_buf_hex(out, (const uint8_t *)p->vals.p + v->off, (size_t)v->len);
			}
		}
		cdc_buf_lit(out, "]\n");
	}
}
