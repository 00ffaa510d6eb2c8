/* run.c - `cdctail run`: cdc_raw → Kafka, at least once. */
#include "run.h"
#include "acktrack.h"
#include "checkpoint.h"
#include "config.h"
#include "err.h"
#include "event.h"
#include "mutation.h"
#include "notify.h"
#include "schema.h"
#include "schema_fetch.h"
#include "segment.h"
#include "sink.h"
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- signals and logging ---- */

static volatile sig_atomic_t g_stop, g_hup;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		g_hup = 1;
	else
		g_stop = 1;
}

static FILE *g_log;            /* NULL: stderr */
static const char *g_log_path;
static int g_journal;          /* stderr goes to journald: <N> prefixes */

/* One log line: "<level>cdctail: msg" for journald, else "cdctail: msg". */
static void logmsg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logmsg(int level, const char *fmt, ...)
{
	FILE *f = g_log ? g_log : stderr;
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (g_journal && !g_log)
		fprintf(f, "<%d>cdctail: %s\n", level, line);
	else
		fprintf(f, "cdctail: %s\n", line);
	fflush(f);
}

#define LOG_ERR 3
#define LOG_WARN 4
#define LOG_INFO 6

/* Opens (or reopens, on SIGHUP) the log file named by the configuration. */
static void open_log(void)
{
	if (g_log) {
		fclose(g_log);
		g_log = NULL;
	}
	if (g_log_path && *g_log_path && strcmp(g_log_path, "-") != 0) {
		g_log = fopen(g_log_path, "a");
		if (!g_log)
			fprintf(stderr, "cdctail: log_file %s: %s; logging to stderr\n", g_log_path, strerror(errno));
	}
}

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int64_t wall_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* ---- settings ---- */

static const char *const known_keys[] = {
	"cdc_raw", "state_dir", "schema", "cassandra.host", "cassandra.port", "cassandra.user",
	"cassandra.password_file", "node", "output", "format", "topic.template", "topic.prefix",
	"max_in_flight", "checkpoint_interval", "rescan_interval", "metrics.textfile", "metrics.interval",
	"archive_dir", "quarantine_dir", "delete_consumed", "shutdown_timeout", "log_file",
	"orphan_timeout", NULL,
};

typedef struct settings {
	const char *cdc_raw, *state_dir, *schema, *host, *user, *password_file, *node, *output;
	const char *topic_template, *topic_prefix, *metrics_file, *archive_dir, *quarantine_dir;
	char quarantine_buf[4096], node_buf[256];
	long long port, max_in_flight, checkpoint_ms, rescan_ms, metrics_ms, shutdown_ms, orphan_ms;
	int trigger, delete_consumed;
	const char *props[130];
	int nprops;
} settings;

/* Reads the settings out of the configuration; 0, or -1 with errstr. */
static int settings_load(settings *s, const cdc_config *c, char *errstr, size_t errlen)
{
	const char *fmt, *del;

	memset(s, 0, sizeof(*s));
	if (cdc_config_check(c, known_keys, errstr, errlen) != 0)
		return -1;
	s->cdc_raw = cdc_config_get(c, "cdc_raw", NULL);
	s->state_dir = cdc_config_get(c, "state_dir", NULL);
	if (!s->cdc_raw || !s->state_dir)
		return cdc_error(errstr, errlen, "cdc_raw and state_dir must be set");
	s->schema = cdc_config_get(c, "schema", "live");
	s->host = cdc_config_get(c, "cassandra.host", "127.0.0.1");
	s->user = cdc_config_get(c, "cassandra.user", NULL);
	s->password_file = cdc_config_get(c, "cassandra.password_file", NULL);
	s->node = cdc_config_get(c, "node", NULL);
	if (!s->node) {
		if (gethostname(s->node_buf, sizeof(s->node_buf) - 1) == 0)
			s->node = s->node_buf;
	}
	s->output = cdc_config_get(c, "output", "-");
	s->topic_template = cdc_config_get(c, "topic.template", "{prefix}.{keyspace}.{table}");
	s->topic_prefix = cdc_config_get(c, "topic.prefix", "cdctail");
	s->metrics_file = cdc_config_get(c, "metrics.textfile", NULL);
	s->archive_dir = cdc_config_get(c, "archive_dir", NULL);
	s->quarantine_dir = cdc_config_get(c, "quarantine_dir", NULL);
	if (!s->quarantine_dir) {
		snprintf(s->quarantine_buf, sizeof(s->quarantine_buf), "%s/quarantine", s->state_dir);
		s->quarantine_dir = s->quarantine_buf;
	}
	fmt = cdc_config_get(c, "format", "cdctail");
	if (strcmp(fmt, "trigger") == 0)
		s->trigger = 1;
	else if (strcmp(fmt, "cdctail") != 0)
		return cdc_error(errstr, errlen, "format = %s: cdctail or trigger", fmt);
	del = cdc_config_get(c, "delete_consumed", "true");
	if (strcmp(del, "true") == 0)
		s->delete_consumed = 1;
	else if (strcmp(del, "false") != 0)
		return cdc_error(errstr, errlen, "delete_consumed = %s: true or false", del);
	if (cdc_config_get_num(c, "cassandra.port", 9042, 0, &s->port, errstr, errlen) ||
	    cdc_config_get_num(c, "max_in_flight", 10000, 0, &s->max_in_flight, errstr, errlen) ||
	    cdc_config_get_num(c, "checkpoint_interval", 1000, 1, &s->checkpoint_ms, errstr, errlen) ||
	    cdc_config_get_num(c, "rescan_interval", 5000, 1, &s->rescan_ms, errstr, errlen) ||
	    cdc_config_get_num(c, "metrics.interval", 10000, 1, &s->metrics_ms, errstr, errlen) ||
	    cdc_config_get_num(c, "shutdown_timeout", 30000, 1, &s->shutdown_ms, errstr, errlen) ||
	    cdc_config_get_num(c, "orphan_timeout", 600000, 1, &s->orphan_ms, errstr, errlen))
		return -1;
	if (s->max_in_flight < 1)
		s->max_in_flight = 1;
	if (s->checkpoint_ms < 10)
		s->checkpoint_ms = 10;
	s->nprops = cdc_config_kafka_props(c, s->props, sizeof(s->props) / sizeof(s->props[0]));
	if (s->nprops < 0)
		return cdc_error(errstr, errlen, "too many kafka.* properties");
	return 0;
}

