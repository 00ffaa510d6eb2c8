/* test_snapshot.c - `cdctail snapshot` without a node: the token range
 * boundaries, the SELECT of a table, CQL rows (built here byte by byte, as
 * native_protocol_v5.spec serializes them) turned into rows with their write
 * times, TTLs and liveness (docs/snapshot.md), the events rendered from
 * them, and the state file. Tables: the 5.0 `types` fixture schema. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include "err.h"
#include "event.h"
#include "schema.h"
#include "snapshot.h"
#include "snapshot_row.h"
#include "snapshot_state.h"

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

static const cdc_table *table(const char *name)
{
	size_t i;

	for (i = 0; i < cdc_schema_table_count(S); i++)
		if (strcmp(cdc_schema_table_at(S, i)->name, name) == 0)
			return cdc_schema_table_at(S, i);
	fail_msg("no table %s", name);
	return NULL;
}

/* ---- serialized cells ---- */

static uint8_t pool[8192];
static size_t pool_used;

static cdc_cql_value bytes(const void *p, size_t n)
{
	cdc_cql_value v = { pool + pool_used, n };

	assert_true(pool_used + n <= sizeof(pool));
	memcpy(pool + pool_used, p, n);
	pool_used += n;
	return v;
}

static void be(uint8_t *out, uint64_t v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--, v >>= 8)
		out[i] = (uint8_t)v;
}

static cdc_cql_value i32(int32_t x)
{
	uint8_t b[4];

	be(b, (uint32_t)x, 4);
	return bytes(b, 4);
}

static cdc_cql_value i64(int64_t x)
{
	uint8_t b[8];

	be(b, (uint64_t)x, 8);
	return bytes(b, 8);
}

static cdc_cql_value text(const char *s)
{
	return bytes(s, strlen(s));
}

static const cdc_cql_value null_cell = { NULL, 0 };

/* A collection or UDT body: count (n >= 0; -1: none, a UDT) then the items,
 * each [int length][bytes] (a NULL item: length -1). */
static cdc_cql_value coll(int n, int nitems, const cdc_cql_value *items)
{
	uint8_t b[1024];
	size_t off = 0;
	int i;

	if (n >= 0) {
		be(b, (uint32_t)n, 4);
		off = 4;
	}
	for (i = 0; i < nitems; i++) {
		be(b + off, items[i].p ? (uint32_t)items[i].len : 0xffffffffu, 4);
		off += 4;
		if (items[i].p) {
			memcpy(b + off, items[i].p, items[i].len);
			off += items[i].len;
		}
	}
	return bytes(b, off);
}

static const cdc_snaprow_clock CLOCK = { 999, 1700000000 };

/* ---- boundaries and SELECT ---- */

static void test_boundaries(void **st)
{
	int i;

	(void)st;
	assert_true(cdc_snapshot_boundary(0, 1) == INT64_MIN);
	assert_true(cdc_snapshot_boundary(1, 1) == INT64_MAX);
	/* (2^64 - 1) / 2 past INT64_MIN */
	assert_true(cdc_snapshot_boundary(1, 2) == -1);
	/* floor((2^64 - 1) / 4) = 4611686018427387903 */
	assert_true(cdc_snapshot_boundary(1, 4) == INT64_MIN + 4611686018427387903LL);
	/* floor(3 (2^64 - 1) / 4) = 3 * 2^62 - 1 past INT64_MIN: 2^62 - 1 */
	assert_true(cdc_snapshot_boundary(3, 4) == 4611686018427387903LL);
	for (i = 0; i < 1000; i++)
		assert_true(cdc_snapshot_boundary(i, 1000) < cdc_snapshot_boundary(i + 1, 1000));
	assert_true(cdc_snapshot_boundary(CDC_SNAPSHOT_MAX_RANGES, CDC_SNAPSHOT_MAX_RANGES) == INT64_MAX);
}

