/* test_cleanup.c - `cdctail cleanup` on synthetic cdc_raw directories: small
 * fake segment files (cleanup reads names, idx files, sizes and mtimes, never
 * segment bodies) and checkpoints written with cdc_checkpoint_set/save. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cleanup.h"
#include "err.h"

#define NOW ((time_t)1800000000) /* the tests' "now" */
#define OLD (NOW - 3600)         /* an hour before */

static char root[64], raw[96], state[96], arch[96];
static int case_no;

/* A fresh root/{cdc_raw,state,archive} for each test. */
static int setup(void **st)
{
	(void)st;
	snprintf(root, sizeof(root), "/tmp/cdctail-cleanup.XXXXXX");
	if (!mkdtemp(root))
		return -1;
	case_no++;
	snprintf(raw, sizeof(raw), "%s/cdc_raw", root);
	snprintf(state, sizeof(state), "%s/state", root);
	snprintf(arch, sizeof(arch), "%s/archive", root);
	return mkdir(raw, 0755) || mkdir(state, 0755) || mkdir(arch, 0755) ? -1 : 0;
}

static int teardown(void **st)
{
	char cmd[128];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* Writes dir/name with `size` bytes (or `text` when not NULL), mtime `when`. */
static void put(const char *dir, const char *name, size_t size, const char *text, time_t when)
{
	char path[512];
	struct timespec ts[2] = { { when, 0 }, { when, 0 } };
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	if (text)
		fputs(text, f);
	else
		while (size--)
			fputc('x', f);
	fclose(f);
	assert_int_equal(utimensat(AT_FDCWD, path, ts, 0), 0);
}

/* A segment CommitLog-<v>-<id>.log of `size` bytes and, unless idx is NULL,
 * its _cdc.idx with that text. */
static void seg(int v, int64_t id, size_t size, const char *idx, time_t when)
{
	char name[128];

	snprintf(name, sizeof(name), "CommitLog-%d-%" PRId64 ".log", v, id);
	put(raw, name, size, NULL, when);
	if (idx) {
		snprintf(name, sizeof(name), "CommitLog-%d-%" PRId64 "_cdc.idx", v, id);
		put(raw, name, 0, idx, when);
	}
}

/* Records segments in STATE_DIR/checkpoint: triples id, position, finished,
 * ended by id -1. */
static void ckpt(int64_t id, ...)
{
	char err[CDC_ERRSTR_SIZE];
	cdc_checkpoint *c;
	va_list ap;

	assert_int_equal(cdc_checkpoint_open(&c, state, err, sizeof(err)), 0);
	va_start(ap, id);
	while (id >= 0) {
		uint64_t pos = va_arg(ap, uint64_t);
		int fin = va_arg(ap, int);

		assert_int_equal(cdc_checkpoint_set(c, id, pos, fin), 0);
		id = va_arg(ap, int64_t);
	}
	va_end(ap);
	assert_int_equal(cdc_checkpoint_save(c, err, sizeof(err)), 0);
	cdc_checkpoint_destroy(c);
}

static int in(const char *dir, const char *name)
{
	char path[512];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &sb) == 0;
}

/* Runs a cleanup with output captured; returns its result. */
typedef struct run_out {
	char *out, *err;
	size_t outlen, errlen;
	char errstr[CDC_ERRSTR_SIZE];
	cdc_cleanup_stats st;
} run_out;

static int run(cdc_cleanup_opts o, run_out *r)
{
	FILE *out, *err;
	int rc;

	memset(r, 0, sizeof(*r));
	out = open_memstream(&r->out, &r->outlen);
	err = open_memstream(&r->err, &r->errlen);
	assert_non_null(out);
	assert_non_null(err);
	o.cdc_raw = o.cdc_raw ? o.cdc_raw : raw;
	o.state_dir = o.state_dir ? o.state_dir : state;
	o.now = o.now ? o.now : NOW;
	if (!o.max_bytes)
		o.max_bytes = CDC_CLEANUP_NO_LIMIT;
	if (!o.max_age)
		o.max_age = CDC_CLEANUP_NO_AGE;
	o.out = out;
	o.err = err;
	rc = cdc_cleanup(&o, &r->st, r->errstr, sizeof(r->errstr));
	fclose(out);
	fclose(err);
	return rc;
}

