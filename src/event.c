/* event.c - JSON events and recreating CQL from decoded mutations. */
#include "event.h"
#include "err.h"
#include "value.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

struct cdc_eventer {
	cdc_buf json;   /* the event being written */
	cdc_buf cql;    /* its CQL, escaped for the JSON string it goes in */
	cdc_buf where;  /* WHERE clause of the current row (escaped too) */
	cdc_buf tmp;
	cdc_buf done;   /* cql_row: one byte per cell, set once the cell is written */
	char *errstr;
	size_t errlen;
	int failed;
	int stale;               /* a failure a newer schema explains */
	const char *no_cql;        /* why the current event has no cql, or NULL */
	cdc_event_format format;
	size_t key_off, key_len;   /* the key's text within json */
	int64_t ts;                /* the current event's ts */
	const char *op;            /* the current event's op */
	int64_t snapshot_start;    /* non-zero: events of a snapshot (source.snapshot) */
	struct {                   /* decimal text of recent numbers: one */
		int64_t v;         /* write's timestamp recurs in every */
		uint8_t len;       /* cell, the ts and the CQL */
		char s[21];
	} num[2];
	unsigned num_next;
};

/* Appends v in decimal, as cdc_buf_i64, from a two-entry memo of the
 * numbers last written (the least recently used one is replaced). */
static void put_num(cdc_eventer *ev, cdc_buf *b, int64_t v)
{
	unsigned i;

	for (i = 0; i < 2; i++)
		if (ev->num[i].len && ev->num[i].v == v) {
			ev->num_next = i ^ 1;
			cdc_buf_put(b, ev->num[i].s, ev->num[i].len);
			return;
		}
	i = ev->num_next;
	ev->num_next = i ^ 1;
	ev->num[i].v = v;
	ev->num[i].len = (uint8_t)cdc_fmt_i64(ev->num[i].s, v);
	cdc_buf_put(b, ev->num[i].s, ev->num[i].len);
}

/* `,"ttl":T,"expires":E` of an expiring cell or row. */
static void put_ttl(cdc_buf *j, int32_t ttl, int64_t ldt)
{
	cdc_buf_lit(j, ",\"ttl\":");
	cdc_buf_i64(j, ttl);
	cdc_buf_lit(j, ",\"expires\":");
	cdc_buf_i64(j, ldt);
}

/* ` USING TIMESTAMP ts WHERE ` of a deletion's CQL. */
static void using_ts_where(cdc_eventer *ev, cdc_buf *q, int64_t ts)
{
	cdc_buf_lit(q, " USING TIMESTAMP ");
	put_num(ev, q, ts);
	cdc_buf_lit(q, " WHERE ");
}

void cdc_eventer_key(const cdc_eventer *ev, const char **key, size_t *len)
{
	*key = ev->json.p ? ev->json.p + ev->key_off : "";
	*len = ev->json.p ? ev->key_len : 0;
}

int64_t cdc_eventer_ts(const cdc_eventer *ev)
{
	return ev->ts;
}

const char *cdc_eventer_op(const cdc_eventer *ev)
{
	return ev->op ? ev->op : "?";
}

void cdc_eventer_set_format(cdc_eventer *ev, cdc_event_format f)
{
	ev->format = f;
}

void cdc_eventer_set_snapshot(cdc_eventer *ev, int64_t start_us)
{
	ev->snapshot_start = start_us;
}

cdc_eventer *cdc_eventer_new(void)
{
	return calloc(1, sizeof(cdc_eventer));
}

void cdc_eventer_destroy(cdc_eventer *ev)
{
	if (!ev)
		return;
	cdc_buf_free(&ev->json);
	cdc_buf_free(&ev->cql);
	cdc_buf_free(&ev->where);
	cdc_buf_free(&ev->tmp);
	cdc_buf_free(&ev->done);
	free(ev);
}

/* Renders a value; on a malformed value records the error once. */
static void val(cdc_eventer *ev, cdc_buf *out, cdc_render how, const cdc_type *t, const cdc_value *v)
{
	char e[256];

	if (v->null) {
		cdc_buf_lit(out, "null");
		return;
	}
	int rc = cdc_value_render(out, how, t, v->p, v->len, e, sizeof(e));

	if (rc != 0) {
		if (!ev->failed || (rc == CDC_VALUE_STALE_SCHEMA && !ev->stale))
			cdc_error(ev->errstr, ev->errlen, "%s", e);
		ev->failed = 1;
		ev->stale |= rc == CDC_VALUE_STALE_SCHEMA;
		cdc_buf_lit(out, "null");
	}
}

/* keyspace.table and a column's name in the CQL (which is a JSON string). */
static void table_name(cdc_buf *b, const cdc_table *t)
{
	cdc_buf_put(b, t->cql_js, t->cql_js_len);
}

static void col_name(cdc_buf *b, const cdc_column *c)
{
	cdc_buf_put(b, c->cql_js, c->cql_js_len);
}

/* WHERE clause for the partition key and the first n clustering values. */
static void build_where(cdc_eventer *ev, const cdc_mutation *m, const cdc_update *u,
			const cdc_value *ck, uint32_t n)
{
	const cdc_table *t = u->table;
	uint32_t i;

	cdc_buf_reset(&ev->where);
	for (i = 0; i < u->nkc; i++) {
		if (i)
			cdc_buf_lit(&ev->where, " AND ");
		col_name(&ev->where, t->pk[i]);
		cdc_buf_lit(&ev->where, " = ");
		val(ev, &ev->where, CDC_RENDER_CQL_JSON, t->pk[i]->type, &m->values[u->kc_first + i]);
	}
	for (i = 0; i < n; i++) {
		cdc_buf_lit(&ev->where, " AND ");
		col_name(&ev->where, t->ck[i]);
		cdc_buf_lit(&ev->where, " = ");
		val(ev, &ev->where, CDC_RENDER_CQL_JSON, t->ck[i]->type, &ck[i]);
	}
}

