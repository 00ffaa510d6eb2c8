/* test_value.c - values rendered as JSON, as CQL and as CQL inside a JSON
 * string, at the edges of each type's range. The expected texts come from
 * the types' definitions (docs/events.md), worked out by hand or with
 * Python's datetime for calendar dates in years 1-9999; years outside it
 * follow printf's %04 (at least four digits, the sign counting). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "schema.h"
#include "value.h"

static cdc_schema *S;

static int setup(void **state)
{
	(void)state;
	S = cdc_schema_new();
	return S ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	cdc_schema_destroy(S);
	return 0;
}

static const cdc_type *type(const char *text)
{
	char err[CDC_ERRSTR_SIZE];
	const cdc_type *t = NULL;

	if (cdc_schema_parse_type(S, "ks", text, &t, err, sizeof(err)) != 0)
		fail_msg("'%s': %s", text, err);
	return t;
}

/* Hex digits to bytes; returns the length. */
static size_t unhex(const char *hex, uint8_t *out)
{
	size_t n = 0;

	while (hex[0] && hex[1]) {
		unsigned v;

		sscanf(hex, "%2x", &v);
		out[n++] = (uint8_t)v;
		hex += 2;
	}
	return n;
}

/* Renders the value (hex) of type t in mode how and compares with want. */
static void expect(const char *t, cdc_render how, const char *hex, const char *want)
{
	uint8_t v[256];
	size_t n = unhex(hex, v);
	char err[CDC_ERRSTR_SIZE];
	cdc_buf b = CDC_BUF_INIT;

	if (cdc_value_render(&b, how, type(t), v, n, err, sizeof(err)) != 0)
		fail_msg("%s %s: %s", t, hex, err);
	if (b.len != strlen(want) || memcmp(b.p, want, b.len) != 0)
		fail_msg("%s %s (mode %d): got [%.*s], want [%s]", t, hex, (int)how, (int)b.len, b.p ? b.p : "", want);
	cdc_buf_free(&b);
}

/* The same value in all three modes. */
static void expect3(const char *t, const char *hex, const char *json, const char *cql, const char *cql_json)
{
	expect(t, CDC_RENDER_JSON, hex, json);
	expect(t, CDC_RENDER_CQL, hex, cql);
	expect(t, CDC_RENDER_CQL_JSON, hex, cql_json);
}

static void test_integers(void **state)
{
	(void)state;
	expect3("int", "80000000", "-2147483648", "-2147483648", "-2147483648");
	expect3("int", "7fffffff", "2147483647", "2147483647", "2147483647");
	expect3("bigint", "8000000000000000", "-9223372036854775808", "-9223372036854775808",
		"-9223372036854775808");
	expect3("smallint", "ff85", "-123", "-123", "-123");
	expect3("tinyint", "80", "-128", "-128", "-128");
	/* varint: two's complement of any length */
	expect3("varint", "00", "\"0\"", "0", "0");
	expect3("varint", "ff", "\"-1\"", "-1", "-1");
	expect3("varint", "0080", "\"128\"", "128", "128");
	expect3("varint", "ff7f", "\"-129\"", "-129", "-129");
	expect3("varint", "8000000000000000", "\"-9223372036854775808\"", "-9223372036854775808",
		"-9223372036854775808");
	expect3("varint", "7fffffffffffffff", "\"9223372036854775807\"", "9223372036854775807",
		"9223372036854775807");
	expect3("varint", "010000000000000000", "\"18446744073709551616\"", "18446744073709551616",
		"18446744073709551616");
	expect3("varint", "ff0000000000000000", "\"-18446744073709551616\"", "-18446744073709551616",
		"-18446744073709551616");
}

/* decimal: 4-byte scale, then the unscaled varint; value = unscaled * 10^-scale. */
static void test_decimals(void **state)
{
	(void)state;
	expect3("decimal", "000000023039", "\"123.45\"", "123.45", "123.45");
	expect3("decimal", "000000050c", "\"0.00012\"", "0.00012", "0.00012");
	expect3("decimal", "00000002cfc7", "\"-123.45\"", "-123.45", "-123.45");
	expect3("decimal", "0000000000", "\"0\"", "0", "0");
	expect3("decimal", "fffffffd07", "\"7E+3\"", "7E+3", "7E+3");
	expect3("decimal", "0000000201", "\"0.01\"", "0.01", "0.01");
	/* a scale far past the digits: an exponent, not 100 zeros */
	expect3("decimal", "0000006407", "\"7E-100\"", "7E-100", "7E-100");
	/* a 9-byte unscaled value (the long path) with a scale */
	expect3("decimal", "00000004010000000000000000", "\"1844674407370955.1616\"", "1844674407370955.1616",
		"1844674407370955.1616");
}

/* timestamp: milliseconds since the epoch; JSON ISO 8601 UTC, CQL the number. */
static void test_timestamps(void **state)
{
	(void)state;
	expect3("timestamp", "0000000000000000", "\"1970-01-01T00:00:00.000Z\"", "0", "0");
	expect3("timestamp", "ffffffffffffffff", "\"1969-12-31T23:59:59.999Z\"", "-1", "-1");
	expect("timestamp", CDC_RENDER_JSON, "00000193610c0d01", "\"2024-11-25T02:00:00.001Z\"");
	expect("timestamp", CDC_RENDER_JSON, "0000e677d21fdbff", "\"9999-12-31T23:59:59.999Z\"");
	/* 253402300800000: year 10000, five digits */
	expect("timestamp", CDC_RENDER_JSON, "0000e677d21fdc00", "\"10000-01-01T00:00:00.000Z\"");
	/* -62135596800000: 0001-01-01, and one millisecond before it, year 0 */
	expect("timestamp", CDC_RENDER_JSON, "ffffc77cedd32800", "\"0001-01-01T00:00:00.000Z\"");
	expect("timestamp", CDC_RENDER_JSON, "ffffc77cedd327ff", "\"0000-12-31T23:59:59.999Z\"");
	/* -62167219200001: the last millisecond of year -1 (year 0 has 366 days) */
	expect("timestamp", CDC_RENDER_JSON, "ffffc77590fb9fff", "\"-001-12-31T23:59:59.999Z\"");
}

