/* schema.c - tables, columns and CQL types by table id (include/schema.h). */
#include "schema.h"
#include "buf.h"
#include "err.h"
#include "mutation.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct cdc_schema {
	cdc_table **tables;
	size_t ntables, captables;
	cdc_type **types;           /* every type allocated, for freeing */
	size_t ntypes, captypes;
	struct udt { char *ks, *name; const cdc_type *t; } *udts;
	size_t nudts, capudts;
	cdc_column **cols;          /* every column allocated */
	size_t ncols, capcols;
	uint32_t *slots;            /* open addressing: table index + 1 by id, 0 empty */
	size_t nslots;              /* a power of two, at least 2 x ntables; 0 before any */
	size_t indexed;             /* tables the slots cover (all of them, or lookups scan) */
	char *cassandra_version;    /* "source"."cassandra_version" of the file, or NULL */
	uint8_t (*internal)[16];    /* "internal_ids", sorted */
	size_t ninternal;
};

/* Mixes a table id into a slot number. */
static size_t id_hash(const uint8_t id[16])
{
	uint64_t a, b;

	memcpy(&a, id, 8); /* native order: the index lives in memory only */
	memcpy(&b, id + 8, 8);
	a ^= b * 0x9e3779b97f4a7c15ULL;
	a ^= a >> 31;
	a *= 0xbf58476d1ce4e5b9ULL;
	a ^= a >> 29;
	return (size_t)a;
}

/* Rebuilds the id index over every table; the first of two tables with the
 * same id wins, as in a scan. On allocation failure lookups keep scanning. */
static void index_tables(cdc_schema *s)
{
	size_t want = 16, i;
	uint32_t *slots;

	while (want < s->ntables * 2)
		want *= 2;
	if (s->ntables >= UINT32_MAX || !(slots = calloc(want, sizeof(*slots)))) {
		s->indexed = 0;
		return;
	}
	for (i = 0; i < s->ntables; i++) {
		size_t h = id_hash(s->tables[i]->id) & (want - 1);

		while (slots[h] && memcmp(s->tables[slots[h] - 1]->id, s->tables[i]->id, 16) != 0)
			h = (h + 1) & (want - 1);
		if (!slots[h])
			slots[h] = (uint32_t)i + 1;
	}
	free(s->slots);
	s->slots = slots;
	s->nslots = want;
	s->indexed = s->ntables;
}

static int grow(void **p, size_t *cap, size_t n, size_t elem)
{
	void *np;
	size_t want;

	if (n < *cap)
		return 0;
	want = *cap ? *cap * 2 : 16;
	np = realloc(*p, want * elem);
	if (!np)
		return -1;
	*p = np;
	*cap = want;
	return 0;
}

/* Whether a lower-case name is one of CQL's reserved keywords, which only
 * work as identifiers when quoted (Cassandra's doc/cql/appendices: the
 * keywords marked reserved, plus the type names that the grammar reserves).
 * The list is sorted: every column name of every event comes through here. */