static void run_free(run_out *r)
{
	free(r->out);
	free(r->err);
}

#define L(v, id) "CommitLog-" #v "-" #id ".log"
#define X(v, id) "CommitLog-" #v "-" #id "_cdc.idx"

/* The two ways to be consumed, and the ways not to be. */
static void test_consumed_rules(void **s)
{
	run_out r;

	(void)s;
	seg(7, 101, 1000, "500\nCOMPLETED", OLD); /* finished in the checkpoint */
	seg(7, 102, 1000, "500\nCOMPLETED", OLD); /* position == idx offset */
	seg(7, 103, 1000, "500\nCOMPLETED", OLD); /* position short of the offset */
	seg(7, 104, 1000, "500", OLD);            /* past the offset, but not COMPLETED */
	seg(7, 105, 1000, "500\nCOMPLETED", OLD); /* no checkpoint record */
	seg(6, 106, 1000, NULL, OLD);             /* 3.x, no idx, finished */
	ckpt(101, (uint64_t)10, 1, (int64_t)102, (uint64_t)500, 0, (int64_t)103, (uint64_t)499, 0,
	     (int64_t)104, (uint64_t)900, 0, (int64_t)106, (uint64_t)1000, 1, (int64_t)-1);
	assert_int_equal(run((cdc_cleanup_opts){ 0 }, &r), 0);
	assert_false(in(raw, L(7, 101)) || in(raw, X(7, 101)));
	assert_false(in(raw, L(7, 102)) || in(raw, X(7, 102)));
	assert_true(in(raw, L(7, 103)) && in(raw, X(7, 103)));
	assert_true(in(raw, L(7, 104)) && in(raw, X(7, 104)));
	assert_true(in(raw, L(7, 105)) && in(raw, X(7, 105)));
	assert_false(in(raw, L(6, 106)));
	assert_int_equal((int)r.st.removed, 3);
	assert_true(r.st.removed_bytes == 3000 + 2 * 13);
	assert_int_equal((int)r.st.unconsumed_kept, 3);
	assert_int_equal((int)r.st.unconsumed_deleted, 0);
	assert_true(r.st.bytes_before == 6000 + 5 * 13 - 10);
	assert_true(r.st.bytes_after == 3000 + 2 * 13 + 3);
	assert_non_null(strstr(r.out, "removed CommitLog-7-101.log (1000 bytes, consumed)\n"));
	assert_non_null(strstr(r.out, "removed CommitLog-7-101_cdc.idx (13 bytes, consumed)\n"));
	assert_null(strstr(r.out, "103"));
	assert_int_equal((int)r.errlen, 0);
	run_free(&r);
}

/* A consumed segment in which run skipped entries is moved to the
 * quarantine directory, never removed, archived or deleted unconsumed; a
 * consumed one without is removed as ever. */
static void test_skipped_are_quarantined(void **s)
{
	char err[CDC_ERRSTR_SIZE], quar[128];
	cdc_checkpoint *c;
	run_out r;

	(void)s;
	seg(7, 201, 1000, "500\nCOMPLETED", OLD); /* consumed, 2 entries skipped */
	seg(7, 202, 1000, "500\nCOMPLETED", OLD); /* consumed, nothing skipped */
	seg(7, 203, 1000, "500\nCOMPLETED", OLD); /* unconsumed, 1 skipped */
	assert_int_equal(cdc_checkpoint_open(&c, state, err, sizeof(err)), 0);
	assert_int_equal(cdc_checkpoint_set(c, 201, 500, 1), 0);
	assert_int_equal(cdc_checkpoint_add_skipped(c, 201, 2), 0);
	assert_int_equal(cdc_checkpoint_set(c, 202, 500, 1), 0);
	assert_int_equal(cdc_checkpoint_set(c, 203, 100, 0), 0);
	assert_int_equal(cdc_checkpoint_add_skipped(c, 203, 1), 0);
	assert_int_equal(cdc_checkpoint_save(c, err, sizeof(err)), 0);
	cdc_checkpoint_destroy(c);
	/* with an archive directory too: the skipped one still goes to quarantine */
	assert_int_equal(run((cdc_cleanup_opts){ .archive_dir = arch }, &r), 0);
	snprintf(quar, sizeof(quar), "%s/quarantine", state);
	assert_true(in(quar, L(7, 201)) && in(quar, X(7, 201)));
	assert_false(in(raw, L(7, 201)) || in(arch, L(7, 201)));
	assert_true(in(arch, L(7, 202)) && !in(raw, L(7, 202)) && !in(quar, L(7, 202)));
	assert_true(in(raw, L(7, 203)));
	assert_int_equal((int)r.st.quarantined, 1);
	assert_int_equal((int)r.st.archived, 1);
	assert_non_null(strstr(r.out, "quarantined CommitLog-7-201.log (1000 bytes, consumed, 2 entries not delivered"));
	run_free(&r);
	/* unconsumed and over the limit, with --delete-unconsumed: moved, not deleted */
	assert_int_equal(run((cdc_cleanup_opts){ .max_bytes = 10, .delete_unconsumed = 1 }, &r), 0);
	assert_true(in(quar, L(7, 203)) && !in(raw, L(7, 203)));
	assert_non_null(strstr(r.err, "MOVING UNCONSUMED segment CommitLog-7-203.log"));
	assert_int_equal((int)r.st.unconsumed_deleted, 0);
	run_free(&r);
}

