/* schema_stream.c - table definitions from the commitlog's system_schema
 * entries (include/schema_stream.h). */
#include "schema_stream.h"
#include "err.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEFS 64    /* definitions held; the oldest go first */
#define MAX_TYPES 256  /* types held; the oldest go first */
#define NOTE_CHUNK 3000 /* JSON characters per note line */

typedef struct def {
	uint8_t id[16];
	cJSON *table;  /* a table object of the schema format */
} def;

struct cdc_stream_defs {
	def *v;
	size_t n, cap;
	cJSON *types;  /* type objects of the schema format */
};

/* A table row of the entry being read: the table it names and its state. */
typedef struct seen {
	char name[256];
	def *d;        /* its definition, or NULL */
	int dropped;   /* the entry deletes the table's row */
} seen;

#define MAX_SEEN 16

cdc_stream_defs *cdc_stream_defs_new(void)
{
	cdc_stream_defs *d = calloc(1, sizeof(*d));

	if (d && !(d->types = cJSON_CreateArray())) {
		free(d);
		return NULL;
	}
	return d;
}

void cdc_stream_defs_destroy(cdc_stream_defs *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->n; i++)
		cJSON_Delete(d->v[i].table);
	free(d->v);
	cJSON_Delete(d->types);
	free(d);
}

size_t cdc_stream_defs_count(const cdc_stream_defs *d)
{
	return d->n;
}

/* ---- reading cells ---- */

/* A value as a NUL-terminated copy in buf; 0, or -1 when it does not fit. */
static int text_of(const cdc_value *v, char *buf, size_t n)
{
	if (v->len >= n)
		return -1;
	if (v->len)
		memcpy(buf, v->p, v->len);
	buf[v->len] = '\0';
	return 0;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The live cell of column `name` in row r, or NULL. */
static const cdc_cell *cell_named(const cdc_mutation *m, const cdc_row *r, const char *name)
{
	uint32_t k;

	for (k = 0; k < r->ncells; k++) {
		const cdc_cell *c = &m->cells[r->cell_first + k];

		if (!c->deleted && strcmp(c->col->name, name) == 0)
			return c;
	}
	return NULL;
}

/* Whether the row is a deletion only (a row tombstone, no cells). */
static int row_deleted(const cdc_row *r)
{
	return r->del.ts != CDC_TS_NONE && r->ncells == 0;
}

/* A text cell added to o as key; 0, or -1 when out of memory (absent
 * cells, and values too long for a name or type, are left out). */
static int put_text(cJSON *o, const char *key, const cdc_cell *c)
{
	char buf[4096];

	if (!c || text_of(&c->value, buf, sizeof(buf)) != 0)
		return 0;
	cJSON_DeleteItemFromObjectCaseSensitive(o, key);
	return cJSON_AddStringToObject(o, key, buf) ? 0 : -1;
}

/* A frozen list<text> value (int32 count, then int32 length and bytes per
 * item) as a JSON array; NULL when it does not read so or out of memory. */
static cJSON *text_list(const cdc_value *v)
{
	cJSON *arr = cJSON_CreateArray();
	uint32_t n, i, off = 4;

	if (!arr || v->len < 4)
		goto bad;
	n = be32(v->p);
	for (i = 0; i < n; i++) {
		char buf[1024];
		uint32_t len;

		if (v->len - off < 4)
			goto bad;
		len = be32(v->p + off);
		off += 4;
		if (len > v->len - off || len >= sizeof(buf))
			goto bad;
		memcpy(buf, v->p + off, len);
		buf[len] = '\0';
		off += len;
		if (!cJSON_AddItemToArray(arr, cJSON_CreateString(buf)))
			goto bad;
	}
	if (off != v->len)
		goto bad;
	return arr;
bad:
	cJSON_Delete(arr);
	return NULL;
}

/* ---- the set ---- */

static def *find_def(cdc_stream_defs *d, const uint8_t id[16])
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (memcmp(d->v[i].id, id, 16) == 0)
			return &d->v[i];
	return NULL;
}

/* A new empty definition (the oldest goes when full); NULL when out of
 * memory. Pointers into the set move: call before taking any. */
