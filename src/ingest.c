/* ingest.c - one entry: schema, decode, events, or a recorded skip. */
#include "ingest.h"
#include "err.h"
#include "event.h"
#include "log.h"
#include "mutation.h"
#include "quarantine.h"
#include "schema_stream.h"
#include "schema_track.h"
#include "topic.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A refresh must start this long after an entry was first met before its
 * failure to decode the entry makes the entry a fault: the node applies a
 * schema change to its tables just after writing it to the commitlog. */
#define SETTLE_MS 1000
#define MAX_MISSING 64
#define MAX_OFFERED 16

struct cdc_ingest {
	cdc_ingest_opts o;
	cdc_schema *schema;
	cdc_decoder *dec;
	cdc_eventer *ev;
	cdc_track *track;
	cdc_stream_defs *defs;   /* definitions of tables the stream created */
	cdc_quarantine *q;
	int64_t due_ms;          /* a schema change was seen then: refresh first; 0 none */
	int64_t done_start_ms;   /* start of the last finished refresh; -1 none */
	int64_t ok_start_ms;     /* start of the last successful one; -1 none */
	int64_t warned_ms;       /* last "refresh failed" log line */
	int64_t wait_warned_ms;  /* last "waits for a schema" log line */
	int waiting;             /* the last entry offered was told to wait */
	int oom;                 /* staging ran out of memory */
	int internal_warned;     /* an internal entry that does not decode was logged */
	unsigned gen;            /* schemas installed so far */
	struct missing {         /* what a refresh of schema `gen` failed to explain */
		char key[256];
		unsigned gen;
	} missing[MAX_MISSING];
	size_t nmissing, nextmissing;
	struct offered {         /* definitions offered to the source, and when */
		uint8_t id[16];
		int64_t ms;
	} offered[MAX_OFFERED];
	size_t noffered, nextoffered;
	uint8_t lost_warned[16]; /* the last table whose entries were not delivered */
	char topic[512];
};

static int64_t now_ms(void)
{
	return cdc_schema_src_now_ms();
}

