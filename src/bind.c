/* bind.c - JSON event values back to serialized CQL values (include/bind.h),
 * the inverse of value.c's CDC_RENDER_JSON. */
#include "bind.h"
#include "err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *type_name(const cdc_type *t)
{
	static const char *names[] = { "ascii", "bigint", "blob", "boolean", "counter", "date", "decimal",
				       "double", "duration", "float", "inet", "int", "smallint", "text", "time",
				       "timestamp", "timeuuid", "tinyint", "uuid", "varint", "list", "set", "map",
				       "tuple", "udt", "vector", "empty", "custom" };
	size_t k = (size_t)t->kind;

	return k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

static int fail(const cdc_type *t, const char *what, char *errstr, size_t errlen)
{
	return cdc_error(errstr, errlen, "%s value: %s", type_name(t), what);
}

void cdc_bind_i64(cdc_buf *out, int64_t v)
{
	uint8_t b[8];
	int i;

	for (i = 0; i < 8; i++)
		b[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
	cdc_buf_put(out, b, 8);
}

void cdc_bind_i32(cdc_buf *out, int32_t v)
{
	uint8_t b[4] = { (uint8_t)((uint32_t)v >> 24), (uint8_t)((uint32_t)v >> 16), (uint8_t)((uint32_t)v >> 8),
			 (uint8_t)v };

	cdc_buf_put(out, b, 4);
}

size_t cdc_bind_coll_begin(cdc_buf *out)
{
	size_t at = out->len;

	cdc_bind_i32(out, 0);
	return at;
}

void cdc_bind_coll_end(cdc_buf *out, size_t at, uint32_t n)
{
	if (out->oom)
		return;
	out->p[at] = (char)(n >> 24);
	out->p[at + 1] = (char)(n >> 16);
	out->p[at + 2] = (char)(n >> 8);
	out->p[at + 3] = (char)n;
}

size_t cdc_bind_elem_begin(cdc_buf *out)
{
	return cdc_bind_coll_begin(out);
}

void cdc_bind_elem_end(cdc_buf *out, size_t at)
{
	if (!out->oom)
		cdc_bind_coll_end(out, at, (uint32_t)(out->len - at - 4));
}

/* Cassandra's unsigned vint (include/vint.h describes the form). */
static void put_uvint(cdc_buf *out, uint64_t v)
{
	uint8_t b[9];
	int e, i;

	for (e = 0; e < 8; e++)
		if (v < (1ull << (7 + 7 * e)))
			break;
	if (e == 8) {
		b[0] = 0xff;
		for (i = 0; i < 8; i++)
			b[1 + i] = (uint8_t)(v >> (56 - 8 * i));
		cdc_buf_put(out, b, 9);
		return;
	}
	b[0] = (uint8_t)((0xff00u >> e) & 0xff) | (uint8_t)(v >> (8 * e));
	for (i = 0; i < e; i++)
		b[1 + i] = (uint8_t)(v >> (8 * (e - 1 - i)));
	cdc_buf_put(out, b, (size_t)e + 1);
}

static uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

int64_t cdc_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Exactly w decimal digits at *s, advancing it. */
static int digits(const char **s, const char *end, int w, int64_t *out)
{
	int64_t v = 0;
	int i;

	for (i = 0; i < w; i++) {
		if (*s >= end || **s < '0' || **s > '9')
			return -1;
		v = v * 10 + (**s - '0');
		(*s)++;
	}
	*out = v;
	return 0;
}

/* "[-]YYYY-MM-DD" at the start of s: days since the epoch; *s advanced. */
static int parse_date(const char **s, const char *end, int64_t *days)
{
	int64_t y = 0, mo, d;
	int neg = 0, nd = 0;

	if (*s < end && **s == '-')
		neg = 1, (*s)++;
	while (*s < end && **s >= '0' && **s <= '9' && nd < 18) {
		y = y * 10 + (**s - '0');
		(*s)++;
		nd++;
	}
	if (nd < 3 || *s >= end || **s != '-')
		return -1;
	(*s)++;
	if (digits(s, end, 2, &mo) || *s >= end || **s != '-')
		return -1;
	(*s)++;
	if (digits(s, end, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31)
		return -1;
	*days = cdc_days_from_civil(neg ? -y : y, (unsigned)mo, (unsigned)d);
	return 0;
}

/* "HH:MM:SS" then '.' and fraction digits (up to 9): nanoseconds of the day. */
static int parse_clock(const char **s, const char *end, int fracmax, int64_t *ns)
{
	int64_t h, mi, sec, frac = 0, scale = 1000000000;
	int k = 0;

	if (digits(s, end, 2, &h) || *s >= end || **s != ':')
		return -1;
	(*s)++;
	if (digits(s, end, 2, &mi) || *s >= end || **s != ':')
		return -1;
	(*s)++;
	if (digits(s, end, 2, &sec) || h > 23 || mi > 59 || sec > 59)
		return -1;
	if (*s < end && **s == '.') {
		(*s)++;
		while (*s < end && **s >= '0' && **s <= '9') {
			if (++k > fracmax)
				return -1;
			frac = frac * 10 + (**s - '0');
			scale /= 10;
			(*s)++;
		}
		if (!k)
			return -1;
		frac *= scale;
	}
	*ns = ((h * 60 + mi) * 60 + sec) * 1000000000LL + frac;
	return 0;
}

/* "[-]1y2mo3d4h5m6s7ms8us9ns" (any subset, in any order; "0s"; w weeks). */
static int parse_duration(const char *s, size_t n, int64_t *months, int64_t *days, int64_t *nanos)
{
	const char *end = s + n;
	int neg = 0, any = 0;

	*months = *days = *nanos = 0;
	if (s < end && *s == '-')
		neg = 1, s++;
	while (s < end) {
		uint64_t v = 0;
		const char *u;
		size_t ul;
		int nd = 0;

		while (s < end && *s >= '0' && *s <= '9') {
			if (v > (UINT64_MAX - 9) / 10)
				return -1;
			v = v * 10 + (uint64_t)(*s++ - '0');
			nd++;
		}
		u = s;
		while (s < end && ((*s >= 'a' && *s <= 'z') || (unsigned char)*s >= 0x80))
			s++;
		ul = (size_t)(s - u);
		if (!nd || !ul || v > INT64_MAX)
			return -1;
#define UNIT(name) (ul == sizeof(name) - 1 && memcmp(u, name, ul) == 0)
		if (UNIT("y"))
			*months += (int64_t)v * 12;
		else if (UNIT("mo"))
			*months += (int64_t)v;
		else if (UNIT("w"))
			*days += (int64_t)v * 7;
		else if (UNIT("d"))
			*days += (int64_t)v;
		else if (UNIT("h"))
			*nanos += (int64_t)v * 3600000000000LL;
		else if (UNIT("m"))
			*nanos += (int64_t)v * 60000000000LL;
		else if (UNIT("s"))
			*nanos += (int64_t)v * 1000000000LL;
		else if (UNIT("ms"))
			*nanos += (int64_t)v * 1000000LL;
		else if (UNIT("us") || UNIT("\xc2\xb5s"))
			*nanos += (int64_t)v * 1000LL;
		else if (UNIT("ns"))
			*nanos += (int64_t)v;
		else
			return -1;
#undef UNIT
		any = 1;
	}
	if (!any || *months > INT32_MAX || *days > INT32_MAX)
		return -1;
	if (neg) {
		*months = -*months;
		*days = -*days;
		*nanos = -*nanos;
	}
	return 0;
}

/* Decimal digits (with the sign given apart) to minimal two's complement
 * big-endian bytes, as Java's BigInteger.toByteArray. */
static int put_bigint(cdc_buf *out, const char *dg, size_t nd, int neg)
{
	size_t cap = nd / 2 + 2, len = 1, i;
	uint8_t *mag = calloc(cap, 1); /* little-endian base 256 */
	uint8_t *be;
	int rc = 0;

	if (!mag)
		return -1;
	for (i = 0; i < nd; i++) {
		unsigned carry = (unsigned)(dg[i] - '0');
		size_t k;

		for (k = 0; k < len; k++) {
			unsigned x = mag[k] * 10u + carry;

			mag[k] = (uint8_t)x;
			carry = x >> 8;
		}
		if (carry)
			mag[len++] = (uint8_t)carry;
	}
	while (len > 1 && mag[len - 1] == 0)
		len--;
	be = malloc(len + 1);
	if (!be) {
		free(mag);
		return -1;
	}
	for (i = 0; i < len; i++)
		be[1 + i] = mag[len - 1 - i];
	if (len == 1 && mag[0] == 0) {
		cdc_buf_putc(out, 0);
	} else if (!neg) {
		be[0] = 0;
		if (be[1] & 0x80)
			cdc_buf_put(out, be, len + 1);
		else
			cdc_buf_put(out, be + 1, len);
	} else {
		unsigned carry = 1;

		for (i = len; i >= 1; i--) {
			unsigned x = (uint8_t)~be[i] + carry;

			be[i] = (uint8_t)x;
			carry = x >> 8;
		}
		be[0] = 0xff;
		if (be[1] & 0x80)
			cdc_buf_put(out, be + 1, len);
		else
			cdc_buf_put(out, be, len + 1);
	}
	free(mag);
	free(be);
	return rc;
}

/* A varint or decimal string: sign, digits, optional fraction and
 * exponent. *scale gets the decimal scale (varint: must be 0). */
static int put_number_string(cdc_buf *out, const char *s, size_t n, int decimal)
{
	char *dg = malloc(n + 1);
	size_t nd = 0, i = 0;
	int neg = 0, rc;
	int64_t frac = 0, exp = 0, scale;

	if (!dg)
		return -1;
	if (i < n && (s[i] == '-' || s[i] == '+'))
		neg = s[i++] == '-';
	for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
		dg[nd++] = s[i];
	if (decimal && i < n && s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, frac++)
			dg[nd++] = s[i];
	}
	if (decimal && i < n && (s[i] == 'E' || s[i] == 'e')) {
		int eneg = 0, ed = 0;

		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			eneg = s[i++] == '-';
		for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, ed++) {
			exp = exp * 10 + (s[i] - '0');
			if (exp > (int64_t)INT32_MAX * 2) {
				free(dg);
				return -1;
			}
		}
		if (!ed) {
			free(dg);
			return -1;
		}
		if (eneg)
			exp = -exp;
	}
	if (i != n || nd == 0 || nd > 20000) {
		free(dg);
		return -1;
	}
	scale = frac - exp;
	if (scale > INT32_MAX || scale < INT32_MIN) {
		free(dg);
		return -1;
	}
	if (decimal)
		cdc_bind_i32(out, (int32_t)scale);
	rc = put_bigint(out, dg, nd, neg);
	free(dg);
	return rc;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int put_uuid(cdc_buf *out, const char *s, size_t n)
{
	uint8_t b[16];
	size_t i, k = 0;

	if (n != 36)
		return -1;
	for (i = 0; i < 36;) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i++] != '-')
				return -1;
			continue;
		}
		hi = hexval(s[i]);
		lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		b[k++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	cdc_buf_put(out, b, 16);
	return 0;
}

