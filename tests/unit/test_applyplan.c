/* test_applyplan.c - events to the statements `cdctail apply` sends
 * (applyplan.c, docs/apply.md), without a node: each op, USING TIMESTAMP of
 * the change, TTL from expires as the time left, an expired cell as a
 * deletion at its timestamp, list appends marked (and recorded once in the
 * id store across a reopen, as apply records them), counters and list
 * removals counted and left out, invalid events refused. Tables: the 5.0
 * `types` fixture schema. Expected texts and bytes are written out here
 * from the CQL and the native protocol's serialization. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "applyplan.h"
#include "err.h"
#include "idstore.h"
#include "schema.h"

#define NOW_US 1700000000000000LL /* 2023-11-14T22:13:20Z */

static cdc_schema *S;

static int setup(void **st)
{
	char err[CDC_ERRSTR_SIZE];

	(void)st;
	S = cdc_schema_new();
	return S && cdc_schema_load_file(S, "fixtures/5.0/types/schema.json", err, sizeof(err)) == 0 ? 0 : -1;
}

static int teardown(void **st)
{
	(void)st;
	cdc_schema_destroy(S);
	return 0;
}

/* The keyspace map of the tests: src -> types. */
static const cdc_table *lookup(void *opaque, const char *ks, size_t kslen, const char *tb, size_t tlen)
{
	size_t i;

	(void)opaque;
	if (!(kslen == 3 && memcmp(ks, "src", 3) == 0))
		return NULL;
	for (i = 0; i < cdc_schema_table_count(S); i++) {
		const cdc_table *t = cdc_schema_table_at(S, i);

		if (strlen(t->name) == tlen && memcmp(t->name, tb, tlen) == 0)
			return t;
	}
	return NULL;
}

/* Plans ev; returns its rendering (statement, then value bytes in hex). */
static char *plan(cdc_plan *p, const char *ev, int want_rc)
{
	static char out[8192];
	char err[CDC_ERRSTR_SIZE] = "";
	cdc_buf b = CDC_BUF_INIT;
	int rc = cdc_plan_event(p, ev, strlen(ev), lookup, NULL, NOW_US, err, sizeof(err));

	if (rc != want_rc)
		fail_msg("plan rc %d (want %d): %s for %s", rc, want_rc, err, ev);
	cdc_plan_describe(p, &b);
	snprintf(out, sizeof(out), "%s", cdc_buf_cstr(&b));
	cdc_buf_free(&b);
	return out;
}

/* 1700000000000123 as 8 bytes, TTL 0 as 4 */
#define TS "0x00060a24181e407b"
#define TTL0 "0x00000000"

static void test_update_insert(void **st)
{
	cdc_plan p;

	(void)st;
	memset(&p, 0, sizeof(p));
	assert_string_equal(plan(&p, "{\"op\":\"update\",\"keyspace\":\"src\",\"table\":\"other\",\"key\":{\"id\":7},"
				     "\"cells\":{\"v\":{\"ts\":1700000000000123,\"value\":\"hi\"}},\"ts\":1700000000000123}", 0),
			    "UPDATE types.other USING TIMESTAMP ? AND TTL ? SET v = ? WHERE id = ? [" TS ", " TTL0
			    ", 0x6869, 0x00000007]\n");
	assert_string_equal(p.op, "update");
	assert_int_equal(p.list_append, 0);
	assert_int_equal(p.ts, 1700000000000123LL);
	/* insert: the row's liveness with the cells of its timestamp in one INSERT */
	assert_string_equal(plan(&p, "{\"op\":\"insert\",\"keyspace\":\"src\",\"table\":\"other\",\"key\":{\"id\":7},"
				     "\"cells\":{\"v\":{\"ts\":1700000000000123,\"value\":\"hi\"}},\"ts\":1700000000000123,"
				     "\"id\":\"abc\"}", 0),
			    "INSERT INTO types.other (id, v) VALUES (?, ?) USING TIMESTAMP ? AND TTL ? [0x00000007, 0x6869, " TS
			    ", " TTL0 "]\n");
	assert_string_equal(p.id, "abc");
	cdc_plan_free(&p);
}

