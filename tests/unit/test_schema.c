/* test_schema.c - the schema module: CQL type strings as system_schema prints
 * them, fixed value lengths as Cassandra's valueLengthIfFixed() gives them
 * (db/marshal/ of 5.0.9), simple vs complex columns, UDT
 * resolution, the JSON format (docs/schema-json.md) loaded and written back,
 * lookups by table id and column name with the dropped-column fallback, and
 * every fixture's schema.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <unistd.h>

#include "err.h"
#include "schema.h"
#include "testutil.h"

/* Parses `text` in keyspace ks of s; fails the test on error. */
static const cdc_type *parse(cdc_schema *s, const char *ks, const char *text)
{
	char err[CDC_ERRSTR_SIZE];
	const cdc_type *t = NULL;

	if (cdc_schema_parse_type(s, ks, text, &t, err, sizeof(err)) != 0)
		fail_msg("'%s': %s", text, err);
	assert_non_null(t);
	return t;
}

/* Native types: kind and fixed length. tinyint, smallint, date, time and
 * counter are variable (no valueLengthIfFixed override in ByteType,
 * ShortType, SimpleDateType, TimeType, CounterColumnType). */
static void test_natives(void **state)
{
	static const struct { const char *text; cdc_type_kind kind; int fixed; } cases[] = {
		{ "ascii", CDC_T_ASCII, -1 }, { "bigint", CDC_T_BIGINT, 8 }, { "blob", CDC_T_BLOB, -1 },
		{ "boolean", CDC_T_BOOLEAN, 1 }, { "counter", CDC_T_COUNTER, -1 }, { "date", CDC_T_DATE, -1 },
		{ "decimal", CDC_T_DECIMAL, -1 }, { "double", CDC_T_DOUBLE, 8 },
		{ "duration", CDC_T_DURATION, -1 }, { "float", CDC_T_FLOAT, 4 }, { "inet", CDC_T_INET, -1 },
		{ "int", CDC_T_INT, 4 }, { "smallint", CDC_T_SMALLINT, -1 }, { "text", CDC_T_TEXT, -1 },
		{ "varchar", CDC_T_TEXT, -1 }, { "time", CDC_T_TIME, -1 }, { "timestamp", CDC_T_TIMESTAMP, 8 },
		{ "timeuuid", CDC_T_TIMEUUID, 16 }, { "tinyint", CDC_T_TINYINT, -1 }, { "uuid", CDC_T_UUID, 16 },
		{ "varint", CDC_T_VARINT, -1 },
	};
	cdc_schema *s = cdc_schema_new();
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const cdc_type *t = parse(s, "ks", cases[i].text);

		if (t->kind != cases[i].kind || t->fixed_len != cases[i].fixed)
			fail_msg("%s: kind %d fixed %d, want kind %d fixed %d", cases[i].text, (int)t->kind,
				 t->fixed_len, (int)cases[i].kind, cases[i].fixed);
	}
	cdc_schema_destroy(s);
}

/* Collections, tuples, vectors: nesting, frozenness, fixed lengths
 * (VectorType: dimension x element length when the element is fixed). */
