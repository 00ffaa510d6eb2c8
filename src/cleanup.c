/* cleanup.c - `cdctail cleanup`: frees cdc_raw of consumed segments, and of
 * unconsumed ones only when the operator says so (docs/cleanup.md). */
#include "cleanup.h"
#include "cdcraw.h"
#include "checkpoint.h"
#include "err.h"
#include "fsmove.h"
#include "segment.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define IDX_SUFFIX "_cdc.idx"
#define NAME_CAP 256

/* One segment id seen in cdc_raw: its .log and/or its _cdc.idx. */
typedef struct seg {
	int version;
	int64_t id;
	int has_log, has_idx;
	char log_name[NAME_CAP], idx_name[NAME_CAP];
	uint64_t log_size, idx_size;
	time_t mtime;            /* of the .log (of the idx for an orphan idx) */
	int idx_ok;              /* the idx parsed (not being rewritten) */
	cdc_index idx;
	int in_ckpt, finished;   /* what the checkpoint says */
	uint64_t position, skipped;
	int consumed, eligible, doomed;
	int log_gone, idx_gone;  /* no longer in cdc_raw (removed, archived, vanished) */
} seg;

typedef struct ctx {
	const cdc_cleanup_opts *o;
	cdc_cleanup_stats *st;
	FILE *out, *err;
	int dirfd, archfd, quarfd;  /* quarfd: opened when first needed */
	char quarantine[4200];
	time_t now;
	seg *v;
	size_t n, cap;
	uint64_t bytes;          /* projected segment + idx bytes in cdc_raw */
	char first_err[CDC_ERRSTR_SIZE];
} ctx;

/* ---- parsing of option values ---- */

/* Reads leading decimal digits into *v; returns the rest, or NULL when there
 * are none or they overflow. */
static const char *digits(const char *s, uint64_t *v)
{
	const char *p = s;

	*v = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (*v > (UINT64_MAX - 9) / 10)
			return NULL;
		*v = *v * 10 + (uint64_t)(*p - '0');
	}
	return p == s ? NULL : p;
}