static int cql_reserved(const char *name, size_t len)
{
	static const char *const words[] = {
		"add", "allow", "alter", "and", "apply", "asc", "authorize", "batch", "begin", "by",
		"columnfamily", "create", "default", "delete", "desc", "describe", "drop", "entries",
		"execute", "from", "full", "grant", "if", "in", "index", "infinity", "insert", "into", "is",
		"keyspace", "limit", "materialized", "mbean", "mbeans", "modify", "nan", "norecursive", "not",
		"null", "of", "on", "or", "order", "primary", "rename", "replace", "revoke", "schema", "select",
		"set", "table", "to", "token", "truncate", "unlogged", "unset", "update", "use", "using",
		"view", "where", "with",
	};
	size_t lo = 0, hi = sizeof(words) / sizeof(words[0]);

	if (len < 2 || len > 12)
		return 0;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		const unsigned char *a = (const unsigned char *)name, *w = (const unsigned char *)words[mid];
		int c;

		while (*a && *a == *w) { /* short names, mostly unequal at once: no libc call */
			a++;
			w++;
		}
		c = (int)*a - (int)*w;
		if (c == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

void cdc_cql_ident(cdc_buf *out, const char *name)
{
	const char *p;
	int plain = *name && !(*name >= '0' && *name <= '9');

	for (p = name; *p && plain; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_';
	if (plain && !cql_reserved(name, (size_t)(p - name))) {
		cdc_buf_put(out, name, (size_t)(p - name));
		return;
	}
	cdc_buf_putc(out, '"');
	for (p = name; *p; p++) {
		if (*p == '"')
			cdc_buf_putc(out, '"');
		cdc_buf_putc(out, *p);
	}
	cdc_buf_putc(out, '"');
}

/* A malloc'd copy of `name` as a CQL identifier (cdc_cql_ident), or NULL
 * when out of memory. */
static char *cql_ident_dup(const char *a, const char *b)
{
	cdc_buf q = { 0 };
	char *r;

	cdc_cql_ident(&q, a);
	if (b) {
		cdc_buf_putc(&q, '.');
		cdc_cql_ident(&q, b);
	}
	r = q.p ? strndup(q.p, q.len) : NULL;
	cdc_buf_free(&q);
	return r;
}

/* A malloc'd copy of a CQL identifier escaped for the inside of a JSON
 * string (the CQL of an event is a JSON string), or NULL. */
static char *js_dup(const char *cql, size_t *len)
{
	cdc_buf q = { 0 };
	char *r;

	*len = 0;
	if (!cql)
		return NULL;
	cdc_buf_json_body(&q, cql, strlen(cql));
	r = !q.oom ? strndup(q.p ? q.p : "", q.len) : NULL;
	*len = r ? q.len : 0;
	cdc_buf_free(&q);
	return r;
}

/* Returns a malloc'd quoted JSON string of a (and of b after a comma and
 * the given key when b is set); NULL when out of memory. */
static char *json_dup(const char *a, const char *key, const char *b, size_t *len)
{
	cdc_buf q = { 0 };
	char *r;

	if (b) {
		cdc_buf_lit(&q, ",\"keyspace\":");
		cdc_buf_json_str(&q, a, strlen(a));
		cdc_buf_puts(&q, key);
		cdc_buf_json_str(&q, b, strlen(b));
	} else {
		cdc_buf_json_str(&q, a, strlen(a));
	}
	r = q.p && !q.oom ? strndup(q.p, q.len) : NULL;
	*len = r ? q.len : 0;
	cdc_buf_free(&q);
	return r;
}

cdc_schema *cdc_schema_new(void)
{
	return calloc(1, sizeof(cdc_schema));
}

static void free_type(cdc_type *t)
{
	int i;

	if (t->field_names)
		for (i = 0; i < t->nsub; i++)
			free(t->field_names[i]);
	free(t->field_names);
	free(t->sub);
	free(t->udt_keyspace);
	free(t->name);
	free(t);
}

void cdc_schema_destroy(cdc_schema *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->ntables; i++) {
		cdc_table *t = s->tables[i];

		free(t->keyspace);
		free(t->name);
		free(t->cql_name);
		free(t->cql_js);
		free(t->json_head);
		free(t->pk);
		free(t->ck);
		free(t->cols);
		free(t->dropped);
		free(t);
	}
	for (i = 0; i < s->ncols; i++) {
		free(s->cols[i]->name);
		free(s->cols[i]->cql_name);
		free(s->cols[i]->cql_js);
		free(s->cols[i]->json_name);
		free(s->cols[i]);
	}
	for (i = 0; i < s->ntypes; i++)
		free_type(s->types[i]);
	for (i = 0; i < s->nudts; i++) {
		free(s->udts[i].ks);
		free(s->udts[i].name);
	}
	free(s->cassandra_version);
	free(s->internal);
	free(s->tables);
	free(s->types);
	free(s->udts);
	free(s->cols);
	free(s->slots);
	free(s);
}

static cdc_type *new_type(cdc_schema *s, cdc_type_kind kind)
{
	cdc_type *t;

	if (grow((void **)&s->types, &s->captypes, s->ntypes, sizeof(*s->types)) != 0)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->kind = kind;
	t->fixed_len = -1;
	s->types[s->ntypes++] = t;
	return t;
}

static const struct { const char *name; cdc_type_kind kind; int fixed; } natives[] = {
	{ "ascii", CDC_T_ASCII, -1 }, { "bigint", CDC_T_BIGINT, 8 }, { "blob", CDC_T_BLOB, -1 },
	{ "boolean", CDC_T_BOOLEAN, 1 }, { "counter", CDC_T_COUNTER, -1 }, { "date", CDC_T_DATE, -1 },
	{ "decimal", CDC_T_DECIMAL, -1 }, { "double", CDC_T_DOUBLE, 8 }, { "duration", CDC_T_DURATION, -1 },
	{ "float", CDC_T_FLOAT, 4 }, { "inet", CDC_T_INET, -1 }, { "int", CDC_T_INT, 4 },
	{ "smallint", CDC_T_SMALLINT, -1 }, { "text", CDC_T_TEXT, -1 }, { "time", CDC_T_TIME, -1 },
	{ "timestamp", CDC_T_TIMESTAMP, 8 }, { "timeuuid", CDC_T_TIMEUUID, 16 }, { "tinyint", CDC_T_TINYINT, -1 },
	{ "uuid", CDC_T_UUID, 16 }, { "varchar", CDC_T_TEXT, -1 }, { "varint", CDC_T_VARINT, -1 },
	{ "empty", CDC_T_EMPTY, 0 },
};

/* A tiny recursive-descent parser over system_schema's type strings. */
typedef struct tparse {
	cdc_schema *s;
	const char *ks, *p, *text;
	char *errstr;
	size_t errlen;
} tparse;

static void skip_ws(tparse *tp)
{
	while (*tp->p == ' ')
		tp->p++;
}

static int parse_ident(tparse *tp, char *out, size_t outlen)
{
	size_t n = 0;

	skip_ws(tp);
	if (*tp->p == '"') {     /* quoted UDT name */
		tp->p++;
		while (*tp->p && *tp->p != '"' && n + 1 < outlen)
			out[n++] = *tp->p++;
		if (*tp->p != '"')
			return -1;
		tp->p++;
	} else if (*tp->p == '\'') { /* custom class */
		tp->p++;
		while (*tp->p && *tp->p != '\'' && n + 1 < outlen)
			out[n++] = *tp->p++;
		if (*tp->p != '\'')
			return -1;
		tp->p++;
	} else {
		while ((isalnum((unsigned char)*tp->p) || *tp->p == '_' || *tp->p == '.') && n + 1 < outlen)
			out[n++] = *tp->p++;
	}
	out[n] = '\0';
	return n ? 0 : -1;
}

static int expect(tparse *tp, char c)
{
	skip_ws(tp);
	if (*tp->p != c)
		return -1;
	tp->p++;
	return 0;
}

static const cdc_type *find_udt(const cdc_schema *s, const char *ks, const char *name)
{
	size_t i;

	for (i = 0; i < s->nudts; i++)
		if (strcmp(s->udts[i].ks, ks) == 0 && strcmp(s->udts[i].name, name) == 0)
			return s->udts[i].t;
	return NULL;
}

static const cdc_type *parse_type(tparse *tp, int frozen);

/* The valueLengthIfFixed() of a custom type's marshal class (system_schema
 * prints them quoted, e.g. 'org.apache.cassandra.db.marshal.LexicalUUIDType'),
 * ReversedType(X) taking X's; -1 (variable) for every other class. */
static int custom_fixed_len(const char *cls)
{
	static const struct { const char *name; int len; } fixed[] = {
		{ "BooleanType", 1 }, { "Int32Type", 4 }, { "FloatType", 4 }, { "LongType", 8 },
		{ "DoubleType", 8 }, { "TimestampType", 8 }, { "DateType", 8 }, { "UUIDType", 16 },
		{ "TimeUUIDType", 16 }, { "LexicalUUIDType", 16 }, { "EmptyType", 0 },
	};
	static const char pkg[] = "org.apache.cassandra.db.marshal.";
	size_t i, n;

	if (strncmp(cls, pkg, sizeof(pkg) - 1) == 0)
		cls += sizeof(pkg) - 1;
	if (strncmp(cls, "ReversedType(", 13) == 0) {
		char inner[256];

		n = strlen(cls + 13);
		if (n == 0 || n >= sizeof(inner) || cls[13 + n - 1] != ')')
			return -1;
		memcpy(inner, cls + 13, n - 1);
		inner[n - 1] = '\0';
		return custom_fixed_len(inner);
	}
	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(cls, fixed[i].name) == 0)
			return fixed[i].len;
	return -1;
}

/* Parses "<T, T, ...>" into t->sub. */
static int parse_args(tparse *tp, cdc_type *t, int frozen, int max)
{
	const cdc_type *sub[64];
	int n = 0;

	if (expect(tp, '<') != 0)
		return -1;
	for (;;) {
		if (n >= 64 || (max && n >= max))
			return -1;
		sub[n] = parse_type(tp, frozen);
		if (!sub[n])
			return -1;
		n++;
		skip_ws(tp);
		if (*tp->p == ',') {
			tp->p++;
			if (t->kind == CDC_T_VECTOR && n == 1)
				break;
			continue;
		}
		break;
	}
	if (t->kind == CDC_T_VECTOR) {
		char num[32];

		if (parse_ident(tp, num, sizeof(num)) != 0)
			return -1;
		t->vector_dim = atoi(num);
		if (t->vector_dim <= 0)
			return -1;
	}
	if (expect(tp, '>') != 0)
		return -1;
	t->sub = calloc((size_t)n, sizeof(*t->sub));
	if (!t->sub)
		return -1;
	memcpy(t->sub, sub, (size_t)n * sizeof(*sub));
	t->nsub = n;
	return 0;
}

static const cdc_type *parse_type(tparse *tp, int frozen)
{
	char id[256];
	cdc_type *t;
	const cdc_type *u;
	size_t i;

	if (parse_ident(tp, id, sizeof(id)) != 0)
		return NULL;
	if (strcmp(id, "frozen") == 0) {
		const cdc_type *inner;

		if (expect(tp, '<') != 0)
			return NULL;
		inner = parse_type(tp, 1);
		if (!inner || expect(tp, '>') != 0)
			return NULL;
		return inner;
	}
	for (i = 0; i < sizeof(natives) / sizeof(natives[0]); i++) {
		if (strcmp(id, natives[i].name) == 0) {
			t = new_type(tp->s, natives[i].kind);
			if (!t)
				return NULL;
			t->fixed_len = natives[i].fixed;
			t->frozen = 1;
			return t;
		}
	}
	if (strcmp(id, "list") == 0 || strcmp(id, "set") == 0 || strcmp(id, "map") == 0 ||
	    strcmp(id, "tuple") == 0 || strcmp(id, "vector") == 0) {
		t = new_type(tp->s, id[0] == 'l' ? CDC_T_LIST : id[0] == 's' ? CDC_T_SET :
				 id[0] == 'm' ? CDC_T_MAP : id[0] == 't' ? CDC_T_TUPLE : CDC_T_VECTOR);
		if (!t)
			return NULL;
		t->frozen = frozen || t->kind == CDC_T_TUPLE || t->kind == CDC_T_VECTOR;
		if (parse_args(tp, t, 1, t->kind == CDC_T_MAP ? 2 : (t->kind == CDC_T_TUPLE ? 0 : 1)) != 0)
			return NULL;
		if ((t->kind == CDC_T_MAP && t->nsub != 2) || ((t->kind == CDC_T_LIST || t->kind == CDC_T_SET) && t->nsub != 1))
			return NULL;
		if (t->kind == CDC_T_VECTOR && t->sub[0]->fixed_len > 0)
			t->fixed_len = t->sub[0]->fixed_len * t->vector_dim;
		return t;
	}
	if (strchr(id, '.')) { /* custom class: opaque */
		t = new_type(tp->s, CDC_T_CUSTOM);
		if (t) {
			t->name = strdup(id);
			t->frozen = 1;
			t->fixed_len = custom_fixed_len(id);
		}
		return t;
	}
	u = find_udt(tp->s, tp->ks, id);
	if (!u) {
		cdc_error(tp->errstr, tp->errlen, "unknown type '%s' in keyspace %s", id, tp->ks);
		return NULL;
	}
	if (frozen == u->frozen)
		return u;
	/* the same UDT, with the other frozenness */
	t = new_type(tp->s, CDC_T_UDT);
	if (!t)
		return NULL;
	*t = *u;
	t->frozen = frozen;
	t->sub = calloc((size_t)u->nsub, sizeof(*t->sub));
	t->field_names = calloc((size_t)u->nsub, sizeof(*t->field_names));
	t->udt_keyspace = strdup(u->udt_keyspace);
	t->name = strdup(u->name);
	if (!t->sub || !t->field_names || !t->udt_keyspace || !t->name)
		return NULL;
	for (i = 0; i < (size_t)u->nsub; i++) {
		t->sub[i] = u->sub[i];
		t->field_names[i] = strdup(u->field_names[i]);
	}
	return t;
}

int cdc_schema_parse_type(cdc_schema *s, const char *ks, const char *text,
			  const cdc_type **out, char *errstr, size_t errlen)
{
	tparse tp = { s, ks, text, text, errstr, errlen };

	if (errstr && errlen)
		errstr[0] = '\0';
	*out = parse_type(&tp, 0);
	skip_ws(&tp);
	if (!*out || *tp.p) {
		if (!errstr || !errstr[0])
			cdc_error(errstr, errlen, "cannot parse CQL type '%s' at character %d", text,
				  (int)(tp.p - text));
		return -1;
	}
	return 0;
}

/* Registers one UDT (fields may name UDTs defined earlier). */
static int add_udt(cdc_schema *s, const char *ks, const char *name, cJSON *fnames, cJSON *ftypes,
		   const char *src, char *errstr, size_t errlen)
{
	int n = cJSON_GetArraySize(fnames), i;
	char why[CDC_ERRSTR_SIZE];
	cdc_type *t;

	if (!cJSON_IsArray(fnames) || !cJSON_IsArray(ftypes) || cJSON_GetArraySize(ftypes) != n)
		return cdc_error(errstr, errlen, "%s: type %s.%s: field_names and field_types differ", src, ks, name);
	t = new_type(s, CDC_T_UDT);
	if (!t || grow((void **)&s->udts, &s->capudts, s->nudts, sizeof(*s->udts)) != 0)
		return cdc_error(errstr, errlen, "%s: out of memory", src);
	t->frozen = 0;
	t->nsub = n;
	t->sub = calloc((size_t)n + 1, sizeof(*t->sub));
	t->field_names = calloc((size_t)n + 1, sizeof(*t->field_names));
	t->udt_keyspace = strdup(ks);
	t->name = strdup(name);
	if (!t->sub || !t->field_names || !t->udt_keyspace || !t->name)
		return cdc_error(errstr, errlen, "%s: out of memory", src);
	for (i = 0; i < n; i++) {
		cJSON *fn = cJSON_GetArrayItem(fnames, i), *ft = cJSON_GetArrayItem(ftypes, i);

		if (!cJSON_IsString(fn) || !cJSON_IsString(ft))
			return cdc_error(errstr, errlen, "%s: type %s.%s: field %d is not a string", src, ks, name, i);
		t->field_names[i] = strdup(fn->valuestring);
		if (cdc_schema_parse_type(s, ks, ft->valuestring, &t->sub[i], why, sizeof(why)) != 0)
			return cdc_error(errstr, errlen, "%s: type %s.%s, field %s: %s", src, ks, name,
					 fn->valuestring, why);
	}
	s->udts[s->nudts].ks = strdup(ks);
	s->udts[s->nudts].name = strdup(name);
	s->udts[s->nudts].t = t;
	s->nudts++;
	return 0;
}

static int parse_uuid(const char *str, uint8_t out[16])
{
	int n = 0;

	for (; *str && n < 32; str++) {
		int v;

		if (*str == '-')
			continue;
		if (*str >= '0' && *str <= '9') v = *str - '0';
		else if (*str >= 'a' && *str <= 'f') v = *str - 'a' + 10;
		else if (*str >= 'A' && *str <= 'F') v = *str - 'A' + 10;
		else return -1;
		if (n & 1)
			out[n / 2] |= (uint8_t)v;
		else
			out[n / 2] = (uint8_t)(v << 4);
		n++;
	}
	return n == 32 && !*str ? 0 : -1;
}

static const char *jstr(cJSON *o, const char *k)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cdc_column *new_column(cdc_schema *s)
{
	cdc_column *c;

	if (grow((void **)&s->cols, &s->capcols, s->ncols, sizeof(*s->cols)) != 0)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c)
		s->cols[s->ncols++] = c;
	return c;
}

