/* replay.c - `cdctail replay`: segments → mutations → events → JSON lines. */
#include "replay.h"
#include "err.h"
#include "event.h"
#include "mutation.h"
#include "quarantine.h"
#include "schema_track.h"
#include "segment.h"
#include "sink.h"
#include "topic.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef struct seg_ref {
	char *path;
	int64_t id;
} seg_ref;

typedef struct seg_list {
	seg_ref *v;
	size_t n, cap;
} seg_list;

static int add_seg(seg_list *l, const char *path, int64_t id)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		seg_ref *nv = realloc(l->v, cap * sizeof(*nv));

		if (!nv)
			return -1;
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n].path = strdup(path);
	if (!l->v[l->n].path)
		return -1;
	l->v[l->n++].id = id;
	return 0;
}

static int by_id(const void *a, const void *b)
{
	const seg_ref *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/* Collects segment files: a directory contributes its CommitLog-*.log. */
static int collect(seg_list *l, char *const *paths, int n, unsigned long *faults)
{
	int i;

	for (i = 0; i < n; i++) {
		struct stat st;
		int64_t id = 0;

		if (stat(paths[i], &st) != 0) {
			fprintf(stderr, "cdctail: %s: %s\n", paths[i], strerror(errno));
			(*faults)++;
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			DIR *d = opendir(paths[i]);
			struct dirent *e;
			char full[4096];

			if (!d) {
				fprintf(stderr, "cdctail: %s: %s\n", paths[i], strerror(errno));
				(*faults)++;
				continue;
			}
			while ((e = readdir(d)) != NULL) {
				if (cdc_segment_parse_name(e->d_name, NULL, &id) != 0)
					continue;
				snprintf(full, sizeof(full), "%s/%s", paths[i], e->d_name);
				if (add_seg(l, full, id) != 0) {
					closedir(d);
					return -1;
				}
			}
			closedir(d);
		} else {
			cdc_segment_parse_name(paths[i], NULL, &id);
			if (add_seg(l, paths[i], id) != 0)
				return -1;
		}
	}
	qsort(l->v, l->n, sizeof(*l->v), by_id);
	return 0;
}

typedef struct sink_ctx {
	FILE *out;
	unsigned long events, delivered, failed, filtered;
	cdc_sink *kafka;            /* NULL: JSON lines to out */
	cdc_eventer *ev;
	const cdc_replay_opts *o;
	int64_t segment_id;
	uint64_t seq, offset;       /* offset: of the entry being emitted */
	char topic[512];
} sink_ctx;

static void on_delivery(void *opaque, const cdc_msg_tag *tag, const cdc_delivery *d)
{
	sink_ctx *s = opaque;

	if (d->status == CDC_DELIVERED) {
		s->delivered++;
	} else {
		if (!s->failed || d->status == CDC_REJECTED)
			fprintf(stderr, "cdctail: kafka delivery failed%s: segment %" PRId64 " entry at offset %" PRIu64 ": %s\n",
				d->status == CDC_REJECTED ? " (Kafka will not accept it)" : "", tag->segment_id, tag->offset,
				d->err ? d->err : "?");
		s->failed++;
	}
}

/* The topic of an update (topic.h). */
static const char *topic_for(sink_ctx *s, const cdc_update *u)
{
	return cdc_topic_format(s->o->topic_template, s->o->topic_prefix, u->table->keyspace, u->table->name, s->topic,
				sizeof(s->topic));
}

/* Whether the options keep events of table t. */
static int table_kept(const cdc_replay_opts *o, const cdc_table *t)
{
	size_t kl = strlen(t->keyspace);
	int i;

	if (!o->only)
		return 1;
	for (i = 0; o->only[i]; i++) {
		const char *n = o->only[i];

		if (strncmp(n, t->keyspace, kl) == 0 &&
		    (n[kl] == '\0' || (n[kl] == '.' && strcmp(n + kl + 1, t->name) == 0)))
			return 1;
	}
	return 0;
}

static int write_line(void *opaque, const cdc_update *u, const char *json, size_t len)
{
	sink_ctx *s = opaque;
	char err[CDC_ERRSTR_SIZE];
	cdc_msg_tag tag = { .segment_id = s->segment_id, .seq = s->seq++, .offset = s->offset, .ts = cdc_eventer_ts(s->ev) };
	const char *key;
	size_t keylen;
	int64_t ts = cdc_eventer_ts(s->ev);
	int rc;

	if ((s->o->has_since && ts < s->o->since) || (s->o->has_until && ts >= s->o->until) ||
	    !table_kept(s->o, u->table)) {
		s->filtered++;
		return 0;
	}
	s->events++;
	if (!s->kafka)
		return fwrite(json, 1, len, s->out) != len || fputc('\n', s->out) == EOF ? -1 : 0;
	cdc_eventer_key(s->ev, &key, &keylen);
	while ((rc = cdc_sink_produce(s->kafka, topic_for(s, u), key, keylen, json, len, &tag, err,
				      sizeof(err))) == CDC_SINK_FULL)
		cdc_sink_poll(s->kafka, 100);
	if (rc != 0) {
		fprintf(stderr, "cdctail: %s\n", err);
		return -1;
	}
	cdc_sink_poll(s->kafka, 0);
	return 0;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* Whether an unknown table id was already reported. */
static int seen_unknown(uint8_t (*ids)[16], size_t *n, const uint8_t id[16])
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (memcmp(ids[i], id, 16) == 0)
			return 1;
	if (*n < 256)
		memcpy(ids[(*n)++], id, 16);
	return 0;
}

/* With --skipped: the offsets recorded for the segment (quarantine.h). 0
 * (a segment without records yields none), or -1 (reported). */
static int skipped_offsets(const char *path, uint64_t **offs, size_t *n, cdc_replay_stats *st)
{
	char rec[4200], errstr[CDC_ERRSTR_SIZE];

	*offs = NULL;
	*n = 0;
	if (cdc_quarantine_path(NULL, path, rec, sizeof(rec)) != 0 ||
	    cdc_quarantine_read(rec, offs, n, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "cdctail: %s\n", errstr);
		st->faults++;
		return -1;
	}
	if (!*n)
		fprintf(stderr, "cdctail: %s: no skipped entries recorded in %s\n", path, rec);
	return 0;
}

/* Whether off is one of the n sorted offsets. */
static int listed(const uint64_t *offs, size_t n, uint64_t off)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (offs[mid] == off)
			return 1;
		if (offs[mid] < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

/* An entry of a table the schema file lacks: Cassandra's own are passed
 * over; the others are counted (and, when the file lists Cassandra's own
 * tables, a fault). Returns 1 when the updates before it are to be
 * delivered. */
static int unknown_table(const cdc_replay_opts *o, const char *path, const cdc_item *it, const cdc_mutation *m,
			 cdc_replay_stats *st, uint8_t (*unknown)[16], size_t *nunknown)
{
	int strict = cdc_schema_internal_count(o->schema) > 0;
	char uuid[37];

	if (cdc_schema_is_internal(o->schema, m->missing_table))
		return 0;
	st->unknown_table_entries++;
	if (strict)
		st->faults++;
	if (!seen_unknown(unknown, nunknown, m->missing_table)) {
		cdc_uuid_format(m->missing_table, uuid);
		fprintf(stderr, "cdctail: %s: entry at offset %" PRIu64 ": table %s is not in the schema%s; its entries are skipped\n",
			path, it->entry.offset, uuid, strict ? " file nor one of Cassandra's own: the file is older than "
			"the segment (export it again: cdctail schema export), or the table was dropped before the export" : "");
	}
	/* the updates before it in the same entry (a batch) decoded: keep
	 * their events; what follows the unknown table cannot be read */
	if (m->nupdates == 0)
		return 0;
	fprintf(stderr, "cdctail: %s: entry at offset %" PRIu64 ": kept the %u partition update(s) before the unknown table, skipped the rest\n",
		path, it->entry.offset, (unsigned)m->nupdates);
	return 1;
}

static int replay_one(const cdc_replay_opts *o, const char *path, cdc_decoder *dec, cdc_eventer *ev,
		      sink_ctx *sink, cdc_replay_stats *st, uint8_t (*unknown)[16], size_t *nunknown,
		      cdc_track *track)
{
	char errstr[CDC_ERRSTR_SIZE], idxpath[4096];
	const cdc_descriptor *d;
	cdc_segment *seg;
	cdc_index idx;
	cdc_item it;
	uint64_t *offs = NULL;
	size_t noffs = 0;
	int r;

	if (o->skipped_only && skipped_offsets(path, &offs, &noffs, st) != 0)
		return 0;
	if (cdc_segment_open(&seg, path, errstr, sizeof(errstr)) != 0) {
		fprintf(stderr, "cdctail: %s\n", errstr);
		st->faults++;
		free(offs);
		return 0;
	}
	st->segments++;
	d = cdc_segment_descriptor(seg);
	{
		struct stat sb;

		if (stat(path, &sb) == 0)
			st->bytes += (unsigned long long)sb.st_size;
	}
	if (!o->ignore_index && cdc_index_path_for(path, idxpath, sizeof(idxpath)) == 0 &&
	    cdc_index_read(idxpath, &idx, errstr, sizeof(errstr)) == 0 && !idx.completed)
		cdc_segment_set_limit(seg, idx.offset);
	while ((r = cdc_segment_next(seg, &it, errstr, sizeof(errstr))) == 1) {
		cdc_event_source src = { o->node, d->id, 0, d->version, cdc_schema_cassandra_version(o->schema) };

		sink->segment_id = d->id;
		cdc_mutation m;
		int rc;

		if (it.kind == CDC_ITEM_ERROR) {
			fprintf(stderr, "cdctail: %s\n", errstr);
			st->faults++;
			continue;
		}
		if (it.kind != CDC_ITEM_ENTRY || (o->skipped_only && !listed(offs, noffs, it.entry.offset)))
			continue;
		st->entries++;
		src.entry_offset = it.entry.offset;
		sink->offset = it.entry.offset;
		cdc_track_at(track, d->id, it.entry.offset);
		rc = cdc_decode(dec, it.entry.body, it.entry.size, d->messaging_version, &m, errstr, sizeof(errstr));
		if (rc == CDC_DECODE_UNKNOWN_TABLE) {
			if (!unknown_table(o, path, &it, &m, st, unknown, nunknown))
				continue;
		} else if (rc != 0 && m.failed_table && m.failed_table->internal) {
			continue; /* Cassandra's own tables, from another release's schema: nothing to deliver */
		} else if (rc == CDC_DECODE_STALE_SCHEMA) {
			fprintf(stderr, "cdctail: %s: entry at offset %" PRIu64 ": %s; entry skipped: the schema file is older "
				"than the segment (export it again: cdctail schema export)\n", path, it.entry.offset, errstr);
			st->faults++;
			continue;
		} else if (rc != 0) {
			fprintf(stderr, "cdctail: %s: entry at offset %" PRIu64 ": %s; entry skipped\n", path,
				it.entry.offset, errstr);
			st->faults++;
			continue;
		} else if (cdc_track_entry(track, o->schema, &m) < 0) {
			cdc_segment_destroy(seg);
			free(offs);
			errno = ENOMEM;
			return -1;
		}
		if ((rc = cdc_events_emit(ev, &m, &src, write_line, sink, errstr, sizeof(errstr))) < 0) {
			if (ferror(sink->out)) {
				cdc_segment_destroy(seg);
				free(offs);
				return -1;
			}
			fprintf(stderr, "cdctail: %s: entry at offset %" PRIu64 ": %s; entry skipped%s\n", path,
				it.entry.offset, errstr, rc == CDC_EVENTS_STALE_SCHEMA ? ": the schema file is older than "
				"the segment (export it again: cdctail schema export)" : "");
			st->faults++;
		}
	}
	if (r < 0) {
		fprintf(stderr, "cdctail: %s\n", errstr);
		st->faults++;
	}
	cdc_segment_destroy(seg);
	free(offs);
	return 0;
}

int cdc_replay(const cdc_replay_opts *o, char *const *paths, int npaths, cdc_replay_stats *st,
	       char *errstr, size_t errlen)
{
	seg_list l = { 0 };
	cdc_decoder *dec = cdc_decoder_new(o->schema);
	cdc_eventer *ev = cdc_eventer_new();
	sink_ctx sink = { 0 };
	uint8_t (*unknown)[16] = calloc(256, 16);
	cdc_track *track = cdc_track_new();
	size_t nunknown = 0, i;
	double t0;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	if (dec && track) {
		cdc_decoder_skip_non_cdc(dec, 1);
		cdc_decoder_set_cdc_flag(dec, cdc_track_cdc_flag, track);
	}
	sink.out = o->out;
	sink.ev = ev;
	sink.o = o;
	/* bounded as `run` is: reading waits while this much is unacknowledged,
	 * instead of librdkafka's queue growing as fast as decoding runs */
	if (o->kafka_props &&
	    cdc_sink_kafka_new(&sink.kafka, o->kafka_props,
			       o->max_in_flight ? o->max_in_flight : CDC_REPLAY_MAX_IN_FLIGHT, on_delivery, &sink,
			       errstr, errlen) != 0) {
		rc = -1;
		goto out;
	}
	if (sink.kafka)
		cdc_sink_set_max_bytes(sink.kafka, o->max_in_flight_bytes ? o->max_in_flight_bytes
									  : CDC_REPLAY_MAX_IN_FLIGHT_BYTES);
	if (ev && o->trigger_format)
		cdc_eventer_set_format(ev, CDC_EVENT_TRIGGER);
	if (!dec || !ev || !unknown || !track || collect(&l, paths, npaths, &st->faults) != 0) {
		rc = cdc_error(errstr, errlen, "out of memory");
		goto out;
	}
	t0 = now_s();
	for (i = 0; i < l.n && rc == 0; i++) {
		if (replay_one(o, l.v[i].path, dec, ev, &sink, st, unknown, &nunknown, track) != 0)
			rc = cdc_error(errstr, errlen, "writing events: %s", strerror(errno));
		if (o->progress) {
			double dt = now_s() - t0;

			fprintf(stderr, "\rcdctail replay: %zu/%zu segments, %.1f MiB, %lu events, %.0f events/s   ",
				i + 1, l.n, st->bytes / 1048576.0, sink.events, dt > 0 ? sink.events / dt : 0.0);
		}
	}
	if (o->progress)
		fputc('\n', stderr);
	if (rc == 0 && sink.kafka) {
		if (cdc_sink_flush(sink.kafka, 120000, errstr, errlen) != 0)
			rc = -1;
	} else if (rc == 0 && fflush(o->out) != 0) {
		rc = cdc_error(errstr, errlen, "writing events: %s", strerror(errno));
	}
	st->events = sink.events;
	st->filtered = sink.filtered;
out:
	cdc_sink_destroy(sink.kafka);
	st->delivered = sink.delivered;
	st->delivery_failures = sink.failed;
	for (i = 0; i < l.n; i++)
		free(l.v[i].path);
	free(l.v);
	free(unknown);
	cdc_track_destroy(track);
	cdc_decoder_destroy(dec);
	cdc_eventer_destroy(ev);
	return rc;
}
