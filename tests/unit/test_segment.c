/* test_segment.c - the container layer: descriptor, sections, entries, CRCs,
 * compression, tolerance rules, _cdc.idx; on synthetic segments and on every
 * real fixture (corrupted in every way the issue lists). The expected
 * outcome of each corruption follows from the format and Cassandra's reading
 * rules (docs/format.md), computed here from the bytes (CRCs with zlib,
 * sections inflated with the compressors' own libraries). */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "err.h"
#include "segment.h"
#include "testutil.h"
#include "vint.h"

#define MAX_FAULTS 64

typedef struct scan {
	size_t n;
	uint64_t off[40000], end[40000];
	uint64_t section_file[4096], section_end[4096], section_lstart[4096], section_lend[4096];
	size_t section_first[4096]; /* index of the section's first entry */
	size_t nsec;
	int errors, fatal;
	cdc_fault fault[MAX_FAULTS];  /* of the first error items */
	uint64_t fault_off[MAX_FAULTS];
	uint32_t header_len;
	cdc_end_reason reason;
	uint64_t end_file;           /* file offset where reading stopped */
	char lasterr[CDC_ERRSTR_SIZE];
} scan;

static scan S0, S1; /* large: keep off the stack */

/* Reads a whole buffer as a segment; -1 if it did not open. */
static int scan_buf(scan *r, const uint8_t *p, size_t len, const char *name, uint64_t limit)
{
	char err[CDC_ERRSTR_SIZE];
	cdc_segment *s;
	cdc_item it;
	int rc;

	memset(r, 0, sizeof(*r));
	if (cdc_segment_open_mem(&s, name, p, len, err, sizeof(err)) != 0) {
		snprintf(r->lasterr, sizeof(r->lasterr), "%s", err);
		return -1;
	}
	r->header_len = cdc_segment_descriptor(s)->header_len;
	cdc_segment_set_limit(s, limit);
	while ((rc = cdc_segment_next(s, &it, err, sizeof(err))) == 1) {
		if (it.kind == CDC_ITEM_ENTRY && r->n < 40000) {
			r->off[r->n] = it.entry.offset;
			r->end[r->n++] = it.entry.end;
		} else if (it.kind == CDC_ITEM_SECTION && r->nsec < 4096) {
			r->section_end[r->nsec] = it.section.file_end;
			r->section_lstart[r->nsec] = it.section.logical_start;
			r->section_lend[r->nsec] = it.section.logical_end;
			r->section_first[r->nsec] = r->n;
			r->section_file[r->nsec++] = it.section.file_offset;
		} else if (it.kind == CDC_ITEM_ERROR) {
			if (r->errors < MAX_FAULTS) {
				r->fault[r->errors] = it.entry.fault;
				r->fault_off[r->errors] = it.entry.offset;
			}
			r->errors++;
			snprintf(r->lasterr, sizeof(r->lasterr), "%s", err);
		}
	}
	if (rc < 0) {
		r->fatal = 1;
		snprintf(r->lasterr, sizeof(r->lasterr), "%s", err);
	}
	r->reason = cdc_segment_end_state(s).reason;
	r->end_file = cdc_segment_end_state(s).file_offset;
	cdc_segment_destroy(s);
	return 0;
}

static int faulted(const scan *r)
{
	return r->fatal || r->errors || r->reason == CDC_END_TRUNCATED;
}

/* Entries of r are a prefix of those of base. */
static int is_prefix(const scan *r, const scan *base)
{
	size_t i;

	if (r->n > base->n)
		return 0;
	for (i = 0; i < r->n; i++)
		if (r->off[i] != base->off[i] || r->end[i] != base->end[i])
			return 0;
	return 1;
}

/* Entries of r are exactly base's entries [0, n). */
static int is_first(const scan *r, const scan *base, size_t n)
{
	return r->n == n && is_prefix(r, base);
}

/* Index of base's first entry of section k (base->n past the last section). */
static size_t first_of(const scan *base, size_t k)
{
	return k < base->nsec ? base->section_first[k] : base->n;
}

/* Entries of r are exactly base's but those flagged in lost[]. */
static int is_all_but(const scan *r, const scan *base, const uint8_t *lost)
{
	size_t i, j = 0;

	for (i = 0; i < base->n; i++) {
		if (lost[i])
			continue;
		if (j >= r->n || r->off[j] != base->off[i] || r->end[j] != base->end[i])
			return 0;
		j++;
	}
	return j == r->n;
}

