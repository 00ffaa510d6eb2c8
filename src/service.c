/* service.c - the loop of `cdctail run`. */
#include "service.h"
#include "acktrack.h"
#include "cdcraw.h"
#include "checkpoint.h"
#include "deadletter.h"
#include "err.h"
#include "fsmove.h"
#include "jsonl.h"
#include "log.h"
#include "notify.h"
#include "outbox.h"
#include "ingest.h"
#include "schema_live.h"
#include "segment.h"
#include "settings.h"
#include "sink.h"
#include "watch.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

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

/* A segment between its first read and its release. */
typedef struct seg_state {
	cdc_seg_file file;
	cdc_segment *seg;        /* open while being read */
	cdc_acktrack *ack;
	int messaging_version, cl_version;
	int read_done;           /* everything Cassandra will write is read */
	int bad;                 /* unreadable: quarantine instead of delete */
	int completed;           /* its idx said COMPLETED (or 3.x: whole file) */
	cdc_raw_idxless idxless; /* 4.0+ without _cdc.idx: NO_CDC_DATA or
				  * DISCARDED once decided (cdcraw.h) */
	uint64_t synced;         /* what _cdc.idx covers: read ahead or not, the
				  * checkpoint never goes past it */
} seg_state;

/* The entry whose events are in the outbox. */
typedef struct entry_pos {
	int64_t segment_id;
	uint64_t generation, seq, offset;
} entry_pos;

typedef struct service {
	cdc_settings s;
	const cdc_config *config;
	const cdc_service_ctl *ctl;
	cdc_metrics *m;
	cdc_checkpoint *cp;
	cdc_sink *sink;
	cdc_watch *watch;
	cdc_schema_src *src;     /* the schema: the node's or a file */
	cdc_ingest *ig;          /* entries into staged events */
	cdc_outbox *out;
	cdc_jsonl *dead;         /* state_dir/dead-letter.jsonl */
	char *password;
	int lockfd;
	seg_state **segs;        /* active, by id; segs[0] is the oldest */
	size_t nsegs, capsegs;
	int64_t reading_id;      /* id of the segment being read, or -1 */
	uint64_t limit;          /* its read limit (idx offset), CDC_NO_LIMIT */
	entry_pos staged;        /* the entry the outbox holds */
	int rewind;              /* a delivery failed: re-read from the checkpoint */
	int64_t rewind_not_before; /* ... not before this time (monotonic ms) */
	int dirty;               /* checkpoint changed in memory */
	int fatal;
	int stopping;            /* the checkpoint is saved: reports move nothing now */
	int kafka_warned;        /* "reading paused" was said */
	int worked;              /* this turn of the loop did something */
	struct held {            /* an entry told to wait (a copy: the segment
				  * reader's body is valid only until its next call) */
		int active;
		int64_t segment_id;
		cdc_entry_info e;
		uint8_t *body;
		int64_t first_met_ms;
	} held;
	cdc_raw_witness witness; /* for the idx-less segment waited for */
	int64_t next_cp, next_scan, next_metrics, next_wd, wd_ms;
	unsigned long overflows; /* inotify overflows already counted */
	uint64_t ahead_entries, ahead_stops[CDC_PENDING_KINDS]; /* of segments closed */
	int ahead_told[4];       /* "read-ahead off" said, by reason */
} service;

static seg_state *find_seg(service *sv, int64_t id)
{
	size_t i;

	for (i = 0; i < sv->nsegs; i++)
		if (sv->segs[i]->file.id == id)
			return sv->segs[i];
	return NULL;
}

/* ---- delivery reports ---- */

/* A message Kafka will never accept: into the dead-letter file, so the
 * position can go past it. 0, or -1 (logged: it must then count as failed). */
static int dead_letter(service *sv, const seg_state *g, const cdc_msg_tag *tag, const cdc_delivery *d)
{
	cdc_dead_letter dl = { g->file.path, tag->segment_id, tag->offset, d->err, d->topic, d->key, d->payload,
			       d->keylen, d->len, tag->ts };
	char errstr[CDC_ERRSTR_SIZE];

	if (cdc_deadletter_write(sv->dead, &dl, errstr, sizeof(errstr)) != 0) {
		cdc_log(CDC_LOG_ERR, "%s", errstr);
		return -1;
	}
	cdc_metrics_add(sv->m, CDC_M_DEAD_LETTERS, 1);
	cdc_log(CDC_LOG_ERR, "%s: entry at offset %" PRIu64 ": Kafka will not accept its event for %s (%s, %zu bytes): "
		"written to %s", g->file.path, tag->offset, d->topic ? d->topic : "?", d->err ? d->err : "?", d->len,
		cdc_jsonl_path(sv->dead));
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

	if (d->status == CDC_DELIVERED)
		cdc_metrics_acked(sv->m, tag->stat, d->len, tag->ts);
	if (sv->stopping) /* purged at exit: sent again by the next run */
		return;
	switch (d->status) {
	case CDC_DELIVERED:
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
		if (!cdc_metrics_get(sv->m, CDC_M_DELIVERY_ERRORS))
			cdc_log(CDC_LOG_ERR, "delivery failed: %s; segment %" PRId64 " will be re-read from its checkpoint",
				d->err ? d->err : "?", tag->segment_id);
		cdc_metrics_add(sv->m, CDC_M_DELIVERY_ERRORS, 1);
		if (current)
			sv->rewind = 1;
		break;
	}
	if (current)
		cdc_acktrack_ack(g->ack, tag->generation, tag->seq, ok);
}

/* ---- one entry ---- */

/* Hands the staged messages to the sink: 0 all sent, 1 the sink is full
 * (call again after polling), -1 fatal (logged). */
static int send_staged(service *sv)
{
	cdc_msg_tag tag = { .segment_id = sv->staged.segment_id, .generation = sv->staged.generation,
			    .seq = sv->staged.seq, .offset = sv->staged.offset };
	char errstr[CDC_ERRSTR_SIZE];
	int rc = cdc_outbox_send(sv->out, sv->sink, &tag, errstr, sizeof(errstr));

	if (rc < 0)
		cdc_log(CDC_LOG_ERR, "%s", errstr);
	return rc;
}

static void ingest_seg(const seg_state *g, cdc_ingest_seg *out)
{
	out->path = g->file.path;
	out->id = g->file.id;
	out->messaging_version = g->messaging_version;
	out->cl_version = g->cl_version;
}

/* Registers an entry with the segment's tracker, with the messages staged
 * for it (0 for a skipped one). 0, or -1 (logged). */