static int64_t wall_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* Puts a new schema into use (the decoder's pointer, then the old one goes);
 * the stream's definitions it holds are no longer needed. */
static void install(cdc_ingest *ig, cdc_schema *s)
{
	cdc_stream_defs_prune(ig->defs, s);
	cdc_decoder_set_schema(ig->dec, s);
	cdc_schema_destroy(ig->schema);
	ig->schema = s;
	ig->gen++;
}

int cdc_ingest_new(cdc_ingest **out, const cdc_ingest_opts *o, char *errstr, size_t errlen)
{
	cdc_ingest *ig = calloc(1, sizeof(*ig));

	*out = NULL;
	if (!ig)
		return cdc_error(errstr, errlen, "out of memory");
	ig->o = *o;
	ig->done_start_ms = ig->ok_start_ms = -1;
	ig->ev = cdc_eventer_new();
	ig->track = cdc_track_new();
	ig->defs = cdc_stream_defs_new();
	ig->q = cdc_quarantine_new(o->quarantine_dir);
	ig->dec = cdc_decoder_new(NULL);
	if (!ig->ev || !ig->track || !ig->defs || !ig->q || !ig->dec) {
		cdc_ingest_destroy(ig);
		return cdc_error(errstr, errlen, "out of memory");
	}
	if (cdc_track_load(ig->track, cdc_checkpoint_notes(o->cp), errstr, errlen) != 0 ||
	    cdc_stream_defs_load(ig->defs, cdc_checkpoint_notes(o->cp), errstr, errlen) != 0 ||
	    cdc_schema_src_load(o->src, &ig->schema, errstr, errlen) != 0) {
		cdc_ingest_destroy(ig);
		return -1;
	}
	/* the first start: the flags of the schema read now judge what is in
	 * cdc_raw already; later changes are followed in the stream */
	if (o->live && !cdc_track_horizon(ig->track))
		cdc_track_set_horizon(ig->track, wall_us());
	cdc_stream_defs_prune(ig->defs, ig->schema);
	cdc_decoder_set_schema(ig->dec, ig->schema);
	cdc_decoder_skip_non_cdc(ig->dec, 1);
	cdc_decoder_set_cdc_flag(ig->dec, cdc_track_cdc_flag, ig->track);
	if (o->trigger)
		cdc_eventer_set_format(ig->ev, CDC_EVENT_TRIGGER);
	*out = ig;
	return 0;
}

void cdc_ingest_destroy(cdc_ingest *ig)
{
	if (!ig)
		return;
	cdc_decoder_destroy(ig->dec);
	cdc_eventer_destroy(ig->ev);
	cdc_track_destroy(ig->track);
	cdc_stream_defs_destroy(ig->defs);
	cdc_quarantine_destroy(ig->q);
	cdc_schema_destroy(ig->schema);
	free(ig);
}

const char *cdc_ingest_cassandra(const cdc_ingest *ig)
{
	return ig->schema ? cdc_schema_cassandra_version(ig->schema) : NULL;
}

/* Asks the source for a refresh, counting the ones started. */
static void request(cdc_ingest *ig)
{
	char errstr[CDC_ERRSTR_SIZE];
	uint64_t before = cdc_schema_src_count(ig->o.src);

	if (cdc_schema_src_request(ig->o.src, errstr, sizeof(errstr)) < 0)
		cdc_log(CDC_LOG_ERR, "%s", errstr);
	cdc_metrics_add(ig->o.m, CDC_M_SCHEMA_REFRESHES, cdc_schema_src_count(ig->o.src) - before);
}

void cdc_ingest_poll(cdc_ingest *ig)
{
	char errstr[CDC_ERRSTR_SIZE];
	cdc_schema *s = NULL;
	int64_t started = 0;
	int r = cdc_schema_src_take(ig->o.src, &s, &started, errstr, sizeof(errstr));

	if (r == 0)
		return;
	ig->done_start_ms = started;
	if (r > 0) {
		install(ig, s);
		ig->ok_start_ms = started;
		cdc_log(CDC_LOG_INFO, "schema read again from the node in %" PRId64 " ms (%zu tables)", now_ms() - started,
			cdc_schema_table_count(s));
		return;
	}
	cdc_metrics_add(ig->o.m, CDC_M_SCHEMA_REFRESH_ERRORS, 1);
	if (now_ms() - ig->warned_ms >= 30000) {
		cdc_log(CDC_LOG_WARN, "schema refresh failed: %s; entries that need it wait, and it is tried again",
			errstr);
		ig->warned_ms = now_ms();
	}
}

int cdc_ingest_busy(const cdc_ingest *ig)
{
	return ig->waiting || cdc_schema_src_busy(ig->o.src);
}

/* Event callback: stages one event of the entry. */
static int stage_event(void *opaque, const cdc_update *u, const char *json, size_t len)
{
	cdc_ingest *ig = opaque;
	const char *key;
	size_t keylen;

	cdc_eventer_key(ig->ev, &key, &keylen);
	cdc_topic_format(ig->o.topic_template, ig->o.topic_prefix, u->table->keyspace, u->table->name, ig->topic,
			 sizeof(ig->topic));
	if (cdc_outbox_stage(ig->o.out, ig->topic, key, keylen, json, len, cdc_eventer_ts(ig->ev),
			     cdc_metrics_series(ig->o.m, u->table->keyspace, u->table->name, cdc_eventer_op(ig->ev))) != 0) {
		ig->oom = 1;
		return -1;
	}
	return 0;
}

/* Records an entry that cannot be delivered: the quarantine file first,
 * then the checkpoint's count (saved after the file is synced).
 * CDC_INGEST_SKIPPED, or CDC_INGEST_WAIT when the record could not be
 * written (the entry must not be passed over). */
static int skip(cdc_ingest *ig, const cdc_ingest_seg *g, uint64_t offset, uint64_t end, const char *reason)
{
	char errstr[CDC_ERRSTR_SIZE];
	int r = cdc_quarantine_record(ig->q, g->path, g->id, offset, end, reason, errstr, sizeof(errstr));

	if (r < 0) {
		cdc_log(CDC_LOG_ERR, "%s: entry at offset %" PRIu64 " cannot be delivered (%s) and its record cannot be "
			"written: %s; it waits", g->path, offset, reason, errstr);
		return CDC_INGEST_WAIT;
	}
	if (r == 0) {
		cdc_checkpoint_add_skipped(ig->o.cp, g->id, 1);
		cdc_metrics_add(ig->o.m, CDC_M_SKIPPED_ENTRIES, 1);
		cdc_log(CDC_LOG_ERR, "%s: entry at offset %" PRIu64 ": %s; not delivered: recorded in %s, the segment is "
			"kept there (docs/run.md, \"Skipped entries\")", g->path, offset, reason, ig->o.quarantine_dir);
	}
	return CDC_INGEST_SKIPPED;
}

int cdc_ingest_fault(cdc_ingest *ig, const cdc_ingest_seg *g, uint64_t offset, uint64_t end, const char *reason)
{
	cdc_metrics_add(ig->o.m, CDC_M_DECODE_ERRORS, 1);
	return skip(ig, g, offset, end, reason);
}

/* What is missing, as a key: the table's id and the message's last part
 * (no offsets in it), so that entries lacking the same thing are told
 * apart from others. */
static void missing_key(const uint8_t *table_id, const char *msg, char *key, size_t n)
{
	const char *tail = msg, *p;
	char uuid[37] = "";

	while ((p = strstr(tail, ": ")) != NULL)
		tail = p + 2;
	if (table_id)
		cdc_uuid_format(table_id, uuid);
	snprintf(key, n, "%s %s", uuid, tail);
}

/* Whether a refresh of the current schema already failed to explain this
 * key (its entries are faults at once, not each after a wait). */
static int known_missing(const cdc_ingest *ig, const char *key)
{
	size_t i;

	for (i = 0; i < ig->nmissing; i++)
		if (ig->missing[i].gen == ig->gen && strcmp(ig->missing[i].key, key) == 0)
			return 1;
	return 0;
}

static void remember_missing(cdc_ingest *ig, const char *key)
{
	size_t i = ig->nmissing < MAX_MISSING ? ig->nmissing++ : (ig->nextmissing++ % MAX_MISSING);

	snprintf(ig->missing[i].key, sizeof(ig->missing[i].key), "%s", key);
	ig->missing[i].gen = ig->gen;
}

/* An entry a newer schema may explain (msg says what is missing, of the
 * table with table_id when known): wait for a refresh, or, past the rules
 * of ingest.h, a fault. */
static int needs_newer(cdc_ingest *ig, const cdc_ingest_seg *g, const cdc_entry_info *e, int64_t first_met,
		       const uint8_t *table_id, const char *msg)
{
	char why[CDC_ERRSTR_SIZE + 128], key[sizeof(ig->missing[0].key)];

	missing_key(table_id, msg, key, sizeof(key));
	if (ig->o.live && !known_missing(ig, key) && ig->ok_start_ms >= first_met + SETTLE_MS)
		remember_missing(ig, key);
	if (!ig->o.live) {
		snprintf(why, sizeof(why), "%s: the schema file is older than the segment (export it again: cdctail "
			 "schema export)", msg);
		cdc_metrics_add(ig->o.m, CDC_M_DECODE_ERRORS, 1);
		return skip(ig, g, e->offset, e->end, why);
	}
	if (known_missing(ig, key)) {
		snprintf(why, sizeof(why), "%s, also in the schema read again from the node", msg);
		cdc_metrics_add(ig->o.m, CDC_M_DECODE_ERRORS, 1);
		return skip(ig, g, e->offset, e->end, why);
	}
	request(ig);
	if (now_ms() - first_met >= 10000 && now_ms() - ig->wait_warned_ms >= 30000) {
		cdc_log(CDC_LOG_WARN, "%s: entry at offset %" PRIu64 " waits for a schema that can decode it (%s)",
			g->path, e->offset, msg);
		ig->wait_warned_ms = now_ms();
	}
	return CDC_INGEST_WAIT;
}

/* Whether the entry's first update is one of Cassandra's own tables. */
static int internal_entry(const cdc_ingest *ig, const cdc_entry_info *e, int messaging_version)
{
	cdc_mutation_head h;

	return cdc_mutation_peek(e->body, e->size, messaging_version, &h, NULL, 0) == 0 &&
	       cdc_schema_is_internal(ig->schema, h.table_id);
}

/* After a schema change in the stream, a user entry waits for a refresh
 * that started after it (ingest.h). 1 wait, 0 go on. */
static int wait_for_change(cdc_ingest *ig, const cdc_entry_info *e, int messaging_version)
{
	if (!ig->o.live || !ig->due_ms || internal_entry(ig, e, messaging_version))
		return 0; /* a schema file is not read again */
	if (ig->done_start_ms >= ig->due_ms) {
		ig->due_ms = 0;
		return 0;
	}
	request(ig);
	return 1;
}

/* Offers the source the stream's definition of table id, once: 1 offered,
 * wait for a refresh that started after it; 0 there is none, or the
 * refresh after the offer did not take it; -1 out of memory (errstr). */
static int offer(cdc_ingest *ig, const uint8_t id[16], char *errstr, size_t errlen)
{
	cdc_buf doc = CDC_BUF_INIT;
	size_t i;
	int has;

	for (i = 0; i < ig->noffered; i++)
		if (memcmp(ig->offered[i].id, id, 16) == 0)
			return ig->ok_start_ms < ig->offered[i].ms;
	has = cdc_stream_defs_doc(ig->defs, id, &doc);
	if (has < 0)
		cdc_error(errstr, errlen, "out of memory");
	else if (has > 0 && cdc_schema_src_add(ig->o.src, doc.p, doc.len, errstr, errlen) != 0)
		has = -1;
	cdc_buf_free(&doc);
	if (has <= 0)
		return has;
	i = ig->nextoffered++ % MAX_OFFERED;
	if (ig->noffered < MAX_OFFERED)
		ig->noffered++;
	memcpy(ig->offered[i].id, id, 16);
	ig->offered[i].ms = now_ms();
	return 1;
}

/* Counts an entry of a table the stream created and the node dropped
 * whose definition no schema has: not delivered (said once per table). */
static void lost_table(cdc_ingest *ig, const cdc_ingest_seg *g, const cdc_entry_info *e, const uint8_t id[16])
{
	char uuid[37];

	cdc_metrics_add(ig->o.m, CDC_M_DROPPED_TABLE_ENTRIES, 1);
	if (memcmp(ig->lost_warned, id, 16) == 0)
		return;
	memcpy(ig->lost_warned, id, 16);
	cdc_uuid_format(id, uuid);
	cdc_log(CDC_LOG_WARN, "%s: entry at offset %" PRIu64 ": table %s was created and dropped before its definition "
		"could be read (from the node or the commitlog); its entries are not delivered "
		"(cdctail_dropped_table_entries_total)", g->path, e->offset, uuid);
}

/* A table id the schema lacks. Cassandra's own: nothing to deliver. One the
 * stream created (and the node has since dropped): decoded with the
 * definition the stream gave, once the source has it; without one, as the
 * last update of the entry, its data died with it, the updates before it
 * are delivered. Anything else: a newer schema may have it. */
static int unknown_table(cdc_ingest *ig, const cdc_ingest_seg *g, const cdc_entry_info *e, const cdc_mutation *m,
			 int64_t first_met, int *deliver, char *errstr, size_t errlen)
{
	cdc_mutation_head h;
	char uuid[37], msg[128];

	*deliver = 0;
	if (cdc_schema_is_internal(ig->schema, m->missing_table))
		return CDC_INGEST_DONE;
	if (!ig->o.live && !cdc_schema_internal_count(ig->schema)) {
		/* a file written before exports listed Cassandra's own tables:
		 * theirs cannot be told from a user table missing from it */
		cdc_metrics_add(ig->o.m, CDC_M_UNKNOWN_TABLE_ENTRIES, 1);
		*deliver = m->nupdates > 0;
		return CDC_INGEST_DONE;
	}
	/* with a file the stream's CREATE proves nothing: the file may be older */
	if (ig->o.live && cdc_track_created(ig->track, m->missing_table)) {
		int r = offer(ig, m->missing_table, errstr, errlen);

		if (r != 0)
			return r < 0 ? -1 : (request(ig), CDC_INGEST_WAIT);
	}
	if (ig->o.live && cdc_track_created(ig->track, m->missing_table) &&
	    cdc_mutation_peek(e->body, e->size, g->messaging_version, &h, NULL, 0) == 0 && m->nupdates + 1 == h.updates) {
		lost_table(ig, g, e, m->missing_table);
		*deliver = m->nupdates > 0;
		return CDC_INGEST_DONE;
	}
	cdc_uuid_format(m->missing_table, uuid);
	snprintf(msg, sizeof(msg), "table %s is not in the schema", uuid);
	cdc_metrics_add(ig->o.m, CDC_M_UNKNOWN_TABLE_ENTRIES, 1);
	return needs_newer(ig, g, e, first_met, m->missing_table, msg);
}

/* An entry of Cassandra's own tables that does not decode (its
 * system_schema from another release than the file's): nothing of it is
 * delivered, so it is no fault; said once. */
static int internal_failure(cdc_ingest *ig, const cdc_ingest_seg *g, const cdc_entry_info *e, const char *msg)
{
	if (!ig->internal_warned++)
		cdc_log(CDC_LOG_WARN, "%s: entry at offset %" PRIu64 " of Cassandra's own tables does not decode (%s): "
			"schema changes in such entries are not followed", g->path, e->offset, msg);
	return CDC_INGEST_DONE;
}

/* Renders the decoded entry into the outbox. */
static int emit(cdc_ingest *ig, const cdc_ingest_seg *g, const cdc_entry_info *e, const cdc_mutation *m,
		int64_t first_met, char *errstr, size_t errlen)
{
	cdc_event_source src = { ig->o.node, g->id, e->offset, g->cl_version, cdc_schema_cassandra_version(ig->schema) };
	char msg[CDC_ERRSTR_SIZE];
	int rc;

	ig->oom = 0;
	rc = cdc_events_emit(ig->ev, m, &src, stage_event, ig, msg, sizeof(msg));
	if (rc >= 0)
		return CDC_INGEST_DONE;
	cdc_outbox_clear(ig->o.out);
	if (ig->oom)
		return cdc_error(errstr, errlen, "out of memory");
	if (rc == CDC_EVENTS_STALE_SCHEMA)
		return needs_newer(ig, g, e, first_met, NULL, msg);
	cdc_metrics_add(ig->o.m, CDC_M_DECODE_ERRORS, 1);
	return skip(ig, g, e->offset, e->end, msg);
}

int cdc_ingest_entry(cdc_ingest *ig, const cdc_ingest_seg *g, const cdc_entry_info *e, int64_t first_met_ms,
		     char *errstr, size_t errlen)
{
	char msg[CDC_ERRSTR_SIZE];
	cdc_mutation m;
	int rc, r, deliver = 1;

	ig->waiting = 0;
	if (cdc_outbox_pending(ig->o.out))
		return cdc_error(errstr, errlen, "%s: entry at offset %" PRIu64 ": the events of the entry before it were "
				 "not handed over (a bug: stopping rather than losing them)", g->path, e->offset);
	if (wait_for_change(ig, e, g->messaging_version)) {
		ig->waiting = 1;
		return CDC_INGEST_WAIT;
	}
	cdc_track_at(ig->track, g->id, e->offset);
	rc = cdc_decode(ig->dec, e->body, e->size, g->messaging_version, &m, msg, sizeof(msg));
	if (rc == CDC_DECODE_UNKNOWN_TABLE)
		r = unknown_table(ig, g, e, &m, first_met_ms, &deliver, errstr, errlen);
	else if (rc != 0 && m.failed_table && m.failed_table->internal)
		r = internal_failure(ig, g, e, msg), deliver = 0; /* Cassandra's own: not a fault */
	else if (rc == CDC_DECODE_STALE_SCHEMA)
		r = needs_newer(ig, g, e, first_met_ms, m.failed_table ? m.failed_table->id : NULL, msg);
	else if (rc != 0)
		r = cdc_ingest_fault(ig, g, e->offset, e->end, msg);
	else
		r = CDC_INGEST_DONE;
	if (r == CDC_INGEST_DONE && rc == 0) {
		int ch = cdc_track_entry(ig->track, ig->schema, &m);

		if (ch > 0 && ig->o.live && cdc_stream_defs_entry(ig->defs, &m) != 0)
			ch = -1;
		if (ch < 0)
			return cdc_error(errstr, errlen, "out of memory");
		if (ch > 0) { /* a schema change: the next user entry waits for a refresh */
			ig->due_ms = now_ms();
			request(ig);
		}
	}
	if (r == CDC_INGEST_DONE && deliver)
		r = emit(ig, g, e, &m, first_met_ms, errstr, errlen);
	ig->waiting = r == CDC_INGEST_WAIT;
	return r;
}

int cdc_ingest_prepare_checkpoint(cdc_ingest *ig, int64_t rseg, uint64_t roff, char *errstr, size_t errlen)
{
	cdc_buf notes = CDC_BUF_INIT;
	int rc;

	if (cdc_quarantine_sync(ig->q, errstr, errlen) != 0)
		return -1;
	if (cdc_track_save(ig->track, rseg, roff, &notes) != 0 || cdc_stream_defs_save(ig->defs, &notes) != 0) {
		cdc_buf_free(&notes);
		return cdc_error(errstr, errlen, "out of memory");
	}
	rc = cdc_checkpoint_set_notes(ig->o.cp, notes.p ? notes.p : "", notes.len);
	cdc_buf_free(&notes);
	if (rc < 0)
		return cdc_error(errstr, errlen, "checkpoint notes: out of memory or a line too long");
	return rc;
}

void cdc_ingest_segment_done(cdc_ingest *ig, int64_t segment_id)
{
	cdc_quarantine_done(ig->q, segment_id);
}
