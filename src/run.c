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
	"orphan_timeout", "allow_unsafe_kafka", NULL,
};

typedef struct settings {
	const char *cdc_raw, *state_dir, *schema, *host, *user, *password_file, *node, *output;
	const char *topic_template, *topic_prefix, *metrics_file, *archive_dir, *quarantine_dir;
	char quarantine_buf[4096], node_buf[256];
	long long port, max_in_flight, checkpoint_ms, rescan_ms, metrics_ms, shutdown_ms;
	int trigger, delete_consumed, kafka, orphan_timeout_set;
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
	    cdc_config_get_num(c, "shutdown_timeout", 30000, 1, &s->shutdown_ms, errstr, errlen))
		return -1;
	/* no longer used (docs/run.md: segments without _cdc.idx); accepted so
	 * that an existing configuration still loads */
	s->orphan_timeout_set = cdc_config_get(c, "orphan_timeout", NULL) != NULL;
	if (cdc_config_check_kafka(c, errstr, errlen) != 0)
		return -1;
	if (s->max_in_flight < 1)
		s->max_in_flight = 1;
	if (s->checkpoint_ms < 10)
		s->checkpoint_ms = 10;
	s->nprops = cdc_config_kafka_props(c, s->props, sizeof(s->props) / sizeof(s->props[0]));
	if (s->nprops < 0)
		return cdc_error(errstr, errlen, "too many kafka.* properties");
	s->kafka = s->nprops > 0 && cdc_config_get(c, "kafka.bootstrap.servers", NULL) != NULL;
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
	unsigned long long segments_quarantined, rewinds, dead_letters, overflows, rescans;
	int64_t newest_acked_ts;     /* µs, write time of the newest event acknowledged; 0 unknown */
	uint64_t cdc_raw_bytes;
	size_t segments_pending;
} metrics;

#define NO_STAT UINT32_MAX

/* The series of table/op, created (at 0) if new: its index, or NO_STAT when
 * there are already 4096 (or no memory). Events are counted when Kafka
 * acknowledges them (count_acked). */
static uint32_t stat_index(metrics *m, const cdc_table *t, const char *op)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->t[i].op, op) == 0 && strcmp(m->t[i].table, t->name) == 0 &&
		    strcmp(m->t[i].keyspace, t->keyspace) == 0)
			return (uint32_t)i;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		table_stat *nt;

		if (cap > 4096 || !(nt = realloc(m->t, cap * sizeof(*nt))))
			return NO_STAT;
		m->t = nt;
		m->cap = cap;
	}
	snprintf(m->t[i].keyspace, sizeof(m->t[i].keyspace), "%s", t->keyspace);
	snprintf(m->t[i].table, sizeof(m->t[i].table), "%s", t->name);
	snprintf(m->t[i].op, sizeof(m->t[i].op), "%s", op);
	m->t[i].events = m->t[i].bytes = 0;
	m->n++;
	return (uint32_t)i;
}

/* Counts one event Kafka (or the output file) acknowledged. */
static void count_acked(metrics *m, uint32_t stat, size_t bytes, int64_t ts)
{
	m->acked++;
	if (stat < m->n) {
		m->t[stat].events++;
		m->t[stat].bytes += bytes;
	}
	if (ts > m->newest_acked_ts)
		m->newest_acked_ts = ts;
}

/* Writes the Prometheus text file atomically (node_exporter's textfile
 * collector reads it): temp file, rename. */
