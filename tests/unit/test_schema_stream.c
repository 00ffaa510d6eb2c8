/* test_schema_stream.c - table definitions read from the commitlog, on the
 * real `ddl` fixtures of Cassandra 5.0, 4.1, 4.0 and 3.11.
 *
 * The fixture's node ran CREATE TABLE, every kind of ALTER (ADD of simple,
 * collection, static and UDT columns, DROP, RENAME of a clustering column,
 * cdc off and on), DROP TABLE, a re-CREATE under the same name and DROP
 * KEYSPACE, all written to the segments. Its schema.json was exported from
 * the node itself (tables dropped on the way were exported before their
 * drop). Every table the segments create must get, from the segments
 * alone, the definition the node exported for it: the same columns with
 * kind, position, clustering order and type, the same dropped columns with
 * their drop time, the same cdc flag; and the definitions must come back
 * unchanged through checkpoint notes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "mutation.h"
#include "schema.h"
#include "schema_stream.h"
#include "segment.h"
#include "testutil.h"

/* With CDCTAIL_SEEDS=DIR (5.0 only), writes the schema entry as a seed of
 * tests/fuzz/fuzz_schema_stream.c: a byte for the messaging version, then
 * the body. */
static void write_seed(const char *version, int mv, const cdc_item *it)
{
	const char *dir = getenv("CDCTAIL_SEEDS");
	char path[512];
	uint8_t v = mv == 10 ? 0 : mv == 12 ? 1 : 2;
	FILE *f;

	if (!dir || strcmp(version, "5.0") != 0)
		return;
	snprintf(path, sizeof(path), "%s/ddl-%llu", dir, (unsigned long long)it->entry.offset);
	f = fopen(path, "wb");
	assert_non_null(f);
	fwrite(&v, 1, 1, f);
	fwrite(it->entry.body, 1, it->entry.size, f);
	fclose(f);
}

/* Reads every entry of fixtures/<v>/ddl into d, decoded with the schema
 * the node exported (its system_schema tables included). */
static cdc_schema *learn_fixture(const char *version, cdc_stream_defs *d)
{
	char path[256], err[CDC_ERRSTR_SIZE];
	cdc_schema *s;
	cdc_decoder *dec;
	glob_t g;
	size_t i, learnt = 0;

	snprintf(path, sizeof(path), "fixtures/%s/ddl/schema.json", version);
	if (access(path, R_OK) != 0)
		return NULL;
	s = cdc_schema_new();
	if (cdc_schema_load_file(s, path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	dec = cdc_decoder_new(s);
	snprintf(path, sizeof(path), "fixtures/%s/ddl/cdc_raw/CommitLog-*.log", version);
	assert_int_equal(glob(path, 0, NULL, &g), 0);
	for (i = 0; i < g.gl_pathc; i++) {
		cdc_segment *seg;
		cdc_item it;
		int rc, mv;

		if (cdc_segment_open(&seg, g.gl_pathv[i], err, sizeof(err)) != 0)
			fail_msg("%s", err);
		mv = cdc_segment_descriptor(seg)->messaging_version;
		while ((rc = cdc_segment_next(seg, &it, err, sizeof(err))) == 1) {
			cdc_mutation m;

			if (it.kind != CDC_ITEM_ENTRY)
				continue;
			if (cdc_decode(dec, it.entry.body, it.entry.size, mv, &m, err, sizeof(err)) != 0)
				continue; /* tables of other keyspaces: not ours */
			if (m.nupdates && m.updates[0].table->internal) {
				assert_int_equal(cdc_stream_defs_entry(d, &m), 0);
				learnt++;
				write_seed(version, mv, &it);
			}
		}
		cdc_segment_destroy(seg);
	}
	globfree(&g);
	cdc_decoder_destroy(dec);
	assert_true(learnt > 10); /* the workload's schema statements */
	return s;
}

/* The column object of arr named name, or fails. */
static cJSON *named(cJSON *arr, const char *name, const char *what)
{
	cJSON *it;

	cJSON_ArrayForEach(it, arr)
		if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(it, "name")), name) == 0)
			return it;
	fail_msg("%s %s is missing", what, name);
	return NULL;
}

/* Fields of object a equal those of b (as strings or numbers). */
static void same_fields(cJSON *a, cJSON *b, const char *const *keys, const char *where)
{
	for (; *keys; keys++) {
		cJSON *x = cJSON_GetObjectItem(a, *keys), *y = cJSON_GetObjectItem(b, *keys);

		if (!x || !y || !cJSON_Compare(x, y, 1))
			fail_msg("%s: %s differs: %s vs %s", where, *keys, x ? cJSON_PrintUnformatted(x) : "(none)",
				 y ? cJSON_PrintUnformatted(y) : "(none)");
	}
}

/* The stream's definition (doc) against the node's export of the table. */
static void compare(cJSON *doc, cJSON *want)
{
	static const char *const colkeys[] = { "kind", "position", "clustering_order", "type", NULL };
	static const char *const dropkeys[] = { "type", "dropped_time", NULL };
	cJSON *got = cJSON_GetArrayItem(cJSON_GetObjectItem(doc, "tables"), 0), *it;
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItem(want, "table"));
	char where[128];

	assert_non_null(got);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(got, "dropped")));
	assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(got, "table")), name);
	assert_int_equal(cJSON_IsTrue(cJSON_GetObjectItem(got, "cdc")), cJSON_IsTrue(cJSON_GetObjectItem(want, "cdc")));
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(got, "columns")),
			 cJSON_GetArraySize(cJSON_GetObjectItem(want, "columns")));
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(want, "columns")) {
		const char *cn = cJSON_GetStringValue(cJSON_GetObjectItem(it, "name"));

		snprintf(where, sizeof(where), "%s.%s", name, cn);
		same_fields(named(cJSON_GetObjectItem(got, "columns"), cn, "column"), it, colkeys, where);
	}
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(got, "dropped_columns")),
			 cJSON_GetArraySize(cJSON_GetObjectItem(want, "dropped_columns")));
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(want, "dropped_columns")) {
		const char *cn = cJSON_GetStringValue(cJSON_GetObjectItem(it, "name"));

		snprintf(where, sizeof(where), "%s, dropped %s", name, cn);
		same_fields(named(cJSON_GetObjectItem(got, "dropped_columns"), cn, "dropped column"), it, dropkeys, where);
	}
}

