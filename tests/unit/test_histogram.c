/* test_histogram.c - the bucket math of histogram.h (a value on a bound is
 * in that bound's bucket, one past it in the next, one above every bound
 * only in +Inf; rendered buckets cumulative; exact decimal bounds) and the
 * two histograms of metrics.h as cdc_metrics_render prints them (latency
 * from ts to the acknowledgement, in seconds; a ts in the future counted as
 * 0; an unknown ts not counted; read-behind samples in bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "histogram.h"
#include "metrics.h"

static const uint64_t bounds[] = { 0, 10, 100, 1000 };

static void test_bucket_edges(void **state)
{
	(void)state;
	assert_int_equal(cdc_histogram_bucket(bounds, 4, 0), 0);
	assert_int_equal(cdc_histogram_bucket(bounds, 4, 1), 1);
	assert_int_equal(cdc_histogram_bucket(bounds, 4, 10), 1);
	assert_int_equal(cdc_histogram_bucket(bounds, 4, 11), 2);
	assert_int_equal(cdc_histogram_bucket(bounds, 4, 100), 2);
	assert_int_equal(cdc_histogram_bucket(bounds, 4, 999), 3);
	assert_int_equal(cdc_histogram_bucket(bounds, 4, 1000), 3);
	assert_int_equal(cdc_histogram_bucket(bounds, 4, 1001), 4);
	assert_int_equal(cdc_histogram_bucket(bounds, 4, UINT64_MAX), 4);
	assert_int_equal(cdc_histogram_bucket(bounds, 0, 5), 0);
	assert_int_equal(cdc_histogram_bucket(bounds, 1, 0), 0);
	assert_int_equal(cdc_histogram_bucket(bounds, 1, 1), 1);
}

/* Against a linear scan, for every value near every bound of both of
 * metrics.h's bound lists. */
static void test_bucket_vs_scan(void **state)
{
	const uint64_t *lists[] = { cdc_latency_bounds_us, cdc_read_behind_bounds };
	size_t ns[] = { cdc_latency_nbounds, cdc_read_behind_nbounds };
	int l;

	(void)state;
	for (l = 0; l < 2; l++) {
		size_t i, k;

		assert_true(ns[l] > 4 && ns[l] <= CDC_HISTOGRAM_MAX_BOUNDS);
		for (i = 1; i < ns[l]; i++)
			assert_true(lists[l][i - 1] < lists[l][i]);
		for (i = 0; i < ns[l]; i++)
			for (int d = -2; d <= 2; d++) {
				uint64_t v = lists[l][i] + (uint64_t)(int64_t)d;

				if (d < 0 && lists[l][i] < (uint64_t)-d)
					continue;
				for (k = 0; k < ns[l] && lists[l][k] < v; k++)
					;
				assert_int_equal(cdc_histogram_bucket(lists[l], ns[l], v), k);
			}
	}
}

static void test_decimal(void **state)
{
	char b[32];

	(void)state;
	assert_int_equal(cdc_histogram_decimal(5000, 1000000, b, sizeof(b)), 5);
	assert_string_equal(b, "0.005");
	cdc_histogram_decimal(2500000, 1000000, b, sizeof(b));
	assert_string_equal(b, "2.5");
	cdc_histogram_decimal(86400000000ull, 1000000, b, sizeof(b));
	assert_string_equal(b, "86400");
	cdc_histogram_decimal(1, 1000000, b, sizeof(b));
	assert_string_equal(b, "0.000001");
	cdc_histogram_decimal(0, 1000000, b, sizeof(b));
	assert_string_equal(b, "0");
	cdc_histogram_decimal(1ull << 36, 1, b, sizeof(b));
	assert_string_equal(b, "68719476736");
	cdc_histogram_decimal(UINT64_MAX, 10000000000000000000ull, b, sizeof(b));
	assert_string_equal(b, "1.8446744073709551615");
	assert_int_equal(cdc_histogram_decimal(5, 12, b, sizeof(b)), -1);
	assert_int_equal(cdc_histogram_decimal(5, 0, b, sizeof(b)), -1);
	assert_int_equal(cdc_histogram_decimal(123456, 1, b, 4), -1);
}