/* Lists cdc_raw as "name size mtime.nsec" lines. */
static char *listing(const char *dir)
{
	char *text = NULL, path[512];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	struct dirent **names;
	int n, i;

	n = scandir(dir, &names, NULL, alphasort);
	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		struct stat sb;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
		assert_int_equal(lstat(path, &sb), 0);
		fprintf(f, "%s %lld %lld.%09ld %o\n", names[i]->d_name, (long long)sb.st_size,
			(long long)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec, (unsigned)sb.st_mode);
		free(names[i]);
	}
	free(names);
	fclose(f);
	return text;
}

/* --dry-run says what it would do, with the same decisions, and changes
 * nothing: not cdc_raw, not the archive, not the state directory. */
static void test_dry_run_changes_nothing(void **s)
{
	char *b_raw, *b_arch, *b_state, *a;
	run_out r;

	(void)s;
	seg(7, 1, 1000, "500\nCOMPLETED", OLD);
	seg(7, 2, 1000, "500\nCOMPLETED", OLD);
	seg(7, 3, 1000, "40", NOW - 5);
	ckpt(1, (uint64_t)500, 1, (int64_t)-1);
	b_raw = listing(raw);
	b_arch = listing(arch);
	b_state = listing(state);
	assert_int_equal(run((cdc_cleanup_opts){ .dry_run = 1, .max_bytes = 1500, .delete_unconsumed = 1 }, &r), 0);
	assert_non_null(strstr(r.out, "would remove CommitLog-7-1.log (1000 bytes, consumed)\n"));
	assert_non_null(strstr(r.out, "would remove CommitLog-7-2.log (1000 bytes, UNCONSUMED)\n"));
	assert_non_null(strstr(r.err, "(dry run) DELETING UNCONSUMED segment CommitLog-7-2.log"));
	assert_int_equal((int)r.st.removed, 1);
	assert_int_equal((int)r.st.unconsumed_deleted, 1);
	assert_true(r.st.bytes_after == 1002);
	a = listing(raw);
	assert_string_equal(a, b_raw);
	free(a);
	run_free(&r);
	assert_int_equal(run((cdc_cleanup_opts){ .dry_run = 1, .archive_dir = arch }, &r), 0);
	assert_non_null(strstr(r.out, "would archive CommitLog-7-1.log"));
	a = listing(raw);
	assert_string_equal(a, b_raw);
	free(a);
	a = listing(arch);
	assert_string_equal(a, b_arch);
	free(a);
	a = listing(state);
	assert_string_equal(a, b_state);
	free(a);
	run_free(&r);
	free(b_raw);
	free(b_arch);
	free(b_state);
}

/* Archiving by rename and by copy: the file arrives whole with its mtime,
 * and leaves cdc_raw; no temporary file is left behind. */
