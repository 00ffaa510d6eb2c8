/* schema_fetch.c - system_schema of a live node to the schema JSON
 * (include/schema_fetch.h), and `cdctail schema export`. */
#include "schema_fetch.h"
#include "cql.h"
#include "err.h"
#include "log.h"
#include "schema.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PAGE_SIZE 500


typedef struct s_table {
	char *ks, *name;
	char id[37];
	int cdc;
	int internal;                   /* a system_schema table: kept to decode
					 * the schema changes in the commitlog */
	int64_t cdc_written;            /* writetime(cdc), µs; 0 unknown */
} s_table;

typedef struct s_column {
	char *ks, *table, *name, *kind, *order, *type;
	int32_t position;
	int kind_rank;
} s_column;

typedef struct s_type {
	char *ks, *name;
	cJSON *field_names, *field_types;
} s_type;

typedef struct s_dropped {
	char *ks, *table, *name, *type;
	int64_t time_ms;
} s_dropped;

/* Everything read from the node. */
typedef struct fetch {
	const char *const *keyspaces;   /* wanted, or NULL */
	char **ks_seen;                 /* keyspaces that exist */
	size_t nks_seen;
	char *release;
	s_table *tables;
	size_t ntables;
	s_column *cols;
	size_t ncols;
	s_type *types;
	size_t ntypes;
	s_dropped *dropped;
	size_t ndropped;
	cdc_buf *others;                /* ids of the tables left out, or NULL */
	cJSON *internal_ids;            /* ids of Cassandra's own tables, as strings */
} fetch;

/* Grows an array of `elem`-byte items to hold one more; 0 or -1. */
static int push(void **arr, size_t n, size_t elem)
{
	void *p;

	if (n != 0 && (n < 8 || (n & (n - 1)) != 0))
		return 0; /* capacity: 8, then doubled at each power of two */
	p = realloc(*arr, (n ? n * 2 : 8) * elem);
	if (!p)
		return -1;
	*arr = p;
	return 0;
}

/* Whether ks is one of Cassandra's own keyspaces. */
static int is_system(const char *ks)
{
	return cdc_schema_is_system_keyspace(ks);
}

/* Whether ks is the keyspace whose tables describe the schema: their
 * definitions are exported (as "internal") so that the schema changes in
 * the commitlog can be decoded. */
static int is_schema_keyspace(const char *ks)
{
	return strcmp(ks, "system_schema") == 0;
}

/* Whether a keyspace's rows are wanted. */
static int wanted(const fetch *f, const char *ks)
{
	size_t i;

	if (!f->keyspaces)
		return !is_system(ks);
	for (i = 0; f->keyspaces[i]; i++)
		if (strcmp(ks, f->keyspaces[i]) == 0)
			return 1;
	return 0;
}

/* The index of the column called `name` in a result, or -1. */
static int col_index(const cdc_cql_col *cols, int ncols, const char *name)
{
	int i;

	for (i = 0; i < ncols; i++)
		if (strcmp(cols[i].name, name) == 0)
			return i;
	return -1;
}

/* Finds every named column of a result row, or fails naming the missing one. */
static int find_cols(const cdc_cql_col *cols, int ncols, const char *const *names, int *idx, char *errstr,
		     size_t errlen)
{
	int i;

	for (i = 0; names[i]; i++) {
		idx[i] = col_index(cols, ncols, names[i]);
		if (idx[i] < 0)
			return cdc_error(errstr, errlen, "the result has no column %s", names[i]);
	}
	return 0;
}

/* Row callbacks: each copies what it needs out of the row. */

static int on_local(void *opaque, const cdc_cql_col *cols, const cdc_cql_value *cells, int ncols,
		    char *errstr, size_t errlen)
{
	fetch *f = opaque;
	static const char *const names[] = { "release_version", NULL };
	int idx[1];

	if (find_cols(cols, ncols, names, idx, errstr, errlen) != 0)
		return -1;
	free(f->release);
	return cdc_cql_get_text(&cells[idx[0]], &f->release, errstr, errlen);
}