static int track_entry(service *sv, seg_state *g, const cdc_entry_info *e)
{
	sv->staged.segment_id = g->file.id;
	sv->staged.generation = cdc_acktrack_generation(g->ack);
	sv->staged.offset = e->offset;
	if (cdc_acktrack_add(g->ack, e->end, (uint32_t)cdc_outbox_pending(sv->out), &sv->staged.seq) != 0) {
		cdc_log(CDC_LOG_ERR, "%s: entry at offset %" PRIu64 ": position tracking failed", g->file.path, e->offset);
		return -1;
	}
	return 0;
}

/* Keeps a copy of an entry told to wait. 0, or -1 when out of memory. */
static int hold(service *sv, const seg_state *g, const cdc_entry_info *e, int64_t first_met)
{
	uint8_t *copy = e->size ? malloc(e->size) : NULL;

	if (e->size && !copy)
		return -1;
	if (e->size)
		memcpy(copy, e->body, e->size);
	if (sv->held.body != copy)
		free(sv->held.body);
	sv->held.active = 1;
	sv->held.segment_id = g->file.id;
	sv->held.e = *e;
	sv->held.e.body = copy;
	sv->held.body = copy;
	sv->held.first_met_ms = first_met;
	return 0;
}

static void drop_held(service *sv)
{
	free(sv->held.body);
	memset(&sv->held, 0, sizeof(sv->held));
}

/* Offers one entry to ingest (ingest.h) and registers it once it is done
 * with. 0 done, 1 it waits (held), -1 fatal (logged). */
static int process_entry(service *sv, seg_state *g, const cdc_entry_info *e, int64_t first_met)
{
	char errstr[CDC_ERRSTR_SIZE];
	cdc_ingest_seg ig;
	int r;

	ingest_seg(g, &ig);
	r = cdc_ingest_entry(sv->ig, &ig, e, first_met, errstr, sizeof(errstr));
	if (r < 0) {
		cdc_log(CDC_LOG_ERR, "%s", errstr);
		return -1;
	}
	if (r == CDC_INGEST_WAIT) {
		if (e != &sv->held.e && hold(sv, g, e, first_met) != 0) {
			cdc_log(CDC_LOG_ERR, "out of memory");
			return -1;
		}
		return 1;
	}
	if (track_entry(sv, g, e) != 0)
		return -1;
	if (sv->held.active)
		drop_held(sv);
	return 0;
}

/* A fault the segment reader reported, as a skipped entry of g. 0
 * recorded, 1 the record could not be written (reading waits). */
static int record_fault(service *sv, seg_state *g, uint64_t offset, uint64_t end, const char *reason)
{
	cdc_ingest_seg ig;

	ingest_seg(g, &ig);
	return cdc_ingest_fault(sv->ig, &ig, offset, end, reason) == CDC_INGEST_WAIT;
}

/* A segment that cannot be read any further: quarantined at release, the
 * reason recorded. */
static void mark_bad(service *sv, seg_state *g, const char *why)
{
	cdc_segment_end end = g->seg ? cdc_segment_end_state(g->seg) : (cdc_segment_end){ 0 };

	cdc_log(CDC_LOG_ERR, "%s; segment quarantined", why);
	record_fault(sv, g, end.logical_offset, end.logical_offset, why);
	g->bad = 1;
	g->read_done = 1;
}

/* ---- a segment: open, index, read ---- */

/* Turns read-ahead on for a segment just opened; says once per reason why
 * it cannot be (docs/run.md, "Read-ahead"). */
static void start_read_ahead(service *sv, seg_state *g)
{
	char errstr[CDC_ERRSTR_SIZE];
	cdc_ahead_refusal why = cdc_segment_set_read_ahead(g->seg, 1, errstr, sizeof(errstr));

	if (why != CDC_AHEAD_OK && (size_t)why < sizeof(sv->ahead_told) / sizeof(sv->ahead_told[0]) &&
	    !sv->ahead_told[why]++)
		cdc_log(CDC_LOG_INFO, "read-ahead off: %s; events wait for Cassandra's commitlog sync (_cdc.idx)", errstr);
}

/* Adds a segment's read-ahead counters to the service's before it is closed. */
static void count_read_ahead(service *sv, const cdc_segment *seg)
{
	uint64_t c[CDC_PENDING_KINDS], e;
	int k;

	if (!seg)
		return;
	cdc_segment_ahead_stats(seg, c, &e);
	for (k = 0; k < CDC_PENDING_KINDS; k++)
		sv->ahead_stops[k] += c[k];
	sv->ahead_entries += e;
}

/* Opens the segment for reading from its checkpoint position. 0 open, 1 not
 * readable yet (retry later), -1 not to be read (bad: quarantined when
 * released; or gone). */
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
			cdc_log(g->file.has_idx ? CDC_LOG_WARN : CDC_LOG_INFO, "%s: removed from cdc_raw before it was read%s",
				g->file.path, g->file.has_idx ? " (with its _cdc.idx: its events are not in Kafka; "
				"cdctail_segments_lost_total)" : "");
			if (g->file.has_idx)
				cdc_metrics_add(sv->m, CDC_M_SEGMENTS_LOST, 1);
			g->idxless = CDC_RAW_NO_CDC_DATA;
			g->read_done = 1;
			return -1;
		}
		if (!done && time(NULL) - g->file.mtime < 60)
			return 1; /* Cassandra may still be writing its header */
		mark_bad(sv, g, errstr);
		return -1;
	}
	d = cdc_segment_descriptor(g->seg);
	g->messaging_version = d->messaging_version;
	g->cl_version = d->version;
	g->synced = 0;
	if (sv->s.read_ahead && !cdc_raw_whole_at_discard(d->version))
		start_read_ahead(sv, g);
	cdc_checkpoint_get(sv->cp, g->file.id, &pos, &finished);
	g->ack = cdc_acktrack_new(g->file.id, pos);
	if (!g->ack) {
		cdc_log(CDC_LOG_ERR, "out of memory");
		return -1;
	}
	if (pos)
		cdc_log(CDC_LOG_INFO, "%s: resuming after offset %" PRIu64, g->file.path, pos);
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

/* Decides about a 4.0+ segment that has no _cdc.idx (yet), by Cassandra's
 * rules (cdcraw.h): the newer idx is looked at first, then the segment. */