static void test_archive(void **s)
{
	int copy;

	(void)s;
	for (copy = 0; copy <= 1; copy++) {
		char path[512], *a;
		run_out r;
		struct stat sb;

		seg(7, 10 + copy, 5000, "77\nCOMPLETED", OLD);
		ckpt(10 + copy, (uint64_t)77, 0, (int64_t)-1);
		assert_int_equal(run((cdc_cleanup_opts){ .archive_dir = arch, .archive_copy = copy }, &r), 0);
		assert_int_equal((int)r.st.archived, 1);
		assert_int_equal((int)r.st.removed, 0);
		snprintf(path, sizeof(path), "%s/CommitLog-7-%d.log", arch, 10 + copy);
		assert_int_equal(stat(path, &sb), 0);
		assert_int_equal((int)sb.st_size, 5000);
		assert_true(sb.st_mtime == OLD);
		snprintf(path, sizeof(path), "CommitLog-7-%d_cdc.idx", 10 + copy);
		assert_true(in(arch, path));
		assert_false(in(raw, path));
		assert_non_null(strstr(r.out, "archived CommitLog-7-1"));
		a = listing(arch);
		assert_null(strstr(a, "tmp"));
		free(a);
		run_free(&r);
	}
	{	/* the archive directory cannot be cdc_raw */
		run_out r;

		assert_int_equal(run((cdc_cleanup_opts){ .archive_dir = raw }, &r), -1);
		assert_non_null(strstr(r.errstr, "cdc_raw itself"));
		run_free(&r);
	}
}

/* Over --max-bytes without --delete-unconsumed: nothing unconsumed goes; the
 * segments that would have to go are listed, oldest first; OVER_LIMIT. */
static void test_limit_not_met(void **s)
{
	run_out r;
	char *p1, *p2;

	(void)s;
	seg(7, 1, 1000, "9\nCOMPLETED", OLD);
	seg(7, 2, 1000, "9\nCOMPLETED", OLD);
	seg(7, 3, 1000, "9\nCOMPLETED", OLD);
	seg(7, 4, 1000, "9", NOW - 1);
	assert_int_equal(run((cdc_cleanup_opts){ .max_bytes = 2100 }, &r), CDC_CLEANUP_OVER_LIMIT);
	assert_true(r.st.over_limit);
	assert_true(in(raw, L(7, 1)) && in(raw, L(7, 2)) && in(raw, L(7, 3)) && in(raw, L(7, 4)));
	p1 = strstr(r.err, "  CommitLog-7-1.log");
	p2 = strstr(r.err, "  CommitLog-7-2.log");
	assert_non_null(p1);
	assert_non_null(p2);
	assert_true(p1 < p2);
	assert_null(strstr(r.err, "  CommitLog-7-3.log"));
	assert_non_null(strstr(r.err, "limit not met"));
	assert_null(strstr(r.err, "DELETING"));
	assert_int_equal((int)r.st.unconsumed_kept, 4);
	assert_int_equal((int)r.outlen, 0);
	run_free(&r);
}

/* With --delete-unconsumed: the oldest eligible segments go until the limit
 * holds; a segment Cassandra has not COMPLETED never goes, nor a 4.x segment
 * without an idx, nor a 3.x one modified in the last minute. */
static void test_delete_unconsumed(void **s)
{
	run_out r;

	(void)s;
	seg(7, 1, 1000, "9", OLD);             /* not COMPLETED: never */
	seg(7, 2, 1000, NULL, OLD);            /* 4.x without an idx: never */
	seg(6, 3, 1000, NULL, NOW - 30);       /* 3.x, modified 30 s ago: not yet */
	seg(6, 4, 1000, NULL, NOW - 61);       /* 3.x, idle for a minute: eligible */
	seg(7, 5, 1000, "9\nCOMPLETED", OLD);  /* eligible */
	seg(7, 6, 1000, "9\nCOMPLETED", OLD);  /* eligible, but the limit holds by then */
	seg(7, 7, 1000, "9", NOW);             /* the live one */
	assert_int_equal(run((cdc_cleanup_opts){ .max_bytes = 5050, .delete_unconsumed = 1 }, &r), 0);
	assert_true(in(raw, L(7, 1)) && in(raw, L(7, 2)) && in(raw, L(6, 3)) && in(raw, L(7, 6)) &&
		    in(raw, L(7, 7)));
	assert_false(in(raw, L(6, 4)));
	assert_false(in(raw, L(7, 5)) || in(raw, X(7, 5)));
	assert_int_equal((int)r.st.unconsumed_deleted, 2);
	assert_true(r.st.unconsumed_deleted_bytes == 2011);
	assert_int_equal((int)r.st.unconsumed_kept, 5);
	assert_true(r.st.bytes_after <= 5050);
	assert_non_null(strstr(r.err, "DELETING UNCONSUMED segment CommitLog-6-4.log (1000 bytes, no checkpoint record, no _cdc.idx): events in it are lost to Kafka"));
	assert_non_null(strstr(r.err, "DELETING UNCONSUMED segment CommitLog-7-5.log"));
	assert_non_null(strstr(r.out, "removed CommitLog-7-5.log (1000 bytes, UNCONSUMED)"));
	run_free(&r);

	/* A limit only the never-deleted segments keep from holding. */
	assert_int_equal(run((cdc_cleanup_opts){ .max_bytes = 100, .delete_unconsumed = 1 }, &r),
			 CDC_CLEANUP_OVER_LIMIT);
	assert_false(in(raw, L(7, 6)));
	assert_true(in(raw, L(7, 1)) && in(raw, L(7, 2)) && in(raw, L(6, 3)) && in(raw, L(7, 7)));
	assert_non_null(strstr(r.err, "never deleted"));
	run_free(&r);
}