/* {"col":value,...} for the partition key or a clustering prefix. */
static void json_columns(cdc_eventer *ev, const cdc_column *const *cols, const cdc_value *v, uint32_t n)
{
	uint32_t i;

	cdc_buf_putc(&ev->json, '{');
	for (i = 0; i < n; i++) {
		if (i)
			cdc_buf_putc(&ev->json, ',');
		cdc_buf_put(&ev->json, cols[i]->json_name, cols[i]->json_name_len);
		cdc_buf_putc(&ev->json, ':');
		val(ev, &ev->json, CDC_RENDER_JSON, cols[i]->type, &v[i]);
	}
	cdc_buf_putc(&ev->json, '}');
}

static void begin(cdc_eventer *ev, const char *op, const cdc_mutation *m, const cdc_update *u)
{
	ev->op = op;
	cdc_buf_reset(&ev->json);
	cdc_buf_reset(&ev->cql);
	ev->no_cql = NULL;
	cdc_buf_lit(&ev->json, "{\"op\":\"");
	cdc_buf_puts(&ev->json, op);
	cdc_buf_putc(&ev->json, '"');
	cdc_buf_put(&ev->json, u->table->json_head, u->table->json_head_len);
	cdc_buf_lit(&ev->json, ",\"key\":");
	ev->key_off = ev->json.len;
	json_columns(ev, u->table->pk, m->values + u->kc_first, u->nkc);
	ev->key_len = ev->json.len - ev->key_off;
}

static int finish(cdc_eventer *ev, const cdc_update *u, int64_t ts, const cdc_event_source *src,
		  cdc_event_fn fn, void *opaque)
{
	cdc_buf *j = &ev->json;

	ev->ts = ts;
	cdc_buf_lit(j, ",\"ts\":");
	put_num(ev, j, ts);
	cdc_buf_lit(j, ",\"cql\":");
	if (ev->cql.len) { /* written JSON-escaped already */
		cdc_buf_putc(j, '"');
		cdc_buf_put(j, ev->cql.p, ev->cql.len);
		cdc_buf_putc(j, '"');
	} else {
		cdc_buf_lit(j, "null");
		if (ev->no_cql) {
			cdc_buf_lit(j, ",\"no_cql\":");
			cdc_buf_json_str(j, ev->no_cql, strlen(ev->no_cql));
		}
	}
	{
		static const char hex[] = "0123456789abcdef";
		/* the id: XXH3-64 of the event text so far (everything but the id and
		 * the source), so every replica's copy of one write shares it and a
		 * consumer in any language can recompute it */
		uint64_t h = XXH3_64bits(j->p, j->len);
		char id[26] = ",\"id\":\"";
		int b;

		for (b = 0; b < 16; b++)
			id[7 + b] = hex[(h >> (60 - 4 * b)) & 15];
		id[23] = '"';
		cdc_buf_put(j, id, 24);
	}
	if (ev->snapshot_start) {
		cdc_buf_lit(j, ",\"source\":{\"snapshot\":true,\"snapshot_start\":");
		cdc_buf_i64(j, ev->snapshot_start);
	} else {
		cdc_buf_lit(j, ",\"source\":{\"segment\":");
		put_num(ev, j, src->segment_id);
		cdc_buf_lit(j, ",\"offset\":");
		cdc_buf_u64(j, src->entry_offset);
		cdc_buf_lit(j, ",\"cl_version\":");
		cdc_buf_i64(j, src->cl_version);
	}
	if (src->node) {
		cdc_buf_lit(j, ",\"node\":");
		cdc_buf_json_str(j, src->node, strlen(src->node));
	}
	if (src->cassandra) {
		cdc_buf_lit(j, ",\"cassandra\":");
		cdc_buf_json_str(j, src->cassandra, strlen(src->cassandra));
	}
	cdc_buf_lit(j, "}}");
	if (j->oom)
		return -1;
	return fn(opaque, u, j->p, j->len);
}

/* ---- rows ---- */

static int cell_is_live(const cdc_cell *c)
{
	return !c->deleted;
}

