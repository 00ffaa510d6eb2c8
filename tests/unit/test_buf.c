/* test_buf.c - the hot-path text writers: JSON string escaping (checked
 * against expectations built token by token, with every token at every
 * alignment of the 8-byte scan) and decimal integers (against printf). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* A piece of input and what it must become inside the JSON quotes. */
typedef struct token {
	const char *in, *out;
} token;

static const token tokens[] = {
	{ "a", "a" },
	{ "hello world ", "hello world " },
	{ "~", "~" },
	{ "\x7f", "\x7f" },
	{ "'", "'" },
	{ "\"", "\\\"" },
	{ "\\", "\\\\" },
	{ "\n", "\\n" },
	{ "\r", "\\r" },
	{ "\t", "\\t" },
	{ "\b", "\\b" },
	{ "\f", "\\f" },
	{ "\x01", "\\u0001" },
	{ "\x1f", "\\u001f" },
	{ "\xc3\xa9", "\xc3\xa9" },                 /* é */
	{ "\xe2\x82\xac", "\xe2\x82\xac" },         /* € */
	{ "\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80" }, /* U+1F600 */
	{ "\xff", "\xef\xbf\xbd" },                 /* never valid UTF-8 */
	{ "\x80", "\xef\xbf\xbd" },                 /* a lone continuation byte */
};

#define NTOK (sizeof(tokens) / sizeof(tokens[0]))

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned next(unsigned n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)(rng % n);
}

static void check(const char *in, size_t n, const char *want, size_t wantlen)
{
	cdc_buf b = CDC_BUF_INIT;

	cdc_buf_json_str(&b, in, n);
	assert_false(b.oom);
	if (b.len != wantlen + 2 || b.p[0] != '"' || b.p[b.len - 1] != '"' || memcmp(b.p + 1, want, wantlen) != 0)
		fail_msg("escaping %zu bytes gave %.*s, wanted \"%.*s\"", n, (int)b.len, b.p, (int)wantlen, want);
	cdc_buf_free(&b);
}

/* Every token after every count of plain bytes (0..17: all positions of
 * the word scan, and across two words), and random token strings. */
static void test_json_str(void **state)
{
	char in[512], want[1024];
	size_t i, pad, k, n, m;

	(void)state;
	check("", 0, "", 0);
	for (i = 0; i < NTOK; i++)
		for (pad = 0; pad < 40; pad++) { /* past two 16-byte blocks */
			memset(in, 'x', pad);
			memset(want, 'x', pad);
			n = pad + strlen(tokens[i].in);
			m = pad + strlen(tokens[i].out);
			memcpy(in + pad, tokens[i].in, strlen(tokens[i].in));
			memcpy(want + pad, tokens[i].out, strlen(tokens[i].out));
			/* followed by plain bytes too */
			memset(in + n, 'y', 20);
			memset(want + m, 'y', 20);
			check(in, n, want, m);
			for (k = 1; k <= 20; k++) /* every short length around it */
				check(in, n + k, want, m + k);
		}
	for (k = 0; k < 20000; k++) {
		size_t ntok = next(24);

		n = m = 0;
		for (i = 0; i < ntok; i++) {
			const token *t = &tokens[next(NTOK)];

			memcpy(in + n, t->in, strlen(t->in));
			n += strlen(t->in);
			memcpy(want + m, t->out, strlen(t->out));
			m += strlen(t->out);
		}
		check(in, n, want, m);
	}
	/* a NUL inside is data, escaped */
	check("a\0b", 3, "a\\u0000b", 8);
}

/* The CQL text body in JSON: ' doubled, the JSON escapes of
 * cdc_buf_json_str, no quotes around; checked with a ' at every position
 * of strings of every length up to 40, with and without other escapes. */
static void test_json_cql_text(void **state)
{
	char in[64], want[160];
	size_t n, at, i, m;
	cdc_buf b = CDC_BUF_INIT;

	(void)state;
	cdc_buf_json_cql_text(&b, "", 0);
	assert_int_equal(b.len, 0);
	for (n = 1; n <= 40; n++)
		for (at = 0; at < n; at++) {
			int esc;

			for (esc = 0; esc < 2; esc++) {
				memset(in, 'q', n);
				in[at] = '\'';
				if (esc)
					in[n - 1 - at] = in[n - 1 - at] == '\'' ? '\'' : '"';
				for (i = m = 0; i < n; i++) {
					if (in[i] == '\'')
						want[m++] = '\'';
					else if (in[i] == '"')
						want[m++] = '\\';
					want[m++] = in[i];
				}
				cdc_buf_reset(&b);
				cdc_buf_json_cql_text(&b, in, n);
				if (b.len != m || memcmp(b.p, want, m) != 0)
					fail_msg("cql text of %zu bytes (' at %zu) gave %.*s, wanted %.*s", n, at, (int)b.len,
						 b.p, (int)m, want);
			}
		}
	cdc_buf_reset(&b);
	cdc_buf_json_body(&b, "it's \"x\"", 8);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.p, "it's \\\"x\\\"", 10);
	cdc_buf_free(&b);
}

static void test_integers(void **state)
{
	static const int64_t v[] = { 0, 1, -1, 9, 10, 99, 100, 101, 1732500000001000LL, -1732500000001000LL,
				     INT64_MAX, INT64_MIN, 999999999999999999LL };
	char want[32];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		cdc_buf b = CDC_BUF_INIT;

		cdc_buf_i64(&b, v[i]);
		snprintf(want, sizeof(want), "%" PRId64, v[i]);
		assert_string_equal(cdc_buf_cstr(&b), want);
		b.len = 0;
		cdc_buf_u64(&b, (uint64_t)v[i]);
		snprintf(want, sizeof(want), "%" PRIu64, (uint64_t)v[i]);
		assert_string_equal(cdc_buf_cstr(&b), want);
		cdc_buf_free(&b);
	}
	/* every digit count, at its edges */
	for (i = 0; i < 20; i++) {
		uint64_t p = 1, d;
		size_t k;

		for (k = 0; k < i; k++)
			p *= 10;
		for (d = p - 1; d <= p + 1; d++) {
			cdc_buf b = CDC_BUF_INIT;

			cdc_buf_u64(&b, d);
			snprintf(want, sizeof(want), "%" PRIu64, d);
			assert_string_equal(cdc_buf_cstr(&b), want);
			cdc_buf_free(&b);
		}
	}
	/* every bit length, at its edges (the digit count comes from it) */
	for (i = 1; i < 64; i++) {
		uint64_t d, p = 1ull << i;

		for (d = p - 1; d <= p + 1; d++) {
			cdc_buf b = CDC_BUF_INIT;

			cdc_buf_u64(&b, d);
			snprintf(want, sizeof(want), "%" PRIu64, d);
			assert_string_equal(cdc_buf_cstr(&b), want);
			cdc_buf_free(&b);
		}
	}
	{
		cdc_buf b = CDC_BUF_INIT;

		cdc_buf_u64(&b, UINT64_MAX);
		assert_string_equal(cdc_buf_cstr(&b), "18446744073709551615");
		cdc_buf_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_str),
		cmocka_unit_test(test_json_cql_text),
		cmocka_unit_test(test_integers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
