/* apply_stats.c - apply's counters, per-table series and lag histograms
 * (include/apply_stats.h). */
#include "apply_stats.h"
#include "err.h"
#include "fsmove.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS 1024
#define WINDOW 60
#define MAX_SERIES 4096

typedef struct series {
	char *keyspace, *table, *op;
	uint64_t n;
} series;

typedef struct second {
	int64_t sec;          /* which second it holds (-1: none) */
	uint64_t n;
	uint32_t b[NBUCKETS];
} second;

struct cdc_apply_stats {
	uint64_t c[CDC_AS_NCOUNTERS];
	series *s;
	size_t ns, caps;
	size_t last;          /* the series used last, tried first */
	second w[WINDOW];
	int64_t lag_sum_us;   /* of every event, for the average */
};

static const struct {
	const char *name, *help;
} counters[CDC_AS_NCOUNTERS] = {
	[CDC_AS_APPLIED] = { "applied_events_total", "Events whose writes the target acknowledged" },
	[CDC_AS_DUPLICATES] = { "duplicate_list_appends_total", "List-append events skipped: applied before (by id)" },
	[CDC_AS_RESOLVED] = { "resolved_list_appends_total",
			      "List-append events a killed run had written but not recorded, found on the target" },
	[CDC_AS_UNCERTAIN] = { "uncertain_list_appends_total",
			       "List-append events applied again because the target could not tell whether a killed run had written them" },
	[CDC_AS_COUNTERS] = { "skipped_counter_cells_total", "Counter cells not applied (no idempotent form)" },
	[CDC_AS_LIST_REMOVALS] = { "skipped_list_removals_total", "Removed list elements not applied (no CQL names them)" },
	[CDC_AS_EXPIRED] = { "expired_cells_total", "Cells and elements already expired, applied as deletions" },
	[CDC_AS_ERRORS] = { "write_errors_total", "Writes the target refused or that failed, each try" },
	[CDC_AS_RETRIES] = { "write_retries_total", "Writes sent again after a timeout or an unavailable replica" },
	[CDC_AS_DEAD_LETTERS] = { "dead_letters_total", "Events or parts of events written to the dead-letter file" },
	[CDC_AS_INVALID] = { "invalid_events_total", "Input lines that are not an event apply can build statements for" },
	[CDC_AS_PREPARED] = { "prepared_statements_total", "Statements prepared on the target" },
	[CDC_AS_RECONNECTS] = { "reconnects_total", "Connections to the target opened again after a failure" },
};

cdc_apply_stats *cdc_apply_stats_new(void)
{
	cdc_apply_stats *s = calloc(1, sizeof(*s));
	int i;

	if (s)
		for (i = 0; i < WINDOW; i++)
			s->w[i].sec = -1;
	return s;
}

void cdc_apply_stats_destroy(cdc_apply_stats *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->ns; i++) {
		free(s->s[i].keyspace);
		free(s->s[i].table);
		free(s->s[i].op);
	}
	free(s->s);
	free(s);
}

void cdc_apply_stats_add(cdc_apply_stats *s, cdc_apply_counter c, uint64_t n)
{
	s->c[c] += n;
}

uint64_t cdc_apply_stats_get(const cdc_apply_stats *s, cdc_apply_counter c)
{
	return s->c[c];
}

/* 16 exact buckets below 16, then 16 per power of two. */
static int bucket(uint64_t v)
{
	int e;

	if (v < 16)
		return (int)v;
	e = 63 - __builtin_clzll(v);
	return 16 + (e - 4) * 16 + (int)((v >> (e - 4)) & 15);
}

/* The middle of bucket b's range. */
static uint64_t bucket_value(int b)
{
	int e;
	uint64_t lo, width;

	if (b < 16)
		return (uint64_t)b;
	e = (b - 16) / 16 + 4;
	width = 1ull << (e - 4);
	lo = (1ull << e) + (uint64_t)((b - 16) % 16) * width;
	return lo + width / 2;
}