static def *add_def(cdc_stream_defs *d, const uint8_t id[16], cJSON *table)
{
	if (d->n == MAX_DEFS) {
		cJSON_Delete(d->v[0].table);
		memmove(d->v, d->v + 1, (MAX_DEFS - 1) * sizeof(*d->v));
		d->n--;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 4;
		def *nv = realloc(d->v, cap * sizeof(*nv));

		if (!nv)
			return NULL;
		d->v = nv;
		d->cap = cap;
	}
	memcpy(d->v[d->n].id, id, 16);
	d->v[d->n].table = table;
	return &d->v[d->n++];
}

size_t cdc_stream_defs_prune(cdc_stream_defs *d, const cdc_schema *s)
{
	size_t i, j = 0, gone = 0;

	for (i = 0; i < d->n; i++) {
		if (cdc_schema_table(s, d->v[i].id)) {
			cJSON_Delete(d->v[i].table);
			gone++;
			continue;
		}
		d->v[j++] = d->v[i];
	}
	d->n = j;
	return gone;
}

/* An item of array arr whose string fields k1 (and k2, when given) equal
 * v1 (and v2), or NULL. */
static cJSON *item_by(cJSON *arr, const char *k1, const char *v1, const char *k2, const char *v2)
{
	cJSON *it;

	cJSON_ArrayForEach(it, arr) {
		const char *a = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, k1));
		const char *b = k2 ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, k2)) : NULL;

		if (a && strcmp(a, v1) == 0 && (!k2 || (b && strcmp(b, v2) == 0)))
			return it;
	}
	return NULL;
}

/* ---- one entry ---- */

/* The update of system_schema table `name` in m, from index *i on; NULL
 * when none is left. */
static const cdc_update *schema_update(const cdc_mutation *m, const char *name, uint32_t *i)
{
	for (; *i < m->nupdates; (*i)++) {
		const cdc_update *u = &m->updates[*i];

		if (u->table->internal && u->nkc == 1 && strcmp(u->table->keyspace, "system_schema") == 0 &&
		    strcmp(u->table->name, name) == 0)
			return &m->updates[(*i)++];
	}
	return NULL;
}

/* The user keyspace an update of a system_schema table is for, in ks;
 * 0, or -1 for Cassandra's own keyspaces and bad keys. */
static int update_keyspace(const cdc_mutation *m, const cdc_update *u, char *ks, size_t n)
{
	return text_of(&m->values[u->kc_first], ks, n) == 0 && !cdc_schema_is_system_keyspace(ks) ? 0 : -1;
}

/* Clustering value j of row r as text in buf; 0, or -1. */
static int ck_text(const cdc_mutation *m, const cdc_row *r, uint32_t j, char *buf, size_t n)
{
	return r->nck > j ? text_of(&m->values[r->ck_first + j], buf, n) : -1;
}

/* Whether the entry writes a partition key column of ks.table: it is the
 * table's creation, with every column. */
static int creates(const cdc_mutation *m, const char *ks, const char *table)
{
	const cdc_update *u;
	uint32_t i = 0, r;
	char k[256], t[256], kind[32];

	while ((u = schema_update(m, "columns", &i)) != NULL) {
		if (update_keyspace(m, u, k, sizeof(k)) != 0 || strcmp(k, ks) != 0)
			continue;
		for (r = 0; r < u->nrows; r++) {
			const cdc_row *row = &m->rows[u->row_first + r];
			const cdc_cell *c = cell_named(m, row, "kind");

			if (ck_text(m, row, 0, t, sizeof(t)) == 0 && strcmp(t, table) == 0 && c &&
			    text_of(&c->value, kind, sizeof(kind)) == 0 && strcmp(kind, "partition_key") == 0)
				return 1;
		}
	}
	return 0;
}

