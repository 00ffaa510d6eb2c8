/* test_mutation_synth.c - the mutation decoder on synthetic entry bodies that
 * exercise what the fixtures never reach: column subsets of tables with 64 or
 * more columns (both large-subset encodings), clustering headers past 32
 * values with empty and null values, range tombstone boundaries, timestamps
 * below the EncodingStats minimum (9-byte vints), 5.0's unsigned local
 * deletion times, shadowable deletions, complex deletions (live ones
 * included), UDT field paths, counters, empty partitions, unknown tables and
 * columns, and every truncation of each body.
 *
 * Each body is built here from the serializers of Cassandra 5.0.9 (Mutation,
 * PartitionUpdate, UnfilteredRowIteratorSerializer, SerializationHeader,
 * EncodingStats, UnfilteredSerializer, Cell.Serializer, Columns,
 * ClusteringPrefix); the expectations are the values put in, never the
 * decoder's own output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "err.h"
#include "mutation.h"
#include "schema.h"
#include "testutil.h"

#define TS_EPOCH 1442880000000000LL
#define LDT_EPOCH 1442880000LL

/* ---- a small writer of Cassandra's encodings ---- */

/* VIntCoding.writeUnsignedVInt: 1..9 bytes, big-endian, length in the
 * leading one bits of the first byte. */
static void w_uv(tbuf *b, uint64_t v)
{
	uint8_t x[9];
	int extra = 0, i;

	if (v < 0x80) {
		x[0] = (uint8_t)v;
		tb_put(b, x, 1);
		return;
	}
	/* the fewest extra bytes n with v < 2^(7(n+1)); 8 takes any value */
	for (extra = 1; extra < 8; extra++)
		if (v < (1ULL << (7 * (extra + 1))))
			break;
	if (extra == 8) {
		x[0] = 0xff;
		for (i = 0; i < 8; i++)
			x[1 + i] = (uint8_t)(v >> (56 - 8 * i));
		tb_put(b, x, 9);
		return;
	}
	for (i = extra; i >= 1; i--)
		x[i] = (uint8_t)(v >> (8 * (extra - i)));
	x[0] = (uint8_t)((0xff00u >> extra) & 0xff) | (uint8_t)(v >> (8 * extra));
	tb_put(b, x, (size_t)extra + 1);
}

/* writeUnsignedVInt32(int): the int sign-extended to a long first. */
static void w_uv32(tbuf *b, int32_t v)
{
	w_uv(b, (uint64_t)(int64_t)v);
}

static void w_u8(tbuf *b, uint8_t v)
{
	tb_put(b, &v, 1);
}

static void w_u16(tbuf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	tb_put(b, x, 2);
}

static void w_be32(tbuf *b, uint32_t v)
{
	tb_be32(b, v);
}

static void w_be64(tbuf *b, uint64_t v)
{
	tb_be32(b, (uint32_t)(v >> 32));
	tb_be32(b, (uint32_t)v);
}

/* ByteBufferUtil.writeWithVIntLength */
static void w_vbytes(tbuf *b, const void *p, size_t n)
{
	w_uv(b, n);
	tb_put(b, p, n);
}

static void w_str(tbuf *b, const char *s)
{
	w_vbytes(b, s, strlen(s));
}

/* The stats one partition update is written against. */
typedef struct stats {
	int64_t min_ts;
	int64_t min_ldt;
	int32_t min_ttl;
} stats;

static void w_stats(tbuf *b, const stats *st)
{
	w_uv(b, (uint64_t)(st->min_ts - TS_EPOCH));
	w_uv32(b, (int32_t)(st->min_ldt - LDT_EPOCH));
	w_uv32(b, st->min_ttl);
}

static void w_ts(tbuf *b, const stats *st, int64_t ts)
{
	w_uv(b, (uint64_t)ts - (uint64_t)st->min_ts);
}

static void w_ldt(tbuf *b, const stats *st, int64_t ldt)
{
	w_uv32(b, (int32_t)(ldt - st->min_ldt));
}

static void w_ttl(tbuf *b, const stats *st, int32_t ttl)
{
	w_uv32(b, ttl - st->min_ttl);
}

static void w_deletion(tbuf *b, const stats *st, int64_t ts, int64_t ldt)
{
	w_ts(b, st, ts);
	w_ldt(b, st, ldt);
}

static const uint8_t ID_WIDE[16] = { 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
				     0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11 };
static const uint8_t ID_CK[16] = { 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22,
				   0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22, 0x22 };
static const uint8_t ID_CX[16] = { 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33,
				   0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33, 0x33 };
static const uint8_t ID_CNT[16] = { 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44,
				    0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44, 0x44 };
static const uint8_t ID_NOCDC[16] = { 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55,
				      0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55, 0x55 };
static const uint8_t ID_UNKNOWN[16] = { 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
					0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66 };

#define NWIDE 70
#define NCK 34

static cdc_schema *S;
static cdc_decoder *D;

static void jcol(tbuf *j, const char *name, const char *kind, int pos, const char *order, const char *type,
		 int comma)
{
	char line[512];

	snprintf(line, sizeof(line),
		 "{\"name\":\"%s\",\"kind\":\"%s\",\"position\":%d,\"clustering_order\":\"%s\",\"type\":\"%s\"}%s",
		 name, kind, pos, order, type, comma ? "," : "");
	tb_put(j, line, strlen(line));
}