/* ---- metrics ---- */

typedef struct table_stat {
	char keyspace[64], table[64], op[24];
	unsigned long long events, bytes;
} table_stat;

typedef struct metrics {
	table_stat *t;
	size_t n, cap;
	unsigned long long acked, delivery_errors, decode_errors, unknown_entries, segments_done;
	unsigned long long segments_quarantined, rewinds;
	int64_t newest_acked_ts;     /* µs, write time of the newest event acknowledged */
	uint64_t cdc_raw_bytes;
	size_t segments_pending;
} metrics;

/* Counts one produced event of table/op (bounded: 4096 series at most). */
static void count_event(metrics *m, const cdc_table *t, const char *op, size_t bytes)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->t[i].op, op) == 0 && strcmp(m->t[i].table, t->name) == 0 &&
		    strcmp(m->t[i].keyspace, t->keyspace) == 0)
			break;
	if (i == m->n) {
		if (m->n == m->cap) {
			size_t cap = m->cap ? m->cap * 2 : 16;
			table_stat *nt;

			if (cap > 4096 || !(nt = realloc(m->t, cap * sizeof(*nt))))
				return;
			m->t = nt;
			m->cap = cap;
		}
		snprintf(m->t[i].keyspace, sizeof(m->t[i].keyspace), "%s", t->keyspace);
		snprintf(m->t[i].table, sizeof(m->t[i].table), "%s", t->name);
		snprintf(m->t[i].op, sizeof(m->t[i].op), "%s", op);
		m->t[i].events = m->t[i].bytes = 0;
		m->n++;
	}
	m->t[i].events++;
	m->t[i].bytes += bytes;
}

/* Writes the Prometheus text file atomically (node_exporter's textfile
 * collector reads it): temp file, rename. */
static void write_metrics(const metrics *m, const char *path, size_t in_flight)
{
	char tmp[4200];
	FILE *f;
	size_t i;
	double lag = m->newest_acked_ts ? (wall_us() - m->newest_acked_ts) / 1e6 : 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f) {
		logmsg(LOG_WARN, "metrics.textfile %s: %s", tmp, strerror(errno));
		return;
	}
	fputs("# HELP cdctail_events_total Events produced, by table and op.\n"
	      "# TYPE cdctail_events_total counter\n", f);
	for (i = 0; i < m->n; i++)
		fprintf(f, "cdctail_events_total{keyspace=\"%s\",table=\"%s\",op=\"%s\"} %llu\n", m->t[i].keyspace,
			m->t[i].table, m->t[i].op, m->t[i].events);
	fputs("# HELP cdctail_event_bytes_total JSON bytes produced, by table and op.\n"
	      "# TYPE cdctail_event_bytes_total counter\n", f);
	for (i = 0; i < m->n; i++)
		fprintf(f, "cdctail_event_bytes_total{keyspace=\"%s\",table=\"%s\",op=\"%s\"} %llu\n",
			m->t[i].keyspace, m->t[i].table, m->t[i].op, m->t[i].bytes);
	fprintf(f,
		"# HELP cdctail_events_acked_total Events acknowledged by the sink.\n"
		"# TYPE cdctail_events_acked_total counter\ncdctail_events_acked_total %llu\n"
		"# HELP cdctail_delivery_errors_total Messages Kafka definitively failed.\n"
		"# TYPE cdctail_delivery_errors_total counter\ncdctail_delivery_errors_total %llu\n"
		"# HELP cdctail_decode_errors_total Entries or segments that could not be read.\n"
		"# TYPE cdctail_decode_errors_total counter\ncdctail_decode_errors_total %llu\n"
		"# HELP cdctail_unknown_table_entries_total Entries of tables not in the schema (skipped).\n"
		"# TYPE cdctail_unknown_table_entries_total counter\ncdctail_unknown_table_entries_total %llu\n"
		"# HELP cdctail_segments_done_total Segments fully delivered and released.\n"
		"# TYPE cdctail_segments_done_total counter\ncdctail_segments_done_total %llu\n"
		"# HELP cdctail_segments_quarantined_total Segments moved to the quarantine folder.\n"
		"# TYPE cdctail_segments_quarantined_total counter\ncdctail_segments_quarantined_total %llu\n"
		"# HELP cdctail_segments_pending Segments in cdc_raw not yet released.\n"
		"# TYPE cdctail_segments_pending gauge\ncdctail_segments_pending %zu\n"
		"# HELP cdctail_cdc_raw_bytes Bytes of segments and index files in cdc_raw.\n"
		"# TYPE cdctail_cdc_raw_bytes gauge\ncdctail_cdc_raw_bytes %" PRIu64 "\n"
		"# HELP cdctail_in_flight Messages handed to Kafka, not yet acknowledged.\n"
		"# TYPE cdctail_in_flight gauge\ncdctail_in_flight %zu\n"
		"# HELP cdctail_lag_seconds Now minus the write time of the newest acknowledged event.\n"
		"# TYPE cdctail_lag_seconds gauge\ncdctail_lag_seconds %.3f\n",
		m->acked, m->delivery_errors, m->decode_errors, m->unknown_entries, m->segments_done,
		m->segments_quarantined, m->segments_pending, m->cdc_raw_bytes, in_flight, lag);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		logmsg(LOG_WARN, "metrics.textfile %s: %s", path, strerror(errno));
		unlink(tmp);
	}
}

/* ---- the service ---- */

/* A segment between its first read and its release. */
typedef struct seg_state {
	cdc_seg_file file;
	cdc_segment *seg;        /* open while being read */
	cdc_acktrack *ack;
	int messaging_version, cl_version;
	int read_done;           /* everything Cassandra will write is read */
	int bad;                 /* unreadable: quarantine instead of delete */
	int completed;           /* its idx said COMPLETED (or 3.x: whole file) */
	int64_t opened_ms;
} seg_state;