/* "cells":{...}: per column its value, ts, ttl; collections element-wise. */
static void json_cells(cdc_eventer *ev, const cdc_mutation *m, const cdc_row *r)
{
	cdc_buf *j = &ev->json;
	uint32_t i, k;
	const cdc_column *open = NULL;

	cdc_buf_lit(j, ",\"cells\":{");
	for (i = 0; i < r->ncells; i++) {
		const cdc_cell *c = &m->cells[r->cell_first + i];
		const cdc_type *t = c->col->type;

		if (c->col != open) {
			if (open)
				cdc_buf_lit(j, "]}");
			if (i)
				cdc_buf_putc(j, ',');
			cdc_buf_put(j, c->col->json_name, c->col->json_name_len);
			cdc_buf_putc(j, ':');
			if (!c->col->complex) {
				open = NULL;
				cdc_buf_lit(j, "{\"ts\":");
				put_num(ev, j, c->ts);
				if (r->is_static)
					cdc_buf_lit(j, ",\"static\":true");
				if (c->deleted) {
					cdc_buf_lit(j, ",\"deleted\":true}");
					continue;
				}
				if (c->expiring)
					put_ttl(j, c->ttl, c->ldt);
				cdc_buf_lit(j, ",\"value\":");
				val(ev, j, CDC_RENDER_JSON, t, &c->value);
				cdc_buf_putc(j, '}');
				continue;
			}
			open = c->col;
			cdc_buf_putc(j, '{');
			if (r->is_static)
				cdc_buf_lit(j, "\"static\":true,");
			for (k = 0; k < r->ncdel; k++)
				if (m->cdels[r->cdel_first + k].col == c->col) {
					cdc_buf_lit(j, "\"cleared_ts\":");
					put_num(ev, j, m->cdels[r->cdel_first + k].del.ts);
					cdc_buf_putc(j, ',');
				}
			cdc_buf_lit(j, "\"elements\":[");
		} else {
			cdc_buf_putc(j, ',');
		}
		/* one element of a non-frozen collection or UDT */
		cdc_buf_lit(j, "{\"ts\":");
		put_num(ev, j, c->ts);
		if (c->expiring)
			put_ttl(j, c->ttl, c->ldt);
		if (c->deleted)
			cdc_buf_lit(j, ",\"deleted\":true");
		switch (t->kind) {
		case CDC_T_LIST:
			if (c->path.len) { /* a snapshot's elements have none (CQL cannot read it) */
				cdc_buf_lit(j, ",\"index\":");
				cdc_buf_putc(j, '"');
				cdc_buf_hex(j, c->path.p, c->path.len);
				cdc_buf_putc(j, '"');
			}
			if (!c->deleted) {
				cdc_buf_lit(j, ",\"value\":");
				val(ev, j, CDC_RENDER_JSON, t->sub[0], &c->value);
			}
			break;
		case CDC_T_SET:
			cdc_buf_lit(j, ",\"value\":");
			val(ev, j, CDC_RENDER_JSON, t->sub[0], &c->path);
			break;
		case CDC_T_MAP:
			cdc_buf_lit(j, ",\"key\":");
			val(ev, j, CDC_RENDER_JSON, t->sub[0], &c->path);
			if (!c->deleted) {
				cdc_buf_lit(j, ",\"value\":");
				val(ev, j, CDC_RENDER_JSON, t->sub[1], &c->value);
			}
			break;
		case CDC_T_UDT: {
			int f = c->path.len == 2 ? (c->path.p[0] << 8 | c->path.p[1]) : -1;

			if (f < 0 || f >= t->nsub) {
				cdc_buf_lit(j, ",\"field\":null");
				break;
			}
			cdc_buf_lit(j, ",\"field\":");
			cdc_buf_json_str(j, t->field_names[f], strlen(t->field_names[f]));
			if (!c->deleted) {
				cdc_buf_lit(j, ",\"value\":");
				val(ev, j, CDC_RENDER_JSON, t->sub[f], &c->value);
			}
			break;
		}
		default:
			break;
		}
		cdc_buf_putc(j, '}');
	}
	if (open)
		cdc_buf_lit(j, "]}");
	/* complex deletions of columns with no cell in this row */
	for (k = 0; k < r->ncdel; k++) {
		const cdc_complex_deletion *cd = &m->cdels[r->cdel_first + k];
		int seen = 0;

		for (i = 0; i < r->ncells && !seen; i++)
			seen = m->cells[r->cell_first + i].col == cd->col;
		if (seen)
			continue;
		if (r->ncells || k)
			cdc_buf_putc(j, ',');
		cdc_buf_put(j, cd->col->json_name, cd->col->json_name_len);
		cdc_buf_lit(j, ":{\"ts\":");
		put_num(ev, j, cd->del.ts);
		cdc_buf_lit(j, ",\"deleted\":true}");
	}
	cdc_buf_putc(j, '}');
}

/* One CQL assignment or deletion target for a cell: `c = v`, `m[k] = v`,
 * `s = s + {e}`, `u.f = v`, or for tombstones the DELETE target (list
 * elements are written by cql_row, which joins them into one literal). */
static void cql_cell(cdc_eventer *ev, cdc_buf *b, const cdc_cell *c)
{
	const cdc_type *t = c->col->type;

	if (!c->col->complex) {
		col_name(b, c->col);
		if (!c->deleted) {
			cdc_buf_lit(b, " = ");
			val(ev, b, CDC_RENDER_CQL_JSON, t, &c->value);
		}
		return;
	}
	switch (t->kind) {
	case CDC_T_MAP:
		col_name(b, c->col);
		cdc_buf_putc(b, '[');
		val(ev, b, CDC_RENDER_CQL_JSON, t->sub[0], &c->path);
		cdc_buf_putc(b, ']');
		if (!c->deleted) {
			cdc_buf_lit(b, " = ");
			val(ev, b, CDC_RENDER_CQL_JSON, t->sub[1], &c->value);
		}
		break;
	case CDC_T_SET:
		col_name(b, c->col);
		cdc_buf_lit(b, " = ");
		col_name(b, c->col);
		cdc_buf_puts(b, c->deleted ? " - {" : " + {");
		val(ev, b, CDC_RENDER_CQL_JSON, t->sub[0], &c->path);
		cdc_buf_putc(b, '}');
		break;
	case CDC_T_UDT: {
		int f = c->path.len == 2 ? (c->path.p[0] << 8 | c->path.p[1]) : 0;

		col_name(b, c->col);
		cdc_buf_putc(b, '.');
		cdc_buf_reset(&ev->tmp);
		cdc_cql_ident(&ev->tmp, f < t->nsub ? t->field_names[f] : "?");
		cdc_buf_json_body(b, ev->tmp.p ? ev->tmp.p : "", ev->tmp.len);
		cdc_buf_lit(b, " = ");
		if (c->deleted)
			cdc_buf_lit(b, "null");
		else
			val(ev, b, CDC_RENDER_CQL_JSON, f < t->nsub ? t->sub[f] : t, &c->value);
		break;
	}
	default:
		break;
	}
}

