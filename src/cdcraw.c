/* cdcraw.c - Cassandra's cdc_raw rules (include/cdcraw.h). */
#include "cdcraw.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/stat.h>

int cdc_raw_whole_at_discard(int cl_version)
{
	return cl_version <= CDC_CL_VERSION_30;
}

/* Cassandra's sync writes an idx for every segment holding CDC data, on each
 * pass through the active segments (oldest first), and discard deletes the
 * commitlog copy before the cdc_raw link of a segment without CDC data. */
cdc_raw_idxless cdc_raw_decide_idxless(const char *path, const char *idx_path, int64_t id, int have_newer,
				       int64_t newer_id, const cdc_index *newer, cdc_raw_witness *w, char *why,
				       size_t whylen)
{
	struct stat st, ist;
	int have_link = lstat(path, &st) == 0;

	if (lstat(idx_path, &ist) == 0 && S_ISREG(ist.st_mode))
		return CDC_RAW_IDX_APPEARED;
	if (!have_link || st.st_nlink == 1) {
		/* had it held CDC data, its COMPLETED idx would have been written
		 * before the commitlog copy went */
		snprintf(why, whylen, "%s: no _cdc.idx and %s: discarded by Cassandra without CDC data; read whole", path,
			 have_link ? "no commitlog copy (1 link)" : "removed from cdc_raw");
		return CDC_RAW_DISCARDED;
	}
	if (!have_newer) {
		w->for_id = -1;
		return CDC_RAW_WAIT; /* the newest segment with data: it may get its first CDC write */
	}
	if (newer->completed || (w->for_id == id && (w->id != newer_id || w->offset != newer->offset))) {
		/* a sync pass after the one that wrote the first idx seen (or one
		 * that completed a newer segment) went through this segment too,
		 * after it stopped taking writes, and wrote no idx for it */
		snprintf(why, whylen, "%s: no _cdc.idx while CommitLog segment %" PRId64 " has one (%" PRIu64 "%s): holds no "
			 "CDC data; Cassandra removes it at discard", path, newer_id, newer->offset,
			 newer->completed ? ", COMPLETED" : "");
		w->for_id = -1;
		return CDC_RAW_NO_CDC_DATA;
	}
	if (w->for_id != id) {
		w->for_id = id;
		w->id = newer_id;
		w->offset = newer->offset;
	}
	return CDC_RAW_WAIT;
}

int cdc_raw_idxless_release(const char *path, time_t now)
{
	struct stat st;

	if (lstat(path, &st) != 0)
		return errno == ENOENT ? 0 : -1;
	/* removing it under Cassandra's feet would fail its discard */
	if (st.st_nlink > 1 || now - st.st_ctime < CDC_RAW_SETTLE_SECONDS)
		return 1;
	return 2;
}

int cdc_raw_consumed(const cdc_raw_record *r, int idx_ok, const cdc_index *idx)
{
	return r->in_checkpoint && (r->finished || (idx_ok && idx->completed && r->position >= idx->offset));
}

int cdc_raw_finished_by_cassandra(int has_idx, int idx_ok, const cdc_index *idx, int cl_version, time_t mtime,
				  time_t now)
{
	if (idx_ok && idx->completed)
		return 1;
	return !has_idx && cdc_raw_whole_at_discard(cl_version) && now - mtime >= CDC_RAW_SETTLE_SECONDS;
}

cdc_raw_fate cdc_raw_fate_of(int unreadable, uint64_t skipped, int delete_consumed, const char *archive_dir)
{
	if (unreadable || skipped)
		return CDC_RAW_QUARANTINE;
	if (!delete_consumed)
		return CDC_RAW_KEEP;
	return archive_dir ? CDC_RAW_ARCHIVE : CDC_RAW_DELETE;
}