/* Events of one entry, rendered, waiting to be handed to the sink. */
typedef struct staged {
	cdc_buf data;            /* topic \0 key payload, back to back */
	struct smsg {
		size_t topic, key, keylen, payload, len;
		int64_t ts;
	} *m;
	size_t n, cap, next;
	int64_t segment_id;
	uint64_t seq;
} staged;

typedef struct service {
	settings s;
	cdc_checkpoint *cp;
	cdc_sink *sink;
	cdc_watch *watch;
	cdc_schema *schema;
	cdc_decoder *dec;
	cdc_eventer *ev;
	char *password;
	seg_state **segs;        /* active, by id; segs[0] is the oldest */
	size_t nsegs, capsegs;
	int64_t reading_id;      /* id of the segment being read, or -1 */
	staged st;
	metrics m;
	int rewind;              /* a delivery failed: re-read from the checkpoint */
	int dirty;               /* checkpoint changed in memory */
	int fatal;
	uint8_t (*unknown)[16];  /* table ids not found after a refresh */
	size_t nunknown;
	char topic[512];
	int64_t cur_segment;     /* for event callbacks */
} service;

static seg_state *find_seg(service *sv, int64_t id)
{
	size_t i;

	for (i = 0; i < sv->nsegs; i++)
		if (sv->segs[i]->file.id == id)
			return sv->segs[i];
	return NULL;
}

/* Delivery report: the only place a message's fate is learnt. */
static void on_delivery(void *opaque, const cdc_msg_tag *tag, int ok, const char *err)
{
	service *sv = opaque;
	seg_state *g = find_seg(sv, tag->segment_id);

	if (ok) {
		sv->m.acked++;
		if (tag->ts > sv->m.newest_acked_ts)
			sv->m.newest_acked_ts = tag->ts;
	} else {
		if (!sv->m.delivery_errors)
			logmsg(LOG_ERR, "delivery failed: %s; segment %" PRId64 " will be re-read from its checkpoint",
			       err ? err : "?", tag->segment_id);
		sv->m.delivery_errors++;
		sv->rewind = 1;
	}
	if (g && g->ack)
		cdc_acktrack_ack(g->ack, tag->seq, ok);
}

/* The topic of an update: the template with {prefix}, {keyspace}, {table}. */
static const char *topic_for(service *sv, const cdc_table *t)
{
	const char *p = sv->s.topic_template;
	size_t n = 0;

	while (*p && n + 1 < sizeof(sv->topic)) {
		const char *v = NULL;
		size_t skip = 0;

		if (strncmp(p, "{prefix}", 8) == 0)
			v = sv->s.topic_prefix, skip = 8;
		else if (strncmp(p, "{keyspace}", 10) == 0)
			v = t->keyspace, skip = 10;
		else if (strncmp(p, "{table}", 7) == 0)
			v = t->name, skip = 7;
		if (v) {
			n += (size_t)snprintf(sv->topic + n, sizeof(sv->topic) - n, "%s", v);
			if (n >= sizeof(sv->topic))
				n = sizeof(sv->topic) - 1;
			p += skip;
		} else {
			sv->topic[n++] = *p++;
		}
	}
	sv->topic[n] = '\0';
	return sv->topic;
}

/* Event callback: stages one event of the current entry. */
static int stage_event(void *opaque, const cdc_update *u, const char *json, size_t len)
{
	service *sv = opaque;
	staged *st = &sv->st;
	const char *key, *topic = topic_for(sv, u->table);
	size_t keylen, tl = strlen(topic) + 1;
	struct smsg *m;

	cdc_eventer_key(sv->ev, &key, &keylen);
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 16;
		struct smsg *nm = realloc(st->m, cap * sizeof(*nm));

		if (!nm)
			return -1;
		st->m = nm;
		st->cap = cap;
	}
	m = &st->m[st->n++];
	m->topic = st->data.len;
	cdc_buf_put(&st->data, topic, tl);
	m->key = st->data.len;
	m->keylen = keylen;
	cdc_buf_put(&st->data, key, keylen);
	m->payload = st->data.len;
	m->len = len;
	cdc_buf_put(&st->data, json, len);
	m->ts = cdc_eventer_ts(sv->ev);
	if (st->data.oom)
		return -1;
	count_event(&sv->m, u->table, cdc_eventer_op(sv->ev), len);
	return 0;
}

/* Hands staged messages to the sink: 0 all sent, 1 the sink is full (call
 * again after polling), -1 fatal. */
static int send_staged(service *sv)
{
	staged *st = &sv->st;
	char err[CDC_ERRSTR_SIZE];

	while (st->next < st->n) {
		const struct smsg *m = &st->m[st->next];
		cdc_msg_tag tag = { st->segment_id, st->seq, m->ts };
		int rc = cdc_sink_produce(sv->sink, st->data.p + m->topic, st->data.p + m->key, m->keylen,
					  st->data.p + m->payload, m->len, &tag, err, sizeof(err));

		if (rc == CDC_SINK_FULL)
			return 1;
		if (rc != 0) {
			logmsg(LOG_ERR, "%s", err);
			return -1;
		}
		st->next++;
	}
	st->n = st->next = 0;
	cdc_buf_reset(&st->data);
	return 0;
}

/* Whether id is a table already looked for after a schema refresh. */
static int known_unknown(service *sv, const uint8_t id[16], int add)
{
	size_t i;

	for (i = 0; i < sv->nunknown; i++)
		if (memcmp(sv->unknown[i], id, 16) == 0)
			return 1;
	if (add && sv->nunknown < 4096)
		memcpy(sv->unknown[sv->nunknown++], id, 16);
	return 0;
}