static int on_keyspace(void *opaque, const cdc_cql_col *cols, const cdc_cql_value *cells, int ncols,
		       char *errstr, size_t errlen)
{
	fetch *f = opaque;
	static const char *const names[] = { "keyspace_name", NULL };
	int idx[1];
	char *ks;

	if (find_cols(cols, ncols, names, idx, errstr, errlen) != 0 ||
	    cdc_cql_get_text(&cells[idx[0]], &ks, errstr, errlen) != 0)
		return -1;
	if (push((void **)&f->ks_seen, f->nks_seen, sizeof(*f->ks_seen)) != 0) {
		free(ks);
		return cdc_error(errstr, errlen, "out of memory");
	}
	f->ks_seen[f->nks_seen++] = ks;
	return 0;
}

/* A bigint cell (writetime()). 0, or -1 with errstr. */
static int get_bigint(const cdc_cql_value *v, int64_t *out, char *errstr, size_t errlen)
{
	uint64_t x = 0;
	size_t i;

	if (!v->p || v->len != 8)
		return cdc_error(errstr, errlen, "a bigint cell of %zu bytes", v->len);
	for (i = 0; i < 8; i++)
		x = x << 8 | v->p[i];
	*out = (int64_t)x;
	return 0;
}

/* Records the id of one of Cassandra's own tables. 0, or -1 with errstr. */
static int note_internal(fetch *f, const cdc_cql_value *id, char *errstr, size_t errlen)
{
	char uuid[37];

	if (cdc_cql_get_uuid(id, uuid, errstr, errlen) != 0)
		return -1;
	if (!f->internal_ids && !(f->internal_ids = cJSON_CreateArray()))
		return cdc_error(errstr, errlen, "out of memory");
	cJSON_AddItemToArray(f->internal_ids, cJSON_CreateString(uuid));
	return 0;
}

static int on_table(void *opaque, const cdc_cql_col *cols, const cdc_cql_value *cells, int ncols,
		    char *errstr, size_t errlen)
{
	fetch *f = opaque;
	static const char *const names[] = { "keyspace_name", "table_name", "id", "cdc", "writetime(cdc)", NULL };
	int idx[5];
	s_table t;

	memset(&t, 0, sizeof(t));
	if (find_cols(cols, ncols, names, idx, errstr, errlen) != 0 ||
	    cdc_cql_get_text(&cells[idx[0]], &t.ks, errstr, errlen) != 0)
		return -1;
	if (is_system(t.ks) && note_internal(f, &cells[idx[2]], errstr, errlen) != 0) {
		free(t.ks);
		return -1;
	}
	t.internal = is_schema_keyspace(t.ks);
	if (!wanted(f, t.ks)) {
		const cdc_cql_value *id = &cells[idx[2]];

		if (f->others && id->p && id->len == 16) {
			cdc_buf_put(f->others, id->p, 16);
			if (f->others->oom) {
				free(t.ks);
				return cdc_error(errstr, errlen, "out of memory");
			}
		}
		if (!t.internal) {
			free(t.ks);
			return 0;
		}
	}
	if (cdc_cql_get_text(&cells[idx[1]], &t.name, errstr, errlen) != 0 ||
	    cdc_cql_get_uuid(&cells[idx[2]], t.id, errstr, errlen) != 0 ||
	    (cells[idx[3]].p && cdc_cql_get_bool(&cells[idx[3]], &t.cdc, errstr, errlen) != 0) ||
	    (cells[idx[4]].p && get_bigint(&cells[idx[4]], &t.cdc_written, errstr, errlen) != 0) ||
	    push((void **)&f->tables, f->ntables, sizeof(*f->tables)) != 0) {
		free(t.ks);
		free(t.name);
		if (errstr && !*errstr)
			cdc_error(errstr, errlen, "out of memory");
		return -1;
	}
	f->tables[f->ntables++] = t;
	return 0;
}

/* The exporter's column order: partition key, clustering, static, regular. */
static int kind_rank(const char *kind)
{
	static const char *const order[] = { "partition_key", "clustering", "static", "regular" };
	int i;

	for (i = 0; i < 4; i++)
		if (strcmp(kind, order[i]) == 0)
			return i;
	return 4;
}