static series *find_series(cdc_apply_stats *s, const char *ks, const char *t, const char *op)
{
	size_t i;
	series *x;

	if (s->last < s->ns) {
		x = &s->s[s->last];
		if (strcmp(x->table, t) == 0 && strcmp(x->op, op) == 0 && strcmp(x->keyspace, ks) == 0)
			return x;
	}
	for (i = 0; i < s->ns; i++) {
		x = &s->s[i];
		if (strcmp(x->table, t) == 0 && strcmp(x->op, op) == 0 && strcmp(x->keyspace, ks) == 0) {
			s->last = i;
			return x;
		}
	}
	if (s->ns >= MAX_SERIES)
		return NULL;
	if (s->ns == s->caps) {
		size_t cap = s->caps ? s->caps * 2 : 16;
		series *n = realloc(s->s, cap * sizeof(*n));

		if (!n)
			return NULL;
		s->s = n;
		s->caps = cap;
	}
	x = &s->s[s->ns];
	x->keyspace = strdup(ks);
	x->table = strdup(t);
	x->op = strdup(op);
	x->n = 0;
	if (!x->keyspace || !x->table || !x->op) {
		free(x->keyspace);
		free(x->table);
		free(x->op);
		return NULL;
	}
	s->last = s->ns++;
	return x;
}

void cdc_apply_stats_applied(cdc_apply_stats *s, const char *keyspace, const char *table, const char *op,
			     int64_t lag_us, int64_t now_us)
{
	series *x = find_series(s, keyspace, table, op);
	int64_t sec = now_us / 1000000;
	second *w = &s->w[sec % WINDOW];

	s->c[CDC_AS_APPLIED]++;
	if (x)
		x->n++;
	if (lag_us < 0)
		lag_us = 0;
	if (w->sec != sec) {
		memset(w->b, 0, sizeof(w->b));
		w->n = 0;
		w->sec = sec;
	}
	w->b[bucket((uint64_t)lag_us)]++;
	w->n++;
	s->lag_sum_us += lag_us;
}

int64_t cdc_apply_stats_lag(const cdc_apply_stats *s, double q, int64_t now_us, uint64_t *n)
{
	int64_t sec = now_us / 1000000;
	uint64_t total = 0, want, seen = 0;
	int i, b;

	for (i = 0; i < WINDOW; i++)
		if (s->w[i].sec > sec - WINDOW && s->w[i].sec <= sec)
			total += s->w[i].n;
	if (n)
		*n = total;
	if (!total)
		return -1;
	want = (uint64_t)(q * (double)total);
	if (want >= total)
		want = total - 1;
	for (b = 0; b < NBUCKETS; b++) {
		for (i = 0; i < WINDOW; i++)
			if (s->w[i].sec > sec - WINDOW && s->w[i].sec <= sec)
				seen += s->w[i].b[b];
		if (seen > want)
			return (int64_t)bucket_value(b);
	}
	return -1;
}

/* A label value with \ and " escaped. */
static void label(cdc_buf *out, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			cdc_buf_putc(out, '\\');
		if (*v == '\n') {
			cdc_buf_lit(out, "\\n");
			continue;
		}
		cdc_buf_putc(out, *v);
	}
}