/* A float or double from a JSON number or "NaN", "Infinity", "-Infinity". */
static int real(const cdc_jv *v, double *d, float *f)
{
	char *end;

	if (v->kind == CDC_JV_STRING) {
		if (cdc_jv_is(v, "NaN"))
			*d = NAN, *f = NAN;
		else if (cdc_jv_is(v, "Infinity"))
			*d = INFINITY, *f = INFINITY;
		else if (cdc_jv_is(v, "-Infinity"))
			*d = -INFINITY, *f = -INFINITY;
		else
			return -1;
		return 0;
	}
	if (v->kind != CDC_JV_NUMBER)
		return -1;
	errno = 0;
	*d = strtod(v->s, &end);
	if (*end)
		return -1;
	*f = strtof(v->s, &end);
	return *end ? -1 : 0;
}

/* An element of a collection: [int length] bytes (a JSON null there is
 * the empty value, as value.c renders one). */
static int elem(cdc_buf *out, const cdc_jv_doc *d, const cdc_jv *v, const cdc_type *t, char *errstr, size_t errlen)
{
	size_t at = cdc_bind_elem_begin(out);

	if (cdc_bind_value(out, d, v, t, errstr, errlen) != 0)
		return -1;
	cdc_bind_elem_end(out, at);
	return 0;
}