static int on_column(void *opaque, const cdc_cql_col *cols, const cdc_cql_value *cells, int ncols,
		     char *errstr, size_t errlen)
{
	fetch *f = opaque;
	static const char *const names[] = { "keyspace_name", "table_name", "column_name", "kind",
					     "position", "clustering_order", "type", NULL };
	int idx[7], rc;
	s_column c;

	memset(&c, 0, sizeof(c));
	if (find_cols(cols, ncols, names, idx, errstr, errlen) != 0 ||
	    cdc_cql_get_text(&cells[idx[0]], &c.ks, errstr, errlen) != 0)
		return -1;
	if (!wanted(f, c.ks) && !is_schema_keyspace(c.ks)) {
		free(c.ks);
		return 0;
	}
	rc = cdc_cql_get_text(&cells[idx[1]], &c.table, errstr, errlen);
	if (!rc)
		rc = cdc_cql_get_text(&cells[idx[2]], &c.name, errstr, errlen);
	if (!rc)
		rc = cdc_cql_get_text(&cells[idx[3]], &c.kind, errstr, errlen);
	if (!rc)
		rc = cdc_cql_get_int(&cells[idx[4]], &c.position, errstr, errlen);
	if (!rc)
		rc = cdc_cql_get_text(&cells[idx[5]], &c.order, errstr, errlen);
	if (!rc)
		rc = cdc_cql_get_text(&cells[idx[6]], &c.type, errstr, errlen);
	if (!rc && push((void **)&f->cols, f->ncols, sizeof(*f->cols)) != 0)
		rc = cdc_error(errstr, errlen, "out of memory");
	if (rc) {
		free(c.ks); free(c.table); free(c.name); free(c.kind); free(c.order); free(c.type);
		return -1;
	}
	c.kind_rank = kind_rank(c.kind);
	f->cols[f->ncols++] = c;
	return 0;
}

/* A list<text> cell as a JSON array of strings. */
static cJSON *text_list(const cdc_cql_value *v, char *errstr, size_t errlen)
{
	cJSON *arr = cJSON_CreateArray();
	int32_t n, i;
	size_t off = 0;

	if (!arr) {
		cdc_error(errstr, errlen, "out of memory");
		return NULL;
	}
	if (!v->p) /* an empty collection reads back as null */
		return arr;
	if (cdc_cql_coll_count(v, &n, errstr, errlen) != 0)
		goto bad;
	for (i = 0; i < n; i++) {
		cdc_cql_value item;
		char *s;
		cJSON *js;

		if (cdc_cql_coll_next(v, &off, &item, errstr, errlen) != 0 ||
		    cdc_cql_get_text(&item, &s, errstr, errlen) != 0)
			goto bad;
		js = cJSON_CreateString(s);
		free(s);
		if (!js) {
			cdc_error(errstr, errlen, "out of memory");
			goto bad;
		}
		cJSON_AddItemToArray(arr, js);
	}
	return arr;
bad:
	cJSON_Delete(arr);
	return NULL;
}

static int on_type(void *opaque, const cdc_cql_col *cols, const cdc_cql_value *cells, int ncols,
		   char *errstr, size_t errlen)
{
	fetch *f = opaque;
	static const char *const names[] = { "keyspace_name", "type_name", "field_names", "field_types", NULL };
	int idx[4];
	s_type t;

	memset(&t, 0, sizeof(t));
	if (find_cols(cols, ncols, names, idx, errstr, errlen) != 0 ||
	    cdc_cql_get_text(&cells[idx[0]], &t.ks, errstr, errlen) != 0)
		return -1;
	if (!wanted(f, t.ks)) {
		free(t.ks);
		return 0;
	}
	if (cdc_cql_get_text(&cells[idx[1]], &t.name, errstr, errlen) != 0 ||
	    !(t.field_names = text_list(&cells[idx[2]], errstr, errlen)) ||
	    !(t.field_types = text_list(&cells[idx[3]], errstr, errlen)) ||
	    push((void **)&f->types, f->ntypes, sizeof(*f->types)) != 0) {
		if (t.field_types)
			cdc_error(errstr, errlen, "out of memory");
		free(t.ks);
		free(t.name);
		cJSON_Delete(t.field_names);
		cJSON_Delete(t.field_types);
		return -1;
	}
	f->types[f->ntypes++] = t;
	return 0;
}

