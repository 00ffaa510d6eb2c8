/* metrics.c - counters, gauges and per-table event series. */
#include "metrics.h"
#include "err.h"
#include "fsmove.h"
#include "segment.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct series {
	char keyspace[64], table[64], op[24];
	uint64_t events, bytes;
} series;

struct cdc_metrics {
	pthread_mutex_t lock;
	uint64_t counter[CDC_M_NCOUNTERS], gauge[CDC_M_NGAUGES], acked;
	int64_t newest_acked_ts;
	uint64_t ahead_entries, ahead_stops[CDC_PENDING_KINDS];
	series *s;
	size_t n, cap;
};

static const struct { const char *name, *help; } counters[CDC_M_NCOUNTERS] = {
	[CDC_M_DELIVERY_ERRORS] = { "cdctail_delivery_errors_total", "Messages Kafka failed (they are sent again after a re-read)." },
	[CDC_M_DEAD_LETTERS] = { "cdctail_dead_letter_total", "Messages Kafka will never accept, written to state_dir/dead-letter.jsonl." },
	[CDC_M_DECODE_ERRORS] = { "cdctail_decode_errors_total", "Entries or segments that could not be read." },
	[CDC_M_UNKNOWN_TABLE_ENTRIES] = { "cdctail_unknown_table_entries_total", "Entries of tables not in the schema (skipped)." },
	[CDC_M_SEGMENTS_DONE] = { "cdctail_segments_done_total", "Segments fully delivered and released." },
	[CDC_M_SEGMENTS_QUARANTINED] = { "cdctail_segments_quarantined_total", "Segments moved to the quarantine folder." },
	[CDC_M_REREADS] = { "cdctail_rereads_total", "Re-reads from the checkpoint (after a failed delivery or schema refresh)." },
	[CDC_M_RESCANS] = { "cdctail_rescans_total", "Listings of cdc_raw (periodic, or woken by inotify)." },
	[CDC_M_INOTIFY_OVERFLOWS] = { "cdctail_inotify_overflows_total", "inotify queue overflows (each answered by a rescan)." },
	[CDC_M_SCHEMA_REFRESHES] = { "cdctail_schema_refreshes_total", "Reads of the node's schema started (after a schema change in the commitlog, or for an entry the schema could not decode)." },
	[CDC_M_SCHEMA_REFRESH_ERRORS] = { "cdctail_schema_refresh_errors_total", "Reads of the node's schema that failed (they are tried again)." },
	[CDC_M_SKIPPED_ENTRIES] = { "cdctail_skipped_entries_total", "Entries that could not be delivered, recorded in quarantine_dir with their segment." },
	[CDC_M_DROPPED_TABLE_ENTRIES] = { "cdctail_dropped_table_entries_total", "Entries of tables created and dropped before cdctail could read their definition (not delivered)." },
	[CDC_M_SEGMENTS_LOST] = { "cdctail_segments_lost_total", "Segments with CDC data removed from cdc_raw (by hand, or by Cassandra with cdc_block_writes: false) before cdctail read them to the end." },
};

static const struct { const char *name, *help; } gauges[CDC_M_NGAUGES] = {
	[CDC_G_SEGMENTS_PENDING] = { "cdctail_segments_pending", "Segments in cdc_raw not yet released." },
	[CDC_G_CDC_RAW_BYTES] = { "cdctail_cdc_raw_bytes", "Bytes of segments and index files in cdc_raw." },
	[CDC_G_IN_FLIGHT] = { "cdctail_in_flight", "Messages handed to Kafka, not yet acknowledged." },
};

cdc_metrics *cdc_metrics_new(void)
{
	cdc_metrics *m = calloc(1, sizeof(*m));

	if (m)
		pthread_mutex_init(&m->lock, NULL);
	return m;
}

void cdc_metrics_destroy(cdc_metrics *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m->s);
	free(m);
}

