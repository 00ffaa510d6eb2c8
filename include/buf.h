/* buf.h - a growable byte buffer for the hot path (JSON and CQL text are
 * written straight into it; no per-event trees).
 *
 * An allocation failure sets `oom` and turns further writes into no-ops, so
 * a writer checks once at the end instead of after every append. */
#ifndef CDCTAIL_BUF_H
#define CDCTAIL_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct cdc_buf {
	char *p;
	size_t len, cap;
	int oom;
} cdc_buf;

#define CDC_BUF_INIT { NULL, 0, 0, 0 }

/* Frees the memory; the buffer is empty and reusable afterwards. */
void cdc_buf_free(cdc_buf *b);

/* Grows the buffer for n more bytes (the slow path of cdc_buf_reserve). */
int cdc_buf_grow(cdc_buf *b, size_t n);

/* Makes room for n more bytes; 0, or -1 (and oom set). */
static inline int cdc_buf_reserve(cdc_buf *b, size_t n)
{
	if (!b->oom && b->cap - b->len > n)
		return 0;
	return cdc_buf_grow(b, n);
}

/* memcpy, with the short copies of the hot path (names, numbers, short
 * strings) done inline as two overlapping moves; reads and writes only
 * src[0..n) and dst[0..n). */
static inline void cdc_copy(void *dst, const void *src, size_t n)
{
	unsigned char *d = (unsigned char *)dst;
	const unsigned char *s = (const unsigned char *)src;

	if (n >= 8 && n <= 16) {
		uint64_t a, z;

		memcpy(&a, s, 8);
		memcpy(&z, s + n - 8, 8);
		memcpy(d, &a, 8);
		memcpy(d + n - 8, &z, 8);
	} else if (n >= 4 && n < 8) {
		uint32_t a, z;

		memcpy(&a, s, 4);
		memcpy(&z, s + n - 4, 4);
		memcpy(d, &a, 4);
		memcpy(d + n - 4, &z, 4);
	} else if (n > 0 && n < 4) {
		d[0] = s[0];
		d[n / 2] = s[n / 2];
		d[n - 1] = s[n - 1];
	} else if (n > 16) {
		memcpy(d, s, n);
	}
}

/* Appends n bytes (inline: most appends are a few bytes of a literal). */
static inline void cdc_buf_put(cdc_buf *b, const void *p, size_t n)
{
	if (cdc_buf_reserve(b, n) != 0)
		return;
	if (__builtin_constant_p(n))
		memcpy(b->p + b->len, p, n);
	else
		cdc_copy(b->p + b->len, p, n);
	b->len += n;
}

void cdc_buf_puts(cdc_buf *b, const char *s);
void cdc_buf_printf(cdc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends n bytes of UTF-8 as a quoted JSON string: ", \ and control
 * characters escaped; invalid UTF-8 bytes become U+FFFD. */
void cdc_buf_json_str(cdc_buf *b, const char *s, size_t n);

/* The same escaping without the surrounding quotes: text going inside a
 * JSON string that is being written piece by piece. */
void cdc_buf_json_body(cdc_buf *b, const char *s, size_t n);

/* The body of a CQL string literal ('' for each ') escaped for a JSON
 * string, in one pass: CQL text written straight into a JSON string. */
void cdc_buf_json_cql_text(cdc_buf *b, const char *s, size_t n);

/* Appends bytes as lowercase hex, without prefix. */
void cdc_buf_hex(cdc_buf *b, const uint8_t *p, size_t n);

/* Writes v in decimal to out (no NUL); returns the length (at most 20 /
 * 21 with the sign). */
size_t cdc_fmt_u64(char out[20], uint64_t v);
size_t cdc_fmt_i64(char out[21], int64_t v);

/* Appends a signed / unsigned decimal integer (no printf). */
void cdc_buf_i64(cdc_buf *b, int64_t v);
void cdc_buf_u64(cdc_buf *b, uint64_t v);

/* Appends the NUL-terminated contents as a C string view; returns b->p or
 * "" when empty/oom. The NUL is not counted in len. */
const char *cdc_buf_cstr(cdc_buf *b);

/* Appends a string literal (its length known at compile time). */
#define cdc_buf_lit(b, lit) cdc_buf_put((b), (lit), sizeof(lit) - 1)

static inline void cdc_buf_putc(cdc_buf *b, char c)
{
	if (b->len < b->cap)
		b->p[b->len++] = c;
	else
		cdc_buf_put(b, &c, 1);
}

static inline void cdc_buf_reset(cdc_buf *b)
{
	b->len = 0;
}

#endif