static void test_composites(void **state)
{
	cdc_schema *s = cdc_schema_new();
	const cdc_type *t;

	(void)state;
	t = parse(s, "ks", "list<int>");
	assert_int_equal(t->kind, CDC_T_LIST);
	assert_false(t->frozen);
	assert_int_equal(t->nsub, 1);
	assert_int_equal(t->sub[0]->kind, CDC_T_INT);
	assert_int_equal(t->fixed_len, -1);

	t = parse(s, "ks", "frozen<list<text>>");
	assert_int_equal(t->kind, CDC_T_LIST);
	assert_true(t->frozen);
	assert_int_equal(t->fixed_len, -1);

	t = parse(s, "ks", "map<text, frozen<list<int>>>");
	assert_int_equal(t->kind, CDC_T_MAP);
	assert_false(t->frozen);
	assert_int_equal(t->nsub, 2);
	assert_int_equal(t->sub[0]->kind, CDC_T_TEXT);
	assert_int_equal(t->sub[1]->kind, CDC_T_LIST);
	assert_true(t->sub[1]->frozen);

	t = parse(s, "ks", "set<frozen<tuple<int, text, boolean>>>");
	assert_int_equal(t->kind, CDC_T_SET);
	assert_int_equal(t->sub[0]->kind, CDC_T_TUPLE);
	assert_int_equal(t->sub[0]->nsub, 3);
	assert_int_equal(t->sub[0]->sub[2]->kind, CDC_T_BOOLEAN);

	t = parse(s, "ks", "frozen<tuple<int, text, boolean>>");
	assert_int_equal(t->kind, CDC_T_TUPLE);
	assert_true(t->frozen);
	assert_int_equal(t->fixed_len, -1);

	t = parse(s, "ks", "tuple<int, bigint>");
	assert_true(t->frozen);             /* tuples are always frozen */

	t = parse(s, "ks", "vector<float, 3>");
	assert_int_equal(t->kind, CDC_T_VECTOR);
	assert_int_equal(t->vector_dim, 3);
	assert_int_equal(t->fixed_len, 12);
	t = parse(s, "ks", "vector<bigint, 1000>");
	assert_int_equal(t->fixed_len, 8000);
	t = parse(s, "ks", "vector<text, 2>");
	assert_int_equal(t->fixed_len, -1);
	t = parse(s, "ks", "vector<smallint, 4>");  /* smallint is variable */
	assert_int_equal(t->fixed_len, -1);
	t = parse(s, "ks", "vector<frozen<list<int>>, 2>");
	assert_int_equal(t->sub[0]->kind, CDC_T_LIST);
	assert_int_equal(t->fixed_len, -1);
	cdc_schema_destroy(s);
}

/* Strings that are not types fail with a message naming the text. */
static void test_bad_types(void **state)
{
	static const char *bad[] = {
		"", "list<", "list<int", "map<int>", "nosuchtype", "frozen<int", "vector<float>",
		"vector<float, 0>", "vector<float, x>", "list<int>>", "tuple<>",
	};
	cdc_schema *s = cdc_schema_new();
	char err[CDC_ERRSTR_SIZE];
	const cdc_type *t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (cdc_schema_parse_type(s, "ks", bad[i], &t, err, sizeof(err)) == 0)
			fail_msg("'%s' parsed", bad[i]);
		assert_true(err[0] != '\0');
	}
	cdc_schema_destroy(s);
}

/* Custom types print as quoted class names; those whose class has a fixed
 * length keep it (LexicalUUIDType 16, and the classes of native types). */
static void test_custom(void **state)
{
	cdc_schema *s = cdc_schema_new();
	const cdc_type *t;

	(void)state;
	t = parse(s, "ks", "'org.apache.cassandra.db.marshal.DynamicCompositeType(s=>org.apache.cassandra.db.marshal.UTF8Type)'");
	assert_int_equal(t->kind, CDC_T_CUSTOM);
	assert_int_equal(t->fixed_len, -1);
	assert_non_null(t->name);
	t = parse(s, "ks", "'org.apache.cassandra.db.marshal.LexicalUUIDType'");
	assert_int_equal(t->fixed_len, 16);
	t = parse(s, "ks", "'org.apache.cassandra.db.marshal.DateType'");
	assert_int_equal(t->fixed_len, 8);
	t = parse(s, "ks", "'org.apache.cassandra.db.marshal.BytesType'");
	assert_int_equal(t->fixed_len, -1);
	cdc_schema_destroy(s);
}

