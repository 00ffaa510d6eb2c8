/* snapshot.c - `cdctail snapshot`: tables read through CQL, token range by
 * token range, into events (snapshot_row.h renders each row the way a
 * change is rendered), delivered to Kafka or JSON lines, with the progress
 * saved after each range (snapshot_state.h). */
#include "snapshot.h"
#include "cql.h"
#include "err.h"
#include "event.h"
#include "schema.h"
#include "schema_fetch.h"
#include "sink.h"
#include "snapshot_row.h"
#include "snapshot_state.h"
#include "topic.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_IN_FLIGHT 10000
#define MAX_IN_FLIGHT_BYTES (16u << 20)
#define FLUSH_TIMEOUT_MS 120000
#define CL_LOCAL_QUORUM 0x0006

int64_t cdc_snapshot_boundary(int i, int n)
{
	unsigned __int128 span = UINT64_MAX; /* INT64_MAX - INT64_MIN */

	if (i <= 0)
		return INT64_MIN;
	if (i >= n)
		return INT64_MAX;
	return (int64_t)((uint64_t)INT64_MIN + (uint64_t)(span * (unsigned)i / (unsigned)n));
}

static int64_t wall_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static double mono_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* us as 2026-12-03T08:01:02.123456Z. */
static void iso_time(int64_t us, char out[80])
{
	time_t s = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(out, 80, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(us % 1000000));
}

/* ---- the node: partitioner, release, clock ---- */

typedef struct node_info {
	char partitioner[160];
	char release[40];
	int64_t now_ms;
	int rows;
} node_info;

static void copy_text(char *dst, size_t n, const cdc_cql_value *v)
{
	size_t k = v->p ? (v->len < n - 1 ? v->len : n - 1) : 0;

	if (k)
		memcpy(dst, v->p, k);
	dst[k] = '\0';
}

static int on_local(void *opaque, const cdc_cql_col *cols, const cdc_cql_value *cells, int ncols, char *errstr,
		    size_t errlen)
{
	node_info *ni = opaque;

	(void)cols;
	if (ncols != 3)
		return cdc_error(errstr, errlen, "system.local: %d columns, want 3", ncols);
	copy_text(ni->partitioner, sizeof(ni->partitioner), &cells[0]);
	copy_text(ni->release, sizeof(ni->release), &cells[1]);
	if (cdc_cql_get_timestamp(&cells[2], &ni->now_ms, errstr, errlen) != 0)
		return -1;
	ni->rows++;
	return 0;
}

/* ---- delivery ---- */

typedef struct snap_ctx {
	const cdc_snapshot_opts *o;
	cdc_snapshot_stats *st;
	const cdc_table *t;
	int per_element, has_static;
	cdc_snaprow *rb;
	cdc_eventer *ev;
	cdc_event_source src;
	cdc_snaprow_clock clock;
	cdc_buf key, prev_key;
	int have_prev;
	FILE *out;
	cdc_sink *kafka;
	unsigned long failed_reported;
	char topic[512];
	/* progress */
	int range, nranges;
	double t0, last_progress;
	unsigned long rows0;
} snap_ctx;

static void on_delivery(void *opaque, const cdc_msg_tag *tag, const cdc_delivery *d)
{
	snap_ctx *s = opaque;

	(void)tag;
	if (d->status == CDC_DELIVERED) {
		s->st->delivered++;
		return;
	}
	if (!s->st->delivery_failures || d->status == CDC_REJECTED)
		fprintf(stderr, "cdctail: kafka delivery failed%s: topic %s: %s\n",
			d->status == CDC_REJECTED ? " (Kafka will not accept it)" : "", d->topic ? d->topic : "?",
			d->err ? d->err : "?");
	s->st->delivery_failures++;
}

/* cdc_event_fn: one event to Kafka or a JSON line. */
static int deliver(void *opaque, const cdc_update *u, const char *json, size_t len)
{
	snap_ctx *s = opaque;
	char err[CDC_ERRSTR_SIZE];
	cdc_msg_tag tag = { .ts = cdc_eventer_ts(s->ev) };
	const char *key;
	size_t keylen;
	int rc;

	s->st->events++;
	if (!s->kafka)
		return fwrite(json, 1, len, s->out) != len || fputc('\n', s->out) == EOF ? -1 : 0;
	cdc_eventer_key(s->ev, &key, &keylen);
	cdc_topic_format(s->o->topic_template, s->o->topic_prefix, u->table->keyspace, u->table->name, s->topic,
			 sizeof(s->topic));
	while ((rc = cdc_sink_produce(s->kafka, s->topic, key, keylen, json, len, &tag, err, sizeof(err))) ==
	       CDC_SINK_FULL)
		cdc_sink_poll(s->kafka, 100);
	if (rc != 0) {
		fprintf(stderr, "cdctail: %s\n", err);
		return -1;
	}
	cdc_sink_poll(s->kafka, 0);
	return 0;
}