/* A live element of a non-frozen list. */
static int list_element(const cdc_cell *c)
{
	return c->col->complex && c->col->type->kind == CDC_T_LIST && !c->deleted;
}

/* Whether a list element was prepended: Cassandra (Lists.Prepender) gives
 * prepended elements time-UUIDs mirrored before 2010-01-01 (its
 * REFERENCE_TIME), appends get the current time. */
static int list_prepended(const cdc_cell *c)
{
	const uint8_t *p = c->path.p;
	uint64_t t;

	if (c->path.len != 16 || (p[6] >> 4) != 1)
		return 0;
	t = (uint64_t)(p[6] & 0x0f) << 56 | (uint64_t)p[7] << 48 | (uint64_t)p[4] << 40 | (uint64_t)p[5] << 32 |
	    (uint64_t)p[0] << 24 | (uint64_t)p[1] << 16 | (uint64_t)p[2] << 8 | p[3];
	/* 100 ns units since 1582-10-15; 2010-01-01 is 1262304000000 ms after 1970 */
	return t < 122192928000000000ull + 1262304000000ull * 10000;
}

/* Ends an open list literal: `]`, and for prepends ` + l`. */
static void close_list(cdc_buf *q, const cdc_column **open, int prepend)
{
	if (!*open)
		return;
	cdc_buf_putc(q, ']');
	if (prepend) {
		cdc_buf_lit(q, " + ");
		col_name(q, *open);
	}
	*open = NULL;
}

/* A cell that CQL writes with UPDATE ... SET (set removals, list appends,
 * UDT field nulls are assignments too), as opposed to DELETE targets. */
static int cell_is_assignment(const cdc_cell *c)
{
	if (!c->deleted)
		return 1;
	return c->col->complex && (c->col->type->kind == CDC_T_SET || c->col->type->kind == CDC_T_UDT);
}

/* Appends one statement to the CQL, inside a batch when there are several. */
static void stmt_sep(cdc_eventer *ev, int *n)
{
	if (*n)
		cdc_buf_putc(&ev->cql, ' ');
	(*n)++;
}

/* INSERT INTO t (pk..., ck...[, cells...]) VALUES (...) USING TIMESTAMP
 * liveness [AND TTL]: the row marker, and with `with_cells` every cell of the
 * row (tombstones as null). */
static void cql_insert(cdc_eventer *ev, const cdc_mutation *m, const cdc_update *u, const cdc_row *r,
		       int with_cells)
{
	const cdc_table *t = u->table;
	cdc_buf *q = &ev->cql;
	uint32_t i, ncells = with_cells ? r->ncells : 0;

	cdc_buf_lit(q, "INSERT INTO ");
	table_name(q, t);
	cdc_buf_lit(q, " (");
	for (i = 0; i < (uint32_t)t->npk; i++) {
		if (i)
			cdc_buf_lit(q, ", ");
		col_name(q, t->pk[i]);
	}
	for (i = 0; i < r->nck; i++) {
		cdc_buf_lit(q, ", ");
		col_name(q, t->ck[i]);
	}
	for (i = 0; i < ncells; i++) {
		cdc_buf_lit(q, ", ");
		col_name(q, m->cells[r->cell_first + i].col);
	}
	cdc_buf_lit(q, ") VALUES (");
	for (i = 0; i < (uint32_t)t->npk; i++) {
		if (i)
			cdc_buf_lit(q, ", ");
		val(ev, q, CDC_RENDER_CQL_JSON, t->pk[i]->type, &m->values[u->kc_first + i]);
	}
	for (i = 0; i < r->nck; i++) {
		cdc_buf_lit(q, ", ");
		val(ev, q, CDC_RENDER_CQL_JSON, t->ck[i]->type, &m->values[r->ck_first + i]);
	}
	for (i = 0; i < ncells; i++) {
		const cdc_cell *c = &m->cells[r->cell_first + i];

		cdc_buf_lit(q, ", ");
		if (c->deleted)
			cdc_buf_lit(q, "null");
		else
			val(ev, q, CDC_RENDER_CQL_JSON, c->col->type, &c->value);
	}
	cdc_buf_lit(q, ") USING TIMESTAMP ");
	put_num(ev, q, r->lts);
	if (r->lttl) {
		cdc_buf_lit(q, " AND TTL ");
		cdc_buf_i64(q, r->lttl);
	}
	cdc_buf_putc(q, ';');
}

/* The CQL of a row: an INSERT when everything shares the liveness timestamp
 * and TTL, else UPDATE/DELETE statements grouped by timestamp and TTL in an
 * unlogged batch. */