/* The value of one line "name value" in text, as a string ("" absent). */
static const char *value_of(const char *text, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);
	const char *p = text;

	out[0] = '\0';
	while (p && *p) {
		if (strncmp(p, name, nl) == 0 && p[nl] == ' ') {
			const char *e = strchr(p, '\n');
			size_t n = e ? (size_t)(e - p - nl - 1) : strlen(p + nl + 1);

			snprintf(out, len, "%.*s", (int)n, p + nl + 1);
			return out;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return out;
}

static void test_render(void **state)
{
	cdc_histogram h;
	cdc_buf b = CDC_BUF_INIT;
	char v[64];
	static const uint64_t us[] = { 5000, 1000000 };

	(void)state;
	cdc_histogram_init(&h, us, 2, 1000000);
	cdc_histogram_observe(&h, 0);
	cdc_histogram_observe(&h, 5000);
	cdc_histogram_observe(&h, 5001);
	cdc_histogram_observe(&h, 1000000);
	cdc_histogram_observe(&h, 3000000);
	cdc_histogram_render(&h, "x_seconds", "help text", &b);
	assert_false(b.oom);
	assert_non_null(strstr(b.p, "# HELP x_seconds help text\n# TYPE x_seconds histogram\n"));
	assert_string_equal(value_of(b.p, "x_seconds_bucket{le=\"0.005\"}", v, sizeof(v)), "2");
	assert_string_equal(value_of(b.p, "x_seconds_bucket{le=\"1\"}", v, sizeof(v)), "4");
	assert_string_equal(value_of(b.p, "x_seconds_bucket{le=\"+Inf\"}", v, sizeof(v)), "5");
	assert_string_equal(value_of(b.p, "x_seconds_count", v, sizeof(v)), "5");
	assert_string_equal(value_of(b.p, "x_seconds_sum", v, sizeof(v)), "4.010001");
	cdc_buf_free(&b);
}

static void test_metrics_histograms(void **state)
{
	cdc_metrics *m = cdc_metrics_new();
	cdc_buf b = CDC_BUF_INIT;
	char v[64];
	int64_t now = 1800000000000000;
	uint32_t s;

	(void)state;
	assert_non_null(m);
	s = cdc_metrics_series(m, "ks", "t", "insert");
	cdc_metrics_acked(m, s, 10, now - 3000, now);          /* 3 ms: le=0.005 */
	cdc_metrics_acked(m, s, 10, now - 10000, now);         /* 10 ms, on the bound: le=0.01 */
	cdc_metrics_acked(m, s, 10, now - 10001, now);         /* just above: le=0.025 */
	cdc_metrics_acked(m, s, 10, now + 5000000, now);       /* ts in the future: 0 */
	cdc_metrics_acked(m, s, 10, now - 90000000000, now);   /* 25 h: +Inf only */
	cdc_metrics_acked(m, s, 10, 0, now);                   /* ts unknown: not observed */
	cdc_metrics_read_behind(m, 0);
	cdc_metrics_read_behind(m, 65536);
	cdc_metrics_read_behind(m, 65537);
	assert_int_equal(cdc_metrics_render(m, now, &b), 0);
	assert_string_equal(value_of(b.p, "cdctail_delivery_latency_seconds_bucket{le=\"0.005\"}", v, sizeof(v)), "2");
	assert_string_equal(value_of(b.p, "cdctail_delivery_latency_seconds_bucket{le=\"0.01\"}", v, sizeof(v)), "3");
	assert_string_equal(value_of(b.p, "cdctail_delivery_latency_seconds_bucket{le=\"0.025\"}", v, sizeof(v)), "4");
	assert_string_equal(value_of(b.p, "cdctail_delivery_latency_seconds_bucket{le=\"86400\"}", v, sizeof(v)), "4");
	assert_string_equal(value_of(b.p, "cdctail_delivery_latency_seconds_bucket{le=\"+Inf\"}", v, sizeof(v)), "5");
	assert_string_equal(value_of(b.p, "cdctail_delivery_latency_seconds_count", v, sizeof(v)), "5");
	assert_string_equal(value_of(b.p, "cdctail_delivery_latency_seconds_sum", v, sizeof(v)), "90000.023001");
	assert_string_equal(value_of(b.p, "cdctail_events_acked_total", v, sizeof(v)), "6");
	assert_string_equal(value_of(b.p, "cdctail_read_behind_bytes_bucket{le=\"0\"}", v, sizeof(v)), "1");
	assert_string_equal(value_of(b.p, "cdctail_read_behind_bytes_bucket{le=\"65536\"}", v, sizeof(v)), "2");
	assert_string_equal(value_of(b.p, "cdctail_read_behind_bytes_bucket{le=\"262144\"}", v, sizeof(v)), "3");
	assert_string_equal(value_of(b.p, "cdctail_read_behind_bytes_sum", v, sizeof(v)), "131073");
	assert_string_equal(value_of(b.p, "cdctail_read_behind_bytes_count", v, sizeof(v)), "3");
	cdc_buf_free(&b);
	cdc_metrics_destroy(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket_edges),
		cmocka_unit_test(test_bucket_vs_scan),
		cmocka_unit_test(test_decimal),
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_metrics_histograms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