static void test_select(void **st)
{
	cdc_buf q = CDC_BUF_INIT;

	(void)st;
	cdc_snaprow_select(&q, table("statics"), 1, INT64_MIN, 5);
	assert_string_equal(cdc_buf_cstr(&q),
			    "SELECT token(p), p, c, s, WRITETIME(s), TTL(s), s2, WRITETIME(s2), TTL(s2), v, WRITETIME(v), "
			    "TTL(v) FROM types.statics WHERE token(p) > -9223372036854775808 AND token(p) <= 5");
	assert_int_equal(cdc_snaprow_ncols(table("statics"), 1), 12);
	cdc_buf_reset(&q);
	/* before 5.0: no WRITETIME/TTL of the non-frozen addr, l, m, nested, s */
	cdc_snaprow_select(&q, table("colls"), 0, -7, 7);
	assert_string_equal(cdc_buf_cstr(&q),
			    "SELECT token(id), id, addr, faddr, WRITETIME(faddr), TTL(faddr), fl, WRITETIME(fl), TTL(fl), "
			    "fm, WRITETIME(fm), TTL(fm), fs, WRITETIME(fs), TTL(fs), l, m, nested, s, tu, WRITETIME(tu), "
			    "TTL(tu) FROM types.colls WHERE token(id) > -7 AND token(id) <= 7");
	assert_int_equal(cdc_snaprow_ncols(table("colls"), 0), 22);
	assert_int_equal(cdc_snaprow_ncols(table("colls"), 1), 32);
	cdc_buf_reset(&q);
	cdc_snaprow_select(&q, table("clust"), 0, 0, 1);
	assert_string_equal(cdc_buf_cstr(&q), "SELECT token(p1, p2), p1, p2, c1, c2, c3, c4, v, WRITETIME(v), TTL(v) FROM "
			    "types.clust WHERE token(p1, p2) > 0 AND token(p1, p2) <= 1");
	cdc_buf_free(&q);
}

/* ---- rows ---- */

/* types.statics: token, p, c, s, wt, ttl, s2, wt, ttl, v, wt, ttl */
static void statics_row(cdc_cql_value *c, int with_c, int with_static)
{
	pool_used = 0;
	c[0] = i64(42);
	c[1] = i32(1);
	c[2] = with_c ? i32(2) : null_cell;
	c[3] = with_static ? text("a") : null_cell;
	c[4] = with_static ? i64(100) : null_cell;
	c[5] = null_cell;
	c[6] = null_cell;
	c[7] = null_cell;
	c[8] = null_cell;
	c[9] = with_c ? text("x") : null_cell;
	c[10] = with_c ? i64(50) : null_cell;
	c[11] = with_c ? i32(30) : null_cell;
}

static void test_statics(void **st)
{
	const cdc_table *t = table("statics");
	cdc_snaprow *b = cdc_snaprow_new();
	cdc_cql_value c[12];
	char err[CDC_ERRSTR_SIZE];
	cdc_mutation m;
	int64_t tok;

	(void)st;
	statics_row(c, 1, 1);
	assert_int_equal(cdc_snaprow_token(c, 12, &tok, err, sizeof(err)), 0);
	assert_true(tok == 42);
	/* the static row: s only, no liveness */
	assert_int_equal(cdc_snaprow_build(b, t, 1, c, 12, 1, &CLOCK, &m, err, sizeof(err)), 1);
	assert_int_equal(m.nupdates, 1);
	assert_int_equal(m.rows[0].is_static, 1);
	assert_int_equal(m.rows[0].ncells, 1);
	assert_string_equal(m.cells[0].col->name, "s");
	assert_true(m.cells[0].ts == 100);
	assert_int_equal(m.cells[0].expiring, 0);
	assert_true(m.rows[0].lts == CDC_TS_NONE);
	/* the clustering row: v, expiring; liveness at its write time, with its TTL */
	assert_int_equal(cdc_snaprow_build(b, t, 1, c, 12, 0, &CLOCK, &m, err, sizeof(err)), 1);
	assert_int_equal(m.rows[0].is_static, 0);
	assert_int_equal(m.rows[0].nck, 1);
	assert_int_equal(m.rows[0].ncells, 1);
	assert_string_equal(m.cells[0].col->name, "v");
	assert_true(m.cells[0].ts == 50);
	assert_int_equal(m.cells[0].expiring, 1);
	assert_int_equal(m.cells[0].ttl, 30);
	assert_true(m.cells[0].ldt == 1700000030);
	assert_true(m.rows[0].lts == 50);
	assert_int_equal(m.rows[0].lttl, 30);
	assert_true(m.rows[0].lldt == 1700000030);
	/* a partition with only its static row: no clustering row */
	statics_row(c, 0, 1);
	assert_int_equal(cdc_snaprow_build(b, t, 1, c, 12, 0, &CLOCK, &m, err, sizeof(err)), 0);
	assert_int_equal(cdc_snaprow_build(b, t, 1, c, 12, 1, &CLOCK, &m, err, sizeof(err)), 1);
	/* no static value: no static row; a row with no cell: liveness at unknown_ts */
	statics_row(c, 1, 0);
	c[9] = c[10] = c[11] = null_cell;
	assert_int_equal(cdc_snaprow_build(b, t, 1, c, 12, 1, &CLOCK, &m, err, sizeof(err)), 0);
	assert_int_equal(cdc_snaprow_build(b, t, 1, c, 12, 0, &CLOCK, &m, err, sizeof(err)), 1);
	assert_int_equal(m.rows[0].ncells, 0);
	assert_true(m.rows[0].lts == 999);
	assert_int_equal(m.rows[0].lttl, 0);
	/* the wrong column count, a null key, a WRITETIME that is not a bigint */
	assert_int_equal(cdc_snaprow_build(b, t, 1, c, 11, 0, &CLOCK, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "types.statics: 11 result columns, want 12"));
	c[1] = null_cell;
	assert_int_equal(cdc_snaprow_build(b, t, 1, c, 12, 0, &CLOCK, &m, err, sizeof(err)), -1);
	statics_row(c, 1, 1);
	c[10] = i32(5);
	assert_int_equal(cdc_snaprow_build(b, t, 1, c, 12, 0, &CLOCK, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "column v: WRITETIME is not a bigint"));
	cdc_snaprow_destroy(b);
}