static void cql_row(cdc_eventer *ev, const cdc_mutation *m, const cdc_update *u, const cdc_row *r)
{
	const cdc_table *t = u->table;
	cdc_buf *q = &ev->cql;
	uint32_t i, k;
	int simple_insert = r->lts != CDC_TS_NONE && r->ncdel == 0, nst = 0;
	uint8_t *done;

	/* A counter cell holds this node's running shard total, not the delta
	 * the client sent, and counters take no USING TIMESTAMP: no CQL can
	 * replay it idempotently, so the event carries the value and no cql. */
	for (i = 0; i < r->ncells; i++) {
		const cdc_cell *c = &m->cells[r->cell_first + i];

		if (c->col->type->kind == CDC_T_COUNTER) {
			ev->no_cql = "counter";
			return;
		}
		/* A removed list element (DELETE l[i], l = l - [v], l[i] = null) is
		 * known only by its time-UUID, which CQL cannot name. */
		if (c->col->complex && c->col->type->kind == CDC_T_LIST && c->deleted) {
			ev->no_cql = "list element removal";
			return;
		}
	}
	for (i = 0; i < r->ncells && simple_insert; i++) {
		const cdc_cell *c = &m->cells[r->cell_first + i];

		if (c->col->complex || c->ts != r->lts || (c->expiring ? c->ttl : 0) != r->lttl)
			simple_insert = 0;
	}
	if (simple_insert) {
		cql_insert(ev, m, u, r, 1);
		return;
	}
	/* general form */
	build_where(ev, m, u, m->values + r->ck_first, r->is_static ? 0 : r->nck);
	cdc_buf_lit(q, "BEGIN UNLOGGED BATCH ");
	if (r->lts != CDC_TS_NONE) {
		stmt_sep(ev, &nst);
		cql_insert(ev, m, u, r, 0);
	}
	for (k = 0; k < r->ncdel; k++) {
		const cdc_complex_deletion *cd = &m->cdels[r->cdel_first + k];

		stmt_sep(ev, &nst);
		cdc_buf_lit(q, "DELETE ");
		col_name(q, cd->col);
		cdc_buf_lit(q, " FROM ");
		table_name(q, t);
		using_ts_where(ev, q, cd->del.ts);
		cdc_buf_put(q, ev->where.p, ev->where.len);
		cdc_buf_putc(q, ';');
	}
	/* assignments and deletions, one statement per (kind, ts, ttl) group;
	 * a list's elements stay in list order: a group takes none of a list's
	 * elements past one that belongs to another group */
	cdc_buf_reset(&ev->done);
	if (cdc_buf_reserve(&ev->done, r->ncells) != 0) {
		if (!ev->failed)
			cdc_error(ev->errstr, ev->errlen, "out of memory");
		ev->failed = 1;
		return;
	}
	done = (uint8_t *)ev->done.p;
	memset(done, 0, r->ncells);
	for (i = 0; i < r->ncells; i++) {
		const cdc_cell *c = &m->cells[r->cell_first + i];
		int assign = cell_is_assignment(c), first = 1, lpre = 0;
		const cdc_column *lopen = NULL; /* the list whose literal is open */
		const cdc_column *gap = NULL;   /* the list with an element left for a later group */
		int32_t ttl = c->expiring ? c->ttl : 0;
		uint32_t j;

		if (done[i])
			continue;
		stmt_sep(ev, &nst);
		if (assign) {
			cdc_buf_lit(q, "UPDATE ");
			table_name(q, t);
			cdc_buf_lit(q, " USING TIMESTAMP ");
			put_num(ev, q, c->ts);
			if (ttl) {
				cdc_buf_lit(q, " AND TTL ");
				cdc_buf_i64(q, ttl);
			}
			cdc_buf_lit(q, " SET ");
		} else {
			cdc_buf_lit(q, "DELETE ");
		}
		for (j = i; j < r->ncells; j++) {
			const cdc_cell *o = &m->cells[r->cell_first + j];

			if (done[j])
				continue;
			if (cell_is_assignment(o) != assign || o->ts != c->ts || (o->expiring ? o->ttl : 0) != ttl) {
				if (list_element(o))
					gap = o->col;
				continue;
			}
			if (list_element(o) && gap == o->col)
				continue;
			done[j] = 1;
			if (list_element(o)) {
				/* elements in path order: prepends, then appends */
				int pre = list_prepended(o);

				if (lopen == o->col && lpre == pre) {
					cdc_buf_lit(q, ", ");
				} else {
					close_list(q, &lopen, lpre);
					if (!first)
						cdc_buf_lit(q, ", ");
					col_name(q, o->col);
					cdc_buf_lit(q, " = ");
					if (!pre) {
						col_name(q, o->col);
						cdc_buf_lit(q, " + ");
					}
					cdc_buf_putc(q, '[');
					lopen = o->col;
					lpre = pre;
				}
				val(ev, q, CDC_RENDER_CQL_JSON, o->col->type->sub[0], &o->value);
				first = 0;
				continue;
			}
			close_list(q, &lopen, lpre);
			if (!first)
				cdc_buf_lit(q, ", ");
			first = 0;
			cql_cell(ev, q, o);
		}
		close_list(q, &lopen, lpre);
		if (!assign) {
			cdc_buf_lit(q, " FROM ");
			table_name(q, t);
			cdc_buf_lit(q, " USING TIMESTAMP ");
			put_num(ev, q, c->ts);
		}
		cdc_buf_lit(q, " WHERE ");
		cdc_buf_put(q, ev->where.p, ev->where.len);
		cdc_buf_putc(q, ';');
	}
	if (nst == 1) { /* one statement: drop the batch wrapper */
		size_t pre = strlen("BEGIN UNLOGGED BATCH ");

		memmove(q->p, q->p + pre, q->len - pre);
		q->len -= pre;
	} else {
		cdc_buf_lit(q, " APPLY BATCH;");
	}
}

