/* test_segment.c - the container layer: descriptor, sections, entries, CRCs,
 * compression, tolerance rules, _cdc.idx; on synthetic segments and on every
 * real fixture (corrupted in every way the issue lists). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "err.h"
#include "segment.h"
#include "testutil.h"
#include "vint.h"

typedef struct scan {
	size_t n;
	uint64_t off[40000], end[40000];
	uint64_t section_file[4096], section_end[4096];
	size_t nsec;
	int errors, fatal;
	uint32_t header_len;
	cdc_end_reason reason;
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
			r->section_file[r->nsec++] = it.section.file_offset;
		} else if (it.kind == CDC_ITEM_ERROR) {
			r->errors++;
			snprintf(r->lasterr, sizeof(r->lasterr), "%s", err);
		}
	}
	if (rc < 0) {
		r->fatal = 1;
		snprintf(r->lasterr, sizeof(r->lasterr), "%s", err);
	}
	r->reason = cdc_segment_end_state(s).reason;
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

/* Sync markers: a flipped CRC byte is an unrecoverable fault; a flipped
 * `next` (not covered by the CRC) is either reported or harmless. */
static void test_fixture_marker_flips(void **state)
{
	size_t f, k, n;
	int b;

	(void)state;
	for (f = 0; f < fixtures.gl_pathc; f++) {
		const char *path = fixtures.gl_pathv[f];
		uint8_t *p = read_file(path, &n);

		scan_buf(&S0, p, n, path, CDC_NO_LIMIT);
		for (k = 0; k < S0.nsec && k < 16; k++) {
			size_t m = (size_t)S0.section_file[k];

			for (b = 0; b < 8; b++) {
				p[m + b] ^= 0x21;
				assert_int_equal(scan_buf(&S1, p, n, path, CDC_NO_LIMIT), 0);
				if (b >= 4)
					assert_true(S1.fatal);
				if (!(faulted(&S1) || (S1.n == S0.n && is_prefix(&S1, &S0))))
					fail_msg("%s: marker at %zu byte %d flipped: %zu entries, no fault", path, m, b, S1.n);
				assert_true(is_prefix(&S1, &S0) || faulted(&S1));
				p[m + b] ^= 0x21;
			}
		}
		free(p);
	}
}

/* Entry size and body flips (uncompressed) or payload flips (compressed):
 * reported, and the entries around them survive as Cassandra's reader keeps them. */
static void test_fixture_entry_flips(void **state)
{
	size_t f, k, n, step;

	(void)state;
	for (f = 0; f < fixtures.gl_pathc; f++) {
		const char *path = fixtures.gl_pathv[f];
		uint8_t *p = read_file(path, &n);
		int compressed = strstr((const char *)p + 14, "compressionClass") != NULL &&
				 (size_t)(18 + (p[12] << 8 | p[13])) > 20;

		scan_buf(&S0, p, n, path, CDC_NO_LIMIT);
		step = S0.n / 12 + 1;
		for (k = 0; k < S0.n; k += step) {
			if (!compressed) {
				size_t at = (size_t)S0.off[k], mid = (size_t)(S0.off[k] + S0.end[k]) / 2, j;

				p[at + 2] ^= 0x10; /* size */
				assert_int_equal(scan_buf(&S1, p, n, path, CDC_NO_LIMIT), 0);
				assert_true(faulted(&S1));
				for (j = 0; j < k; j++)
					assert_true(S1.end[j] == S0.end[j]);
				p[at + 2] ^= 0x10;

				p[mid] ^= 0x01; /* body */
				assert_int_equal(scan_buf(&S1, p, n, path, CDC_NO_LIMIT), 0);
				assert_int_equal(S1.errors, 1);
				assert_int_equal((int)S1.n, (int)S0.n - 1);
				assert_non_null(strstr(S1.lasterr, "CRC"));
				for (j = 0; j < S1.n; j++)
					assert_true(S1.end[j] == S0.end[j < k ? j : j + 1]);
				p[mid] ^= 0x01;
			}
		}
		if (compressed) {
			for (k = 0; k < S0.nsec && k < 16; k++) {
				size_t m = (size_t)S0.section_file[k] + 12 + 5;
				size_t j;

				if (m >= n)
					continue;
				p[m] ^= 0x44;
				assert_int_equal(scan_buf(&S1, p, n, path, CDC_NO_LIMIT), 0);
				/* reported, or harmless (e.g. a zstd window-size bit): same entries */
				if (!faulted(&S1) && !(S1.n == S0.n && is_prefix(&S1, &S0)))
					fail_msg("%s: payload byte %zu flipped: entries changed with no fault", path, m);
				for (j = 0; j < S1.n; j++) /* survivors are real entries */
					assert_true(S1.end[j] == S0.end[j] || S1.end[j] > S0.end[0]);
				p[m] ^= 0x44;
			}
		}
		free(p);
	}
}

/* Truncation at every section boundary is a clean end with the earlier
 * sections' entries; truncation inside a section is reported as a torn tail
 * and keeps only the complete sections before it. */
static void test_fixture_truncation(void **state)
{
	size_t f, k, n, j;

	(void)state;
	for (f = 0; f < fixtures.gl_pathc; f++) {
		const char *path = fixtures.gl_pathv[f];
		uint8_t *p = read_file(path, &n);

		scan_buf(&S0, p, n, path, CDC_NO_LIMIT);
		for (k = 0; k < S0.nsec; k++) {
			size_t cut = (size_t)S0.section_file[k];
			size_t before = 0;

			assert_int_equal(scan_buf(&S1, p, cut, path, CDC_NO_LIMIT), 0);
			assert_false(S1.fatal || S1.errors);
			assert_int_equal(S1.reason, CDC_END_EOF);
			assert_true(is_prefix(&S1, &S0));
			before = S1.n;
			{
				/* mid-section: halfway to the section's end */
				size_t next = (size_t)S0.section_end[k];
				size_t mid = cut + (next - cut) / 2;

				if (mid <= cut + 8)
					continue;
				assert_int_equal(scan_buf(&S1, p, mid, path, CDC_NO_LIMIT), 0);
				assert_false(S1.fatal);
				assert_int_equal((int)S1.n, (int)before);
				assert_int_equal(S1.reason, CDC_END_TRUNCATED);
				for (j = 0; j < S1.n; j++)
					assert_true(S1.end[j] == S0.end[j]);
			}
		}
		/* mid-entry cuts of the last entries */
		for (k = S0.n > 3 ? S0.n - 3 : 0; k < S0.n; k++) {
			size_t mid = (size_t)(S0.off[k] + S0.end[k]) / 2;

			if (mid >= n)
				continue;
			assert_int_equal(scan_buf(&S1, p, mid, path, CDC_NO_LIMIT), 0);
			assert_false(S1.fatal);
			assert_true(S1.n <= k);
			assert_true(is_prefix(&S1, &S0));
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
		cmocka_unit_test(test_fixture_index),
	};
	int rc = cmocka_run_group_tests_name("segment_synthetic", synthetic, NULL, NULL);

	rc += cmocka_run_group_tests_name("segment_fixtures", real, setup_fixtures, teardown_fixtures);
	return rc ? 1 : 0;
}