/* Loads the schema: a file, or the live node's system_schema. */
static int load_schema(service *sv, char *errstr, size_t errlen)
{
	cdc_schema *s = cdc_schema_new();
	cdc_buf json = { 0 };
	int rc;

	if (!s)
		return cdc_error(errstr, errlen, "out of memory");
	if (strcmp(sv->s.schema, "live") != 0) {
		rc = cdc_schema_load_file(s, sv->s.schema, errstr, errlen);
	} else {
		cdc_buf others = { 0 };
		size_t i;

		rc = cdc_schema_fetch_json_others(sv->s.host, (int)sv->s.port, sv->s.user, sv->password, NULL,
						  &json, &others, errstr, errlen);
		if (rc == 0)
			rc = cdc_schema_load_json(s, json.p, json.len, "live schema", errstr, errlen);
		/* Cassandra's own tables are in every segment; knowing their ids
		 * spares a refresh for each (and a stall while the node is down,
		 * as after a 3.x drain) */
		for (i = 0; rc == 0 && i + 16 <= others.len; i += 16)
			known_unknown(sv, (const uint8_t *)others.p + i, 1);
		cdc_buf_free(&others);
		cdc_buf_free(&json);
	}
	if (rc != 0) {
		cdc_schema_destroy(s);
		return -1;
	}
	if (sv->dec)
		cdc_decoder_set_schema(sv->dec, s);
	cdc_schema_destroy(sv->schema);
	sv->schema = s;
	return 0;
}

/* Decodes one entry and stages its events; registers it with the tracker. */
static int process_entry(service *sv, seg_state *g, const cdc_entry_info *e)
{
	char errstr[CDC_ERRSTR_SIZE], uuid[37];
	cdc_event_source src = { sv->s.node, g->file.id, e->offset, g->cl_version, NULL };
	cdc_mutation m;
	int rc;

	rc = cdc_decode(sv->dec, e->body, e->size, g->messaging_version, &m, errstr, sizeof(errstr));
	if (rc == CDC_DECODE_UNKNOWN_TABLE && strcmp(sv->s.schema, "live") == 0 &&
	    !known_unknown(sv, m.missing_table, 0)) {
		uint8_t id[16];

		memcpy(id, m.missing_table, 16);
		cdc_uuid_format(id, uuid);
		if (load_schema(sv, errstr, sizeof(errstr)) != 0) {
			logmsg(LOG_WARN, "schema refresh for unknown table %s failed: %s; retrying", uuid, errstr);
			sv->rewind = 1; /* the entry is read again from the checkpoint */
			usleep(1000000);
			return 1;
		}
		rc = cdc_decode(sv->dec, e->body, e->size, g->messaging_version, &m, errstr, sizeof(errstr));
		if (rc == CDC_DECODE_UNKNOWN_TABLE)
			known_unknown(sv, id, 1);
	}
	sv->st.n = sv->st.next = 0;
	cdc_buf_reset(&sv->st.data);
	src.cassandra = cdc_schema_cassandra_version(sv->schema); /* after any refresh */
	if (rc == CDC_DECODE_UNKNOWN_TABLE) {
		sv->m.unknown_entries++;
	} else if (rc != 0) {
		logmsg(LOG_ERR, "%s: entry at offset %" PRIu64 ": %s; entry skipped", g->file.path, e->offset, errstr);
		sv->m.decode_errors++;
	} else if (cdc_events_emit(sv->ev, &m, &src, stage_event, sv, errstr, sizeof(errstr)) < 0) {
		if (sv->st.data.oom) {
			logmsg(LOG_ERR, "out of memory");
			return -1;
		}
		cdc_uuid_format(m.updates ? m.updates[0].table->id : (const uint8_t *)"", uuid);
		logmsg(LOG_ERR, "%s: entry at offset %" PRIu64 ": %s; entry skipped", g->file.path, e->offset, errstr);
		sv->m.decode_errors++;
		sv->st.n = 0;
	}
	sv->st.segment_id = g->file.id;
	if (cdc_acktrack_add(g->ack, e->end, (uint32_t)sv->st.n, &sv->st.seq) != 0) {
		logmsg(LOG_ERR, "%s: entry at offset %" PRIu64 ": position tracking failed", g->file.path, e->offset);
		return -1;
	}
	return 0;
}

/* Opens the segment for reading from its checkpoint position. 0 open, 1 not
 * readable yet (retry later), -1 bad (quarantined when released). */
static int open_seg(service *sv, seg_state *g)
{
	char errstr[CDC_ERRSTR_SIZE];
	const cdc_descriptor *d;
	uint64_t pos = 0;
	int finished = 0;

	if (cdc_segment_open(&g->seg, g->file.path, errstr, sizeof(errstr)) != 0) {
		cdc_index idx;
		int done = g->file.has_idx && cdc_index_read(g->file.idx_path, &idx, NULL, 0) == 0 && idx.completed;

		if (!done && now_ms() - g->opened_ms < sv->s.orphan_ms && time(NULL) - g->file.mtime < 60)
			return 1; /* Cassandra may still be writing its header */
		logmsg(LOG_ERR, "%s; segment quarantined", errstr);
		sv->m.decode_errors++;
		g->bad = 1;
		g->read_done = 1;
		return -1;
	}
	d = cdc_segment_descriptor(g->seg);
	g->messaging_version = d->messaging_version;
	g->cl_version = d->version;
	cdc_checkpoint_get(sv->cp, g->file.id, &pos, &finished);
	g->ack = cdc_acktrack_new(g->file.id, pos);
	if (!g->ack) {
		logmsg(LOG_ERR, "out of memory");
		return -1;
	}
	if (pos)
		logmsg(LOG_INFO, "%s: resuming after offset %" PRIu64, g->file.path, pos);
	return 0;
}

/* What the index allows now: sets the segment's read limit; returns 1 when
 * the limit grew (more to read), and marks completed. */
