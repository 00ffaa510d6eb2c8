/* test_state.c - the service's durable state and Cassandra's cdc_raw rules,
 * on synthetic directories: cdcraw.h decisions (links, idx files, times),
 * the checkpoint's skipped counts and notes (and version 1 files), the
 * quarantine records, JSON-lines files, durable moves, the schema tracker's
 * saved state, the outbox. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "cdcraw.h"
#include "checkpoint.h"
#include "err.h"
#include "fsmove.h"
#include "jsonl.h"
#include "outbox.h"
#include "quarantine.h"
#include "schema_track.h"

static char root[64];

static int setup(void **st)
{
	(void)st;
	snprintf(root, sizeof(root), "/tmp/cdctail-state.XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **st)
{
	char cmd[128];

	(void)st;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static void path_of(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", root, name);
}

static void put(const char *name, const char *text)
{
	char p[256];
	FILE *f;

	path_of(p, sizeof(p), name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int exists(const char *name)
{
	char p[256];
	struct stat sb;

	path_of(p, sizeof(p), name);
	return lstat(p, &sb) == 0;
}

/* An idx-less segment: waits while it may still get CDC data; its idx
 * appearing, its commitlog link going (discard), or a second sync pass of a
 * newer segment decide it. */
static void test_idxless_rules(void **s)
{
	char seg[256], idx[256], link2[256], why[512];
	cdc_raw_witness w = { -1, 0, 0 };
	cdc_index newer = { 100, 0 };

	(void)s;
	path_of(seg, sizeof(seg), "CommitLog-7-5.log");
	path_of(idx, sizeof(idx), "CommitLog-7-5_cdc.idx");
	path_of(link2, sizeof(link2), "commitlog-copy");
	put("CommitLog-7-5.log", "x");
	assert_int_equal(link(seg, link2), 0); /* Cassandra's commitlog copy: 2 links */
	/* no newer idx: the newest segment may still get its first CDC write */
	assert_int_equal(cdc_raw_decide_idxless(seg, idx, 5, 0, 0, NULL, &w, why, sizeof(why)), CDC_RAW_WAIT);
	/* a newer idx, first seen: wait for a later pass */
	assert_int_equal(cdc_raw_decide_idxless(seg, idx, 5, 1, 6, &newer, &w, why, sizeof(why)), CDC_RAW_WAIT);
	assert_int_equal(cdc_raw_decide_idxless(seg, idx, 5, 1, 6, &newer, &w, why, sizeof(why)), CDC_RAW_WAIT);
	/* the same idx grew: that later pass went through segment 5 too */
	newer.offset = 200;
	assert_int_equal(cdc_raw_decide_idxless(seg, idx, 5, 1, 6, &newer, &w, why, sizeof(why)), CDC_RAW_NO_CDC_DATA);
	assert_non_null(strstr(why, "holds no CDC data"));
	/* a COMPLETED newer segment decides at once */
	w.for_id = -1;
	newer.completed = 1;
	assert_int_equal(cdc_raw_decide_idxless(seg, idx, 5, 1, 6, &newer, &w, why, sizeof(why)), CDC_RAW_NO_CDC_DATA);
	/* its idx appears */
	put("CommitLog-7-5_cdc.idx", "10");
	assert_int_equal(cdc_raw_decide_idxless(seg, idx, 5, 1, 6, &newer, &w, why, sizeof(why)), CDC_RAW_IDX_APPEARED);
	unlink(idx);
	/* the commitlog copy is gone (discard): final, read whole */
	unlink(link2);
	assert_int_equal(cdc_raw_decide_idxless(seg, idx, 5, 0, 0, NULL, &w, why, sizeof(why)), CDC_RAW_DISCARDED);
	/* release: one link, changed just now: Cassandra's to remove; a minute
	 * later, ours; gone: forget it */
	assert_int_equal(cdc_raw_idxless_release(seg, time(NULL)), 1);
	assert_int_equal(cdc_raw_idxless_release(seg, time(NULL) + CDC_RAW_SETTLE_SECONDS), 2);
	unlink(seg);
	assert_int_equal(cdc_raw_idxless_release(seg, time(NULL)), 0);
}