/* A new table object for ks.name with id; NULL when out of memory. */
static cJSON *new_table(const char *ks, const char *name, const uint8_t id[16])
{
	cJSON *o = cJSON_CreateObject();
	char uuid[37];

	cdc_uuid_format(id, uuid);
	if (!o || !cJSON_AddStringToObject(o, "keyspace", ks) || !cJSON_AddStringToObject(o, "table", name) ||
	    !cJSON_AddStringToObject(o, "id", uuid) || !cJSON_AddFalseToObject(o, "cdc") ||
	    !cJSON_AddArrayToObject(o, "columns") || !cJSON_AddArrayToObject(o, "dropped_columns")) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* One row of system_schema.tables: notes it in seen, starting a definition
 * when the entry creates the table. 0, or -1 when out of memory. */
static int table_row(cdc_stream_defs *d, const cdc_mutation *m, const char *ks, const cdc_row *r, seen *s)
{
	const cdc_cell *id = cell_named(m, r, "id"), *cdc = cell_named(m, r, "cdc");
	def *x;

	memset(s, 0, sizeof(*s));
	if (ck_text(m, r, 0, s->name, sizeof(s->name)) != 0)
		return 0;
	if (row_deleted(r)) {
		s->dropped = 1;
		return 0;
	}
	if (!id || id->value.len != 16)
		return 0;
	x = find_def(d, id->value.p);
	if (!x && creates(m, ks, s->name)) {
		cJSON *t = new_table(ks, s->name, id->value.p);

		if (!t || !(x = add_def(d, id->value.p, t))) {
			cJSON_Delete(t);
			return -1;
		}
	}
	if (x && cdc && cdc->value.len == 1) {
		cJSON_DeleteItemFromObjectCaseSensitive(x->table, "cdc");
		if (!cJSON_AddBoolToObject(x->table, "cdc", cdc->value.p[0] != 0))
			return -1;
	}
	s->d = x;
	return 0;
}

/* The definition the entry's table row named `table` started or amends. */
static seen *seen_named(seen *v, size_t n, const char *table)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i].name, table) == 0)
			return &v[i];
	return NULL;
}

/* One row of system_schema.columns into its definition. 0, or -1. */
static int column_row(const cdc_mutation *m, const cdc_row *r, seen *s)
{
	cJSON *cols = cJSON_GetObjectItemCaseSensitive(s->d->table, "columns"), *o;
	const cdc_cell *pos = cell_named(m, r, "position");
	char name[256];

	if (ck_text(m, r, 1, name, sizeof(name)) != 0)
		return 0;
	o = item_by(cols, "name", name, NULL, NULL);
	if (row_deleted(r)) {
		if (o && !s->dropped) /* ALTER ... DROP or RENAME; a DROP TABLE keeps them */
			cJSON_Delete(cJSON_DetachItemViaPointer(cols, o));
		return 0;
	}
	if (!o) {
		if (!(o = cJSON_CreateObject()) || !cJSON_AddItemToArray(cols, o) || !cJSON_AddStringToObject(o, "name", name))
			return -1;
	}
	if (pos && pos->value.len == 4) {
		cJSON_DeleteItemFromObjectCaseSensitive(o, "position");
		if (!cJSON_AddNumberToObject(o, "position", (double)(int32_t)be32(pos->value.p)))
			return -1;
	}
	if (put_text(o, "kind", cell_named(m, r, "kind")) != 0 ||
	    put_text(o, "clustering_order", cell_named(m, r, "clustering_order")) != 0 ||
	    put_text(o, "type", cell_named(m, r, "type")) != 0)
		return -1;
	return 0;
}

/* One row of system_schema.dropped_columns into its definition. 0, or -1. */
static int dropped_row(const cdc_mutation *m, const cdc_row *r, seen *s)
{
	cJSON *drops = cJSON_GetObjectItemCaseSensitive(s->d->table, "dropped_columns"), *o;
	const cdc_cell *when = cell_named(m, r, "dropped_time");
	char name[256], us[32];
	int64_t ms = 0;
	int k;

	if (row_deleted(r) || ck_text(m, r, 1, name, sizeof(name)) != 0 || !when || when->value.len != 8)
		return 0;
	for (k = 0; k < 8; k++)
		ms = (int64_t)((uint64_t)ms << 8 | when->value.p[k]);
	if ((o = item_by(drops, "name", name, NULL, NULL)) != NULL)
		cJSON_Delete(cJSON_DetachItemViaPointer(drops, o));
	snprintf(us, sizeof(us), "%lld", (long long)ms * 1000);
	if (!(o = cJSON_CreateObject()) || !cJSON_AddItemToArray(drops, o) || !cJSON_AddStringToObject(o, "name", name) ||
	    !cJSON_AddRawToObject(o, "dropped_time", us) || put_text(o, "type", cell_named(m, r, "type")) != 0)
		return -1;
	return 0;
}