static int on_dropped(void *opaque, const cdc_cql_col *cols, const cdc_cql_value *cells, int ncols,
		      char *errstr, size_t errlen)
{
	fetch *f = opaque;
	static const char *const names[] = { "keyspace_name", "table_name", "column_name", "type",
					     "dropped_time", NULL };
	int idx[5], rc;
	s_dropped d;

	memset(&d, 0, sizeof(d));
	if (find_cols(cols, ncols, names, idx, errstr, errlen) != 0 ||
	    cdc_cql_get_text(&cells[idx[0]], &d.ks, errstr, errlen) != 0)
		return -1;
	if (!wanted(f, d.ks)) {
		free(d.ks);
		return 0;
	}
	rc = cdc_cql_get_text(&cells[idx[1]], &d.table, errstr, errlen);
	if (!rc)
		rc = cdc_cql_get_text(&cells[idx[2]], &d.name, errstr, errlen);
	if (!rc)
		rc = cdc_cql_get_text(&cells[idx[3]], &d.type, errstr, errlen);
	if (!rc)
		rc = cdc_cql_get_timestamp(&cells[idx[4]], &d.time_ms, errstr, errlen);
	if (!rc && push((void **)&f->dropped, f->ndropped, sizeof(*f->dropped)) != 0)
		rc = cdc_error(errstr, errlen, "out of memory");
	if (rc) {
		free(d.ks); free(d.table); free(d.name); free(d.type);
		return -1;
	}
	f->dropped[f->ndropped++] = d;
	return 0;
}

/* Orders: byte-wise names, as system_schema's clustering orders them. */

/* By keyspace, then table. */
static int cmp_table(const void *a, const void *b)
{
	const s_table *x = a, *y = b;
	int c = strcmp(x->ks, y->ks);

	return c ? c : strcmp(x->name, y->name);
}

/* By keyspace, table, kind, position, name. */
static int cmp_column(const void *a, const void *b)
{
	const s_column *x = a, *y = b;
	int c = strcmp(x->ks, y->ks);

	if (!c)
		c = strcmp(x->table, y->table);
	if (!c)
		c = x->kind_rank - y->kind_rank;
	if (!c)
		c = (x->position > y->position) - (x->position < y->position);
	return c ? c : strcmp(x->name, y->name);
}

/* By keyspace, then type name. */
static int cmp_type(const void *a, const void *b)
{
	const s_type *x = a, *y = b;
	int c = strcmp(x->ks, y->ks);

	return c ? c : strcmp(x->name, y->name);
}

/* By keyspace, table, column name. */
static int cmp_dropped(const void *a, const void *b)
{
	const s_dropped *x = a, *y = b;
	int c = strcmp(x->ks, y->ks);

	if (!c)
		c = strcmp(x->table, y->table);
	return c ? c : strcmp(x->name, y->name);
}

/* -1, 0, 1 comparing a (ks, table) key with another. */
static int cmp_key(const char *ks1, const char *t1, const char *ks2, const char *t2)
{
	int c = strcmp(ks1, ks2);

	return c ? c : strcmp(t1, t2);
}

/* Frees every copied row (the struct itself is the caller's). */
static void fetch_free(fetch *f)
{
	size_t i;

	for (i = 0; i < f->nks_seen; i++)
		free(f->ks_seen[i]);
	free(f->ks_seen);
	free(f->release);
	for (i = 0; i < f->ntables; i++) {
		free(f->tables[i].ks);
		free(f->tables[i].name);
	}
	free(f->tables);
	for (i = 0; i < f->ncols; i++) {
		s_column *c = &f->cols[i];

		free(c->ks); free(c->table); free(c->name); free(c->kind); free(c->order); free(c->type);
	}
	free(f->cols);
	for (i = 0; i < f->ntypes; i++) {
		free(f->types[i].ks);
		free(f->types[i].name);
		cJSON_Delete(f->types[i].field_names);
		cJSON_Delete(f->types[i].field_types);
	}
	free(f->types);
	for (i = 0; i < f->ndropped; i++) {
		s_dropped *d = &f->dropped[i];

		free(d->ks); free(d->table); free(d->name); free(d->type);
	}
	free(f->dropped);
	cJSON_Delete(f->internal_ids);
}