static int cmp_position(const void *a, const void *b)
{
	const cdc_column *x = *(const cdc_column *const *)a, *y = *(const cdc_column *const *)b;

	return (x->position > y->position) - (x->position < y->position);
}

/* Adds one table object of the JSON format. */
static int add_table(cdc_schema *s, cJSON *jt, const char *src, char *errstr, size_t errlen)
{
	const char *ks = jstr(jt, "keyspace"), *name = jstr(jt, "table"), *id = jstr(jt, "id");
	cJSON *cols = cJSON_GetObjectItemCaseSensitive(jt, "columns");
	cJSON *dropped = cJSON_GetObjectItemCaseSensitive(jt, "dropped_columns");
	cJSON *cdc = cJSON_GetObjectItemCaseSensitive(jt, "cdc"), *jc;
	int n = cJSON_GetArraySize(cols), nd = dropped ? cJSON_GetArraySize(dropped) : 0;
	char why[CDC_ERRSTR_SIZE];
	cdc_table *t;

	if (!ks || !name || !id || !cJSON_IsArray(cols))
		return cdc_error(errstr, errlen, "%s: a table needs keyspace, table, id and columns", src);
	if (grow((void **)&s->tables, &s->captables, s->ntables, sizeof(*s->tables)) != 0 ||
	    !(t = calloc(1, sizeof(*t))))
		return cdc_error(errstr, errlen, "%s: out of memory", src);
	s->tables[s->ntables++] = t;
	t->keyspace = strdup(ks);
	t->name = strdup(name);
	t->cql_name = cql_ident_dup(ks, name);
	t->cql_js = js_dup(t->cql_name, &t->cql_js_len);
	t->json_head = json_dup(ks, ",\"table\":", name, &t->json_head_len);
	t->cdc = cJSON_IsTrue(cdc);
	t->internal = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(jt, "internal"));
	t->dropped_table = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(jt, "dropped"));
	{
		cJSON *w = cJSON_GetObjectItemCaseSensitive(jt, "cdc_written");

		t->cdc_written = cJSON_IsNumber(w) ? (int64_t)w->valuedouble : 0;
	}
	if (t->internal)
		t->cdc = 0;
	t->pk = calloc((size_t)n + 1, sizeof(*t->pk));
	t->ck = calloc((size_t)n + 1, sizeof(*t->ck));
	t->cols = calloc((size_t)n + 1, sizeof(*t->cols));
	t->dropped = calloc((size_t)nd + 1, sizeof(*t->dropped));
	if (!t->keyspace || !t->name || !t->cql_name || !t->cql_js || !t->json_head || !t->pk || !t->ck || !t->cols || !t->dropped)
		return cdc_error(errstr, errlen, "%s: out of memory", src);
	if (parse_uuid(id, t->id) != 0)
		return cdc_error(errstr, errlen, "%s: table %s.%s: bad id '%s'", src, ks, name, id);
	cJSON_ArrayForEach(jc, cols) {
		const char *cn = jstr(jc, "name"), *kind = jstr(jc, "kind"), *type = jstr(jc, "type");
		const char *order = jstr(jc, "clustering_order");
		cJSON *pos = cJSON_GetObjectItemCaseSensitive(jc, "position");
		cdc_column *c = new_column(s);

		if (!c)
			return cdc_error(errstr, errlen, "%s: out of memory", src);
		if (!cn || !kind || !type)
			return cdc_error(errstr, errlen, "%s: table %s.%s: a column needs name, kind and type", src, ks, name);
		c->name = strdup(cn);
		c->cql_name = cql_ident_dup(cn, NULL);
		c->cql_js = js_dup(c->cql_name, &c->cql_js_len);
		c->json_name = json_dup(cn, NULL, NULL, &c->json_name_len);
		if (!c->name || !c->cql_name || !c->cql_js || !c->json_name)
			return cdc_error(errstr, errlen, "%s: out of memory", src);
		c->position = cJSON_IsNumber(pos) ? pos->valueint : -1;
		c->desc = order && strcmp(order, "desc") == 0;
		if (cdc_schema_parse_type(s, ks, type, &c->type, why, sizeof(why)) != 0)
			return cdc_error(errstr, errlen, "%s: table %s.%s, column %s: %s", src, ks, name, cn, why);
		c->name_len = strlen(cn);
		c->complex = !c->type->frozen && (c->type->kind == CDC_T_LIST || c->type->kind == CDC_T_SET ||
						  c->type->kind == CDC_T_MAP || c->type->kind == CDC_T_UDT);
		if (strcmp(kind, "partition_key") == 0) {
			c->kind = CDC_COL_PARTITION_KEY;
			t->pk[t->npk++] = c;
		} else if (strcmp(kind, "clustering") == 0) {
			c->kind = CDC_COL_CLUSTERING;
			t->ck[t->nck++] = c;
		} else if (strcmp(kind, "regular") == 0 || strcmp(kind, "static") == 0) {
			c->kind = kind[0] == 'r' ? CDC_COL_REGULAR : CDC_COL_STATIC;
			t->cols[t->ncols++] = c;
		} else {
			return cdc_error(errstr, errlen, "%s: table %s.%s: column %s has unknown kind '%s'", src, ks, name, cn, kind);
		}
	}
	qsort(t->pk, (size_t)t->npk, sizeof(*t->pk), cmp_position);
	qsort(t->ck, (size_t)t->nck, sizeof(*t->ck), cmp_position);
	if (dropped) {
		cJSON_ArrayForEach(jc, dropped) {
			const char *cn = jstr(jc, "name"), *type = jstr(jc, "type");
			cJSON *when = cJSON_GetObjectItemCaseSensitive(jc, "dropped_time");
			cdc_column *c = new_column(s);

			if (!c || !cn || !type)
				return cdc_error(errstr, errlen, "%s: table %s.%s: bad dropped column", src, ks, name);
			c->name = strdup(cn);
			c->cql_name = cql_ident_dup(cn, NULL);
			c->cql_js = js_dup(c->cql_name, &c->cql_js_len);
			c->json_name = json_dup(cn, NULL, NULL, &c->json_name_len);
			if (!c->name || !c->cql_name || !c->cql_js || !c->json_name)
				return cdc_error(errstr, errlen, "%s: out of memory", src);
			c->kind = CDC_COL_REGULAR;
			c->position = -1;
			c->dropped_time = cJSON_IsNumber(when) ? (int64_t)when->valuedouble : 1;
			if (cdc_schema_parse_type(s, ks, type, &c->type, why, sizeof(why)) != 0)
				return cdc_error(errstr, errlen, "%s: table %s.%s, dropped column %s: %s", src, ks,
						 name, cn, why);
			c->name_len = strlen(cn);
			c->complex = !c->type->frozen && (c->type->kind == CDC_T_LIST || c->type->kind == CDC_T_SET ||
							  c->type->kind == CDC_T_MAP || c->type->kind == CDC_T_UDT);
			t->dropped[t->ndropped++] = c;
		}
	}
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	return memcmp(a, b, 16);
}