/* Consumed, finished by Cassandra, and where a consumed segment goes. */
static void test_consumed_and_fate(void **s)
{
	cdc_raw_record r = { 1, 500, 0, 0 };
	cdc_index done = { 500, 1 }, live = { 500, 0 };

	(void)s;
	assert_true(cdc_raw_consumed(&r, 1, &done));
	assert_false(cdc_raw_consumed(&r, 1, &live));
	assert_false(cdc_raw_consumed(&r, 0, &done));
	r.position = 499;
	assert_false(cdc_raw_consumed(&r, 1, &done));
	r.finished = 1;
	assert_true(cdc_raw_consumed(&r, 0, NULL));
	r.in_checkpoint = 0;
	assert_false(cdc_raw_consumed(&r, 1, &done));
	assert_true(cdc_raw_finished_by_cassandra(1, 1, &done, 7, 0, 0));
	assert_false(cdc_raw_finished_by_cassandra(1, 1, &live, 7, 0, 1000));
	assert_false(cdc_raw_finished_by_cassandra(0, 0, NULL, 7, 0, 1000)); /* 4.0+ without idx: never */
	assert_true(cdc_raw_finished_by_cassandra(0, 0, NULL, 6, 0, CDC_RAW_SETTLE_SECONDS));
	assert_false(cdc_raw_finished_by_cassandra(0, 0, NULL, 6, 0, CDC_RAW_SETTLE_SECONDS - 1));
	assert_int_equal(cdc_raw_fate_of(0, 0, 1, NULL), CDC_RAW_DELETE);
	assert_int_equal(cdc_raw_fate_of(0, 0, 1, "/a"), CDC_RAW_ARCHIVE);
	assert_int_equal(cdc_raw_fate_of(0, 0, 0, "/a"), CDC_RAW_KEEP);
	assert_int_equal(cdc_raw_fate_of(0, 3, 0, "/a"), CDC_RAW_QUARANTINE); /* skipped: kept whatever else */
	assert_int_equal(cdc_raw_fate_of(1, 0, 1, NULL), CDC_RAW_QUARANTINE);
	assert_true(cdc_raw_whole_at_discard(6));
	assert_false(cdc_raw_whole_at_discard(7));
}

/* Skipped counts and notes survive a save and a load; a version 1 file
 * still loads; a damaged note line is refused. */
static void test_checkpoint_v2(void **s)
{
	char err[CDC_ERRSTR_SIZE], p[256];
	cdc_checkpoint *c;
	uint64_t pos;
	int fin;

	(void)s;
	assert_int_equal(cdc_checkpoint_open(&c, root, err, sizeof(err)), 0);
	assert_int_equal(cdc_checkpoint_set(c, 7, 100, 0), 0);
	assert_int_equal(cdc_checkpoint_add_skipped(c, 7, 2), 0);
	assert_int_equal(cdc_checkpoint_add_skipped(c, 9, 1), 0); /* records the segment */
	assert_int_equal(cdc_checkpoint_set_notes(c, "schema horizon 1 clock 2\nx y\n", 29), 1);
	assert_int_equal(cdc_checkpoint_set_notes(c, "schema horizon 1 clock 2\nx y\n", 29), 0);
	assert_int_equal(cdc_checkpoint_set_notes(c, "no newline", 10), -1);
	assert_int_equal(cdc_checkpoint_save(c, err, sizeof(err)), 0);
	cdc_checkpoint_destroy(c);
	assert_int_equal(cdc_checkpoint_open(&c, root, err, sizeof(err)), 0);
	assert_int_equal(cdc_checkpoint_get(c, 7, &pos, &fin), 0);
	assert_true(pos == 100 && !fin);
	assert_true(cdc_checkpoint_skipped(c, 7) == 2);
	assert_true(cdc_checkpoint_skipped(c, 9) == 1);
	assert_true(cdc_checkpoint_skipped(c, 8) == 0);
	assert_string_equal(cdc_checkpoint_notes(c), "schema horizon 1 clock 2\nx y\n");
	cdc_checkpoint_destroy(c);
	/* a file an older cdctail wrote (no skipped field, no notes) */
	path_of(p, sizeof(p), "checkpoint");
	{
		const char *body = "cdctail-checkpoint 1\nsegment 5 42 1\n";
		char text[128];
		unsigned long crc = 0;
		FILE *f = fopen(p, "w");

		/* the closing CRC as docs/checkpoint.md defines it (zlib's) */
		crc = crc32(0, (const unsigned char *)body, (unsigned)strlen(body));
		snprintf(text, sizeof(text), "%send 1 %08lx\n", body, crc);
		fputs(text, f);
		fclose(f);
	}
	assert_int_equal(cdc_checkpoint_open(&c, root, err, sizeof(err)), 0);
	assert_int_equal(cdc_checkpoint_get(c, 5, &pos, &fin), 0);
	assert_true(pos == 42 && fin && cdc_checkpoint_skipped(c, 5) == 0);
	cdc_checkpoint_destroy(c);
}