static void progress_line(snap_ctx *s, int force)
{
	double now = mono_s(), dt = now - s->t0;

	if (!s->o->progress || (!force && now - s->last_progress < 1.0))
		return;
	s->last_progress = now;
	fprintf(stderr, "\rcdctail snapshot: %s.%s range %d/%d, %lu rows, %lu events, %.0f rows/s   ", s->t->keyspace,
		s->t->name, s->range, s->nranges, s->st->rows, s->st->events,
		dt > 0 ? (s->st->rows - s->rows0) / dt : 0.0);
}

/* Builds and delivers the static or the clustering row of a CQL row. */
static int emit(snap_ctx *s, const cdc_cql_value *cells, int ncells, int is_static, char *errstr, size_t errlen)
{
	cdc_mutation m;
	char e[CDC_ERRSTR_SIZE];
	int rc = cdc_snaprow_build(s->rb, s->t, s->per_element, cells, ncells, is_static, &s->clock, &m, errstr, errlen);

	if (rc <= 0)
		return rc;
	if (cdc_events_emit(s->ev, &m, &s->src, deliver, s, e, sizeof(e)) < 0) {
		if (s->out && ferror(s->out))
			return cdc_error(errstr, errlen, "writing events: %s", strerror(errno));
		return cdc_error(errstr, errlen, "%s.%s: a row that does not render: %s", s->t->keyspace, s->t->name, e);
	}
	return 0;
}

/* cdc_cql_row_fn: one row of a range. */
static int on_row(void *opaque, const cdc_cql_col *cols, const cdc_cql_value *cells, int ncols, char *errstr,
		  size_t errlen)
{
	snap_ctx *s = opaque;
	int new_partition;

	(void)cols;
	s->clock.now_s = (int64_t)time(NULL);
	cdc_snaprow_key_bytes(s->t, cells, &s->key);
	if (s->key.oom)
		return cdc_error(errstr, errlen, "out of memory");
	new_partition = !s->have_prev || s->key.len != s->prev_key.len ||
			memcmp(s->key.p, s->prev_key.p, s->key.len) != 0;
	if (new_partition) {
		cdc_buf tmp = s->prev_key;

		s->prev_key = s->key;
		s->key = tmp;
		s->have_prev = 1;
		if (s->has_static && emit(s, cells, ncols, 1, errstr, errlen) != 0)
			return -1;
	}
	if (emit(s, cells, ncols, 0, errstr, errlen) != 0)
		return -1;
	s->st->rows++;
	if ((s->st->rows & 255) == 0)
		progress_line(s, 0);
	return 0;
}

/* Waits until every event so far is delivered: Kafka acknowledged it, or
 * the file is flushed (and fsync'd when it is one). */
static int settle(snap_ctx *s, char *errstr, size_t errlen)
{
	if (s->kafka) {
		if (cdc_sink_flush(s->kafka, FLUSH_TIMEOUT_MS, errstr, errlen) != 0)
			return -1;
		if (s->st->delivery_failures)
			return cdc_error(errstr, errlen, "%lu event(s) not delivered to Kafka; the range is not recorded",
					 s->st->delivery_failures);
		return 0;
	}
	if (fflush(s->out) != 0 || (s->o->output && fsync(fileno(s->out)) != 0))
		return cdc_error(errstr, errlen, "writing events: %s", strerror(errno));
	return 0;
}

/* Reads one table from its recorded progress on, saving it after each
 * range. */
