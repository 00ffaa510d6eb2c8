/* cleanup.h - `cdctail cleanup`: keeps Cassandra's cdc_raw directory under its
 * cdc_total_space by removing (or archiving) the segments whose events Kafka
 * already acknowledged, and, only when the operator asks for it, the oldest
 * unconsumed ones. docs/cleanup.md has the rules and their reasons.
 *
 * A segment is consumed when the checkpoint (STATE_DIR/checkpoint, written by
 * `cdctail run`) records it finished, or when its _cdc.idx says COMPLETED and
 * the checkpoint position is at or past the idx offset. The checkpoint is only
 * read, never saved, so cleanup is safe while `cdctail run` is running.
 *
 * Only regular files named CommitLog-<v>-<id>.log or CommitLog-<v>-<id>_cdc.idx
 * directly inside cdc_raw are ever touched (never followed symlinks, never
 * anything else); a file that vanishes meanwhile is not an error. */
#ifndef CDCTAIL_CLEANUP_H
#define CDCTAIL_CLEANUP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define CDC_CLEANUP_NO_LIMIT UINT64_MAX
#define CDC_CLEANUP_NO_AGE (-1)
/* cdc_cleanup() ran cleanly but the limits could not be met. */
#define CDC_CLEANUP_OVER_LIMIT 1

typedef struct cdc_cleanup_opts {
	const char *cdc_raw;       /* Cassandra's cdc_raw directory (required) */
	const char *state_dir;     /* holds the checkpoint; must exist (required) */
	const char *archive_dir;   /* move here instead of removing; NULL: remove */
	const char *quarantine_dir; /* where segments with skipped entries go;
				    * NULL: STATE_DIR/quarantine (as run's default) */
	uint64_t max_bytes;        /* CDC_CLEANUP_NO_LIMIT: none */
	int64_t max_age;           /* seconds, by mtime; CDC_CLEANUP_NO_AGE: none */
	int dry_run;               /* print what would happen, change nothing */
	int delete_unconsumed;     /* may drop unconsumed segments to meet the limits */
	int verbose;               /* also say why each segment is kept */
	time_t now;                /* 0: time(NULL); tests set it */
	int archive_copy;          /* copy+fsync+unlink even when rename would do (tests) */
	FILE *out;                 /* one line per action; NULL: stdout */
	FILE *err;                 /* warnings, per-file errors; NULL: stderr */
} cdc_cleanup_opts;

typedef struct cdc_cleanup_stats {
	unsigned long removed;            /* consumed segments removed */
	uint64_t removed_bytes;           /* their bytes, idx files included */
	unsigned long archived;           /* consumed segments moved to archive_dir */
	uint64_t archived_bytes;
	unsigned long quarantined;        /* segments with skipped entries moved to the quarantine */
	uint64_t quarantined_bytes;
	unsigned long unconsumed_kept;    /* unconsumed segments left in cdc_raw */
	unsigned long unconsumed_deleted; /* unconsumed segments taken out of cdc_raw */
	uint64_t unconsumed_deleted_bytes;
	unsigned long orphan_indexes;     /* COMPLETED _cdc.idx without a segment, removed */
	unsigned long vanished;           /* files gone before we got to them */
	unsigned long errors;             /* files that could not be handled */
	uint64_t bytes_before, bytes_after; /* cdc_raw segment + idx bytes */
	int over_limit;                   /* the limits could not be met */
} cdc_cleanup_stats;

/* Runs one cleanup pass as described above; fills *st (zeroed first).
 * Returns 0 when done and within the limits, CDC_CLEANUP_OVER_LIMIT when done
 * but the limits are still exceeded (what would have to go is written to
 * o->err), or -1 with errstr naming the file and the errno message: at once
 * when cdc_raw, the state directory, the checkpoint or the archive directory
 * is unusable (nothing touched), or at the end when some files could not be
 * removed (each one was reported on o->err; the others were handled). */
int cdc_cleanup(const cdc_cleanup_opts *o, cdc_cleanup_stats *st, char *errstr, size_t errlen);

/* Parses a byte count: digits with an optional K, M, G or T suffix (powers of
 * 1024; "Ki"/"KiB" forms too). Returns 0, or -1 when malformed or too big. */
int cdc_cleanup_parse_size(const char *s, uint64_t *out);

/* Parses a duration: digits with an optional s, m, h or d suffix (plain
 * digits are seconds). Returns 0, or -1 when malformed or too big. */
int cdc_cleanup_parse_duration(const char *s, int64_t *out);

/* `cdctail cleanup ...` (argv[0] is "cleanup"). Returns the exit code: 0 ok,
 * 1 error, 2 usage, 3 limit not met. Never calls exit(). */
int cdc_cleanup_main(int argc, char **argv);

#endif