static void test_deletes(void **st)
{
	cdc_plan p;

	(void)st;
	memset(&p, 0, sizeof(p));
	assert_string_equal(plan(&p, "{\"op\":\"delete_partition\",\"keyspace\":\"src\",\"table\":\"statics\",\"key\":{\"p\":1},"
				     "\"ts\":1700000000000123}", 0),
			    "DELETE FROM types.statics USING TIMESTAMP ? WHERE p = ? [" TS ", 0x00000001]\n");
	assert_string_equal(plan(&p, "{\"op\":\"delete_row\",\"keyspace\":\"src\",\"table\":\"statics\",\"key\":{\"p\":1},"
				     "\"clustering\":{\"c\":2},\"ts\":1700000000000123}", 0),
			    "DELETE FROM types.statics USING TIMESTAMP ? WHERE p = ? AND c = ? [" TS ", 0x00000001, 0x00000002]\n");
	assert_string_equal(plan(&p, "{\"op\":\"delete_range\",\"keyspace\":\"src\",\"table\":\"statics\",\"key\":{\"p\":1},"
				     "\"start\":{\"clustering\":{\"c\":2},\"inclusive\":false},"
				     "\"end\":{\"clustering\":{\"c\":9},\"inclusive\":true},\"ts\":1700000000000123}", 0),
			    "DELETE FROM types.statics USING TIMESTAMP ? WHERE p = ? AND c > ? AND c <= ? [" TS
			    ", 0x00000001, 0x00000002, 0x00000009]\n");
	/* a cell tombstone, and a static cell (no clustering in the WHERE) */
	assert_string_equal(plan(&p, "{\"op\":\"delete_cells\",\"keyspace\":\"src\",\"table\":\"statics\",\"key\":{\"p\":1},"
				     "\"static\":true,\"cells\":{\"s\":{\"ts\":1700000000000123,\"deleted\":true}},"
				     "\"ts\":1700000000000123}", 0),
			    "DELETE s FROM types.statics USING TIMESTAMP ? WHERE p = ? [" TS ", 0x00000001]\n");
	cdc_plan_free(&p);
}

static void test_ttl_expires(void **st)
{
	cdc_plan p;

	(void)st;
	memset(&p, 0, sizeof(p));
	/* expires 100 s after now: TTL 100 (not the original 3600) */
	assert_string_equal(plan(&p, "{\"op\":\"update\",\"keyspace\":\"src\",\"table\":\"other\",\"key\":{\"id\":7},"
				     "\"cells\":{\"v\":{\"ts\":1700000000000123,\"ttl\":3600,\"expires\":1700000100,\"value\":\"hi\"}},"
				     "\"ts\":1700000000000123}", 0),
			    "UPDATE types.other USING TIMESTAMP ? AND TTL ? SET v = ? WHERE id = ? [" TS
			    ", 0x00000064, 0x6869, 0x00000007]\n");
	assert_int_equal(p.expired, 0);
	/* ttl without expires: as given */
	assert_string_equal(plan(&p, "{\"op\":\"update\",\"keyspace\":\"src\",\"table\":\"other\",\"key\":{\"id\":7},"
				     "\"cells\":{\"v\":{\"ttl\":60,\"value\":\"hi\"}},\"ts\":1700000000000123}", 0),
			    "UPDATE types.other USING TIMESTAMP ? AND TTL ? SET v = ? WHERE id = ? [" TS
			    ", 0x0000003c, 0x6869, 0x00000007]\n");
	/* expired (expires == now): a deletion at the cell's timestamp */
	assert_string_equal(plan(&p, "{\"op\":\"update\",\"keyspace\":\"src\",\"table\":\"other\",\"key\":{\"id\":7},"
				     "\"cells\":{\"v\":{\"ts\":1700000000000123,\"ttl\":5,\"expires\":1700000000,\"value\":\"hi\"}},"
				     "\"ts\":1700000000000123}", 0),
			    "DELETE v FROM types.other USING TIMESTAMP ? WHERE id = ? [" TS ", 0x00000007]\n");
	assert_int_equal(p.expired, 1);
	/* an expired set element: removed at its timestamp */
	assert_string_equal(plan(&p, "{\"op\":\"update\",\"keyspace\":\"src\",\"table\":\"colls\",\"key\":{\"id\":3},"
				     "\"cells\":{\"s\":{\"elements\":[{\"ts\":1700000000000123,\"expires\":1699999000,\"value\":\"a\"}]}},"
				     "\"ts\":1700000000000123}", 0),
			    "UPDATE types.colls USING TIMESTAMP ? AND TTL ? SET s = s - ? WHERE id = ? [" TS ", " TTL0
			    ", 0x000000010000000161, 0x00000003]\n");
	assert_int_equal(p.expired, 1);
	cdc_plan_free(&p);
}