static void test_vint(void **state)
{
	static const struct { uint8_t b[9]; size_t n; uint64_t v; } cases[] = {
		{ { 0x05 }, 1, 5 },
		{ { 0x80, 0x80 }, 2, 128 },
		{ { 0x80, 0xff }, 2, 255 },
		{ { 0xbf, 0xff }, 2, 16383 },
		{ { 0xc0, 0x40, 0x00 }, 3, 16384 },
		{ { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 9, UINT64_MAX },
	};
	uint64_t v;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(cdc_uvint(cases[i].b, cases[i].n, &v), cases[i].n);
		assert_true(v == cases[i].v);
		assert_int_equal(cdc_uvint(cases[i].b, cases[i].n - 1, &v), 0);
	}
}

static void test_index_parse(void **state)
{
	char err[CDC_ERRSTR_SIZE];
	cdc_index ix;

	(void)state;
	assert_int_equal(cdc_index_parse("1234", 4, &ix, "x_cdc.idx", err, sizeof(err)), 0);
	assert_true(ix.offset == 1234 && !ix.completed);
	assert_int_equal(cdc_index_parse("99\nCOMPLETED", 12, &ix, "x", err, sizeof(err)), 0);
	assert_true(ix.offset == 99 && ix.completed);
	assert_int_equal(cdc_index_parse("99\nCOMPLETED\n", 13, &ix, "x", err, sizeof(err)), 0);
	assert_true(ix.completed);
	assert_int_equal(cdc_index_parse("", 0, &ix, "x", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "empty"));
	assert_int_equal(cdc_index_parse("99\nCOMP", 7, &ix, "x", err, sizeof(err)), -1);
	assert_int_equal(cdc_index_parse("abc", 3, &ix, "x", err, sizeof(err)), -1);
	assert_int_equal(cdc_index_parse("12\nDONE", 7, &ix, "x", err, sizeof(err)), -1);
}