static void jputs(tbuf *j, const char *s)
{
	tb_put(j, s, strlen(s));
}

/* Tables:
 *   s.wide   (k int, c int, w00..w69 int, PRIMARY KEY (k, c))
 *   s.ck     ((a text, b int), x00..x33 alternating int/text, v int)
 *   s.cx     (k int, c int, st text static, l list<int>, m map<text, int>,
 *             u addr, PRIMARY KEY (k, c)), addr = (street text, zip int)
 *   s.cnt    (k int PRIMARY KEY, n counter)
 *   s.nocdc  (k int PRIMARY KEY, v text) without cdc */
static int setup(void **state)
{
	char err[CDC_ERRSTR_SIZE], name[16];
	tbuf j = { 0 };
	int i;

	(void)state;
	jputs(&j, "{\"format\":\"cdctail-schema/1\",\"types\":[{\"keyspace\":\"s\",\"name\":\"addr\","
		  "\"field_names\":[\"street\",\"zip\"],\"field_types\":[\"text\",\"int\"]}],\"tables\":[");
	jputs(&j, "{\"keyspace\":\"s\",\"table\":\"wide\",\"id\":\"11111111-1111-1111-1111-111111111111\","
		  "\"cdc\":true,\"columns\":[");
	jcol(&j, "k", "partition_key", 0, "none", "int", 1);
	jcol(&j, "c", "clustering", 0, "asc", "int", 1);
	for (i = 0; i < NWIDE; i++) {
		snprintf(name, sizeof(name), "w%02d", i);
		jcol(&j, name, "regular", -1, "none", "int", i + 1 < NWIDE);
	}
	jputs(&j, "]},");
	jputs(&j, "{\"keyspace\":\"s\",\"table\":\"ck\",\"id\":\"22222222-2222-2222-2222-222222222222\","
		  "\"cdc\":true,\"columns\":[");
	jcol(&j, "a", "partition_key", 0, "none", "text", 1);
	jcol(&j, "b", "partition_key", 1, "none", "int", 1);
	for (i = 0; i < NCK; i++) {
		snprintf(name, sizeof(name), "x%02d", i);
		jcol(&j, name, "clustering", i, i % 3 == 2 ? "desc" : "asc", i % 2 ? "text" : "int", 1);
	}
	jcol(&j, "v", "regular", -1, "none", "int", 0);
	jputs(&j, "]},");
	jputs(&j, "{\"keyspace\":\"s\",\"table\":\"cx\",\"id\":\"33333333-3333-3333-3333-333333333333\","
		  "\"cdc\":true,\"columns\":[");
	jcol(&j, "k", "partition_key", 0, "none", "int", 1);
	jcol(&j, "c", "clustering", 0, "asc", "int", 1);
	jcol(&j, "st", "static", -1, "none", "text", 1);
	jcol(&j, "l", "regular", -1, "none", "list<int>", 1);
	jcol(&j, "m", "regular", -1, "none", "map<text, int>", 1);
	jcol(&j, "u", "regular", -1, "none", "addr", 0);
	jputs(&j, "],\"dropped_columns\":[{\"name\":\"gone\",\"type\":\"bigint\",\"dropped_time\":1700000000000000}]},");
	jputs(&j, "{\"keyspace\":\"s\",\"table\":\"cnt\",\"id\":\"44444444-4444-4444-4444-444444444444\","
		  "\"cdc\":true,\"columns\":[");
	jcol(&j, "k", "partition_key", 0, "none", "int", 1);
	jcol(&j, "n", "regular", -1, "none", "counter", 0);
	jputs(&j, "]},");
	jputs(&j, "{\"keyspace\":\"s\",\"table\":\"nocdc\",\"id\":\"55555555-5555-5555-5555-555555555555\","
		  "\"cdc\":false,\"columns\":[");
	jcol(&j, "k", "partition_key", 0, "none", "int", 1);
	jcol(&j, "v", "regular", -1, "none", "text", 0);
	jputs(&j, "]}]}");
	S = cdc_schema_new();
	assert_non_null(S);
	if (cdc_schema_load_json(S, (const char *)j.p, j.len, "synthetic", err, sizeof(err)) != 0)
		fail_msg("schema: %s", err);
	free(j.p);
	D = cdc_decoder_new(S);
	assert_non_null(D);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cdc_decoder_destroy(D);
	cdc_schema_destroy(S);
	return 0;
}

/* Starts a one-update mutation: count, table id, partition key. */
static void w_begin(tbuf *b, uint32_t updates, const uint8_t id[16], const void *key, size_t keylen)
{
	w_uv(b, updates);
	tb_put(b, id, 16);
	w_vbytes(b, key, keylen);
}

static const uint8_t KEY7[4] = { 0, 0, 0, 7 };

