/* quarantine.h - what could not be delivered is kept where a user can
 * recover it from, never deleted.
 *
 * An entry that cannot be turned into events (a CRC that does not match, a
 * mutation that does not decode even with a refreshed schema, a table id
 * that is neither Cassandra's own nor a dropped table) is recorded in
 * QUARANTINE_DIR/<segment file name>.skipped, one JSON object a line:
 *   {"segment":"CommitLog-7-123.log","segment_id":123,"offset":N,"end":M,"reason":"..."}
 * The lines are fsync'd before a checkpoint passes the entry, and the
 * checkpoint counts the segment's skipped entries, so the segment itself is
 * moved into QUARANTINE_DIR (with its _cdc.idx) instead of being deleted,
 * by `run` and by `cleanup` alike (cdcraw.h). Once the cause is fixed,
 * `cdctail replay --schema FILE --skipped QUARANTINE_DIR/<segment>` sends
 * exactly those entries (docs/run.md, "Skipped entries"). */
#ifndef CDCTAIL_QUARANTINE_H
#define CDCTAIL_QUARANTINE_H

#include <stddef.h>
#include <stdint.h>

#define CDC_SKIPPED_SUFFIX ".skipped"

typedef struct cdc_quarantine cdc_quarantine;

/* Records go into dir (created 0750 at the first record). NULL when out of
 * memory. */
cdc_quarantine *cdc_quarantine_new(const char *dir);
void cdc_quarantine_destroy(cdc_quarantine *q);

/* Records the skipped entry [offset, end) of the segment at segment_path
 * with its reason. An offset already recorded for the segment (a re-read
 * after a crash or a rewind) is not written again: returns 1 then. 0
 * written, -1 with errstr. */
int cdc_quarantine_record(cdc_quarantine *q, const char *segment_path, int64_t segment_id, uint64_t offset,
			  uint64_t end, const char *reason, char *errstr, size_t errlen);

/* fsyncs every record written since the last sync: 0, or -1 with errstr. */
int cdc_quarantine_sync(cdc_quarantine *q, char *errstr, size_t errlen);

/* Forgets (closes) the segment's record file after its release. */
void cdc_quarantine_done(cdc_quarantine *q, int64_t segment_id);

/* The path of a segment's record file in buf ("<dir>/<name>.skipped" for
 * dir NULL: next to the segment). 0, or -1 when it does not fit. */
int cdc_quarantine_path(const char *dir, const char *segment_path, char *buf, size_t n);

/* Reads the offsets recorded in a .skipped file (sorted, each once) into a
 * malloc'ed array. 0, or -1 with errstr naming the file and line. */
int cdc_quarantine_read(const char *path, uint64_t **offsets, size_t *n, char *errstr, size_t errlen);

#endif