/* The 16 bytes of a canonical UUID. */
static void uuid_bytes(const char *s, uint8_t out[16])
{
	int i, j = 0;

	for (i = 0; i < 16; i++) {
		unsigned v;

		while (s[j] == '-')
			j++;
		assert_int_equal(sscanf(s + j, "%2x", &v), 1);
		out[i] = (uint8_t)v;
		j += 2;
	}
}

static void run_version(const char *version)
{
	cdc_stream_defs *d = cdc_stream_defs_new(), *back = cdc_stream_defs_new();
	cdc_schema *s = learn_fixture(version, d);
	char path[256], err[CDC_ERRSTR_SIZE];
	cdc_buf notes = CDC_BUF_INIT;
	cJSON *want, *it;
	FILE *f;
	int n = 0, gone = 0;

	if (!s) {
		print_message("no fixtures/%s/ddl (run from the repository root)\n", version);
		cdc_stream_defs_destroy(d);
		cdc_stream_defs_destroy(back);
		skip();
	}
	snprintf(path, sizeof(path), "fixtures/%s/ddl/schema.json", version);
	f = fopen(path, "r");
	assert_non_null(f);
	{
		char *text = calloc(1, 1 << 22);
		size_t len = fread(text, 1, (1 << 22) - 1, f);

		want = cJSON_ParseWithLength(text, len);
		free(text);
	}
	fclose(f);
	assert_non_null(want);
	/* through checkpoint notes and back */
	assert_int_equal(cdc_stream_defs_save(d, &notes), 0);
	assert_int_equal(cdc_stream_defs_load(back, cdc_buf_cstr(&notes), err, sizeof(err)), 0);
	assert_int_equal(cdc_stream_defs_count(back), cdc_stream_defs_count(d));
	cJSON_ArrayForEach(it, cJSON_GetObjectItem(want, "tables")) {
		cdc_buf a = CDC_BUF_INIT, b = CDC_BUF_INIT;
		uint8_t id[16];
		cJSON *doc;

		if (cJSON_IsTrue(cJSON_GetObjectItem(it, "internal")))
			continue;
		uuid_bytes(cJSON_GetStringValue(cJSON_GetObjectItem(it, "id")), id);
		assert_int_equal(cdc_stream_defs_doc(d, id, &a), 1);
		assert_int_equal(cdc_stream_defs_doc(back, id, &b), 1);
		assert_int_equal(a.len, b.len);
		assert_memory_equal(a.p, b.p, a.len);
		doc = cJSON_ParseWithLength(a.p, a.len);
		assert_non_null(doc);
		compare(doc, it);
		/* the document loads as a schema, its UDTs resolved */
		{
			cdc_schema *one = cdc_schema_new();

			if (cdc_schema_load_json(one, a.p, a.len, "stream", err, sizeof(err)) != 0)
				fail_msg("%s: %s", version, err);
			assert_non_null(cdc_schema_table(one, id));
			cdc_schema_destroy(one);
		}
		gone += cJSON_IsTrue(cJSON_GetObjectItem(it, "dropped"));
		n++;
		cJSON_Delete(doc);
		cdc_buf_free(&a);
		cdc_buf_free(&b);
	}
	/* t, t3 (live); t2, the first t3, x (dropped) */
	assert_int_equal(n, 5);
	assert_int_equal(gone, 3);
	/* a schema holding the tables lets their definitions go */
	assert_int_equal(cdc_stream_defs_prune(d, s), 5);
	assert_int_equal(cdc_stream_defs_count(d), 0);
	cJSON_Delete(want);
	cdc_buf_free(&notes);
	cdc_schema_destroy(s);
	cdc_stream_defs_destroy(d);
	cdc_stream_defs_destroy(back);
}

/* Damaged notes are an error naming the line, not a crash. */
static void test_bad_notes(void **state)
{
	cdc_stream_defs *d = cdc_stream_defs_new();
	char err[CDC_ERRSTR_SIZE];

	(void)state;
	assert_int_equal(cdc_stream_defs_load(d, "schema horizon 1 clock 2\nschema def 0000 {\"id\":\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "note 2"));
	assert_int_equal(cdc_stream_defs_load(d, "schema type 0 [1]\n", err, sizeof(err)), -1);
	assert_int_equal(cdc_stream_defs_load(d, "other line\n", err, sizeof(err)), 0);
	assert_int_equal(cdc_stream_defs_count(d), 0);
	cdc_stream_defs_destroy(d);
}

static void test_ddl_50(void **state)
{
	(void)state;
	run_version("5.0");
}

static void test_ddl_41(void **state)
{
	(void)state;
	run_version("4.1");
}

static void test_ddl_40(void **state)
{
	(void)state;
	run_version("4.0");
}

static void test_ddl_311(void **state)
{
	(void)state;
	run_version("3.11");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ddl_50),
		cmocka_unit_test(test_ddl_41),
		cmocka_unit_test(test_ddl_40),
		cmocka_unit_test(test_ddl_311),
		cmocka_unit_test(test_bad_notes),
	};

	return cmocka_run_group_tests_name("schema_stream", tests, NULL, NULL) ? 1 : 0;
}