/* Decodes b; checks that every shorter prefix fails cleanly. */
static int decode_all(tbuf *b, int version, cdc_mutation *m, char *err)
{
	size_t cut;
	cdc_mutation tmp;
	char e2[CDC_ERRSTR_SIZE];

	for (cut = 0; cut < b->len; cut++) {
		/* a copy of exactly `cut` bytes, so ASan sees any read past it */
		uint8_t *p = malloc(cut ? cut : 1);

		assert_non_null(p);
		memcpy(p, b->p, cut);
		assert_int_equal(cdc_decode(D, p, cut, version, &tmp, e2, sizeof(e2)), -1);
		assert_non_null(strstr(e2, "offset"));
		free(p);
	}
	return cdc_decode(D, b->p, b->len, version, m, err, CDC_ERRSTR_SIZE);
}

static int32_t be32(const cdc_value *v)
{
	assert_int_equal(v->len, 4);
	return (int32_t)((uint32_t)v->p[0] << 24 | (uint32_t)v->p[1] << 16 | (uint32_t)v->p[2] << 8 | v->p[3]);
}

/* ---- the cases ---- */

/* Columns.serializeLargeSubset: 2 of 70 present -> vint(70 - 2), then the
 * present indexes. */
static void test_large_subset_present(void **state)
{
	stats st = { 1732500000000000LL, LDT_EPOCH, 0 };
	char err[CDC_ERRSTR_SIZE], name[16];
	tbuf b = { 0 };
	cdc_mutation m;
	int i;

	(void)state;
	w_begin(&b, 1, ID_WIDE, KEY7, 4);
	w_u8(&b, 0x10);                       /* HAS_ROW_ESTIMATE */
	w_stats(&b, &st);
	w_uv(&b, NWIDE);
	for (i = 0; i < NWIDE; i++) {
		snprintf(name, sizeof(name), "w%02d", i);
		w_str(&b, name);
	}
	w_uv(&b, 1);                          /* row estimate */
	w_u8(&b, 0x04);                       /* HAS_TIMESTAMP, not all columns */
	w_uv(&b, 0);                          /* clustering header */
	w_be32(&b, 42);
	w_ts(&b, &st, st.min_ts);
	w_uv(&b, NWIDE - 2);
	w_uv(&b, 5);
	w_uv(&b, 60);
	w_u8(&b, 0x08);                       /* USE_ROW_TIMESTAMP */
	w_be32(&b, 505);
	w_u8(&b, 0x08);
	w_be32(&b, 6060);
	w_u8(&b, 0x01);                       /* end of partition */
	if (decode_all(&b, 13, &m, err) != 0)
		fail_msg("%s", err);
	assert_int_equal(m.nupdates, 1);
	assert_int_equal(m.updates[0].nrows, 1);
	assert_int_equal(m.rows[0].ncells, 2);
	assert_string_equal(m.cells[m.rows[0].cell_first].col->name, "w05");
	assert_int_equal(be32(&m.cells[m.rows[0].cell_first].value), 505);
	assert_string_equal(m.cells[m.rows[0].cell_first + 1].col->name, "w60");
	assert_int_equal(be32(&m.cells[m.rows[0].cell_first + 1].value), 6060);
	assert_true(m.cells[m.rows[0].cell_first + 1].ts == st.min_ts);
	assert_int_equal(be32(&m.values[m.rows[0].ck_first]), 42);
	free(b.p);
}

/* 68 of 70 present -> vint(2), then the missing indexes 3 and 69. */
static void test_large_subset_missing(void **state)
{
	stats st = { 1732500000000000LL, LDT_EPOCH, 0 };
	char err[CDC_ERRSTR_SIZE], name[16];
	tbuf b = { 0 };
	cdc_mutation m;
	int i;
	uint32_t k;

	(void)state;
	w_begin(&b, 1, ID_WIDE, KEY7, 4);
	w_u8(&b, 0x10);
	w_stats(&b, &st);
	w_uv(&b, NWIDE);
	for (i = 0; i < NWIDE; i++) {
		snprintf(name, sizeof(name), "w%02d", i);
		w_str(&b, name);
	}
	w_uv(&b, 1);
	w_u8(&b, 0x04);
	w_uv(&b, 0);
	w_be32(&b, 1);
	w_ts(&b, &st, st.min_ts);
	w_uv(&b, 2);
	w_uv(&b, 3);
	w_uv(&b, 69);
	for (i = 0; i < NWIDE; i++) {
		if (i == 3 || i == 69)
			continue;
		w_u8(&b, 0x08);
		w_be32(&b, (uint32_t)(1000 + i));
	}
	w_u8(&b, 0x01);
	if (decode_all(&b, 12, &m, err) != 0)
		fail_msg("%s", err);
	assert_int_equal(m.rows[0].ncells, NWIDE - 2);
	for (k = 0; k < m.rows[0].ncells; k++) {
		const cdc_cell *c = &m.cells[m.rows[0].cell_first + k];
		int idx = (int)k + (k >= 3 ? 1 : 0);

		snprintf(name, sizeof(name), "w%02d", idx);
		assert_string_equal(c->col->name, name);
		assert_int_equal(be32(&c->value), 1000 + idx);
	}
	free(b.p);
}

