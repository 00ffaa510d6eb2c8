/* metrics.h - `cdctail run`'s counters and gauges, in the Prometheus text
 * format (docs/run.md, "Metrics").
 *
 * Counters only grow; the service keeps one cdc_metrics across SIGHUP
 * reloads, so they start from 0 only in a new process. Events are counted
 * per table and op when the sink acknowledges them. Every call may come from
 * any thread (a mutex guards the values), so a reader on another thread
 * never sees a half-updated series. */
#ifndef CDCTAIL_METRICS_H
#define CDCTAIL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

typedef enum {
	CDC_M_DELIVERY_ERRORS,       /* messages Kafka failed (sent again) */
	CDC_M_DEAD_LETTERS,          /* messages Kafka will never accept */
	CDC_M_DECODE_ERRORS,         /* entries/segments that could not be read */
	CDC_M_UNKNOWN_TABLE_ENTRIES, /* entries of tables not in the schema */
	CDC_M_SEGMENTS_DONE,         /* segments released */
	CDC_M_SEGMENTS_QUARANTINED,  /* segments moved to quarantine_dir */
	CDC_M_REREADS,               /* re-reads from the checkpoint */
	CDC_M_RESCANS,               /* listings of cdc_raw */
	CDC_M_INOTIFY_OVERFLOWS,     /* inotify queue overflows */
	CDC_M_SCHEMA_REFRESHES,      /* reads of the node's schema started */
	CDC_M_SCHEMA_REFRESH_ERRORS, /* of those, the ones that failed */
	CDC_M_SKIPPED_ENTRIES,       /* entries not delivered, kept in quarantine_dir */
	CDC_M_DROPPED_TABLE_ENTRIES, /* entries of tables dropped before they could be read */
	CDC_M_SEGMENTS_LOST,         /* segments with CDC data removed from cdc_raw before read to the end */
	CDC_M_NCOUNTERS
} cdc_counter;

typedef enum {
	CDC_G_SEGMENTS_PENDING,      /* segments in cdc_raw not yet released */
	CDC_G_CDC_RAW_BYTES,         /* bytes of segments and idx files in cdc_raw */
	CDC_G_IN_FLIGHT,             /* messages not yet acknowledged */
	CDC_M_NGAUGES
} cdc_gauge;

#define CDC_NO_SERIES UINT32_MAX

typedef struct cdc_metrics cdc_metrics;

/* All at 0, no series yet; NULL when out of memory. */
cdc_metrics *cdc_metrics_new(void);
void cdc_metrics_destroy(cdc_metrics *m);

void cdc_metrics_add(cdc_metrics *m, cdc_counter c, uint64_t n);
uint64_t cdc_metrics_get(const cdc_metrics *m, cdc_counter c);
void cdc_metrics_set(cdc_metrics *m, cdc_gauge g, uint64_t v);

/* The series of keyspace/table/op, created at 0 when new: its number, or
 * CDC_NO_SERIES when there are 4096 already (or no memory). */
uint32_t cdc_metrics_series(cdc_metrics *m, const char *keyspace, const char *table, const char *op);

/* One event of `series` (CDC_NO_SERIES: only the total) acknowledged, of
 * `bytes` JSON bytes, written at ts (µs). */
void cdc_metrics_acked(cdc_metrics *m, uint32_t series, size_t bytes, int64_t ts);

/* Events acknowledged in all. */
uint64_t cdc_metrics_acked_total(const cdc_metrics *m);

/* The write time (µs) of the newest acknowledged event, 0 when none; set
 * moves it only forward (the checkpoint's value after a restart). */
int64_t cdc_metrics_newest_acked_ts(const cdc_metrics *m);
void cdc_metrics_seed_newest_acked_ts(cdc_metrics *m, int64_t ts);

/* Read-ahead totals (segment.h's cdc_segment_ahead_stats summed over the
 * segments read): entries returned before their sync, and the stops at an
 * entry not complete yet, by its state (CDC_PENDING_KINDS counts). */
void cdc_metrics_set_read_ahead(cdc_metrics *m, uint64_t entries, const uint64_t *stops, int nstops);

/* Appends every series in the text exposition format, with the lag gauge
 * computed against now_us (absent while no event was ever acknowledged).
 * Returns 0, or -1 when out of memory. */
int cdc_metrics_render(cdc_metrics *m, int64_t now_us, cdc_buf *out);

/* Writes the text atomically to path (temporary file, rename), for
 * node_exporter's textfile collector: 0, or -1 with errstr. */
int cdc_metrics_write_textfile(cdc_metrics *m, const char *path, int64_t now_us, char *errstr, size_t errlen);

#endif
