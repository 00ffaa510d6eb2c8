/* test_delivery.c - the at-least-once bookkeeping: acktrack (safe position
 * from out-of-order acks) and checkpoint (atomic, damage-evident file). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acktrack.h"
#include "checkpoint.h"
#include "err.h"

/* Entries acked in a random order: the safe position is always the end of
 * the longest fully acknowledged prefix, computed here independently. */
static void test_acktrack_random_orders(void **state)
{
	enum { N = 500 };
	uint32_t msgs[N], left[N];
	uint64_t seq[N], ends[N];
	size_t order[N * 4], no = 0, i, j, k;
	unsigned seed;

	(void)state;
	for (seed = 1; seed <= 20; seed++) {
		cdc_acktrack *t = cdc_acktrack_new(77, 100);

		srand(seed);
		no = 0;
		for (i = 0; i < N; i++) {
			msgs[i] = (uint32_t)(rand() % 4); /* 0..3 messages, 0 allowed */
			left[i] = msgs[i];
			ends[i] = 100 + (i + 1) * 10;
			assert_int_equal(cdc_acktrack_add(t, ends[i], msgs[i], &seq[i]), 0);
			for (k = 0; k < msgs[i]; k++)
				order[no++] = i;
		}
		for (i = no; i > 1; i--) { /* shuffle the acks */
			size_t r = (size_t)rand() % i, tmp = order[i - 1];

			order[i - 1] = order[r];
			order[r] = tmp;
		}
		for (i = 0; i < no; i++) {
			uint64_t want = 100;

			cdc_acktrack_ack(t, cdc_acktrack_generation(t), seq[order[i]], 1);
			left[order[i]]--;
			for (j = 0; j < N && left[j] == 0; j++)
				want = ends[j];
			assert_true(cdc_acktrack_safe(t) == want);
		}
		assert_true(cdc_acktrack_safe(t) == ends[N - 1]);
		assert_int_equal((int)cdc_acktrack_pending(t), 0);
		assert_false(cdc_acktrack_failed(t));
		assert_true(cdc_acktrack_stray(t) == 0);
		cdc_acktrack_destroy(t);
	}
}

static void test_acktrack_failure_pins(void **state)
{
	cdc_acktrack *t = cdc_acktrack_new(1, 0);
	uint64_t s1, s2, s3;

	(void)state;
	assert_int_equal(cdc_acktrack_add(t, 10, 1, &s1), 0);
	assert_int_equal(cdc_acktrack_add(t, 20, 2, &s2), 0);
	assert_int_equal(cdc_acktrack_add(t, 30, 1, &s3), 0);
	cdc_acktrack_ack(t, cdc_acktrack_generation(t), s1, 1);
	assert_true(cdc_acktrack_safe(t) == 10);
	cdc_acktrack_ack(t, cdc_acktrack_generation(t), s2, 0); /* one of entry 2's messages failed */
	cdc_acktrack_ack(t, cdc_acktrack_generation(t), s2, 1);
	cdc_acktrack_ack(t, cdc_acktrack_generation(t), s3, 1);
	assert_true(cdc_acktrack_failed(t));
	assert_true(cdc_acktrack_safe(t) == 10); /* never past the failed entry */
	cdc_acktrack_ack(t, cdc_acktrack_generation(t), s1, 1);              /* duplicate ack */
	cdc_acktrack_ack(t, cdc_acktrack_generation(t), 999, 1);             /* unknown tag */
	assert_true(cdc_acktrack_stray(t) == 2);
	assert_int_equal(cdc_acktrack_add(t, 25, 1, &s3), -1); /* positions only grow */
	cdc_acktrack_destroy(t);
}

static void test_acktrack_zero_message_entries(void **state)
{
	cdc_acktrack *t = cdc_acktrack_new(1, 5);
	uint64_t s;

	(void)state;
	assert_int_equal(cdc_acktrack_add(t, 10, 0, &s), 0);
	assert_true(cdc_acktrack_safe(t) == 10);
	assert_int_equal(cdc_acktrack_add(t, 20, 1, &s), 0);
	assert_int_equal(cdc_acktrack_add(t, 30, 0, &s), 0);
	assert_true(cdc_acktrack_safe(t) == 10);
	cdc_acktrack_ack(t, cdc_acktrack_generation(t), s - 1, 1);
	assert_true(cdc_acktrack_safe(t) == 30);
	cdc_acktrack_destroy(t);
}