/* types.colls at 5.0: id, then per column value [, wt, ttl]: addr, faddr,
 * fl, fm, fs, l, m, nested, s, tu (every one has all three). */
static void colls_row(cdc_cql_value *c, int per_element)
{
	cdc_cql_value it[4];
	int k = 0, i;

	pool_used = 0;
	for (i = 0; i < 32; i++)
		c[i] = null_cell;
	c[k++] = i64(7);
	c[k++] = i32(3);
	/* addr (street text, zip int, tags frozen<set<text>>): street only */
	it[0] = text("main");
	it[1] = null_cell;
	it[2] = null_cell;
	c[k++] = coll(-1, 3, it);
	if (per_element) {
		it[0] = i64(40);
		c[k++] = coll(3, 3, it);
		it[0] = null_cell;
		c[k++] = coll(3, 3, it);
	}
	k += 3 * 4; /* faddr fl fm fs: null */
	/* l = [7, 8], written at 10 and 20, the second expiring in 5 s */
	it[0] = i32(7);
	it[1] = i32(8);
	c[k++] = coll(2, 2, it);
	if (per_element) {
		it[0] = i64(10);
		it[1] = i64(20);
		c[k++] = coll(2, 2, it);
		it[0] = null_cell;
		it[1] = i32(5);
		c[k++] = coll(2, 2, it);
	}
	/* m = {'k': 1} at 30 */
	it[0] = text("k");
	it[1] = i32(1);
	c[k++] = coll(1, 2, it);
	if (per_element) {
		it[0] = i64(30);
		c[k++] = coll(1, 1, it);
		it[0] = null_cell;
		c[k++] = coll(1, 1, it);
	}
}

