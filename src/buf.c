/* buf.c - growable byte buffer. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cdc_buf_free(cdc_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

int cdc_buf_reserve(cdc_buf *b, size_t n)
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

void cdc_buf_put(cdc_buf *b, const void *p, size_t n)
{
	if (n == 0 || cdc_buf_reserve(b, n) != 0)
		return;
	memcpy(b->p + b->len, p, n);
	b->len += n;
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

void cdc_buf_json_str(cdc_buf *b, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, run = 0, k;

	if (cdc_buf_reserve(b, n + 2) != 0)
		return;
	cdc_buf_putc(b, '"');
	while (i < n) {
		unsigned char c = s[i];

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
			run = i;
			while (i < n && s[i] >= 0x20 && s[i] != '"' && s[i] != '\\' && s[i] < 0x80)
				i++;
			cdc_buf_put(b, s + run, i - run);
			continue;
		}
		if (c >= 0x80) {
			k = utf8_len(s + i, n - i);
			if (k) {
				cdc_buf_put(b, s + i, k);
				i += k;
			} else {
				cdc_buf_puts(b, "\xef\xbf\xbd");
				i++;
			}
			continue;
		}
		switch (c) {
		case '"': cdc_buf_puts(b, "\\\""); break;
		case '\\': cdc_buf_puts(b, "\\\\"); break;
		case '\n': cdc_buf_puts(b, "\\n"); break;
		case '\r': cdc_buf_puts(b, "\\r"); break;
		case '\t': cdc_buf_puts(b, "\\t"); break;
		case '\b': cdc_buf_puts(b, "\\b"); break;
		case '\f': cdc_buf_puts(b, "\\f"); break;
		default: {
			char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };
			cdc_buf_put(b, u, 6);
		}
		}
		i++;
	}
	cdc_buf_putc(b, '"');
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
