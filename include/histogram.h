/* histogram.h - a Prometheus histogram with fixed bucket bounds, observed in
 * integer units (microseconds, bytes) and rendered in base units (seconds,
 * bytes) by dividing by a power of ten, so every `le` is an exact decimal.
 *
 * A value falls in the first bucket whose bound is >= the value (Prometheus'
 * `le`, less than or equal); one above every bound counts only in +Inf.
 * Rendered buckets are cumulative, as the exposition format requires. Not
 * thread-safe by itself: metrics.h guards the ones it holds. */
#ifndef CDCTAIL_HISTOGRAM_H
#define CDCTAIL_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define CDC_HISTOGRAM_MAX_BOUNDS 32

typedef struct cdc_histogram {
	const uint64_t *bounds;  /* strictly ascending, in units; not owned */
	size_t nbounds;          /* at most CDC_HISTOGRAM_MAX_BOUNDS */
	uint64_t scale;          /* units per base unit: 1, 10, ..., 10^18 */
	uint64_t counts[CDC_HISTOGRAM_MAX_BOUNDS + 1]; /* per bucket, not cumulative;
						         * [nbounds]: above them all */
	uint64_t count;
	double sum;              /* in units */
} cdc_histogram;

/* Empty, with these bounds (n is cut to CDC_HISTOGRAM_MAX_BOUNDS) and scale. */
void cdc_histogram_init(cdc_histogram *h, const uint64_t *bounds, size_t n, uint64_t scale);

/* The bucket of v: the index of the first bound >= v, or n when v is above
 * them all. */
size_t cdc_histogram_bucket(const uint64_t *bounds, size_t n, uint64_t v);

/* One observation of v units. */
void cdc_histogram_observe(cdc_histogram *h, uint64_t v);

/* v / scale as the shortest exact decimal ("0.005", "1", "1073741824") into
 * buf. Returns the length, or -1 when it does not fit or scale is not a
 * power of ten. */
int cdc_histogram_decimal(uint64_t v, uint64_t scale, char *buf, size_t len);

/* Appends HELP, TYPE, name_bucket{le=...} for every bound and +Inf, name_sum
 * (in base units) and name_count. */
void cdc_histogram_render(const cdc_histogram *h, const char *name, const char *help, cdc_buf *b);

#endif