static void test_collections(void **st)
{
	const cdc_table *t = table("colls");
	cdc_snaprow *b = cdc_snaprow_new();
	cdc_cql_value c[32];
	char err[CDC_ERRSTR_SIZE];
	cdc_mutation m;
	const cdc_cell *x;

	(void)st;
	colls_row(c, 1);
	assert_int_equal(cdc_snaprow_build(b, t, 1, c, 32, 0, &CLOCK, &m, err, sizeof(err)), 1);
	assert_int_equal(m.rows[0].ncells, 4);
	x = m.cells;
	/* complex columns by name: addr, l, m */
	assert_string_equal(x[0].col->name, "addr");
	assert_int_equal(x[0].path.len, 2);
	assert_int_equal(x[0].path.p[0], 0);
	assert_int_equal(x[0].path.p[1], 0);
	assert_int_equal(x[0].value.len, 4);
	assert_true(x[0].ts == 40);
	assert_string_equal(x[1].col->name, "l");
	assert_int_equal(x[1].path.len, 0);
	assert_true(x[1].ts == 10);
	assert_int_equal(x[1].expiring, 0);
	assert_string_equal(x[2].col->name, "l");
	assert_true(x[2].ts == 20);
	assert_int_equal(x[2].expiring, 1);
	assert_int_equal(x[2].ttl, 5);
	assert_string_equal(x[3].col->name, "m");
	assert_int_equal(x[3].path.len, 1);
	assert_int_equal(x[3].path.p[0], 'k');
	assert_int_equal(x[3].value.len, 4);
	assert_true(x[3].ts == 30);
	/* liveness: the smallest write time; not every cell expires: no TTL */
	assert_true(m.rows[0].lts == 10);
	assert_int_equal(m.rows[0].lttl, 0);

	/* a WRITETIME list shorter than the list */
	{
		cdc_cql_value it[1] = { i64(10) };

		c[18] = coll(1, 1, it);
	}
	assert_int_equal(cdc_snaprow_build(b, t, 1, c, 32, 0, &CLOCK, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "column l: WRITETIME lists 1 items for 2 elements"));

	/* before 5.0: elements at unknown_ts, no TTL */
	colls_row(c, 0);
	assert_int_equal(cdc_snaprow_build(b, t, 0, c, 22, 0, &CLOCK, &m, err, sizeof(err)), 1);
	assert_int_equal(m.rows[0].ncells, 4);
	for (int i = 0; i < 4; i++) {
		assert_true(m.cells[i].ts == 999);
		assert_int_equal(m.cells[i].expiring, 0);
	}
	assert_true(m.rows[0].lts == 999);

	/* a malformed list: its count says more elements than it holds */
	{
		uint8_t bad[8] = { 0, 0, 0, 9, 0, 0, 0, 0 };

		c[15] = bytes(bad, sizeof(bad));
	}
	assert_int_equal(cdc_snaprow_build(b, t, 0, c, 22, 0, &CLOCK, &m, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "column l:"));
	cdc_snaprow_destroy(b);
}

/* ---- events ---- */

typedef struct got {
	char json[2048];
	int n;
} got;

static int keep(void *opaque, const cdc_update *u, const char *json, size_t len)
{
	got *g = opaque;

	(void)u;
	assert_true(len < sizeof(g->json));
	memcpy(g->json, json, len);
	g->json[len] = '\0';
	g->n++;
	return 0;
}

/* The event without its id, and whether the id is XXH3-64 of the text before it. */
static const char *without_id(char *json)
{
	char *id = strstr(json, ",\"id\":\"");
	char want[17];

	assert_non_null(id);
	snprintf(want, sizeof(want), "%016llx", (unsigned long long)XXH3_64bits(json, (size_t)(id - json)));
	assert_memory_equal(id + 7, want, 16);
	memmove(id, id + 7 + 16 + 1, strlen(id + 7 + 16 + 1) + 1);
	return json;
}