/* date: days since the epoch, offset by 2^31; time: nanoseconds of the day. */
static void test_dates_times(void **state)
{
	(void)state;
	expect3("date", "80000000", "\"1970-01-01\"", "'1970-01-01'", "'1970-01-01'");
	expect3("date", "7fffffff", "\"1969-12-31\"", "'1969-12-31'", "'1969-12-31'");
	expect("date", CDC_RENDER_JSON, "802cc0a0", "\"9999-12-31\"");    /* 2932896 */
	expect("date", CDC_RENDER_JSON, "802cc0a1", "\"10000-01-01\"");   /* 2932897 */
	expect("date", CDC_RENDER_JSON, "7ff506c6", "\"0001-01-01\"");    /* -719162 */
	expect("date", CDC_RENDER_JSON, "7ff506c5", "\"0000-12-31\"");    /* -719163 */
	expect("date", CDC_RENDER_JSON, "7ff50557", "\"-001-12-31\"");    /* -719529 */
	expect3("time", "0000000000000000", "\"00:00:00.000000000\"", "'00:00:00.000000000'",
		"'00:00:00.000000000'");
	expect3("time", "00004e94914effff", "\"23:59:59.999999999\"", "'23:59:59.999999999'",
		"'23:59:59.999999999'");
	expect3("time", "00000c5e86870d01", "\"03:46:40.123456769\"", "'03:46:40.123456769'",
		"'03:46:40.123456769'");
}

/* duration: vint months, days, nanoseconds (zig-zag). */
static void test_durations(void **state)
{
	(void)state;
	/* 14 months, 3 days, 3661000000001 ns */
	expect3("duration", "1c06fc06a8c9358402", "\"1y2mo3d1h1m1s1ns\"", "1y2mo3d1h1m1s1ns", "1y2mo3d1h1m1s1ns");
	expect3("duration", "000000", "\"0s\"", "0s", "0s");
	/* -1 day, -1500 ms: zig-zag 1 and 2999999999 */
	expect3("duration", "0001f0b2d05dff", "\"-1d1s500ms\"", "-1d1s500ms", "-1d1s500ms");
}

static void test_addresses_uuids(void **state)
{
	(void)state;
	expect3("inet", "c0a80001", "\"192.168.0.1\"", "'192.168.0.1'", "'192.168.0.1'");
	expect3("inet", "ffffffff", "\"255.255.255.255\"", "'255.255.255.255'", "'255.255.255.255'");
	expect3("inet", "00000000000000000000000000000001", "\"::1\"", "'::1'", "'::1'");
	expect3("inet", "20010db8000000000000000000000000", "\"2001:db8::\"", "'2001:db8::'", "'2001:db8::'");
	expect3("uuid", "123e4567e89b12d3a456426614174000", "\"123e4567-e89b-12d3-a456-426614174000\"",
		"123e4567-e89b-12d3-a456-426614174000", "123e4567-e89b-12d3-a456-426614174000");
}

/* Text: JSON escapes; CQL doubles '; CQL in JSON does both. */
static void test_text(void **state)
{
	(void)state;
	/* it's "q"\ */
	expect3("text", "69742773202271225c", "\"it's \\\"q\\\"\\\\\"", "'it''s \"q\"\\'", "'it''s \\\"q\\\"\\\\'");
	expect3("text", "", "\"\"", "''", "''");
	expect3("ascii", "0a", "\"\\n\"", "'\n'", "'\\n'");
	/* invalid UTF-8 becomes U+FFFD where JSON is written */
	expect("text", CDC_RENDER_CQL_JSON, "61ff62", "'a\xef\xbf\xbd" "b'");
}

/* Floats: the shortest text that reads back; integral values get .0 in CQL. */
static void test_reals(void **state)
{
	(void)state;
	expect3("float", "40eccccd", "7.4", "7.4", "7.4");
	expect3("float", "41100000", "9", "9.0", "9.0");
	expect3("double", "400921fb54442d18", "3.141592653589793", "3.141592653589793", "3.141592653589793");
	expect3("double", "7ff0000000000000", "\"Infinity\"", "Infinity", "Infinity");
	expect3("double", "7ff8000000000000", "\"NaN\"", "NaN", "NaN");
	expect3("float", "501502f9", "1e+10", "1e+10", "1e+10");
}

/* Frozen collections and UDT fields in CQL inside JSON: nested text and
 * field names escaped too. */
static void test_nested(void **state)
{
	(void)state;
	/* list<text> ["a'b", "c\"d"] */
	expect3("frozen<list<text>>", "00000002000000036127620000000363226"
		"4", "[\"a'b\",\"c\\\"d\"]", "['a''b', 'c\"d']", "['a''b', 'c\\\"d']");
	/* tuple<int, text> (1, null) */
	expect3("tuple<int, text>", "0000000400000001ffffffff", "[1,null]", "(1, null)", "(1, null)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_integers),
		cmocka_unit_test(test_decimals),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_dates_times),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_addresses_uuids),
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_reals),
		cmocka_unit_test(test_nested),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