static int apply_index(service *sv, seg_state *g, uint64_t *limit)
{
	cdc_index idx;
	char errstr[CDC_ERRSTR_SIZE];

	if (!g->file.has_idx) {
		struct stat st;

		/* 3.x (descriptor 6) moves whole segments in at discard: no idx */
		if (g->cl_version <= CDC_CL_VERSION_30) {
			g->completed = 1;
			*limit = CDC_NO_LIMIT;
			return 0;
		}
		if (lstat(g->file.idx_path, &st) == 0 && S_ISREG(st.st_mode)) {
			g->file.has_idx = 1;
		} else {
			if (now_ms() - g->opened_ms >= sv->s.orphan_ms) {
				logmsg(LOG_WARN, "%s: no _cdc.idx after %lld ms; reading the whole file",
				       g->file.path, sv->s.orphan_ms);
				g->completed = 1;
				*limit = CDC_NO_LIMIT;
			}
			return 0;
		}
	}
	if (cdc_index_read(g->file.idx_path, &idx, errstr, sizeof(errstr)) != 0)
		return 0; /* being rewritten: next time */
	if (idx.completed)
		g->completed = 1;
	if (*limit == CDC_NO_LIMIT || idx.offset > *limit) {
		int grew = *limit != idx.offset;

		*limit = idx.offset;
		return grew;
	}
	return 0;
}

/* Reads up to budget entries of the segment being read. Returns the number
 * of items handled; 0 when it must wait for Cassandra. */
static int read_some(service *sv, seg_state *g, int budget, uint64_t *limit)
{
	char errstr[CDC_ERRSTR_SIZE];
	cdc_item it;
	int n = 0, r;

	while (n < budget) {
		if (sv->st.n) {
			int s = send_staged(sv);

			if (s != 0) {
				if (s < 0)
					sv->fatal = 1;
				return n;
			}
		}
		r = cdc_segment_next(g->seg, &it, errstr, sizeof(errstr));
		if (r < 0) {
			logmsg(LOG_ERR, "%s; segment quarantined", errstr);
			sv->m.decode_errors++;
			g->bad = 1;
			g->read_done = 1;
			return n + 1;
		}
		if (r == 0) {
			uint64_t before = *limit;

			if (apply_index(sv, g, limit) || before != *limit) {
				cdc_segment_set_limit(g->seg, *limit);
				if (cdc_segment_refresh(g->seg, errstr, sizeof(errstr)) != 0) {
					logmsg(LOG_ERR, "%s", errstr);
					return n;
				}
				continue;
			}
			if (g->completed) {
				cdc_segment_end e = cdc_segment_end_state(g->seg);

				if (e.reason == CDC_END_ERROR) {
					g->bad = 1;
					sv->m.decode_errors++;
				}
				g->read_done = 1;
				return n + 1;
			}
			if (cdc_segment_refresh(g->seg, errstr, sizeof(errstr)) != 0)
				logmsg(LOG_ERR, "%s", errstr);
			return n;
		}
		n++;
		if (it.kind == CDC_ITEM_ERROR) {
			logmsg(LOG_ERR, "%s", errstr);
			sv->m.decode_errors++;
			continue;
		}
		if (it.kind != CDC_ITEM_ENTRY || it.entry.end <= cdc_acktrack_safe(g->ack))
			continue;
		r = process_entry(sv, g, &it.entry);
		if (r < 0) {
			sv->fatal = 1;
			return n;
		}
		if (r > 0)
			return n; /* schema unavailable: rewinding */
	}
	return n;
}

/* A file sink's lines must be on disk before a checkpoint covers them. */
static int sync_sink(service *sv)
{
	char errstr[CDC_ERRSTR_SIZE];

	if (sv->sink && cdc_sink_in_flight(sv->sink) == 0 && cdc_sink_flush(sv->sink, 0, errstr, sizeof(errstr)) != 0) {
		logmsg(LOG_ERR, "%s", errstr);
		return -1;
	}
	return 0;
}

/* Saves safe positions of active segments; 0, or -1 (logged). */
static int save_checkpoint(service *sv)
{
	char errstr[CDC_ERRSTR_SIZE];
	size_t i;

	for (i = 0; i < sv->nsegs; i++)
		if (sv->segs[i]->ack) {
			uint64_t safe = cdc_acktrack_safe(sv->segs[i]->ack), pos = 0;
			int fin = 0;

			if (cdc_checkpoint_get(sv->cp, sv->segs[i]->file.id, &pos, &fin) != 0 || safe > pos) {
				cdc_checkpoint_set(sv->cp, sv->segs[i]->file.id, safe, 0);
				sv->dirty = 1;
			}
		}
	if (!sv->dirty)
		return 0;
	if (sync_sink(sv) != 0)
		return -1;
	if (cdc_checkpoint_save(sv->cp, errstr, sizeof(errstr)) != 0) {
		logmsg(LOG_ERR, "%s", errstr);
		return -1;
	}
	sv->dirty = 0;
	return 0;
}

/* Moves a file into dir (rename; the archive may be on another filesystem:
 * then copy, fsync, unlink). 0, or -1 with errno. */
static int move_into(const char *path, const char *dir)
{
	const char *base = strrchr(path, '/');
	char dst[4200], buf[65536];
	int in, out;
	ssize_t n;

	base = base ? base + 1 : path;
	snprintf(dst, sizeof(dst), "%s/%s", dir, base);
	if (rename(path, dst) == 0)
		return 0;
	if (errno != EXDEV)
		return -1;
	in = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			n = -1;
			break;
		}
	close(in);
	if (n < 0 || fsync(out) != 0) {
		close(out);
		unlink(dst);
		return -1;
	}
	close(out);
	return unlink(path);
}

/* Releases a finished segment: checkpoint durable first, then the files go
 * (deleted, archived or quarantined), then the record is forgotten. */