static void test_events(void **st)
{
	const cdc_table *t = table("statics");
	cdc_event_source src = { .node = "n1", .cassandra = "5.0.9" };
	cdc_snaprow *b = cdc_snaprow_new();
	cdc_eventer *ev = cdc_eventer_new();
	cdc_cql_value c[12], cc[32];
	char err[CDC_ERRSTR_SIZE];
	cdc_mutation m;
	got g = { .n = 0 };

	(void)st;
	cdc_eventer_set_snapshot(ev, 1000);
	statics_row(c, 1, 1);
	assert_int_equal(cdc_snaprow_build(b, t, 1, c, 12, 0, &CLOCK, &m, err, sizeof(err)), 1);
	assert_int_equal(cdc_events_emit(ev, &m, &src, keep, &g, err, sizeof(err)), 1);
	assert_string_equal(without_id(g.json),
			    "{\"op\":\"insert\",\"keyspace\":\"types\",\"table\":\"statics\",\"key\":{\"p\":1},"
			    "\"clustering\":{\"c\":2},\"ttl\":30,\"expires\":1700000030,\"cells\":{\"v\":{\"ts\":50,"
			    "\"ttl\":30,\"expires\":1700000030,\"value\":\"x\"}},\"ts\":50,\"cql\":\"INSERT INTO "
			    "types.statics (p, c, v) VALUES (1, 2, 'x') USING TIMESTAMP 50 AND TTL 30;\","
			    "\"source\":{\"snapshot\":true,\"snapshot_start\":1000,\"node\":\"n1\",\"cassandra\":\"5.0.9\"}}");
	assert_int_equal(cdc_snaprow_build(b, t, 1, c, 12, 1, &CLOCK, &m, err, sizeof(err)), 1);
	assert_int_equal(cdc_events_emit(ev, &m, &src, keep, &g, err, sizeof(err)), 1);
	assert_string_equal(without_id(g.json),
			    "{\"op\":\"update\",\"keyspace\":\"types\",\"table\":\"statics\",\"key\":{\"p\":1},"
			    "\"static\":true,\"cells\":{\"s\":{\"ts\":100,\"static\":true,\"value\":\"a\"}},\"ts\":100,"
			    "\"cql\":\"UPDATE types.statics USING TIMESTAMP 100 SET s = 'a' WHERE p = 1;\","
			    "\"source\":{\"snapshot\":true,\"snapshot_start\":1000,\"node\":\"n1\",\"cassandra\":\"5.0.9\"}}");
	/* collections element by element; list elements without an index and in
	 * list order, grouped by write time and TTL */
	colls_row(cc, 1);
	assert_int_equal(cdc_snaprow_build(b, table("colls"), 1, cc, 32, 0, &CLOCK, &m, err, sizeof(err)), 1);
	assert_int_equal(cdc_events_emit(ev, &m, &src, keep, &g, err, sizeof(err)), 1);
	assert_string_equal(without_id(g.json),
			    "{\"op\":\"insert\",\"keyspace\":\"types\",\"table\":\"colls\",\"key\":{\"id\":3},"
			    "\"clustering\":{},\"liveness_ts\":10,\"cells\":{\"addr\":{\"elements\":[{\"ts\":40,\"field\":\"street\","
			    "\"value\":\"main\"}]},\"l\":{\"elements\":[{\"ts\":10,\"value\":7},{\"ts\":20,\"ttl\":5,"
			    "\"expires\":1700000005,\"value\":8}]},\"m\":{\"elements\":[{\"ts\":30,\"key\":\"k\",\"value\":1}]}},"
			    "\"list_append\":true,\"ts\":40,\"cql\":\"BEGIN UNLOGGED BATCH INSERT INTO types.colls (id) VALUES (3) USING TIMESTAMP 10; "
			    "UPDATE types.colls USING TIMESTAMP 40 SET addr.street = 'main' WHERE id = 3; "
			    "UPDATE types.colls USING TIMESTAMP 10 SET l = l + [7] WHERE id = 3; "
			    "UPDATE types.colls USING TIMESTAMP 20 AND TTL 5 SET l = l + [8] WHERE id = 3; "
			    "UPDATE types.colls USING TIMESTAMP 30 SET m['k'] = 1 WHERE id = 3; APPLY BATCH;\","
			    "\"source\":{\"snapshot\":true,\"snapshot_start\":1000,\"node\":\"n1\",\"cassandra\":\"5.0.9\"}}");
	cdc_eventer_destroy(ev);
	cdc_snaprow_destroy(b);
}

/* A list whose elements alternate between two write times keeps its order
 * in the cql: one statement per run of equal (ts, ttl), not per group. */
static void test_list_order(void **st)
{
	const cdc_table *t = table("colls");
	cdc_event_source src = { .node = "n1" };
	cdc_snaprow *b = cdc_snaprow_new();
	cdc_eventer *ev = cdc_eventer_new();
	cdc_cql_value c[32], it[3];
	char err[CDC_ERRSTR_SIZE];
	cdc_mutation m;
	got g = { .n = 0 };
	int i;

	(void)st;
	pool_used = 0;
	for (i = 0; i < 32; i++)
		c[i] = null_cell;
	c[0] = i64(7);
	c[1] = i32(3);
	it[0] = i32(1);
	it[1] = i32(2);
	it[2] = i32(3);
	c[17] = coll(3, 3, it); /* l, after token, id, addr faddr fl fm fs (3 cells each) */
	it[0] = i64(10);
	it[1] = i64(20);
	it[2] = i64(10);
	c[18] = coll(3, 3, it);
	it[0] = it[1] = it[2] = null_cell;
	c[19] = coll(3, 3, it);
	assert_int_equal(cdc_snaprow_build(b, t, 1, c, 32, 0, &CLOCK, &m, err, sizeof(err)), 1);
	assert_int_equal(cdc_events_emit(ev, &m, &src, keep, &g, err, sizeof(err)), 1);
	assert_non_null(strstr(g.json, "UPDATE types.colls USING TIMESTAMP 10 SET l = l + [1] WHERE id = 3; "
				       "UPDATE types.colls USING TIMESTAMP 20 SET l = l + [2] WHERE id = 3; "
				       "UPDATE types.colls USING TIMESTAMP 10 SET l = l + [3] WHERE id = 3;"));
	cdc_eventer_destroy(ev);
	cdc_snaprow_destroy(b);
}

/* ---- the state file ---- */