static cdc_raw_idxless decide_idxless(service *sv, seg_state *g)
{
	cdc_index idx = { 0, 0 };
	int64_t id = 0;
	int newer = newest_newer_idx(sv, g, &id, &idx);
	char why[5000];
	cdc_raw_idxless v = cdc_raw_decide_idxless(g->file.path, g->file.idx_path, g->file.id, newer, id, &idx,
						   &sv->witness, why, sizeof(why));

	if (v == CDC_RAW_IDX_APPEARED)
		g->file.has_idx = 1;
	else if (v != CDC_RAW_WAIT) {
		cdc_log(CDC_LOG_INFO, "%s", why);
		g->idxless = v;
	}
	return v;
}

/* Whether segment g and its _cdc.idx were removed from cdc_raw (by hand,
 * or by Cassandra with cdc_block_writes: false) while it was being read:
 * then what its idx had not yet allowed (past limit) is lost, said and
 * counted once. 1 removed, 0 not. */
static int removed_while_read(service *sv, seg_state *g, uint64_t limit)
{
	struct stat st;

	if (lstat(g->file.idx_path, &st) == 0 || errno != ENOENT || lstat(g->file.path, &st) == 0 || errno != ENOENT)
		return 0;
	cdc_log(CDC_LOG_WARN, "%s: removed from cdc_raw with its _cdc.idx while being read (by hand, or by Cassandra "
		"with cdc_block_writes: false): entries up to offset %" PRIu64 " are delivered, anything after it is "
		"not in Kafka (cdctail_segments_lost_total)", g->file.path, limit == CDC_NO_LIMIT ? 0 : limit);
	cdc_metrics_add(sv->m, CDC_M_SEGMENTS_LOST, 1);
	return 1;
}

/* What the index allows now: sets the segment's read limit; returns 1 when
 * the limit grew (more to read), and marks completed. */
static int apply_index(service *sv, seg_state *g, uint64_t *limit)
{
	cdc_index idx;
	char errstr[CDC_ERRSTR_SIZE];

	if (g->idxless == CDC_RAW_NO_CDC_DATA)
		return 0;
	if (g->idxless == CDC_RAW_DISCARDED || (!g->file.has_idx && cdc_raw_whole_at_discard(g->cl_version))) {
		g->completed = 1;
		*limit = g->synced = CDC_NO_LIMIT;
		return 0;
	}
	if (!g->file.has_idx) {
		switch (decide_idxless(sv, g)) {
		case CDC_RAW_IDX_APPEARED:
			break;
		case CDC_RAW_NO_CDC_DATA:
			g->completed = 1; /* nothing to read, limit stays where it is */
			return 0;
		case CDC_RAW_DISCARDED:
			g->completed = 1;
			*limit = g->synced = CDC_NO_LIMIT;
			return 0;
		default:
			return 0;
		}
	}
	if (cdc_index_read_ex(g->file.idx_path, CDC_OPEN_NOFOLLOW, &idx, errstr, sizeof(errstr)) != 0) {
		if (removed_while_read(sv, g, *limit))
			g->completed = 1; /* nothing more will be known: read to the limit, then go on */
		return 0; /* else being rewritten: next time */
	}
	if (idx.completed) {
		g->completed = 1;
		if (g->seg)
			cdc_segment_set_read_ahead(g->seg, 0, NULL, 0); /* the end is known: read to it */
	}
	if (*limit == CDC_NO_LIMIT || idx.offset > *limit) {
		int grew = *limit != idx.offset;

		*limit = g->synced = idx.offset;
		return grew;
	}
	return 0;
}

/* At the end of what can be read now: 1 when the limit moved (read on),
 * 0 wait for Cassandra, 2 the segment is read to its end. */
static int at_read_end(service *sv, seg_state *g)
{
	char errstr[CDC_ERRSTR_SIZE];
	uint64_t before = sv->limit;

	if (apply_index(sv, g, &sv->limit) || before != sv->limit) {
		cdc_segment_set_limit(g->seg, sv->limit);
		if (cdc_segment_refresh(g->seg, errstr, sizeof(errstr)) != 0) {
			cdc_log(CDC_LOG_ERR, "%s", errstr);
			return 0;
		}
		return 1;
	}
	if (g->completed) {
		cdc_segment_end end = cdc_segment_end_state(g->seg);

		if (end.reason == CDC_END_ERROR) {
			char why[4400];

			snprintf(why, sizeof(why), "%s: offset %" PRIu64 ": a sync marker that does not check; the rest of "
				 "the segment cannot be read", g->file.path, end.file_offset);
			mark_bad(sv, g, why);
		}
		g->read_done = 1;
		return 2;
	}
	if (cdc_segment_refresh(g->seg, errstr, sizeof(errstr)) != 0)
		cdc_log(CDC_LOG_ERR, "%s", errstr);
	return 0;
}

/* Offers the held entry again, when it is of g: 0 none held, 2 it is done
 * (its events are staged), 1 it still waits, -1 fatal. */
static int retry_held(service *sv, seg_state *g)
{
	int r;

	if (!sv->held.active)
		return 0;
	if (sv->held.segment_id != g->file.id) { /* left behind by a re-read */
		drop_held(sv);
		return 0;
	}
	r = process_entry(sv, g, &sv->held.e, sv->held.first_met_ms);
	return r == 0 ? 2 : r;
}

/* Reads up to budget entries of the segment being read. Returns the number
 * of items handled; 0 when it must wait (for Cassandra, the schema or the
 * sink). */
static int read_some(service *sv, seg_state *g, int budget)
{
	char errstr[CDC_ERRSTR_SIZE];
	cdc_item it;
	int n = 0, r;

	while (n < budget) {
		if (cdc_outbox_pending(sv->out)) {
			int s = send_staged(sv);

			if (s != 0) {
				if (s < 0)
					sv->fatal = 1;
				return n;
			}
		}
		r = retry_held(sv, g);
		if (r == 2)
			continue; /* its events are handed over first */
		if (r != 0) {
			if (r < 0)
				sv->fatal = 1;
			return n;
		}
		r = cdc_segment_next(g->seg, &it, errstr, sizeof(errstr));
		if (r < 0) {
			mark_bad(sv, g, errstr);
			return n + 1;
		}
		if (r == 0) {
			r = at_read_end(sv, g);
			if (r == 1)
				continue;
			return r == 2 ? n + 1 : n;
		}
		n++;
		if (it.kind == CDC_ITEM_ERROR) {
			uint64_t end = it.entry.end > it.entry.offset ? it.entry.end : it.entry.offset + 1;

			if (end > cdc_acktrack_safe(g->ack) && record_fault(sv, g, it.entry.offset, end, errstr)) {
				/* not written down: must not be passed over; read
				 * again from the checkpoint in a second */
				sv->rewind = 1;
				sv->rewind_not_before = now_ms() + 1000;
				return n;
			}
			continue;
		}
		if (it.kind != CDC_ITEM_ENTRY || it.entry.end <= cdc_acktrack_safe(g->ack))
			continue;
		r = process_entry(sv, g, &it.entry, now_ms());
		if (r < 0) {
			sv->fatal = 1;
			return n;
		}
		if (r > 0)
			return n; /* the entry waits (held) */
	}
	return n;
}