static void test_list_append_once(void **st)
{
	cdc_plan p;
	cdc_idstore *ids;
	char dir[] = "/tmp/test_applyplan.XXXXXX", err[CDC_ERRSTR_SIZE], key[80];
	const char *ev = "{\"op\":\"update\",\"keyspace\":\"src\",\"table\":\"colls\",\"key\":{\"id\":3},"
			 "\"cells\":{\"l\":{\"elements\":[{\"ts\":1700000000000123,\"index\":\"5f7e0000a9ba11eeb2f0000000000000\","
			 "\"value\":4}]}},\"list_append\":true,\"ts\":1700000000000123,\"id\":\"0123456789abcdef\"}";

	(void)st;
	memset(&p, 0, sizeof(p));
	assert_string_equal(plan(&p, ev, 0), "UPDATE types.colls USING TIMESTAMP ? AND TTL ? SET l = l + ? WHERE id = ? [" TS
					     ", " TTL0 ", 0x000000010000000400000004, 0x00000003]\n");
	assert_int_equal(p.list_append, 1);
	assert_string_equal(p.id, "0123456789abcdef");
	/* apply's record: "a:" + id once acknowledged; known after a reopen, so
	 * the event is skipped the second time */
	assert_non_null(mkdtemp(dir));
	snprintf(key, sizeof(key), "a:%s", p.id);
	assert_int_equal(cdc_idstore_open(&ids, dir, NULL, err, sizeof(err)), 0);
	assert_int_equal(cdc_idstore_get(ids, key, strlen(key), NOW_US, NULL, err, sizeof(err)), 0);
	assert_int_equal(cdc_idstore_seen(ids, key, strlen(key), NOW_US, NULL, err, sizeof(err)), 1);
	assert_int_equal(cdc_idstore_sync(ids, err, sizeof(err)), 0);
	cdc_idstore_close(ids);
	assert_int_equal(cdc_idstore_open(&ids, dir, NULL, err, sizeof(err)), 0);
	assert_int_equal(cdc_idstore_get(ids, key, strlen(key), NOW_US + 1000000, NULL, err, sizeof(err)), 1);
	cdc_idstore_close(ids);
	/* a whole list overwrite: cleared 1 µs before, the elements appended */
	assert_string_equal(plan(&p, "{\"op\":\"update\",\"keyspace\":\"src\",\"table\":\"colls\",\"key\":{\"id\":3},"
				     "\"cells\":{\"l\":{\"value\":[1,2]}},\"ts\":1700000000000123}", 0),
			    "DELETE l FROM types.colls USING TIMESTAMP ? WHERE id = ? [0x00060a24181e407a, 0x00000003]\n"
			    "UPDATE types.colls USING TIMESTAMP ? AND TTL ? SET l = l + ? WHERE id = ? [" TS ", " TTL0
			    ", 0x0000000200000004000000010000000400000002, 0x00000003]\n");
	assert_int_equal(p.list_append, 1);
	/* a set addition is no list append */
	plan(&p, "{\"op\":\"update\",\"keyspace\":\"src\",\"table\":\"colls\",\"key\":{\"id\":3},"
		 "\"cells\":{\"s\":{\"elements\":[{\"value\":\"a\"}]}},\"ts\":1700000000000123}", 0);
	assert_int_equal(p.list_append, 0);
	cdc_plan_free(&p);
	{
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		assert_int_equal(system(cmd), 0);
	}
}