static int snapshot_table(snap_ctx *s, cdc_cql_conn *c, cdc_snap_state *state, cdc_snap_progress *pr,
			  char *errstr, size_t errlen)
{
	const cdc_snapshot_opts *o = s->o;
	int n = o->ranges > 0 ? o->ranges : CDC_SNAPSHOT_RANGES, i, k;
	cdc_buf q = CDC_BUF_INIT;
	int rc = 0;

	s->has_static = 0;
	for (k = 0; k < s->t->ncols; k++)
		s->has_static |= s->t->cols[k]->kind == CDC_COL_STATIC;
	s->nranges = n;
	for (i = 0; i < n && rc == 0 && !pr->done; i++) {
		int64_t lo = cdc_snapshot_boundary(i, n), hi = cdc_snapshot_boundary(i + 1, n);

		if (hi <= pr->token)
			continue;
		if (lo < pr->token)
			lo = pr->token;
		s->range = i + 1;
		s->have_prev = 0;
		cdc_buf_reset(&q);
		cdc_snaprow_select(&q, s->t, s->per_element, lo, hi);
		if (q.oom) {
			rc = cdc_error(errstr, errlen, "out of memory");
			break;
		}
		if (cdc_cql_query_at(c, cdc_buf_cstr(&q), o->consistency >= 0 ? (uint16_t)o->consistency : CL_LOCAL_QUORUM,
				     o->page_size, on_row, s, errstr, errlen) != 0 ||
		    settle(s, errstr, errlen) != 0) {
			rc = -1;
			break;
		}
		s->st->ranges++;
		pr->token = hi;
		pr->done = i + 1 == n;
		if (o->output && !o->kafka_props)
			state->output_bytes = (int64_t)ftello(s->out);
		if (o->state_path && cdc_snap_state_save(state, o->state_path, errstr, errlen) != 0)
			rc = -1;
		progress_line(s, 1);
	}
	cdc_buf_free(&q);
	return rc;
}

/* ---- setup ---- */

/* The keyspaces to fetch the schema of, each once, NULL-terminated and
 * malloc'd (free_list); NULL when out of memory. */
static char **keyspace_list(const cdc_snapshot_opts *o)
{
	size_t n = 0, k = 0, i, j;
	char **v;

	for (i = 0; o->tables && o->tables[i]; i++)
		n++;
	for (i = 0; o->keyspaces && o->keyspaces[i]; i++)
		n++;
	if (!(v = calloc(n + 1, sizeof(*v))))
		return NULL;
	for (i = 0; i < n; i++) {
		size_t nt = 0;
		char *name;

		while (o->tables && o->tables[nt])
			nt++;
		if (i < nt)
			name = strndup(o->tables[i], strcspn(o->tables[i], "."));
		else
			name = strdup(o->keyspaces[i - nt]);
		if (!name)
			goto oom;
		for (j = 0; j < k && strcmp(v[j], name) != 0; j++)
			;
		if (j < k)
			free(name);
		else
			v[k++] = name;
	}
	return v;
oom:
	for (j = 0; j < k; j++)
		free(v[j]);
	free(v);
	return NULL;
}