/* One row of system_schema.types into the set's types. 0, or -1. */
static int type_row(cdc_stream_defs *d, const cdc_mutation *m, const char *ks, const cdc_row *r)
{
	const cdc_cell *fn = cell_named(m, r, "field_names"), *ft = cell_named(m, r, "field_types");
	cJSON *names, *types, *o;
	char name[256];

	if (row_deleted(r) || ck_text(m, r, 0, name, sizeof(name)) != 0 || !fn || !ft)
		return 0;
	names = text_list(&fn->value);
	types = text_list(&ft->value);
	if (!names || !types || cJSON_GetArraySize(names) != cJSON_GetArraySize(types)) {
		cJSON_Delete(names);
		cJSON_Delete(types);
		return 0; /* not as Cassandra writes it */
	}
	if ((o = item_by(d->types, "keyspace", ks, "name", name)) != NULL)
		cJSON_Delete(cJSON_DetachItemViaPointer(d->types, o));
	if (cJSON_GetArraySize(d->types) >= MAX_TYPES)
		cJSON_DeleteItemFromArray(d->types, 0);
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddItemToArray(d->types, o) || !cJSON_AddStringToObject(o, "keyspace", ks) ||
	    !cJSON_AddStringToObject(o, "name", name)) {
		cJSON_Delete(names);
		cJSON_Delete(types);
		return -1;
	}
	cJSON_AddItemToObject(o, "field_names", names);
	cJSON_AddItemToObject(o, "field_types", types);
	return 0;
}

/* The tables rows of the entry into seen (at most MAX_SEEN); -1 OOM. */
static int read_tables(cdc_stream_defs *d, const cdc_mutation *m, char ks[256], seen *v, size_t *n)
{
	const cdc_update *u;
	uint32_t i = 0, r;

	*n = 0;
	while ((u = schema_update(m, "tables", &i)) != NULL) {
		if (update_keyspace(m, u, ks, 256) != 0)
			continue;
		for (r = 0; r < u->nrows && *n < MAX_SEEN; r++)
			if (table_row(d, m, ks, &m->rows[u->row_first + r], &v[(*n)++]) != 0)
				return -1;
	}
	return 0;
}

/* The rows of system_schema table `name` (columns or dropped_columns) into
 * the definitions their table rows named; -1 OOM. */
static int read_table_rows(const cdc_mutation *m, const char *name, const char *ks, seen *v, size_t n,
			   int (*fn)(const cdc_mutation *, const cdc_row *, seen *))
{
	const cdc_update *u;
	uint32_t i = 0, r;
	char k[256], table[256];

	while ((u = schema_update(m, name, &i)) != NULL) {
		if (update_keyspace(m, u, k, sizeof(k)) != 0 || strcmp(k, ks) != 0)
			continue;
		for (r = 0; r < u->nrows; r++) {
			const cdc_row *row = &m->rows[u->row_first + r];
			seen *s;

			if (ck_text(m, row, 0, table, sizeof(table)) != 0 || !(s = seen_named(v, n, table)) || !s->d)
				continue;
			if (fn(m, row, s) != 0)
				return -1;
		}
	}
	return 0;
}