/* Builds the document from the sorted rows; NULL when out of memory. */
static cJSON *build_json(fetch *f, const char *host)
{
	cJSON *root = cJSON_CreateObject(), *src, *types, *tables;
	size_t i, ci = 0, di = 0;

	if (!root)
		return NULL;
	cJSON_AddStringToObject(root, "format", "cdctail-schema/1");
	src = cJSON_AddObjectToObject(root, "source");
	if (src) {
		cJSON_AddStringToObject(src, "cassandra_version", f->release ? f->release : "");
		cJSON_AddStringToObject(src, "host", host);
	}
	if (f->internal_ids) {
		cJSON_AddItemToObject(root, "internal_ids", f->internal_ids);
		f->internal_ids = NULL; /* now owned by the document */
	}
	types = cJSON_AddArrayToObject(root, "types");
	tables = cJSON_AddArrayToObject(root, "tables");
	if (!src || !types || !tables)
		goto oom;
	for (i = 0; i < f->ntypes; i++) {
		s_type *t = &f->types[i];
		cJSON *o = cJSON_CreateObject();

		if (!o)
			goto oom;
		cJSON_AddItemToArray(types, o);
		cJSON_AddStringToObject(o, "keyspace", t->ks);
		cJSON_AddStringToObject(o, "name", t->name);
		cJSON_AddItemToObject(o, "field_names", t->field_names);
		cJSON_AddItemToObject(o, "field_types", t->field_types);
		t->field_names = t->field_types = NULL; /* now owned by the document */
	}
	for (i = 0; i < f->ntables; i++) {
		s_table *t = &f->tables[i];
		cJSON *o = cJSON_CreateObject(), *cols, *drops;

		if (!o)
			goto oom;
		cJSON_AddItemToArray(tables, o);
		cJSON_AddStringToObject(o, "keyspace", t->ks);
		cJSON_AddStringToObject(o, "table", t->name);
		cJSON_AddStringToObject(o, "id", t->id);
		cJSON_AddBoolToObject(o, "cdc", t->cdc);
		if (t->internal)
			cJSON_AddBoolToObject(o, "internal", 1);
		if (t->cdc_written) {
			char us[32];

			snprintf(us, sizeof(us), "%lld", (long long)t->cdc_written);
			cJSON_AddRawToObject(o, "cdc_written", us);
		}
		cols = cJSON_AddArrayToObject(o, "columns");
		drops = cJSON_AddArrayToObject(o, "dropped_columns");
		if (!cols || !drops)
			goto oom;
		/* columns and dropped columns are sorted by (ks, table) too */
		while (ci < f->ncols && cmp_key(f->cols[ci].ks, f->cols[ci].table, t->ks, t->name) < 0)
			ci++;
		for (; ci < f->ncols && cmp_key(f->cols[ci].ks, f->cols[ci].table, t->ks, t->name) == 0; ci++) {
			s_column *c = &f->cols[ci];
			cJSON *jc = cJSON_CreateObject();

			if (!jc)
				goto oom;
			cJSON_AddItemToArray(cols, jc);
			cJSON_AddStringToObject(jc, "name", c->name);
			cJSON_AddStringToObject(jc, "kind", c->kind);
			cJSON_AddNumberToObject(jc, "position", c->position);
			cJSON_AddStringToObject(jc, "clustering_order", c->order);
			cJSON_AddStringToObject(jc, "type", c->type);
		}
		while (di < f->ndropped && cmp_key(f->dropped[di].ks, f->dropped[di].table, t->ks, t->name) < 0)
			di++;
		for (; di < f->ndropped && cmp_key(f->dropped[di].ks, f->dropped[di].table, t->ks, t->name) == 0; di++) {
			s_dropped *d = &f->dropped[di];
			cJSON *jd = cJSON_CreateObject();
			char us[32];

			if (!jd)
				goto oom;
			cJSON_AddItemToArray(drops, jd);
			cJSON_AddStringToObject(jd, "name", d->name);
			cJSON_AddStringToObject(jd, "type", d->type);
			/* microseconds, as an integer literal (cJSON would print a
			 * double of 16 digits in exponent form) */
			snprintf(us, sizeof(us), "%lld", (long long)d->time_ms * 1000);
			cJSON_AddRawToObject(jd, "dropped_time", us);
		}
	}
	return root;
oom:
	cJSON_Delete(root);
	return NULL;
}

/* Runs one query, prefixing errors with what was being read. */
static int run(cdc_cql_conn *c, const char *cql, cdc_cql_row_fn fn, fetch *f, char *errstr, size_t errlen)
{
	char tmp[CDC_ERRSTR_SIZE];

	tmp[0] = '\0';
	if (cdc_cql_query(c, cql, PAGE_SIZE, fn, f, tmp, sizeof(tmp)) == 0)
		return 0;
	return cdc_error(errstr, errlen, "%s: %s", cql, tmp);
}

/* One connection, six queries, then sort, build, self-check and append:
 * the fetch behind every public call (include/schema_fetch.h). */