static void test_state_text(void **st)
{
	static const char text[] = "cdctail-snapshot 1\nstart 1796284862123000\noutput 77\n"
				   "table ks.t done\ntable ks.u token -3074457345618258603\n";
	cdc_snap_state s;
	cdc_buf out = CDC_BUF_INIT;
	char err[CDC_ERRSTR_SIZE];
	cdc_snap_progress *p;

	(void)st;
	cdc_snap_state_init(&s);
	assert_int_equal(cdc_snap_state_parse(&s, text, strlen(text), "f", err, sizeof(err)), 0);
	assert_true(s.start_us == 1796284862123000LL);
	assert_true(s.output_bytes == 77);
	assert_int_equal(s.ntables, 2);
	assert_int_equal(s.tables[0].done, 1);
	assert_true(s.tables[1].token == -3074457345618258603LL);
	cdc_snap_state_format(&s, &out);
	assert_string_equal(cdc_buf_cstr(&out), text);
	/* a new table starts at the ring's start */
	p = cdc_snap_state_table(&s, "ks", "v");
	assert_non_null(p);
	assert_true(p->token == INT64_MIN && !p->done);
	assert_int_equal(s.ntables, 3);
	assert_ptr_equal(cdc_snap_state_table(&s, "ks", "t"), &s.tables[0]);
	assert_null(cdc_snap_state_table(&s, "ks", "bad name"));
	cdc_snap_state_free(&s);
	cdc_buf_free(&out);

	static const char *const bad[] = {
		"",
		"cdctail-snapshot 2\nstart 1\n",
		"cdctail-snapshot 1\n",
		"cdctail-snapshot 1\nstart 0\n",
		"cdctail-snapshot 1\nstart 1\nstart 2\n",
		"cdctail-snapshot 1\nstart 1\ntable ks.t token\n",
		"cdctail-snapshot 1\nstart 1\ntable ks.t token 99999999999999999999\n",
		"cdctail-snapshot 1\nstart 1\ntable ks.t token 5x\n",
		"cdctail-snapshot 1\nstart 1\ntable ks-t done\n",
		"cdctail-snapshot 1\nstart 1\ntable ks.t done\ntable ks.t done\n",
		"cdctail-snapshot 1\nstart 1\ntable ks.t finished\n",
		"cdctail-snapshot 1\nstart 1\noutput -1\n",
		"cdctail-snapshot 1\nstart 1\n\n",
		NULL,
	};
	for (int i = 0; bad[i]; i++) {
		cdc_snap_state_init(&s);
		if (cdc_snap_state_parse(&s, bad[i], strlen(bad[i]), "f", err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(s.ntables, 0);
		cdc_snap_state_free(&s);
	}
	cdc_snap_state_init(&s);
	assert_int_equal(cdc_snap_state_parse(&s, bad[5], strlen(bad[5]), "x.state", err, sizeof(err)), -1);
	assert_string_equal(err, "x.state: line 3 is not start US, output BYTES or table KS.T done|token T");
}

static void test_state_file(void **st)
{
	char dir[] = "/tmp/cdctail-snapstate.XXXXXX", path[128], tmp[140];
	char err[CDC_ERRSTR_SIZE];
	cdc_snap_state s, r;
	int exists = 1;
	struct stat sb;

	(void)st;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/state", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	cdc_snap_state_init(&s);
	cdc_snap_state_init(&r);
	assert_int_equal(cdc_snap_state_load(&r, path, &exists, err, sizeof(err)), 0);
	assert_int_equal(exists, 0);
	s.start_us = 123;
	cdc_snap_state_table(&s, "a", "b")->token = 5;
	assert_int_equal(cdc_snap_state_save(&s, path, err, sizeof(err)), 0);
	assert_int_not_equal(stat(tmp, &sb), 0);
	assert_int_equal(cdc_snap_state_load(&r, path, &exists, err, sizeof(err)), 0);
	assert_int_equal(exists, 1);
	assert_true(r.start_us == 123 && r.ntables == 1 && r.tables[0].token == 5 && r.output_bytes == -1);
	/* a directory that is not there: the save fails and says where */
	assert_int_equal(cdc_snap_state_save(&s, "/nonexistent-dir/state", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent-dir/state.tmp"));
	cdc_snap_state_free(&s);
	cdc_snap_state_free(&r);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_boundaries),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_statics),
		cmocka_unit_test(test_collections),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_list_order),
		cmocka_unit_test(test_state_text),
		cmocka_unit_test(test_state_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