static int emit_row(cdc_eventer *ev, const cdc_mutation *m, const cdc_update *u, const cdc_row *r,
		    const cdc_event_source *src, cdc_event_fn fn, void *opaque)
{
	const char *op;
	int64_t ts = CDC_TS_NONE;
	uint32_t i;
	int live = 0, rc, n = 0;

	if (r->del.ts != CDC_TS_NONE) {
		begin(ev, "delete_row", m, u);
		cdc_buf_lit(&ev->json, ",\"clustering\":");
		json_columns(ev, u->table->ck, m->values + r->ck_first, r->nck);
		build_where(ev, m, u, m->values + r->ck_first, r->nck);
		cdc_buf_lit(&ev->cql, "DELETE FROM ");
		table_name(&ev->cql, u->table);
		using_ts_where(ev, &ev->cql, r->del.ts);
		cdc_buf_put(&ev->cql, ev->where.p, ev->where.len);
		cdc_buf_putc(&ev->cql, ';');
		if ((rc = finish(ev, u, r->del.ts, src, fn, opaque)) != 0)
			return rc;
		n++;
	}
	if (r->lts == CDC_TS_NONE && r->ncells == 0 && r->ncdel == 0)
		return n;
	for (i = 0; i < r->ncells; i++) {
		const cdc_cell *c = &m->cells[r->cell_first + i];

		live |= cell_is_live(c); /* element tombstones alone are delete_cells too */
		if (c->ts > ts)
			ts = c->ts;
	}
	for (i = 0; i < r->ncdel; i++)
		if (m->cdels[r->cdel_first + i].del.ts > ts)
			ts = m->cdels[r->cdel_first + i].del.ts;
	if (r->lts != CDC_TS_NONE) {
		op = "insert";
		if (r->lts > ts)
			ts = r->lts;
	} else {
		op = live ? "update" : "delete_cells";
	}
	begin(ev, op, m, u);
	if (r->is_static) {
		cdc_buf_lit(&ev->json, ",\"static\":true");
	} else {
		cdc_buf_lit(&ev->json, ",\"clustering\":");
		json_columns(ev, u->table->ck, m->values + r->ck_first, r->nck);
	}
	if (r->lttl)
		put_ttl(&ev->json, r->lttl, r->lldt);
	if (r->lts != CDC_TS_NONE && r->lts != ts) {
		/* the row's liveness is older than a cell of the same row (a batch
		 * that inserts and updates the row at two timestamps) */
		cdc_buf_lit(&ev->json, ",\"liveness_ts\":");
		put_num(ev, &ev->json, r->lts);
	}
	json_cells(ev, m, r);
	for (i = 0; i < r->ncells; i++)
		if (list_element(&m->cells[r->cell_first + i])) {
			/* applying the cql twice adds the elements twice (docs/events.md) */
			cdc_buf_lit(&ev->json, ",\"list_append\":true");
			break;
		}
	cql_row(ev, m, u, r);
	if ((rc = finish(ev, u, ts, src, fn, opaque)) != 0)
		return rc;
	return n + 1;
}

/* ---- range tombstones ---- */

static int is_open(uint8_t kind)
{
	return kind == CDC_RT_INCL_START_BOUND || kind == CDC_RT_EXCL_START_BOUND;
}

static void json_bound(cdc_eventer *ev, const char *name, const cdc_update *u, const cdc_mutation *m,
		       const cdc_rt_marker *b, int inclusive)
{
	cdc_buf_lit(&ev->json, ",\"");
	cdc_buf_puts(&ev->json, name);
	cdc_buf_lit(&ev->json, "\":{\"clustering\":");
	json_columns(ev, u->table->ck, m->values + b->v_first, b->nv);
	if (inclusive)
		cdc_buf_lit(&ev->json, ",\"inclusive\":true}");
	else
		cdc_buf_lit(&ev->json, ",\"inclusive\":false}");
}

/* The WHERE restrictions of a slice between two bounds (in clustering order). */
static void cql_slice(cdc_eventer *ev, const cdc_mutation *m, const cdc_update *u,
		      const cdc_rt_marker *s, int s_incl, const cdc_rt_marker *e, int e_incl)
{
	const cdc_table *t = u->table;
	cdc_buf *q = &ev->cql;
	uint32_t common = 0, i;
	const cdc_value *sv = m->values + s->v_first, *evv = m->values + e->v_first;

	while (common < s->nv && common < e->nv && sv[common].null == evv[common].null &&
	       sv[common].len == evv[common].len &&
	       (sv[common].len == 0 || memcmp(sv[common].p, evv[common].p, sv[common].len) == 0))
		common++;
	/* both bounds stop at the common prefix: it is an equality on a prefix */
	build_where(ev, m, u, sv, common);
	cdc_buf_put(q, ev->where.p, ev->where.len);
	for (i = 0; i < 2; i++) {
		const cdc_rt_marker *b = i == 0 ? s : e;
		const cdc_value *bv = m->values + b->v_first;
		int incl = i == 0 ? s_incl : e_incl;
		uint32_t extra = b->nv - common, k;
		int desc, lower;

		if (b->nv <= common)
			continue;
		desc = t->ck[common]->desc;
		lower = (i == 0) != desc; /* a start bound is a lower value unless DESC */
		cdc_buf_lit(q, " AND ");
		if (extra > 1)
			cdc_buf_putc(q, '(');
		for (k = common; k < b->nv; k++) {
			if (k > common)
				cdc_buf_lit(q, ", ");
			col_name(q, t->ck[k]);
		}
		if (extra > 1)
			cdc_buf_putc(q, ')');
		cdc_buf_puts(q, lower ? (incl ? " >= " : " > ") : (incl ? " <= " : " < "));
		if (extra > 1)
			cdc_buf_putc(q, '(');
		for (k = common; k < b->nv; k++) {
			if (k > common)
				cdc_buf_lit(q, ", ");
			val(ev, q, CDC_RENDER_CQL_JSON, t->ck[k]->type, &bv[k]);
		}
		if (extra > 1)
			cdc_buf_putc(q, ')');
	}
}

