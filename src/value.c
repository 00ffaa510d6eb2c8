/* value.c - exact rendering of serialized values as JSON and CQL literals. */
#include "value.h"
#include "err.h"
#include "mutation.h"
#include "vint.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef struct vctx {
	cdc_buf *out;
	cdc_render how;       /* JSON or CQL */
	int esc;              /* CQL text escaped for a JSON string */
	char *errstr;
	size_t errlen;
	const uint8_t *base;  /* start of the outermost value, for offsets */
	int stale;            /* a UDT value with more fields than its type */
} vctx;

static int render(vctx *c, const cdc_type *t, const uint8_t *v, size_t n);

static int fail(vctx *c, const cdc_type *t, const uint8_t *at, const char *what)
{
	static const char *names[] = { "ascii", "bigint", "blob", "boolean", "counter", "date", "decimal",
				       "double", "duration", "float", "inet", "int", "smallint", "text", "time",
				       "timestamp", "timeuuid", "tinyint", "uuid", "varint", "list", "set", "map",
				       "tuple", "udt", "vector", "empty", "custom" };

	size_t k = (size_t)t->kind;

	return cdc_error(c->errstr, c->errlen, "%s value, byte %td: %s",
			 k < sizeof(names) / sizeof(names[0]) ? names[k] : "?", at - c->base, what);
}