/* Adds "internal_ids" (an array of UUID strings; absent is fine) to the
 * sorted set of Cassandra's own table ids. 0, or -1 with errstr. */
static int add_internal_ids(cdc_schema *s, cJSON *ids, const char *src, char *errstr, size_t errlen)
{
	cJSON *it;
	int n = cJSON_IsArray(ids) ? cJSON_GetArraySize(ids) : 0;
	uint8_t (*v)[16];

	if (!n)
		return 0;
	v = realloc(s->internal, (s->ninternal + (size_t)n) * 16);
	if (!v)
		return cdc_error(errstr, errlen, "%s: out of memory", src);
	s->internal = v;
	cJSON_ArrayForEach(it, ids) {
		if (!cJSON_IsString(it) || parse_uuid(it->valuestring, s->internal[s->ninternal]) != 0)
			return cdc_error(errstr, errlen, "%s: \"internal_ids\" holds something that is not a UUID", src);
		s->ninternal++;
	}
	qsort(s->internal, s->ninternal, 16, cmp_id);
	return 0;
}

int cdc_schema_load_json(cdc_schema *s, const char *json, size_t len, const char *name,
			 char *errstr, size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(json, len), *types, *tables, *it;
	const char *fmt;
	int rc = 0;

	if (!root || !cJSON_IsObject(root)) {
		const char *e = cJSON_GetErrorPtr();

		cJSON_Delete(root);
		return cdc_error(errstr, errlen, "%s: offset %ld: not a JSON object", name,
				 e && e >= json && e <= json + len ? (long)(e - json) : 0L);
	}
	fmt = jstr(root, "format");
	if (!fmt || strcmp(fmt, "cdctail-schema/1") != 0) {
		cJSON_Delete(root);
		return cdc_error(errstr, errlen, "%s: \"format\" must be \"cdctail-schema/1\"", name);
	}
	{
		const char *v = jstr(cJSON_GetObjectItemCaseSensitive(root, "source"), "cassandra_version");

		if (v && *v && !s->cassandra_version)
			s->cassandra_version = strdup(v);
	}
	if (add_internal_ids(s, cJSON_GetObjectItemCaseSensitive(root, "internal_ids"), name, errstr, errlen) != 0) {
		cJSON_Delete(root);
		return -1;
	}
	types = cJSON_GetObjectItemCaseSensitive(root, "types");
	tables = cJSON_GetObjectItemCaseSensitive(root, "tables");
	/* UDTs may refer to each other: add those whose dependencies resolve, repeatedly. */
	if (cJSON_IsArray(types)) {
		int left = cJSON_GetArraySize(types), progress = 1;
		char *done = calloc((size_t)left + 1, 1);
		int i;

		while (left && progress && done) {
			progress = 0;
			for (i = 0; i < cJSON_GetArraySize(types); i++) {
				char tmp[CDC_ERRSTR_SIZE];
				size_t before = s->nudts;

				it = cJSON_GetArrayItem(types, i);
				if (done[i])
					continue;
				if (!jstr(it, "keyspace") || !jstr(it, "name")) {
					rc = cdc_error(errstr, errlen, "%s: a type needs keyspace and name", name);
					break;
				}
				if (add_udt(s, jstr(it, "keyspace"), jstr(it, "name"),
					    cJSON_GetObjectItemCaseSensitive(it, "field_names"),
					    cJSON_GetObjectItemCaseSensitive(it, "field_types"), name, tmp, sizeof(tmp)) == 0) {
					done[i] = 1;
					left--;
					progress = 1;
				} else {
					s->nudts = before;
					cdc_error(errstr, errlen, "%s", tmp);
				}
			}
			if (rc)
				break;
		}
		free(done);
		if (!rc && left) {
			cJSON_Delete(root);
			return -1;
		}
	}
	if (!rc && cJSON_IsArray(tables)) {
		cJSON_ArrayForEach(it, tables) {
			if ((rc = add_table(s, it, name, errstr, errlen)) != 0)
				break;
		}
	}
	cJSON_Delete(root);
	if (rc == 0)
		index_tables(s);
	return rc;
}