int cdc_cleanup_parse_size(const char *s, uint64_t *out)
{
	static const char units[] = "KMGT";
	uint64_t v, mul = 1;
	const char *p = digits(s, &v), *u;

	if (!p)
		return -1;
	if (*p) {
		u = strchr(units, *p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
		if (!u || !*u)
			return -1;
		mul = (uint64_t)1 << (10 * (u - units + 1));
		p++;
		if (strcmp(p, "") != 0 && strcmp(p, "i") != 0 && strcmp(p, "iB") != 0)
			return -1;
	}
	if (v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

int cdc_cleanup_parse_duration(const char *s, int64_t *out)
{
	uint64_t v, mul = 1;
	const char *p = digits(s, &v);

	if (!p)
		return -1;
	if (*p) {
		switch (*p) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		default: return -1;
		}
		if (p[1])
			return -1;
	}
	if (v > (uint64_t)INT64_MAX / mul)
		return -1;
	*out = (int64_t)(v * mul);
	return 0;
}

/* ---- reporting ---- */

/* Reports a per-file failure on the error stream, keeps the first one for
 * errstr, counts it. */
static void file_error(ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void file_error(ctx *c, const char *fmt, ...)
{
	char msg[CDC_ERRSTR_SIZE];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(c->err, "cdctail cleanup: %s\n", msg);
	if (c->st->errors++ == 0)
		snprintf(c->first_err, sizeof(c->first_err), "%s", msg);
}

/* ---- the listing ---- */

/* Recognises a segment or idx name; fills version, id and whether it is the
 * idx. Returns 0, or -1 for any other name. */
static int classify(const char *name, int *version, int64_t *id, int *is_idx)
{
	size_t n = strlen(name), sl = strlen(IDX_SUFFIX);
	char log[NAME_CAP];

	if (n >= NAME_CAP)
		return -1;
	if (n > sl && strcmp(name + n - sl, IDX_SUFFIX) == 0) {
		snprintf(log, sizeof(log), "%.*s.log", (int)(n - sl), name);
		*is_idx = 1;
		return cdc_segment_parse_name(log, version, id);
	}
	*is_idx = 0;
	return cdc_segment_parse_name(name, version, id);
}

/* A new, zeroed entry at the end of the list; NULL when out of memory. */
static seg *seg_new(ctx *c, int version, int64_t id)
{
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		seg *nv = realloc(c->v, ncap * sizeof(*nv));

		if (!nv)
			return NULL;
		c->v = nv;
		c->cap = ncap;
	}
	memset(&c->v[c->n], 0, sizeof(c->v[0]));
	c->v[c->n].version = version;
	c->v[c->n].id = id;
	return &c->v[c->n++];
}

/* qsort order: segment id, then descriptor version. */
static int by_id(const void *a, const void *b)
{
	const seg *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return (x->version > y->version) - (x->version < y->version);
}

/* Joins the .log and _cdc.idx entries of each segment (adjacent once sorted)
 * into one; the segment's mtime is its .log's. */
static void merge(ctx *c)
{
	size_t i, j = 0;

	for (i = 0; i < c->n; i++) {
		seg *s = &c->v[i], *prev = j ? &c->v[j - 1] : NULL;

		if (prev && prev->id == s->id && prev->version == s->version) {
			seg *log = s->has_log ? s : prev, *idx = s->has_idx ? s : prev;

			if (log != prev) {
				prev->has_log = 1;
				prev->log_size = log->log_size;
				prev->mtime = log->mtime;
				memcpy(prev->log_name, log->log_name, sizeof(prev->log_name));
			}
			if (idx != prev) {
				prev->has_idx = 1;
				prev->idx_size = idx->idx_size;
				memcpy(prev->idx_name, idx->idx_name, sizeof(prev->idx_name));
			}
			continue;
		}
		if (j != i)
			c->v[j] = *s;
		j++;
	}
	c->n = j;
}

/* Reads an idx file without following a symlink. Returns 0 parsed, 1 when it
 * is being rewritten (empty or partial) or vanished, -1 on an I/O error
 * (reported). */
static int read_idx(ctx *c, seg *s)
{
	char buf[128], msg[CDC_ERRSTR_SIZE];
	ssize_t r;
	int fd = openat(c->dirfd, s->idx_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			return 1;
		file_error(c, "%s/%s: open: %s", c->o->cdc_raw, s->idx_name, strerror(errno));
		return -1;
	}
	r = read(fd, buf, sizeof(buf));
	if (r < 0) {
		file_error(c, "%s/%s: read: %s", c->o->cdc_raw, s->idx_name, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if ((size_t)r == sizeof(buf) ||
	    cdc_index_parse(buf, (size_t)r, &s->idx, s->idx_name, msg, sizeof(msg)) != 0) {
		if (c->o->verbose)
			fprintf(c->out, "note %s: unreadable for now (%s)\n", s->idx_name,
				(size_t)r == sizeof(buf) ? "too long" : msg);
		return 1;
	}
	s->idx_ok = 1;
	return 0;
}

/* Lists cdc_raw: every regular file with a segment or idx name, by lstat. */
static int scan(ctx *c, char *errstr, size_t errlen)
{
	int fd = dup(c->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return cdc_error(errstr, errlen, "%s: opendir: %s", c->o->cdc_raw, strerror(errno));
	}
	rewinddir(d);
	errno = 0;
	while ((e = readdir(d)) != NULL) {
		struct stat sb;
		int version, is_idx;
		int64_t id;
		seg *s;

		if (classify(e->d_name, &version, &id, &is_idx) != 0)
			continue;
		if (fstatat(c->dirfd, e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
			if (errno != ENOENT)
				file_error(c, "%s/%s: lstat: %s", c->o->cdc_raw, e->d_name, strerror(errno));
			errno = 0;
			continue;
		}
		if (!S_ISREG(sb.st_mode)) {
			if (c->o->verbose)
				fprintf(c->out, "note %s: not a regular file, left alone\n", e->d_name);
			continue;
		}
		s = seg_new(c, version, id);
		if (!s) {
			closedir(d);
			return cdc_error(errstr, errlen, "out of memory");
		}
		if (is_idx) {
			s->has_idx = 1;
			s->idx_size = (uint64_t)sb.st_size;
			snprintf(s->idx_name, sizeof(s->idx_name), "%s", e->d_name);
			s->mtime = sb.st_mtime;
		} else {
			s->has_log = 1;
			s->log_size = (uint64_t)sb.st_size;
			s->mtime = sb.st_mtime;
			snprintf(s->log_name, sizeof(s->log_name), "%s", e->d_name);
		}
		c->bytes += (uint64_t)sb.st_size;
		errno = 0;
	}
	if (errno != 0) {
		int saved = errno;

		closedir(d);
		return cdc_error(errstr, errlen, "%s: readdir: %s", c->o->cdc_raw, strerror(saved));
	}
	closedir(d);
	if (c->n)
		qsort(c->v, c->n, sizeof(*c->v), by_id);
	merge(c);
	return 0;
}

/* ---- taking files out of cdc_raw ---- */

/* The quarantine directory, created and opened at first use. Its fd, or
 * -1 (reported). */
static int quarantine_fd(ctx *c)
{
	if (c->quarfd >= 0)
		return c->quarfd;
	if (mkdir(c->quarantine, 0750) != 0 && errno != EEXIST) {
		file_error(c, "%s: %s", c->quarantine, strerror(errno));
		return -1;
	}
	c->quarfd = open(c->quarantine, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->quarfd < 0)
		file_error(c, "%s: %s", c->quarantine, strerror(errno));
	return c->quarfd;
}

/* Takes one file out of cdc_raw: unlink, or a durable move into the archive
 * or (a segment with skipped entries) the quarantine directory (fsmove.h).
 * Returns 0 done, 1 vanished, -1 error (reported). */
static int take_out(ctx *c, const char *name, int quarantine)
{
	char msg[CDC_ERRSTR_SIZE];
	int rc, dst;

	if (!c->o->archive_dir && !quarantine) {
		if (unlinkat(c->dirfd, name, 0) == 0)
			return 0;
		if (errno == ENOENT)
			return 1;
		file_error(c, "%s/%s: unlink: %s", c->o->cdc_raw, name, strerror(errno));
		return -1;
	}
	dst = quarantine ? quarantine_fd(c) : c->archfd;
	if (dst < 0)
		return -1;
	rc = cdc_move_at(c->dirfd, c->o->cdc_raw, name, dst, quarantine ? c->quarantine : c->o->archive_dir,
			 c->o->archive_copy, msg, sizeof(msg));
	if (rc < 0)
		file_error(c, "%s", msg);
	return rc;
}

/* Removes, archives or quarantines one file of a segment and prints the
 * action line with `why`. Returns 0 when the file is no longer in cdc_raw
 * (done, or vanished), -1 when it is still there. */
static int handle_file(ctx *c, const char *name, uint64_t size, const char *why, int quarantine)
{
	int rc = c->o->dry_run ? 0 : take_out(c, name, quarantine);

	if (rc < 0)
		return -1;
	c->bytes -= size;
	if (rc == 1) {
		c->st->vanished++;
		if (c->o->verbose)
			fprintf(c->out, "note %s: already gone\n", name);
		return 0;
	}
	if (quarantine)
		fprintf(c->out, "%s %s (%" PRIu64 " bytes, %s) to %s/%s\n",
			c->o->dry_run ? "would quarantine" : "quarantined", name, size, why, c->quarantine, name);
	else if (c->o->archive_dir)
		fprintf(c->out, "%s %s (%" PRIu64 " bytes, %s) to %s/%s\n",
			c->o->dry_run ? "would archive" : "archived", name, size, why, c->o->archive_dir, name);
	else
		fprintf(c->out, "%s %s (%" PRIu64 " bytes, %s)\n", c->o->dry_run ? "would remove" : "removed",
			name, size, why);
	return 0;
}

/* Takes a whole segment out: the .log first, so that an interruption never
 * leaves a segment without the idx that proves it consumed; then the idx.
 * A segment with skipped entries goes to the quarantine directory, never
 * away (cdcraw.h). Returns the bytes taken out, or -1 when the .log is
 * still there. */
static int64_t handle_segment(ctx *c, seg *s, const char *why)
{
	int quarantine = cdc_raw_fate_of(0, s->skipped, 1, c->o->archive_dir) == CDC_RAW_QUARANTINE;
	char qwhy[200];
	int64_t done = 0;

	if (quarantine) {
		snprintf(qwhy, sizeof(qwhy), "%s, %" PRIu64 " entries not delivered: kept for cdctail replay --skipped", why,
			 s->skipped);
		why = qwhy;
	}
	if (s->has_log && !s->log_gone) {
		if (handle_file(c, s->log_name, s->log_size, why, quarantine) != 0)
			return -1;
		s->log_gone = 1;
		done += (int64_t)s->log_size;
	}
	if (s->has_idx && !s->idx_gone && handle_file(c, s->idx_name, s->idx_size, why, quarantine) == 0) {
		s->idx_gone = 1;
		done += (int64_t)s->idx_size;
	}
	if (quarantine && s->log_gone) {
		c->st->quarantined++;
		c->st->quarantined_bytes += (uint64_t)done;
		return -2; /* counted here, not as removed or archived */
	}
	return done;
}

/* ---- the decisions ---- */

/* Fills consumed and eligible for every segment, by Cassandra's rules
 * (cdcraw.h). */
static void judge(ctx *c, const cdc_checkpoint *ck)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		seg *s = &c->v[i];
		cdc_raw_record r = { 0 };

		s->in_ckpt = r.in_checkpoint = cdc_checkpoint_get(ck, s->id, &s->position, &s->finished) == 0;
		r.position = s->position;
		r.finished = s->finished;
		r.skipped = s->skipped = cdc_checkpoint_skipped(ck, s->id);
		if (s->has_idx)
			read_idx(c, s);
		s->consumed = cdc_raw_consumed(&r, s->idx_ok, &s->idx);
		/* unconsumed deletion: Cassandra is done with the segment for sure */
		s->eligible = s->has_log && cdc_raw_finished_by_cassandra(s->has_idx, s->idx_ok, &s->idx, s->version,
									   s->mtime, c->now);
	}
}

/* Describes a segment's checkpoint and idx state into buf. */
static const char *describe(const seg *s, char *buf, size_t len)
{
	char ck[64], ix[64];

	if (!s->in_ckpt)
		snprintf(ck, sizeof(ck), "no checkpoint record");
	else
		snprintf(ck, sizeof(ck), "checkpoint position %" PRIu64 "%s", s->position,
			 s->finished ? " finished" : "");
	if (!s->has_idx)
		snprintf(ix, sizeof(ix), "no _cdc.idx");
	else if (!s->idx_ok)
		snprintf(ix, sizeof(ix), "_cdc.idx being rewritten");
	else
		snprintf(ix, sizeof(ix), "idx offset %" PRIu64 "%s", s->idx.offset,
			 s->idx.completed ? " COMPLETED" : " (still written by Cassandra)");
	snprintf(buf, len, "%s, %s", ck, ix);
	return buf;
}

/* First pass: every consumed segment, and every COMPLETED idx whose segment
 * is gone (it holds no events). */
static void remove_consumed(ctx *c)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		seg *s = &c->v[i];
		int64_t done;

		if (!s->has_log) {
			if (((s->idx_ok && s->idx.completed) || s->consumed) &&
			    handle_file(c, s->idx_name, s->idx_size, "orphan index, its segment is gone", 0) == 0) {
				s->idx_gone = 1;
				c->st->orphan_indexes++;
			}
			continue;
		}
		if (!s->consumed)
			continue;
		done = handle_segment(c, s, "consumed");
		if (done < 0 || !s->log_gone)
			continue;
		if (c->o->archive_dir) {
			c->st->archived++;
			c->st->archived_bytes += (uint64_t)done;
		} else {
			c->st->removed++;
			c->st->removed_bytes += (uint64_t)done;
		}
	}
}

/* Bytes a segment still has in cdc_raw. */
static uint64_t seg_bytes(const seg *s)
{
	return (s->has_log && !s->log_gone ? s->log_size : 0) + (s->has_idx && !s->idx_gone ? s->idx_size : 0);
}

/* Second pass: which unconsumed segments the limits require to go, oldest id
 * first, and whether the limits can be met at all. Returns the number doomed. */
static unsigned long plan_unconsumed(ctx *c, int *unmeetable)
{
	const cdc_cleanup_opts *o = c->o;
	uint64_t left = c->bytes;
	unsigned long n = 0;
	size_t i;

	for (i = 0; i < c->n; i++) {
		seg *s = &c->v[i];
		int by_size, by_age;

		if (!s->has_log || s->log_gone || !s->eligible)
			continue;
		by_size = o->max_bytes != CDC_CLEANUP_NO_LIMIT && left > o->max_bytes;
		by_age = o->max_age != CDC_CLEANUP_NO_AGE && c->now - s->mtime > o->max_age;
		if (by_size || by_age) {
			s->doomed = 1;
			left -= seg_bytes(s);
			n++;
		}
	}
	*unmeetable = o->max_bytes != CDC_CLEANUP_NO_LIMIT && left > o->max_bytes;
	return n;
}

/* Third pass: deletes (or archives) the doomed segments, loudly. */
static void delete_unconsumed(ctx *c)
{
	char why[160];
	size_t i;

	for (i = 0; i < c->n; i++) {
		seg *s = &c->v[i];
		int64_t done;

		if (!s->doomed)
			continue;
		if (s->skipped)
			fprintf(c->err, "cdctail cleanup: %sMOVING UNCONSUMED segment %s (%" PRIu64 " bytes, %s) to %s: it has "
				"entries run could not deliver; the events after its checkpoint are not in Kafka: "
				"cdctail replay can send them\n", c->o->dry_run ? "(dry run) " : "", s->log_name, s->log_size,
				describe(s, why, sizeof(why)), c->quarantine);
		else
			fprintf(c->err, "cdctail cleanup: %sDELETING UNCONSUMED segment %s (%" PRIu64 " bytes, %s): events in it are lost to Kafka%s\n",
				c->o->dry_run ? "(dry run) " : "", s->log_name, s->log_size,
				describe(s, why, sizeof(why)),
				c->o->archive_dir ? " (a copy stays in the archive directory)" : "");
		done = handle_segment(c, s, "UNCONSUMED");
		if (done < 0 || !s->log_gone)
			continue;
		c->st->unconsumed_deleted++;
		c->st->unconsumed_deleted_bytes += (uint64_t)done;
	}
}

/* Says on the error stream why the limits are not met and what would have
 * to go. */
static void report_over_limit(ctx *c, unsigned long doomed, int unmeetable)
{
	const cdc_cleanup_opts *o = c->o;
	char why[160];
	size_t i;

	if (o->max_bytes != CDC_CLEANUP_NO_LIMIT && c->bytes > o->max_bytes)
		fprintf(c->err, "cdctail cleanup: cdc_raw holds %" PRIu64 " bytes, over --max-bytes %" PRIu64 "\n",
			c->bytes, o->max_bytes);
	if (!o->delete_unconsumed && doomed) {
		fprintf(c->err, "cdctail cleanup: these unconsumed segments would have to go, oldest first:\n");
		for (i = 0; i < c->n; i++) {
			const seg *s = &c->v[i];

			if (s->doomed)
				fprintf(c->err, "cdctail cleanup:   %s (%" PRIu64 " bytes, modified %lld s ago, %s)\n",
					s->log_name, seg_bytes(s), (long long)(c->now - s->mtime),
					describe(s, why, sizeof(why)));
		}
		fprintf(c->err, "cdctail cleanup: limit not met: their events are not all acknowledged by Kafka; "
			"find out why `cdctail run` is behind, or rerun with --delete-unconsumed to drop them\n");
	}
	if (unmeetable)
		fprintf(c->err, "cdctail cleanup: limit not met: the rest of cdc_raw is in segments Cassandra has not "
			"completed (or that are too recent), which are never deleted\n");
}

/* Opens cdc_raw, the archive directory and the checkpoint; -1 with errstr
 * when one is unusable. Changes nothing on disk. */
static int open_all(ctx *c, cdc_checkpoint **ck, char *errstr, size_t errlen)
{
	const cdc_cleanup_opts *o = c->o;
	struct stat sb, ab;

	c->dirfd = open(o->cdc_raw, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->dirfd < 0)
		return cdc_error(errstr, errlen, "%s: %s", o->cdc_raw, strerror(errno));
	if (flock(c->dirfd, LOCK_EX | LOCK_NB) != 0)
		return cdc_error(errstr, errlen, "%s: another cdctail cleanup is working on it (%s)", o->cdc_raw,
				 strerror(errno));
	if (o->archive_dir) {
		c->archfd = open(o->archive_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (c->archfd < 0)
			return cdc_error(errstr, errlen, "%s: archive directory: %s", o->archive_dir, strerror(errno));
		if (fstat(c->dirfd, &sb) != 0 || fstat(c->archfd, &ab) != 0)
			return cdc_error(errstr, errlen, "%s: fstat: %s", o->archive_dir, strerror(errno));
		if (sb.st_dev == ab.st_dev && sb.st_ino == ab.st_ino)
			return cdc_error(errstr, errlen, "%s: the archive directory is cdc_raw itself", o->archive_dir);
	}
	/* cdc_checkpoint_open would create a missing state directory: a typo must
	 * not look like an empty checkpoint, and a dry run creates nothing. */
	if (stat(o->state_dir, &sb) != 0)
		return cdc_error(errstr, errlen, "%s: state directory: %s", o->state_dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return cdc_error(errstr, errlen, "%s: state directory: %s", o->state_dir, strerror(ENOTDIR));
	return cdc_checkpoint_open(ck, o->state_dir, errstr, errlen);
}

int cdc_cleanup(const cdc_cleanup_opts *o, cdc_cleanup_stats *st, char *errstr, size_t errlen)
{
	ctx c;
	cdc_checkpoint *ck = NULL;
	unsigned long doomed = 0;
	int unmeetable = 0, rc = 0;
	size_t i;

	memset(st, 0, sizeof(*st));
	memset(&c, 0, sizeof(c));
	c.o = o;
	c.st = st;
	c.out = o->out ? o->out : stdout;
	c.err = o->err ? o->err : stderr;
	c.dirfd = c.archfd = c.quarfd = -1;
	if (o->quarantine_dir)
		snprintf(c.quarantine, sizeof(c.quarantine), "%s", o->quarantine_dir);
	else if (o->state_dir)
		snprintf(c.quarantine, sizeof(c.quarantine), "%s/quarantine", o->state_dir);
	c.now = o->now ? o->now : time(NULL);
	if (!o->cdc_raw || !o->state_dir) {
		rc = cdc_error(errstr, errlen, "cdc_raw and the state directory are required");
		goto out;
	}
	if (open_all(&c, &ck, errstr, errlen) != 0 || scan(&c, errstr, errlen) != 0) {
		rc = -1;
		goto out;
	}
	st->bytes_before = c.bytes;
	judge(&c, ck);
	remove_consumed(&c);
	doomed = plan_unconsumed(&c, &unmeetable);
	if (doomed && o->delete_unconsumed)
		delete_unconsumed(&c);
	if ((doomed && !o->delete_unconsumed) || unmeetable) {
		st->over_limit = 1;
		report_over_limit(&c, doomed, unmeetable);
	}
	for (i = 0; i < c.n; i++)
		if (c.v[i].has_log && !c.v[i].log_gone) {
			if (!c.v[i].consumed)
				st->unconsumed_kept++;
			if (o->verbose) {
				char why[160];

				fprintf(c.out, "kept %s (%" PRIu64 " bytes, %s%s)\n", c.v[i].log_name, c.v[i].log_size,
					c.v[i].consumed ? "consumed, could not be removed: " : "",
					describe(&c.v[i], why, sizeof(why)));
			}
		}
	st->bytes_after = c.bytes;
	if (st->errors)
		rc = cdc_error(errstr, errlen, "%lu file(s) could not be handled; the first: %s", st->errors,
			       c.first_err);
	else if (st->over_limit)
		rc = CDC_CLEANUP_OVER_LIMIT;
out:
	if (c.dirfd >= 0)
		close(c.dirfd); /* releases the lock */
	if (c.archfd >= 0)
		close(c.archfd);
	if (c.quarfd >= 0)
		close(c.quarfd);
	cdc_checkpoint_destroy(ck);
	free(c.v);
	return rc;
}

/* ---- the command line ---- */

/* The options, with examples and exit codes (kcat style). */
static void usage(FILE *f)
{
	fputs("Usage: cdctail cleanup --cdc-raw DIR --state-dir DIR [--dry-run] [--archive-dir DIR]\n"
	      "                       [--quarantine-dir DIR]\n"
	      "                       [--max-bytes N[K|M|G]] [--max-age N[s|m|h|d]]\n"
	      "                       [--delete-unconsumed] [--verbose]\n"
	      "\n"
	      "Removes from Cassandra's cdc_raw every segment (and its _cdc.idx) whose events\n"
	      "Kafka acknowledged, as recorded in STATE_DIR/checkpoint by `cdctail run`. Only\n"
	      "reads the checkpoint: safe while `cdctail run` is running. docs/cleanup.md.\n"
	      "\n"
	      "  --cdc-raw DIR        Cassandra's cdc_raw directory\n"
	      "  --state-dir DIR      cdctail run's state directory (must exist)\n"
	      "  --dry-run            print what would be done, change nothing\n"
	      "  --archive-dir DIR    move segments there instead of removing them\n"
	      "  --quarantine-dir DIR where segments with entries run could not deliver go\n"
	      "                       (never removed; default STATE_DIR/quarantine, as run's)\n"
	      "  --max-bytes N        then keep cdc_raw (segments + idx) at or under N bytes\n"
	      "                       (K, M, G, T: powers of 1024)\n"
	      "  --max-age D          then let no completed segment be older than D (mtime)\n"
	      "  --delete-unconsumed  meet those limits by deleting the oldest segments Cassandra\n"
	      "                       completed even though their events are NOT all in Kafka\n"
	      "  --verbose            also say why each remaining segment is kept\n"
	      "\n"
	      "Examples:\n"
	      "  cdctail cleanup --cdc-raw /var/lib/cassandra/cdc_raw --state-dir /var/lib/cdctail\n"
	      "  cdctail cleanup --cdc-raw /var/lib/cassandra/cdc_raw --state-dir /var/lib/cdctail \\\n"
	      "      --max-bytes 3G --dry-run\n"
	      "\n"
	      "Exit codes: 0 ok, 1 error (file and reason on stderr), 2 usage, 3 a limit not met\n"
	      "(the segments that would have to go are listed on stderr).\n",
	      f);
}

int cdc_cleanup_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cdc-raw", required_argument, NULL, 'c' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "archive-dir", required_argument, NULL, 'a' },
		{ "quarantine-dir", required_argument, NULL, 'Q' },
		{ "max-bytes", required_argument, NULL, 'b' },
		{ "max-age", required_argument, NULL, 'g' },
		{ "delete-unconsumed", no_argument, NULL, 'D' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	cdc_cleanup_opts o = { .max_bytes = CDC_CLEANUP_NO_LIMIT, .max_age = CDC_CLEANUP_NO_AGE };
	cdc_cleanup_stats st;
	char errstr[CDC_ERRSTR_SIZE];
	int c, rc;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:s:na:Q:b:g:Dvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o.cdc_raw = optarg; break;
		case 's': o.state_dir = optarg; break;
		case 'n': o.dry_run = 1; break;
		case 'a': o.archive_dir = optarg; break;
		case 'Q': o.quarantine_dir = optarg; break;
		case 'D': o.delete_unconsumed = 1; break;
		case 'v': o.verbose = 1; break;
		case 'b':
			if (cdc_cleanup_parse_size(optarg, &o.max_bytes) != 0) {
				fprintf(stderr, "cdctail cleanup: --max-bytes: '%s' is not a byte count (N, NK, NM, NG)\n", optarg);
				return 2;
			}
			break;
		case 'g':
			if (cdc_cleanup_parse_duration(optarg, &o.max_age) != 0) {
				fprintf(stderr, "cdctail cleanup: --max-age: '%s' is not a duration (Ns, Nm, Nh, Nd)\n", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!o.cdc_raw || !o.state_dir || optind < argc) {
		fputs(optind < argc ? "cdctail cleanup: unexpected argument\n"
				    : "cdctail cleanup: --cdc-raw DIR and --state-dir DIR are required\n", stderr);
		usage(stderr);
		return 2;
	}
	if (o.delete_unconsumed && o.max_bytes == CDC_CLEANUP_NO_LIMIT && o.max_age == CDC_CLEANUP_NO_AGE) {
		fputs("cdctail cleanup: --delete-unconsumed needs --max-bytes or --max-age\n", stderr);
		return 2;
	}
	rc = cdc_cleanup(&o, &st, errstr, sizeof(errstr));
	if (rc < 0)
		fprintf(stderr, "cdctail cleanup: %s\n", errstr);
	if (fflush(stdout) != 0 && rc >= 0) {
		fprintf(stderr, "cdctail cleanup: stdout: %s\n", strerror(errno));
		rc = -1;
	}
	if (rc < 0 && !st.errors)
		return 1; /* nothing was looked at: no summary */
	fprintf(stderr, "cdctail cleanup: %lu segments removed (%" PRIu64 " bytes), %lu archived, %lu quarantined, "
		"%lu unconsumed kept, %lu unconsumed deleted, cdc_raw now %" PRIu64 " bytes%s\n",
		st.removed, st.removed_bytes, st.archived, st.quarantined, st.unconsumed_kept, st.unconsumed_deleted,
		st.bytes_after, o.dry_run ? " (dry run: nothing changed)" : "");
	return rc < 0 ? 1 : rc == CDC_CLEANUP_OVER_LIMIT ? 3 : 0;
}
