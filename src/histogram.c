/* histogram.c - fixed-bound histograms in the Prometheus text format. */
#include "histogram.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cdc_histogram_init(cdc_histogram *h, const uint64_t *bounds, size_t n, uint64_t scale)
{
	memset(h, 0, sizeof(*h));
	h->bounds = bounds;
	h->nbounds = n > CDC_HISTOGRAM_MAX_BOUNDS ? CDC_HISTOGRAM_MAX_BOUNDS : n;
	h->scale = scale ? scale : 1;
}

size_t cdc_histogram_bucket(const uint64_t *bounds, size_t n, uint64_t v)
{
	size_t lo = 0, hi = n; /* the answer is in [lo, hi] */

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (bounds[mid] >= v)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

void cdc_histogram_observe(cdc_histogram *h, uint64_t v)
{
	h->counts[cdc_histogram_bucket(h->bounds, h->nbounds, v)]++;
	h->count++;
	h->sum += (double)v;
}

/* The number of decimal digits of a power of ten (10^k: k), or -1. */
static int exponent_of(uint64_t scale)
{
	int k = 0;

	if (scale == 0)
		return -1;
	while (scale % 10 == 0) {
		scale /= 10;
		k++;
	}
	return scale == 1 ? k : -1;
}

int cdc_histogram_decimal(uint64_t v, uint64_t scale, char *buf, size_t len)
{
	int k = exponent_of(scale), n, i;
	uint64_t frac;
	char digits[24];

	if (k < 0 || k >= (int)sizeof(digits))
		return -1;
	frac = v % scale;
	for (i = k; i-- > 0; frac /= 10) /* the fraction's k digits, leading zeros kept */
		digits[i] = (char)('0' + frac % 10);
	for (n = k; n > 0 && digits[n - 1] == '0'; n--) /* trailing zeros dropped */
		;
	digits[n] = '\0';
	n = n ? snprintf(buf, len, "%" PRIu64 ".%s", v / scale, digits) : snprintf(buf, len, "%" PRIu64, v / scale);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

/* x in the fewest significant digits (15 to 17) that read back to x. */
static void shortest(double x, char *buf, size_t len)
{
	int p;

	for (p = 15; p < 17; p++) {
		snprintf(buf, len, "%.*g", p, x);
		if (strtod(buf, NULL) == x)
			return;
	}
	snprintf(buf, len, "%.17g", x);
}

void cdc_histogram_render(const cdc_histogram *h, const char *name, const char *help, cdc_buf *b)
{
	uint64_t cum = 0;
	char le[32], sum[40];
	size_t i;

	cdc_buf_printf(b, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
	for (i = 0; i < h->nbounds; i++) {
		cum += h->counts[i];
		if (cdc_histogram_decimal(h->bounds[i], h->scale, le, sizeof(le)) < 0)
			shortest((double)h->bounds[i] / (double)h->scale, le, sizeof(le));
		cdc_buf_printf(b, "%s_bucket{le=\"%s\"} %" PRIu64 "\n", name, le, cum);
	}
	cdc_buf_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, h->count);
	shortest(h->sum / (double)h->scale, sum, sizeof(sum));
	cdc_buf_printf(b, "%s_sum %s\n%s_count %" PRIu64 "\n", name, sum, name, h->count);
}
