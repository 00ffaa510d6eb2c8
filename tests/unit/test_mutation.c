/* test_mutation.c - the mutation decoder on the real `types` fixtures of
 * Cassandra 5.0, 4.1 and 4.0: every statement of fixtures/<v>/types/
 * workload.cql, in order, must decode to the partition update its CQL text
 * and USING TIMESTAMP imply: keys (composite too), clustering values (DESC,
 * small variable-width types), liveness, cells of every native type
 * serialized as the CQL literal says, TTLs, tombstones, range tombstone
 * bounds, collections (paths, complex deletions at timestamp - 1 for an
 * overwrite), UDT fields, tuples, vectors (5.0), static rows, counters, a
 * batch mixing cdc and non-cdc tables in one mutation, partition deletions.
 *
 * The expected bytes were worked out from the CQL literals and the CQL
 * serialization of each type (int32/int64 big-endian, IEEE floats, days
 * since epoch + 2^31 for date, nanoseconds for time, zigzag vints for
 * duration, scale + varint for decimal, two's complement for varint,
 * collections as int32 counts and lengths), never from cdctail's output.
 * Text literals are read as workload.jsonl has them: a newline inside a
 * string is a real newline there, written as backslash-n in workload.cql. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <unistd.h>

#include "err.h"
#include "mutation.h"
#include "schema.h"
#include "segment.h"
#include "testutil.h"

#define T(k) (1732500000000000LL + (k) * 1000LL) /* USING TIMESTAMP of statement k */

typedef struct ctx {
	const char *version;
	int idx;            /* next statement (types keyspace mutation) */
	int has_vec;
	int batch_seen;     /* bit 0: key 10, bit 1: key 11 */
	int64_t counter_ts;
} ctx;

