/* snapshot_state.h - the state file of `cdctail snapshot` (--state FILE):
 * the snapshot's start time and, per table, how far through the token ring
 * it has delivered, so that a snapshot killed at any moment resumes where it
 * stopped (docs/snapshot.md).
 *
 * The file is text, replaced whole and durably (fsmove.h) after each token
 * range whose events are all delivered:
 *
 *     cdctail-snapshot 1
 *     start 1764748800123456
 *     output 123456
 *     table ks.t done
 *     table ks.u token -3074457345618258604
 *
 * `start`: the snapshot's start time (µs since the epoch); `output`: with
 * --output FILE, the bytes of that file that hold delivered events;
 * `token T`: every partition with a token <= T is delivered; `done`: the
 * whole table is. Keyspace and table names are Cassandra's ([A-Za-z0-9_]). */
#ifndef CDCTAIL_SNAPSHOT_STATE_H
#define CDCTAIL_SNAPSHOT_STATE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define CDC_SNAP_NAME_MAX 48  /* Cassandra's limit on keyspace and table names */

typedef struct cdc_snap_progress {
	char keyspace[CDC_SNAP_NAME_MAX + 1];
	char table[CDC_SNAP_NAME_MAX + 1];
	int done;         /* every partition delivered */
	int64_t token;    /* when not done: every token <= this one is delivered */
} cdc_snap_progress;

typedef struct cdc_snap_state {
	int64_t start_us;           /* 0: not started yet */
	int64_t output_bytes;       /* -1: not recorded */
	cdc_snap_progress *tables;
	size_t ntables, cap;
} cdc_snap_state;

/* An empty state (no start, no tables). */
void cdc_snap_state_init(cdc_snap_state *s);
void cdc_snap_state_free(cdc_snap_state *s);

/* Parses the text of a state file (name: for messages). 0, or -1 with
 * errstr naming the line that does not fit; *s is then empty. */
int cdc_snap_state_parse(cdc_snap_state *s, const char *text, size_t len, const char *name, char *errstr,
			 size_t errlen);

/* Reads path into *s: 0 (a missing file gives an empty state and
 * *exists = 0), or -1 with errstr. */
int cdc_snap_state_load(cdc_snap_state *s, const char *path, int *exists, char *errstr, size_t errlen);

/* The progress of keyspace.table, added (token: the ring's start, not
 * done) when absent; NULL when out of memory or the names do not fit. */
cdc_snap_progress *cdc_snap_state_table(cdc_snap_state *s, const char *keyspace, const char *table);

/* The file's text. */
void cdc_snap_state_format(const cdc_snap_state *s, cdc_buf *out);

/* Replaces path with the state, durably (written to path + ".tmp",
 * fsync'd, renamed, directory fsync'd). 0, or -1 with errstr. */
int cdc_snap_state_save(const cdc_snap_state *s, const char *path, char *errstr, size_t errlen);

#endif
