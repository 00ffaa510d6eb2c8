/* schema_track.h - Cassandra's schema changes, followed through the
 * commitlog.
 *
 * A DDL statement is applied on every node as mutations of Cassandra's
 * system_schema tables, written to the same commitlog as the data: the
 * stream itself says where a schema change happened. This module reads
 * those entries (decoded with the system_schema definitions the schema
 * holds as "internal" tables) and keeps:
 *
 * - that a change happened, so the caller refreshes its schema before the
 *   next entry of a user table;
 * - the cdc flag of each table by stream position: Cassandra decides at
 *   write time whether a mutation is tracked for CDC, by the table's flag
 *   then, and writes every mutation to the commitlog either way, so entries
 *   written while `cdc = false` are in cdc_raw too. The flag at a position
 *   is the one set by the last system_schema.tables row seen before it;
 *   for a position before the first change seen, the flag in effect when
 *   that change was first met. With no change seen, the schema's flag,
 *   except when the schema shows the flag written later than any schema
 *   change the stream has shown so far and later than the horizon (the
 *   first start): that change's entry is still ahead, the flag before it is
 *   unknown, and the entry is taken as tracked (an event too many rather
 *   than one lost);
 * - the ids of tables the stream created, so that an id the live schema
 *   lacks can be told apart: created by the stream, then dropped.
 *
 * Positions are (segment id, entry offset), compared in that order. */
#ifndef CDCTAIL_SCHEMA_TRACK_H
#define CDCTAIL_SCHEMA_TRACK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mutation.h"
#include "schema.h"

typedef struct cdc_track cdc_track;

/* An empty tracker; NULL when out of memory. */
cdc_track *cdc_track_new(void);
void cdc_track_destroy(cdc_track *t);

/* The horizon: the wall time (µs) before which the schema's flags are taken
 * as they are (the service's first start); 0 (the default) disables the
 * "change still ahead" rule, as for replay of files. Kept with the state. */
void cdc_track_set_horizon(cdc_track *t, int64_t us);
int64_t cdc_track_horizon(const cdc_track *t);

/* Sets the position of the entry about to be decoded. */
void cdc_track_at(cdc_track *t, int64_t segment, uint64_t offset);

/* The decoder's cdc_cdc_flag_fn (opaque: the tracker): whether table tb was
 * tracked for CDC at the current position. */
int cdc_track_cdc_flag(void *opaque, const cdc_table *tb);

/* Learns from a decoded entry at the current position (only its updates of
 * system_schema tables matter; the others are skipped). s is the schema it
 * was decoded with. Returns 1 when the entry changes the schema (refresh
 * before the next user entry), 0 when it does not, -1 when out of memory. */
int cdc_track_entry(cdc_track *t, const cdc_schema *s, const cdc_mutation *m);

/* Whether the stream created a table with this id. */
int cdc_track_created(const cdc_track *t, const uint8_t id[16]);

/* Cdc flag changes recorded (for tests and logs). */
size_t cdc_track_changes(const cdc_track *t);

/* Appends the state as checkpoint note lines (checkpoint.h), dropping the
 * changes no re-read from `resume` (the oldest position a restart or a
 * re-read may start from) can need. 0, or -1 when out of memory. */
int cdc_track_save(cdc_track *t, int64_t resume_segment, uint64_t resume_offset, cdc_buf *out);

/* Loads what cdc_track_save wrote (lines of other modules are ignored).
 * 0, or -1 with errstr naming the line. */
int cdc_track_load(cdc_track *t, const char *notes, char *errstr, size_t errlen);

#endif