/* Records of skipped entries: one line each, an offset recorded once even
 * when met again, read back sorted and unique. */
static void test_quarantine_records(void **s)
{
	char err[CDC_ERRSTR_SIZE], dir[256], rec[300];
	cdc_quarantine *q;
	uint64_t *offs;
	size_t n;

	(void)s;
	path_of(dir, sizeof(dir), "quarantine");
	q = cdc_quarantine_new(dir);
	assert_non_null(q);
	assert_int_equal(cdc_quarantine_record(q, "/x/CommitLog-7-12.log", 12, 300, 350, "bad \"crc\"", err, sizeof(err)), 0);
	assert_int_equal(cdc_quarantine_record(q, "/x/CommitLog-7-12.log", 12, 100, 150, "unknown table", err, sizeof(err)), 0);
	assert_int_equal(cdc_quarantine_record(q, "/x/CommitLog-7-12.log", 12, 300, 350, "again", err, sizeof(err)), 1);
	assert_int_equal(cdc_quarantine_sync(q, err, sizeof(err)), 0);
	cdc_quarantine_destroy(q);
	/* a new handle (a restart) knows what the file holds */
	q = cdc_quarantine_new(dir);
	assert_int_equal(cdc_quarantine_record(q, "/x/CommitLog-7-12.log", 12, 100, 150, "again", err, sizeof(err)), 1);
	cdc_quarantine_destroy(q);
	assert_int_equal(cdc_quarantine_path(dir, "/x/CommitLog-7-12.log", rec, sizeof(rec)), 0);
	assert_true(exists("quarantine/CommitLog-7-12.log.skipped"));
	assert_int_equal(cdc_quarantine_read(rec, &offs, &n, err, sizeof(err)), 0);
	assert_int_equal((int)n, 2);
	assert_true(offs[0] == 100 && offs[1] == 300);
	free(offs);
	/* no file: no records, no error */
	assert_int_equal(cdc_quarantine_read("/nonexistent/x.skipped", &offs, &n, err, sizeof(err)), 0);
	assert_int_equal((int)n, 0);
	/* a line that is not a record is refused, naming the line */
	put("bad.skipped", "{\"offset\":1}\nnot json\n");
	path_of(rec, sizeof(rec), "bad.skipped");
	assert_int_equal(cdc_quarantine_read(rec, &offs, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 2"));
}

/* JSON lines: appended whole, counted, synced (nothing to sync is fine). */
static void test_jsonl(void **s)
{
	char err[CDC_ERRSTR_SIZE], p[256], text[64];
	cdc_jsonl *f;
	FILE *in;
	size_t n;

	(void)s;
	path_of(p, sizeof(p), "x.jsonl");
	f = cdc_jsonl_new(p);
	assert_int_equal(cdc_jsonl_sync(f, err, sizeof(err)), 0);
	assert_int_equal(cdc_jsonl_append(f, "{\"a\":1}", 7, err, sizeof(err)), 0);
	assert_int_equal(cdc_jsonl_append(f, "{\"b\":2}", 7, err, sizeof(err)), 0);
	assert_int_equal(cdc_jsonl_sync(f, err, sizeof(err)), 0);
	assert_int_equal((int)cdc_jsonl_count(f), 2);
	cdc_jsonl_destroy(f);
	in = fopen(p, "r");
	n = fread(text, 1, sizeof(text) - 1, in);
	fclose(in);
	text[n] = '\0';
	assert_string_equal(text, "{\"a\":1}\n{\"b\":2}\n");
	f = cdc_jsonl_new("/nonexistent-dir/x.jsonl");
	assert_int_equal(cdc_jsonl_append(f, "x", 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent-dir/x.jsonl"));
	cdc_jsonl_destroy(f);
}

/* Moves: by rename, by copy (forced), a vanished source, a bad target. */
static void test_fsmove(void **s)
{
	char err[CDC_ERRSTR_SIZE], a[256], b[256], p[256];
	int fa, fb;
	struct stat sb;

	(void)s;
	path_of(a, sizeof(a), "a");
	path_of(b, sizeof(b), "b");
	assert_int_equal(mkdir(a, 0755), 0);
	assert_int_equal(mkdir(b, 0755), 0);
	put("a/one", "hello");
	put("a/two", "world!");
	assert_int_equal(cdc_move_into(a, b, err, sizeof(err)) != 0, 1); /* a directory is not moved */
	path_of(p, sizeof(p), "a/one");
	assert_int_equal(cdc_move_into(p, b, err, sizeof(err)), 0);
	assert_true(!exists("a/one") && exists("b/one"));
	fa = open(a, O_RDONLY | O_DIRECTORY);
	fb = open(b, O_RDONLY | O_DIRECTORY);
	assert_int_equal(cdc_move_at(fa, a, "two", fb, b, 1, err, sizeof(err)), 0);
	assert_true(!exists("a/two") && exists("b/two") && !exists("b/.two.cdctail-tmp"));
	path_of(p, sizeof(p), "b/two");
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal((int)sb.st_size, 6);
	assert_int_equal(cdc_move_at(fa, a, "two", fb, b, 1, err, sizeof(err)), CDC_MOVE_VANISHED);
	assert_int_equal(cdc_move_at(fa, a, "two", fb, b, 0, err, sizeof(err)), CDC_MOVE_VANISHED);
	close(fa);
	close(fb);
	path_of(p, sizeof(p), "b/one");
	assert_int_equal(cdc_move_into(p, "/nonexistent-dir", err, sizeof(err)), -1);
	assert_true(exists("b/one"));
}

/* The tracker's state: saved as checkpoint notes, pruned to what a read
 * from the resume point needs, loaded again. */
static void test_track_state(void **s)
{
	char err[CDC_ERRSTR_SIZE];
	cdc_track *t = cdc_track_new();
	cdc_buf out = CDC_BUF_INIT;

	(void)s;
	cdc_track_set_horizon(t, 1700000000000000LL);
	assert_int_equal(cdc_track_load(t,
		"schema horizon 1700000000000000 clock 1800000000000000\n"
		"schema cdc 10 100 1 0 1800000000000000 6b73 74\n"   /* ks.t off at (10, 100) */
		"schema cdc 10 200 0 1 1800000000000001 6b73 74\n"   /* on again at (10, 200) */
		"schema cdc 11 50 1 0 1800000000000002 6b73 74\n"    /* off at (11, 50) */
		"schema created 00112233445566778899aabbccddeeff\n"
		"not ours\n", err, sizeof(err)), 0);
	assert_int_equal((int)cdc_track_changes(t), 3);
	{
		static const uint8_t id[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
						0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
		assert_true(cdc_track_created(t, id));
	}
	/* a resume point past the first two: only the last change before it
	 * (10, 200) and the later one (11, 50) can be needed */
	assert_int_equal(cdc_track_save(t, 10, 300, &out), 0);
	cdc_buf_cstr(&out);
	assert_int_equal((int)cdc_track_changes(t), 2);
	assert_non_null(strstr(out.p, "schema cdc 10 200 0 1"));
	assert_null(strstr(out.p, "schema cdc 10 100"));
	assert_non_null(strstr(out.p, "schema created 00112233445566778899aabbccddeeff"));
	assert_non_null(strstr(out.p, "schema horizon 1700000000000000 clock 1800000000000000"));
	cdc_buf_free(&out);
	assert_int_equal(cdc_track_load(t, "schema cdc x\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "note 1"));
	cdc_track_destroy(t);
}

/* The outbox keeps copies, hands them over in order, and says when the
 * sink is full (here: a file sink never is). */
static void test_outbox(void **s)
{
	cdc_outbox *o = cdc_outbox_new();
	char key[] = "k", msg[] = "payload";

	(void)s;
	assert_int_equal(cdc_outbox_stage(o, "topic", key, 1, msg, 7, 5, 0), 0);
	key[0] = 'X';
	msg[0] = 'X'; /* the outbox has its own copies */
	assert_int_equal(cdc_outbox_stage(o, "topic2", key, 1, msg, 7, 6, 1), 0);
	assert_int_equal((int)cdc_outbox_pending(o), 2);
	cdc_outbox_clear(o);
	assert_int_equal((int)cdc_outbox_pending(o), 0);
	cdc_outbox_destroy(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_idxless_rules, setup, teardown),
		cmocka_unit_test(test_consumed_and_fate),
		cmocka_unit_test_setup_teardown(test_checkpoint_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quarantine_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_jsonl, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsmove, setup, teardown),
		cmocka_unit_test(test_track_state),
		cmocka_unit_test(test_outbox),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