static void test_names(void **state)
{
	char buf[256];
	int v;
	int64_t id;

	(void)state;
	assert_int_equal(cdc_segment_parse_name("/a/CommitLog-7-1732500000001.log", &v, &id), 0);
	assert_int_equal(v, 7);
	assert_true(id == 1732500000001LL);
	assert_int_equal(cdc_segment_parse_name("CommitLog-7-12_cdc.idx", NULL, NULL), -1);
	assert_int_equal(cdc_segment_parse_name("CommitLog-1234.log", NULL, NULL), -1);
	assert_int_equal(cdc_index_path_for("/d/CommitLog-7-5.log", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "/d/CommitLog-7-5_cdc.idx");
}

/* Every compressor: same entries at the same logical offsets (from the end
 * of the header, whose length differs by the params) as the uncompressed
 * twin: compressed sections chain logically by +8 per marker. */
static void test_synthetic_roundtrip(void **state)
{
	int comps[] = { TW_NONE, TW_LZ4, TW_SNAPPY, TW_DEFLATE, TW_ZSTD }, i;
	tbuf plain = tw_segment(TW_NONE, 1700000000001LL, 5, 7, 65536);

	(void)state;
	assert_int_equal(scan_buf(&S0, plain.p, plain.len, "CommitLog-7-1700000000001.log", CDC_NO_LIMIT), 0);
	assert_int_equal((int)S0.n, 35);
	assert_false(faulted(&S0));
	assert_int_equal(S0.reason, CDC_END_MARKER);
	for (i = 1; i < 5; i++) {
		tbuf z = tw_segment(comps[i], 1700000000001LL, 5, 7, 0);
		size_t k;

		assert_int_equal(scan_buf(&S1, z.p, z.len, "CommitLog-7-1700000000001.log", CDC_NO_LIMIT), 0);
		assert_int_equal((int)S1.n, 35);
		assert_false(faulted(&S1));
		assert_int_equal(S1.reason, CDC_END_EOF);
		for (k = 0; k < S1.n; k++) {
			assert_true(S1.off[k] - S1.header_len == S0.off[k] - S0.header_len);
			assert_true(S1.end[k] - S1.header_len == S0.end[k] - S0.header_len);
		}
		free(z.p);
	}
	free(plain.p);
}

static void test_name_id_mismatch(void **state)
{
	tbuf b = tw_segment(TW_NONE, 42, 1, 1, 0);

	(void)state;
	assert_int_equal(scan_buf(&S0, b.p, b.len, "CommitLog-7-43.log", CDC_NO_LIMIT), -1);
	assert_non_null(strstr(S0.lasterr, "differs"));
	assert_int_equal(scan_buf(&S0, b.p, b.len, "CommitLog-7-42.log", CDC_NO_LIMIT), 0);
	free(b.p);
}

static void test_limit(void **state)
{
	tbuf b = tw_segment(TW_LZ4, 9, 4, 3, 0);
	uint64_t cut;

	(void)state;
	assert_int_equal(scan_buf(&S0, b.p, b.len, "seg", CDC_NO_LIMIT), 0);
	assert_int_equal((int)S0.n, 12);
	cut = S0.end[5]; /* end of the second section */
	assert_int_equal(scan_buf(&S1, b.p, b.len, "seg", cut), 0);
	assert_int_equal((int)S1.n, 6);
	assert_int_equal(S1.reason, CDC_END_LIMIT);
	assert_int_equal(scan_buf(&S1, b.p, b.len, "seg", cut - 1), 0);
	assert_int_equal((int)S1.n, 3);
	free(b.p);
}

/* Live growth: an mmap-style segment read, then extended by one section and
 * refreshed, yields only the new entries. */
static void test_refresh_after_zero_marker(void **state)
{
	tbuf full = tw_segment(TW_NONE, 77, 3, 2, 0), part = { 0 };
	char err[CDC_ERRSTR_SIZE];
	cdc_segment *s;
	cdc_item it;
	size_t cut, n = 0;

	(void)state;
	assert_int_equal(scan_buf(&S0, full.p, full.len, "seg", CDC_NO_LIMIT), 0);
	/* the third section's marker, zeroed: as Cassandra leaves it before syncing */
	cut = (size_t)S0.section_file[2];
	tb_put(&part, full.p, full.len);
	memset(part.p + cut, 0, part.len - cut);
	assert_int_equal(cdc_segment_open_mem(&s, "seg", part.p, part.len, err, sizeof(err)), 0);
	while (cdc_segment_next(s, &it, err, sizeof(err)) == 1)
		n += it.kind == CDC_ITEM_ENTRY;
	assert_int_equal((int)n, 4);
	assert_int_equal(cdc_segment_end_state(s).reason, CDC_END_MARKER);
	memcpy(part.p + cut, full.p + cut, full.len - cut);
	assert_int_equal(cdc_segment_refresh(s, err, sizeof(err)), 0);
	n = 0;
	while (cdc_segment_next(s, &it, err, sizeof(err)) == 1)
		n += it.kind == CDC_ITEM_ENTRY;
	assert_int_equal((int)n, 2);
	cdc_segment_destroy(s);
	free(part.p);
	free(full.p);
}

static void test_foreign_and_empty(void **state)
{
	const char *text = "hello, this is not a commitlog segment at all\n";
	const char *json = "{\"compressionClass\":\"LZ4Compressor\"}";
	uint8_t *elf;
	size_t n;

	(void)state;
	assert_int_equal(scan_buf(&S0, (const uint8_t *)"", 0, "empty.log", CDC_NO_LIMIT), -1);
	assert_non_null(strstr(S0.lasterr, "empty.log"));
	assert_non_null(strstr(S0.lasterr, "offset 0"));
	assert_int_equal(scan_buf(&S0, (const uint8_t *)text, strlen(text), "t.log", CDC_NO_LIMIT), -1);
	assert_non_null(strstr(S0.lasterr, "offset"));
	assert_int_equal(scan_buf(&S0, (const uint8_t *)json, strlen(json), "j.log", CDC_NO_LIMIT), -1);
	elf = read_file("/bin/true", &n);
	assert_non_null(elf);
	assert_int_equal(scan_buf(&S0, elf, n, "/bin/true", CDC_NO_LIMIT), -1);
	free(elf);
}

/* ---- helpers for the expected outcome of a corruption ---- */

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t seg_id(const uint8_t *p)
{
	return (int64_t)((uint64_t)get32(p + 4) << 32 | get32(p + 8));
}

/* The compressor named in the descriptor's parameters (TW_NONE if none). */
static int seg_compression(const uint8_t *p, size_t n)
{
	size_t plen = (size_t)(p[12] << 8 | p[13]);
	static const struct { const char *cls; int c; } known[] = {
		{ "LZ4Compressor", TW_LZ4 }, { "SnappyCompressor", TW_SNAPPY },
		{ "DeflateCompressor", TW_DEFLATE }, { "ZstdCompressor", TW_ZSTD },
	};
	size_t i;

	if (14 + plen > n)
		return TW_NONE;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (memmem(p + 14, plen, known[i].cls, strlen(known[i].cls)))
			return known[i].c;
	return TW_NONE;
}

/* Inflates a section payload as Cassandra's compressor classes frame it
 * (docs/format.md): 0 with exactly ulen bytes in out, or -1. */
static int t_inflate(int comp, const uint8_t *src, size_t slen, uint8_t *out, uint32_t ulen)
{
	if (ulen == 0)
		return 0;
	switch (comp) {
	case TW_LZ4:
		if (slen < 4 || ((uint32_t)src[0] | (uint32_t)src[1] << 8 | (uint32_t)src[2] << 16 |
				 (uint32_t)src[3] << 24) != ulen)
			return -1;
		return LZ4_decompress_safe((const char *)src + 4, (char *)out, (int)(slen - 4), (int)ulen) ==
		       (int)ulen ? 0 : -1;
	case TW_SNAPPY: {
		size_t n = 0;

		if (snappy_uncompressed_length((const char *)src, slen, &n) != SNAPPY_OK || n != ulen)
			return -1;
		return snappy_uncompress((const char *)src, slen, (char *)out, &n) == SNAPPY_OK && n == ulen ? 0 : -1;
	}
	case TW_DEFLATE: {
		uLongf n = ulen;

		return uncompress(out, &n, src, (uLong)slen) == Z_OK && n == ulen ? 0 : -1;
	}
	case TW_ZSTD: {
		size_t n = ZSTD_decompress(out, ulen, src, slen);

		return !ZSTD_isError(n) && n == ulen ? 0 : -1;
	}
	}
	return -1;
}

/* What reading must do at file offset nn, where a corrupted chain points
 * though no marker is there: 1 and the end (reason, fatal) it must reach, or
 * 0 when the bytes there happen to form a valid marker (no prediction). */
static int bogus_marker_end(const uint8_t *p, size_t n, uint64_t nn, cdc_end_reason *reason, int *fatal)
{
	*fatal = 0;
	if (n < 8 || nn > n - 8) {
		*reason = CDC_END_EOF;
		return 1;
	}
	if (get32(p + nn) == 0 && get32(p + nn + 4) == 0) {
		*reason = CDC_END_MARKER;
		return 1;
	}
	if (get32(p + nn + 4) == tw_marker_crc(seg_id(p), (uint32_t)nn))
		return 0;
	*reason = CDC_END_ERROR;
	*fatal = 1;
	return 1;
}

/* The expected outcome of one corrupted copy. */
typedef struct expect {
	size_t keep;           /* survivors: base's entries [0, keep) ... */
	const uint8_t *lost;   /* ... or, when set, all but these */
	int nfault;
	cdc_fault fault[8];
	uint64_t fault_off[8];
	cdc_end_reason reason;
	int fatal;
	uint64_t end_file;
	const char *msg;       /* the fatal message names this (with the offset) */
} expect;

static void check_expect(const char *path, const char *what, const scan *r, const scan *base, const expect *x)
{
	int i;

	if (x->lost ? !is_all_but(r, base, x->lost) : !is_first(r, base, x->keep))
		fail_msg("%s: %s: %zu entries survive, expected %zu%s", path, what, r->n,
			 x->lost ? base->n : x->keep, x->lost ? " but the lost ones" : " (the first ones)");
	if (r->errors != x->nfault)
		fail_msg("%s: %s: %d error items, expected %d (last: %s)", path, what, r->errors, x->nfault, r->lasterr);
	for (i = 0; i < x->nfault && i < MAX_FAULTS; i++)
		if (r->fault[i] != x->fault[i] || r->fault_off[i] != x->fault_off[i])
			fail_msg("%s: %s: error %d is fault %d at %" PRIu64 ", expected fault %d at %" PRIu64, path,
				 what, i, (int)r->fault[i], r->fault_off[i], (int)x->fault[i], x->fault_off[i]);
	if (r->reason != x->reason || r->fatal != x->fatal || r->end_file != x->end_file)
		fail_msg("%s: %s: ended %s%s at file offset %" PRIu64 ", expected %s%s at %" PRIu64 " (%s)", path, what,
			 cdc_end_reason_name(r->reason), r->fatal ? " (fatal)" : "", r->end_file,
			 cdc_end_reason_name(x->reason), x->fatal ? " (fatal)" : "", x->end_file, r->lasterr);
	if (x->msg) {
		char want[64];

		snprintf(want, sizeof(want), "offset %" PRIu64 ": ", x->end_file);
		if (!strstr(r->lasterr, want) || !strstr(r->lasterr, x->msg))
			fail_msg("%s: %s: message \"%s\" lacks \"%s%s\"", path, what, r->lasterr, want, x->msg);
	}
}

/* ---- the same faults on every real fixture segment ---- */

static glob_t fixtures;

static int setup_fixtures(void **state)
{
	(void)state;
	glob("fixtures/*/*/cdc_raw/CommitLog-*.log", 0, NULL, &fixtures);
	glob("fixtures/*/*/cdc_raw_live/CommitLog-*.log", GLOB_APPEND, NULL, &fixtures);
	return 0;
}

static int teardown_fixtures(void **state)
{
	(void)state;
	globfree(&fixtures);
	return 0;
}

static void test_fixtures_present(void **state)
{
	(void)state;
	print_message("%zu fixture segments\n", fixtures.gl_pathc);
	assert_true(fixtures.gl_pathc >= 3);
}

/* For each fixture: every header byte flipped fails at open with the file
 * and an offset in the message. */
static void test_fixture_header_flips(void **state)
{
	size_t f, i, n;

	(void)state;
	for (f = 0; f < fixtures.gl_pathc; f++) {
		const char *path = fixtures.gl_pathv[f];
		uint8_t *p = read_file(path, &n);
		uint32_t hl;

		assert_non_null(p);
		assert_int_equal(scan_buf(&S0, p, n, path, CDC_NO_LIMIT), 0);
		assert_false(faulted(&S0));
		hl = 18 + ((uint32_t)p[12] << 8 | p[13]);
		for (i = 0; i < hl; i++) {
			p[i] ^= 0x5a;
			if (scan_buf(&S1, p, n, path, CDC_NO_LIMIT) == 0)
				fail_msg("%s: header byte %zu flipped was accepted", path, i);
			assert_non_null(strstr(S1.lasterr, "offset"));
			assert_non_null(strstr(S1.lasterr, "CommitLog-"));
			p[i] ^= 0x5a;
		}
		free(p);
	}
}

/* The expected outcome when section k's `next` is changed to nn, a file
 * offset inside the file where no marker is (0: no prediction possible). */
static int expect_next_moved(const uint8_t *p, size_t n, int comp, size_t k, uint64_t nn, expect *x)
{
	uint64_t m = S0.section_file[k], pos;
	size_t a = first_of(&S0, k), b = first_of(&S0, k + 1), j;
	cdc_end_reason r;
	int fatal;

	memset(x, 0, sizeof(*x));
	x->keep = a;
	if (nn < m + (comp == TW_NONE ? 8 : 12)) {
		x->reason = CDC_END_ERROR;
		x->fatal = 1;
		x->end_file = m;
		return 1;
	}
	if (comp != TW_NONE) {
		/* the payload is now [m + 12, nn): it inflates to the same bytes, or
		 * the section is skipped with an error */
		uint32_t ulen = (uint32_t)(S0.section_lend[k] - S0.section_lstart[k]);
		uint8_t *a1 = malloc(ulen + 1), *a2 = malloc(ulen + 1);
		int ok1 = t_inflate(comp, p + m + 12, S0.section_end[k] - m - 12, a1, ulen);
		int ok2 = t_inflate(comp, p + m + 12, nn - m - 12, a2, ulen);
		int same = ok2 == 0 && memcmp(a1, a2, ulen) == 0;

		free(a1);
		free(a2);
		assert_int_equal(ok1, 0);
		if (ok2 == 0 && !same)
			return 0;
		if (ok2 != 0) {
			x->nfault = 1;
			x->fault[0] = CDC_FAULT_SECTION;
			x->fault_off[0] = S0.section_lstart[k];
		} else {
			x->keep = b;
		}
	} else {
		/* entries ending by nn are read; the one across nn, or what lies
		 * after the section's last entry, is refused as the rules say */
		for (j = a; j < b && S0.end[j] <= nn; j++)
			x->keep = j + 1;
		pos = x->keep < b ? S0.off[x->keep] : (b > a ? S0.end[b - 1] : m + 8);
		if (pos < nn) {
			uint64_t left = nn - pos;
			uint32_t size = left >= 4 ? get32(p + pos) : 0;

			if (left < 4 || size == 0) {
				x->reason = CDC_END_PADDING;
				x->end_file = m;
				return 1;
			}
			x->nfault = 1;
			x->fault_off[0] = pos;
			if (size < 10 || size > INT32_MAX)
				x->fault[0] = CDC_FAULT_SIZE;
			else if (left < 8)
				x->fault[0] = CDC_FAULT_SHORT;
			else if (tcrc_int(0, size) != get32(p + pos + 4))
				x->fault[0] = CDC_FAULT_SIZE_CRC;
			else if (size + 12ull > left)
				x->fault[0] = CDC_FAULT_PAST_END;
			else
				return 0;
		}
	}
	if (!bogus_marker_end(p, n, nn, &r, &fatal))
		return 0;
	x->reason = r;
	x->fatal = fatal;
	x->end_file = nn;
	if (fatal)
		x->msg = "sync marker CRC mismatch";
	return 1;
}

/* Sync markers of every section: a flipped CRC byte is fatal at that
 * marker; a `next` past the end of the file is a torn tail there; a `next`
 * with its sign bit is fatal there; a `next` a few bytes off makes the
 * section end elsewhere, with the faults the reading rules give. In every
 * case exactly the entries of the earlier sections survive, plus those of
 * this section the rules let through. */
static void test_fixture_marker_flips(void **state)
{
	size_t f, k, n, moved = 0, unpredictable = 0, how[CDC_END_ERROR + 1] = { 0 }, faults[8] = { 0 };
	int b;

	(void)state;
	for (f = 0; f < fixtures.gl_pathc; f++) {
		const char *path = fixtures.gl_pathv[f];
		uint8_t *p = read_file(path, &n);
		int comp = seg_compression(p, n);

		assert_int_equal(scan_buf(&S0, p, n, path, CDC_NO_LIMIT), 0);
		assert_false(faulted(&S0));
		for (k = 0; k < S0.nsec; k++) {
			size_t m = (size_t)S0.section_file[k];
			uint64_t nn;
			expect x;

			for (b = 4; b < 8; b++) {
				p[m + b] ^= 0x21;
				assert_int_equal(scan_buf(&S1, p, n, path, CDC_NO_LIMIT), 0);
				x = (expect){ .keep = first_of(&S0, k), .reason = CDC_END_ERROR, .fatal = 1,
					      .end_file = m, .msg = "sync marker CRC mismatch" };
				check_expect(path, "marker CRC byte flipped", &S1, &S0, &x);
				p[m + b] ^= 0x21;
			}

			assert_true(get32(p + m) < 0x01000000u);
			p[m] ^= 0x21; /* next far past the end of the file */
			assert_int_equal(scan_buf(&S1, p, n, path, CDC_NO_LIMIT), 0);
			x = (expect){ .keep = first_of(&S0, k), .reason = CDC_END_TRUNCATED, .end_file = m };
			check_expect(path, "next past the end of the file", &S1, &S0, &x);
			p[m] ^= 0x21;

			p[m] ^= 0x80; /* next negative: before the marker */
			assert_int_equal(scan_buf(&S1, p, n, path, CDC_NO_LIMIT), 0);
			x = (expect){ .keep = first_of(&S0, k), .reason = CDC_END_ERROR, .fatal = 1, .end_file = m,
				      .msg = "sync marker points back" };
			check_expect(path, "next with the sign bit", &S1, &S0, &x);
			p[m] ^= 0x80;

			p[m + 3] ^= 0x21; /* next a few bytes off */
			nn = get32(p + m);
			if (nn > n) {
				x = (expect){ .keep = first_of(&S0, k), .reason = CDC_END_TRUNCATED, .end_file = m };
			} else if (!expect_next_moved(p, n, comp, k, nn, &x)) {
				unpredictable++;
				p[m + 3] ^= 0x21;
				continue;
			}
			assert_int_equal(scan_buf(&S1, p, n, path, CDC_NO_LIMIT), 0);
			check_expect(path, "next a few bytes off", &S1, &S0, &x);
			moved++;
			how[x.reason]++;
			faults[x.nfault ? x.fault[0] : 0]++;
			p[m + 3] ^= 0x21;
		}
		free(p);
	}
	print_message("next pointers a few bytes off: %zu checked (ends: %zu fatal, %zu zero-marker, %zu padding, "
		      "%zu end-of-file, %zu truncated; faults first: %zu none, %zu section, %zu size-crc, %zu past-end, "
		      "%zu short, %zu size), %zu without a prediction\n", moved, how[CDC_END_ERROR], how[CDC_END_MARKER],
		      how[CDC_END_PADDING], how[CDC_END_EOF], how[CDC_END_TRUNCATED], faults[CDC_FAULT_NONE],
		      faults[CDC_FAULT_SECTION], faults[CDC_FAULT_SIZE_CRC], faults[CDC_FAULT_PAST_END],
		      faults[CDC_FAULT_SHORT], faults[CDC_FAULT_SIZE], unpredictable);
	assert_true(moved > 0);
}

/* Entry size and body flips (uncompressed), payload flips (compressed): the
 * faults and the surviving entries are exactly those the rules give: a body
 * CRC failure loses that entry; a size CRC failure the rest of its section; a
 * section that does not inflate all of its own entries; a payload that
 * inflates to other bytes, what the entry CRCs then refuse. */
static void test_fixture_entry_flips(void **state)
{
	size_t f, k, n, step, payload_checked = 0;
	static uint8_t lost[40000];

	(void)state;
	for (f = 0; f < fixtures.gl_pathc; f++) {
		const char *path = fixtures.gl_pathv[f];
		uint8_t *p = read_file(path, &n);
		int comp = seg_compression(p, n);

		assert_int_equal(scan_buf(&S0, p, n, path, CDC_NO_LIMIT), 0);
		step = S0.n / 12 + 1;
		for (k = 0; comp == TW_NONE && k < S0.n; k += step) {
			size_t at = (size_t)S0.off[k], mid = (size_t)(S0.off[k] + S0.end[k]) / 2, j, sec = 0;
			uint32_t size;
			expect x;

			while (sec + 1 < S0.nsec && S0.section_first[sec + 1] <= k)
				sec++;
			p[at + 2] ^= 0x10; /* size +-4096: its CRC no longer matches */
			size = get32(p + at);
			assert_int_not_equal(size, 0);
			assert_int_equal(scan_buf(&S1, p, n, path, CDC_NO_LIMIT), 0);
			memset(lost, 0, S0.n);
			for (j = k; j < first_of(&S0, sec + 1); j++)
				lost[j] = 1;
			x = (expect){ .lost = lost, .nfault = 1,
				      .fault = { size < 10 ? CDC_FAULT_SIZE : CDC_FAULT_SIZE_CRC }, .fault_off = { at },
				      .reason = S0.reason, .end_file = S0.end_file };
			check_expect(path, "entry size flipped", &S1, &S0, &x);
			p[at + 2] ^= 0x10;

			p[mid] ^= 0x01; /* body */
			assert_int_equal(scan_buf(&S1, p, n, path, CDC_NO_LIMIT), 0);
			memset(lost, 0, S0.n);
			lost[k] = 1;
			x = (expect){ .lost = lost, .nfault = 1, .fault = { CDC_FAULT_BODY_CRC }, .fault_off = { at },
				      .reason = S0.reason, .end_file = S0.end_file };
			check_expect(path, "entry body flipped", &S1, &S0, &x);
			assert_non_null(strstr(S1.lasterr, "CRC"));
			p[mid] ^= 0x01;
		}
		for (k = 0; comp != TW_NONE && k < S0.nsec; k++) {
			size_t m = (size_t)S0.section_file[k], slen = (size_t)S0.section_end[k] - m - 12;
			uint32_t ulen = (uint32_t)(S0.section_lend[k] - S0.section_lstart[k]);
			size_t a = first_of(&S0, k), b = first_of(&S0, k + 1), where[2] = { 5, slen / 2 }, w, j;
			uint8_t *orig = malloc(ulen + 1), *now = malloc(ulen + 1);

			assert_int_equal(t_inflate(comp, p + m + 12, slen, orig, ulen), 0);
			for (w = 0; w < 2; w++) {
				size_t at = m + 12 + where[w];
				expect x = { .reason = S0.reason, .end_file = S0.end_file, .lost = lost };
				int skip = 0;

				if (where[w] >= slen || (w == 1 && where[1] <= where[0]))
					continue;
				p[at] ^= 0x44;
				memset(lost, 0, S0.n);
				if (t_inflate(comp, p + m + 12, slen, now, ulen) != 0) {
					for (j = a; j < b; j++)
						lost[j] = 1;
					x.nfault = 1;
					x.fault[0] = CDC_FAULT_SECTION;
					x.fault_off[0] = S0.section_lstart[k];
				} else {
					/* inflated to other bytes (or the same): the entry CRCs decide */
					for (j = a; j < b && !skip; j++) {
						size_t rel = (size_t)(S0.off[j] - S0.section_lstart[k]);
						size_t len = (size_t)(S0.end[j] - S0.off[j]);

						if (memcmp(orig + rel, now + rel, 8) != 0) {
							uint32_t size = get32(now + rel);

							if (size == 0 || x.nfault == 8) {
								skip = 1;
								break;
							}
							x.fault[x.nfault] = size < 10 || size > INT32_MAX ? CDC_FAULT_SIZE
									    : CDC_FAULT_SIZE_CRC;
							x.fault_off[x.nfault++] = S0.off[j];
							for (; j < b; j++)
								lost[j] = 1;
							break;
						}
						if (memcmp(orig + rel + 8, now + rel + 8, len - 8) != 0) {
							if (x.nfault == 8) {
								skip = 1;
								break;
							}
							lost[j] = 1;
							x.fault[x.nfault] = CDC_FAULT_BODY_CRC;
							x.fault_off[x.nfault++] = S0.off[j];
						}
					}
				}
				if (!skip) {
					assert_int_equal(scan_buf(&S1, p, n, path, CDC_NO_LIMIT), 0);
					check_expect(path, "payload byte flipped", &S1, &S0, &x);
					payload_checked++;
				}
				p[at] ^= 0x44;
			}
			free(orig);
			free(now);
		}
		free(p);
	}
	print_message("compressed payload flips checked: %zu\n", payload_checked);
	assert_true(payload_checked > 0);
}

/* Truncation at every section boundary is a clean end with exactly the
 * earlier sections' entries; truncation inside a section is a torn tail at
 * that section's marker that keeps exactly the entries of the sections
 * before it (Cassandra's reader too drops a torn last section whole,
 * complete entries included: docs/oracle.md). */
static void test_fixture_truncation(void **state)
{
	size_t f, k, n;

	(void)state;
	for (f = 0; f < fixtures.gl_pathc; f++) {
		const char *path = fixtures.gl_pathv[f];
		uint8_t *p = read_file(path, &n);

		assert_int_equal(scan_buf(&S0, p, n, path, CDC_NO_LIMIT), 0);
		for (k = 0; k < S0.nsec; k++) {
			size_t cut = (size_t)S0.section_file[k];
			size_t next = (size_t)S0.section_end[k];
			size_t mid = cut + (next - cut) / 2;
			expect x = { .keep = first_of(&S0, k), .reason = CDC_END_EOF, .end_file = cut };

			assert_int_equal(scan_buf(&S1, p, cut, path, CDC_NO_LIMIT), 0);
			check_expect(path, "cut at a section boundary", &S1, &S0, &x);
			if (mid <= cut + 8)
				continue;
			/* mid-section: halfway to the section's end */
			assert_int_equal(scan_buf(&S1, p, mid, path, CDC_NO_LIMIT), 0);
			x.reason = CDC_END_TRUNCATED;
			check_expect(path, "cut inside a section", &S1, &S0, &x);
		}
		free(p);
	}
}

/* A cut inside an entry (16 spread over each uncompressed segment, and its
 * last entry): a torn tail at the marker of the entry's section; exactly the
 * entries of the sections before it survive. */
static void test_fixture_entry_cuts(void **state)
{
	size_t f, k, n, step, i;

	(void)state;
	for (f = 0; f < fixtures.gl_pathc; f++) {
		const char *path = fixtures.gl_pathv[f];
		uint8_t *p = read_file(path, &n);
		int comp = seg_compression(p, n);

		assert_int_equal(scan_buf(&S0, p, n, path, CDC_NO_LIMIT), 0);
		/* entries lie in the file only when uncompressed */
		step = S0.n / 16 + 1;
		for (i = 0; comp == TW_NONE && i <= 16; i++) {
			size_t mid, sec = 0;
			expect x;

			k = i < 16 ? i * step : S0.n - 1;
			if (k >= S0.n || (i == 16 && k % step == 0))
				continue;
			mid = (size_t)(S0.off[k] + S0.end[k]) / 2;
			while (sec + 1 < S0.nsec && S0.section_first[sec + 1] <= k)
				sec++;
			x = (expect){ .keep = first_of(&S0, sec), .reason = CDC_END_TRUNCATED,
				      .end_file = S0.section_file[sec] };
			assert_int_equal(scan_buf(&S1, p, mid, path, CDC_NO_LIMIT), 0);
			check_expect(path, "cut inside an entry", &S1, &S0, &x);
		}
		free(p);
	}
}

/* The _cdc.idx beside each fixture segment parses, and reading up to its
 * offset never yields an entry past it. */
static void test_fixture_index(void **state)
{
	char idx[4096], err[CDC_ERRSTR_SIZE];
	size_t f, n, j;
	int seen = 0;

	(void)state;
	for (f = 0; f < fixtures.gl_pathc; f++) {
		const char *path = fixtures.gl_pathv[f];
		uint8_t *p;
		cdc_index ix;

		assert_int_equal(cdc_index_path_for(path, idx, sizeof(idx)), 0);
		if (cdc_index_read(idx, &ix, err, sizeof(err)) != 0)
			continue;
		seen++;
		p = read_file(path, &n);
		assert_int_equal(scan_buf(&S1, p, n, path, ix.offset), 0);
		assert_false(faulted(&S1));
		for (j = 0; j < S1.n; j++)
			assert_true(S1.end[j] <= ix.offset);
		if (ix.completed) {
			scan_buf(&S0, p, n, path, CDC_NO_LIMIT);
			assert_int_equal((int)S1.n, (int)S0.n);
		}
		free(p);
	}
	print_message("%d segments with a _cdc.idx\n", seen);
	assert_true(seen > 0);
}

int main(void)
{
	const struct CMUnitTest synthetic[] = {
		cmocka_unit_test(test_vint),
		cmocka_unit_test(test_index_parse),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_synthetic_roundtrip),
		cmocka_unit_test(test_name_id_mismatch),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_refresh_after_zero_marker),
		cmocka_unit_test(test_foreign_and_empty),
	};
	const struct CMUnitTest real[] = {
		cmocka_unit_test(test_fixtures_present),
		cmocka_unit_test(test_fixture_header_flips),
		cmocka_unit_test(test_fixture_marker_flips),
		cmocka_unit_test(test_fixture_entry_flips),
		cmocka_unit_test(test_fixture_truncation),
		cmocka_unit_test(test_fixture_entry_cuts),
		cmocka_unit_test(test_fixture_index),
	};
	int rc = cmocka_run_group_tests_name("segment_synthetic", synthetic, NULL, NULL);

	rc += cmocka_run_group_tests_name("segment_fixtures", real, setup_fixtures, teardown_fixtures);
	return rc ? 1 : 0;
}