static void test_not_applied(void **st)
{
	cdc_plan p;

	(void)st;
	memset(&p, 0, sizeof(p));
	/* counters: nothing to send, counted */
	assert_string_equal(plan(&p, "{\"op\":\"update\",\"keyspace\":\"src\",\"table\":\"counters\",\"key\":{\"id\":1},"
				     "\"cells\":{\"m\":{\"value\":5},\"n\":{\"value\":6}},\"ts\":1700000000000123}", 0), "");
	assert_int_equal(p.nst, 0);
	assert_int_equal(p.counters, 2);
	/* a removed list element: left out and counted; the rest applied */
	plan(&p, "{\"op\":\"update\",\"keyspace\":\"src\",\"table\":\"colls\",\"key\":{\"id\":3},"
		 "\"cells\":{\"l\":{\"elements\":[{\"ts\":1,\"index\":\"5f7e0000a9ba11eeb2f0000000000000\",\"deleted\":true}]},"
		 "\"s\":{\"elements\":[{\"value\":\"a\"}]}},\"ts\":1700000000000123}", 0);
	assert_int_equal(p.list_removals, 1);
	assert_int_equal(p.nst, 1);
	assert_int_equal(p.list_append, 0);
	cdc_plan_free(&p);
}

static void test_invalid(void **st)
{
	cdc_plan p;
	static const char *bad[] = {
		"not json",
		"[1]",
		"{\"op\":\"update\",\"keyspace\":\"src\",\"table\":\"other\",\"key\":{\"id\":7}}",                 /* no ts */
		"{\"op\":\"upsert\",\"keyspace\":\"src\",\"table\":\"other\",\"key\":{\"id\":7},\"ts\":1}",        /* op */
		"{\"op\":\"update\",\"keyspace\":\"src\",\"table\":\"other\",\"key\":{},\"ts\":1}",                /* key */
		"{\"op\":\"update\",\"keyspace\":\"src\",\"table\":\"other\",\"key\":{\"id\":\"x\"},\"ts\":1}",    /* type */
		"{\"op\":\"update\",\"keyspace\":\"src\",\"table\":\"other\",\"key\":{\"id\":7},\"ts\":1,"
		"\"cells\":{\"nope\":{\"value\":1}}}",                                                          /* column */
		"{\"op\":\"update\",\"keyspace\":\"src\",\"table\":\"other\",\"key\":{\"id\":7},\"ts\":1,"
		"\"cells\":{\"v\":{\"value\":\"x\",\"ttl\":-1}}}",                                              /* ttl */
	};
	size_t i;

	(void)st;
	memset(&p, 0, sizeof(p));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		plan(&p, bad[i], -1);
	plan(&p, "{\"op\":\"update\",\"keyspace\":\"other_ks\",\"table\":\"other\",\"key\":{\"id\":7},\"ts\":1}",
	     CDC_PLAN_NO_TABLE);
	/* the minimal event: no id, so the XXH3-64 of the line names it */
	plan(&p, "{\"op\":\"update\",\"keyspace\":\"src\",\"table\":\"other\",\"key\":{\"id\":7},\"ts\":1,"
		 "\"cells\":{\"v\":{\"value\":\"x\"}}}", 0);
	assert_int_equal(strlen(p.id), 16);
	cdc_plan_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_update_insert),
		cmocka_unit_test(test_deletes),
		cmocka_unit_test(test_ttl_expires),
		cmocka_unit_test(test_list_append_once),
		cmocka_unit_test(test_not_applied),
		cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