int cdc_schema_fetch_json_tls(const char *host, int port, const char *user, const char *password,
			      const cdc_tls_opts *tls, const char *const *keyspaces, int timeout_ms, cdc_buf *out_json,
			      cdc_buf *others, char *errstr, size_t errlen)
{
	fetch f;
	cdc_cql_conn *c = NULL;
	cJSON *doc = NULL;
	char *text = NULL;
	int rc = -1;
	size_t i, j;

	memset(&f, 0, sizeof(f));
	f.keyspaces = keyspaces;
	f.others = others;
	if (errstr && errlen)
		errstr[0] = '\0';
	if (cdc_cql_connect_tls(&c, host, port, user, password, tls, timeout_ms, errstr, errlen) != 0)
		goto out;
	if (run(c, "SELECT release_version FROM system.local", on_local, &f, errstr, errlen) != 0 ||
	    run(c, "SELECT keyspace_name FROM system_schema.keyspaces", on_keyspace, &f, errstr, errlen) != 0)
		goto out;
	for (i = 0; keyspaces && keyspaces[i]; i++) {
		for (j = 0; j < f.nks_seen && strcmp(f.ks_seen[j], keyspaces[i]) != 0; j++)
			;
		if (j == f.nks_seen) {
			cdc_error(errstr, errlen, "%s:%d: keyspace %s does not exist", host, port, keyspaces[i]);
			goto out;
		}
	}
	if (run(c, "SELECT keyspace_name, table_name, id, cdc, writetime(cdc) FROM system_schema.tables", on_table, &f, errstr,
		errlen) != 0 ||
	    run(c, "SELECT keyspace_name, table_name, column_name, kind, position, clustering_order, type "
		   "FROM system_schema.columns", on_column, &f, errstr, errlen) != 0 ||
	    run(c, "SELECT keyspace_name, type_name, field_names, field_types FROM system_schema.types", on_type,
		&f, errstr, errlen) != 0 ||
	    run(c, "SELECT keyspace_name, table_name, column_name, type, dropped_time "
		   "FROM system_schema.dropped_columns", on_dropped, &f, errstr, errlen) != 0)
		goto out;
	cdc_cql_close(c);
	c = NULL;
	if (f.ntables)
		qsort(f.tables, f.ntables, sizeof(*f.tables), cmp_table);
	if (f.ncols)
		qsort(f.cols, f.ncols, sizeof(*f.cols), cmp_column);
	if (f.ntypes)
		qsort(f.types, f.ntypes, sizeof(*f.types), cmp_type);
	if (f.ndropped)
		qsort(f.dropped, f.ndropped, sizeof(*f.dropped), cmp_dropped);
	doc = build_json(&f, host);
	text = doc ? cJSON_Print(doc) : NULL;
	if (!text) {
		cdc_error(errstr, errlen, "out of memory");
		goto out;
	}
	{
		/* the promise: what we write, cdctail can read */
		cdc_schema *s = cdc_schema_new();
		char tmp[CDC_ERRSTR_SIZE];
		int bad = !s || cdc_schema_load_json(s, text, strlen(text), "exported schema", tmp, sizeof(tmp)) != 0;

		cdc_schema_destroy(s);
		if (bad) {
			cdc_error(errstr, errlen, "%s:%d: %s", host, port, s ? tmp : "out of memory");
			goto out;
		}
	}
	cdc_buf_puts(out_json, text);
	cdc_buf_putc(out_json, '\n');
	if (out_json->oom) {
		cdc_error(errstr, errlen, "out of memory");
		goto out;
	}
	rc = 0;
out:
	cdc_cql_close(c);
	cJSON_Delete(doc);
	free(text);
	fetch_free(&f);
	return rc;
}

int cdc_schema_fetch_json_timeout(const char *host, int port, const char *user, const char *password,
				  const char *const *keyspaces, int timeout_ms, cdc_buf *out_json,
				  char *errstr, size_t errlen)
{
	return cdc_schema_fetch_json_tls(host, port, user, password, NULL, keyspaces, timeout_ms, out_json, NULL, errstr,
					 errlen);
}

int cdc_schema_fetch_json_others(const char *host, int port, const char *user, const char *password,
				 const char *const *keyspaces, cdc_buf *out_json, cdc_buf *others,
				 char *errstr, size_t errlen)
{
	return cdc_schema_fetch_json_tls(host, port, user, password, NULL, keyspaces, 0, out_json, others, errstr,
					 errlen);
}