/* A tuple or UDT field: null is a null field ([int -1]). */
static int field(cdc_buf *out, const cdc_jv_doc *d, const cdc_jv *v, const cdc_type *t, char *errstr, size_t errlen)
{
	if (!v || v->kind == CDC_JV_NULL) {
		cdc_bind_i32(out, -1);
		return 0;
	}
	return elem(out, d, v, t, errstr, errlen);
}

static int collection(cdc_buf *out, const cdc_jv_doc *d, const cdc_jv *v, const cdc_type *t, char *errstr,
		      size_t errlen)
{
	const cdc_jv *c;
	size_t at;

	if (v->kind != CDC_JV_ARRAY)
		return fail(t, "not a JSON array", errstr, errlen);
	at = cdc_bind_coll_begin(out);
	for (c = cdc_jv_child(d, v); c; c = cdc_jv_next(d, c)) {
		if (t->kind == CDC_T_MAP) {
			const cdc_jv *k = cdc_jv_child(d, c), *val = cdc_jv_next(d, k);

			if (c->kind != CDC_JV_ARRAY || c->n != 2)
				return fail(t, "a map entry is not a [key, value] pair", errstr, errlen);
			if (elem(out, d, k, t->sub[0], errstr, errlen) != 0 ||
			    elem(out, d, val, t->sub[1], errstr, errlen) != 0)
				return -1;
		} else if (elem(out, d, c, t->sub[0], errstr, errlen) != 0) {
			return -1;
		}
	}
	cdc_bind_coll_end(out, at, v->n);
	return 0;
}