/* ---- checkpoint and release ---- */

/* A file sink's lines must be on disk before a checkpoint covers them, and
 * so must the dead letters. 0, or -1 (logged). */
static int sync_outputs(service *sv)
{
	char errstr[CDC_ERRSTR_SIZE];

	if (sv->sink && cdc_sink_in_flight(sv->sink) == 0 && cdc_sink_flush(sv->sink, 0, errstr, sizeof(errstr)) != 0) {
		cdc_log(CDC_LOG_ERR, "%s", errstr);
		return -1;
	}
	if (cdc_jsonl_sync(sv->dead, errstr, sizeof(errstr)) != 0) {
		cdc_log(CDC_LOG_ERR, "%s", errstr);
		return -1;
	}
	return 0;
}

/* The position of a segment the checkpoint may hold: what Kafka
 * acknowledged, but, while the segment is read, not past what _cdc.idx
 * covers (entries read ahead of the sync are sent again after a crash). */
static uint64_t synced_safe(const seg_state *g)
{
	uint64_t safe = cdc_acktrack_safe(g->ack);

	return !g->read_done && safe > g->synced ? g->synced : safe;
}

/* The oldest position a restart or a re-read may start from: the safe
 * position of the oldest active segment (none: past everything). */
static void resume_point(service *sv, int64_t *seg, uint64_t *off)
{
	uint64_t pos = 0;
	int fin;

	*seg = INT64_MAX;
	*off = 0;
	if (!sv->nsegs)
		return;
	*seg = sv->segs[0]->file.id;
	if (sv->segs[0]->ack)
		*off = synced_safe(sv->segs[0]);
	else if (cdc_checkpoint_get(sv->cp, *seg, &pos, &fin) == 0)
		*off = pos;
}

/* What the checkpoint about to be saved relies on: the records of skipped
 * entries durable, the schema tracker's state in its notes. 1 the notes
 * changed, 0 not, -1 failed (logged: do not save). */
static int prepare_checkpoint(service *sv)
{
	char errstr[CDC_ERRSTR_SIZE];
	int64_t seg;
	uint64_t off;
	int r;

	resume_point(sv, &seg, &off);
	r = cdc_ingest_prepare_checkpoint(sv->ig, seg, off, errstr, sizeof(errstr));
	if (r < 0)
		cdc_log(CDC_LOG_ERR, "%s", errstr);
	return r;
}

/* Writes the checkpoint durably, the outputs it relies on first. 0, or -1
 * (logged). */
static int write_checkpoint(service *sv)
{
	char errstr[CDC_ERRSTR_SIZE];

	cdc_checkpoint_set_acked_ts(sv->cp, cdc_metrics_newest_acked_ts(sv->m));
	if (prepare_checkpoint(sv) < 0 || sync_outputs(sv) != 0)
		return -1;
	if (cdc_checkpoint_save(sv->cp, errstr, sizeof(errstr)) != 0) {
		cdc_log(CDC_LOG_ERR, "%s", errstr);
		return -1;
	}
	sv->dirty = 0;
	return 0;
}

/* Saves safe positions of active segments when any moved; 0, or -1
 * (logged). */
static int save_checkpoint(service *sv)
{
	size_t i;

	for (i = 0; i < sv->nsegs; i++)
		if (sv->segs[i]->ack) {
			uint64_t safe = synced_safe(sv->segs[i]), pos = 0;
			int fin = 0;

			if (cdc_checkpoint_get(sv->cp, sv->segs[i]->file.id, &pos, &fin) != 0 || safe > pos) {
				cdc_checkpoint_set(sv->cp, sv->segs[i]->file.id, safe, 0);
				sv->dirty = 1;
			}
		}
	if (cdc_checkpoint_set_acked_ts(sv->cp, cdc_metrics_newest_acked_ts(sv->m)))
		sv->dirty = 1;
	switch (prepare_checkpoint(sv)) {
	case 1: sv->dirty = 1; break;
	case 0: break;
	default: return -1;
	}
	return sv->dirty ? write_checkpoint(sv) : 0;
}

/* Takes a released segment's files out of cdc_raw as its fate says (the
 * checkpoint saying it is finished is already durable). 0, or -1 (logged). */