static void write_metrics(const metrics *m, const char *path, size_t in_flight)
{
	char tmp[4200];
	FILE *f;
	size_t i;

	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
	f = fopen(tmp, "w");
	if (!f) {
		logmsg(LOG_WARN, "metrics.textfile %s: %s", tmp, strerror(errno));
		return;
	}
	fputs("# HELP cdctail_events_total Events acknowledged by Kafka (or written to the output file), by table and op.\n"
	      "# TYPE cdctail_events_total counter\n", f);
	for (i = 0; i < m->n; i++)
		fprintf(f, "cdctail_events_total{keyspace=\"%s\",table=\"%s\",op=\"%s\"} %llu\n", m->t[i].keyspace,
			m->t[i].table, m->t[i].op, m->t[i].events);
	fputs("# HELP cdctail_event_bytes_total JSON bytes of the acknowledged events, by table and op.\n"
	      "# TYPE cdctail_event_bytes_total counter\n", f);
	for (i = 0; i < m->n; i++)
		fprintf(f, "cdctail_event_bytes_total{keyspace=\"%s\",table=\"%s\",op=\"%s\"} %llu\n",
			m->t[i].keyspace, m->t[i].table, m->t[i].op, m->t[i].bytes);
	fprintf(f,
		"# HELP cdctail_events_acked_total Events acknowledged by the sink.\n"
		"# TYPE cdctail_events_acked_total counter\ncdctail_events_acked_total %llu\n"
		"# HELP cdctail_delivery_errors_total Messages Kafka failed (they are sent again after a re-read).\n"
		"# TYPE cdctail_delivery_errors_total counter\ncdctail_delivery_errors_total %llu\n"
		"# HELP cdctail_dead_letter_total Messages Kafka will never accept, written to state_dir/dead-letter.jsonl.\n"
		"# TYPE cdctail_dead_letter_total counter\ncdctail_dead_letter_total %llu\n"
		"# HELP cdctail_decode_errors_total Entries or segments that could not be read.\n"
		"# TYPE cdctail_decode_errors_total counter\ncdctail_decode_errors_total %llu\n"
		"# HELP cdctail_unknown_table_entries_total Entries of tables not in the schema (skipped).\n"
		"# TYPE cdctail_unknown_table_entries_total counter\ncdctail_unknown_table_entries_total %llu\n"
		"# HELP cdctail_segments_done_total Segments fully delivered and released.\n"
		"# TYPE cdctail_segments_done_total counter\ncdctail_segments_done_total %llu\n"
		"# HELP cdctail_segments_quarantined_total Segments moved to the quarantine folder.\n"
		"# TYPE cdctail_segments_quarantined_total counter\ncdctail_segments_quarantined_total %llu\n"
		"# HELP cdctail_rereads_total Re-reads from the checkpoint (after a failed delivery or schema refresh).\n"
		"# TYPE cdctail_rereads_total counter\ncdctail_rereads_total %llu\n"
		"# HELP cdctail_rescans_total Listings of cdc_raw (periodic, or woken by inotify).\n"
		"# TYPE cdctail_rescans_total counter\ncdctail_rescans_total %llu\n"
		"# HELP cdctail_inotify_overflows_total inotify queue overflows (each answered by a rescan).\n"
		"# TYPE cdctail_inotify_overflows_total counter\ncdctail_inotify_overflows_total %llu\n"
		"# HELP cdctail_segments_pending Segments in cdc_raw not yet released.\n"
		"# TYPE cdctail_segments_pending gauge\ncdctail_segments_pending %zu\n"
		"# HELP cdctail_cdc_raw_bytes Bytes of segments and index files in cdc_raw.\n"
		"# TYPE cdctail_cdc_raw_bytes gauge\ncdctail_cdc_raw_bytes %" PRIu64 "\n"
		"# HELP cdctail_in_flight Messages handed to Kafka, not yet acknowledged.\n"
		"# TYPE cdctail_in_flight gauge\ncdctail_in_flight %zu\n",
		m->acked, m->delivery_errors, m->dead_letters, m->decode_errors, m->unknown_entries,
		m->segments_done, m->segments_quarantined, m->rewinds, m->rescans, m->overflows,
		m->segments_pending, m->cdc_raw_bytes, in_flight);
	/* unknown until an event was acknowledged (now or before a restart, from
	 * the checkpoint): no series rather than a reassuring 0 */
	if (m->newest_acked_ts)
		fprintf(f,
			"# HELP cdctail_lag_seconds Now minus the write time of the newest acknowledged event.\n"
			"# TYPE cdctail_lag_seconds gauge\ncdctail_lag_seconds %.3f\n",
			(wall_us() - m->newest_acked_ts) / 1e6);
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
	int idxless;             /* 4.0+ without _cdc.idx, found to hold no CDC data
				  * (IDXLESS_*): Cassandra removes it itself */
	int64_t opened_ms;
} seg_state;

