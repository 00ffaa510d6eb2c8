/* jsonv.c - the event-line JSON reader (include/jsonv.h): recursive descent
 * over the text, nodes appended to one array, strings and number texts
 * copied into one arena sized from the text (decoding never makes a string
 * longer than its escaped form). */
#include "jsonv.h"
#include "err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TEXT (64u << 20)

typedef struct pstate {
	cdc_jv_doc *d;
	const char *t;
	size_t n, i;
	char *errstr;
	size_t errlen;
} pstate;

static int value(pstate *p, int depth, uint32_t *out);

static int bad(pstate *p, const char *what)
{
	return cdc_error(p->errstr, p->errlen, "JSON byte %zu: %s", p->i, what);
}

static void ws(pstate *p)
{
	while (p->i < p->n && (p->t[p->i] == ' ' || p->t[p->i] == '\t' || p->t[p->i] == '\n' || p->t[p->i] == '\r'))
		p->i++;
}

/* A new node of kind k: its index, or 0 (and errstr) when out of memory.
 * Index 0 is only ever the root, which nothing links to. */
static int node(pstate *p, cdc_jv_kind k, uint32_t *idx)
{
	cdc_jv_doc *d = p->d;

	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 64;
		cdc_jv *v = realloc(d->v, cap * sizeof(*v));

		if (!v || cap > UINT32_MAX)
			return cdc_error(p->errstr, p->errlen, "out of memory");
		d->v = v;
		d->cap = cap;
	}
	memset(&d->v[d->n], 0, sizeof(d->v[0]));
	d->v[d->n].kind = k;
	*idx = (uint32_t)d->n++;
	return 0;
}

/* Appends code point cp as UTF-8 to the arena. */
static void put_utf8(cdc_jv_doc *d, uint32_t cp)
{
	char *o = d->arena + d->alen;

	if (cp < 0x80) {
		o[0] = (char)cp;
		d->alen += 1;
	} else if (cp < 0x800) {
		o[0] = (char)(0xC0 | cp >> 6);
		o[1] = (char)(0x80 | (cp & 0x3F));
		d->alen += 2;
	} else if (cp < 0x10000) {
		o[0] = (char)(0xE0 | cp >> 12);
		o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (char)(0x80 | (cp & 0x3F));
		d->alen += 3;
	} else {
		o[0] = (char)(0xF0 | cp >> 18);
		o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
		o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
		o[3] = (char)(0x80 | (cp & 0x3F));
		d->alen += 4;
	}
}