static int fields(cdc_buf *out, const cdc_jv_doc *d, const cdc_jv *v, const cdc_type *t, char *errstr,
		  size_t errlen)
{
	int i, last = -1;

	if (t->kind == CDC_T_TUPLE) {
		const cdc_jv *c = cdc_jv_child(d, v);

		if (v->kind != CDC_JV_ARRAY || v->n > (uint32_t)t->nsub)
			return fail(t, "not a JSON array of at most the tuple's fields", errstr, errlen);
		for (i = 0; c; i++, c = cdc_jv_next(d, c))
			if (field(out, d, c, t->sub[i], errstr, errlen) != 0)
				return -1;
		return 0;
	}
	if (v->kind != CDC_JV_OBJECT)
		return fail(t, "not a JSON object", errstr, errlen);
	for (i = 0; i < t->nsub; i++)
		if (cdc_jv_get(d, v, t->field_names[i]))
			last = i;
	{
		uint32_t found = 0;

		for (i = 0; i <= last; i++) {
			const cdc_jv *f = cdc_jv_get(d, v, t->field_names[i]);

			found += f != NULL;
			if (field(out, d, f, t->sub[i], errstr, errlen) != 0)
				return -1;
		}
		if (found != v->n)
			return fail(t, "a field the type does not have", errstr, errlen);
	}
	return 0;
}

