/* buf.c - growable byte buffer. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

void cdc_buf_free(cdc_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

int cdc_buf_grow(cdc_buf *b, size_t n)
{
	size_t want;
	char *np;

	if (b->oom)
		return -1;
	if (b->cap - b->len > n)
		return 0;
	want = b->cap ? b->cap : 256;
	while (want - b->len <= n) {
		if (want > SIZE_MAX / 2) {
			b->oom = 1;
			return -1;
		}
		want *= 2;
	}
	np = realloc(b->p, want);
	if (!np) {
		b->oom = 1;
		return -1;
	}
	b->p = np;
	b->cap = want;
	return 0;
}

void cdc_buf_puts(cdc_buf *b, const char *s)
{
	cdc_buf_put(b, s, strlen(s));
}

void cdc_buf_printf(cdc_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (cdc_buf_reserve(b, 64) != 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= b->cap - b->len) {
		if (cdc_buf_reserve(b, (size_t)n + 1) != 0)
			return;
		va_start(ap, fmt);
		vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t need, i;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) { need = 2; cp = s[0] & 0x1f; }
	else if (s[0] >= 0xe0 && s[0] <= 0xef) { need = 3; cp = s[0] & 0x0f; }
	else if (s[0] >= 0xf0 && s[0] <= 0xf4) { need = 4; cp = s[0] & 0x07; }
	else return 0;
	if (n < need)
		return 0;
	for (i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((need == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (need == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return need;
}

/* 1 for bytes a JSON string cannot hold as they are (quote, backslash,
 * controls) and for the start of a multi-byte UTF-8 sequence (checked). */
static const uint8_t json_special[256] = {
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
	1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

/* Whether 8 bytes hold anything json_special marks: a control character,
 * '"', '\\' or a byte >= 0x80 (the per-byte test finds which). Each term
 * is the classic "has a byte below n" word test, exact as a yes/no. */
static inline int block_special(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t q = w ^ (ones * '"'), bs = w ^ (ones * '\\');

	return (((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((bs - ones) & ~bs) | w) & high ? 1 : 0;
}

/* Whether one of the 8 bytes of w is c (the same word test). */
static inline int has_byte(uint64_t w, unsigned char c)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t x = w ^ (ones * c);

	return ((x - ones) & ~x & high) ? 1 : 0;
}

/* The index of the first byte from i on that json_special marks (and, with
 * squote, the first '), looking 16 bytes at a time; stops at the last whole
 * block (n - i < 16 left). The signed compare with 0x20 catches controls and
 * bytes >= 0x80 at once. */
static inline size_t plain_run(const unsigned char *s, size_t i, size_t n, int squote)
{
#ifdef __SSE2__
	const __m128i q = _mm_set1_epi8('"'), bs = _mm_set1_epi8('\\'), sp = _mm_set1_epi8(0x20);
	const __m128i sq = _mm_set1_epi8(squote ? '\'' : '"');

	while (i + 16 <= n) {
		__m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
		__m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, bs)),
					   _mm_or_si128(_mm_cmplt_epi8(v, sp), _mm_cmpeq_epi8(v, sq)));
		int mask = _mm_movemask_epi8(hit);

		if (mask)
			return i + (size_t)__builtin_ctz((unsigned)mask);
		i += 16;
	}
#else
	(void)s;
	(void)n;
	(void)squote;
#endif
	return i;
}

static inline uint64_t load8(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, 8);
	return w;
}

static inline uint64_t load4(const unsigned char *p)
{
	uint32_t w;

	memcpy(&w, p, 4);
	return w;
}

/* Whether s[0..n) holds any byte that needs escaping (json_special, or '
 * with squote), read in whole words that overlap at the end instead of
 * byte by byte: the common short string costs a few instructions, and
 * nothing is read outside s[0..n). */
static inline __attribute__((always_inline)) int any_special(const unsigned char *s, size_t n, int squote)
{
	uint64_t w1, w2;

	if (n >= 16) {
		size_t i = plain_run(s, 0, n, squote);

		if (i < n - n % 16)
			return 1;
		w1 = load8(s + n - 16);
		w2 = load8(s + n - 8);
	} else if (n >= 8) {
		w1 = load8(s);
		w2 = load8(s + n - 8);
	} else if (n >= 4) {
		w1 = w2 = load4(s) | load4(s + n - 4) << 32;
	} else if (n > 0) { /* the missing bytes as 'a', which needs nothing */
		w1 = w2 = 0x6161616161000000ull | (uint64_t)s[0] | (uint64_t)s[n / 2] << 8 | (uint64_t)s[n - 1] << 16;
	} else {
		return 0;
	}
	if (block_special(w1) || block_special(w2))
		return 1;
	return squote && (has_byte(w1, '\'') || has_byte(w2, '\''));
}

/* The JSON string body of s[0..n): the escaping of cdc_buf_json_str without
 * the quotes; with squote every ' is doubled first (a CQL string literal's
 * body). Inline with a constant squote, so each caller gets its own loop. */
