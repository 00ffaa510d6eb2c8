/* ingest.h - one commitlog entry of `cdctail run`, turned into staged
 * events: decoded with the schema (schema_live.h), its schema changes
 * followed (schema_track.h), rendered (event.h) into the outbox (outbox.h);
 * or, when it cannot be, recorded as skipped (quarantine.h) and counted in
 * the checkpoint, so that its segment is kept.
 *
 * An entry that a newer schema can explain (a table, column, dropped
 * column or UDT field the schema lacks) makes a live schema be read again
 * and the entry wait (CDC_INGEST_WAIT: offer the same entry again later;
 * nothing is skipped on a guess while the node cannot be reached). It is a
 * fault only when a refresh that started at least a second after the entry
 * was first met still cannot decode it, or at once with a schema file
 * (whose message says that the file is older than the segment). After a
 * schema change in the stream, the next entry of a user table waits for a
 * refresh that started after the change was seen (one that fails lets it go
 * on with the schema it has). */
#ifndef CDCTAIL_INGEST_H
#define CDCTAIL_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "metrics.h"
#include "outbox.h"
#include "schema_live.h"
#include "segment.h"

typedef struct cdc_ingest cdc_ingest;

typedef struct cdc_ingest_opts {
	cdc_schema_src *src;       /* the schema source (owned by the caller) */
	int live;                  /* the source reads the node (else a file) */
	cdc_outbox *out;           /* where events are staged */
	cdc_metrics *m;
	cdc_checkpoint *cp;        /* skipped entries are counted there; its notes
				    * keep the tracker's state */
	const char *quarantine_dir;
	const char *node;          /* source.node of the events, or NULL */
	const char *topic_template, *topic_prefix;
	int trigger;               /* the seed's trigger format */
} cdc_ingest_opts;

/* The entry's segment, as the service read it. */
typedef struct cdc_ingest_seg {
	const char *path;
	int64_t id;
	int messaging_version, cl_version;
} cdc_ingest_seg;

enum {
	CDC_INGEST_DONE = 0,       /* events staged (maybe none) */
	CDC_INGEST_WAIT = 1,       /* offer the same entry again later */
	CDC_INGEST_SKIPPED = 2,    /* recorded in the quarantine directory */
};

/* Loads the schema (on this thread) and the tracker's state from the
 * checkpoint. 0, or -1 with errstr (the schema could not be loaded: retry). */
int cdc_ingest_new(cdc_ingest **out, const cdc_ingest_opts *o, char *errstr, size_t errlen);
void cdc_ingest_destroy(cdc_ingest *ig);

/* Turns one entry into staged events. first_met_ms (monotonic) is when the
 * entry was first offered. Returns CDC_INGEST_DONE, _WAIT or _SKIPPED, or
 * -1 on a fatal error (errstr: out of memory). */
int cdc_ingest_entry(cdc_ingest *ig, const cdc_ingest_seg *g, const cdc_entry_info *e, int64_t first_met_ms,
		     char *errstr, size_t errlen);

/* Records a fault the container reported (a CRC mismatch, an entry running
 * past its section, a section that does not decompress, an unreadable
 * segment) as skipped. CDC_INGEST_SKIPPED, or CDC_INGEST_WAIT when the
 * record could not be written (offer it again). */
int cdc_ingest_fault(cdc_ingest *ig, const cdc_ingest_seg *g, uint64_t offset, uint64_t end, const char *reason);

/* Takes a finished background refresh into use; call every turn. */
void cdc_ingest_poll(cdc_ingest *ig);

/* Whether a refresh runs or an entry waits for one (the caller then polls
 * soon rather than sleeping long). */
int cdc_ingest_busy(const cdc_ingest *ig);

/* Makes the records of skipped entries durable and puts the tracker's state
 * into the checkpoint's notes, for the checkpoint about to be saved. resume
 * is the oldest position a restart or re-read may start from. Returns 1
 * when the notes changed (the checkpoint needs saving), 0 when not, -1 on
 * failure (errstr: the records are not durable, do not save). */
int cdc_ingest_prepare_checkpoint(cdc_ingest *ig, int64_t resume_segment, uint64_t resume_offset, char *errstr,
				  size_t errlen);

/* A released segment's record file is closed. */
void cdc_ingest_segment_done(cdc_ingest *ig, int64_t segment_id);

/* The Cassandra release of the schema, for messages; NULL when unknown. */
const char *cdc_ingest_cassandra(const cdc_ingest *ig);

#endif
