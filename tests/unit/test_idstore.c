/* test_idstore.c - the durable id set: test-and-record with counts, what a
 * sync keeps and a rollback or a close without sync loses (reopened after
 * close, and after a process died without closing), expiry by first sighting, the exclusive lock, bad ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "err.h"
#include "idstore.h"

static char root[64];
static char errbuf[CDC_ERRSTR_SIZE];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/cdctail-idstore.XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static cdc_idstore *open_store(const char *sub, int64_t window_us)
{
	char dir[128];
	cdc_idstore_opts o = { .window_us = window_us, .map_bytes = 16u << 20 };
	cdc_idstore *st = NULL;

	snprintf(dir, sizeof(dir), "%s/%s", root, sub);
	if (cdc_idstore_open(&st, dir, &o, errbuf, sizeof(errbuf)) != 0)
		fail_msg("open: %s", errbuf);
	return st;
}

static int seen(cdc_idstore *st, const char *id, int64_t now, cdc_idstore_rec *r)
{
	int rc = cdc_idstore_seen(st, id, strlen(id), now, r, errbuf, sizeof(errbuf));

	if (rc < 0)
		fail_msg("seen %s: %s", id, errbuf);
	return rc;
}

static uint64_t count(cdc_idstore *st)
{
	uint64_t n = 0;

	assert_int_equal(cdc_idstore_count(st, &n, errbuf, sizeof(errbuf)), 0);
	return n;
}

static void test_counts(void **state)
{
	cdc_idstore *st = open_store("counts", 0);
	cdc_idstore_rec r;

	(void)state;
	assert_int_equal(seen(st, "61a7f89a582842af", 100, &r), 1);
	assert_int_equal(r.count, 1);
	assert_int_equal(r.first_us, 100);
	assert_int_equal(seen(st, "61a7f89a582842af", 150, &r), 0);
	assert_int_equal(r.count, 2);
	assert_int_equal(r.first_us, 100);
	assert_int_equal(r.last_us, 150);
	assert_int_equal(seen(st, "61a7f89a582842af", 160, &r), 0);
	assert_int_equal(r.count, 3);
	assert_int_equal(seen(st, "0000000000000001", 170, NULL), 1);
	assert_int_equal(cdc_idstore_pending(st), 4);
	assert_int_equal(cdc_idstore_get(st, "0000000000000001", 16, 170, &r, errbuf, sizeof(errbuf)), 1);
	assert_int_equal(r.count, 1);
	assert_int_equal(cdc_idstore_get(st, "nope", 4, 170, &r, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(count(st), 2);
	assert_int_equal(cdc_idstore_sync(st, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(cdc_idstore_pending(st), 0);
	cdc_idstore_close(st);
}

static void test_reopen(void **state)
{
	cdc_idstore *st = open_store("reopen", 0);
	cdc_idstore_rec r;

	(void)state;
	assert_int_equal(seen(st, "synced", 10, NULL), 1);
	assert_int_equal(seen(st, "synced", 11, NULL), 0);
	assert_int_equal(cdc_idstore_sync(st, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(seen(st, "rolled-back", 12, NULL), 1);
	assert_int_equal(seen(st, "synced", 12, NULL), 0);
	cdc_idstore_rollback(st);
	assert_int_equal(cdc_idstore_get(st, "rolled-back", 11, 12, NULL, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(seen(st, "unsynced", 13, NULL), 1);
	cdc_idstore_close(st); /* without a sync: "unsynced" is lost */

	st = open_store("reopen", 0);
	assert_int_equal(cdc_idstore_get(st, "synced", 6, 20, &r, errbuf, sizeof(errbuf)), 1);
	assert_int_equal(r.count, 2);
	assert_int_equal(r.first_us, 10);
	assert_int_equal(r.last_us, 11);
	assert_int_equal(cdc_idstore_get(st, "unsynced", 8, 20, NULL, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(cdc_idstore_get(st, "rolled-back", 11, 20, NULL, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(count(st), 1);
	assert_int_equal(seen(st, "synced", 21, &r), 0);
	assert_int_equal(r.count, 3);
	assert_int_equal(cdc_idstore_sync(st, errbuf, sizeof(errbuf)), 0);
	cdc_idstore_close(st);

	st = open_store("reopen", 0);
	assert_int_equal(cdc_idstore_get(st, "synced", 6, 30, &r, errbuf, sizeof(errbuf)), 1);
	assert_int_equal(r.count, 3);
	cdc_idstore_close(st);
}

/* a process that dies without closing: its synced ids are kept, the rest
 * lost, and its lock goes with it */
static void test_crash(void **state)
{
	cdc_idstore *st;
	pid_t pid;
	int status = 0;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		st = open_store("crash", 0);
		if (seen(st, "kept", 1, NULL) != 1 || cdc_idstore_sync(st, errbuf, sizeof(errbuf)) != 0 ||
		    seen(st, "lost", 2, NULL) != 1)
			_exit(3);
		_exit(0); /* no sync, no close */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	st = open_store("crash", 0);
	assert_int_equal(cdc_idstore_get(st, "kept", 4, 3, NULL, errbuf, sizeof(errbuf)), 1);
	assert_int_equal(cdc_idstore_get(st, "lost", 4, 3, NULL, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(count(st), 1);
	cdc_idstore_close(st);
}

static void test_expiry(void **state)
{
	cdc_idstore *st = open_store("expiry", 1000);
	cdc_idstore_rec r;
	uint64_t removed = 99;
	char id[32];

	(void)state;
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "id-%d", i);
		assert_int_equal(seen(st, id, 100 * i, NULL), 1);
	}
	/* seen again late: the first sighting still counts for expiry */
	assert_int_equal(seen(st, "id-0", 900, &r), 0);
	assert_int_equal(r.first_us, 0);
	assert_int_equal(cdc_idstore_sync(st, errbuf, sizeof(errbuf)), 0);
	/* at 1450 the window starts at 450: id-0 .. id-4 are expired */
	assert_int_equal(cdc_idstore_get(st, "id-4", 4, 1450, NULL, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(cdc_idstore_get(st, "id-5", 4, 1450, NULL, errbuf, sizeof(errbuf)), 1);
	assert_int_equal(cdc_idstore_expire(st, 1450, 2, &removed, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(removed, 2);
	assert_int_equal(count(st), 8);
	/* an expired id seen again starts over (and moves in the index) */
	assert_int_equal(seen(st, "id-3", 1450, &r), 1);
	assert_int_equal(r.count, 1);
	assert_int_equal(r.first_us, 1450);
	assert_int_equal(cdc_idstore_expire(st, 1450, 0, &removed, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(removed, 2); /* id-2, id-4 */
	assert_int_equal(cdc_idstore_sync(st, errbuf, sizeof(errbuf)), 0);
	cdc_idstore_close(st);

	st = open_store("expiry", 1000);
	assert_int_equal(count(st), 6); /* id-3 (new), id-5 .. id-9 */
	assert_int_equal(cdc_idstore_get(st, "id-3", 4, 1500, &r, errbuf, sizeof(errbuf)), 1);
	assert_int_equal(r.first_us, 1450);
	assert_int_equal(cdc_idstore_get(st, "id-0", 4, 1500, NULL, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(cdc_idstore_expire(st, 100000, 0, &removed, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(removed, 6);
	assert_int_equal(count(st), 0);
	cdc_idstore_close(st);
}

static int seen_expired(void *opaque, const void *id, size_t len, const cdc_idstore_rec *rec)
{
	char *log = opaque;

	snprintf(log + strlen(log), 256 - strlen(log), "%.*s=%u@%lld ", (int)len, (const char *)id,
		 (unsigned)rec->count, (long long)rec->first_us);
	return strncmp(id, "stop", 4) == 0 ? 7 : 0;
}

/* expire_each shows each id before it goes, and stops when told */
static void test_expire_each(void **state)
{
	cdc_idstore *st = open_store("each", 100);
	char log[256] = "";
	uint64_t removed = 0;

	(void)state;
	assert_int_equal(seen(st, "a", 1, NULL), 1);
	assert_int_equal(seen(st, "a", 2, NULL), 0);
	assert_int_equal(seen(st, "b", 3, NULL), 1);
	assert_int_equal(seen(st, "stop", 4, NULL), 1);
	assert_int_equal(seen(st, "late", 50, NULL), 1);
	assert_int_equal(cdc_idstore_expire_each(st, 120, 0, seen_expired, log, &removed, errbuf, sizeof(errbuf)), 7);
	assert_string_equal(log, "a=2@1 b=1@3 stop=1@4 ");
	assert_int_equal(removed, 2);
	assert_int_equal(count(st), 2);
	assert_int_equal(cdc_idstore_expire_each(st, 120, 0, NULL, NULL, &removed, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(removed, 1);
	assert_int_equal(count(st), 1);
	cdc_idstore_close(st);
}

static void test_never_expire(void **state)
{
	cdc_idstore *st = open_store("forever", -1);
	uint64_t removed = 9;

	(void)state;
	assert_int_equal(seen(st, "a", 0, NULL), 1);
	assert_int_equal(cdc_idstore_get(st, "a", 1, INT64_MAX, NULL, errbuf, sizeof(errbuf)), 1);
	assert_int_equal(cdc_idstore_expire(st, INT64_MAX, 0, &removed, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(removed, 0);
	cdc_idstore_close(st);
}

static void test_lock_and_errors(void **state)
{
	cdc_idstore *st = open_store("lock", 0), *other = NULL;
	char dir[128], big[CDC_IDSTORE_MAX_ID + 1];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/lock", root);
	assert_int_equal(cdc_idstore_open(&other, dir, NULL, errbuf, sizeof(errbuf)), -1);
	assert_null(other);
	assert_non_null(strstr(errbuf, "in use"));
	memset(big, 'x', sizeof(big));
	assert_int_equal(cdc_idstore_seen(st, big, sizeof(big), 1, NULL, errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "501 bytes"));
	assert_int_equal(cdc_idstore_seen(st, big, 0, 1, NULL, errbuf, sizeof(errbuf)), -1);
	assert_int_equal(cdc_idstore_seen(st, big, CDC_IDSTORE_MAX_ID, 1, NULL, errbuf, sizeof(errbuf)), 1);
	assert_int_equal(cdc_idstore_sync(st, errbuf, sizeof(errbuf)), 0);
	cdc_idstore_close(st);
	/* released at close */
	assert_int_equal(cdc_idstore_open(&other, dir, NULL, errbuf, sizeof(errbuf)), 0);
	cdc_idstore_close(other);
	/* a path that cannot be a directory */
	snprintf(dir, sizeof(dir), "%s/lock/data.mdb/sub", root);
	assert_int_equal(cdc_idstore_open(&other, dir, NULL, errbuf, sizeof(errbuf)), -1);
}

static void test_many_batches(void **state)
{
	cdc_idstore *st = open_store("many", 0);
	cdc_idstore_rec r;
	char id[32];

	(void)state;
	for (int b = 0; b < 20; b++) {
		for (int i = 0; i < 500; i++) {
			snprintf(id, sizeof(id), "%016x", (unsigned)(i * 7919 + b % 2));
			seen(st, id, b, NULL);
		}
		assert_int_equal(cdc_idstore_sync(st, errbuf, sizeof(errbuf)), 0);
	}
	assert_int_equal(count(st), 1000);
	snprintf(id, sizeof(id), "%016x", 7919u);
	assert_int_equal(cdc_idstore_get(st, id, 16, 20, &r, errbuf, sizeof(errbuf)), 1);
	assert_int_equal(r.count, 10);
	assert_int_equal(r.first_us, 0);
	assert_int_equal(r.last_us, 18);
	cdc_idstore_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_crash),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_expire_each),
		cmocka_unit_test(test_never_expire),
		cmocka_unit_test(test_lock_and_errors),
		cmocka_unit_test(test_many_batches),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