void cdc_metrics_add(cdc_metrics *m, cdc_counter c, uint64_t n)
{
	pthread_mutex_lock(&m->lock);
	m->counter[c] += n;
	pthread_mutex_unlock(&m->lock);
}

uint64_t cdc_metrics_get(const cdc_metrics *m, cdc_counter c)
{
	cdc_metrics *w = (cdc_metrics *)m;
	uint64_t v;

	pthread_mutex_lock(&w->lock);
	v = m->counter[c];
	pthread_mutex_unlock(&w->lock);
	return v;
}

void cdc_metrics_set(cdc_metrics *m, cdc_gauge g, uint64_t v)
{
	pthread_mutex_lock(&m->lock);
	m->gauge[g] = v;
	pthread_mutex_unlock(&m->lock);
}

/* The index of a series, or where a new one goes (m->n): lock held. */
static size_t find_series(const cdc_metrics *m, const char *ks, const char *table, const char *op)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->s[i].op, op) == 0 && strcmp(m->s[i].table, table) == 0 &&
		    strcmp(m->s[i].keyspace, ks) == 0)
			break;
	return i;
}

uint32_t cdc_metrics_series(cdc_metrics *m, const char *keyspace, const char *table, const char *op)
{
	uint32_t rc = CDC_NO_SERIES;
	size_t i;

	pthread_mutex_lock(&m->lock);
	i = find_series(m, keyspace, table, op);
	if (i < m->n) {
		rc = (uint32_t)i;
	} else {
		if (m->n == m->cap) {
			size_t cap = m->cap ? m->cap * 2 : 16;
			series *ns = cap <= 4096 ? realloc(m->s, cap * sizeof(*ns)) : NULL;

			if (!ns)
				goto out;
			m->s = ns;
			m->cap = cap;
		}
		memset(&m->s[i], 0, sizeof(m->s[i]));
		snprintf(m->s[i].keyspace, sizeof(m->s[i].keyspace), "%s", keyspace);
		snprintf(m->s[i].table, sizeof(m->s[i].table), "%s", table);
		snprintf(m->s[i].op, sizeof(m->s[i].op), "%s", op);
		m->n++;
		rc = (uint32_t)i;
	}
out:
	pthread_mutex_unlock(&m->lock);
	return rc;
}

void cdc_metrics_acked(cdc_metrics *m, uint32_t sr, size_t bytes, int64_t ts)
{
	pthread_mutex_lock(&m->lock);
	m->acked++;
	if (sr < m->n) {
		m->s[sr].events++;
		m->s[sr].bytes += bytes;
	}
	if (ts > m->newest_acked_ts)
		m->newest_acked_ts = ts;
	pthread_mutex_unlock(&m->lock);
}

uint64_t cdc_metrics_acked_total(const cdc_metrics *m)
{
	cdc_metrics *w = (cdc_metrics *)m;
	uint64_t v;

	pthread_mutex_lock(&w->lock);
	v = m->acked;
	pthread_mutex_unlock(&w->lock);
	return v;
}

int64_t cdc_metrics_newest_acked_ts(const cdc_metrics *m)
{
	cdc_metrics *w = (cdc_metrics *)m;
	int64_t v;

	pthread_mutex_lock(&w->lock);
	v = m->newest_acked_ts;
	pthread_mutex_unlock(&w->lock);
	return v;
}

void cdc_metrics_seed_newest_acked_ts(cdc_metrics *m, int64_t ts)
{
	pthread_mutex_lock(&m->lock);
	if (ts > m->newest_acked_ts)
		m->newest_acked_ts = ts;
	pthread_mutex_unlock(&m->lock);
}

void cdc_metrics_set_read_ahead(cdc_metrics *m, uint64_t entries, const uint64_t *stops, int nstops)
{
	int k;

	pthread_mutex_lock(&m->lock);
	m->ahead_entries = entries;
	for (k = 0; k < nstops && k < CDC_PENDING_KINDS; k++)
		m->ahead_stops[k] = stops[k];
	pthread_mutex_unlock(&m->lock);
}