/* A re-read after a failed delivery starts a new tracker for the segment at
 * the checkpoint, whose seqs restart at 0; the old tracker's messages may
 * still be acknowledged late. Such a late ack names the seq of a different
 * entry in the new tracker: credited there, it would move the position over
 * an entry Kafka does not have (here e4). The generation keeps it out. */
static void test_acktrack_stale_generation(void **state)
{
	cdc_acktrack *a = cdc_acktrack_new(5, 0), *b;
	uint64_t sa[4], sb[3];
	int i;

	(void)state;
	for (i = 0; i < 4; i++) /* e1..e4 end at 10..40, one message each */
		assert_int_equal(cdc_acktrack_add(a, (uint64_t)(i + 1) * 10, 1, &sa[i]), 0);
	cdc_acktrack_ack(a, cdc_acktrack_generation(a), sa[0], 1);
	assert_true(cdc_acktrack_safe(a) == 10);
	cdc_acktrack_ack(a, cdc_acktrack_generation(a), sa[1], 0); /* e2 failed: re-read from 10 */
	b = cdc_acktrack_new(5, cdc_acktrack_safe(a));
	assert_true(cdc_acktrack_generation(b) != cdc_acktrack_generation(a));
	for (i = 0; i < 3; i++) /* e2..e4 again: seqs 0, 1, 2 */
		assert_int_equal(cdc_acktrack_add(b, (uint64_t)(i + 2) * 10, 1, &sb[i]), 0);
	assert_true(sa[2] == sb[2]); /* the same number names e3 in a, e4 in b */
	cdc_acktrack_ack(b, cdc_acktrack_generation(b), sb[0], 1);
	cdc_acktrack_ack(b, cdc_acktrack_generation(b), sb[1], 1);
	assert_true(cdc_acktrack_safe(b) == 30);
	/* a's e3 is acknowledged late, its report routed by segment to b */
	cdc_acktrack_ack(b, cdc_acktrack_generation(a), sa[2], 1);
	assert_true(cdc_acktrack_safe(b) == 30); /* not 40: e4 is not in Kafka */
	assert_true(cdc_acktrack_stray(b) == 1);
	assert_int_equal((int)cdc_acktrack_pending(b), 1);
	cdc_acktrack_ack(b, cdc_acktrack_generation(a), sa[3], 0); /* a stale failure pins nothing */
	assert_false(cdc_acktrack_failed(b));
	cdc_acktrack_ack(b, cdc_acktrack_generation(b), sb[2], 1);
	assert_true(cdc_acktrack_safe(b) == 40);
	cdc_acktrack_destroy(a);
	cdc_acktrack_destroy(b);
}

static char dir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/cdctail-ckpt.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_checkpoint_roundtrip(void **state)
{
	char err[CDC_ERRSTR_SIZE], sub[128];
	cdc_checkpoint *c;
	uint64_t pos;
	int fin;
	int64_t id;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/state", dir);
	assert_int_equal(cdc_checkpoint_open(&c, sub, err, sizeof(err)), 0); /* created, empty */
	assert_int_equal((int)cdc_checkpoint_count(c), 0);
	assert_int_equal(cdc_checkpoint_set(c, 1795574591940LL, 88509, 1), 0);
	assert_int_equal(cdc_checkpoint_set(c, 1795574591941LL, 1200, 0), 0);
	assert_int_equal(cdc_checkpoint_set(c, 1795574591941LL, 900, 0), 0); /* never backwards */
	assert_int_equal(cdc_checkpoint_set(c, 1700000000000LL, 20, 0), 0);
	assert_int_equal(cdc_checkpoint_save(c, err, sizeof(err)), 0);
	cdc_checkpoint_destroy(c);
	assert_int_equal(cdc_checkpoint_open(&c, sub, err, sizeof(err)), 0);
	assert_int_equal((int)cdc_checkpoint_count(c), 3);
	assert_int_equal(cdc_checkpoint_get(c, 1795574591941LL, &pos, &fin), 0);
	assert_true(pos == 1200 && fin == 0);
	assert_int_equal(cdc_checkpoint_get(c, 1795574591940LL, &pos, &fin), 0);
	assert_true(pos == 88509 && fin == 1);
	assert_int_equal(cdc_checkpoint_get(c, 42, &pos, &fin), 1);
	assert_int_equal(cdc_checkpoint_at(c, 0, &id, &pos, &fin), 0);
	assert_true(id == 1700000000000LL); /* in id order */
	cdc_checkpoint_forget(c, 1700000000000LL);
	assert_int_equal((int)cdc_checkpoint_count(c), 2);
	/* the newest acknowledged write time (the lag metric after a restart):
	 * absent until set, only moves forward, survives save and open */
	assert_true(cdc_checkpoint_acked_ts(c) == 0);
	assert_int_equal(cdc_checkpoint_set_acked_ts(c, 1732500000005000LL), 1);
	assert_int_equal(cdc_checkpoint_set_acked_ts(c, 1732500000001000LL), 0);
	assert_int_equal(cdc_checkpoint_save(c, err, sizeof(err)), 0);
	cdc_checkpoint_destroy(c);
	assert_int_equal(cdc_checkpoint_open(&c, sub, err, sizeof(err)), 0);
	assert_true(cdc_checkpoint_acked_ts(c) == 1732500000005000LL);
	assert_int_equal((int)cdc_checkpoint_count(c), 2);
	cdc_checkpoint_destroy(c);
}