static uint64_t be(const uint8_t *p, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_i64(cdc_buf *b, int64_t v)
{
	cdc_buf_i64(b, v);
}

/* Appends v (0 <= v < 10^w) in exactly w digits, zero-padded. */
static void put_digits(cdc_buf *b, unsigned v, int w)
{
	char t[10];
	int i;

	if (cdc_buf_reserve(b, (size_t)w) != 0)
		return;
	for (i = w - 1; i >= 0; i--) {
		t[i] = (char)('0' + v % 10);
		v /= 10;
	}
	memcpy(b->p + b->len, t, (size_t)w);
	b->len += (size_t)w;
}

/* A year as printf's %04 would write it: at least four digits, a sign for
 * years before 0. */
static void put_year(cdc_buf *b, int64_t y)
{
	if (y >= 0 && y <= 9999) {
		put_digits(b, (unsigned)y, 4);
		return;
	}
	if (y < 0 && y > -1000) { /* "-001": the sign counts in the width */
		cdc_buf_putc(b, '-');
		put_digits(b, (unsigned)-y, 3);
		return;
	}
	cdc_buf_i64(b, y);
}

/* Shortest decimal text that reads back to the same float/double. The
 * search costs a few snprintf/strtod calls, and one value is rendered
 * several times per event (JSON, CQL, WHERE), so results are kept in a small
 * direct-mapped cache keyed by the exact bits (per thread). */
#define REAL_CACHE 256 /* the hash below gives 8 bits */
static _Thread_local struct real_entry {
	uint64_t bits;
	uint8_t used, is_float, len, integral; /* integral: CQL needs ".0" */
	char text[32];
} real_cache[REAL_CACHE];

static void put_real(vctx *c, double d, int is_float)
{
	char tmp[40];
	int p;
	uint64_t bits;
	struct real_entry *e;

	if (isnan(d)) {
		if (c->how == CDC_RENDER_JSON)
			cdc_buf_put(c->out, "\"NaN\"", 5);
		else
			cdc_buf_put(c->out, "NaN", 3);
		return;
	}
	if (isinf(d)) {
		cdc_buf_puts(c->out, c->how == CDC_RENDER_JSON ? (d > 0 ? "\"Infinity\"" : "\"-Infinity\"")
							     : (d > 0 ? "Infinity" : "-Infinity"));
		return;
	}
	memcpy(&bits, &d, sizeof(bits));
	/* a multiplicative hash: its top bits depend on every bit, where round
	 * values (7.5, 8.25) differ only in their high mantissa bits */
	e = &real_cache[((bits ^ (uint64_t)is_float) * 0x9E3779B97F4A7C15ull) >> 56];
	if (!e->used || e->bits != bits || e->is_float != is_float) {
		/* Start at the precision that almost always reads back (6 digits for
		 * a float, 15 for a double; %g drops trailing zeros, so 7.4f prints
		 * "7.4") and add digits until it does: exact, and short in practice. */
		for (p = is_float ? 6 : 15; p <= 17; p++) {
			snprintf(tmp, sizeof(tmp), "%.*g", p, d);
			if (is_float ? strtof(tmp, NULL) == (float)d : strtod(tmp, NULL) == d)
				break;
		}
		e->used = 1;
		e->bits = bits;
		e->is_float = (uint8_t)is_float;
		e->len = (uint8_t)strlen(tmp);
		/* CQL reads "1e+10" fine, and JSON too; integral values get ".0" in
		 * CQL so that they read as a float or double literal */
		e->integral = !strpbrk(tmp, ".eEn");
		memcpy(e->text, tmp, (size_t)e->len + 1);
		memcpy(e->text + e->len, ".0", 3);
	}
	cdc_buf_put(c->out, e->text, (size_t)e->len + (c->how == CDC_RENDER_CQL && e->integral ? 2 : 0));
}

/* Two's complement big-endian integer of any length, in decimal, times
 * 10^-scale (a decimal's unscaled value and scale). Up to 8 bytes go
 * through 64-bit arithmetic; longer ones by repeated division. */
static int put_varint(vctx *c, const uint8_t *v, size_t n, int32_t scale)
{
	uint8_t mag[4096];
	char digits[10000];
	size_t nd = 0, i, len = n;
	int neg = n && (v[0] & 0x80);

	if (n > sizeof(mag))
		return -1;
	if (n <= 8) {
		uint64_t u = 0, m;

		for (i = 0; i < n; i++)
			u = u << 8 | v[i];
		if (neg && n < 8)
			u |= ~0ull << (8 * n); /* sign extension */
		m = neg ? (uint64_t)0 - u : u;
		nd = cdc_fmt_u64(digits, m);
	} else {
		for (i = 0; i < n; i++)
			mag[i] = neg ? (uint8_t)~v[i] : v[i];
		if (neg) { /* magnitude = ~v + 1 */
			for (i = n; i-- > 0;)
				if (++mag[i] != 0)
					break;
		}
		/* repeated division by 10: digits come least significant first */
		for (;;) {
			unsigned rem = 0;
			int nonzero = 0;

			for (i = 0; i < len; i++) {
				unsigned cur = rem << 8 | mag[i];

				mag[i] = (uint8_t)(cur / 10);
				rem = cur % 10;
				nonzero |= mag[i];
			}
			if (nd >= sizeof(digits) - 1)
				return -1;
			digits[nd++] = (char)('0' + rem);
			if (!nonzero)
				break;
		}
		for (i = 0; i < nd / 2; i++) {
			char t = digits[i];

			digits[i] = digits[nd - 1 - i];
			digits[nd - 1 - i] = t;
		}
	}
	if (neg)
		cdc_buf_putc(c->out, '-');
	if (scale <= 0 || (size_t)scale > nd + 24) {
		/* unscaled * 10^-scale, exact as an exponent when plain digits would
		 * be long (BigDecimal's scale spans 32 bits) */
		cdc_buf_put(c->out, digits, nd);
		if (scale != 0) {
			cdc_buf_putc(c->out, 'E');
			if (scale < 0)
				cdc_buf_putc(c->out, '+');
			cdc_buf_i64(c->out, -(int64_t)scale);
		}
		return 0;
	}
	if ((size_t)scale >= nd) {
		cdc_buf_lit(c->out, "0.");
		for (i = (size_t)scale; i > nd; i--)
			cdc_buf_putc(c->out, '0');
		cdc_buf_put(c->out, digits, nd);
		return 0;
	}
	cdc_buf_put(c->out, digits, nd - (size_t)scale);
	cdc_buf_putc(c->out, '.');
	cdc_buf_put(c->out, digits + nd - (size_t)scale, (size_t)scale);
	return 0;
}

static void put_uuid(vctx *c, const uint8_t *v)
{
	char u[37];

	cdc_uuid_format(v, u);
	if (c->how == CDC_RENDER_JSON) {
		cdc_buf_putc(c->out, '"');
		cdc_buf_put(c->out, u, 36);
		cdc_buf_putc(c->out, '"');
	} else {
		cdc_buf_put(c->out, u, 36);
	}
}

/* Civil date from days since 1970-01-01 (proleptic Gregorian). */
static void civil(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	yoe = z - era * 146097;
	yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
	doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static void quote_open(vctx *c)
{
	cdc_buf_putc(c->out, c->how == CDC_RENDER_JSON ? '"' : '\'');
}

static void put_text(vctx *c, const uint8_t *v, size_t n)
{
	const uint8_t *q, *end = v + n;

	if (c->how == CDC_RENDER_JSON) {
		cdc_buf_json_str(c->out, (const char *)v, n);
		return;
	}
	cdc_buf_putc(c->out, '\'');
	if (c->esc) {
		cdc_buf_json_cql_text(c->out, (const char *)v, n);
		cdc_buf_putc(c->out, '\'');
		return;
	}
	while (v < end && (q = memchr(v, '\'', (size_t)(end - v))) != NULL) {
		cdc_buf_put(c->out, v, (size_t)(q - v) + 1);
		cdc_buf_putc(c->out, '\'');
		v = q + 1;
	}
	cdc_buf_put(c->out, v, (size_t)(end - v));
	cdc_buf_putc(c->out, '\'');
}

/* A UDT field name as a CQL identifier, escaped when the CQL goes into JSON. */
static void put_ident(vctx *c, const char *name)
{
	cdc_buf id = CDC_BUF_INIT;

	if (!c->esc) {
		cdc_cql_ident(c->out, name);
		return;
	}
	cdc_cql_ident(&id, name);
	if (id.oom)
		c->out->oom = 1;
	else
		cdc_buf_json_body(c->out, id.p ? id.p : "", id.len);
	cdc_buf_free(&id);
}

static int32_t zigzag32(uint64_t u)
{
	return (int32_t)((int64_t)(u >> 1) ^ -(int64_t)(u & 1));
}

/* Elements of a frozen collection / tuple / UDT: int32 length (-1 null). */
static int element(vctx *c, const cdc_type *t, const cdc_type *et, const uint8_t *v, size_t n,
		   size_t *off, int allow_null)
{
	int32_t len;

	if (n - *off < 4)
		return fail(c, t, v + *off, "truncated element length");
	len = (int32_t)be(v + *off, 4);
	*off += 4;
	if (len < 0) {
		if (!allow_null)
			return fail(c, t, v + *off, "null element in a collection");
		cdc_buf_lit(c->out, "null");
		return 0;
	}
	if ((size_t)len > n - *off)
		return fail(c, t, v + *off, "element runs past the value");
	if (render(c, et, v + *off, (size_t)len) != 0)
		return -1;
	*off += (size_t)len;
	return 0;
}

static int render_collection(vctx *c, const cdc_type *t, const uint8_t *v, size_t n)
{
	size_t off = 4;
	int32_t count, i;
	int json = c->how == CDC_RENDER_JSON;

	if (n < 4)
		return fail(c, t, v, "truncated element count");
	count = (int32_t)be(v, 4);
	if (count < 0 || (size_t)count > n)
		return fail(c, t, v, "impossible element count");
	cdc_buf_putc(c->out, t->kind == CDC_T_LIST || json ? '[' : '{');
	for (i = 0; i < count; i++) {
		if (i)
			cdc_buf_puts(c->out, json ? "," : ", ");
		if (t->kind == CDC_T_MAP) {
			if (json)
				cdc_buf_putc(c->out, '[');
			if (element(c, t, t->sub[0], v, n, &off, 0) != 0)
				return -1;
			cdc_buf_puts(c->out, json ? "," : ": ");
			if (element(c, t, t->sub[1], v, n, &off, 0) != 0)
				return -1;
			if (json)
				cdc_buf_putc(c->out, ']');
		} else if (element(c, t, t->sub[0], v, n, &off, 0) != 0) {
			return -1;
		}
	}
	if (off != n)
		return fail(c, t, v + off, "bytes left after the last element");
	cdc_buf_putc(c->out, t->kind == CDC_T_LIST || json ? ']' : '}');
	return 0;
}

static int render_fields(vctx *c, const cdc_type *t, const uint8_t *v, size_t n)
{
	size_t off = 0;
	int i, json = c->how == CDC_RENDER_JSON, udt = t->kind == CDC_T_UDT;

	cdc_buf_putc(c->out, udt ? '{' : json ? '[' : '(');
	for (i = 0; i < t->nsub && off < n; i++) {
		if (i)
			cdc_buf_puts(c->out, json ? "," : ", ");
		if (udt) {
			if (json) {
				cdc_buf_json_str(c->out, t->field_names[i], strlen(t->field_names[i]));
				cdc_buf_putc(c->out, ':');
			} else {
				put_ident(c, t->field_names[i]);
				cdc_buf_lit(c->out, ": ");
			}
		}
		if (element(c, t, t->sub[i], v, n, &off, 1) != 0)
			return -1;
	}
	if (off != n && udt && i == t->nsub) {
		/* fields added by ALTER TYPE after the schema was read */
		char what[200];

		snprintf(what, sizeof(what), "more fields than type %s.%s has (%d): a newer schema has them",
			 t->udt_keyspace ? t->udt_keyspace : "?", t->name ? t->name : "?", t->nsub);
		c->stale = 1;
		return fail(c, t, v + off, what);
	}
	if (off != n)
		return fail(c, t, v + off, "bytes left after the last field");
	cdc_buf_putc(c->out, udt ? '}' : json ? ']' : ')');
	return 0;
}

static int render_vector(vctx *c, const cdc_type *t, const uint8_t *v, size_t n)
{
	const cdc_type *et = t->sub[0];
	size_t off = 0;
	int i;

	cdc_buf_putc(c->out, '[');
	for (i = 0; i < t->vector_dim; i++) {
		uint64_t len;
		size_t k;

		if (i)
			cdc_buf_puts(c->out, c->how == CDC_RENDER_JSON ? "," : ", ");
		if (et->fixed_len >= 0) {
			len = (uint64_t)et->fixed_len;
		} else {
			k = cdc_uvint(v + off, n - off, &len);
			if (!k)
				return fail(c, t, v + off, "truncated element length");
			off += k;
		}
		if (len > n - off)
			return fail(c, t, v + off, "element runs past the value");
		if (render(c, et, v + off, (size_t)len) != 0)
			return -1;
		off += (size_t)len;
	}
	if (off != n)
		return fail(c, t, v + off, "bytes left after the last element");
	cdc_buf_putc(c->out, ']');
	return 0;
}

static int render_duration(vctx *c, const cdc_type *t, const uint8_t *v, size_t n)
{
	uint64_t u[3];
	int64_t months, days, nanos;
	size_t off = 0, k;
	int i, neg;
	static const struct { const char *unit; int64_t ns; } parts[] = {
		{ "h", 3600000000000LL }, { "m", 60000000000LL }, { "s", 1000000000LL },
		{ "ms", 1000000LL }, { "us", 1000LL }, { "ns", 1LL },
	};

	for (i = 0; i < 3; i++) {
		k = cdc_uvint(v + off, n - off, &u[i]);
		if (!k)
			return fail(c, t, v + off, "truncated duration field");
		off += k;
	}
	if (off != n)
		return fail(c, t, v + off, "bytes left after the duration");
	months = zigzag32(u[0]);
	days = zigzag32(u[1]);
	nanos = (int64_t)(u[2] >> 1) ^ -(int64_t)(u[2] & 1);
	neg = months < 0 || days < 0 || nanos < 0;
	if (c->how == CDC_RENDER_JSON)
		cdc_buf_putc(c->out, '"');
	if (neg) {
		cdc_buf_putc(c->out, '-');
		months = -months;
		days = -days;
		nanos = -nanos;
	}
	if (months / 12) {
		cdc_buf_i64(c->out, months / 12);
		cdc_buf_putc(c->out, 'y');
	}
	if (months % 12) {
		cdc_buf_i64(c->out, months % 12);
		cdc_buf_lit(c->out, "mo");
	}
	if (days) {
		cdc_buf_i64(c->out, days);
		cdc_buf_putc(c->out, 'd');
	}
	for (i = 0; i < 6; i++) {
		if (nanos / parts[i].ns) {
			cdc_buf_i64(c->out, nanos / parts[i].ns);
			cdc_buf_puts(c->out, parts[i].unit);
			nanos %= parts[i].ns;
		}
	}
	if (!months && !days && !u[2])
		cdc_buf_lit(c->out, "0s");
	if (c->how == CDC_RENDER_JSON)
		cdc_buf_putc(c->out, '"');
	return 0;
}

static int fixed(vctx *c, const cdc_type *t, const uint8_t *v, size_t n, size_t want)
{
	if (n != want) {
		char what[64];

		snprintf(what, sizeof(what), "%zu bytes, expected %zu", n, want);
		return fail(c, t, v, what);
	}
	return 0;
}

static int render(vctx *c, const cdc_type *t, const uint8_t *v, size_t n)
{
	int json = c->how == CDC_RENDER_JSON;

	if (n == 0 && t->kind != CDC_T_TEXT && t->kind != CDC_T_ASCII && t->kind != CDC_T_BLOB &&
	    t->kind != CDC_T_CUSTOM && t->kind != CDC_T_EMPTY) {
		cdc_buf_lit(c->out, "null");
		return 0;
	}
	switch (t->kind) {
	case CDC_T_ASCII:
	case CDC_T_TEXT:
		put_text(c, v, n);
		return 0;
	case CDC_T_BLOB:
	case CDC_T_CUSTOM:
	case CDC_T_EMPTY:
		if (json)
			cdc_buf_lit(c->out, "\"0x");
		else
			cdc_buf_lit(c->out, "0x");
		cdc_buf_hex(c->out, v, n);
		if (json)
			cdc_buf_putc(c->out, '"');
		return 0;
	case CDC_T_BOOLEAN:
		if (fixed(c, t, v, n, 1))
			return -1;
		cdc_buf_puts(c->out, v[0] ? "true" : "false");
		return 0;
	case CDC_T_TINYINT:
		if (fixed(c, t, v, n, 1))
			return -1;
		put_i64(c->out, (int8_t)v[0]);
		return 0;
	case CDC_T_SMALLINT:
		if (fixed(c, t, v, n, 2))
			return -1;
		put_i64(c->out, (int16_t)be(v, 2));
		return 0;
	case CDC_T_INT:
		if (fixed(c, t, v, n, 4))
			return -1;
		put_i64(c->out, (int32_t)be(v, 4));
		return 0;
	case CDC_T_BIGINT:
		if (fixed(c, t, v, n, 8))
			return -1;
		put_i64(c->out, (int64_t)be(v, 8));
		return 0;
	case CDC_T_COUNTER: {
		/* a counter cell holds a counter context (CounterContext): a short
		 * header length h, h shorts, then shards of counter id (16), clock
		 * (8) and count (8); the value is the sum of the shards' counts */
		size_t h, off;
		uint64_t sum = 0; /* wraps, as Java's long does */

		if (n == 8) {
			put_i64(c->out, (int64_t)be(v, 8));
			return 0;
		}
		if (n < 2)
			return fail(c, t, v, "truncated counter context");
		h = (size_t)(uint16_t)(int16_t)be(v, 2);
		h = (int16_t)be(v, 2) < 0 ? (size_t)-(int16_t)be(v, 2) : h;
		off = 2 + 2 * h;
		if (off > n || (n - off) % 32)
			return fail(c, t, v, "counter context length is not header + 32-byte shards");
		for (; off < n; off += 32)
			sum += be(v + off + 24, 8);
		put_i64(c->out, (int64_t)sum);
		return 0;
	}
	case CDC_T_TIMESTAMP: {
		int64_t ms, days, sod, y;
		unsigned mo, d;

		if (fixed(c, t, v, n, 8))
			return -1;
		ms = (int64_t)be(v, 8);
		if (!json) {
			put_i64(c->out, ms);
			return 0;
		}
		days = ms / 86400000;
		sod = ms % 86400000;
		if (sod < 0) { /* floor, without overflow near INT64_MIN */
			days--;
			sod += 86400000;
		}
		civil(days, &y, &mo, &d);
		cdc_buf_putc(c->out, '"');
		put_year(c->out, y);
		cdc_buf_putc(c->out, '-');
		put_digits(c->out, mo, 2);
		cdc_buf_putc(c->out, '-');
		put_digits(c->out, d, 2);
		cdc_buf_putc(c->out, 'T');
		put_digits(c->out, (unsigned)(sod / 3600000), 2);
		cdc_buf_putc(c->out, ':');
		put_digits(c->out, (unsigned)(sod / 60000 % 60), 2);
		cdc_buf_putc(c->out, ':');
		put_digits(c->out, (unsigned)(sod / 1000 % 60), 2);
		cdc_buf_putc(c->out, '.');
		put_digits(c->out, (unsigned)(sod % 1000), 3);
		cdc_buf_lit(c->out, "Z\"");
		return 0;
	}
	case CDC_T_DATE: {
		int64_t y;
		unsigned mo, d;

		if (fixed(c, t, v, n, 4))
			return -1;
		civil((int64_t)be(v, 4) - (1LL << 31), &y, &mo, &d);
		quote_open(c);
		put_year(c->out, y);
		cdc_buf_putc(c->out, '-');
		put_digits(c->out, mo, 2);
		cdc_buf_putc(c->out, '-');
		put_digits(c->out, d, 2);
		quote_open(c);
		return 0;
	}
	case CDC_T_TIME: {
		int64_t ns;

		if (fixed(c, t, v, n, 8))
			return -1;
		ns = (int64_t)be(v, 8);
		if (ns < 0 || ns >= 86400000000000LL)
			return fail(c, t, v, "time of day out of range");
		quote_open(c);
		put_digits(c->out, (unsigned)(ns / 3600000000000LL), 2);
		cdc_buf_putc(c->out, ':');
		put_digits(c->out, (unsigned)(ns / 60000000000LL % 60), 2);
		cdc_buf_putc(c->out, ':');
		put_digits(c->out, (unsigned)(ns / 1000000000LL % 60), 2);
		cdc_buf_putc(c->out, '.');
		put_digits(c->out, (unsigned)(ns % 1000000000LL), 9);
		quote_open(c);
		return 0;
	}
	case CDC_T_FLOAT: {
		uint32_t u;
		float f;

		if (fixed(c, t, v, n, 4))
			return -1;
		u = (uint32_t)be(v, 4);
		memcpy(&f, &u, 4);
		put_real(c, f, 1);
		return 0;
	}
	case CDC_T_DOUBLE: {
		uint64_t u;
		double d;

		if (fixed(c, t, v, n, 8))
			return -1;
		u = be(v, 8);
		memcpy(&d, &u, 8);
		put_real(c, d, 0);
		return 0;
	}
	case CDC_T_UUID:
	case CDC_T_TIMEUUID:
		if (fixed(c, t, v, n, 16))
			return -1;
		put_uuid(c, v);
		return 0;
	case CDC_T_INET: {
		char a[INET6_ADDRSTRLEN];

		if (n != 4 && n != 16)
			return fail(c, t, v, "an address is 4 or 16 bytes");
		quote_open(c);
		if (n == 4) { /* dotted quad; IPv6's zero compression is inet_ntop's */
			cdc_buf_i64(c->out, v[0]);
			for (n = 1; n < 4; n++) {
				cdc_buf_putc(c->out, '.');
				cdc_buf_i64(c->out, v[n]);
			}
		} else {
			inet_ntop(AF_INET6, v, a, sizeof(a));
			cdc_buf_puts(c->out, a);
		}
		quote_open(c);
		return 0;
	}
	case CDC_T_VARINT:
		if (json)
			cdc_buf_putc(c->out, '"');
		if (put_varint(c, v, n, 0) != 0)
			return fail(c, t, v, "varint too long");
		if (json)
			cdc_buf_putc(c->out, '"');
		return 0;
	case CDC_T_DECIMAL:
		if (n < 5)
			return fail(c, t, v, "a decimal needs a 4-byte scale and digits");
		if (json)
			cdc_buf_putc(c->out, '"');
		if (put_varint(c, v + 4, n - 4, (int32_t)be(v, 4)) != 0)
			return fail(c, t, v, "decimal too long");
		if (json)
			cdc_buf_putc(c->out, '"');
		return 0;
	case CDC_T_DURATION:
		return render_duration(c, t, v, n);
	case CDC_T_LIST:
	case CDC_T_SET:
	case CDC_T_MAP:
		return render_collection(c, t, v, n);
	case CDC_T_TUPLE:
	case CDC_T_UDT:
		return render_fields(c, t, v, n);
	case CDC_T_VECTOR:
		return render_vector(c, t, v, n);
	default:
		break;
	}
	return fail(c, t, v, "unknown type");
}

static uint32_t be32(const uint8_t *v)
{
	uint32_t w;

	memcpy(&w, v, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	w = __builtin_bswap32(w);
#endif
	return w;
}

static uint64_t be64(const uint8_t *v)
{
	uint64_t w;

	memcpy(&w, v, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

int cdc_value_render(cdc_buf *out, cdc_render how, const cdc_type *t, const uint8_t *v, size_t n,
		     char *errstr, size_t errlen)
{
	vctx c = { out, how == CDC_RENDER_JSON ? CDC_RENDER_JSON : CDC_RENDER_CQL, how == CDC_RENDER_CQL_JSON,
		   errstr, errlen, v, 0 };
	size_t mark = out->len;

	/* the most common well-formed scalars straight away; everything else,
	 * and every malformed value, through render() */
	switch (t->kind) {
	case CDC_T_INT:
		if (n == 4) {
			cdc_buf_i64(out, (int32_t)be32(v));
			return 0;
		}
		break;
	case CDC_T_BIGINT:
		if (n == 8) {
			cdc_buf_i64(out, (int64_t)be64(v));
			return 0;
		}
		break;
	case CDC_T_TEXT:
	case CDC_T_ASCII:
		put_text(&c, v, n);
		return 0;
	case CDC_T_FLOAT:
		if (n == 4) {
			uint32_t u = be32(v);
			float f;

			memcpy(&f, &u, 4);
			put_real(&c, f, 1);
			return 0;
		}
		break;
	case CDC_T_DOUBLE:
		if (n == 8) {
			uint64_t u = be64(v);
			double d;

			memcpy(&d, &u, 8);
			put_real(&c, d, 0);
			return 0;
		}
		break;
	default:
		break;
	}

	if (render(&c, t, v, n) != 0) {
		out->len = mark;
		return c.stale ? CDC_VALUE_STALE_SCHEMA : -1;
	}
	return 0;
}