int cdc_stream_defs_entry(cdc_stream_defs *d, const cdc_mutation *m)
{
	seen v[MAX_SEEN];
	const cdc_update *u;
	uint32_t i = 0, r;
	size_t n;
	char ks[256];

	while ((u = schema_update(m, "types", &i)) != NULL) {
		if (update_keyspace(m, u, ks, sizeof(ks)) != 0)
			continue;
		for (r = 0; r < u->nrows; r++)
			if (type_row(d, m, ks, &m->rows[u->row_first + r]) != 0)
				return -1;
	}
	if (read_tables(d, m, ks, v, &n) != 0)
		return -1;
	if (!n)
		return 0;
	/* a schema mutation is of one keyspace: ks is the tables rows' */
	if (read_table_rows(m, "columns", ks, v, n, column_row) != 0 ||
	    read_table_rows(m, "dropped_columns", ks, v, n, dropped_row) != 0)
		return -1;
	return 0;
}

/* ---- documents and notes ---- */

int cdc_stream_defs_doc(const cdc_stream_defs *d, const uint8_t id[16], cdc_buf *out)
{
	const def *x = find_def((cdc_stream_defs *)d, id);
	const char *ks;
	cJSON *doc, *types, *tables, *t, *it;
	char *text;

	if (!x)
		return 0;
	ks = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(x->table, "keyspace"));
	doc = cJSON_CreateObject();
	if (!doc || !cJSON_AddStringToObject(doc, "format", "cdctail-schema/1") ||
	    !(types = cJSON_AddArrayToObject(doc, "types")) || !(tables = cJSON_AddArrayToObject(doc, "tables")))
		goto oom;
	cJSON_ArrayForEach(it, d->types) {
		const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "keyspace"));

		if (ks && k && strcmp(k, ks) == 0 && !cJSON_AddItemToArray(types, cJSON_Duplicate(it, 1)))
			goto oom;
	}
	if (!(t = cJSON_Duplicate(x->table, 1)) || !cJSON_AddItemToArray(tables, t) ||
	    !cJSON_AddTrueToObject(t, "dropped"))
		goto oom;
	text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if (!text)
		return -1;
	cdc_buf_puts(out, text);
	free(text);
	return out->oom ? -1 : 1;
oom:
	cJSON_Delete(doc);
	return -1;
}

/* Appends obj as note lines "<prefix> <key> <chunk>"; 0, or -1. */
static int put_chunks(cdc_buf *out, const char *prefix, const char *key, const cJSON *obj)
{
	char *text = cJSON_PrintUnformatted(obj);
	size_t len, off;

	if (!text)
		return -1;
	len = strlen(text);
	for (off = 0; off < len; off += NOTE_CHUNK) {
		size_t k = len - off < NOTE_CHUNK ? len - off : NOTE_CHUNK;

		cdc_buf_printf(out, "%s %s ", prefix, key);
		cdc_buf_put(out, text + off, k);
		cdc_buf_putc(out, '\n');
	}
	free(text);
	return out->oom ? -1 : 0;
}

/* Whether some definition held is of keyspace ks. */
static int keyspace_held(const cdc_stream_defs *d, const char *ks)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const char *k = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(d->v[i].table, "keyspace"));

		if (k && strcmp(k, ks) == 0)
			return 1;
	}
	return 0;
}

int cdc_stream_defs_save(const cdc_stream_defs *d, cdc_buf *out)
{
	char key[40];
	size_t i;
	int j = 0;
	cJSON *it;

	for (i = 0; i < d->n; i++) {
		cdc_uuid_format(d->v[i].id, key);
		if (put_chunks(out, "schema def", key, d->v[i].table) != 0)
			return -1;
	}
	cJSON_ArrayForEach(it, d->types) {
		const char *ks = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it, "keyspace"));

		snprintf(key, sizeof(key), "%d", j++);
		if (ks && keyspace_held(d, ks) && put_chunks(out, "schema type", key, it) != 0)
			return -1;
	}
	return 0;
}

/* Gives the dropped columns' times of table object o back the integer
 * form they were written in (a parse makes them doubles, which print in
 * exponent form). 0, or -1 when out of memory. */
static int raw_times(cJSON *o)
{
	cJSON *it;

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "dropped_columns")) {
		cJSON *t = cJSON_GetObjectItemCaseSensitive(it, "dropped_time"), *raw;
		char us[32];

		if (!cJSON_IsNumber(t))
			continue;
		snprintf(us, sizeof(us), "%lld", (long long)t->valuedouble);
		if (!(raw = cJSON_CreateRaw(us)) || !cJSON_ReplaceItemInObjectCaseSensitive(it, "dropped_time", raw)) {
			cJSON_Delete(raw);
			return -1;
		}
	}
	return 0;
}