/* Columns subset < 64: bitmap of missing columns (w00, w02 of 3 -> 0b101). */
static void test_small_subset(void **state)
{
	stats st = { 1732500000000000LL, LDT_EPOCH, 0 };
	char err[CDC_ERRSTR_SIZE];
	tbuf b = { 0 };
	cdc_mutation m;

	(void)state;
	w_begin(&b, 1, ID_WIDE, KEY7, 4);
	w_u8(&b, 0x10);
	w_stats(&b, &st);
	w_uv(&b, 3);
	w_str(&b, "w00");
	w_str(&b, "w01");
	w_str(&b, "w02");
	w_uv(&b, 1);
	w_u8(&b, 0x00);                       /* an UPDATE: no liveness */
	w_uv(&b, 0);
	w_be32(&b, 9);
	w_uv(&b, 5);
	w_u8(&b, 0x00);                       /* cell with its own timestamp */
	w_ts(&b, &st, st.min_ts + 3);
	w_be32(&b, 77);
	w_u8(&b, 0x01);
	if (decode_all(&b, 12, &m, err) != 0)
		fail_msg("%s", err);
	assert_true(m.rows[0].lts == CDC_TS_NONE);
	assert_int_equal(m.rows[0].ncells, 1);
	assert_string_equal(m.cells[0].col->name, "w01");
	assert_true(m.cells[0].ts == st.min_ts + 3);
	assert_int_equal(be32(&m.cells[0].value), 77);
	free(b.p);
}

/* A composite partition key, and 34 clustering values: two clustering
 * headers (32 + 2), empty values (bit 2i) and a null (bit 2i+1). */
static void test_clustering_blocks(void **state)
{
	stats st = { 1732500000000000LL, LDT_EPOCH, 0 };
	char err[CDC_ERRSTR_SIZE];
	tbuf b = { 0 }, key = { 0 };
	cdc_mutation m;
	const cdc_update *u;
	const cdc_value *v;
	int i;

	(void)state;
	/* CompositeType: (u16 length, bytes, end-of-component 0) per component */
	w_u16(&key, 2);
	tb_put(&key, "pk", 2);
	w_u8(&key, 0);
	w_u16(&key, 4);
	w_be32(&key, (uint32_t)-5);
	w_u8(&key, 0);
	w_begin(&b, 1, ID_CK, key.p, key.len);
	w_u8(&b, 0x10);
	w_stats(&b, &st);
	w_uv(&b, 1);
	w_str(&b, "v");
	w_uv(&b, 1);
	w_u8(&b, 0x24);                       /* HAS_TIMESTAMP | HAS_ALL_COLUMNS */
	/* block 1: x00 empty (int), x01..x31 values */
	w_uv(&b, 1);
	for (i = 1; i < 32; i++) {
		if (i % 2)
			w_str(&b, i == 1 ? "" : "t");  /* x01: a zero-length text written as a value */
		else
			w_be32(&b, (uint32_t)i);
	}
	/* block 2: x32 (int) empty, x33 (text) null: bits 0 and 3 */
	w_uv(&b, 1 | 8);
	w_ts(&b, &st, st.min_ts);
	w_u8(&b, 0x08);
	w_be32(&b, 123);
	w_u8(&b, 0x01);
	if (decode_all(&b, 12, &m, err) != 0)
		fail_msg("%s", err);
	u = &m.updates[0];
	assert_int_equal(u->nkc, 2);
	assert_int_equal(m.values[u->kc_first].len, 2);
	assert_memory_equal(m.values[u->kc_first].p, "pk", 2);
	assert_int_equal(be32(&m.values[u->kc_first + 1]), -5);
	assert_int_equal(m.rows[0].nck, NCK);
	v = &m.values[m.rows[0].ck_first];
	assert_int_equal(v[0].len, 0);
	assert_false(v[0].null);
	assert_int_equal(v[1].len, 0);
	assert_int_equal(be32(&v[2]), 2);
	assert_int_equal(v[3].len, 1);
	assert_int_equal(be32(&v[30]), 30);
	assert_int_equal(v[31].len, 1);
	assert_int_equal(v[32].len, 0);
	assert_false(v[32].null);
	assert_true(v[33].null);
	assert_int_equal(be32(&m.cells[0].value), 123);
	free(b.p);
	free(key.p);
}

/* Range tombstone markers: an open bound with no values (bottom), a boundary
 * (two deletion times: the closing range's, then the opening one's), and a
 * close bound with a prefix of 2 values. */