/* A crash before the rename leaves checkpoint.tmp: the old file is what counts. */
static void test_checkpoint_crash_leaves_old(void **state)
{
	char err[CDC_ERRSTR_SIZE], sub[128], tmp[160];
	cdc_checkpoint *c;
	uint64_t pos;
	int fin;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/crash", dir);
	assert_int_equal(cdc_checkpoint_open(&c, sub, err, sizeof(err)), 0);
	cdc_checkpoint_set(c, 7, 100, 0);
	assert_int_equal(cdc_checkpoint_save(c, err, sizeof(err)), 0);
	cdc_checkpoint_destroy(c);
	snprintf(tmp, sizeof(tmp), "%s/checkpoint.tmp", sub);
	write_text(tmp, "cdctail-checkpoint 1\nsegment 7 999");  /* a torn temp file */
	assert_int_equal(cdc_checkpoint_open(&c, sub, err, sizeof(err)), 0);
	assert_int_equal(cdc_checkpoint_get(c, 7, &pos, &fin), 0);
	assert_true(pos == 100);
	cdc_checkpoint_destroy(c);
}

/* Damaged files are refused with the path and the line, never half-read. */
static void test_checkpoint_damage(void **state)
{
	static const char *bad[] = {
		"",                                               /* empty */
		"cdctail-checkpoint 1\nsegment 7 100 0\n",        /* no closing line (torn) */
		"cdctail-checkpoint 1\nsegment 7 100 0\nend 1 00000000\n", /* wrong CRC */
		"cdctail-checkpoint 1\nsegment 7 abc 0\nend 1 00000000\n", /* bad number */
		"cdctail-checkpoint 1\nacked_ts -5\nend 0 00000000\n",   /* bad write time */
		"hello\n",                                        /* foreign */
	};
	char err[CDC_ERRSTR_SIZE], sub[128], path[160];
	cdc_checkpoint *c;
	size_t i;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/damaged", dir);
	assert_int_equal(cdc_checkpoint_open(&c, sub, err, sizeof(err)), 0);
	cdc_checkpoint_destroy(c);
	snprintf(path, sizeof(path), "%s/checkpoint", sub);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_text(path, bad[i]);
		assert_int_equal(cdc_checkpoint_open(&c, sub, err, sizeof(err)), -1);
		assert_non_null(strstr(err, path));
		assert_non_null(strstr(err, "line"));
		assert_null(c);
	}
}

int main(void)
{
	const struct CMUnitTest ack[] = {
		cmocka_unit_test(test_acktrack_random_orders),
		cmocka_unit_test(test_acktrack_failure_pins),
		cmocka_unit_test(test_acktrack_zero_message_entries),
		cmocka_unit_test(test_acktrack_stale_generation),
	};
	const struct CMUnitTest ckpt[] = {
		cmocka_unit_test(test_checkpoint_roundtrip),
		cmocka_unit_test(test_checkpoint_crash_leaves_old),
		cmocka_unit_test(test_checkpoint_damage),
	};
	int rc = cmocka_run_group_tests_name("acktrack", ack, NULL, NULL);

	rc += cmocka_run_group_tests_name("checkpoint", ckpt, setup_dir, teardown_dir);
	return rc ? 1 : 0;
}
