/* cdcraw.h - Cassandra's rules for its cdc_raw directory, as its source
 * (CommitLogSegmentManagerCDC, CommitLogSegment, AbstractCommitLogSegment-
 * Manager; 4.0.19, 4.1.10 and 5.0.9 alike in what matters here) applies them,
 * and what follows from them for a reader: when a segment is finished, when
 * one holds no CDC data, when a consumed one may go and where it goes. One
 * module, so that `cdctail run` and `cdctail cleanup` decide alike
 * (docs/run.md, "Segments without _cdc.idx"; docs/cleanup.md).
 *
 * The functions that look at the directory do so with lstat(2) (never
 * following a symlink) and in the order their argument needs; the others
 * decide from what the caller observed. */
#ifndef CDCTAIL_CDCRAW_H
#define CDCTAIL_CDCRAW_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "segment.h"

/* Cassandra deletes an idx-less segment's cdc_raw link right after its
 * commitlog copy; one still there this long after its last link change
 * was left behind (Cassandra stopped in between). Also the time a 3.x
 * segment must be left unchanged before cleanup may delete it unconsumed. */
#define CDC_RAW_SETTLE_SECONDS 60

/* 3.x (descriptor version 6) moves a segment into cdc_raw whole, when it
 * discards it, and writes no _cdc.idx: such a segment is final and read
 * whole. 1 for those versions. */
int cdc_raw_whole_at_discard(int cl_version);

/* ---- segments without _cdc.idx (4.0+) ---- */

/* What was learnt of an idx-less segment. */
typedef enum {
	CDC_RAW_WAIT = 0,        /* undecided: newer segments must wait behind it */
	CDC_RAW_NO_CDC_DATA,     /* a later sync pass went through it: it holds no
				  * CDC data and never will; nothing to read,
				  * Cassandra removes it at discard */
	CDC_RAW_DISCARDED,       /* Cassandra deleted its commitlog copy: final,
				  * read it whole (it normally yields nothing) */
	CDC_RAW_IDX_APPEARED,    /* its _cdc.idx is there now: read it as any other */
} cdc_raw_idxless;

/* The newest _cdc.idx seen among newer segments across observations of the
 * segment waited for; start with for_id = -1. */
typedef struct cdc_raw_witness {
	int64_t for_id, id;
	uint64_t offset;
} cdc_raw_witness;

/* Decides about the idx-less segment `id` at path (idx_path its would-be
 * idx). The caller first reads the newest readable idx among the newer
 * segments (have_newer, newer_id, *newer), then calls this, which looks at
 * the segment's link count and then for its idx. A verdict other than
 * CDC_RAW_WAIT comes with a sentence in why, for the log. */
cdc_raw_idxless cdc_raw_decide_idxless(const char *path, const char *idx_path, int64_t id, int have_newer,
				       int64_t newer_id, const cdc_index *newer, cdc_raw_witness *w, char *why,
				       size_t whylen);

/* Whether an idx-less segment decided NO_CDC_DATA or DISCARDED (and read)
 * may be released now: 0 Cassandra removed it (forget it), 1 not yet (it is
 * Cassandra's to remove while it still has its commitlog link or changed in
 * the last CDC_RAW_SETTLE_SECONDS), 2 ours to remove. -1 when it cannot be
 * looked at (try later). */
int cdc_raw_idxless_release(const char *path, time_t now);

/* ---- consumed, eligible, and the fate of a segment ---- */

/* What the checkpoint (docs/checkpoint.md) records of a segment. */
typedef struct cdc_raw_record {
	int in_checkpoint;
	uint64_t position;       /* every event before it is acknowledged */
	int finished;            /* Cassandra completed it, everything acknowledged */
	uint64_t skipped;        /* entries that could not be delivered */
} cdc_raw_record;

/* Consumed: the checkpoint records it finished, or its idx (idx_ok: read)
 * says COMPLETED and the checkpoint position is at or past the idx offset. */
int cdc_raw_consumed(const cdc_raw_record *r, int idx_ok, const cdc_index *idx);

/* Cassandra is certainly done writing it (so cleanup may delete it
 * unconsumed when the operator asks): its idx says COMPLETED, or it has no
 * idx at all, is a 3.x segment and has not changed for
 * CDC_RAW_SETTLE_SECONDS. */
int cdc_raw_finished_by_cassandra(int has_idx, int idx_ok, const cdc_index *idx, int cl_version, time_t mtime,
				  time_t now);

/* Where a consumed segment goes. */
typedef enum {
	CDC_RAW_DELETE,          /* removed */
	CDC_RAW_ARCHIVE,         /* moved to the archive directory */
	CDC_RAW_KEEP,            /* left in cdc_raw (run with delete_consumed = false) */
	CDC_RAW_QUARANTINE,      /* moved to the quarantine directory: unreadable, or
				  * entries in it could not be delivered; never deleted */
} cdc_raw_fate;

/* The fate of a segment all of whose readable events are delivered: an
 * unreadable one or one with skipped entries is quarantined whatever else is
 * configured; otherwise kept (when !delete_consumed), archived (archive_dir
 * given) or deleted. */
cdc_raw_fate cdc_raw_fate_of(int unreadable, uint64_t skipped, int delete_consumed, const char *archive_dir);

#endif