/* Parses lowercase hex into out; returns the length. */
static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex) / 2, i;

	assert_true(n <= cap);
	for (i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

static void value_is(const cdc_value *v, const char *hex, const char *what)
{
	uint8_t want[256];
	size_t n = unhex(hex, want, sizeof(want)), i;
	char got[520];

	if (v->len == n && (n == 0 || memcmp(v->p, want, n) == 0))
		return;
	for (i = 0; i < v->len && i < 255; i++)
		snprintf(got + 2 * i, 3, "%02x", v->p[i]);
	got[2 * i] = '\0';
	fail_msg("%s: got %s, want %s", what, got, hex);
}

static const cdc_cell *cell_n(const cdc_mutation *m, const cdc_row *r, const char *col, int nth)
{
	uint32_t i;

	for (i = 0; i < r->ncells; i++) {
		const cdc_cell *c = &m->cells[r->cell_first + i];

		if (strcmp(c->col->name, col) == 0 && nth-- == 0)
			return c;
	}
	fail_msg("no cell %s", col);
	return NULL;
}

static int count_cells(const cdc_mutation *m, const cdc_row *r, const char *col)
{
	uint32_t i;
	int n = 0;

	for (i = 0; i < r->ncells; i++)
		n += strcmp(m->cells[r->cell_first + i].col->name, col) == 0;
	return n;
}

/* A live cell with this value, written at ts. */
static void live(const cdc_mutation *m, const cdc_row *r, const char *col, int nth, int64_t ts, const char *hex)
{
	const cdc_cell *c = cell_n(m, r, col, nth);

	assert_false(c->deleted);
	assert_false(c->expiring);
	if (c->ts != ts)
		fail_msg("%s: ts %lld, want %lld", col, (long long)c->ts, (long long)ts);
	value_is(&c->value, hex, col);
}

static void live_path(const cdc_mutation *m, const cdc_row *r, const char *col, int nth, int64_t ts,
		      const char *path, const char *hex)
{
	const cdc_cell *c = cell_n(m, r, col, nth);

	live(m, r, col, nth, ts, hex);
	assert_true(c->has_path);
	if (path)
		value_is(&c->path, path, col);
	else
		assert_int_equal(c->path.len, 16); /* a list cell: a timeuuid */
}

static void plausible_ldt(int64_t ldt)
{
	/* local deletion times are "now" in seconds when the fixture was made */
	assert_true(ldt > 1700000000LL && ldt < 2200000000LL);
}

static void tombstone(const cdc_mutation *m, const cdc_row *r, const char *col, int64_t ts, const char *path)
{
	const cdc_cell *c = cell_n(m, r, col, 0);

	assert_true(c->deleted);
	assert_true(c->ts == ts);
	assert_int_equal(c->value.len, 0);
	plausible_ldt(c->ldt);
	if (path)
		value_is(&c->path, path, col);
}

static void cdel(const cdc_mutation *m, const cdc_row *r, const char *col, int64_t ts)
{
	uint32_t i;

	for (i = 0; i < r->ncdel; i++) {
		const cdc_complex_deletion *d = &m->cdels[r->cdel_first + i];

		if (strcmp(d->col->name, col) == 0) {
			assert_true(d->del.ts == ts);
			plausible_ldt(d->del.ldt);
			return;
		}
	}
	fail_msg("no complex deletion of %s", col);
}

/* The update's table is ks.name; returns its single row (or the n-th). */
static const cdc_update *upd(const cdc_mutation *m, uint32_t i, const char *table, const char *key)
{
	const cdc_update *u;
	uint32_t k;
	char keyhex[256];

	assert_true(i < m->nupdates);
	u = &m->updates[i];
	assert_string_equal(u->table->keyspace, "types");
	assert_string_equal(u->table->name, table);
	for (k = 0; k < u->key_len && k < 127; k++)
		snprintf(keyhex + 2 * k, 3, "%02x", u->key[k]);
	keyhex[2 * k] = '\0';
	if (key)
		assert_string_equal(keyhex, key);
	assert_true(u->pdel.ts == CDC_TS_NONE || strcmp(table, "other") == 0);
	return u;
}

static const cdc_row *row(const cdc_mutation *m, const cdc_update *u, uint32_t n)
{
	assert_true(n < u->nrows);
	return &m->rows[u->row_first + n];
}

static void ck_is(const cdc_mutation *m, const cdc_row *r, const char *const *hex, uint32_t n)
{
	uint32_t i;

	assert_int_equal(r->nck, n);
	for (i = 0; i < n; i++)
		value_is(&m->values[r->ck_first + i], hex[i], "clustering");
}

static void marker_is(const cdc_mutation *m, const cdc_update *u, uint32_t n, int kind,
		      const char *const *hex, uint32_t nv, int64_t ts)
{
	const cdc_rt_marker *r;
	uint32_t i;

	assert_true(n < u->nrt);
	r = &m->rts[u->rt_first + n];
	assert_int_equal(r->kind, kind);
	assert_int_equal(r->nv, nv);
	for (i = 0; i < nv; i++)
		value_is(&m->values[r->v_first + i], hex[i], "bound");
	assert_true(r->del.ts == ts);
	plausible_ldt(r->del.ldt);
}

/* CounterContext.total: the sum of the 8-byte counts of each 32-byte shard
 * after a header of 2 + 2 * |count| bytes. */
static int64_t counter_total(const cdc_value *v)
{
	size_t h, off;
	int64_t total = 0;
	int16_t n;

	assert_true(v->len >= 2);
	n = (int16_t)(v->p[0] << 8 | v->p[1]);
	h = 2 + 2 * (size_t)(n < 0 ? -n : n);
	assert_int_equal((v->len - h) % 32, 0);
	for (off = h; off < v->len; off += 32) {
		uint64_t c = 0;
		int i;

		for (i = 0; i < 8; i++)
			c = c << 8 | v->p[off + 24 + i];
		total += (int64_t)c;
	}
	return total;
}

static const char *ROW1[] = { "00000001", "62", "0000016f5e66e800", "123e4567e89b12d3a456426614174000" };
static const char *ROW2[] = { "00000001", "61", "00000179c771e200", "123e4567e89b12d3a456426614174001" };
static const char *ROW3[] = { "fffffffb", "7a7a", "0000000000000000", "123e4567e89b12d3a456426614174002" };
static const char *SMALL[] = { "fffe", "03", "80002b08", "00004e94914effff", "01" };

/* One mutation of the types keyspace, the c->idx-th in the workload. */
static void check(ctx *c, const cdc_mutation *m)
{
	const cdc_update *u;
	const cdc_row *r;
	int k = c->idx++;

	switch (k) {
	case 0: /* INSERT all_types id 1: every type */
		assert_int_equal(m->nupdates, 1);
		u = upd(m, 0, "all_types", "00000001");
		assert_int_equal(u->nrows, 1);
		r = row(m, u, 0);
		assert_true(r->lts == T(1));
		assert_int_equal(r->nck, 0);
		assert_int_equal(r->ncells, c->has_vec ? 21 : 20);
		assert_true(cell_n(m, r, "a", 0)->flags & 0x08); /* USE_ROW_TIMESTAMP */
		live(m, r, "a", 0, T(1), "6173636969");
		live(m, r, "bi", 0, T(1), "7fffffffffffffff");
		live(m, r, "bl", 0, T(1), "cafebabe");
		live(m, r, "bo", 0, T(1), "01");
		live(m, r, "da", 0, T(1), "8000413c");
		live(m, r, "de", 0, T(1), "000000023039");
		live(m, r, "do", 0, T(1), "400921fb54442d18");
		live(m, r, "du", 0, T(1), "1c32fc2168cdf9d664");
		live(m, r, "fl", 0, T(1), "40eccccd");
		live(m, r, "ip", 0, T(1), "7f000001");
		live(m, r, "i", 0, T(1), "80000000");
		live(m, r, "si", 0, T(1), "8000");
		live(m, r, "te", 0, T(1), "5465787420e29c9320227122202773270a");
		live(m, r, "ti", 0, T(1), "00002b5792b49315");
		live(m, r, "tis", 0, T(1), "0000014ff29260c0");
		live(m, r, "tu", 0, T(1), "50554d6e29bb11e5b345feff819cdc9f");
		live(m, r, "tiny", 0, T(1), "80");
		live(m, r, "u", 0, T(1), "123e4567e89b12d3a456426614174000");
		live(m, r, "vc", 0, T(1), "");
		assert_true(cell_n(m, r, "vc", 0)->flags & 0x04); /* HAS_EMPTY_VALUE */
		live(m, r, "vi", 0, T(1), "faa55ab2c71ad98116");
		if (c->has_vec)
			live(m, r, "vec", 0, T(1), "3fc00000c010000040400000");
		break;
	case 1: /* INSERT all_types id 2: extremes, empties */
		r = row(m, upd(m, 0, "all_types", "00000002"), 0);
		assert_true(r->lts == T(2));
		live(m, r, "a", 0, T(2), "");
		live(m, r, "bi", 0, T(2), "8000000000000000");
		live(m, r, "bl", 0, T(2), "");
		live(m, r, "bo", 0, T(2), "00");
		live(m, r, "da", 0, T(2), "7fff9c21");
		live(m, r, "de", 0, T(2), "00000006ff");
		live(m, r, "do", 0, T(2), "7ff8000000000000");
		live(m, r, "du", 0, T(2), "000100");
		live(m, r, "fl", 0, T(2), "ff800000");
		live(m, r, "ip", 0, T(2), "00000000000000000000000000000001");
		live(m, r, "i", 0, T(2), "7fffffff");
		live(m, r, "si", 0, T(2), "7fff");
		live(m, r, "te", 0, T(2), "");
		live(m, r, "ti", 0, T(2), "0000000000000000");
		live(m, r, "tis", 0, T(2), "ffffffffffffffff");
		live(m, r, "tu", 0, T(2), "d2177dd0eaa211dea572001b779c76e3");
		live(m, r, "tiny", 0, T(2), "7f");
		live(m, r, "u", 0, T(2), "00000000000000000000000000000000");
		live(m, r, "vc", 0, T(2), "7663");
		live(m, r, "vi", 0, T(2), "010000000000000000");
		if (c->has_vec)
			live(m, r, "vec", 0, T(2), "0000000033d6bf957f7fc99e");
		break;
	case 2: /* INSERT all_types id 3: four columns */
		r = row(m, upd(m, 0, "all_types", "00000003"), 0);
		assert_int_equal(r->ncells, 4);
		live(m, r, "de", 0, T(3), "fffffff601");
		live(m, r, "du", 0, T(3), "000000");
		live(m, r, "ip", 0, T(3), "20010db8000000000000ff0000428329");
		live(m, r, "vi", 0, T(3), "00");
		break;
	case 3: /* INSERT with nulls: cell tombstones */
		r = row(m, upd(m, 0, "all_types", "00000004"), 0);
		assert_true(r->lts == T(4));
		assert_int_equal(r->ncells, 3);
		tombstone(m, r, "a", T(4), NULL);
		tombstone(m, r, "i", T(4), NULL);
		tombstone(m, r, "te", T(4), NULL);
		break;
	case 4: { /* UPDATE USING TTL 600: expiring cells, no liveness */
		const cdc_cell *x;

		r = row(m, upd(m, 0, "all_types", "00000001"), 0);
		assert_true(r->lts == CDC_TS_NONE);
		assert_int_equal(r->ncells, 2);
		x = cell_n(m, r, "fl", 0);
		assert_true(x->expiring);
		assert_int_equal(x->ttl, 600);
		plausible_ldt(x->ldt);
		value_is(&x->value, "7f800000", "fl");
		x = cell_n(m, r, "te", 0);
		assert_true(x->expiring && x->ts == T(5));
		assert_int_equal(x->ttl, 600);
		value_is(&x->value, "74746c", "te");
		break;
	}
	case 5: /* DELETE bl, vi */
		r = row(m, upd(m, 0, "all_types", "00000002"), 0);
		assert_true(r->lts == CDC_TS_NONE);
		assert_true(r->del.ts == CDC_TS_NONE);
		assert_int_equal(r->ncells, 2);
		tombstone(m, r, "bl", T(6), NULL);
		tombstone(m, r, "vi", T(6), NULL);
		break;
	case 6: case 7: case 8: { /* clust: composite key, DESC clustering */
		const char *const *want = k == 6 ? ROW1 : k == 7 ? ROW2 : ROW3;
		static const char *vals[] = { "7630", "7631", "7632" };

		u = upd(m, 0, "clust", "0004706b3a31000008ffffffffffffffd600");
		assert_int_equal(u->nkc, 2);
		value_is(&m->values[u->kc_first], "706b3a31", "p1");
		value_is(&m->values[u->kc_first + 1], "ffffffffffffffd6", "p2");
		r = row(m, u, 0);
		ck_is(m, r, want, 4);
		assert_true(r->lts == T(k + 1));
		live(m, r, "v", 0, T(k + 1), vals[k - 6]);
		break;
	}
	case 9: { /* c1 = 1 AND c2 > 'a', c2 DESC: (1) .. (1, 'a') exclusive */
		static const char *lo[] = { "00000001" }, *hi[] = { "00000001", "61" };

		u = upd(m, 0, "clust", NULL);
		assert_int_equal(u->nrows, 0);
		assert_int_equal(u->nrt, 2);
		marker_is(m, u, 0, CDC_RT_INCL_START_BOUND, lo, 1, T(10));
		marker_is(m, u, 1, CDC_RT_EXCL_END_BOUND, hi, 2, T(10));
		break;
	}
	case 10: { /* c2 = 'b' AND c3 >= 2019-01-01, c3 DESC */
		static const char *lo[] = { "00000001", "62" }, *hi[] = { "00000001", "62", "0000016806b5bc00" };

		u = upd(m, 0, "clust", NULL);
		assert_int_equal(u->nrt, 2);
		marker_is(m, u, 0, CDC_RT_INCL_START_BOUND, lo, 2, T(11));
		marker_is(m, u, 1, CDC_RT_INCL_END_BOUND, hi, 3, T(11));
		break;
	}
	case 11: { /* c1 >= -5 AND c1 <= 0 */
		static const char *lo[] = { "fffffffb" }, *hi[] = { "00000000" };

		u = upd(m, 0, "clust", NULL);
		marker_is(m, u, 0, CDC_RT_INCL_START_BOUND, lo, 1, T(12));
		marker_is(m, u, 1, CDC_RT_INCL_END_BOUND, hi, 1, T(12));
		break;
	}
	case 12: /* clust_small: smallint, tinyint, date, time, boolean */
		r = row(m, upd(m, 0, "clust_small", "00000001"), 0);
		ck_is(m, r, SMALL, 5);
		live(m, r, "v", 0, T(13), "00000007");
		break;
	case 13: { /* cs = -2 AND ct < 3 */
		static const char *lo[] = { "fffe" }, *hi[] = { "fffe", "03" };

		u = upd(m, 0, "clust_small", NULL);
		marker_is(m, u, 0, CDC_RT_INCL_START_BOUND, lo, 1, T(14));
		marker_is(m, u, 1, CDC_RT_EXCL_END_BOUND, hi, 2, T(14));
		break;
	}
	case 14: /* INSERT colls: overwrite of every multi-cell column */
		r = row(m, upd(m, 0, "colls", "00000001"), 0);
		assert_true(r->lts == T(15));
		assert_int_equal(r->ncdel, 5);
		cdel(m, r, "l", T(15) - 1);
		cdel(m, r, "s", T(15) - 1);
		cdel(m, r, "m", T(15) - 1);
		cdel(m, r, "addr", T(15) - 1);
		cdel(m, r, "nested", T(15) - 1);
		assert_int_equal(count_cells(m, r, "l"), 3);
		live_path(m, r, "l", 0, T(15), NULL, "00000001");
		live_path(m, r, "l", 1, T(15), NULL, "00000002");
		live_path(m, r, "l", 2, T(15), NULL, "00000003");
		live_path(m, r, "s", 0, T(15), "61", "");
		live_path(m, r, "s", 1, T(15), "62", "");
		live_path(m, r, "m", 0, T(15), "78", "00000001");
		live_path(m, r, "m", 1, T(15), "79", "00000002");
		live(m, r, "fl", 0, T(15), "00000002000000026631000000026632");
		live(m, r, "fs", 0, T(15), "00000003000000040000000100000004000000020000000400000003");
		live(m, r, "fm", 0, T(15), "000000020000000400000001000000036f6e6500000004000000020000000374776f");
		live(m, r, "tu", 0, T(15), "000000040000000700000005736576656e0000000101");
		live_path(m, r, "addr", 0, T(15), "0000", "4d61696e");
		live_path(m, r, "addr", 1, T(15), "0001", "00002af8");
		live_path(m, r, "addr", 2, T(15), "0002", "00000001000000027431");
		live(m, r, "faddr", 0, T(15), "0000000646726f7a656e00000004000000010000000400000000");
		live_path(m, r, "nested", 0, T(15), "6b", "0000000200000004000000010000000400000002");
		break;
	case 15: /* l + [4], s + {'c'}, m + {'z': 26}: cells only */
		r = row(m, upd(m, 0, "colls", "00000001"), 0);
		assert_true(r->lts == CDC_TS_NONE);
		assert_int_equal(r->ncdel, 0);
		assert_int_equal(r->ncells, 3);
		live_path(m, r, "l", 0, T(16), NULL, "00000004");
		live_path(m, r, "s", 0, T(16), "63", "");
		live_path(m, r, "m", 0, T(16), "7a", "0000001a");
		break;
	case 16: /* s - {'a'}, m - {'x'} */
		r = row(m, upd(m, 0, "colls", "00000001"), 0);
		assert_int_equal(r->ncells, 2);
		tombstone(m, r, "s", T(17), "61");
		tombstone(m, r, "m", T(17), "78");
		break;
	case 17: /* [0] + l */
		r = row(m, upd(m, 0, "colls", "00000001"), 0);
		assert_int_equal(r->ncells, 1);
		live_path(m, r, "l", 0, T(18), NULL, "00000000");
		break;
	case 18: /* l = [9, 8], s = {'only'}, m = {'only': 1} */
		r = row(m, upd(m, 0, "colls", "00000001"), 0);
		assert_int_equal(r->ncdel, 3);
		cdel(m, r, "l", T(19) - 1);
		cdel(m, r, "s", T(19) - 1);
		cdel(m, r, "m", T(19) - 1);
		live_path(m, r, "l", 0, T(19), NULL, "00000009");
		live_path(m, r, "l", 1, T(19), NULL, "00000008");
		live_path(m, r, "s", 0, T(19), "6f6e6c79", "");
		live_path(m, r, "m", 0, T(19), "6f6e6c79", "00000001");
		break;
	case 19: /* m['k2'] = 22, addr.zip = 12000 */
		r = row(m, upd(m, 0, "colls", "00000001"), 0);
		assert_int_equal(r->ncdel, 0);
		live_path(m, r, "m", 0, T(20), "6b32", "00000016");
		live_path(m, r, "addr", 0, T(20), "0001", "00002ee0");
		break;
	case 20: /* DELETE m['only'] */
		r = row(m, upd(m, 0, "colls", "00000001"), 0);
		tombstone(m, r, "m", T(21), "6f6e6c79");
		break;
	case 21: /* DELETE s, fl: a complex deletion at the timestamp itself */
		r = row(m, upd(m, 0, "colls", "00000001"), 0);
		assert_int_equal(r->ncdel, 1);
		cdel(m, r, "s", T(22));
		tombstone(m, r, "fl", T(22), NULL);
		break;
	case 22: /* addr = {street: 'New', zip: 2}, tu = (null, 'x', false) */
		r = row(m, upd(m, 0, "colls", "00000002"), 0);
		cdel(m, r, "addr", T(23) - 1);
		live_path(m, r, "addr", 0, T(23), "0000", "4e6577");
		live_path(m, r, "addr", 1, T(23), "0001", "00000002");
		live(m, r, "tu", 0, T(23), "ffffffff00000001780000000100");
		break;
	case 23: /* statics: static columns only: a static row without liveness */
		u = upd(m, 0, "statics", "00000001");
		assert_int_equal(u->nrows, 1);
		r = row(m, u, 0);
		assert_true(r->is_static);
		assert_true(r->lts == CDC_TS_NONE);
		live(m, r, "s", 0, T(24), "737461746963206f6e6c79");
		live(m, r, "s2", 0, T(24), "00000005");
		break;
	case 24: /* static and regular row; the static row comes first */
		u = upd(m, 0, "statics", "00000001");
		assert_int_equal(u->nrows, 2);
		r = row(m, u, 0);
		assert_true(r->is_static);
		live(m, r, "s", 0, T(25), "737461746963207769746820726f77");
		r = row(m, u, 1);
		assert_false(r->is_static);
		assert_int_equal(r->nck, 1);
		value_is(&m->values[r->ck_first], "00000001", "c");
		assert_true(r->lts == T(25));
		live(m, r, "v", 0, T(25), "726f77");
		break;
	case 25: /* DELETE s (static) */
		u = upd(m, 0, "statics", "00000001");
		r = row(m, u, 0);
		assert_true(r->is_static);
		tombstone(m, r, "s", T(26), NULL);
		break;
	case 26: /* n = n + 5, m = m - 2: server timestamps, counter contexts */
		r = row(m, upd(m, 0, "counters", "00000001"), 0);
		assert_int_equal(counter_total(&cell_n(m, r, "n", 0)->value), 5);
		assert_int_equal(counter_total(&cell_n(m, r, "m", 0)->value), -2);
		c->counter_ts = cell_n(m, r, "n", 0)->ts;
		assert_true(c->counter_ts > T(0)); /* written at the fixture's run time */
		break;
	case 27: /* n = n + 1 */
		r = row(m, upd(m, 0, "counters", "00000001"), 0);
		assert_int_equal(r->ncells, 1);
		assert_int_equal(counter_total(&cell_n(m, r, "n", 0)->value), 6);
		assert_true(cell_n(m, r, "n", 0)->ts > c->counter_ts);
		break;
	case 28: case 29: { /* the batch: one mutation per partition key */
		uint32_t i;
		int seen = 0;

		u = &m->updates[0];
		if (u->key_len == 4 && u->key[3] == 11) {
			assert_int_equal(m->nupdates, 1);
			r = row(m, upd(m, 0, "other", "0000000b"), 0);
			live(m, r, "v", 0, T(27), "6261746368206f74686572206b6579");
			c->batch_seen |= 2;
			break;
		}
		/* key 10: other, nocdc and all_types in one mutation, any order */
		assert_int_equal(m->nupdates, 3);
		for (i = 0; i < 3; i++) {
			const char *name = m->updates[i].table->name;

			r = row(m, upd(m, i, name, "0000000a"), 0);
			assert_true(r->lts == T(27));
			if (strcmp(name, "other") == 0) {
				assert_true(m->updates[i].table->cdc);
				live(m, r, "v", 0, T(27), "62617463682073616d65206b6579");
				seen |= 1;
			} else if (strcmp(name, "nocdc") == 0) {
				assert_false(m->updates[i].table->cdc);
				live(m, r, "v", 0, T(27), "6e6f74206361707475726564");
				seen |= 2;
			} else {
				assert_string_equal(name, "all_types");
				assert_true(m->updates[i].table->cdc);
				live(m, r, "te", 0, T(27), "62617463682073616d65206b6579");
				seen |= 4;
			}
		}
		assert_int_equal(seen, 7);
		c->batch_seen |= 1;
		break;
	}
	case 30: /* a table without cdc */
		u = upd(m, 0, "nocdc", "00000001");
		assert_false(u->table->cdc);
		live(m, row(m, u, 0), "v", 0, T(28), "6e6576657220616e206576656e74");
		break;
	case 31: /* DELETE a partition */
		u = &m->updates[0];
		assert_string_equal(u->table->name, "other");
		assert_true(u->pdel.ts == T(29));
		plausible_ldt(u->pdel.ldt);
		assert_int_equal(u->nrows, 0);
		assert_int_equal(u->nrt, 0);
		break;
	default:
		fail_msg("%s: more types mutations than statements (%d)", c->version, k);
	}
}

/* Reads every entry of the version's types fixture and checks the mutations
 * of the types keyspace in order. Other keyspaces' tables (system ones) are
 * not in the schema: they must come back as CDC_DECODE_UNKNOWN_TABLE. */
static void run_version(const char *version, int has_vec)
{
	char path[512], err[CDC_ERRSTR_SIZE];
	glob_t g;
	cdc_schema *s;
	cdc_decoder *d;
	ctx c = { version, 0, has_vec, 0, 0 };
	size_t i;
	unsigned long unknown = 0;

	snprintf(path, sizeof(path), "fixtures/%s/types/schema.json", version);
	if (access(path, R_OK) != 0) {
		print_message("no %s (run from the repository root)\n", path);
		skip();
	}
	s = cdc_schema_new();
	if (cdc_schema_load_file(s, path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	d = cdc_decoder_new(s);
	snprintf(path, sizeof(path), "fixtures/%s/types/cdc_raw/CommitLog-*.log", version);
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

			if (it.kind == CDC_ITEM_ERROR)
				fail_msg("%s", err);
			if (it.kind != CDC_ITEM_ENTRY)
				continue;
			rc = cdc_decode(d, it.entry.body, it.entry.size, mv, &m, err, sizeof(err));
			if (rc == CDC_DECODE_UNKNOWN_TABLE) {
				unknown++;
				continue;
			}
			if (rc != 0)
				fail_msg("%s offset %llu: %s", g.gl_pathv[i], (unsigned long long)it.entry.offset, err);
			if (m.nupdates && strcmp(m.updates[0].table->keyspace, "types") == 0)
				check(&c, &m);
		}
		assert_int_equal(rc, 0);
		cdc_segment_destroy(seg);
	}
	globfree(&g);
	print_message("%s: %d types mutations checked, %lu of unknown tables\n", version, c.idx, unknown);
	assert_int_equal(c.idx, 32);
	assert_int_equal(c.batch_seen, 3);
	assert_true(unknown > 0);
	cdc_decoder_destroy(d);
	cdc_schema_destroy(s);
}

static void test_types_50(void **state)
{
	(void)state;
	run_version("5.0", 1);
}

static void test_types_41(void **state)
{
	(void)state;
	run_version("4.1", 0);
}

static void test_types_40(void **state)
{
	(void)state;
	run_version("4.0", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types_50),
		cmocka_unit_test(test_types_41),
		cmocka_unit_test(test_types_40),
	};

	return cmocka_run_group_tests_name("mutation_fixtures", tests, NULL, NULL) ? 1 : 0;
}
