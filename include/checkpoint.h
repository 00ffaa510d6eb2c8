/* checkpoint.h - the durable position: per segment id, the logical offset up
 * to which every event is acknowledged by the sink, and whether the segment
 * is finished (Cassandra completed it and everything in it is acknowledged).
 *
 * Saved atomically to STATE_DIR/checkpoint: written to a temporary file,
 * fsync'd, renamed over the old one, and the directory fsync'd; a crash
 * leaves either the old or the new file, never a mix. The file is text
 * (docs/checkpoint.md) with a closing line carrying a CRC of the rest, so a
 * damaged file is refused with its path and line, not half-read. */
#ifndef CDCTAIL_CHECKPOINT_H
#define CDCTAIL_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

typedef struct cdc_checkpoint cdc_checkpoint;

/* Loads STATE_DIR/checkpoint (creating STATE_DIR if needed); a missing file
 * is an empty checkpoint. Returns 0, or -1 with errstr naming the file and
 * line when it cannot be read or is damaged. */
int cdc_checkpoint_open(cdc_checkpoint **out, const char *state_dir, char *errstr, size_t errlen);
void cdc_checkpoint_destroy(cdc_checkpoint *c);

/* The recorded state of a segment: 0 and fills position and finished, or 1 when
 * the segment is not recorded. */
int cdc_checkpoint_get(const cdc_checkpoint *c, int64_t segment_id, uint64_t *position, int *finished);

/* Records (in memory) a segment's position; it never moves backwards.
 * Returns 0, or -1 when out of memory. */
int cdc_checkpoint_set(cdc_checkpoint *c, int64_t segment_id, uint64_t position, int finished);

/* Counts n more entries of a segment that could not be delivered (kept in
 * the quarantine directory instead): such a segment is never deleted
 * (cdcraw.h). Records the segment if new. 0, or -1 when out of memory. */
int cdc_checkpoint_add_skipped(cdc_checkpoint *c, int64_t segment_id, uint64_t n);

/* The skipped entries counted for a segment (0 when not recorded). */
uint64_t cdc_checkpoint_skipped(const cdc_checkpoint *c, int64_t segment_id);

/* Lines other modules keep in the checkpoint, so that they are saved
 * atomically with the positions (schema_track.h keeps the cdc flags it
 * learnt from the commitlog): "" or lines each ending in '\n', at most 4 KiB
 * each, no NUL. set replaces them: 1 changed (save needed), 0 unchanged,
 * -1 malformed or out of memory. */
const char *cdc_checkpoint_notes(const cdc_checkpoint *c);
int cdc_checkpoint_set_notes(cdc_checkpoint *c, const char *text, size_t len);

/* Forgets a segment (after its file was removed). */
void cdc_checkpoint_forget(cdc_checkpoint *c, int64_t segment_id);

/* Number of segments recorded, and the i-th in id order. */
size_t cdc_checkpoint_count(const cdc_checkpoint *c);
int cdc_checkpoint_at(const cdc_checkpoint *c, size_t i, int64_t *segment_id, uint64_t *position,
		      int *finished);

/* The write time (µs) of the newest event acknowledged, kept for the lag
 * metric across restarts; 0 when never recorded. Setting it only moves it
 * forward: returns 1 when it changed (the file needs saving), else 0. */
int64_t cdc_checkpoint_acked_ts(const cdc_checkpoint *c);
int cdc_checkpoint_set_acked_ts(cdc_checkpoint *c, int64_t ts);

/* Writes the checkpoint durably (see above). Returns 0, or -1 with errstr. */
int cdc_checkpoint_save(cdc_checkpoint *c, char *errstr, size_t errlen);

#endif