static const char *SCHEMA_JSON =
	"{\"format\":\"cdctail-schema/1\",\"source\":{\"cassandra_version\":\"5.0.9\"},"
	/* inner is listed after outer, which refers to it: the loader must cope */
	"\"types\":[{\"keyspace\":\"ks\",\"name\":\"outer\",\"field_names\":[\"a\",\"in\"],"
	"\"field_types\":[\"int\",\"frozen<inner>\"]},"
	"{\"keyspace\":\"ks\",\"name\":\"inner\",\"field_names\":[\"x\",\"y\"],"
	"\"field_types\":[\"text\",\"frozen<list<int>>\"]},"
	"{\"keyspace\":\"ks\",\"name\":\"Quoted\",\"field_names\":[\"v\"],\"field_types\":[\"bigint\"]}],"
	"\"tables\":[{\"keyspace\":\"ks\",\"table\":\"t\",\"id\":\"5bc52802-de25-11e5-9e34-1f2e1ac0b2f1\","
	"\"cdc\":true,\"columns\":["
	"{\"name\":\"b\",\"kind\":\"partition_key\",\"position\":1,\"clustering_order\":\"none\",\"type\":\"int\"},"
	"{\"name\":\"a\",\"kind\":\"partition_key\",\"position\":0,\"clustering_order\":\"none\",\"type\":\"text\"},"
	"{\"name\":\"c2\",\"kind\":\"clustering\",\"position\":1,\"clustering_order\":\"asc\",\"type\":\"timeuuid\"},"
	"{\"name\":\"c1\",\"kind\":\"clustering\",\"position\":0,\"clustering_order\":\"desc\",\"type\":\"float\"},"
	"{\"name\":\"st\",\"kind\":\"static\",\"position\":-1,\"clustering_order\":\"none\",\"type\":\"set<text>\"},"
	"{\"name\":\"o\",\"kind\":\"regular\",\"position\":-1,\"clustering_order\":\"none\",\"type\":\"outer\"},"
	"{\"name\":\"fo\",\"kind\":\"regular\",\"position\":-1,\"clustering_order\":\"none\",\"type\":\"frozen<outer>\"},"
	"{\"name\":\"q\",\"kind\":\"regular\",\"position\":-1,\"clustering_order\":\"none\",\"type\":\"frozen<\\\"Quoted\\\">\"},"
	"{\"name\":\"v\",\"kind\":\"regular\",\"position\":-1,\"clustering_order\":\"none\",\"type\":\"vector<float, 3>\"},"
	"{\"name\":\"m\",\"kind\":\"regular\",\"position\":-1,\"clustering_order\":\"none\",\"type\":\"map<int, text>\"},"
	"{\"name\":\"fm\",\"kind\":\"regular\",\"position\":-1,\"clustering_order\":\"none\",\"type\":\"frozen<map<int, text>>\"}],"
	"\"dropped_columns\":[{\"name\":\"old\",\"type\":\"list<int>\",\"dropped_time\":1732500000000000}]},"
	"{\"keyspace\":\"ks\",\"table\":\"n\",\"id\":\"00000000-0000-0000-0000-000000000001\",\"cdc\":false,"
	"\"columns\":[{\"name\":\"k\",\"kind\":\"partition_key\",\"position\":0,\"clustering_order\":\"none\",\"type\":\"int\"}]}]}";

static const uint8_t ID_T[16] = { 0x5b, 0xc5, 0x28, 0x02, 0xde, 0x25, 0x11, 0xe5,
				  0x9e, 0x34, 0x1f, 0x2e, 0x1a, 0xc0, 0xb2, 0xf1 };

static const cdc_column *col(const cdc_table *t, const char *name)
{
	return cdc_table_column(t, (const uint8_t *)name, strlen(name));
}

/* Checks the table `t` of SCHEMA_JSON, however it was loaded. */
static void check_t(const cdc_schema *s)
{
	const cdc_table *t = cdc_schema_table(s, ID_T), *n;
	const cdc_column *c;
	uint8_t other[16];

	assert_non_null(t);
	assert_string_equal(t->keyspace, "ks");
	assert_string_equal(t->name, "t");
	assert_true(t->cdc);
	assert_int_equal(t->npk, 2);
	assert_string_equal(t->pk[0]->name, "a");     /* ordered by position */
	assert_string_equal(t->pk[1]->name, "b");
	assert_int_equal(t->pk[1]->kind, CDC_COL_PARTITION_KEY);
	assert_int_equal(t->nck, 2);
	assert_string_equal(t->ck[0]->name, "c1");
	assert_true(t->ck[0]->desc);
	assert_int_equal(t->ck[0]->type->fixed_len, 4);
	assert_string_equal(t->ck[1]->name, "c2");
	assert_false(t->ck[1]->desc);
	assert_int_equal(t->ck[1]->type->fixed_len, 16);
	assert_int_equal(t->ncols, 7);

	c = col(t, "st");
	assert_non_null(c);
	assert_int_equal(c->kind, CDC_COL_STATIC);
	assert_true(c->complex);
	c = col(t, "o");                              /* non-frozen UDT: complex */
	assert_non_null(c);
	assert_true(c->complex);
	assert_int_equal(c->type->kind, CDC_T_UDT);
	assert_int_equal(c->type->nsub, 2);
	assert_string_equal(c->type->field_names[1], "in");
	assert_int_equal(c->type->sub[1]->kind, CDC_T_UDT);
	assert_string_equal(c->type->sub[1]->name, "inner");
	assert_int_equal(c->type->sub[1]->sub[1]->kind, CDC_T_LIST);
	c = col(t, "fo");
	assert_false(c->complex);
	assert_true(c->type->frozen);
	assert_int_equal(c->type->fixed_len, -1);
	c = col(t, "q");
	assert_non_null(c);
	assert_string_equal(c->type->name, "Quoted");
	c = col(t, "v");
	assert_false(c->complex);
	assert_int_equal(c->type->fixed_len, 12);
	assert_true(col(t, "m")->complex);
	assert_false(col(t, "fm")->complex);
	assert_int_equal(col(t, "m")->kind, CDC_COL_REGULAR);

	c = col(t, "old");                            /* dropped fallback */
	assert_non_null(c);
	assert_true(c->dropped_time == 1732500000000000LL);
	assert_true(c->complex);
	assert_null(col(t, "nosuch"));
	assert_null(col(t, "a"));                     /* key columns are not in headers */
	assert_non_null(cdc_table_column(t, (const uint8_t *)"oldx", 3)); /* (pointer, length), no NUL */

	memset(other, 0, sizeof(other));
	other[15] = 1;
	n = cdc_schema_table(s, other);
	assert_non_null(n);
	assert_false(n->cdc);
	other[15] = 2;
	assert_null(cdc_schema_table(s, other));
}