/* Parses one object gathered from note lines into the set (a "def" keyed
 * by its id, or a type). 0, or -1 when it is not one. */
static int load_object(cdc_stream_defs *d, int is_def, const char *text)
{
	cJSON *o = cJSON_Parse(text), *old;
	const char *id = o ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "id")) : NULL;
	uint8_t raw[16];
	int i;

	if (!o)
		return -1;
	if (!is_def) {
		const char *ks = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "keyspace"));
		const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "name"));

		if (!ks || !name) {
			cJSON_Delete(o);
			return -1;
		}
		if ((old = item_by(d->types, "keyspace", ks, "name", name)) != NULL)
			cJSON_Delete(cJSON_DetachItemViaPointer(d->types, old));
		return cJSON_AddItemToArray(d->types, o) ? 0 : -1;
	}
	for (i = 0; id && strlen(id) == 36 && i < 16; i++) {
		const char *p = id + 2 * i + (i >= 4) + (i >= 6) + (i >= 8) + (i >= 10);
		unsigned v;

		if (sscanf(p, "%2x", &v) != 1)
			break;
		raw[i] = (uint8_t)v;
	}
	if (i == 16 && raw_times(o) != 0)
		i = 0;
	if (i != 16 || find_def(d, raw) || !add_def(d, raw, o)) {
		cJSON_Delete(o);
		return -1;
	}
	return 0;
}

/* Splits note line p (len bytes) as "schema def|type KEY CHUNK": *kind
 * 'd' or 't' and key, chunk set; 0 for any other line. */
static char note_kind(const char *p, size_t len, const char **key, size_t *keylen, const char **chunk)
{
	char kind = 0;
	const char *k = NULL, *sp;

	if (len > 11 && strncmp(p, "schema def ", 11) == 0)
		kind = 'd', k = p + 11;
	else if (len > 12 && strncmp(p, "schema type ", 12) == 0)
		kind = 't', k = p + 12;
	if (!kind || !(sp = memchr(k, ' ', len - (size_t)(k - p))))
		return 0;
	*key = k;
	*keylen = (size_t)(sp - k);
	*chunk = sp + 1;
	return kind;
}

int cdc_stream_defs_load(cdc_stream_defs *d, const char *notes, char *errstr, size_t errlen)
{
	cdc_buf acc = CDC_BUF_INIT;
	char key[64] = "", kind = 0;
	const char *p = notes && *notes ? notes : NULL;
	int line = 0, first = 0, rc = 0;

	for (;;) {
		const char *nl = p ? strchr(p, '\n') : NULL, *k = NULL, *chunk = NULL;
		size_t len = p ? (nl ? (size_t)(nl - p) : strlen(p)) : 0, klen = 0;
		char this = p ? note_kind(p, len, &k, &klen, &chunk) : 0;

		line += p != NULL;
		/* a gathered object ends where another key or kind starts */
		if (acc.len && (this != kind || klen != strlen(key) || strncmp(k, key, klen) != 0)) {
			if (acc.oom || load_object(d, kind == 'd', cdc_buf_cstr(&acc)) != 0) {
				rc = cdc_error(errstr, errlen, "checkpoint note %d: bad schema %s line", first,
					       kind == 'd' ? "def" : "type");
				break;
			}
			cdc_buf_reset(&acc);
		}
		if (!p)
			break;
		if (this) {
			if (!acc.len) {
				if (klen >= sizeof(key)) {
					rc = cdc_error(errstr, errlen, "checkpoint note %d: bad schema note key", line);
					break;
				}
				memcpy(key, k, klen);
				key[klen] = '\0';
				kind = this;
				first = line;
			}
			cdc_buf_put(&acc, chunk, len - (size_t)(chunk - p));
		}
		p = nl && nl[1] ? nl + 1 : NULL;
	}
	cdc_buf_free(&acc);
	return rc;
}