static void test_boundaries(void **state)
{
	stats st = { 1732500000000000LL, 1795000000LL, 0 };
	char err[CDC_ERRSTR_SIZE];
	tbuf b = { 0 }, key = { 0 };
	cdc_mutation m;
	const cdc_rt_marker *r;

	(void)state;
	w_u16(&key, 1);
	tb_put(&key, "p", 1);
	w_u8(&key, 0);
	w_u16(&key, 4);
	w_be32(&key, 1);
	w_u8(&key, 0);
	w_begin(&b, 1, ID_CK, key.p, key.len);
	w_u8(&b, 0x10);
	w_stats(&b, &st);
	w_uv(&b, 0);                          /* no regular columns */
	w_uv(&b, 0);                          /* row estimate: markers are not rows */
	w_u8(&b, 0x02);
	w_u8(&b, CDC_RT_INCL_START_BOUND);
	w_u16(&b, 0);
	w_deletion(&b, &st, st.min_ts, st.min_ldt);
	w_u8(&b, 0x02);
	w_u8(&b, CDC_RT_EXCL_END_INCL_START_BOUNDARY);
	w_u16(&b, 1);
	w_uv(&b, 0);
	w_be32(&b, 10);
	w_deletion(&b, &st, st.min_ts, st.min_ldt);
	w_deletion(&b, &st, st.min_ts + 500, st.min_ldt + 2);
	w_u8(&b, 0x02);
	w_u8(&b, CDC_RT_INCL_END_BOUND);
	w_u16(&b, 2);
	w_uv(&b, 0);
	w_be32(&b, 20);
	w_str(&b, "zz");
	w_deletion(&b, &st, st.min_ts + 500, st.min_ldt + 2);
	w_u8(&b, 0x01);
	if (decode_all(&b, 13, &m, err) != 0)
		fail_msg("%s", err);
	assert_int_equal(m.updates[0].nrows, 0);
	assert_int_equal(m.updates[0].nrt, 3);
	r = &m.rts[m.updates[0].rt_first];
	assert_int_equal(r[0].kind, CDC_RT_INCL_START_BOUND);
	assert_int_equal(r[0].nv, 0);
	assert_true(r[0].del.ts == st.min_ts);
	assert_true(r[0].del.ldt == st.min_ldt);
	assert_int_equal(r[1].kind, CDC_RT_EXCL_END_INCL_START_BOUNDARY);
	assert_int_equal(r[1].nv, 1);
	assert_int_equal(be32(&m.values[r[1].v_first]), 10);
	assert_true(r[1].del.ts == st.min_ts);
	assert_true(r[1].del2.ts == st.min_ts + 500);
	assert_true(r[1].del2.ldt == st.min_ldt + 2);
	assert_int_equal(r[2].kind, CDC_RT_INCL_END_BOUND);
	assert_int_equal(r[2].nv, 2);
	assert_int_equal(be32(&m.values[r[2].v_first]), 20);
	assert_int_equal(m.values[r[2].v_first + 1].len, 2);
	assert_true(r[2].del.ts == st.min_ts + 500);
	free(b.p);
	free(key.p);
}

/* USING TIMESTAMP 1: the stats minimum lies before the 2015 epoch, so its
 * delta is a 9-byte vint; a cell at timestamp 0 is 1 below the minimum (a
 * 9-byte all-ones delta); a partition deletion at the minimum. */
static void test_small_timestamps(void **state)
{
	stats st = { 1, LDT_EPOCH + 100, 0 };
	char err[CDC_ERRSTR_SIZE];
	tbuf b = { 0 };
	cdc_mutation m;

	(void)state;
	w_begin(&b, 1, ID_WIDE, KEY7, 4);
	w_u8(&b, 0x14);                       /* HAS_PARTITION_DELETION | HAS_ROW_ESTIMATE */
	w_stats(&b, &st);
	w_uv(&b, 1);
	w_str(&b, "w00");
	w_deletion(&b, &st, 1, LDT_EPOCH + 100);
	w_uv(&b, 1);
	w_u8(&b, 0x24);
	w_uv(&b, 0);
	w_be32(&b, 3);
	w_ts(&b, &st, 2);
	w_u8(&b, 0x00);
	w_ts(&b, &st, 0);
	w_be32(&b, 8);
	w_u8(&b, 0x01);
	assert_int_equal(b.p[23], 0xff);      /* the 9-byte minimum timestamp */
	if (decode_all(&b, 12, &m, err) != 0)
		fail_msg("%s", err);
	assert_true(m.updates[0].pdel.ts == 1);
	assert_true(m.updates[0].pdel.ldt == LDT_EPOCH + 100);
	assert_true(m.rows[0].lts == 2);
	assert_true(m.cells[0].ts == 0);
	free(b.p);
}

/* 5.0 (messaging 13): deletion times past 2038 are unsigned 32-bit
 * seconds. The stats minimum and an expiring liveness both lie past 2^31. */
static void test_unsigned_ldt_v13(void **state)
{
	const int64_t far = 0x90000000LL; /* 2046-07 */
	stats st = { 1732500000000000LL, far, 0 };
	char err[CDC_ERRSTR_SIZE];
	tbuf b = { 0 };
	cdc_mutation m;

	(void)state;
	w_begin(&b, 1, ID_WIDE, KEY7, 4);
	w_u8(&b, 0x10);
	w_stats(&b, &st);
	w_uv(&b, 1);
	w_str(&b, "w00");
	w_uv(&b, 1);
	w_u8(&b, 0x2c);                       /* HAS_TIMESTAMP | HAS_TTL | HAS_ALL_COLUMNS */
	w_uv(&b, 0);
	w_be32(&b, 4);
	w_ts(&b, &st, st.min_ts);
	w_ttl(&b, &st, 630720000);            /* liveness: ttl then expiry */
	w_ldt(&b, &st, far + 10);
	w_u8(&b, 0x1a);                       /* IS_EXPIRING | USE_ROW_TIMESTAMP | USE_ROW_TTL */
	w_be32(&b, 5);
	w_u8(&b, 0x01);
	if (decode_all(&b, 13, &m, err) != 0)
		fail_msg("%s", err);
	assert_int_equal(m.rows[0].lttl, 630720000);
	assert_true(m.rows[0].lldt == far + 10);
	assert_true(m.cells[0].expiring);
	assert_int_equal(m.cells[0].ttl, 630720000);
	assert_true(m.cells[0].ldt == far + 10);
	free(b.p);
}