static void free_list(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

/* The tables to read, in order: the --table ones, then every table of each
 * --keyspace (by name). NULL with errstr for a table the node lacks. */
static const cdc_table **table_list(const cdc_snapshot_opts *o, const cdc_schema *schema, size_t *count,
				    char *errstr, size_t errlen)
{
	size_t n = cdc_schema_table_count(schema), k = 0, i, j, cap = n + 64;
	const cdc_table **v = calloc(cap + 1, sizeof(*v));

	if (!v) {
		cdc_error(errstr, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; o->tables && o->tables[i]; i++) {
		const char *dot = strchr(o->tables[i], '.');
		const cdc_table *found = NULL;

		for (j = 0; dot && j < n && !found; j++) {
			const cdc_table *t = cdc_schema_table_at(schema, j);

			if (!t->internal && !t->dropped_table && strlen(t->keyspace) == (size_t)(dot - o->tables[i]) &&
			    strncmp(t->keyspace, o->tables[i], (size_t)(dot - o->tables[i])) == 0 &&
			    strcmp(t->name, dot + 1) == 0)
				found = t;
		}
		if (!found) {
			cdc_error(errstr, errlen, "%s: no such table on %s:%d", o->tables[i], o->host, o->port);
			free(v);
			return NULL;
		}
		for (j = 0; j < k && v[j] != found; j++)
			;
		if (j == k && k < cap)
			v[k++] = found;
	}
	for (i = 0; o->keyspaces && o->keyspaces[i]; i++) {
		size_t before = k;

		for (j = 0; j < n; j++) {
			const cdc_table *t = cdc_schema_table_at(schema, j);
			size_t m;

			if (t->internal || t->dropped_table || strcmp(t->keyspace, o->keyspaces[i]) != 0)
				continue;
			for (m = 0; m < k && v[m] != t; m++)
				;
			if (m == k && k < cap)
				v[k++] = t;
		}
		if (k == before)
			fprintf(stderr, "cdctail: snapshot: keyspace %s has no tables\n", o->keyspaces[i]);
	}
	*count = k;
	return v;
}

/* Opens the JSON lines output: stdout, or the file (on a resume cut back
 * to the recorded length and appended to). */
static FILE *open_output(const cdc_snapshot_opts *o, const cdc_snap_state *state, int resumed, char *errstr,
			 size_t errlen)
{
	FILE *f;

	if (!o->output)
		return stdout;
	if (resumed && state->output_bytes >= 0) {
		struct stat sb;

		if (stat(o->output, &sb) != 0 || sb.st_size < state->output_bytes) {
			cdc_error(errstr, errlen, "%s: shorter than the %" PRId64 " bytes the state file recorded", o->output,
				  state->output_bytes);
			return NULL;
		}
		if (truncate(o->output, (off_t)state->output_bytes) != 0) {
			cdc_error(errstr, errlen, "%s: truncate: %s", o->output, strerror(errno));
			return NULL;
		}
	}
	f = fopen(o->output, resumed ? "a" : "w");
	if (!f)
		cdc_error(errstr, errlen, "%s: %s", o->output, strerror(errno));
	return f;
}

/* The start time: the earlier of this host's clock and the node's (whose
 * coordinators give writes their timestamps), printed. */
static int64_t start_time(const node_info *ni)
{
	int64_t here = wall_us(), node = ni->now_ms * 1000, skew = node - here;

	if (skew > 1000000 || skew < -1000000)
		fprintf(stderr, "cdctail: snapshot: the node's clock is %.3f s %s this host's; the earlier is the start time\n",
			(double)(skew < 0 ? -skew : skew) / 1e6, skew < 0 ? "behind" : "ahead of");
	return node > 0 && node < here ? node : here;
}

/* Connects, checks the partitioner, reads the schema of the keyspaces
 * wanted. */
static int connect_node(const cdc_snapshot_opts *o, cdc_cql_conn **c, node_info *ni, cdc_schema **schema,
			char *errstr, size_t errlen)
{
	cdc_buf json = CDC_BUF_INIT;
	char **ks = keyspace_list(o);
	int timeout = o->timeout_ms > 0 ? o->timeout_ms : 10000, rc = -1;

	memset(ni, 0, sizeof(*ni));
	*schema = NULL;
	if (!ks)
		return cdc_error(errstr, errlen, "out of memory");
	if (cdc_cql_connect_tls(c, o->host, o->port, o->user, o->password, o->tls, timeout, errstr, errlen) != 0)
		goto out;
	if (cdc_cql_query(*c, "SELECT partitioner, release_version, toUnixTimestamp(now()) FROM system.local", 0,
			  on_local, ni, errstr, errlen) != 0)
		goto out;
	if (ni->rows != 1) {
		cdc_error(errstr, errlen, "%s:%d: system.local has %d rows", o->host, o->port, ni->rows);
		goto out;
	}
	if (strcmp(ni->partitioner, "org.apache.cassandra.dht.Murmur3Partitioner") != 0) {
		cdc_error(errstr, errlen, "%s:%d: partitioner %s: snapshot reads token ranges of the Murmur3Partitioner only",
			  o->host, o->port, ni->partitioner);
		goto out;
	}
	if (cdc_schema_fetch_json_tls(o->host, o->port, o->user, o->password, o->tls, (const char *const *)ks, timeout,
				      &json, NULL, errstr, errlen) != 0)
		goto out;
	*schema = cdc_schema_new();
	if (!*schema) {
		cdc_error(errstr, errlen, "out of memory");
		goto out;
	}
	rc = cdc_schema_load_json(*schema, json.p, json.len, "the node's schema", errstr, errlen);
out:
	free_list(ks);
	cdc_buf_free(&json);
	return rc;
}

/* Loads the state file (or starts one), fixes the start time, prints it. */
static int begin_state(const cdc_snapshot_opts *o, const node_info *ni, cdc_snap_state *state,
		       cdc_snapshot_stats *st, char *errstr, size_t errlen)
{
	char when[80];
	int exists = 0;

	cdc_snap_state_init(state);
	if (o->state_path && cdc_snap_state_load(state, o->state_path, &exists, errstr, errlen) != 0)
		return -1;
	st->resumed = exists;
	if (!exists) {
		state->start_us = start_time(ni);
		if (o->output && !o->kafka_props)
			state->output_bytes = 0; /* a resume cuts what a killed first range wrote */
	}
	st->start_us = state->start_us;
	iso_time(st->start_us, when);
	fprintf(stderr, "cdctail snapshot: start time %s (%" PRId64 " us since the epoch)%s%s\n", when, st->start_us,
		exists ? ", resumed from " : "", exists ? o->state_path : "");
	if (!exists && o->state_path && cdc_snap_state_save(state, o->state_path, errstr, errlen) != 0)
		return -1;
	return 0;
}

int cdc_snapshot(const cdc_snapshot_opts *o, cdc_snapshot_stats *st, char *errstr, size_t errlen)
{
	cdc_cql_conn *c = NULL;
	cdc_schema *schema = NULL;
	cdc_snap_state state;
	const cdc_table **tables = NULL;
	snap_ctx s;
	node_info ni;
	size_t ntables = 0, i;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	memset(&s, 0, sizeof(s));
	cdc_snap_state_init(&state);
	s.o = o;
	s.st = st;
	if ((!o->tables || !o->tables[0]) && (!o->keyspaces || !o->keyspaces[0]))
		return cdc_error(errstr, errlen, "no --table or --keyspace given");
	if (connect_node(o, &c, &ni, &schema, errstr, errlen) != 0)
		goto out;
	if (!(tables = table_list(o, schema, &ntables, errstr, errlen)))
		goto out;
	if (begin_state(o, &ni, &state, st, errstr, errlen) != 0)
		goto out;
	s.per_element = atoi(ni.release) >= 5;
	s.clock.unknown_ts = state.start_us - 1;
	s.src.node = o->node ? o->node : o->host;
	s.src.cassandra = ni.release[0] ? ni.release : NULL;
	s.rb = cdc_snaprow_new();
	s.ev = cdc_eventer_new();
	if (!s.rb || !s.ev) {
		cdc_error(errstr, errlen, "out of memory");
		goto out;
	}
	cdc_eventer_set_snapshot(s.ev, state.start_us);
	if (o->kafka_props) {
		if (cdc_sink_kafka_new(&s.kafka, o->kafka_props, o->max_in_flight ? o->max_in_flight : MAX_IN_FLIGHT,
				       on_delivery, &s, errstr, errlen) != 0)
			goto out;
		cdc_sink_set_max_bytes(s.kafka, o->max_in_flight_bytes ? o->max_in_flight_bytes : MAX_IN_FLIGHT_BYTES);
	} else if (!(s.out = open_output(o, &state, st->resumed, errstr, errlen))) {
		goto out;
	}
	s.t0 = mono_s();
	for (i = 0; i < ntables; i++) {
		cdc_snap_progress *pr = cdc_snap_state_table(&state, tables[i]->keyspace, tables[i]->name);

		if (!pr) {
			cdc_error(errstr, errlen, "%s.%s: a name the state file cannot hold", tables[i]->keyspace,
				  tables[i]->name);
			goto out;
		}
		st->tables++;
		s.t = tables[i];
		if (snapshot_table(&s, c, &state, pr, errstr, errlen) != 0)
			goto out;
	}
	rc = 0;
out:
	if (o->progress && st->ranges)
		fputc('\n', stderr);
	if (s.kafka) {
		if (rc == 0 && cdc_sink_flush(s.kafka, FLUSH_TIMEOUT_MS, errstr, errlen) != 0)
			rc = -1;
		cdc_sink_destroy(s.kafka);
	}
	if (s.out && s.out != stdout && fclose(s.out) != 0 && rc == 0)
		rc = cdc_error(errstr, errlen, "%s: %s", o->output, strerror(errno));
	else if (s.out == stdout && fflush(stdout) != 0 && rc == 0)
		rc = cdc_error(errstr, errlen, "writing events: %s", strerror(errno));
	cdc_buf_free(&s.key);
	cdc_buf_free(&s.prev_key);
	cdc_snaprow_destroy(s.rb);
	cdc_eventer_destroy(s.ev);
	free(tables);
	cdc_snap_state_free(&state);
	cdc_schema_destroy(schema);
	cdc_cql_close(c);
	return rc;
}
