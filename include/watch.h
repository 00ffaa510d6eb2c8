/* watch.h - noticing changes in Cassandra's cdc_raw directory.
 *
 * inotify only wakes the caller; what is there is always learnt by listing
 * the directory (cdc_watch_scan), so a lost event (IN_Q_OVERFLOW), a
 * directory that was replaced or a watch that could not be added costs
 * latency, never a segment. The caller also rescans periodically. */
#ifndef CDCTAIL_WATCH_H
#define CDCTAIL_WATCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct cdc_watch cdc_watch;

/* One segment file found in the directory. */
typedef struct cdc_seg_file {
	int64_t id;
	int version;             /* from the name: CommitLog-<version>-<id>.log */
	char path[4096];
	char idx_path[4096];
	int has_idx;             /* the _cdc.idx file exists */
	off_t size;
	time_t mtime;
} cdc_seg_file;

/* Starts watching dir (a missing or unwatchable directory is not an error:
 * the watch is retried on every wait). Returns 0, or -1 with errstr. */
int cdc_watch_open(cdc_watch **out, const char *dir, char *errstr, size_t errlen);
void cdc_watch_close(cdc_watch *w);

/* Waits up to timeout_ms for a change: 1 when something in dir changed (or
 * may have: overflow, the directory replaced), 0 on timeout or signal. */
int cdc_watch_wait(cdc_watch *w, int timeout_ms);

/* Queue overflows seen so far (each forced a full rescan). */
unsigned long cdc_watch_overflows(const cdc_watch *w);

/* Lists the regular files named CommitLog-<v>-<id>.log directly in dir (no
 * symlinks), sorted by id, with their index files. *out is malloc'ed (free
 * it); *bytes gets the total size of segments and index files. Returns 0, or
 * -1 with errstr (the directory cannot be read). */
int cdc_watch_scan(const char *dir, cdc_seg_file **out, size_t *n, uint64_t *bytes,
		   char *errstr, size_t errlen);

#endif