int cdc_schema_load_file(cdc_schema *s, const char *path, char *errstr, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;
	int rc;

	if (!f)
		return cdc_error(errstr, errlen, "%s: cannot open", path);
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return cdc_error(errstr, errlen, "%s: cannot read", path);
	}
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return cdc_error(errstr, errlen, "%s: cannot read", path);
	}
	fclose(f);
	rc = cdc_schema_load_json(s, buf, (size_t)n, path, errstr, errlen);
	free(buf);
	return rc;
}

/* Writes a type back in system_schema's notation. */
static void type_text(const cdc_type *t, cJSON *unused, char *out, size_t outlen)
{
	size_t i, n = strlen(out);
	const char *name = NULL;

	(void)unused;
	for (i = 0; i < sizeof(natives) / sizeof(natives[0]); i++)
		if (natives[i].kind == t->kind && t->kind != CDC_T_TEXT)
			name = natives[i].name;
	if (t->kind == CDC_T_TEXT)
		name = "text";
	if (name) {
		snprintf(out + n, outlen - n, "%s", name);
		return;
	}
	if (t->kind == CDC_T_UDT) {
		snprintf(out + n, outlen - n, t->frozen ? "frozen<%s>" : "%s", t->name);
		return;
	}
	if (t->kind == CDC_T_CUSTOM) {
		snprintf(out + n, outlen - n, "'%s'", t->name);
		return;
	}
	if (t->frozen && t->kind != CDC_T_TUPLE && t->kind != CDC_T_VECTOR)
		snprintf(out + n, outlen - n, "frozen<");
	n = strlen(out);
	snprintf(out + n, outlen - n, "%s<", t->kind == CDC_T_LIST ? "list" : t->kind == CDC_T_SET ? "set" :
		 t->kind == CDC_T_MAP ? "map" : t->kind == CDC_T_TUPLE ? "tuple" : "vector");
	for (i = 0; i < (size_t)t->nsub; i++) {
		if (i) {
			n = strlen(out);
			snprintf(out + n, outlen - n, ", ");
		}
		type_text(t->sub[i], NULL, out, outlen);
	}
	n = strlen(out);
	if (t->kind == CDC_T_VECTOR)
		snprintf(out + n, outlen - n, ", %d>", t->vector_dim);
	else
		snprintf(out + n, outlen - n, ">");
	if (t->frozen && t->kind != CDC_T_TUPLE && t->kind != CDC_T_VECTOR) {
		n = strlen(out);
		snprintf(out + n, outlen - n, ">");
	}
}