/* --max-age: completed segments modified longer ago than that. */
static void test_max_age(void **s)
{
	run_out r;

	(void)s;
	seg(7, 1, 100, "9\nCOMPLETED", NOW - 7200);
	seg(7, 2, 100, "9\nCOMPLETED", NOW - 60);
	seg(7, 3, 100, "9", NOW - 7200); /* idle live segment: not a violation */
	assert_int_equal(run((cdc_cleanup_opts){ .max_age = 3600 }, &r), CDC_CLEANUP_OVER_LIMIT);
	assert_non_null(strstr(r.err, "  CommitLog-7-1.log"));
	assert_null(strstr(r.err, "  CommitLog-7-2.log"));
	assert_null(strstr(r.err, "  CommitLog-7-3.log"));
	run_free(&r);
	assert_int_equal(run((cdc_cleanup_opts){ .max_age = 3600, .delete_unconsumed = 1 }, &r), 0);
	assert_false(in(raw, L(7, 1)));
	assert_true(in(raw, L(7, 2)) && in(raw, L(7, 3)));
	run_free(&r);
}

/* Only regular files with segment names directly in cdc_raw: a symlink with a
 * segment name (and its consumed target outside) stays, so do directories
 * and other names. */
static void test_only_regular_segment_files(void **s)
{
	char target[512], link[512], dir[512];
	run_out r;

	(void)s;
	put(root, "CommitLog-7-1.log", 10, NULL, OLD); /* outside cdc_raw */
	put(root, "CommitLog-7-1_cdc.idx", 0, "1\nCOMPLETED", OLD);
	snprintf(target, sizeof(target), "%s/CommitLog-7-1.log", root);
	snprintf(link, sizeof(link), "%s/CommitLog-7-1.log", raw);
	assert_int_equal(symlink(target, link), 0);
	snprintf(target, sizeof(target), "%s/CommitLog-7-1_cdc.idx", root);
	snprintf(link, sizeof(link), "%s/CommitLog-7-1_cdc.idx", raw);
	assert_int_equal(symlink(target, link), 0);
	snprintf(dir, sizeof(dir), "%s/CommitLog-7-2.log", raw);
	assert_int_equal(mkdir(dir, 0755), 0);
	put(raw, "CommitLog-7-3.log.bak", 10, NULL, OLD);
	put(raw, "notes.txt", 10, NULL, OLD);
	put(raw, "CommitLog-7-x.log", 10, NULL, OLD);
	ckpt(1, (uint64_t)1, 1, (int64_t)2, (uint64_t)1, 1, (int64_t)3, (uint64_t)1, 1, (int64_t)-1);
	assert_int_equal(run((cdc_cleanup_opts){ .max_bytes = 0, .delete_unconsumed = 1 }, &r), 0);
	assert_true(in(raw, L(7, 1)) && in(raw, X(7, 1)) && in(raw, L(7, 2)));
	assert_true(in(root, L(7, 1)) && in(root, X(7, 1)));
	assert_true(in(raw, "CommitLog-7-3.log.bak") && in(raw, "notes.txt") && in(raw, "CommitLog-7-x.log"));
	assert_true(r.st.bytes_before == 0);
	assert_int_equal((int)r.outlen, 0);
	run_free(&r);
}