static void test_load_and_lookup(void **state)
{
	cdc_schema *s = cdc_schema_new();
	char err[CDC_ERRSTR_SIZE];

	(void)state;
	if (cdc_schema_load_json(s, SCHEMA_JSON, strlen(SCHEMA_JSON), "mem", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(cdc_schema_table_count(s), 2);
	assert_non_null(cdc_schema_table_at(s, 0));
	assert_null(cdc_schema_table_at(s, 2));
	check_t(s);
	cdc_schema_destroy(s);
}

/* Writes `s` to a temporary file and loads it into a new schema. */
static cdc_schema *round_trip(const cdc_schema *s)
{
	char err[CDC_ERRSTR_SIZE], path[] = "/tmp/cdctail-test-schema-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	cdc_schema *back;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	if (cdc_schema_write_json(s, f, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	fclose(f);
	back = cdc_schema_new();
	if (cdc_schema_load_file(back, path, err, sizeof(err)) != 0)
		fail_msg("reloading what was written: %s", err);
	unlink(path);
	return back;
}

/* Two schemas hold the same tables, columns and types. */
static void assert_same(const cdc_schema *a, const cdc_schema *b)
{
	size_t i;
	int j;

	assert_int_equal(cdc_schema_table_count(a), cdc_schema_table_count(b));
	for (i = 0; i < cdc_schema_table_count(a); i++) {
		const cdc_table *x = cdc_schema_table_at(a, i), *y = cdc_schema_table(b, x->id);

		assert_non_null(y);
		assert_string_equal(x->keyspace, y->keyspace);
		assert_string_equal(x->name, y->name);
		assert_int_equal(x->cdc, y->cdc);
		assert_int_equal(x->npk, y->npk);
		assert_int_equal(x->nck, y->nck);
		assert_int_equal(x->ncols, y->ncols);
		assert_int_equal(x->ndropped, y->ndropped);
		for (j = 0; j < x->npk; j++)
			assert_string_equal(x->pk[j]->name, y->pk[j]->name);
		for (j = 0; j < x->nck; j++) {
			assert_string_equal(x->ck[j]->name, y->ck[j]->name);
			assert_int_equal(x->ck[j]->desc, y->ck[j]->desc);
			assert_int_equal(x->ck[j]->type->kind, y->ck[j]->type->kind);
		}
		for (j = 0; j < x->ncols; j++) {
			const cdc_column *c = x->cols[j], *d = col(y, c->name);

			assert_non_null(d);
			assert_int_equal(c->kind, d->kind);
			assert_int_equal(c->complex, d->complex);
			assert_int_equal(c->type->kind, d->type->kind);
			assert_int_equal(c->type->frozen, d->type->frozen);
			assert_int_equal(c->type->nsub, d->type->nsub);
			assert_int_equal(c->type->fixed_len, d->type->fixed_len);
		}
		for (j = 0; j < x->ndropped; j++) {
			const cdc_column *c = x->dropped[j], *d = col(y, c->name);

			assert_non_null(d);
			assert_true(c->dropped_time == d->dropped_time);
			assert_int_equal(c->complex, d->complex);
		}
	}
}

static void test_round_trip(void **state)
{
	cdc_schema *s = cdc_schema_new(), *back, *again;
	char err[CDC_ERRSTR_SIZE];

	(void)state;
	if (cdc_schema_load_json(s, SCHEMA_JSON, strlen(SCHEMA_JSON), "mem", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	back = round_trip(s);
	check_t(back);
	assert_same(s, back);
	again = round_trip(back);
	assert_same(back, again);
	cdc_schema_destroy(again);
	cdc_schema_destroy(back);
	cdc_schema_destroy(s);
}

/* Malformed files fail with a message naming the file. */
static void test_bad_json(void **state)
{
	static const char *bad[] = {
		"", "[]", "{\"format\":\"other/1\",\"tables\":[]}", "{\"tables\":[]}",
		"{\"format\":\"cdctail-schema/1\",\"tables\":[{\"keyspace\":\"k\"}]}",
		"{\"format\":\"cdctail-schema/1\",\"tables\":[{\"keyspace\":\"k\",\"table\":\"t\",\"id\":\"zz\",\"columns\":[]}]}",
		"{\"format\":\"cdctail-schema/1\",\"tables\":[{\"keyspace\":\"k\",\"table\":\"t\","
		"\"id\":\"00000000-0000-0000-0000-000000000001\",\"columns\":[{\"name\":\"c\",\"kind\":\"regular\","
		"\"position\":-1,\"clustering_order\":\"none\",\"type\":\"nosuchudt\"}]}]}",
		"{\"format\":\"cdctail-schema/1\",\"types\":[{\"keyspace\":\"k\",\"name\":\"a\",\"field_names\":[\"x\"],"
		"\"field_types\":[\"frozen<b>\"]},{\"keyspace\":\"k\",\"name\":\"b\",\"field_names\":[\"y\"],"
		"\"field_types\":[\"frozen<a>\"]}],\"tables\":[]}",
	};
	char err[CDC_ERRSTR_SIZE];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cdc_schema *s = cdc_schema_new();

		err[0] = '\0';
		if (cdc_schema_load_json(s, bad[i], strlen(bad[i]), "bad.json", err, sizeof(err)) == 0)
			fail_msg("loaded: %s", bad[i]);
		assert_non_null(strstr(err, "bad.json"));
		cdc_schema_destroy(s);
	}
	{
		cdc_schema *s = cdc_schema_new();

		assert_int_equal(cdc_schema_load_file(s, "/nonexistent/schema.json", err, sizeof(err)), -1);
		assert_non_null(strstr(err, "/nonexistent/schema.json"));
		cdc_schema_destroy(s);
	}
}

/* Every fixture's schema.json loads, its tables match schema.cql's CREATE
 * TABLE statements, and it survives a round trip. */
static void test_fixtures(void **state)
{
	glob_t g;
	size_t i;
	int seen = 0;

	(void)state;
	if (glob("fixtures/*/*/schema.json", 0, NULL, &g) != 0) {
		print_message("no fixtures (run from the repository root)\n");
		skip();
	}
	for (i = 0; i < g.gl_pathc; i++) {
		cdc_schema *s = cdc_schema_new(), *back;
		char err[CDC_ERRSTR_SIZE], cql[4096];
		size_t creates = 0, j;
		FILE *f;
		char *p;

		if (cdc_schema_load_file(s, g.gl_pathv[i], err, sizeof(err)) != 0)
			fail_msg("%s", err);
		snprintf(cql, sizeof(cql), "%s", g.gl_pathv[i]);
		p = strrchr(cql, '/');
		snprintf(p + 1, sizeof(cql) - (size_t)(p + 1 - cql), "schema.cql");
		f = fopen(cql, "r");
		if (f) {
			char line[8192];

			while (fgets(line, sizeof(line), f))
				if (strncmp(line, "CREATE TABLE ", 13) == 0)
					creates++;
			fclose(f);
			/* schema.cql creates the tables the workload left; schema.json
			 * also holds the dropped ones and Cassandra's system_schema */
			for (j = 0; j < cdc_schema_table_count(s); j++)
				if (cdc_schema_table_at(s, j)->internal || cdc_schema_table_at(s, j)->dropped_table)
					creates++;
			assert_int_equal(creates, cdc_schema_table_count(s));
		}
		for (j = 0; j < cdc_schema_table_count(s); j++) {
			const cdc_table *t = cdc_schema_table_at(s, j);

			assert_true(t->npk >= 1);
			assert_ptr_equal(cdc_schema_table(s, t->id), t);
		}
		back = round_trip(s);
		assert_same(s, back);
		cdc_schema_destroy(back);
		cdc_schema_destroy(s);
		seen++;
	}
	globfree(&g);
	print_message("%d fixture schemas\n", seen);
	assert_true(seen > 0);
}

/* The `types` fixture: the column types of types.all_types and types.colls
 * as CQL declared them (fixtures/<v>/types/schema.cql). */
static void test_fixture_types(void **state)
{
	static const char *versions[] = { "5.0", "4.1", "4.0" };
	static const struct { const char *col; cdc_type_kind kind; int fixed, complex; } want[] = {
		{ "bo", CDC_T_BOOLEAN, 1, 0 }, { "tiny", CDC_T_TINYINT, -1, 0 }, { "si", CDC_T_SMALLINT, -1, 0 },
		{ "da", CDC_T_DATE, -1, 0 }, { "ti", CDC_T_TIME, -1, 0 }, { "tis", CDC_T_TIMESTAMP, 8, 0 },
		{ "tu", CDC_T_TIMEUUID, 16, 0 }, { "u", CDC_T_UUID, 16, 0 }, { "vc", CDC_T_TEXT, -1, 0 },
		{ "fl", CDC_T_FLOAT, 4, 0 }, { "do", CDC_T_DOUBLE, 8, 0 }, { "bi", CDC_T_BIGINT, 8, 0 },
	};
	size_t v, i;
	int seen = 0;

	(void)state;
	for (v = 0; v < 3; v++) {
		char path[256], err[CDC_ERRSTR_SIZE];
		cdc_schema *s;
		const cdc_table *t = NULL, *colls = NULL;
		const cdc_column *c;

		snprintf(path, sizeof(path), "fixtures/%s/types/schema.json", versions[v]);
		if (access(path, R_OK) != 0)
			continue;
		s = cdc_schema_new();
		if (cdc_schema_load_file(s, path, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		for (i = 0; i < cdc_schema_table_count(s); i++) {
			const cdc_table *x = cdc_schema_table_at(s, i);

			if (strcmp(x->name, "all_types") == 0)
				t = x;
			if (strcmp(x->name, "colls") == 0)
				colls = x;
		}
		assert_non_null(t);
		assert_non_null(colls);
		for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			c = col(t, want[i].col);
			assert_non_null(c);
			if (c->type->kind != want[i].kind || c->type->fixed_len != want[i].fixed ||
			    c->complex != want[i].complex)
				fail_msg("%s %s: kind %d fixed %d", versions[v], want[i].col, (int)c->type->kind,
					 c->type->fixed_len);
		}
		c = col(t, "vec");
		if (c) {                          /* 5.0 only */
			assert_int_equal(c->type->kind, CDC_T_VECTOR);
			assert_int_equal(c->type->fixed_len, 12);
		}
		assert_true(col(colls, "l")->complex);
		assert_true(col(colls, "s")->complex);
		assert_true(col(colls, "m")->complex);
		assert_true(col(colls, "addr")->complex);
		assert_false(col(colls, "faddr")->complex);
		assert_false(col(colls, "fl")->complex);
		assert_false(col(colls, "tu")->complex);
		assert_true(col(colls, "nested")->complex);
		assert_int_equal(col(colls, "addr")->type->nsub, 3);
		assert_int_equal(col(colls, "addr")->type->sub[2]->kind, CDC_T_SET);
		cdc_schema_destroy(s);
		seen++;
	}
	if (!seen)
		skip();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_natives),
		cmocka_unit_test(test_composites),
		cmocka_unit_test(test_bad_types),
		cmocka_unit_test(test_custom),
		cmocka_unit_test(test_load_and_lookup),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_json),
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_fixture_types),
	};

	return cmocka_run_group_tests_name("schema", tests, NULL, NULL) ? 1 : 0;
}