static int take_out(service *sv, seg_state *g, cdc_raw_fate fate)
{
	const char *dir = fate == CDC_RAW_QUARANTINE ? sv->s.quarantine_dir : sv->s.archive_dir;
	char errstr[CDC_ERRSTR_SIZE];
	struct stat st;

	if (fate != CDC_RAW_DELETE && lstat(g->file.path, &st) != 0 && errno == ENOENT)
		return 0; /* removed by someone else (said when found): nothing to move */
	if (fate == CDC_RAW_DELETE) {
		if (unlink(g->file.path) != 0 && errno != ENOENT) {
			cdc_log(CDC_LOG_ERR, "%s: %s", g->file.path, strerror(errno));
			return -1;
		}
		if (g->file.has_idx && unlink(g->file.idx_path) != 0 && errno != ENOENT)
			cdc_log(CDC_LOG_WARN, "%s: %s", g->file.idx_path, strerror(errno));
		return 0;
	}
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		cdc_log(CDC_LOG_ERR, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (cdc_move_into(g->file.path, dir, errstr, sizeof(errstr)) < 0) {
		cdc_log(CDC_LOG_ERR, "%s", errstr);
		return -1;
	}
	if (g->file.has_idx && cdc_move_into(g->file.idx_path, dir, errstr, sizeof(errstr)) < 0)
		cdc_log(CDC_LOG_WARN, "%s", errstr);
	return 0;
}

/* Releases a finished segment: checkpoint durable first, then the files go
 * (deleted, archived or quarantined), then the record is forgotten. Returns
 * 0 released, 1 not yet (an idx-less segment Cassandra is to remove: kept
 * while it still can), -1 fatal (logged). */
static int release(service *sv, seg_state *g)
{
	cdc_raw_fate fate = cdc_raw_fate_of(g->bad, cdc_checkpoint_skipped(sv->cp, g->file.id), sv->s.delete_consumed,
					    sv->s.archive_dir);
	uint64_t safe = cdc_acktrack_safe(g->ack);
	static const char *const done[] = { "deleted", "archived", "kept", "quarantined" };

	if (g->idxless) {
		int r = cdc_raw_idxless_release(g->file.path, time(NULL));

		if (r == 0) { /* Cassandra removed it (discard of a segment without CDC data) */
			cdc_checkpoint_forget(sv->cp, g->file.id);
			sv->dirty = 1;
			return 0;
		}
		if (r != 2)
			return 1;
	}
	cdc_checkpoint_set(sv->cp, g->file.id, safe, 1);
	if (write_checkpoint(sv) != 0)
		return -1;
	if (fate == CDC_RAW_KEEP) {
		cdc_log(CDC_LOG_INFO, "%s: all events acknowledged; kept (delete_consumed = false)", g->file.path);
		cdc_metrics_add(sv->m, CDC_M_SEGMENTS_DONE, 1);
		return 0;
	}
	if (take_out(sv, g, fate) != 0)
		return -1;
	cdc_ingest_segment_done(sv->ig, g->file.id);
	cdc_checkpoint_forget(sv->cp, g->file.id);
	sv->dirty = 1;
	cdc_metrics_add(sv->m, fate == CDC_RAW_QUARANTINE ? CDC_M_SEGMENTS_QUARANTINED : CDC_M_SEGMENTS_DONE, 1);
	cdc_log(CDC_LOG_INFO, "%s: %s (%" PRIu64 " bytes of entries delivered)", g->file.path, done[fate], safe);
	return 0;
}

static void free_seg(service *sv, seg_state *g)
{
	if (!g)
		return;
	count_read_ahead(sv, g->seg);
	cdc_segment_destroy(g->seg);
	cdc_acktrack_destroy(g->ack);
	free(g);
}

/* A segment the checkpoint records finished is still in cdc_raw (kept by
 * delete_consumed = false, or a crash between checkpoint and removal):
 * takes it out now when its fate says so (cdcraw.h). */
static void take_out_finished(service *sv, const cdc_seg_file *f)
{
	cdc_raw_fate fate = cdc_raw_fate_of(0, cdc_checkpoint_skipped(sv->cp, f->id), sv->s.delete_consumed,
					    sv->s.archive_dir);
	seg_state g;

	if (fate == CDC_RAW_KEEP)
		return;
	memset(&g, 0, sizeof(g));
	g.file = *f;
	if (take_out(sv, &g, fate) == 0) {
		cdc_checkpoint_forget(sv->cp, f->id);
		sv->dirty = 1;
	}
}

/* Adds a segment found in cdc_raw to the active ones, keeping them in id
 * order. 0, or -1 when out of memory. */
static int add_seg(service *sv, const cdc_seg_file *f)
{
	seg_state *g;
	size_t k;

	if (sv->nsegs == sv->capsegs) {
		size_t cap = sv->capsegs ? sv->capsegs * 2 : 16;
		seg_state **ns = realloc(sv->segs, cap * sizeof(*ns));

		if (!ns)
			return -1;
		sv->segs = ns;
		sv->capsegs = cap;
	}
	g = calloc(1, sizeof(*g));
	if (!g)
		return -1;
	g->file = *f;
	/* new ids are usually the largest */
	for (k = sv->nsegs; k > 0 && sv->segs[k - 1]->file.id > g->file.id; k--)
		sv->segs[k] = sv->segs[k - 1];
	sv->segs[k] = g;
	sv->nsegs++;
	return 0;
}

/* Says that segment id, read up to offset pos but not to its end, was
 * removed from cdc_raw by someone else: what follows pos is not in Kafka. */
static void lost_unfinished(service *sv, int64_t id, uint64_t pos)
{
	cdc_log(CDC_LOG_WARN, "%s: segment %" PRId64 " was removed from cdc_raw (by hand, or by Cassandra with "
		"cdc_block_writes: false) after offset %" PRIu64 " was delivered and before it was read to its end: "
		"what followed is not in Kafka (cdctail_segments_lost_total)", sv->s.cdc_raw, id, pos);
	cdc_metrics_add(sv->m, CDC_M_SEGMENTS_LOST, 1);
}

/* Forgets the checkpoint records of segments no longer in cdc_raw (removed
 * by cleanup or by hand); one not finished is counted lost. */
static void forget_gone(service *sv, const cdc_seg_file *files, size_t n)
{
	size_t i, k;

	for (i = cdc_checkpoint_count(sv->cp); i-- > 0;) {
		int64_t id;
		uint64_t pos;
		int fin, present = 0;

		cdc_checkpoint_at(sv->cp, i, &id, &pos, &fin);
		for (k = 0; k < n && !present; k++)
			present = files[k].id == id;
		if (!present && !find_seg(sv, id)) {
			if (!fin)
				lost_unfinished(sv, id, pos);
			cdc_checkpoint_forget(sv->cp, id);
			sv->dirty = 1;
		}
	}
}

/* Rescans cdc_raw: adds new segments (not finished in the checkpoint),
 * forgets checkpoint records of files that are gone. */
static void rescan(service *sv)
{
	char errstr[CDC_ERRSTR_SIZE];
	cdc_seg_file *files;
	size_t n, i;
	uint64_t bytes;

	cdc_metrics_add(sv->m, CDC_M_RESCANS, 1);
	if (cdc_watch_scan(sv->s.cdc_raw, &files, &n, &bytes, errstr, sizeof(errstr)) != 0) {
		cdc_log(CDC_LOG_WARN, "%s", errstr);
		return;
	}
	cdc_metrics_set(sv->m, CDC_G_CDC_RAW_BYTES, bytes);
	for (i = 0; i < n; i++) {
		uint64_t pos;
		int fin = 0;

		if (find_seg(sv, files[i].id))
			continue;
		if (cdc_checkpoint_get(sv->cp, files[i].id, &pos, &fin) == 0 && fin)
			take_out_finished(sv, &files[i]);
		else if (add_seg(sv, &files[i]) != 0)
			break;
	}
	forget_gone(sv, files, n);
	free(files);
	cdc_metrics_set(sv->m, CDC_G_SEGMENTS_PENDING, sv->nsegs);
}

/* Drops every active segment so reading restarts from the checkpoint (after
 * a failed delivery, or a skipped entry whose record could not be written). */
static void rewind_all(service *sv)
{
	char errstr[CDC_ERRSTR_SIZE];
	size_t i;

	cdc_log(CDC_LOG_WARN, "re-reading from the checkpoint after a failed delivery or record");
	if (cdc_sink_flush(sv->sink, (int)sv->s.shutdown_ms, errstr, sizeof(errstr)) != 0)
		cdc_log(CDC_LOG_WARN, "%s", errstr);
	save_checkpoint(sv);
	for (i = 0; i < sv->nsegs; i++)
		free_seg(sv, sv->segs[i]);
	sv->nsegs = 0;
	sv->reading_id = -1;
	sv->limit = CDC_NO_LIMIT;
	cdc_outbox_clear(sv->out);
	drop_held(sv);
	sv->rewind = 0;
	cdc_metrics_add(sv->m, CDC_M_REREADS, 1);
}

/* ---- the loop's steps ---- */

/* Releases finished segments, oldest first; an idx-less one that Cassandra
 * is to remove is stepped over. */
static void step_release(service *sv)
{
	size_t i = 0;

	while (i < sv->nsegs && !sv->rewind) {
		seg_state *g = sv->segs[i];
		int r;

		if (!g->read_done || g->file.id == sv->reading_id ||
		    (g->ack && (cdc_acktrack_pending(g->ack) || cdc_acktrack_failed(g->ack))))
			break;
		if (!g->ack)
			g->ack = cdc_acktrack_new(g->file.id, 0);
		r = g->ack ? release(sv, g) : -1;
		if (r < 0) {
			sv->fatal = 1;
			break;
		}
		if (r > 0) {
			i++;
			continue;
		}
		free_seg(sv, g);
		memmove(sv->segs + i, sv->segs + i + 1, (--sv->nsegs - i) * sizeof(*sv->segs));
		cdc_metrics_set(sv->m, CDC_G_SEGMENTS_PENDING, sv->nsegs);
		sv->worked = 1;
	}
}

/* Opens the oldest segment not yet read to its end, unless one is open;
 * one that is not readable yet keeps the newer ones waiting (id order). */
static void step_start_next(service *sv)
{
	size_t i;

	if (sv->reading_id >= 0)
		return;
	for (i = 0; i < sv->nsegs; i++) {
		seg_state *g = sv->segs[i];
		int o;

		if (g->read_done)
			continue;
		o = open_seg(sv, g);
		if (o == 0) {
			sv->reading_id = g->file.id;
			sv->limit = 0;
			apply_index(sv, g, &sv->limit);
			cdc_segment_set_limit(g->seg, sv->limit);
		}
		if (o != -1)
			break;
	}
}

/* Reads a batch of the open segment; closes it once read to its end. */
static void step_read(service *sv)
{
	seg_state *g;

	if (sv->reading_id < 0 || sv->rewind)
		return;
	g = find_seg(sv, sv->reading_id);
	if (!g) {
		sv->reading_id = -1;
		return;
	}
	if (read_some(sv, g, 512) > 0)
		sv->worked = 1;
	if (g->read_done) {
		if (g->seg && !g->bad && !g->idxless)
			cdc_log(CDC_LOG_INFO, "%s: read to the end (%" PRIu64 ")", g->file.path,
				cdc_segment_end_state(g->seg).logical_offset);
		count_read_ahead(sv, g->seg);
		cdc_segment_destroy(g->seg);
		g->seg = NULL;
		sv->reading_id = -1;
		sv->worked = 1;
	}
}

static void status(service *sv, const char *state)
{
	char buf[512];

	snprintf(buf, sizeof(buf), "STATUS=%s; %zu segments pending, %zu in flight, %" PRIu64 " acked", state,
		 sv->nsegs, sv->sink ? cdc_sink_in_flight(sv->sink) : 0, cdc_metrics_acked_total(sv->m));
	cdc_notify(buf);
}

/* While messages wait for room in the sink (Kafka slow or away): polls, and
 * says once that reading is paused, and once that it goes on. */
static void step_backpressure(service *sv)
{
	size_t in_flight = cdc_sink_in_flight(sv->sink);

	if (cdc_outbox_pending(sv->out)) {
		if (!sv->kafka_warned && in_flight >= (size_t)sv->s.max_in_flight) {
			cdc_log(CDC_LOG_WARN, "%zu messages unacknowledged: reading paused until Kafka catches up", in_flight);
			status(sv, "waiting for Kafka");
			sv->kafka_warned = 1;
		}
		cdc_sink_poll(sv->sink, 100);
	} else if (sv->kafka_warned && in_flight < (size_t)sv->s.max_in_flight / 2) {
		cdc_log(CDC_LOG_INFO, "Kafka caught up: reading again");
		sv->kafka_warned = 0;
	}
}

/* Counts the inotify overflows since the last call. */
static void count_overflows(service *sv)
{
	unsigned long o = cdc_watch_overflows(sv->watch);

	cdc_metrics_add(sv->m, CDC_M_INOTIFY_OVERFLOWS, o - sv->overflows);
	sv->overflows = o;
}

/* The read-ahead counters: the closed segments' and the one being read. */
static void publish_read_ahead(service *sv)
{
	uint64_t c[CDC_PENDING_KINDS] = { 0 }, e = 0;
	seg_state *g = sv->reading_id >= 0 ? find_seg(sv, sv->reading_id) : NULL;
	int k;

	if (g && g->seg)
		cdc_segment_ahead_stats(g->seg, c, &e);
	for (k = 0; k < CDC_PENDING_KINDS; k++)
		c[k] += sv->ahead_stops[k];
	cdc_metrics_set_read_ahead(sv->m, e + sv->ahead_entries, c, CDC_PENDING_KINDS);
}

/* Writes the metrics text file when configured. */
static void write_metrics(service *sv)
{
	char errstr[CDC_ERRSTR_SIZE];

	if (!sv->s.metrics_file)
		return;
	count_overflows(sv);
	publish_read_ahead(sv);
	cdc_metrics_set(sv->m, CDC_G_IN_FLIGHT, sv->sink ? cdc_sink_in_flight(sv->sink) : 0);
	if (cdc_metrics_write_textfile(sv->m, sv->s.metrics_file, wall_us(), errstr, sizeof(errstr)) != 0)
		cdc_log(CDC_LOG_WARN, "%s", errstr);
}

/* The periodic duties: checkpoint, metrics, watchdog. */
static void step_timers(service *sv)
{
	int64_t t = now_ms();

	if (t >= sv->next_cp) {
		save_checkpoint(sv);
		sv->next_cp = t + sv->s.checkpoint_ms;
	}
	if (sv->s.metrics_file && t >= sv->next_metrics) {
		write_metrics(sv);
		sv->next_metrics = t + sv->s.metrics_ms;
	}
	if (sv->wd_ms && t >= sv->next_wd) {
		cdc_notify("WATCHDOG=1");
		status(sv, sv->kafka_warned ? "waiting for Kafka" : "tailing");
		sv->next_wd = t + sv->wd_ms;
	}
}

/* Whether the segment being read is read ahead of its sync. */
static int reading_ahead(service *sv)
{
	seg_state *g = sv->reading_id >= 0 ? find_seg(sv, sv->reading_id) : NULL;

	return g && g->seg && cdc_segment_read_ahead(g->seg);
}

/* Sleeps until the next duty, a change in cdc_raw, or (with messages in
 * flight) 100 ms for their reports; not at all when this turn did work. */
static void step_wait(service *sv)
{
	int64_t t = now_ms(), wait;

	if (sv->worked || cdc_outbox_pending(sv->out))
		return;
	wait = sv->next_cp - t;
	if (sv->next_scan - t < wait)
		wait = sv->next_scan - t;
	if (wait > 100 && cdc_sink_in_flight(sv->sink))
		wait = 100;
	if (wait > 20 && (cdc_ingest_busy(sv->ig) || sv->rewind))
		wait = 20; /* a refresh to take, or a re-read to start */
	if (wait > sv->s.read_ahead_ms && reading_ahead(sv))
		wait = sv->s.read_ahead_ms; /* stores through a mapping wake no inotify: look */
	if (wait > 0 && cdc_watch_wait(sv->watch, (int)wait) == 1)
		sv->next_scan = 0; /* something changed: rescan now */
}

/* ---- start and stop ---- */

static int read_password(service *sv, char *errstr, size_t errlen)
{
	const char *env = getenv("CDCTAIL_CQL_PASSWORD");
	char line[1024];
	FILE *f;

	if (!sv->s.password_file) {
		sv->password = env ? strdup(env) : NULL;
		return 0;
	}
	f = fopen(sv->s.password_file, "re");
	if (!f)
		return cdc_error(errstr, errlen, "%s: %s", sv->s.password_file, strerror(errno));
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	line[strcspn(line, "\r\n")] = '\0';
	sv->password = strdup(line);
	return 0;
}

/* Creates the state directory and takes its lock (one service per state
 * directory). 0, or -1 (logged). */
static int lock_state(service *sv)
{
	char lockpath[4200];

	if (mkdir(sv->s.state_dir, 0750) != 0 && errno != EEXIST) {
		cdc_log(CDC_LOG_ERR, "state_dir %s: %s", sv->s.state_dir, strerror(errno));
		return -1;
	}
	snprintf(lockpath, sizeof(lockpath), "%s/lock", sv->s.state_dir);
	sv->lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (sv->lockfd < 0 || flock(sv->lockfd, LOCK_EX | LOCK_NB) != 0) {
		cdc_log(CDC_LOG_ERR, "%s: %s (another cdctail run on this state_dir?)", lockpath, strerror(errno));
		return -1;
	}
	return 0;
}

/* The schema source (not loaded yet). 0, or -1 (logged). */
static int open_schema(service *sv)
{
	char errstr[CDC_ERRSTR_SIZE];
	cdc_schema_src_opts o = {
		.file = sv->s.live_schema ? NULL : sv->s.schema, .host = sv->s.host, .port = (int)sv->s.port,
		.user = sv->s.user, .password = sv->password, .tls = &sv->s.tls, .state_dir = sv->s.state_dir,
		.min_interval_ms = (int)sv->s.schema_refresh_ms,
	};

	if (cdc_schema_src_new(&sv->src, &o, errstr, sizeof(errstr)) != 0) {
		cdc_log(CDC_LOG_ERR, "%s", errstr);
		return -1;
	}
	return 0;
}

/* Loads the schema and the tracker's state into a new ingest. 0, or -1
 * with errstr (retry). */
static int open_ingest(service *sv, char *errstr, size_t errlen)
{
	cdc_ingest_opts o = {
		.src = sv->src, .live = sv->s.live_schema, .out = sv->out, .m = sv->m, .cp = sv->cp,
		.quarantine_dir = sv->s.quarantine_dir, .node = sv->s.node, .topic_template = sv->s.topic_template,
		.topic_prefix = sv->s.topic_prefix, .trigger = sv->s.trigger,
	};

	return cdc_ingest_new(&sv->ig, &o, errstr, errlen);
}

/* Everything before the schema: settings, state lock, checkpoint, watch,
 * the schema source. 0, or -1 (logged). */
static int open_service(service *sv)
{
	char errstr[CDC_ERRSTR_SIZE], path[4200];

	if (cdc_settings_load(&sv->s, sv->config, errstr, sizeof(errstr)) != 0) {
		cdc_log(CDC_LOG_ERR, "%s", errstr);
		return -1;
	}
	if (sv->s.orphan_timeout_set)
		cdc_log(CDC_LOG_WARN, "orphan_timeout is no longer used (docs/run.md: segments without _cdc.idx)");
	if (lock_state(sv) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/dead-letter.jsonl", sv->s.state_dir);
	sv->out = cdc_outbox_new();
	sv->dead = cdc_jsonl_new(path);
	if (!sv->out || !sv->dead) {
		cdc_log(CDC_LOG_ERR, "out of memory");
		return -1;
	}
	if (read_password(sv, errstr, sizeof(errstr)) != 0 ||
	    cdc_checkpoint_open(&sv->cp, sv->s.state_dir, errstr, sizeof(errstr)) != 0 ||
	    cdc_watch_open(&sv->watch, sv->s.cdc_raw, errstr, sizeof(errstr)) != 0) {
		cdc_log(CDC_LOG_ERR, "%s", errstr);
		return -1;
	}
	cdc_metrics_seed_newest_acked_ts(sv->m, cdc_checkpoint_acked_ts(sv->cp)); /* the lag across a restart */
	return open_schema(sv);
}

/* Loads the schema, retrying every 5 s while systemd is kept informed.
 * 0 loaded, 1 told to stop, 2 a good reload arrived (in *next), -1 fatal. */
static int await_schema(service *sv, cdc_config **next)
{
	char errstr[CDC_ERRSTR_SIZE];

	while (open_ingest(sv, errstr, sizeof(errstr)) != 0) {
		cdc_log(CDC_LOG_WARN, "schema: %s; retrying in 5 s", errstr);
		status(sv, "waiting for the Cassandra schema");
		for (int i = 0; i < 50 && !*sv->ctl->stop; i++) {
			if (*sv->ctl->hup && (*next = sv->ctl->reload(sv->ctl->opaque)) != NULL)
				return 2;
			if (sv->wd_ms && now_ms() >= sv->next_wd) {
				cdc_notify("WATCHDOG=1");
				sv->next_wd = now_ms() + sv->wd_ms;
			}
			usleep(100000);
		}
		if (*sv->ctl->stop)
			return 1;
	}
	return 0;
}

/* The sink. 0, or -1 (logged). */
static int start_pipeline(service *sv)
{
	char errstr[CDC_ERRSTR_SIZE];
	int rc;

	if (sv->s.kafka)
		rc = cdc_sink_kafka_new(&sv->sink, sv->s.props, (size_t)sv->s.max_in_flight, on_delivery, sv, errstr,
					sizeof(errstr));
	else
		rc = cdc_sink_file_new(&sv->sink, sv->s.output, on_delivery, sv, errstr, sizeof(errstr));
	if (rc != 0) {
		cdc_log(CDC_LOG_ERR, "%s", errstr);
		return -1;
	}
	if (sv->s.kafka)
		cdc_sink_set_max_bytes(sv->sink, (size_t)sv->s.max_in_flight_bytes);
	if (sv->s.read_ahead)
		cdc_log(CDC_LOG_INFO, "read-ahead on (read_ahead_interval %lld ms)", sv->s.read_ahead_ms);
	cdc_log(CDC_LOG_INFO, "tailing %s into %s (schema %s, state %s)", sv->s.cdc_raw,
		sv->s.kafka ? cdc_config_get(sv->config, "kafka.bootstrap.servers", "?") : sv->s.output, sv->s.schema,
		sv->s.state_dir);
	status(sv, "tailing");
	return 0;
}

/* The loop, until a stop, a good reload (in *next) or a fatal error. */
static void loop(service *sv, cdc_config **next)
{
	sv->next_cp = sv->next_scan = sv->next_metrics = now_ms();
	while (!*sv->ctl->stop && !sv->fatal) {
		if (*sv->ctl->hup && (*next = sv->ctl->reload(sv->ctl->opaque)) != NULL)
			break;
		sv->worked = 0;
		cdc_sink_poll(sv->sink, 0);
		cdc_ingest_poll(sv->ig);
		if (sv->rewind && now_ms() >= sv->rewind_not_before) {
			rewind_all(sv);
			sv->next_scan = now_ms();
		}
		if (now_ms() >= sv->next_scan) {
			rescan(sv);
			sv->next_scan = now_ms() + sv->s.rescan_ms;
		}
		step_release(sv);
		step_start_next(sv);
		step_read(sv);
		step_backpressure(sv);
		step_timers(sv);
		step_wait(sv);
	}
}

/* Stops: hands over what is staged, waits for Kafka, saves. Returns the
 * service's exit status (0, 2 for a reload, 1 when the checkpoint could
 * not be saved or after a fatal error). */
static int stop_service(service *sv, cdc_config *next)
{
	char errstr[CDC_ERRSTR_SIZE];
	int rc;

	if (cdc_outbox_pending(sv->out) && !sv->fatal) {
		int64_t until = now_ms() + sv->s.shutdown_ms;

		while (send_staged(sv) == 1 && now_ms() < until)
			cdc_sink_poll(sv->sink, 100);
	}
	if (cdc_sink_flush(sv->sink, (int)sv->s.shutdown_ms, errstr, sizeof(errstr)) != 0)
		cdc_log(CDC_LOG_WARN, "stopping: %s; they will be sent again on restart", errstr);
	rc = save_checkpoint(sv) == 0 && !sv->fatal ? (next ? 2 : 0) : 1;
	write_metrics(sv);
	cdc_log(CDC_LOG_INFO, "stopped: %" PRIu64 " events acknowledged, %" PRIu64 " segments released, checkpoint %s",
		cdc_metrics_acked_total(sv->m), cdc_metrics_get(sv->m, CDC_M_SEGMENTS_DONE),
		rc == 1 ? "NOT saved" : "saved");
	return rc;
}

/* Frees everything. The sink goes first: destroying it reports what is
 * still in flight to on_delivery, which looks the segments up (nothing is
 * saved after the checkpoint, so these late reports move nothing durable). */
static void close_service(service *sv)
{
	size_t i;

	sv->stopping = 1;
	cdc_sink_destroy(sv->sink);
	sv->sink = NULL;
	for (i = 0; i < sv->nsegs; i++)
		free_seg(sv, sv->segs[i]);
	free(sv->segs);
	cdc_ingest_destroy(sv->ig);
	cdc_schema_src_destroy(sv->src);
	cdc_outbox_destroy(sv->out);
	drop_held(sv);
	if (sv->watch)
		count_overflows(sv);
	cdc_watch_close(sv->watch);
	cdc_checkpoint_destroy(sv->cp);
	cdc_jsonl_destroy(sv->dead);
	free(sv->password);
	if (sv->lockfd >= 0)
		close(sv->lockfd);
}

int cdc_service_run(const cdc_config *c, const cdc_service_ctl *ctl, cdc_metrics *m, cdc_config **next)
{
	service sv;
	int rc = 1, told = 0, ready = 0;

	*next = NULL;
	memset(&sv, 0, sizeof(sv));
	sv.config = c;
	sv.ctl = ctl;
	sv.m = m;
	sv.lockfd = -1;
	sv.reading_id = -1;
	sv.limit = CDC_NO_LIMIT;
	sv.witness.for_id = -1;
	if (open_service(&sv) != 0)
		goto out;
	/* the service is up: systemd's start timeout must not run out while
	 * Cassandra is slow to serve CQL; STATUS says what is awaited */
	sv.wd_ms = (int64_t)(cdc_notify_watchdog_usec() / 2000);
	cdc_notify("READY=1");
	ready = 1;
	switch (await_schema(&sv, next)) {
	case 0: break;
	case 1: rc = 0; goto out;
	case 2: rc = 2; goto out;
	default: goto out;
	}
	if (start_pipeline(&sv) != 0)
		goto out;
	loop(&sv, next);
	cdc_notify(*next ? "RELOADING=1" : "STOPPING=1");
	told = 1;
	rc = stop_service(&sv, *next);
out:
	if (ready && !told)
		cdc_notify(*next ? "RELOADING=1" : "STOPPING=1");
	close_service(&sv);
	if (rc != 2 && *next) {
		cdc_config_destroy(*next);
		*next = NULL;
	}
	return rc;
}
