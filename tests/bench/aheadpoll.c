/* aheadpoll.c - what watching a live segment for new bytes costs: the
 * read-ahead poll alone (no decoding, no Kafka), at a given interval, on a
 * real node's cdc_raw. inotify does not report stores through Cassandra's
 * shared mapping (docs/format.md), so the only way to notice an entry is to
 * look: every interval, cdc_segment_refresh() (one fstat) and
 * cdc_segment_next() until it stops at the first entry not complete yet.
 *
 *   build/aheadpoll CDC_RAW INTERVAL_MS SECONDS
 *
 * Follows segments as the service does: the oldest one not COMPLETED, its
 * `_cdc.idx` as the limit (0 without one), read-ahead on; a COMPLETED one is
 * read to its end and the next is taken. The directory is listed and the idx
 * read once a second, as inotify would wake the service for them. Prints one
 * line: polls, entries (read ahead, and total), stops at partly written
 * entries by state, and the CPU time this process used (user, system) per
 * second of wall time. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "segment.h"
#include "watch.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu(struct rusage *r, int sys)
{
	const struct timeval *t = sys ? &r->ru_stime : &r->ru_utime;

	return t->tv_sec + t->tv_usec / 1e6;
}

typedef struct follow {
	const char *dir;
	cdc_segment *seg;
	int64_t id;
	char idx_path[4096];
	int completed;
	uint64_t entries, ahead_entries, counts[CDC_PENDING_KINDS];
} follow;

/* Drops the current segment, adding its counters. */
static void drop(follow *f)
{
	uint64_t c[CDC_PENDING_KINDS], a;
	int k;

	if (!f->seg)
		return;
	cdc_segment_ahead_stats(f->seg, c, &a);
	for (k = 0; k < CDC_PENDING_KINDS; k++)
		f->counts[k] += c[k];
	f->ahead_entries += a;
	cdc_segment_destroy(f->seg);
	f->seg = NULL;
}

/* Opens the oldest segment after f->id whose idx is not COMPLETED (or the
 * newest one); once a second. */
static void pick(follow *f)
{
	char err[CDC_ERRSTR_SIZE];
	cdc_seg_file *files;
	size_t n, i;
	cdc_index ix;

	if (cdc_watch_scan(f->dir, &files, &n, NULL, err, sizeof(err)) != 0)
		return;
	for (i = 0; i < n; i++) {
		if (files[i].id <= f->id && f->id)
			continue;
		if (files[i].has_idx && cdc_index_read(files[i].idx_path, &ix, NULL, 0) == 0 && ix.completed &&
		    i + 1 < n)
			continue;
		if (cdc_segment_open(&f->seg, files[i].path, err, sizeof(err)) != 0)
			break;
		f->id = files[i].id;
		snprintf(f->idx_path, sizeof(f->idx_path), "%s", files[i].idx_path);
		cdc_segment_set_limit(f->seg, 0);
		if (cdc_segment_set_read_ahead(f->seg, 1, err, sizeof(err)) != CDC_AHEAD_OK)
			fprintf(stderr, "aheadpoll: %s\n", err);
		f->completed = 0;
		break;
	}
	free(files);
}

/* What the idx allows now (once a second). */
static void apply_idx(follow *f)
{
	cdc_index ix;

	if (f->seg && f->idx_path[0] && cdc_index_read(f->idx_path, &ix, NULL, 0) == 0) {
		if (ix.offset > cdc_segment_limit(f->seg))
			cdc_segment_set_limit(f->seg, ix.offset);
		f->completed = ix.completed;
	}
}

int main(int argc, char **argv)
{
	char err[CDC_ERRSTR_SIZE];
	follow f = { 0 };
	struct rusage r0, r1;
	double t0, t1, next_list;
	long interval_ms, polls = 0;
	cdc_item it;

	if (argc != 4) {
		fputs("usage: aheadpoll CDC_RAW INTERVAL_MS SECONDS\n", stderr);
		return 2;
	}
	f.dir = argv[1];
	interval_ms = atol(argv[2]);
	getrusage(RUSAGE_SELF, &r0);
	t0 = now();
	next_list = t0;
	t1 = t0 + atof(argv[3]);
	while (now() < t1) {
		struct timespec d = { interval_ms / 1000, (interval_ms % 1000) * 1000000L };

		if (now() >= next_list) {
			if (!f.seg)
				pick(&f);
			apply_idx(&f);
			next_list = now() + 1.0;
		}
		if (f.seg) {
			int r;

			cdc_segment_refresh(f.seg, err, sizeof(err));
			while ((r = cdc_segment_next(f.seg, &it, err, sizeof(err))) == 1)
				f.entries += it.kind == CDC_ITEM_ENTRY;
			if (r < 0)
				fprintf(stderr, "aheadpoll: %s\n", err);
			if (r < 0 || (f.completed && cdc_segment_end_state(f.seg).reason != CDC_END_LIMIT)) {
				drop(&f);
				next_list = 0; /* the next segment now */
			}
		}
		polls++;
		nanosleep(&d, NULL);
	}
	getrusage(RUSAGE_SELF, &r1);
	drop(&f);
	t1 = now() - t0;
	printf("interval_ms=%ld seconds=%.1f polls=%ld entries=%" PRIu64 " read_ahead=%" PRIu64
	       " stops_empty=%" PRIu64 " stops_size=%" PRIu64 " stops_body=%" PRIu64 " stops_sealed=%" PRIu64
	       " cpu_user_ms_per_s=%.3f cpu_sys_ms_per_s=%.3f cpu_pct=%.4f\n",
	       interval_ms, t1, polls, f.entries, f.ahead_entries, f.counts[CDC_PENDING_EMPTY],
	       f.counts[CDC_PENDING_SIZE], f.counts[CDC_PENDING_BODY], f.counts[CDC_PENDING_SEALED],
	       (cpu(&r1, 0) - cpu(&r0, 0)) * 1000 / t1, (cpu(&r1, 1) - cpu(&r0, 1)) * 1000 / t1,
	       (cpu(&r1, 0) - cpu(&r0, 0) + cpu(&r1, 1) - cpu(&r0, 1)) * 100 / t1);
	return 0;
}