static int release(service *sv, seg_state *g)
{
	const char *dir = g->bad ? sv->s.quarantine_dir : sv->s.archive_dir;
	const char *what = g->bad ? "quarantined" : dir ? "archived" : "deleted";
	uint64_t safe = cdc_acktrack_safe(g->ack);
	char errstr[CDC_ERRSTR_SIZE];

	cdc_checkpoint_set(sv->cp, g->file.id, safe, 1);
	sv->dirty = 1;
	if (sync_sink(sv) != 0)
		return -1;
	if (cdc_checkpoint_save(sv->cp, errstr, sizeof(errstr)) != 0) {
		logmsg(LOG_ERR, "%s", errstr);
		return -1;
	}
	sv->dirty = 0;
	if (!g->bad && !sv->s.delete_consumed) {
		logmsg(LOG_INFO, "%s: all events acknowledged; kept (delete_consumed = false)", g->file.path);
		sv->m.segments_done++;
		return 0;
	}
	if (dir && mkdir(dir, 0750) != 0 && errno != EEXIST) {
		logmsg(LOG_ERR, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (dir ? move_into(g->file.path, dir) != 0 && errno != ENOENT
		: unlink(g->file.path) != 0 && errno != ENOENT) {
		logmsg(LOG_ERR, "%s: %s", g->file.path, strerror(errno));
		return -1;
	}
	if (g->file.has_idx &&
	    (dir ? move_into(g->file.idx_path, dir) != 0 : unlink(g->file.idx_path) != 0) && errno != ENOENT)
		logmsg(LOG_WARN, "%s: %s", g->file.idx_path, strerror(errno));
	cdc_checkpoint_forget(sv->cp, g->file.id);
	sv->dirty = 1;
	if (g->bad)
		sv->m.segments_quarantined++;
	else
		sv->m.segments_done++;
	logmsg(LOG_INFO, "%s: %s (%" PRIu64 " bytes of entries delivered)", g->file.path, what, safe);
	return 0;
}

static void free_seg(seg_state *g)
{
	if (!g)
		return;
	cdc_segment_destroy(g->seg);
	cdc_acktrack_destroy(g->ack);
	free(g);
}

/* Rescans cdc_raw: adds new segments (not finished in the checkpoint),
 * forgets checkpoint records of files that are gone. */
static int rescan(service *sv)
{
	char errstr[CDC_ERRSTR_SIZE];
	cdc_seg_file *files;
	size_t n, i, k;
	uint64_t bytes;

	if (cdc_watch_scan(sv->s.cdc_raw, &files, &n, &bytes, errstr, sizeof(errstr)) != 0) {
		logmsg(LOG_WARN, "%s", errstr);
		return 0;
	}
	sv->m.cdc_raw_bytes = bytes;
	for (i = 0; i < n; i++) {
		uint64_t pos;
		int fin = 0;
		seg_state *g;

		if (find_seg(sv, files[i].id))
			continue;
		if (cdc_checkpoint_get(sv->cp, files[i].id, &pos, &fin) == 0 && fin) {
			/* finished earlier; the files remain only with delete_consumed = false
			 * or when a crash came between checkpoint and unlink */
			if (sv->s.delete_consumed) {
				const char *dir = sv->s.archive_dir;

				if ((dir ? move_into(files[i].path, dir) : unlink(files[i].path)) == 0 || errno == ENOENT) {
					if (files[i].has_idx)
						dir ? move_into(files[i].idx_path, dir) : unlink(files[i].idx_path);
					cdc_checkpoint_forget(sv->cp, files[i].id);
					sv->dirty = 1;
				}
			}
			continue;
		}
		if (sv->nsegs == sv->capsegs) {
			size_t cap = sv->capsegs ? sv->capsegs * 2 : 16;
			seg_state **ns = realloc(sv->segs, cap * sizeof(*ns));

			if (!ns)
				break;
			sv->segs = ns;
			sv->capsegs = cap;
		}
		g = calloc(1, sizeof(*g));
		if (!g)
			break;
		g->file = files[i];
		g->opened_ms = now_ms();
		/* keep segs sorted by id: new ids are usually the largest */
		for (k = sv->nsegs; k > 0 && sv->segs[k - 1]->file.id > g->file.id; k--)
			sv->segs[k] = sv->segs[k - 1];
		sv->segs[k] = g;
		sv->nsegs++;
	}
	/* records of segments no longer in cdc_raw (removed by cleanup or by hand) */
	for (i = cdc_checkpoint_count(sv->cp); i-- > 0;) {
		int64_t id;
		uint64_t pos;
		int fin, present = 0;

		cdc_checkpoint_at(sv->cp, i, &id, &pos, &fin);
		for (k = 0; k < n && !present; k++)
			present = files[k].id == id;
		if (!present && !find_seg(sv, id)) {
			cdc_checkpoint_forget(sv->cp, id);
			sv->dirty = 1;
		}
	}
	free(files);
	sv->m.segments_pending = sv->nsegs;
	return 0;
}

/* Drops every active segment so reading restarts from the checkpoint (after
 * a failed delivery, or a schema that could not be refreshed). */
static void rewind_all(service *sv, int64_t shutdown_ms)
{
	char errstr[CDC_ERRSTR_SIZE];
	size_t i;

	if (cdc_sink_flush(sv->sink, (int)shutdown_ms, errstr, sizeof(errstr)) != 0)
		logmsg(LOG_WARN, "%s", errstr);
	save_checkpoint(sv);
	for (i = 0; i < sv->nsegs; i++)
		free_seg(sv->segs[i]);
	sv->nsegs = 0;
	sv->reading_id = -1;
	sv->st.n = sv->st.next = 0;
	sv->rewind = 0;
	sv->m.rewinds++;
}

static int read_password(service *sv, char *errstr, size_t errlen)
{
	const char *env = getenv("CDCTAIL_CQL_PASSWORD");
	char line[1024];
	FILE *f;

	if (!sv->s.password_file) {
		sv->password = env ? strdup(env) : NULL;
		return 0;
	}
	f = fopen(sv->s.password_file, "r");
	if (!f)
		return cdc_error(errstr, errlen, "%s: %s", sv->s.password_file, strerror(errno));
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	sv->password = strdup(line);
	return 0;
}

static void status(service *sv, const char *state)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "STATUS=%s; %zu segments pending, %zu in flight, %llu acked", state,
		 sv->nsegs, sv->sink ? cdc_sink_in_flight(sv->sink) : 0, sv->m.acked);
	cdc_notify(buf);
}