static int vector(cdc_buf *out, const cdc_jv_doc *d, const cdc_jv *v, const cdc_type *t, char *errstr,
		  size_t errlen)
{
	const cdc_jv *c;

	if (v->kind != CDC_JV_ARRAY || v->n != (uint32_t)t->vector_dim)
		return fail(t, "not a JSON array of the vector's dimension", errstr, errlen);
	for (c = cdc_jv_child(d, v); c; c = cdc_jv_next(d, c)) {
		cdc_buf tmp = CDC_BUF_INIT;

		if (cdc_bind_value(&tmp, d, c, t->sub[0], errstr, errlen) != 0) {
			cdc_buf_free(&tmp);
			return -1;
		}
		if (t->sub[0]->fixed_len < 0)
			put_uvint(out, tmp.len);
		else if (tmp.len != (size_t)t->sub[0]->fixed_len) {
			cdc_buf_free(&tmp);
			return fail(t, "an element of the wrong size", errstr, errlen);
		}
		cdc_buf_put(out, tmp.p, tmp.len);
		cdc_buf_free(&tmp);
	}
	return 0;
}

/* Strings: the scalar types written as JSON strings. */
static int from_string(cdc_buf *out, const cdc_jv *v, const cdc_type *t, char *errstr, size_t errlen)
{
	const char *s = v->s, *end = v->s + v->len;
	int64_t days, ns;
	size_t i;

	switch (t->kind) {
	case CDC_T_ASCII:
		for (i = 0; i < v->len; i++)
			if ((unsigned char)s[i] >= 0x80)
				return fail(t, "a non-ASCII byte", errstr, errlen);
		/* fall through */
	case CDC_T_TEXT:
		cdc_buf_put(out, s, v->len);
		return 0;
	case CDC_T_BLOB:
	case CDC_T_CUSTOM:
	case CDC_T_EMPTY:
		if (v->len < 2 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X') || v->len % 2)
			return fail(t, "not 0x followed by hex digit pairs", errstr, errlen);
		for (i = 2; i < v->len; i += 2) {
			int hi = hexval(s[i]), lo = hexval(s[i + 1]);

			if (hi < 0 || lo < 0)
				return fail(t, "not 0x followed by hex digit pairs", errstr, errlen);
			cdc_buf_putc(out, (char)(hi << 4 | lo));
		}
		return 0;
	case CDC_T_UUID:
	case CDC_T_TIMEUUID:
		return put_uuid(out, s, v->len) ? fail(t, "not a canonical UUID", errstr, errlen) : 0;
	case CDC_T_INET: {
		char a[64];
		uint8_t b[16];

		if (v->len >= sizeof(a))
			return fail(t, "not an address", errstr, errlen);
		memcpy(a, s, v->len);
		a[v->len] = '\0';
		if (inet_pton(AF_INET, a, b) == 1) {
			cdc_buf_put(out, b, 4);
			return 0;
		}
		if (inet_pton(AF_INET6, a, b) == 1) {
			cdc_buf_put(out, b, 16);
			return 0;
		}
		return fail(t, "not an IPv4 or IPv6 address", errstr, errlen);
	}
	case CDC_T_DATE:
		if (parse_date(&s, end, &days) || s != end || days + (1LL << 31) < 0 || days + (1LL << 31) > UINT32_MAX)
			return fail(t, "not YYYY-MM-DD", errstr, errlen);
		cdc_bind_i32(out, (int32_t)(uint32_t)(days + (1LL << 31)));
		return 0;
	case CDC_T_TIME:
		if (parse_clock(&s, end, 9, &ns) || s != end)
			return fail(t, "not HH:MM:SS.nnnnnnnnn", errstr, errlen);
		cdc_bind_i64(out, ns);
		return 0;
	case CDC_T_TIMESTAMP:
		if (parse_date(&s, end, &days) || s >= end || *s++ != 'T' || parse_clock(&s, end, 3, &ns) ||
		    s + 1 != end || *s != 'Z' || days > 106751991167LL || days < -106751991167LL)
			return fail(t, "not YYYY-MM-DDTHH:MM:SS.mmmZ", errstr, errlen);
		cdc_bind_i64(out, days * 86400000 + ns / 1000000);
		return 0;
	case CDC_T_DURATION: {
		int64_t mo, dd, nn;

		if (parse_duration(s, v->len, &mo, &dd, &nn) != 0)
			return fail(t, "not a duration (1y2mo3d4h5m6s7ms8us9ns)", errstr, errlen);
		put_uvint(out, zigzag(mo));
		put_uvint(out, zigzag(dd));
		put_uvint(out, zigzag(nn));
		return 0;
	}
	case CDC_T_VARINT:
	case CDC_T_DECIMAL:
		if (put_number_string(out, s, v->len, t->kind == CDC_T_DECIMAL) != 0)
			return fail(t, "not a decimal number string", errstr, errlen);
		return 0;
	default:
		return fail(t, "a JSON string", errstr, errlen);
	}
}

int cdc_bind_value(cdc_buf *out, const cdc_jv_doc *d, const cdc_jv *v, const cdc_type *t, char *errstr,
		   size_t errlen)
{
	int64_t x;
	double dv;
	float fv;

	if (!v)
		return fail(t, "missing", errstr, errlen);
	if (v->kind == CDC_JV_NULL)
		return 0; /* the empty value */
	switch (t->kind) {
	case CDC_T_BOOLEAN:
		if (v->kind != CDC_JV_TRUE && v->kind != CDC_JV_FALSE)
			return fail(t, "not true or false", errstr, errlen);
		cdc_buf_putc(out, v->kind == CDC_JV_TRUE ? 1 : 0);
		return 0;
	case CDC_T_TINYINT:
	case CDC_T_SMALLINT:
	case CDC_T_INT:
	case CDC_T_BIGINT:
	case CDC_T_COUNTER: {
		int64_t lim = t->kind == CDC_T_TINYINT ? 127 : t->kind == CDC_T_SMALLINT ? 32767
			      : t->kind == CDC_T_INT ? 2147483647 : INT64_MAX;

		if (cdc_jv_int(v, &x) != 0 || x > lim || x < -lim - 1)
			return fail(t, "not an integer in range", errstr, errlen);
		if (t->kind == CDC_T_TINYINT)
			cdc_buf_putc(out, (char)(int8_t)x);
		else if (t->kind == CDC_T_SMALLINT) {
			cdc_buf_putc(out, (char)(uint8_t)((uint16_t)x >> 8));
			cdc_buf_putc(out, (char)(uint8_t)x);
		} else if (t->kind == CDC_T_INT)
			cdc_bind_i32(out, (int32_t)x);
		else
			cdc_bind_i64(out, x);
		return 0;
	}
	case CDC_T_FLOAT:
	case CDC_T_DOUBLE:
		if (real(v, &dv, &fv) != 0)
			return fail(t, "not a number, NaN or [-]Infinity", errstr, errlen);
		if (t->kind == CDC_T_FLOAT) {
			uint32_t u;

			memcpy(&u, &fv, 4);
			cdc_bind_i32(out, (int32_t)u);
		} else {
			uint64_t u;

			memcpy(&u, &dv, 8);
			cdc_bind_i64(out, (int64_t)u);
		}
		return 0;
	case CDC_T_LIST:
	case CDC_T_SET:
	case CDC_T_MAP:
		return collection(out, d, v, t, errstr, errlen);
	case CDC_T_TUPLE:
	case CDC_T_UDT:
		return fields(out, d, v, t, errstr, errlen);
	case CDC_T_VECTOR:
		return vector(out, d, v, t, errstr, errlen);
	default:
		if (v->kind != CDC_JV_STRING)
			return fail(t, "not a JSON string", errstr, errlen);
		return from_string(out, v, t, errstr, errlen);
	}
}