enum {
	IDXLESS_NO = 0,
	IDXLESS_NOTHING,         /* a later sync of a newer segment: nothing to read, ever */
	IDXLESS_DISCARDED,       /* Cassandra deleted its commitlog copy: final, read whole */
	IDX_APPEARED,            /* (idxless_decide only) the idx is there now */
};

/* Events of one entry, rendered, waiting to be handed to the sink. */
typedef struct staged {
	cdc_buf data;            /* topic \0 key payload, back to back */
	struct smsg {
		size_t topic, key, keylen, payload, len;
		int64_t ts;
		uint32_t stat;
	} *m;
	size_t n, cap, next;
	int64_t segment_id;
	uint64_t generation, seq, offset;
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
	/* the newest _cdc.idx of a segment newer than the idx-less one being
	 * waited for (docs/run.md: segments without _cdc.idx) */
	struct {
		int64_t for_id, id;
		uint64_t offset;
		int completed;
	} witness;
	int stopping;            /* the checkpoint is saved: reports move nothing now */
	FILE *dead;              /* state_dir/dead-letter.jsonl, once needed */
	int dead_unsynced;       /* lines written since the last fsync */
	char dead_path[4200];
} service;

static seg_state *find_seg(service *sv, int64_t id)
{
	size_t i;

	for (i = 0; i < sv->nsegs; i++)
		if (sv->segs[i]->file.id == id)
			return sv->segs[i];
	return NULL;
}

/* Appends a message Kafka will never accept to state_dir/dead-letter.jsonl
 * (one JSON object a line: segment, offset, error, topic, key, event), so
 * the position can go past it without losing it. The file is fsync'd before
 * the next checkpoint is saved. 0, or -1 (logged). */
static int dead_letter(service *sv, const seg_state *g, const cdc_msg_tag *tag, const cdc_delivery *d)
{
	cdc_buf line = CDC_BUF_INIT;
	const char *base = strrchr(g->file.path, '/');
	size_t n;

	if (!sv->dead) {
		snprintf(sv->dead_path, sizeof(sv->dead_path), "%s/dead-letter.jsonl", sv->s.state_dir);
		sv->dead = fopen(sv->dead_path, "ae");
		if (!sv->dead) {
			logmsg(LOG_ERR, "%s: %s", sv->dead_path, strerror(errno));
			return -1;
		}
	}
	base = base ? base + 1 : g->file.path;
	cdc_buf_lit(&line, "{\"segment\":");
	cdc_buf_json_str(&line, base, strlen(base));
	cdc_buf_lit(&line, ",\"segment_id\":");
	cdc_buf_i64(&line, tag->segment_id);
	cdc_buf_lit(&line, ",\"offset\":");
	cdc_buf_u64(&line, tag->offset);
	cdc_buf_lit(&line, ",\"error\":");
	cdc_buf_json_str(&line, d->err ? d->err : "?", strlen(d->err ? d->err : "?"));
	cdc_buf_lit(&line, ",\"topic\":");
	cdc_buf_json_str(&line, d->topic ? d->topic : "", d->topic ? strlen(d->topic) : 0);
	cdc_buf_lit(&line, ",\"key\":");
	cdc_buf_json_str(&line, d->key ? d->key : "", d->key ? d->keylen : 0);
	cdc_buf_lit(&line, ",\"ts\":");
	cdc_buf_i64(&line, tag->ts);
	cdc_buf_lit(&line, ",\"event\":");
	cdc_buf_json_str(&line, d->payload ? d->payload : "", d->payload ? d->len : 0);
	cdc_buf_lit(&line, "}\n");
	n = line.len;
	if (line.oom || fwrite(line.p, 1, n, sv->dead) != n || fflush(sv->dead) != 0) {
		logmsg(LOG_ERR, "%s: %s", sv->dead_path, line.oom ? "out of memory" : strerror(errno));
		cdc_buf_free(&line);
		return -1;
	}
	cdc_buf_free(&line);
	sv->dead_unsynced = 1;
	sv->m.dead_letters++;
	logmsg(LOG_ERR, "%s: entry at offset %" PRIu64 ": Kafka will not accept its event for %s (%s, %zu bytes): "
	       "written to %s", g->file.path, tag->offset, d->topic ? d->topic : "?", d->err ? d->err : "?", d->len,
	       sv->dead_path);
	return 0;
}