static inline __attribute__((always_inline)) void json_body(cdc_buf *b, const unsigned char *s, size_t n,
								int squote)
{
	static const char hex[] = "0123456789abcdef";
	size_t i = 0, run, k;

	if (cdc_buf_reserve(b, n + 2) != 0)
		return;
	if (!any_special(s, n, squote)) {
		cdc_copy(b->p + b->len, s, n);
		b->len += n;
		return;
	}
	while (i < n) {
		unsigned char c;

		run = i;
		i = plain_run(s, i, n, squote);
		while (i + 8 <= n) {
			uint64_t w;

			memcpy(&w, s + i, 8);
			if (block_special(w) || (squote && has_byte(w, '\'')))
				break;
			i += 8;
		}
		while (i < n && !json_special[s[i]] && !(squote && s[i] == '\''))
			i++;
		if (i > run) {
			if (cdc_buf_reserve(b, i - run + 1) != 0)
				return;
			memcpy(b->p + b->len, s + run, i - run);
			b->len += i - run;
		}
		if (i >= n)
			break;
		c = s[i];
		if (c >= 0x80) {
			k = utf8_len(s + i, n - i);
			if (k) {
				cdc_buf_put(b, s + i, k);
				i += k;
			} else {
				cdc_buf_put(b, "\xef\xbf\xbd", 3);
				i++;
			}
			continue;
		}
		switch (c) {
		case '\'': cdc_buf_put(b, "''", 2); break;
		case '"': cdc_buf_put(b, "\\\"", 2); break;
		case '\\': cdc_buf_put(b, "\\\\", 2); break;
		case '\n': cdc_buf_put(b, "\\n", 2); break;
		case '\r': cdc_buf_put(b, "\\r", 2); break;
		case '\t': cdc_buf_put(b, "\\t", 2); break;
		case '\b': cdc_buf_put(b, "\\b", 2); break;
		case '\f': cdc_buf_put(b, "\\f", 2); break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			cdc_buf_put(b, u, 6);
		}
		}
		i++;
	}
}

void cdc_buf_json_str(cdc_buf *b, const char *str, size_t n)
{
	cdc_buf_putc(b, '"');
	json_body(b, (const unsigned char *)str, n, 0);
	cdc_buf_putc(b, '"');
}

void cdc_buf_json_body(cdc_buf *b, const char *str, size_t n)
{
	json_body(b, (const unsigned char *)str, n, 0);
}

void cdc_buf_json_cql_text(cdc_buf *b, const char *str, size_t n)
{
	json_body(b, (const unsigned char *)str, n, 1);
}

void cdc_buf_hex(cdc_buf *b, const uint8_t *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	if (cdc_buf_reserve(b, n * 2) != 0)
		return;
	for (i = 0; i < n; i++) {
		b->p[b->len++] = hex[p[i] >> 4];
		b->p[b->len++] = hex[p[i] & 15];
	}
}

const char *cdc_buf_cstr(cdc_buf *b)
{
	if (cdc_buf_reserve(b, 1) != 0)
		return "";
	b->p[b->len] = '\0';
	return b->p;
}

static const char digit_pairs[201] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/* Decimal digits of u (1..20), from its bit length: floor(log10(2^bits))
 * by 1233/4096, corrected by one comparison. */
static inline size_t ndigits(uint64_t u)
{
	static const uint64_t pow10[20] = {
		1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull, 100000000ull,
		1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull, 10000000000000ull,
		100000000000000ull, 1000000000000000ull, 10000000000000000ull, 100000000000000000ull,
		1000000000000000000ull, 10000000000000000000ull,
	};
	unsigned t = ((unsigned)(64 - __builtin_clzll(u | 1)) * 1233) >> 12;

	return t + 1 - (u < pow10[t]);
}

static inline size_t fmt_u64(char *out, uint64_t u)
{
	size_t len;
	char *p;

	if (u < 10) {
		out[0] = (char)('0' + u);
		return 1;
	}
	if (u < 100) {
		memcpy(out, digit_pairs + 2 * u, 2);
		return 2;
	}
	len = ndigits(u);
	p = out + len;
	while (u >= 100) {
		unsigned d = (unsigned)(u % 100);

		u /= 100;
		p -= 2;
		memcpy(p, digit_pairs + 2 * d, 2);
	}
	if (u >= 10)
		memcpy(p - 2, digit_pairs + 2 * u, 2);
	else
		p[-1] = (char)('0' + u);
	return len;
}

size_t cdc_fmt_u64(char out[20], uint64_t u)
{
	return fmt_u64(out, u);
}

size_t cdc_fmt_i64(char out[21], int64_t v)
{
	if (v < 0) {
		out[0] = '-';
		return 1 + fmt_u64(out + 1, (uint64_t)0 - (uint64_t)v);
	}
	return fmt_u64(out, (uint64_t)v);
}

void cdc_buf_u64(cdc_buf *b, uint64_t u)
{
	if (cdc_buf_reserve(b, 20) == 0)
		b->len += fmt_u64(b->p + b->len, u);
}

void cdc_buf_i64(cdc_buf *b, int64_t v)
{
	if (cdc_buf_reserve(b, 21) != 0)
		return;
	if (v < 0) {
		b->p[b->len++] = '-';
		b->len += fmt_u64(b->p + b->len, (uint64_t)0 - (uint64_t)v);
	} else {
		b->len += fmt_u64(b->p + b->len, (uint64_t)v);
	}
}