int cdc_schema_write_json(const cdc_schema *s, FILE *out, char *errstr, size_t errlen)
{
	static const char *kinds[] = { "partition_key", "clustering", "regular", "static" };
	cJSON *root = cJSON_CreateObject(), *types = cJSON_CreateArray(), *tables = cJSON_CreateArray();
	char *text, buf[1024], uuid[37];
	size_t i;
	int j, k;

	cJSON_AddStringToObject(root, "format", "cdctail-schema/1");
	if (s->ninternal) {
		cJSON *ids = cJSON_AddArrayToObject(root, "internal_ids");

		for (i = 0; i < s->ninternal; i++) {
			cdc_uuid_format(s->internal[i], uuid);
			cJSON_AddItemToArray(ids, cJSON_CreateString(uuid));
		}
	}
	cJSON_AddItemToObject(root, "types", types);
	cJSON_AddItemToObject(root, "tables", tables);
	for (i = 0; i < s->nudts; i++) {
		const cdc_type *t = s->udts[i].t;
		cJSON *o = cJSON_CreateObject(), *fn = cJSON_CreateArray(), *ft = cJSON_CreateArray();

		cJSON_AddStringToObject(o, "keyspace", s->udts[i].ks);
		cJSON_AddStringToObject(o, "name", s->udts[i].name);
		for (j = 0; j < t->nsub; j++) {
			buf[0] = '\0';
			type_text(t->sub[j], NULL, buf, sizeof(buf));
			cJSON_AddItemToArray(fn, cJSON_CreateString(t->field_names[j]));
			cJSON_AddItemToArray(ft, cJSON_CreateString(buf));
		}
		cJSON_AddItemToObject(o, "field_names", fn);
		cJSON_AddItemToObject(o, "field_types", ft);
		cJSON_AddItemToArray(types, o);
	}
	for (i = 0; i < s->ntables; i++) {
		const cdc_table *t = s->tables[i];
		cJSON *o = cJSON_CreateObject(), *cols = cJSON_CreateArray(), *dropped = cJSON_CreateArray();
		const cdc_column **lists[3] = { t->pk, t->ck, t->cols };
		int counts[3] = { t->npk, t->nck, t->ncols };

		cJSON_AddStringToObject(o, "keyspace", t->keyspace);
		cJSON_AddStringToObject(o, "table", t->name);
		cdc_uuid_format(t->id, uuid);
		cJSON_AddStringToObject(o, "id", uuid);
		cJSON_AddBoolToObject(o, "cdc", t->cdc);
		if (t->internal)
			cJSON_AddBoolToObject(o, "internal", 1);
		if (t->dropped_table)
			cJSON_AddBoolToObject(o, "dropped", 1);
		if (t->cdc_written) {
			char us[32];

			snprintf(us, sizeof(us), "%" PRId64, t->cdc_written);
			cJSON_AddRawToObject(o, "cdc_written", us);
		}
		for (k = 0; k < 3; k++) {
			for (j = 0; j < counts[k]; j++) {
				const cdc_column *c = lists[k][j];
				cJSON *jc = cJSON_CreateObject();

				buf[0] = '\0';
				type_text(c->type, NULL, buf, sizeof(buf));
				cJSON_AddStringToObject(jc, "name", c->name);
				cJSON_AddStringToObject(jc, "kind", kinds[c->kind]);
				cJSON_AddNumberToObject(jc, "position", c->position);
				cJSON_AddStringToObject(jc, "clustering_order",
							c->kind != CDC_COL_CLUSTERING ? "none" : c->desc ? "desc" : "asc");
				cJSON_AddStringToObject(jc, "type", buf);
				cJSON_AddItemToArray(cols, jc);
			}
		}
		for (j = 0; j < t->ndropped; j++) {
			cJSON *jc = cJSON_CreateObject();

			buf[0] = '\0';
			type_text(t->dropped[j]->type, NULL, buf, sizeof(buf));
			cJSON_AddStringToObject(jc, "name", t->dropped[j]->name);
			cJSON_AddStringToObject(jc, "type", buf);
			cJSON_AddNumberToObject(jc, "dropped_time", (double)t->dropped[j]->dropped_time);
			cJSON_AddItemToArray(dropped, jc);
		}
		cJSON_AddItemToObject(o, "columns", cols);
		cJSON_AddItemToObject(o, "dropped_columns", dropped);
		cJSON_AddItemToArray(tables, o);
	}
	text = cJSON_Print(root);
	cJSON_Delete(root);
	if (!text)
		return cdc_error(errstr, errlen, "out of memory writing the schema");
	fputs(text, out);
	fputc('\n', out);
	free(text);
	return 0;
}