/* cdc_schema_fetch_json_timeout() with the default timeout. */
int cdc_schema_fetch_json(const char *host, int port, const char *user, const char *password,
			  const char *const *keyspaces, cdc_buf *out_json, char *errstr, size_t errlen)
{
	return cdc_schema_fetch_json_timeout(host, port, user, password, keyspaces, 0, out_json, errstr, errlen);
}

/* ---------------------------------------------------------------- CLI */

/* The command's help text. */
static void export_usage(FILE *f)
{
	fputs("Usage: cdctail schema export [--host H] [--port P] [--user U] [--password-file F]\n"
	      "                             [--keyspace K]... [--output FILE] [--timeout-ms MS]\n"
	      "                             [--tls] [--ca-file F] [--cert-file F] [--key-file F]\n"
	      "                             [--server-name NAME] [--no-verify-host]\n"
	      "\n"
	      "Reads system_schema from a live Cassandra node over CQL (protocol v5, or v4;\n"
	      "plain or TLS) and writes the schema JSON that `decode` and `replay --schema`\n"
	      "read (docs/schema-json.md).\n"
	      "\n"
	      "  --host H           node address (default 127.0.0.1)\n"
	      "  --port P           CQL port (default 9042)\n"
	      "  --user U           user for PasswordAuthenticator\n"
	      "  --password-file F  file whose first line is the password (else the\n"
	      "                     environment variable CDCTAIL_CQL_PASSWORD)\n"
	      "  --keyspace K       export keyspace K (repeatable; default: every keyspace\n"
	      "                     but Cassandra's own system keyspaces)\n"
	      "  --output FILE      write FILE (replaced only on success) instead of stdout\n"
	      "  --timeout-ms MS    connect/request timeout (default 10000)\n"
	      "  --tls              connect with TLS (client_encryption_options); each option\n"
	      "                     below turns TLS on too\n"
	      "  --ca-file F        PEM CA certificates the node's certificate must chain to\n"
	      "                     (default: the system's)\n"
	      "  --cert-file F      PEM client certificate, for require_client_auth\n"
	      "  --key-file F       its private key, PEM, not encrypted (default: in --cert-file)\n"
	      "  --server-name NAME the name the node's certificate must carry (default: --host)\n"
	      "  --no-verify-host   accept a certificate of a trusted CA whatever host it names\n"
	      "\n"
	      "Examples:\n"
	      "  cdctail schema export --host 10.0.0.5 --output schema.json\n"
	      "  CDCTAIL_CQL_PASSWORD=secret cdctail schema export --user cdc --keyspace shop\n"
	      "  cdctail schema export --host cass-1.example.com --ca-file /etc/cdctail/ca.pem \\\n"
	      "      --cert-file /etc/cdctail/client.pem --key-file /etc/cdctail/client.key\n"
	      "\n"
	      "Exit codes: 0 written, 1 the node could not be read, 2 usage error.\n",
	      f);
}