/* Runs the service with config c until a signal. Returns 0 on SIGTERM/INT
 * (after flushing and saving), 2 on SIGHUP (the caller reloads), 1 fatal. */
static int serve(const cdc_config *c, metrics *keep)
{
	char errstr[CDC_ERRSTR_SIZE];
	service sv;
	int lockfd = -1, rc = 1;
	int64_t next_cp, next_scan, next_metrics, next_wd = 0, wd_ms, kafka_warned = 0;
	uint64_t limit = CDC_NO_LIMIT;
	char lockpath[4200];

	memset(&sv, 0, sizeof(sv));
	sv.reading_id = -1;
	sv.m = *keep;
	if (settings_load(&sv.s, c, errstr, sizeof(errstr)) != 0) {
		logmsg(LOG_ERR, "%s", errstr);
		return 1;
	}
	if (mkdir(sv.s.state_dir, 0750) != 0 && errno != EEXIST) {
		logmsg(LOG_ERR, "state_dir %s: %s", sv.s.state_dir, strerror(errno));
		return 1;
	}
	snprintf(lockpath, sizeof(lockpath), "%s/lock", sv.s.state_dir);
	lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) != 0) {
		logmsg(LOG_ERR, "%s: %s (another cdctail run on this state_dir?)", lockpath, strerror(errno));
		if (lockfd >= 0)
			close(lockfd);
		return 1;
	}
	sv.unknown = calloc(4096, 16);
	sv.ev = cdc_eventer_new();
	if (!sv.unknown || !sv.ev || read_password(&sv, errstr, sizeof(errstr)) != 0 ||
	    cdc_checkpoint_open(&sv.cp, sv.s.state_dir, errstr, sizeof(errstr)) != 0 ||
	    cdc_watch_open(&sv.watch, sv.s.cdc_raw, errstr, sizeof(errstr)) != 0) {
		logmsg(LOG_ERR, "%s", sv.ev && sv.unknown ? errstr : "out of memory");
		goto out;
	}
	if (sv.s.trigger)
		cdc_eventer_set_format(sv.ev, CDC_EVENT_TRIGGER);
	while (load_schema(&sv, errstr, sizeof(errstr)) != 0) {
		logmsg(LOG_WARN, "schema: %s; retrying in 5 s", errstr);
		status(&sv, "waiting for the schema");
		for (int i = 0; i < 50 && !g_stop && !g_hup; i++)
			usleep(100000);
		if (g_stop || g_hup) {
			rc = g_stop ? 0 : 2;
			goto out;
		}
	}
	sv.dec = cdc_decoder_new(sv.schema);
	if (!sv.dec) {
		logmsg(LOG_ERR, "out of memory");
		goto out;
	}
	cdc_decoder_skip_non_cdc(sv.dec, 1);
	if (sv.s.nprops > 0 && cdc_config_get(c, "kafka.bootstrap.servers", NULL)) {
		if (cdc_sink_kafka_new(&sv.sink, sv.s.props, (size_t)sv.s.max_in_flight, on_delivery, &sv, errstr,
				       sizeof(errstr)) != 0) {
			logmsg(LOG_ERR, "%s", errstr);
			goto out;
		}
	} else if (cdc_sink_file_new(&sv.sink, sv.s.output, on_delivery, &sv, errstr, sizeof(errstr)) != 0) {
		logmsg(LOG_ERR, "%s", errstr);
		goto out;
	}
	logmsg(LOG_INFO, "tailing %s into %s (schema %s, state %s)", sv.s.cdc_raw,
	       sv.s.nprops > 0 ? cdc_config_get(c, "kafka.bootstrap.servers", "?") : sv.s.output, sv.s.schema,
	       sv.s.state_dir);
	wd_ms = (int64_t)(cdc_notify_watchdog_usec() / 2000);
	cdc_notify("READY=1");
	next_cp = next_scan = next_metrics = now_ms();
	while (!g_stop && !g_hup && !sv.fatal) {
		int64_t t = now_ms(), wait;
		int worked = 0;

		cdc_sink_poll(sv.sink, 0);
		if (sv.rewind) {
			logmsg(LOG_WARN, "re-reading from the checkpoint after a failed delivery");
			rewind_all(&sv, sv.s.shutdown_ms);
			limit = CDC_NO_LIMIT;
			next_scan = t;
		}
		if (t >= next_scan) {
			rescan(&sv);
			next_scan = t + sv.s.rescan_ms;
		}
		/* release finished segments, oldest first */
		while (sv.nsegs && sv.segs[0]->read_done &&
		       sv.segs[0]->file.id != sv.reading_id &&
		       (!sv.segs[0]->ack || cdc_acktrack_pending(sv.segs[0]->ack) == 0) && !sv.rewind) {
			seg_state *g = sv.segs[0];

			if (g->ack && cdc_acktrack_failed(g->ack))
				break;
			if (!g->ack)
				g->ack = cdc_acktrack_new(g->file.id, 0);
			if (!g->ack || release(&sv, g) != 0) {
				sv.fatal = 1;
				break;
			}
			free_seg(g);
			memmove(sv.segs, sv.segs + 1, --sv.nsegs * sizeof(*sv.segs));
			sv.m.segments_pending = sv.nsegs;
			worked = 1;
		}
		/* read: the oldest segment not yet read to its end */
		if (sv.reading_id < 0) {
			size_t i;

			for (i = 0; i < sv.nsegs; i++) {
				seg_state *g = sv.segs[i];
				int o;

				if (g->read_done)
					continue;
				o = open_seg(&sv, g);
				if (o == 0) {
					sv.reading_id = g->file.id;
					limit = 0;
					apply_index(&sv, g, &limit);
					cdc_segment_set_limit(g->seg, limit);
				}
				if (o != -1)
					break; /* open, or not ready: keep id order */
			}
		}
		if (sv.reading_id >= 0) {
			seg_state *g = find_seg(&sv, sv.reading_id);

			if (!g) {
				sv.reading_id = -1;
			} else {
				int n = read_some(&sv, g, 512, &limit);

				worked |= n > 0;
				if (g->read_done) {
					if (g->seg && !g->bad)
						logmsg(LOG_INFO, "%s: read to the end (%" PRIu64 ")", g->file.path,
						       cdc_segment_end_state(g->seg).logical_offset);
					cdc_segment_destroy(g->seg);
					g->seg = NULL;
					sv.reading_id = -1;
					worked = 1;
				}
			}
		}
		if (sv.st.n) { /* the sink is full: Kafka is slow or away */
			if (!kafka_warned && cdc_sink_in_flight(sv.sink) >= (size_t)sv.s.max_in_flight) {
				logmsg(LOG_WARN, "%zu messages unacknowledged: reading paused until Kafka catches up",
				       cdc_sink_in_flight(sv.sink));
				status(&sv, "waiting for Kafka");
				kafka_warned = 1;
			}
			cdc_sink_poll(sv.sink, 100);
		} else if (kafka_warned && cdc_sink_in_flight(sv.sink) < (size_t)sv.s.max_in_flight / 2) {
			logmsg(LOG_INFO, "Kafka caught up: reading again");
			kafka_warned = 0;
		}
		t = now_ms();
		if (t >= next_cp) {
			save_checkpoint(&sv);
			next_cp = t + sv.s.checkpoint_ms;
		}
		if (sv.s.metrics_file && t >= next_metrics) {
			write_metrics(&sv.m, sv.s.metrics_file, cdc_sink_in_flight(sv.sink));
			next_metrics = t + sv.s.metrics_ms;
		}
		if (wd_ms && t >= next_wd) {
			cdc_notify("WATCHDOG=1");
			status(&sv, kafka_warned ? "waiting for Kafka" : "tailing");
			next_wd = t + wd_ms;
		}
		if (!worked && !sv.st.n) {
			wait = next_cp - t;
			if (next_scan - t < wait)
				wait = next_scan - t;
			if (wait > 100 && cdc_sink_in_flight(sv.sink))
				wait = 100;
			if (wait > 0) {
				if (cdc_watch_wait(sv.watch, (int)wait) == 1)
					next_scan = 0; /* something changed: rescan now */
			}
		}
	}
	/* stop: hand over what is staged, wait for Kafka, save */
	cdc_notify(g_hup ? "RELOADING=1" : "STOPPING=1");
	if (sv.st.n && !sv.fatal) {
		int64_t until = now_ms() + sv.s.shutdown_ms;

		while (send_staged(&sv) == 1 && now_ms() < until)
			cdc_sink_poll(sv.sink, 100);
	}
	if (cdc_sink_flush(sv.sink, (int)sv.s.shutdown_ms, errstr, sizeof(errstr)) != 0)
		logmsg(LOG_WARN, "stopping: %s; they will be sent again on restart", errstr);
	rc = save_checkpoint(&sv) == 0 && !sv.fatal ? (g_hup ? 2 : 0) : 1;
	if (sv.s.metrics_file)
		write_metrics(&sv.m, sv.s.metrics_file, cdc_sink_in_flight(sv.sink));
	logmsg(LOG_INFO, "stopped: %llu events acknowledged, %llu segments released, checkpoint %s",
	       sv.m.acked, sv.m.segments_done, rc == 1 ? "NOT saved" : "saved");
