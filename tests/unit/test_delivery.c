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

			cdc_acktrack_ack(t, seq[order[i]], 1);
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
	cdc_acktrack_ack(t, s1, 1);
	assert_true(cdc_acktrack_safe(t) == 10);
	cdc_acktrack_ack(t, s2, 0); /* one of entry 2's messages failed */
	cdc_acktrack_ack(t, s2, 1);
	cdc_acktrack_ack(t, s3, 1);
	assert_true(cdc_acktrack_failed(t));
	assert_true(cdc_acktrack_safe(t) == 10); /* never past the failed entry */
	cdc_acktrack_ack(t, s1, 1);              /* duplicate ack */
	cdc_acktrack_ack(t, 999, 1);             /* unknown tag */
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
	cdc_acktrack_ack(t, s - 1, 1);
	assert_true(cdc_acktrack_safe(t) == 30);
	cdc_acktrack_destroy(t);
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