/* The first line of a file, without its line end; NULL with errstr. */
char *cdc_read_password_file(const char *path, char *errstr, size_t errlen)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (!fp) {
		cdc_error(errstr, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	n = getline(&line, &cap, fp);
	fclose(fp);
	if (n < 0) {
		free(line);
		cdc_error(errstr, errlen, "%s: empty password file", path);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

/* Writes the whole buffer to path through path.tmp and a rename. */
static int write_file(const char *path, const cdc_buf *b, char *errstr, size_t errlen)
{
	size_t plen = strlen(path);
	char *tmp = malloc(plen + 5);
	FILE *fp;
	int bad;

	if (!tmp)
		return cdc_error(errstr, errlen, "out of memory");
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp", 5);
	fp = fopen(tmp, "w");
	if (!fp) {
		cdc_error(errstr, errlen, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	bad = fwrite(b->p, 1, b->len, fp) != b->len;
	bad |= fclose(fp) != 0;
	if (bad || rename(tmp, path) != 0) {
		cdc_error(errstr, errlen, "%s: cannot write: %s", bad ? tmp : path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

/* Parses options, fetches, writes; the exit code says which step failed. */
int cdc_schema_export_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'u' },
		{ "password-file", required_argument, NULL, 'P' },
		{ "keyspace", required_argument, NULL, 'k' },
		{ "output", required_argument, NULL, 'o' },
		{ "timeout-ms", required_argument, NULL, 't' },
		{ "tls", no_argument, NULL, 'S' },
		{ "ca-file", required_argument, NULL, 'A' },
		{ "cert-file", required_argument, NULL, 'C' },
		{ "key-file", required_argument, NULL, 'K' },
		{ "server-name", required_argument, NULL, 'N' },
		{ "no-verify-host", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *host = "127.0.0.1", *user = NULL, *pwfile = NULL, *output = NULL;
	const char **keyspaces = NULL;
	char errstr[CDC_ERRSTR_SIZE], *password = NULL, *end;
	cdc_buf out = CDC_BUF_INIT;
	cdc_tls_opts tls = { 0 };
	int port = 9042, timeout_ms = 10000, nks = 0, c, rc = 2;
	long v;

	if (argc < 2 || strcmp(argv[1], "export") != 0) {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0)) {
			export_usage(stdout);
			return 0;
		}
		cdc_log(CDC_LOG_ERR, "schema: expected the subcommand 'export'");
		export_usage(stderr);
		return 2;
	}
	argc--;
	argv++;
	keyspaces = calloc((size_t)argc + 1, sizeof(*keyspaces));
	if (!keyspaces) {
		fputs("cdctail: out of memory\n", stderr);
		return 1;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "H:p:u:P:k:o:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'H': host = optarg; break;
		case 'u': user = optarg; break;
		case 'P': pwfile = optarg; break;
		case 'k': keyspaces[nks++] = optarg; break;
		case 'o': output = optarg; break;
		case 'S': tls.enabled = 1; break;
		case 'A': tls.enabled = 1; tls.ca_file = optarg; break;
		case 'C': tls.enabled = 1; tls.cert_file = optarg; break;
		case 'K': tls.enabled = 1; tls.key_file = optarg; break;
		case 'N': tls.enabled = 1; tls.server_name = optarg; break;
		case 'V': tls.enabled = 1; tls.no_verify_host = 1; break;
		case 'p':
		case 't':
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || v <= 0 || v > (c == 'p' ? 65535 : 3600000)) {
				cdc_log(CDC_LOG_ERR, "schema export: bad --%s '%s'", c == 'p' ? "port" : "timeout-ms",
					optarg);
				goto out;
			}
			if (c == 'p')
				port = (int)v;
			else
				timeout_ms = (int)v;
			break;
		case 'h':
			export_usage(stdout);
			rc = 0;
			goto out;
		default:
			export_usage(stderr);
			goto out;
		}
	}
	if (optind < argc) {
		cdc_log(CDC_LOG_ERR, "schema export: unexpected argument '%s'", argv[optind]);
		goto out;
	}
	if (pwfile) {
		password = cdc_read_password_file(pwfile, errstr, sizeof(errstr));
		if (!password) {
			cdc_log(CDC_LOG_ERR, "%s", errstr);
			rc = 1;
			goto out;
		}
	} else if (getenv("CDCTAIL_CQL_PASSWORD")) {
		password = strdup(getenv("CDCTAIL_CQL_PASSWORD"));
	}
	if (password && !user) {
		fputs("cdctail: schema export: a password was given but no --user\n", stderr);
		goto out;
	}
	if (user && !password) {
		fputs("cdctail: schema export: --user needs a password (--password-file F or CDCTAIL_CQL_PASSWORD)\n",
		      stderr);
		goto out;
	}
	rc = 1;
	if (tls.enabled && cdc_tls_check(&tls, errstr, sizeof(errstr)) != 0) {
		cdc_log(CDC_LOG_ERR, "%s", errstr);
		goto out;
	}
	if (cdc_schema_fetch_json_tls(host, port, user, password, &tls, nks ? keyspaces : NULL, timeout_ms, &out, NULL,
				      errstr, sizeof(errstr)) != 0) {
		cdc_log(CDC_LOG_ERR, "%s", errstr);
		goto out;
	}
	if (output) {
		if (write_file(output, &out, errstr, sizeof(errstr)) != 0) {
			cdc_log(CDC_LOG_ERR, "%s", errstr);
			goto out;
		}
	} else if (fwrite(out.p, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
		fputs("cdctail: cannot write to stdout\n", stderr);
		goto out;
	}
	rc = 0;
out:
	if (password) {
		memset(password, 0, strlen(password));
		free(password);
	}
	free(keyspaces);
	cdc_buf_free(&out);
	return rc;
}