const char *cdc_schema_cassandra_version(const cdc_schema *s)
{
	return s->cassandra_version;
}

int cdc_schema_is_system_keyspace(const char *ks)
{
	static const char *const names[] = {
		"system", "system_schema", "system_auth", "system_distributed", "system_traces",
		"system_views", "system_virtual_schema", "system_cluster_metadata", NULL,
	};
	size_t i;

	for (i = 0; names[i]; i++)
		if (strcmp(ks, names[i]) == 0)
			return 1;
	return 0;
}

size_t cdc_schema_internal_count(const cdc_schema *s)
{
	return s->ninternal;
}

int cdc_schema_is_internal(const cdc_schema *s, const uint8_t id[16])
{
	const cdc_table *t;

	if (s->ninternal && bsearch(id, s->internal, s->ninternal, 16, cmp_id))
		return 1;
	t = cdc_schema_table(s, id);
	return t && t->internal;
}

const cdc_table *cdc_schema_table(const cdc_schema *s, const uint8_t id[16])
{
	size_t i;

	if (s->nslots && s->indexed == s->ntables) {
		size_t h = id_hash(id) & (s->nslots - 1);

		while (s->slots[h]) {
			const cdc_table *t = s->tables[s->slots[h] - 1];

			if (memcmp(t->id, id, 16) == 0)
				return t;
			h = (h + 1) & (s->nslots - 1);
		}
		return NULL;
	}
	for (i = 0; i < s->ntables; i++)
		if (memcmp(s->tables[i]->id, id, 16) == 0)
			return s->tables[i];
	return NULL;
}

size_t cdc_schema_table_count(const cdc_schema *s)
{
	return s->ntables;
}

const cdc_table *cdc_schema_table_at(const cdc_schema *s, size_t i)
{
	return i < s->ntables ? s->tables[i] : NULL;
}

const cdc_column *cdc_table_column(const cdc_table *t, const uint8_t *name, size_t len)
{
	int hint = 0;

	return cdc_table_column_next(t, name, len, &hint);
}

const cdc_column *cdc_table_column_next(const cdc_table *t, const uint8_t *name, size_t len, int *hint)
{
	int i, k;

	for (k = 0; k < t->ncols; k++) {
		i = *hint + k < t->ncols ? *hint + k : *hint + k - t->ncols;
		if (t->cols[i]->name_len == len && memcmp(t->cols[i]->name, name, len) == 0) {
			*hint = i + 1 < t->ncols ? i + 1 : 0;
			return t->cols[i];
		}
	}
	for (i = 0; i < t->ndropped; i++)
		if (t->dropped[i]->name_len == len && memcmp(t->dropped[i]->name, name, len) == 0)
			return t->dropped[i];
	return NULL;
}