static int emit_range(cdc_eventer *ev, const cdc_mutation *m, const cdc_update *u,
		      const cdc_rt_marker *s, int s_incl, const cdc_rt_marker *e, int e_incl,
		      cdc_deletion del, const cdc_event_source *src, cdc_event_fn fn, void *opaque)
{
	begin(ev, "delete_range", m, u);
	if (s->nv)
		json_bound(ev, "start", u, m, s, s_incl);
	if (e->nv)
		json_bound(ev, "end", u, m, e, e_incl);
	cdc_buf_lit(&ev->cql, "DELETE FROM ");
	table_name(&ev->cql, u->table);
	using_ts_where(ev, &ev->cql, del.ts);
	cql_slice(ev, m, u, s, s_incl, e, e_incl);
	cdc_buf_putc(&ev->cql, ';');
	return finish(ev, u, del.ts, src, fn, opaque);
}

static int emit_ranges(cdc_eventer *ev, const cdc_mutation *m, const cdc_update *u,
		       const cdc_event_source *src, cdc_event_fn fn, void *opaque, int *count)
{
	const cdc_rt_marker *open = NULL;
	int open_incl = 0, rc;
	cdc_deletion open_del = { CDC_TS_NONE, 0 };
	uint32_t i;

	for (i = 0; i < u->nrt; i++) {
		const cdc_rt_marker *k = &m->rts[u->rt_first + i];

		if (is_open(k->kind)) {
			open = k;
			open_incl = k->kind == CDC_RT_INCL_START_BOUND;
			open_del = k->del;
			continue;
		}
		if (!open) {
			cdc_error(ev->errstr, ev->errlen, "range tombstone closes with no open bound");
			return -1;
		}
		/* a close bound, or a boundary: closes one range (and opens the next) */
		rc = emit_range(ev, m, u, open, open_incl, k,
				k->kind == CDC_RT_INCL_END_BOUND || k->kind == CDC_RT_INCL_END_EXCL_START_BOUNDARY,
				open_del, src, fn, opaque);
		if (rc != 0)
			return rc;
		(*count)++;
		open = NULL;
		if (k->kind == CDC_RT_EXCL_END_INCL_START_BOUNDARY || k->kind == CDC_RT_INCL_END_EXCL_START_BOUNDARY) {
			open = k;
			open_incl = k->kind == CDC_RT_EXCL_END_INCL_START_BOUNDARY;
			open_del = k->del2;
		}
	}
	return 0;
}

/* ---- the seed's trigger format ---- */

/* A value as the trigger printed it: text as is, others as CQL literals. */
static void plain(cdc_eventer *ev, cdc_buf *out, const cdc_type *t, const cdc_value *v)
{
	if (t->kind == CDC_T_TEXT || t->kind == CDC_T_ASCII)
		cdc_buf_put(out, v->p, v->len);
	else
		val(ev, out, CDC_RENDER_CQL, t, v);
}

/* "drama:2015" (key) or "7.4, 110" (clustering), as a JSON string. */
static void joined(cdc_eventer *ev, const cdc_column *const *cols, const cdc_value *v, uint32_t n,
		   const char *sep)
{
	uint32_t i;

	cdc_buf_reset(&ev->tmp);
	for (i = 0; i < n; i++) {
		if (i)
			cdc_buf_puts(&ev->tmp, sep);
		plain(ev, &ev->tmp, cols[i]->type, &v[i]);
	}
	cdc_buf_json_str(&ev->json, ev->tmp.p ? ev->tmp.p : "", ev->tmp.len);
}

static int trigger_done(cdc_eventer *ev, const cdc_mutation *m, const cdc_update *u, int64_t ts,
			cdc_event_fn fn, void *opaque)
{
	ev->ts = ts;
	cdc_buf_put(&ev->json, ",\"key\":", 7);
	ev->key_off = ev->json.len + 1; /* inside the quotes */
	joined(ev, u->table->pk, m->values + u->kc_first, u->nkc, ":");
	ev->key_len = ev->json.len - 1 - ev->key_off;
	cdc_buf_putc(&ev->json, '}');
	if (ev->json.oom)
		return -1;
	return fn(opaque, u, ev->json.p, ev->json.len);
}

/* One message per change, in the shape of the seed's trigger: rows with a
 * clusteringKey and cells {name, value} or {deleted, name}; rowDeleted for a
 * row deletion; partitionDeleted and rangeDeleted (with start/end and their
 * inclusiveness) for what the seed's trigger left empty. */