/* Delivery report: the only place a message's fate is learnt. A report whose
 * generation is not that of the segment's current tracker is stale (the
 * message was sent before a re-read, which sends it again): it counts in
 * the metrics but moves no position. */
static void on_delivery(void *opaque, const cdc_msg_tag *tag, const cdc_delivery *d)
{
	service *sv = opaque;
	seg_state *g = find_seg(sv, tag->segment_id);
	int current = g && g->ack && cdc_acktrack_generation(g->ack) == tag->generation;
	int ok = 0;

	if (sv->stopping) { /* purged at exit: sent again by the next run */
		if (d->status == CDC_DELIVERED)
			count_acked(&sv->m, tag->stat, d->len, tag->ts);
		return;
	}
	switch (d->status) {
	case CDC_DELIVERED:
		count_acked(&sv->m, tag->stat, d->len, tag->ts);
		ok = 1;
		break;
	case CDC_REJECTED:
		if (!current)
			break; /* sent again after the re-read, and reported then */
		if (dead_letter(sv, g, tag, d) == 0) {
			ok = 1;
			break;
		}
		/* not written down: it must not be passed over */
		/* fall through */
	default:
		if (!sv->m.delivery_errors)
			logmsg(LOG_ERR, "delivery failed: %s; segment %" PRId64 " will be re-read from its checkpoint",
			       d->err ? d->err : "?", tag->segment_id);
		sv->m.delivery_errors++;
		if (current)
			sv->rewind = 1;
		break;
	}
	if (current)
		cdc_acktrack_ack(g->ack, tag->generation, tag->seq, ok);
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
	m->stat = stat_index(&sv->m, u->table, cdc_eventer_op(sv->ev));
	if (st->data.oom)
		return -1;
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
		cdc_msg_tag tag = { .segment_id = st->segment_id, .generation = st->generation, .seq = st->seq,
				    .offset = st->offset, .ts = m->ts, .stat = m->stat };
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
	sv->st.generation = cdc_acktrack_generation(g->ack);
	sv->st.offset = e->offset;
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

	if (cdc_segment_open_ex(&g->seg, g->file.path, CDC_OPEN_NOFOLLOW, errstr, sizeof(errstr)) != 0) {
		cdc_index idx;
		int done = g->file.has_idx &&
			   cdc_index_read_ex(g->file.idx_path, CDC_OPEN_NOFOLLOW, &idx, NULL, 0) == 0 && idx.completed;
		struct stat st;

		if (lstat(g->file.path, &st) != 0 && errno == ENOENT) {
			/* Cassandra removes idx-less segments at discard; anything else
			 * removed here unread was removed by hand or by Cassandra's
			 * cdc_block_writes = false */
			logmsg(g->file.has_idx ? LOG_WARN : LOG_INFO, "%s: removed from cdc_raw before it was read%s",
			       g->file.path, g->file.has_idx ? " (with its _cdc.idx: its events are not in Kafka)" : "");
			g->idxless = IDXLESS_NOTHING;
			g->read_done = 1;
			return -1;
		}
		if (!done && time(NULL) - g->file.mtime < 60)
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

/* The newest readable _cdc.idx among the segments newer than g (by id):
 * 1 and *id, *idx, or 0 when none of them has one. */
static int newest_newer_idx(service *sv, const seg_state *g, int64_t *id, cdc_index *idx)
{
	size_t i;

	for (i = sv->nsegs; i-- > 0 && sv->segs[i]->file.id > g->file.id;) {
		const seg_state *h = sv->segs[i];

		if (h->file.idx_path[0] && cdc_index_read_ex(h->file.idx_path, CDC_OPEN_NOFOLLOW, idx, NULL, 0) == 0) {
			*id = h->file.id;
			return 1;
		}
	}
	return 0;
}

/* Decides about a 4.0+ segment that has no _cdc.idx (yet), from what
 * Cassandra does (docs/run.md, "Segments without _cdc.idx"): it writes the
 * idx at every sync of a segment holding CDC data, syncing the active
 * segments oldest first, and at discard deletes the commitlog copy and then,
 * when the segment never held CDC data, the cdc_raw link. Returns
 * IDX_APPEARED (read the idx), IDXLESS_NOTHING / IDXLESS_DISCARDED (stored in
 * g->idxless), or 0: wait, newer segments are not read before it. The
 * observations are made in the order the argument needs: the newer idx
 * first, then this segment's link count, then its idx. */
static int idxless_decide(service *sv, seg_state *g)
{
	struct stat st, ist;
	cdc_index idx;
	int64_t id = 0;
	int newer = newest_newer_idx(sv, g, &id, &idx);
	int have_link = lstat(g->file.path, &st) == 0;

	if (lstat(g->file.idx_path, &ist) == 0 && S_ISREG(ist.st_mode)) {
		g->file.has_idx = 1;
		return IDX_APPEARED;
	}
	if (!have_link || st.st_nlink == 1) {
		/* Cassandra discarded it: had it held CDC data, the idx (COMPLETED)
		 * would have been written before the commitlog copy went */
		logmsg(LOG_INFO, "%s: no _cdc.idx and %s: discarded by Cassandra without CDC data; read whole",
		       g->file.path, have_link ? "no commitlog copy (1 link)" : "removed from cdc_raw");
		return g->idxless = IDXLESS_DISCARDED;
	}
	if (!newer) {
		sv->witness.for_id = -1;
		return 0; /* the newest segment with data: it may get its first CDC write */
	}
	if (idx.completed || (sv->witness.for_id == g->file.id &&
			      (sv->witness.id != id || sv->witness.offset != idx.offset))) {
		/* a sync pass after the one that wrote the first idx seen (or one
		 * that completed a newer segment) has been through this segment
		 * too, after it stopped taking writes, and wrote no idx for it */
		logmsg(LOG_INFO, "%s: no _cdc.idx while CommitLog segment %" PRId64 " has one (%" PRIu64 "%s): holds no CDC "
		       "data; Cassandra removes it at discard", g->file.path, id, idx.offset, idx.completed ? ", COMPLETED" : "");
		sv->witness.for_id = -1;
		return g->idxless = IDXLESS_NOTHING;
	}
	if (sv->witness.for_id != g->file.id) {
		sv->witness.for_id = g->file.id;
		sv->witness.id = id;
		sv->witness.offset = idx.offset;
	}
	return 0;
}

/* What the index allows now: sets the segment's read limit; returns 1 when
 * the limit grew (more to read), and marks completed. */
static int apply_index(service *sv, seg_state *g, uint64_t *limit)
{
	cdc_index idx;
	char errstr[CDC_ERRSTR_SIZE];

	if (g->idxless == IDXLESS_NOTHING)
		return 0;
	if (g->idxless == IDXLESS_DISCARDED) {
		g->completed = 1;
		*limit = CDC_NO_LIMIT;
		return 0;
	}
	if (!g->file.has_idx) {
		/* 3.x (descriptor 6) moves whole segments in at discard: no idx */
		if (g->cl_version <= CDC_CL_VERSION_30) {
			g->completed = 1;
			*limit = CDC_NO_LIMIT;
			return 0;
		}
		switch (idxless_decide(sv, g)) {
		case IDX_APPEARED:
			break;
		case IDXLESS_NOTHING:
			g->completed = 1; /* nothing to read, limit stays where it is */
			return 0;
		case IDXLESS_DISCARDED:
			g->completed = 1;
			*limit = CDC_NO_LIMIT;
			return 0;
		default:
			return 0;
		}
	}
	if (cdc_index_read_ex(g->file.idx_path, CDC_OPEN_NOFOLLOW, &idx, errstr, sizeof(errstr)) != 0)
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

/* fsyncs the dead-letter file if lines were added: before a checkpoint
 * covers their entries. 0, or -1 (logged). */
static int sync_dead_letters(service *sv)
{
	if (!sv->dead_unsynced)
		return 0;
	if (fsync(fileno(sv->dead)) != 0) {
		logmsg(LOG_ERR, "%s: fsync: %s", sv->dead_path, strerror(errno));
		return -1;
	}
	sv->dead_unsynced = 0;
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
	if (cdc_checkpoint_set_acked_ts(sv->cp, sv->m.newest_acked_ts))
		sv->dirty = 1;
	if (!sv->dirty)
		return 0;
	if (sync_sink(sv) != 0 || sync_dead_letters(sv) != 0)
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
 * (deleted, archived or quarantined), then the record is forgotten. Returns
 * 0 released, 1 not yet (an idx-less segment Cassandra is to remove: kept
 * while it still can), -1 fatal (logged). */
static int release(service *sv, seg_state *g)
{
	const char *dir = g->bad ? sv->s.quarantine_dir : sv->s.archive_dir;
	const char *what = g->bad ? "quarantined" : dir ? "archived" : "deleted";
	uint64_t safe = cdc_acktrack_safe(g->ack);
	char errstr[CDC_ERRSTR_SIZE];

	if (g->idxless) {
		struct stat st;

		if (lstat(g->file.path, &st) != 0) {
			if (errno != ENOENT)
				return 1;
			/* Cassandra removed it (discard of a segment without CDC data) */
			cdc_checkpoint_forget(sv->cp, g->file.id);
			sv->dirty = 1;
			return 0;
		}
		/* Cassandra deletes the link right after the commitlog copy; when
		 * it is still here a minute after that, Cassandra stopped in
		 * between and will not: ours to remove. Until then it is left
		 * alone (removing it under Cassandra's feet fails its discard). */
		if (st.st_nlink > 1 || time(NULL) - st.st_ctime < 60)
			return 1;
	}
	cdc_checkpoint_set(sv->cp, g->file.id, safe, 1);
	sv->dirty = 1;
	if (sync_sink(sv) != 0 || sync_dead_letters(sv) != 0)
		return -1;
	cdc_checkpoint_set_acked_ts(sv->cp, sv->m.newest_acked_ts);
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

	sv->m.rescans++;
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

/* Where the configuration comes from, to read it again on SIGHUP. */
typedef struct config_src {
	const char *path;        /* NULL: --set only */
	const char *const *sets;
	int nsets;
} config_src;

/* Reads the configuration: the file, then the --set overrides. NULL with
 * errstr on failure; *usage says a --set was malformed. */
static cdc_config *config_read(const config_src *src, int *usage, char *errstr, size_t errlen)
{
	cdc_config *cfg = cdc_config_new();
	int i;

	*usage = 0;
	if (!cfg) {
		cdc_error(errstr, errlen, "out of memory");
		return NULL;
	}
	if (src->path && cdc_config_load(cfg, src->path, errstr, errlen) != 0) {
		cdc_config_destroy(cfg);
		return NULL;
	}
	for (i = 0; i < src->nsets; i++)
		if (cdc_config_set(cfg, src->sets[i], errstr, errlen) != 0) {
			*usage = 1;
			cdc_config_destroy(cfg);
			return NULL;
		}
	return cfg;
}

/* SIGHUP: reopens the log, reads the configuration again and checks it as
 * far as can be without stopping (keys, values, librdkafka's properties).
 * Returns the new configuration when it is good (the caller stops and
 * starts again with it), else NULL after logging why: the service goes on
 * with the configuration it has. */
static cdc_config *reload_check(const config_src *src)
{
	char errstr[CDC_ERRSTR_SIZE];
	cdc_config *cfg;
	settings *ns;
	int usage;

	g_hup = 0;
	open_log();
	cfg = config_read(src, &usage, errstr, sizeof(errstr));
	ns = malloc(sizeof(*ns));
	if (cfg && ns && settings_load(ns, cfg, errstr, sizeof(errstr)) == 0 &&
	    (!ns->kafka || cdc_sink_kafka_check(ns->props, errstr, sizeof(errstr)) == 0)) {
		free(ns);
		return cfg;
	}
	logmsg(LOG_ERR, "SIGHUP: log reopened; configuration NOT reloaded: %s; going on with the running one",
	       cfg && !ns ? "out of memory" : errstr);
	free(ns);
	cdc_config_destroy(cfg);
	return NULL;
}

/* Runs the service with config c until a signal. Returns 0 on SIGTERM/INT
 * (after flushing and saving), 2 on SIGHUP with a good new configuration
 * (in *next, after the same stop-flush-save; the caller starts again with
 * it), 1 fatal. */
static int serve(const cdc_config *c, const config_src *src, metrics *keep, cdc_config **next)
{
	char errstr[CDC_ERRSTR_SIZE];
	service sv;
	int lockfd = -1, rc = 1, ready = 0, told = 0;
	int64_t next_cp, next_scan, next_metrics, next_wd = 0, wd_ms, kafka_warned = 0;
	uint64_t limit = CDC_NO_LIMIT;
	unsigned long overflows = 0;
	char lockpath[4200];

	*next = NULL;
	memset(&sv, 0, sizeof(sv));
	sv.reading_id = -1;
	sv.witness.for_id = -1;
	sv.m = *keep;
	if (settings_load(&sv.s, c, errstr, sizeof(errstr)) != 0) {
		logmsg(LOG_ERR, "%s", errstr);
		return 1;
	}
	if (sv.s.orphan_timeout_set)
		logmsg(LOG_WARN, "orphan_timeout is no longer used (docs/run.md: segments without _cdc.idx)");
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
	if (!sv.m.newest_acked_ts) /* the lag metric across a restart */
		sv.m.newest_acked_ts = cdc_checkpoint_acked_ts(sv.cp);
	if (sv.s.trigger)
		cdc_eventer_set_format(sv.ev, CDC_EVENT_TRIGGER);
	/* the service is up: systemd's start timeout must not run out while
	 * Cassandra is slow to serve CQL; STATUS says what is awaited */
	wd_ms = (int64_t)(cdc_notify_watchdog_usec() / 2000);
	cdc_notify("READY=1");
	ready = 1;
	while (load_schema(&sv, errstr, sizeof(errstr)) != 0) {
		logmsg(LOG_WARN, "schema: %s; retrying in 5 s", errstr);
		status(&sv, "waiting for the Cassandra schema");
		for (int i = 0; i < 50 && !g_stop; i++) {
			if (g_hup && (*next = reload_check(src)) != NULL) {
				rc = 2;
				goto out;
			}
			if (wd_ms && now_ms() >= next_wd) {
				cdc_notify("WATCHDOG=1");
				next_wd = now_ms() + wd_ms;
			}
			usleep(100000);
		}
		if (g_stop) {
			rc = 0;
			goto out;
		}
	}
	sv.dec = cdc_decoder_new(sv.schema);
	if (!sv.dec) {
		logmsg(LOG_ERR, "out of memory");
		goto out;
	}
	cdc_decoder_skip_non_cdc(sv.dec, 1);
	if (sv.s.kafka) {
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
	       sv.s.kafka ? cdc_config_get(c, "kafka.bootstrap.servers", "?") : sv.s.output, sv.s.schema,
	       sv.s.state_dir);
	status(&sv, "tailing");
	next_cp = next_scan = next_metrics = now_ms();
	while (!g_stop && !sv.fatal) {
		int64_t t = now_ms(), wait;
		int worked = 0;

		if (g_hup && (*next = reload_check(src)) != NULL)
			break;
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
		/* release finished segments, oldest first; an idx-less one that
		 * Cassandra is to remove is stepped over */
		for (size_t i = 0; i < sv.nsegs && !sv.rewind;) {
			seg_state *g = sv.segs[i];
			int r;

			if (!g->read_done || g->file.id == sv.reading_id ||
			    (g->ack && (cdc_acktrack_pending(g->ack) || cdc_acktrack_failed(g->ack))))
				break;
			if (!g->ack)
				g->ack = cdc_acktrack_new(g->file.id, 0);
			r = g->ack ? release(&sv, g) : -1;
			if (r < 0) {
				sv.fatal = 1;
				break;
			}
			if (r > 0) {
				i++;
				continue;
			}
			free_seg(g);
			memmove(sv.segs + i, sv.segs + i + 1, (--sv.nsegs - i) * sizeof(*sv.segs));
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
					if (g->seg && !g->bad && !g->idxless)
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
			sv.m.overflows += cdc_watch_overflows(sv.watch) - overflows;
			overflows = cdc_watch_overflows(sv.watch);
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
	cdc_notify(*next ? "RELOADING=1" : "STOPPING=1");
	told = 1;
	if (sv.st.n && !sv.fatal) {
		int64_t until = now_ms() + sv.s.shutdown_ms;

		while (send_staged(&sv) == 1 && now_ms() < until)
			cdc_sink_poll(sv.sink, 100);
	}
	if (cdc_sink_flush(sv.sink, (int)sv.s.shutdown_ms, errstr, sizeof(errstr)) != 0)
		logmsg(LOG_WARN, "stopping: %s; they will be sent again on restart", errstr);
	rc = save_checkpoint(&sv) == 0 && !sv.fatal ? (*next ? 2 : 0) : 1;
	sv.m.overflows += cdc_watch_overflows(sv.watch) - overflows;
	overflows = cdc_watch_overflows(sv.watch);
	if (sv.s.metrics_file)
		write_metrics(&sv.m, sv.s.metrics_file, cdc_sink_in_flight(sv.sink));
	logmsg(LOG_INFO, "stopped: %llu events acknowledged, %llu segments released, checkpoint %s",
	       sv.m.acked, sv.m.segments_done, rc == 1 ? "NOT saved" : "saved");
out:
	if (ready && !told)
		cdc_notify(*next ? "RELOADING=1" : "STOPPING=1");
	/* the sink first: destroying it reports what is still in flight to
	 * on_delivery, which looks the segments up (nothing is saved after the
	 * checkpoint above, so these late reports move nothing durable) */
	sv.stopping = 1;
	cdc_sink_destroy(sv.sink);
	sv.sink = NULL;
	for (size_t i = 0; i < sv.nsegs; i++)
		free_seg(sv.segs[i]);
	free(sv.segs);
	cdc_decoder_destroy(sv.dec);
	cdc_eventer_destroy(sv.ev);
	cdc_schema_destroy(sv.schema);
	if (sv.watch)
		sv.m.overflows += cdc_watch_overflows(sv.watch) - overflows;
	cdc_watch_close(sv.watch);
	cdc_checkpoint_destroy(sv.cp);
	cdc_buf_free(&sv.st.data);
	free(sv.st.m);
	free(sv.unknown);
	free(sv.password);
	if (sv.dead)
		fclose(sv.dead);
	*keep = sv.m;
	if (lockfd >= 0)
		close(lockfd);
	if (rc != 2 && *next) {
		cdc_config_destroy(*next);
		*next = NULL;
	}
	return rc;
}

static void run_usage(FILE *f)
{
	fputs("Usage: cdctail run --config FILE [--set key=value]...\n"
	      "Tails cdc_raw into Kafka (or JSON lines) until SIGTERM; SIGHUP reopens the\n"
	      "log and re-reads the configuration (a bad one is refused and the running\n"
	      "one kept). Keys: docs/run.md.\n", f);
}

int cdc_run_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *sets[64];
	config_src src = { NULL, sets, 0 };
	char errstr[CDC_ERRSTR_SIZE];
	struct sigaction sa;
	cdc_config *cfg;
	metrics m;
	int c, rc, usage, reloads = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': src.path = optarg; break;
		case 's':
			if (src.nsets >= 64) {
				fputs("cdctail run: too many --set\n", stderr);
				return 2;
			}
			sets[src.nsets++] = optarg;
			break;
		case 'h': run_usage(stdout); return 0;
		default: run_usage(stderr); return 2;
		}
	}
	if (optind != argc || (!src.path && !src.nsets)) {
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
	cfg = config_read(&src, &usage, errstr, sizeof(errstr));
	if (!cfg) {
		logmsg(LOG_ERR, "%s", errstr);
		return usage ? 2 : 1;
	}
	for (;;) {
		cdc_config *next = NULL;

		g_hup = 0;
		g_log_path = cdc_config_get(cfg, "log_file", NULL);
		open_log();
		if (reloads++)
			logmsg(LOG_INFO, "SIGHUP: log reopened, configuration re-read");
		rc = serve(cfg, &src, &m, &next);
		g_log_path = NULL;
		cdc_config_destroy(cfg);
		if (rc != 2)
			break;
		cfg = next;
	}
	if (g_log)
		fclose(g_log);
	free(m.t);
	return rc;
}