/* Row deletion flagged shadowable in the extended flags (materialized
 * views); a cell tombstone of a dropped column; an expiring cell with its own
 * ldt and ttl (ldt first). */
static void test_shadowable_dropped_expiring(void **state)
{
	stats st = { 1732500000000000LL, 1795000000LL, 60 };
	char err[CDC_ERRSTR_SIZE];
	tbuf b = { 0 };
	cdc_mutation m;
	const cdc_cell *c;

	(void)state;
	w_begin(&b, 1, ID_CX, KEY7, 4);
	w_u8(&b, 0x10);
	w_stats(&b, &st);
	w_uv(&b, 1);
	w_str(&b, "gone");                    /* dropped: bigint */
	w_uv(&b, 2);
	w_u8(&b, 0x80 | 0x10);                /* EXTENSION | HAS_DELETION, no columns */
	w_u8(&b, 0x02);                       /* HAS_SHADOWABLE_DELETION */
	w_uv(&b, 0);
	w_be32(&b, 1);
	w_deletion(&b, &st, st.min_ts + 7, st.min_ldt);
	w_uv(&b, 1);                          /* bitmap: the one column missing */
	w_u8(&b, 0x20);                       /* HAS_ALL_COLUMNS */
	w_uv(&b, 0);
	w_be32(&b, 2);
	w_u8(&b, 0x02);                       /* IS_EXPIRING */
	w_ts(&b, &st, st.min_ts);
	w_ldt(&b, &st, st.min_ldt + 60);
	w_ttl(&b, &st, 60);
	w_be64(&b, 0x0102030405060708ULL);
	w_u8(&b, 0x01);
	if (decode_all(&b, 12, &m, err) != 0)
		fail_msg("%s", err);
	assert_int_equal(m.updates[0].nrows, 2);
	assert_true(m.rows[0].shadowable);
	assert_true(m.rows[0].del.ts == st.min_ts + 7);
	assert_int_equal(m.rows[0].ncells, 0);
	c = &m.cells[m.rows[1].cell_first];
	assert_string_equal(c->col->name, "gone");
	assert_true(c->col->dropped_time == 1700000000000000LL);
	assert_true(c->expiring);
	assert_int_equal(c->ttl, 60);
	assert_true(c->ldt == st.min_ldt + 60);
	assert_int_equal(c->value.len, 8);
	free(b.p);
}

/* A static row and a row with complex columns: HAS_COMPLEX_DELETION writes a
 * deletion for every complex column of the row, live ones included; list
 * cells have timeuuid paths, map cells key paths, UDT cells a 2-byte field
 * index. */
static void test_static_and_complex(void **state)
{
	stats st = { 1732500000000000LL, 1795000000LL, 0 };
	const uint8_t tu[16] = { 0xe1, 0, 0, 0, 0, 0, 0x11, 0xf1, 0x80, 0, 0, 0, 0, 0, 0, 1 };
	const uint8_t field1[2] = { 0, 1 };
	char err[CDC_ERRSTR_SIZE];
	tbuf b = { 0 };
	cdc_mutation m;
	const cdc_row *r;
	const cdc_cell *c;

	(void)state;
	w_begin(&b, 1, ID_CX, KEY7, 4);
	w_u8(&b, 0x18);                       /* HAS_STATIC_ROW | HAS_ROW_ESTIMATE */
	w_stats(&b, &st);
	w_uv(&b, 1);
	w_str(&b, "st");
	w_uv(&b, 3);
	w_str(&b, "l");
	w_str(&b, "m");
	w_str(&b, "u");
	/* the static row */
	w_u8(&b, 0x80 | 0x20 | 0x04);
	w_u8(&b, 0x01);                       /* IS_STATIC */
	w_ts(&b, &st, st.min_ts);
	w_u8(&b, 0x08);
	w_str(&b, "sv");
	w_uv(&b, 1);                          /* row estimate */
	/* a row: l (deleted then 1 cell), m (live deletion, 1 tombstone), u (field 1) */
	w_u8(&b, 0x40 | 0x20);
	w_uv(&b, 0);
	w_be32(&b, 3);
	w_deletion(&b, &st, st.min_ts - 1, st.min_ldt);
	w_uv(&b, 1);
	w_u8(&b, 0x00);
	w_ts(&b, &st, st.min_ts);
	w_vbytes(&b, tu, 16);
	w_uv(&b, 4);
	w_be32(&b, 99);
	/* DeletionTime.LIVE: markedForDeleteAt Long.MIN_VALUE, ldt Long.MAX_VALUE (5.0) */
	w_ts(&b, &st, INT64_MIN);
	w_uv32(&b, (int32_t)(INT64_MAX - st.min_ldt));
	w_uv(&b, 1);
	w_u8(&b, 0x05);                       /* IS_DELETED | HAS_EMPTY_VALUE */
	w_ts(&b, &st, st.min_ts);
	w_ldt(&b, &st, st.min_ldt);
	w_str(&b, "gonekey");
	w_ts(&b, &st, INT64_MIN);
	w_uv32(&b, (int32_t)(INT64_MAX - st.min_ldt));
	w_uv(&b, 1);
	w_u8(&b, 0x00);
	w_ts(&b, &st, st.min_ts);
	w_vbytes(&b, field1, 2);
	w_uv(&b, 4);
	w_be32(&b, 11000);
	w_u8(&b, 0x01);
	if (decode_all(&b, 13, &m, err) != 0)
		fail_msg("%s", err);
	assert_int_equal(m.updates[0].nrows, 2);
	r = &m.rows[m.updates[0].row_first];
	assert_true(r[0].is_static);
	assert_int_equal(r[0].ncells, 1);
	assert_string_equal(m.cells[r[0].cell_first].col->name, "st");
	assert_int_equal(m.cells[r[0].cell_first].value.len, 2);
	assert_false(r[1].is_static);
	assert_int_equal(r[1].ncells, 3);
	assert_int_equal(r[1].ncdel, 1);      /* the two live complex deletions carry nothing */
	assert_string_equal(m.cdels[r[1].cdel_first].col->name, "l");
	assert_true(m.cdels[r[1].cdel_first].del.ts == st.min_ts - 1);
	c = &m.cells[r[1].cell_first];
	assert_string_equal(c[0].col->name, "l");
	assert_true(c[0].has_path);
	assert_int_equal(c[0].path.len, 16);
	assert_memory_equal(c[0].path.p, tu, 16);
	assert_int_equal(be32(&c[0].value), 99);
	assert_string_equal(c[1].col->name, "m");
	assert_true(c[1].deleted);
	assert_int_equal(c[1].path.len, 7);
	assert_int_equal(c[1].value.len, 0);
	assert_true(c[1].ldt == st.min_ldt);
	assert_string_equal(c[2].col->name, "u");
	assert_int_equal(c[2].path.len, 2);
	assert_memory_equal(c[2].path.p, field1, 2);
	assert_int_equal(be32(&c[2].value), 11000);
	free(b.p);
}