static int emit_trigger(cdc_eventer *ev, const cdc_mutation *m, const cdc_update *u,
			cdc_event_fn fn, void *opaque, int *count)
{
	const cdc_table *t = u->table;
	const cdc_rt_marker *open = NULL;
	uint32_t i, k;
	int rc;

	if (u->pdel.ts != CDC_TS_NONE) {
		cdc_buf_reset(&ev->json);
		ev->op = "delete_partition";
		cdc_buf_puts(&ev->json, "{\"partitionDeleted\":true");
		if ((rc = trigger_done(ev, m, u, u->pdel.ts, fn, opaque)) != 0)
			return rc;
		(*count)++;
	}
	for (i = 0; i < u->nrt; i++) {
		const cdc_rt_marker *r = &m->rts[u->rt_first + i];

		if (is_open(r->kind)) {
			open = r;
			continue;
		}
		if (!open)
			continue;
		cdc_buf_reset(&ev->json);
		ev->op = "delete_range";
		cdc_buf_puts(&ev->json, "{\"rangeDeleted\":true,\"start\":");
		joined(ev, t->ck, m->values + open->v_first, open->nv, ", ");
		cdc_buf_printf(&ev->json, ",\"startInclusive\":%s,\"end\":",
			       open->kind == CDC_RT_INCL_START_BOUND ? "true" : "false");
		joined(ev, t->ck, m->values + r->v_first, r->nv, ", ");
		cdc_buf_printf(&ev->json, ",\"endInclusive\":%s",
			       r->kind == CDC_RT_INCL_END_BOUND || r->kind == CDC_RT_INCL_END_EXCL_START_BOUNDARY ? "true" : "false");
		if ((rc = trigger_done(ev, m, u, is_open(open->kind) ? open->del.ts : open->del2.ts, fn, opaque)) != 0)
			return rc;
		(*count)++;
		open = (r->kind == CDC_RT_EXCL_END_INCL_START_BOUNDARY || r->kind == CDC_RT_INCL_END_EXCL_START_BOUNDARY) ? r : NULL;
	}
	for (i = 0; i < u->nrows; i++) {
		const cdc_row *r = &m->rows[u->row_first + i];
		int64_t ts = r->del.ts > r->lts ? r->del.ts : r->lts;

		cdc_buf_reset(&ev->json);
		cdc_buf_putc(&ev->json, '{');
		ev->op = r->del.ts != CDC_TS_NONE ? "delete_row" : r->lts != CDC_TS_NONE ? "insert" : "update";
		if (r->del.ts != CDC_TS_NONE)
			cdc_buf_puts(&ev->json, "\"rowDeleted\":true,");
		cdc_buf_puts(&ev->json, "\"rows\":[{");
		if (r->ncells) {
			cdc_buf_puts(&ev->json, "\"cells\":[");
			for (k = 0; k < r->ncells; k++) {
				const cdc_cell *c = &m->cells[r->cell_first + k];

				if (c->ts > ts)
					ts = c->ts;
				if (k)
					cdc_buf_putc(&ev->json, ',');
				cdc_buf_putc(&ev->json, '{');
				if (c->deleted)
					cdc_buf_puts(&ev->json, "\"deleted\":true,");
				cdc_buf_puts(&ev->json, "\"name\":");
				cdc_buf_put(&ev->json, c->col->json_name, c->col->json_name_len);
				if (!c->deleted) {
					cdc_buf_puts(&ev->json, ",\"value\":");
					cdc_buf_reset(&ev->tmp);
					if (c->col->complex)
						val(ev, &ev->tmp, CDC_RENDER_CQL,
						    c->col->type->kind == CDC_T_MAP ? c->col->type->sub[1] :
						    c->col->type->kind == CDC_T_LIST ? c->col->type->sub[0] : c->col->type,
						    &c->value);
					else
						plain(ev, &ev->tmp, c->col->type, &c->value);
					cdc_buf_json_str(&ev->json, ev->tmp.p ? ev->tmp.p : "", ev->tmp.len);
				}
				cdc_buf_putc(&ev->json, '}');
			}
			cdc_buf_puts(&ev->json, "],");
		}
		cdc_buf_puts(&ev->json, "\"clusteringKey\":");
		if (r->is_static)
			cdc_buf_puts(&ev->json, "\"static\"");
		else
			joined(ev, t->ck, m->values + r->ck_first, r->nck, ", ");
		cdc_buf_puts(&ev->json, "}]");
		if ((rc = trigger_done(ev, m, u, ts, fn, opaque)) != 0)
			return rc;
		(*count)++;
	}
	return 0;
}

int cdc_events_emit(cdc_eventer *ev, const cdc_mutation *m, const cdc_event_source *src,
		    cdc_event_fn fn, void *opaque, char *errstr, size_t errlen)
{
	uint32_t i, r;
	int count = 0, rc;

	ev->errstr = errstr;
	ev->errlen = errlen;
	ev->failed = 0;
	ev->stale = 0;
	for (i = 0; i < m->nupdates; i++) {
		const cdc_update *u = &m->updates[i];

		if (!u->cdc)
			continue;
		if (ev->format == CDC_EVENT_TRIGGER) {
			if (emit_trigger(ev, m, u, fn, opaque, &count) != 0)
				return -1;
			continue;
		}
		if (u->pdel.ts != CDC_TS_NONE) {
			begin(ev, "delete_partition", m, u);
			build_where(ev, m, u, NULL, 0);
			cdc_buf_lit(&ev->cql, "DELETE FROM ");
			table_name(&ev->cql, u->table);
			using_ts_where(ev, &ev->cql, u->pdel.ts);
			cdc_buf_put(&ev->cql, ev->where.p, ev->where.len);
			cdc_buf_putc(&ev->cql, ';');
			if ((rc = finish(ev, u, u->pdel.ts, src, fn, opaque)) != 0)
				return rc < 0 ? -1 : count;
			count++;
		}
		if ((rc = emit_ranges(ev, m, u, src, fn, opaque, &count)) != 0)
			return -1;
		for (r = 0; r < u->nrows; r++) {
			rc = emit_row(ev, m, u, &m->rows[u->row_first + r], src, fn, opaque);
			if (rc < 0)
				return -1;
			count += rc;
		}
	}
	if (ev->failed)
		return ev->stale ? CDC_EVENTS_STALE_SCHEMA : -1;
	return count;
}