/* HELP and TYPE lines of one metric. */
static void head(cdc_buf *b, const char *name, const char *help, const char *type)
{
	cdc_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The per-table series: events and bytes. Lock held. */
static void render_series(const cdc_metrics *m, cdc_buf *b)
{
	size_t i;

	head(b, "cdctail_events_total", "Events acknowledged by Kafka (or written to the output file), by table and op.",
	     "counter");
	for (i = 0; i < m->n; i++)
		cdc_buf_printf(b, "cdctail_events_total{keyspace=\"%s\",table=\"%s\",op=\"%s\"} %" PRIu64 "\n",
			       m->s[i].keyspace, m->s[i].table, m->s[i].op, m->s[i].events);
	head(b, "cdctail_event_bytes_total", "JSON bytes of the acknowledged events, by table and op.", "counter");
	for (i = 0; i < m->n; i++)
		cdc_buf_printf(b, "cdctail_event_bytes_total{keyspace=\"%s\",table=\"%s\",op=\"%s\"} %" PRIu64 "\n",
			       m->s[i].keyspace, m->s[i].table, m->s[i].op, m->s[i].bytes);
}

int cdc_metrics_render(cdc_metrics *m, int64_t now_us, cdc_buf *b)
{
	int i;

	pthread_mutex_lock(&m->lock);
	render_series(m, b);
	head(b, "cdctail_events_acked_total", "Events acknowledged by the sink.", "counter");
	cdc_buf_printf(b, "cdctail_events_acked_total %" PRIu64 "\n", m->acked);
	for (i = 0; i < CDC_M_NCOUNTERS; i++) {
		head(b, counters[i].name, counters[i].help, "counter");
		cdc_buf_printf(b, "%s %" PRIu64 "\n", counters[i].name, m->counter[i]);
	}
	for (i = 0; i < CDC_M_NGAUGES; i++) {
		head(b, gauges[i].name, gauges[i].help, "gauge");
		cdc_buf_printf(b, "%s %" PRIu64 "\n", gauges[i].name, m->gauge[i]);
	}
	head(b, "cdctail_read_ahead_entries_total", "Entries read before the commitlog sync that covers them.",
	     "counter");
	cdc_buf_printf(b, "cdctail_read_ahead_entries_total %" PRIu64 "\n", m->ahead_entries);
	head(b, "cdctail_read_ahead_stops_total", "Times reading ahead stopped at an entry not complete yet, by "
	     "what it looked like (empty, size, body, past-eof, sealed).", "counter");
	for (i = 1; i < CDC_PENDING_KINDS; i++)
		cdc_buf_printf(b, "cdctail_read_ahead_stops_total{state=\"%s\"} %" PRIu64 "\n",
			       cdc_pending_name((cdc_pending)i), m->ahead_stops[i]);
	/* unknown until an event was acknowledged (now or before a restart, from
	 * the checkpoint): no series rather than a reassuring 0 */
	if (m->newest_acked_ts) {
		head(b, "cdctail_lag_seconds", "Now minus the write time of the newest acknowledged event.", "gauge");
		cdc_buf_printf(b, "cdctail_lag_seconds %.3f\n", (double)(now_us - m->newest_acked_ts) / 1e6);
	}
	pthread_mutex_unlock(&m->lock);
	return b->oom ? -1 : 0;
}

int cdc_metrics_write_textfile(cdc_metrics *m, const char *path, int64_t now_us, char *errstr, size_t errlen)
{
	cdc_buf text = CDC_BUF_INIT;
	char tmp[4200];
	int rc = 0;

	if (cdc_metrics_render(m, now_us, &text) != 0) {
		cdc_buf_free(&text);
		return cdc_error(errstr, errlen, "metrics: out of memory");
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	if (cdc_replace_file(path, tmp, text.p, text.len, 0, errstr, errlen) != 0)
		rc = -1;
	cdc_buf_free(&text);
	return rc;
}
