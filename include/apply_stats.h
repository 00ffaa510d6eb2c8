/* apply_stats.h - `cdctail apply`'s counters and its propagation lag, as a
 * Prometheus text file (for node_exporter's textfile collector, replaced
 * atomically) and as the summary line it prints on stderr.
 *
 * Applied events are counted per target keyspace, table and op. The lag of
 * an event is the time the target acknowledged its writes minus the
 * event's ts (the source's write time); p50 and p99 are over the events
 * acknowledged in the last 60 seconds, from per-second histograms with 16
 * buckets per power of two (values within 1/16, about 6 %, of the exact
 * percentile). One thread: no locking. */
#ifndef CDCTAIL_APPLY_STATS_H
#define CDCTAIL_APPLY_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef enum {
	CDC_AS_APPLIED,          /* events whose writes the target acknowledged */
	CDC_AS_DUPLICATES,       /* list-append events applied before (the record of applied ids) */
	CDC_AS_RESOLVED,         /* list-append events found written by a run that died before recording them */
	CDC_AS_UNCERTAIN,        /* list-append events applied again because the target could not tell */
	CDC_AS_COUNTERS,         /* counter cells not applied */
	CDC_AS_LIST_REMOVALS,    /* removed list elements not applied */
	CDC_AS_EXPIRED,          /* cells and elements applied as deletions (expired) */
	CDC_AS_ERRORS,           /* writes the target refused or that failed (each try) */
	CDC_AS_RETRIES,          /* writes sent again after a timeout or an unavailable node */
	CDC_AS_DEAD_LETTERS,     /* events (or parts) written to the dead-letter file */
	CDC_AS_INVALID,          /* lines that are not an event apply understands (dead-lettered) */
	CDC_AS_PREPARED,         /* statements prepared */
	CDC_AS_RECONNECTS,       /* connections to the target opened again */
	CDC_AS_NCOUNTERS
} cdc_apply_counter;

typedef struct cdc_apply_stats cdc_apply_stats;

cdc_apply_stats *cdc_apply_stats_new(void);
void cdc_apply_stats_destroy(cdc_apply_stats *s);

void cdc_apply_stats_add(cdc_apply_stats *s, cdc_apply_counter c, uint64_t n);
uint64_t cdc_apply_stats_get(const cdc_apply_stats *s, cdc_apply_counter c);

/* One event applied to keyspace.table (the target's names) with op, its
 * lag lag_us, acknowledged at now_us. */
void cdc_apply_stats_applied(cdc_apply_stats *s, const char *keyspace, const char *table, const char *op,
			     int64_t lag_us, int64_t now_us);

/* The lag percentile q (0..1) of the last 60 s before now_us, in µs, and
 * how many events it is over (*n); -1 when none. */
int64_t cdc_apply_stats_lag(const cdc_apply_stats *s, double q, int64_t now_us, uint64_t *n);

/* Appends the text exposition format. 0, or -1 out of memory. */
int cdc_apply_stats_render(const cdc_apply_stats *s, int64_t now_us, cdc_buf *out);

/* Writes the text to path atomically: 0, or -1 with errstr. */
int cdc_apply_stats_write(const cdc_apply_stats *s, const char *path, int64_t now_us, char *errstr, size_t errlen);

/* Appends the one-line summary ("applied N events (...), lag p50 ..."). */
void cdc_apply_stats_summary(const cdc_apply_stats *s, int64_t now_us, cdc_buf *out);

#endif