/* A COMPLETED idx whose segment is gone holds no events: it goes. One still
 * being written stays; an idx being rewritten (empty) is not an error. */
static void test_orphans_and_partial_idx(void **s)
{
	run_out r;

	(void)s;
	put(raw, X(7, 1), 0, "10\nCOMPLETED", OLD);
	put(raw, X(7, 2), 0, "10", OLD);
	seg(7, 3, 100, "", OLD);
	seg(7, 4, 100, "50\nCOMPL", OLD);
	ckpt(3, (uint64_t)999, 0, (int64_t)4, (uint64_t)999, 0, (int64_t)-1);
	assert_int_equal(run((cdc_cleanup_opts){ .verbose = 1 }, &r), 0);
	assert_false(in(raw, X(7, 1)));
	assert_true(in(raw, X(7, 2)) && in(raw, L(7, 3)) && in(raw, X(7, 3)) && in(raw, L(7, 4)));
	assert_int_equal((int)r.st.orphan_indexes, 1);
	assert_int_equal((int)r.st.errors, 0);
	assert_non_null(strstr(r.out, "removed CommitLog-7-1_cdc.idx (12 bytes, orphan index"));
	assert_non_null(strstr(r.out, "kept CommitLog-7-3.log (100 bytes, checkpoint position 999, _cdc.idx being rewritten)"));
	run_free(&r);
}

/* Unusable inputs fail before anything is touched: a missing state directory
 * (not created), a damaged checkpoint, a missing cdc_raw. */
static void test_errors_touch_nothing(void **s)
{
	char path[512], missing[512];
	run_out r;

	(void)s;
	seg(7, 1, 100, "9\nCOMPLETED", OLD);
	snprintf(missing, sizeof(missing), "%s/nostate", root);
	assert_int_equal(run((cdc_cleanup_opts){ .state_dir = missing }, &r), -1);
	assert_non_null(strstr(r.errstr, missing));
	assert_false(in(root, "nostate"));
	run_free(&r);

	snprintf(path, sizeof(path), "%s/checkpoint", state);
	put(state, "checkpoint", 0, "cdctail-checkpoint 1\nsegment 1 9 1\n", OLD);
	assert_int_equal(run((cdc_cleanup_opts){ 0 }, &r), -1);
	assert_non_null(strstr(r.errstr, path));
	assert_true(in(raw, L(7, 1)));
	run_free(&r);

	snprintf(missing, sizeof(missing), "%s/nocdc", root);
	assert_int_equal(run((cdc_cleanup_opts){ .cdc_raw = missing }, &r), -1);
	assert_non_null(strstr(r.errstr, "No such file"));
	run_free(&r);
}

/* A file that cannot be taken out is named with the errno message and the
 * others are still handled: here a directory in the archive stands where a
 * segment would go (works as root too, unlike permissions). */
static void test_unmovable_file(void **s)
{
	char dir[512];
	run_out r;

	(void)s;
	seg(7, 1, 100, "9\nCOMPLETED", OLD);
	seg(7, 2, 100, "9\nCOMPLETED", OLD);
	ckpt(1, (uint64_t)9, 1, (int64_t)2, (uint64_t)9, 1, (int64_t)-1);
	snprintf(dir, sizeof(dir), "%s/CommitLog-7-1.log", arch);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(run((cdc_cleanup_opts){ .archive_dir = arch }, &r), -1);
	assert_non_null(strstr(r.errstr, "CommitLog-7-1.log: rename to"));
	assert_non_null(strstr(r.errstr, "Is a directory"));
	assert_non_null(strstr(r.err, "Is a directory"));
	assert_true(in(raw, L(7, 1)) && in(raw, X(7, 1))); /* the idx stays with its segment */
	assert_false(in(raw, L(7, 2)) || in(raw, X(7, 2)));
	assert_int_equal((int)r.st.archived, 1);
	assert_int_equal((int)r.st.errors, 1);
	run_free(&r);
}