/* Four hex digits at t[i..i+4). */
static int hex4(pstate *p, uint32_t *cp)
{
	uint32_t v = 0;
	int k;

	if (p->n - p->i < 4)
		return bad(p, "truncated \\u escape");
	for (k = 0; k < 4; k++) {
		char c = p->t[p->i + (size_t)k];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return bad(p, "bad hex digit in \\u escape");
	}
	p->i += 4;
	*cp = v;
	return 0;
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	uint32_t cp;
	size_t k, i;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xC2 && s[0] <= 0xDF)
		k = 2, cp = s[0] & 0x1F;
	else if (s[0] >= 0xE0 && s[0] <= 0xEF)
		k = 3, cp = s[0] & 0x0F;
	else if (s[0] >= 0xF0 && s[0] <= 0xF4)
		k = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n < k)
		return 0;
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if ((k == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
		return 0;
	return k;
}

/* A string at t[i] (the opening quote): decoded into the arena. */
static int string(pstate *p, const char **s, size_t *len)
{
	cdc_jv_doc *d = p->d;
	size_t start = d->alen;

	p->i++; /* the quote */
	for (;;) {
		unsigned char c;

		if (p->i >= p->n)
			return bad(p, "unterminated string");
		c = (unsigned char)p->t[p->i];
		if (c == '"') {
			p->i++;
			break;
		}
		if (c < 0x20)
			return bad(p, "control character in a string");
		if (c == '\\') {
			uint32_t cp, lo;

			if (++p->i >= p->n)
				return bad(p, "unterminated escape");
			c = (unsigned char)p->t[p->i++];
			switch (c) {
			case '"': case '\\': case '/': d->arena[d->alen++] = (char)c; break;
			case 'b': d->arena[d->alen++] = '\b'; break;
			case 'f': d->arena[d->alen++] = '\f'; break;
			case 'n': d->arena[d->alen++] = '\n'; break;
			case 'r': d->arena[d->alen++] = '\r'; break;
			case 't': d->arena[d->alen++] = '\t'; break;
			case 'u':
				if (hex4(p, &cp) != 0)
					return -1;
				if (cp >= 0xDC00 && cp <= 0xDFFF)
					return bad(p, "lone low surrogate");
				if (cp >= 0xD800 && cp <= 0xDBFF) {
					if (p->n - p->i < 6 || p->t[p->i] != '\\' || p->t[p->i + 1] != 'u')
						return bad(p, "high surrogate without its low half");
					p->i += 2;
					if (hex4(p, &lo) != 0)
						return -1;
					if (lo < 0xDC00 || lo > 0xDFFF)
						return bad(p, "high surrogate without its low half");
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
				}
				put_utf8(d, cp);
				break;
			default:
				return bad(p, "unknown escape");
			}
			continue;
		}
		{
			size_t k = utf8_len((const unsigned char *)p->t + p->i, p->n - p->i);

			if (!k)
				return bad(p, "invalid UTF-8 in a string");
			memcpy(d->arena + d->alen, p->t + p->i, k);
			d->alen += k;
			p->i += k;
		}
	}
	*s = d->arena + start;
	*len = d->alen - start;
	d->arena[d->alen++] = '\0';
	return 0;
}

/* A number: its text, checked against JSON's grammar. */
static int number(pstate *p, uint32_t idx)
{
	cdc_jv_doc *d = p->d;
	size_t s = p->i;
	const char *t = p->t;

#define DIGIT(k) ((k) < p->n && t[k] >= '0' && t[k] <= '9')
	if (p->i < p->n && t[p->i] == '-')
		p->i++;
	if (!DIGIT(p->i))
		return bad(p, "bad number");
	if (t[p->i] == '0')
		p->i++;
	else
		while (DIGIT(p->i))
			p->i++;
	if (p->i < p->n && t[p->i] == '.') {
		p->i++;
		if (!DIGIT(p->i))
			return bad(p, "bad number: no digit after the point");
		while (DIGIT(p->i))
			p->i++;
	}
	if (p->i < p->n && (t[p->i] == 'e' || t[p->i] == 'E')) {
		p->i++;
		if (p->i < p->n && (t[p->i] == '+' || t[p->i] == '-'))
			p->i++;
		if (!DIGIT(p->i))
			return bad(p, "bad number: no exponent digits");
		while (DIGIT(p->i))
			p->i++;
	}
#undef DIGIT
	memcpy(d->arena + d->alen, t + s, p->i - s);
	d->v[idx].s = d->arena + d->alen;
	d->v[idx].len = p->i - s;
	d->alen += p->i - s;
	d->arena[d->alen++] = '\0';
	return 0;
}

/* An array or object at t[i]; members linked in order. */
static int container(pstate *p, int depth, uint32_t idx, int obj)
{
	uint32_t last = 0;
	char close = obj ? '}' : ']';

	p->i++;
	ws(p);
	if (p->i < p->n && p->t[p->i] == close) {
		p->i++;
		return 0;
	}
	for (;;) {
		const char *k = NULL;
		size_t klen = 0;
		uint32_t c;

		ws(p);
		if (obj) {
			if (p->i >= p->n || p->t[p->i] != '"')
				return bad(p, "expected a member name");
			if (string(p, &k, &klen) != 0)
				return -1;
			ws(p);
			if (p->i >= p->n || p->t[p->i] != ':')
				return bad(p, "expected ':'");
			p->i++;
		}
		if (value(p, depth + 1, &c) != 0)
			return -1;
		p->d->v[c].key = k;
		p->d->v[c].keylen = klen;
		if (last)
			p->d->v[last].next = c;
		else
			p->d->v[idx].first = c;
		last = c;
		p->d->v[idx].n++;
		ws(p);
		if (p->i < p->n && p->t[p->i] == ',') {
			p->i++;
			continue;
		}
		if (p->i < p->n && p->t[p->i] == close) {
			p->i++;
			return 0;
		}
		return bad(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int literal(pstate *p, const char *word, cdc_jv_kind k, uint32_t *out)
{
	size_t n = strlen(word);

	if (p->n - p->i < n || memcmp(p->t + p->i, word, n) != 0)
		return bad(p, "unexpected character");
	p->i += n;
	return node(p, k, out);
}

static int value(pstate *p, int depth, uint32_t *out)
{
	uint32_t idx;

	if (depth > CDC_JV_MAX_DEPTH)
		return bad(p, "nested too deeply");
	ws(p);
	if (p->i >= p->n)
		return bad(p, "expected a value");
	switch (p->t[p->i]) {
	case '{':
	case '[':
		if (node(p, p->t[p->i] == '{' ? CDC_JV_OBJECT : CDC_JV_ARRAY, &idx) != 0)
			return -1;
		*out = idx;
		return container(p, depth, idx, p->t[p->i] == '{');
	case '"': {
		const char *s;
		size_t len;

		if (node(p, CDC_JV_STRING, &idx) != 0 || string(p, &s, &len) != 0)
			return -1;
		p->d->v[idx].s = s;
		p->d->v[idx].len = len;
		*out = idx;
		return 0;
	}
	case 't': return literal(p, "true", CDC_JV_TRUE, out);
	case 'f': return literal(p, "false", CDC_JV_FALSE, out);
	case 'n': return literal(p, "null", CDC_JV_NULL, out);
	default:
		if (node(p, CDC_JV_NUMBER, &idx) != 0)
			return -1;
		*out = idx;
		return number(p, idx);
	}
}

int cdc_jv_parse(cdc_jv_doc *d, const char *text, size_t len, char *errstr, size_t errlen)
{
	pstate p = { d, text, len, 0, errstr, errlen };
	uint32_t root;

	d->n = 0;
	d->alen = 0;
	if (len > MAX_TEXT)
		return cdc_error(errstr, errlen, "JSON text of %zu bytes is over the %u byte limit", len, MAX_TEXT);
	if (d->acap < len + 2) {
		char *a = realloc(d->arena, len + 2);

		if (!a)
			return cdc_error(errstr, errlen, "out of memory");
		d->arena = a;
		d->acap = len + 2;
	}
	if (value(&p, 0, &root) != 0) {
		d->n = 0;
		return -1;
	}
	ws(&p);
	if (p.i != len) {
		d->n = 0;
		return bad(&p, "text after the value");
	}
	return 0;
}

void cdc_jv_free(cdc_jv_doc *d)
{
	free(d->v);
	free(d->arena);
	memset(d, 0, sizeof(*d));
}

const cdc_jv *cdc_jv_root(const cdc_jv_doc *d)
{
	return d->n ? &d->v[0] : NULL;
}

const cdc_jv *cdc_jv_child(const cdc_jv_doc *d, const cdc_jv *v)
{
	if (!v || (v->kind != CDC_JV_ARRAY && v->kind != CDC_JV_OBJECT) || !v->first)
		return NULL;
	return &d->v[v->first];
}

const cdc_jv *cdc_jv_next(const cdc_jv_doc *d, const cdc_jv *c)
{
	return c && c->next ? &d->v[c->next] : NULL;
}

const cdc_jv *cdc_jv_get(const cdc_jv_doc *d, const cdc_jv *v, const char *key)
{
	size_t n = strlen(key);
	const cdc_jv *c;

	if (!v || v->kind != CDC_JV_OBJECT)
		return NULL;
	for (c = cdc_jv_child(d, v); c; c = cdc_jv_next(d, c))
		if (c->keylen == n && memcmp(c->key, key, n) == 0)
			return c;
	return NULL;
}

int cdc_jv_int(const cdc_jv *v, int64_t *out)
{
	char *end;
	long long x;

	if (!v || v->kind != CDC_JV_NUMBER || strpbrk(v->s, ".eE"))
		return -1;
	errno = 0;
	x = strtoll(v->s, &end, 10);
	if (errno || *end)
		return -1;
	*out = x;
	return 0;
}

int cdc_jv_is(const cdc_jv *v, const char *s)
{
	size_t n = strlen(s);

	return v && v->kind == CDC_JV_STRING && v->len == n && memcmp(v->s, s, n) == 0;
}