/* A counter cell: the value is a counter context (CounterContext: a short
 * header count, header shorts, then 32-byte shards of id, clock, count),
 * written with a vint length since counters have no fixed length. */
static void test_counter(void **state)
{
	stats st = { 1732500000000000LL, LDT_EPOCH, 0 };
	const uint8_t cid[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	char err[CDC_ERRSTR_SIZE];
	tbuf b = { 0 }, ctx = { 0 };
	cdc_mutation m;

	(void)state;
	w_u16(&ctx, 1);                       /* one header element: a global shard */
	w_u16(&ctx, 0);
	tb_put(&ctx, cid, 16);
	w_be64(&ctx, 3);                      /* clock */
	w_be64(&ctx, 6);                      /* count */
	w_begin(&b, 1, ID_CNT, KEY7, 4);
	w_u8(&b, 0x10);
	w_stats(&b, &st);
	w_uv(&b, 1);
	w_str(&b, "n");
	w_uv(&b, 1);
	w_u8(&b, 0x20);
	w_u8(&b, 0x00);
	w_ts(&b, &st, st.min_ts);
	w_vbytes(&b, ctx.p, ctx.len);
	w_u8(&b, 0x01);
	if (decode_all(&b, 12, &m, err) != 0)
		fail_msg("%s", err);
	assert_int_equal(m.cells[0].value.len, 36);
	assert_memory_equal(m.cells[0].value.p, ctx.p, 36);
	free(b.p);
	free(ctx.p);
}

/* Two updates: the first of the wide table, empty (IS_EMPTY: nothing after
 * the flags), the second of the table without cdc, one row with v = 'x'. */
static void w_empty_then_nocdc_row(tbuf *b, stats *st)
{
	w_begin(b, 2, ID_WIDE, KEY7, 4);
	w_u8(b, 0x01);
	tb_put(b, ID_NOCDC, 16);
	w_vbytes(b, KEY7, 4);
	w_u8(b, 0x10);
	w_stats(b, st);
	w_uv(b, 1);
	w_str(b, "v");
	w_uv(b, 1);
	w_u8(b, 0x24);
	w_ts(b, st, st->min_ts);
	w_u8(b, 0x08);
	w_str(b, "x");
	w_u8(b, 0x01);
}

/* One update of table id whose header names a column it never had. */
static void w_unknown_column(tbuf *b, const uint8_t *id, stats *st)
{
	w_begin(b, 1, id, KEY7, 4);
	w_u8(b, 0x10);
	w_stats(b, st);
	w_uv(b, 1);
	w_str(b, "nosuch");
	w_uv(b, 0);
	w_u8(b, 0x01);
}

/* Two updates, the first empty (IS_EMPTY: nothing after the flags), the
 * second on a table without cdc; then a mutation whose second update's table
 * is unknown. */
static void test_multi_empty_nocdc_unknown(void **state)
{
	stats st = { 1732500000000000LL, LDT_EPOCH, 0 };
	char err[CDC_ERRSTR_SIZE];
	tbuf b = { 0 };
	cdc_mutation m;

	(void)state;
	w_empty_then_nocdc_row(&b, &st);
	if (decode_all(&b, 12, &m, err) != 0)
		fail_msg("%s", err);
	assert_int_equal(m.nupdates, 2);
	assert_int_equal(m.updates[0].nrows, 0);
	assert_false(m.updates[1].table->cdc);
	assert_int_equal(m.updates[1].nrows, 1);
	free(b.p);

	memset(&b, 0, sizeof(b));
	w_begin(&b, 2, ID_WIDE, KEY7, 4);
	w_u8(&b, 0x01);
	tb_put(&b, ID_UNKNOWN, 16);
	w_vbytes(&b, KEY7, 4);
	w_u8(&b, 0x01);
	assert_int_equal(cdc_decode(D, b.p, b.len, 12, &m, err, sizeof(err)), CDC_DECODE_UNKNOWN_TABLE);
	assert_memory_equal(m.missing_table, ID_UNKNOWN, 16);
	/* the update before the unknown one stays readable (replay keeps it) */
	assert_int_equal(m.nupdates, 1);
	assert_memory_equal(m.updates[0].table->id, ID_WIDE, 16);
	free(b.p);
}

/* With skip_non_cdc, an entry whose one update is of a table without cdc is
 * not read past its key: bytes after it that do not decode (a column the
 * table never had) are not looked at. Without it they are an error; and an
 * update of such a table next to another is read in full either way. */
static void test_skip_non_cdc(void **state)
{
	stats st = { 1732500000000000LL, LDT_EPOCH, 0 };
	char err[CDC_ERRSTR_SIZE];
	tbuf b = { 0 };
	cdc_mutation m;

	(void)state;
	w_unknown_column(&b, ID_NOCDC, &st);
	assert_int_equal(cdc_decode(D, b.p, b.len, 12, &m, err, sizeof(err)), CDC_DECODE_STALE_SCHEMA);
	cdc_decoder_skip_non_cdc(D, 1);
	if (cdc_decode(D, b.p, b.len, 12, &m, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(m.nupdates, 1);
	assert_false(m.updates[0].table->cdc);
	assert_int_equal(m.updates[0].nrows, 0);
	assert_int_equal(m.updates[0].key_len, 4);
	free(b.p);

	memset(&b, 0, sizeof(b));
	w_empty_then_nocdc_row(&b, &st);
	if (cdc_decode(D, b.p, b.len, 12, &m, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	cdc_decoder_skip_non_cdc(D, 0);
	assert_int_equal(m.nupdates, 2);
	assert_int_equal(m.updates[1].nrows, 1);
	assert_int_equal(m.rows[m.updates[1].row_first].ncells, 1);
	free(b.p);
}

/* A header naming a column the table's schema lacks is a stale schema (a
 * newer one has it: ALTER TABLE ADD after the schema was read), with a
 * message naming the column and the table. */
static void test_unknown_column(void **state)
{
	stats st = { 1732500000000000LL, LDT_EPOCH, 0 };
	char err[CDC_ERRSTR_SIZE];
	tbuf b = { 0 };
	cdc_mutation m;

	(void)state;
	w_unknown_column(&b, ID_WIDE, &st);
	assert_int_equal(cdc_decode(D, b.p, b.len, 12, &m, err, sizeof(err)), CDC_DECODE_STALE_SCHEMA);
	assert_int_equal(m.nupdates, 0);
	assert_non_null(strstr(err, "nosuch"));
	assert_non_null(strstr(err, "wide"));
	free(b.p);
}

/* The writer itself, against VIntCoding's examples. */
static void test_writer(void **state)
{
	tbuf b = { 0 };
	const uint8_t want[] = { 0x05, 0x80, 0x80, 0x80, 0xff, 0xbf, 0xff, 0xc0, 0x40, 0x00 };

	(void)state;
	w_uv(&b, 5);
	w_uv(&b, 128);
	w_uv(&b, 255);
	w_uv(&b, 16383);
	w_uv(&b, 16384);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.p, want, sizeof(want));
	b.len = 0;
	w_uv(&b, UINT64_MAX);
	assert_int_equal(b.len, 9);
	assert_int_equal(b.p[0], 0xff);
	b.len = 0;
	w_uv(&b, (1ULL << 56) - 1);
	assert_int_equal(b.len, 8);
	assert_int_equal(b.p[0], 0xfe);
	free(b.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_large_subset_present),
		cmocka_unit_test(test_large_subset_missing),
		cmocka_unit_test(test_small_subset),
		cmocka_unit_test(test_clustering_blocks),
		cmocka_unit_test(test_boundaries),
		cmocka_unit_test(test_small_timestamps),
		cmocka_unit_test(test_unsigned_ldt_v13),
		cmocka_unit_test(test_shadowable_dropped_expiring),
		cmocka_unit_test(test_static_and_complex),
		cmocka_unit_test(test_counter),
		cmocka_unit_test(test_multi_empty_nocdc_unknown),
		cmocka_unit_test(test_skip_non_cdc),
		cmocka_unit_test(test_unknown_column),
	};

	return cmocka_run_group_tests_name("mutation_synthetic", tests, setup, teardown) ? 1 : 0;
}