out:
	for (size_t i = 0; i < sv.nsegs; i++)
		free_seg(sv.segs[i]);
	free(sv.segs);
	cdc_sink_destroy(sv.sink);
	cdc_decoder_destroy(sv.dec);
	cdc_eventer_destroy(sv.ev);
	cdc_schema_destroy(sv.schema);
	cdc_watch_close(sv.watch);
	cdc_checkpoint_destroy(sv.cp);
	cdc_buf_free(&sv.st.data);
	free(sv.st.m);
	free(sv.unknown);
	free(sv.password);
	*keep = sv.m;
	keep->t = sv.m.t;
	if (lockfd >= 0)
		close(lockfd);
	return rc;
}

static void run_usage(FILE *f)
{
	fputs("Usage: cdctail run --config FILE [--set key=value]...\n"
	      "Tails cdc_raw into Kafka (or JSON lines) until SIGTERM; SIGHUP reopens the\n"
	      "log and re-reads the configuration. Keys: docs/run.md.\n", f);
}

int cdc_run_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config_path = NULL, *sets[64];
	char errstr[CDC_ERRSTR_SIZE];
	struct sigaction sa;
	metrics m;
	int c, nsets = 0, rc, i, reloads = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config_path = optarg; break;
		case 's':
			if (nsets >= 64) {
				fputs("cdctail run: too many --set\n", stderr);
				return 2;
			}
			sets[nsets++] = optarg;
			break;
		case 'h': run_usage(stdout); return 0;
		default: run_usage(stderr); return 2;
		}
	}
	if (optind != argc || (!config_path && !nsets)) {
		run_usage(stderr);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	g_journal = getenv("JOURNAL_STREAM") != NULL;
	memset(&m, 0, sizeof(m));
	for (;;) {
		cdc_config *cfg = cdc_config_new();

		g_hup = 0;
		if (!cfg || (config_path && cdc_config_load(cfg, config_path, errstr, sizeof(errstr)) != 0)) {
			logmsg(LOG_ERR, "%s", cfg ? errstr : "out of memory");
			cdc_config_destroy(cfg);
			rc = 1;
			break;
		}
		for (i = 0; i < nsets; i++)
			if (cdc_config_set(cfg, sets[i], errstr, sizeof(errstr)) != 0) {
				logmsg(LOG_ERR, "%s", errstr);
				cdc_config_destroy(cfg);
				free(m.t);
				return 2;
			}
		g_log_path = cdc_config_get(cfg, "log_file", NULL);
		open_log();
		if (reloads++)
			logmsg(LOG_INFO, "SIGHUP: log reopened, configuration re-read");
		rc = serve(cfg, &m);
		g_log_path = NULL;
		cdc_config_destroy(cfg);
		if (rc != 2)
			break;
	}
	if (g_log)
		fclose(g_log);
	free(m.t);
	return rc;
}