static void test_parse_values(void **s)
{
	uint64_t b;
	int64_t d;

	(void)s;
	assert_int_equal(cdc_cleanup_parse_size("123", &b), 0);
	assert_true(b == 123);
	assert_int_equal(cdc_cleanup_parse_size("4K", &b), 0);
	assert_true(b == 4096);
	assert_int_equal(cdc_cleanup_parse_size("3m", &b), 0);
	assert_true(b == 3u << 20);
	assert_int_equal(cdc_cleanup_parse_size("4096MiB", &b), 0);
	assert_true(b == 4096ull << 20);
	assert_int_equal(cdc_cleanup_parse_size("2G", &b), 0);
	assert_true(b == 2ull << 30);
	assert_int_equal(cdc_cleanup_parse_size("", &b), -1);
	assert_int_equal(cdc_cleanup_parse_size("G", &b), -1);
	assert_int_equal(cdc_cleanup_parse_size("1X", &b), -1);
	assert_int_equal(cdc_cleanup_parse_size("1GB", &b), -1);
	assert_int_equal(cdc_cleanup_parse_size("-1", &b), -1);
	assert_int_equal(cdc_cleanup_parse_size("99999999999999999999", &b), -1);
	assert_int_equal(cdc_cleanup_parse_size("99999999999T", &b), -1);
	assert_int_equal(cdc_cleanup_parse_duration("90", &d), 0);
	assert_true(d == 90);
	assert_int_equal(cdc_cleanup_parse_duration("15m", &d), 0);
	assert_true(d == 900);
	assert_int_equal(cdc_cleanup_parse_duration("2h", &d), 0);
	assert_true(d == 7200);
	assert_int_equal(cdc_cleanup_parse_duration("7d", &d), 0);
	assert_true(d == 7 * 86400);
	assert_int_equal(cdc_cleanup_parse_duration("1w", &d), -1);
	assert_int_equal(cdc_cleanup_parse_duration("1hh", &d), -1);
	assert_int_equal(cdc_cleanup_parse_duration("h", &d), -1);
}

/* The command line's exit codes: 2 usage, 3 limit not met, 0 ok. */
static void test_cli_exit_codes(void **s)
{
	char *bad1[] = { "cleanup", "--cdc-raw", raw, NULL };
	char *bad2[] = { "cleanup", "--cdc-raw", raw, "--state-dir", state, "--max-bytes", "1X", NULL };
	char *bad3[] = { "cleanup", "--cdc-raw", raw, "--state-dir", state, "--delete-unconsumed", NULL };
	char *bad4[] = { "cleanup", "--cdc-raw", raw, "--state-dir", state, "extra", NULL };
	char *over[] = { "cleanup", "--cdc-raw", raw, "--state-dir", state, "--max-bytes", "1K", NULL };
	char *fine[] = { "cleanup", "--cdc-raw", raw, "--state-dir", state, "--max-bytes", "1M", NULL };
	char *err[] = { "cleanup", "--cdc-raw", "/nonexistent/cdc_raw", "--state-dir", state, NULL };
	FILE *saved;

	(void)s;
	seg(7, 1, 2000, "9\nCOMPLETED", OLD);
	fflush(stderr);
	saved = stderr;
	stderr = fopen("/dev/null", "w"); /* the messages are not under test here */
	assert_int_equal(cdc_cleanup_main(3, bad1), 2);
	assert_int_equal(cdc_cleanup_main(7, bad2), 2);
	assert_int_equal(cdc_cleanup_main(6, bad3), 2);
	assert_int_equal(cdc_cleanup_main(6, bad4), 2);
	assert_int_equal(cdc_cleanup_main(7, over), 3);
	assert_int_equal(cdc_cleanup_main(7, fine), 0);
	assert_int_equal(cdc_cleanup_main(5, err), 1);
	fclose(stderr);
	stderr = saved;
	assert_true(in(raw, L(7, 1)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_consumed_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_skipped_are_quarantined, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dry_run_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_archive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limit_not_met, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete_unconsumed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_age, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_regular_segment_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_orphans_and_partial_idx, setup, teardown),
		cmocka_unit_test_setup_teardown(test_errors_touch_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmovable_file, setup, teardown),
		cmocka_unit_test(test_parse_values),
		cmocka_unit_test_setup_teardown(test_cli_exit_codes, setup, teardown),
	};

	return cmocka_run_group_tests_name("cleanup", tests, NULL, NULL) ? 1 : 0;
}