int cdc_apply_stats_render(const cdc_apply_stats *s, int64_t now_us, cdc_buf *out)
{
	static const double qs[] = { 0.5, 0.99 };
	size_t i;
	int k;
	uint64_t n = 0;

	for (k = 0; k < CDC_AS_NCOUNTERS; k++)
		cdc_buf_printf(out, "# HELP cdctail_apply_%s %s\n# TYPE cdctail_apply_%s counter\ncdctail_apply_%s %llu\n",
			       counters[k].name, counters[k].help, counters[k].name, counters[k].name,
			       (unsigned long long)s->c[k]);
	cdc_buf_lit(out, "# HELP cdctail_apply_events_total Events applied, by target table and op\n"
			 "# TYPE cdctail_apply_events_total counter\n");
	for (i = 0; i < s->ns; i++) {
		cdc_buf_lit(out, "cdctail_apply_events_total{keyspace=\"");
		label(out, s->s[i].keyspace);
		cdc_buf_lit(out, "\",table=\"");
		label(out, s->s[i].table);
		cdc_buf_lit(out, "\",op=\"");
		label(out, s->s[i].op);
		cdc_buf_printf(out, "\"} %llu\n", (unsigned long long)s->s[i].n);
	}
	cdc_buf_lit(out, "# HELP cdctail_apply_lag_seconds Propagation lag over the last minute: target acknowledgement "
			 "time minus the event's ts\n# TYPE cdctail_apply_lag_seconds summary\n");
	for (k = 0; k < 2; k++) {
		int64_t v = cdc_apply_stats_lag(s, qs[k], now_us, &n);

		if (v >= 0)
			cdc_buf_printf(out, "cdctail_apply_lag_seconds{quantile=\"%g\"} %.6f\n", qs[k], (double)v / 1e6);
	}
	cdc_buf_printf(out, "cdctail_apply_lag_seconds_count %llu\n", (unsigned long long)n);
	cdc_buf_printf(out, "# HELP cdctail_apply_time_seconds When this file was written\n"
			    "# TYPE cdctail_apply_time_seconds gauge\ncdctail_apply_time_seconds %.3f\n",
		       (double)now_us / 1e6);
	return out->oom ? -1 : 0;
}

int cdc_apply_stats_write(const cdc_apply_stats *s, const char *path, int64_t now_us, char *errstr, size_t errlen)
{
	cdc_buf b = CDC_BUF_INIT, tmp = CDC_BUF_INIT;
	int rc;

	if (cdc_apply_stats_render(s, now_us, &b) != 0) {
		cdc_buf_free(&b);
		return cdc_error(errstr, errlen, "%s: out of memory", path);
	}
	cdc_buf_printf(&tmp, "%s.tmp", path);
	rc = cdc_replace_file(path, cdc_buf_cstr(&tmp), b.p, b.len, 0, errstr, errlen);
	cdc_buf_free(&b);
	cdc_buf_free(&tmp);
	return rc;
}

void cdc_apply_stats_summary(const cdc_apply_stats *s, int64_t now_us, cdc_buf *out)
{
	uint64_t n = 0;
	int64_t p50 = cdc_apply_stats_lag(s, 0.5, now_us, &n), p99 = cdc_apply_stats_lag(s, 0.99, now_us, NULL);

	cdc_buf_printf(out, "applied %llu events, %llu duplicate list appends skipped, %llu resolved, %llu uncertain, "
			    "%llu counter cells and %llu list removals not applied, %llu expired cells as deletions, "
			    "%llu write errors, %llu retries, %llu dead letters, %llu invalid lines, %llu statements prepared",
		       (unsigned long long)s->c[CDC_AS_APPLIED], (unsigned long long)s->c[CDC_AS_DUPLICATES],
		       (unsigned long long)s->c[CDC_AS_RESOLVED], (unsigned long long)s->c[CDC_AS_UNCERTAIN],
		       (unsigned long long)s->c[CDC_AS_COUNTERS], (unsigned long long)s->c[CDC_AS_LIST_REMOVALS],
		       (unsigned long long)s->c[CDC_AS_EXPIRED], (unsigned long long)s->c[CDC_AS_ERRORS],
		       (unsigned long long)s->c[CDC_AS_RETRIES], (unsigned long long)s->c[CDC_AS_DEAD_LETTERS],
		       (unsigned long long)s->c[CDC_AS_INVALID], (unsigned long long)s->c[CDC_AS_PREPARED]);
	if (p50 >= 0)
		cdc_buf_printf(out, "; lag over the last minute (%llu events) p50 %.3f ms, p99 %.3f ms",
			       (unsigned long long)n, (double)p50 / 1e3, (double)p99 / 1e3);
}
