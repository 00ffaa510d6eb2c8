/* test_service.c - the service's small parts: the configuration file,
 * cdc_raw listing (watch.c), the sd_notify datagram, and CQL identifiers
 * (quoted when CQL requires it: upper case, odd characters, reserved words). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "err.h"
#include "notify.h"
#include "segment.h"
#include "value.h"
#include "watch.h"

static char dir[64];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_config(void **state)
{
	char p[128], err[CDC_ERRSTR_SIZE];
	cdc_config *c = cdc_config_new();
	const char *props[8];
	long long v;
	static const char *const known[] = { "cdc_raw", "max_in_flight", "checkpoint_interval", NULL };

	(void)state;
	snprintf(p, sizeof(p), "%s/c.conf", dir);
	write_file(p, "# comment\n\n  cdc_raw =  /var/lib/cassandra/cdc_raw  \nmax_in_flight=2K\n"
		      "checkpoint_interval = 3s\nkafka.bootstrap.servers = a:9092,b:9092\nkafka.linger.ms=5\n");
	assert_int_equal(cdc_config_load(c, p, err, sizeof(err)), 0);
	assert_string_equal(cdc_config_get(c, "cdc_raw", NULL), "/var/lib/cassandra/cdc_raw");
	assert_null(cdc_config_get(c, "state_dir", NULL));
	assert_int_equal(cdc_config_get_num(c, "max_in_flight", 0, 0, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(cdc_config_get_num(c, "checkpoint_interval", 0, 1, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 3000);
	assert_int_equal(cdc_config_get_num(c, "absent", 42, 1, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 42);
	assert_int_equal(cdc_config_kafka_props(c, props, 8), 2);
	assert_string_equal(props[0], "bootstrap.servers=a:9092,b:9092");
	assert_string_equal(props[1], "linger.ms=5");
	assert_null(props[2]);
	assert_int_equal(cdc_config_check(c, known, err, sizeof(err)), 0);
	/* --set overrides, unknown keys and bad units are refused */
	assert_int_equal(cdc_config_set(c, "max_in_flight = 7", err, sizeof(err)), 0);
	assert_int_equal(cdc_config_get_num(c, "max_in_flight", 0, 0, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 7);
	assert_int_equal(cdc_config_set(c, "cdc_rwa = /x", err, sizeof(err)), 0);
	assert_int_equal(cdc_config_check(c, known, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cdc_rwa"));
	assert_int_equal(cdc_config_set(c, "checkpoint_interval = 3 weeks", err, sizeof(err)), 0);
	assert_int_equal(cdc_config_get_num(c, "checkpoint_interval", 0, 1, &v, err, sizeof(err)), -1);
	assert_int_equal(cdc_config_set(c, "no equals sign", err, sizeof(err)), -1);
	cdc_config_destroy(c);
	/* a bad line names the file and line */
	c = cdc_config_new();
	write_file(p, "cdc_raw = /a\n\njust words\n");
	assert_int_equal(cdc_config_load(c, p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "c.conf:3"));
	cdc_config_destroy(c);
}

/* kafka.* keys that would undo acks=all or the idempotent producer are
 * refused unless allow_unsafe_kafka = true; the message names the key. */
static void test_config_kafka_safety(void **state)
{
	static const struct {
		const char *text;
		int ok;
		const char *names;
	} cases[] = {
		{ "kafka.bootstrap.servers = a:9092\n", 1, NULL },
		{ "kafka.acks = all\nkafka.enable.idempotence = true\n", 1, NULL },
		{ "kafka.acks = -1\nkafka.enable.idempotence = TRUE\n", 1, NULL },
		{ "kafka.request.required.acks = ALL\n", 1, NULL },
		{ "kafka.acks = 1\n", 0, "kafka.acks = 1" },
		{ "kafka.acks = 0\n", 0, "kafka.acks = 0" },
		{ "kafka.request.required.acks = 1\n", 0, "kafka.request.required.acks" },
		{ "kafka.enable.idempotence = false\n", 0, "kafka.enable.idempotence = false" },
		{ "kafka.enable.idempotence = 0\n", 0, "kafka.enable.idempotence" },
		{ "kafka.acks = 1\nallow_unsafe_kafka = true\n", 1, NULL },
		{ "kafka.enable.idempotence = false\nallow_unsafe_kafka = true\n", 1, NULL },
		{ "kafka.acks = 1\nallow_unsafe_kafka = yes\n", 0, "allow_unsafe_kafka = yes" },
	};
	char err[CDC_ERRSTR_SIZE];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cdc_config *c = cdc_config_new();

		assert_int_equal(cdc_config_load_mem(c, cases[i].text, strlen(cases[i].text), "t", err, sizeof(err)), 0);
		err[0] = '\0';
		if (cdc_config_check_kafka(c, err, sizeof(err)) != (cases[i].ok ? 0 : -1))
			fail_msg("case %zu (%s): %s", i, cases[i].text, err);
		if (cases[i].names)
			assert_non_null(strstr(err, cases[i].names));
		cdc_config_destroy(c);
	}
}

/* run opens segment and idx files with O_NOFOLLOW (the _ex opens): a
 * symlink put in place of a file after it was listed is not followed out of
 * cdc_raw; a path given to replay or dump is followed. */
static void test_open_nofollow(void **state)
{
	char seg[160], idx[160], target[160], err[CDC_ERRSTR_SIZE], *real;
	cdc_segment *sg;
	cdc_index ix;

	(void)state;
	snprintf(target, sizeof(target), "%s/outside_cdc.idx", dir);
	write_file(target, "10\nCOMPLETED");
	assert_int_equal(cdc_index_read_ex(target, CDC_OPEN_NOFOLLOW, &ix, err, sizeof(err)), 0); /* a regular file */
	snprintf(idx, sizeof(idx), "%s/CommitLog-7-77_cdc.idx", dir);
	assert_int_equal(symlink(target, idx), 0);
	assert_int_equal(cdc_index_read(idx, &ix, err, sizeof(err)), 0); /* followed without the flag */
	assert_int_equal(cdc_index_read_ex(idx, CDC_OPEN_NOFOLLOW, &ix, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CommitLog-7-77_cdc.idx"));
	snprintf(seg, sizeof(seg), "%s/CommitLog-7-1795574591940.log", dir); /* the name matches the header */
	real = realpath("fixtures/5.0/seed/cdc_raw/CommitLog-7-1795574591940.log", NULL);
	assert_non_null(real);
	assert_int_equal(cdc_segment_open_ex(&sg, real, CDC_OPEN_NOFOLLOW, err, sizeof(err)), 0); /* the file */
	cdc_segment_destroy(sg);
	assert_int_equal(symlink(real, seg), 0);
	free(real);
	assert_int_equal(cdc_segment_open(&sg, seg, err, sizeof(err)), 0); /* followed without the flag */
	cdc_segment_destroy(sg);
	assert_int_equal(cdc_segment_open_ex(&sg, seg, CDC_OPEN_NOFOLLOW, err, sizeof(err)), -1);
	assert_non_null(strstr(err, seg));
	assert_null(sg);
	unlink(seg);
	unlink(idx);
	unlink(target);
}

static void test_scan(void **state)
{
	char p[128], q[512], err[CDC_ERRSTR_SIZE];
	cdc_seg_file *f;
	size_t n;
	uint64_t bytes;

	(void)state;
	snprintf(p, sizeof(p), "%s/raw", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	snprintf(q, sizeof(q), "%s/CommitLog-7-30.log", p), write_file(q, "0123456789");
	snprintf(q, sizeof(q), "%s/CommitLog-7-30_cdc.idx", p), write_file(q, "10\nCOMPLETED");
	snprintf(q, sizeof(q), "%s/CommitLog-7-4.log", p), write_file(q, "abc");
	snprintf(q, sizeof(q), "%s/CommitLog-6-100.log", p), write_file(q, "");
	snprintf(q, sizeof(q), "%s/notes.txt", p), write_file(q, "not a segment");
	snprintf(q, sizeof(q), "%s/CommitLog-7-50.log", p);
	assert_int_equal(symlink("/etc/passwd", q), 0); /* symlinks are not followed */
	snprintf(q, sizeof(q), "%s/CommitLog-7-60.log", p);
	assert_int_equal(mkdir(q, 0755), 0);            /* nor directories */
	assert_int_equal(cdc_watch_scan(p, &f, &n, &bytes, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	assert_int_equal(f[0].id, 4);
	assert_int_equal(f[0].has_idx, 0);
	assert_int_equal(f[1].id, 30);
	assert_int_equal(f[1].has_idx, 1);
	assert_int_equal(f[1].size, 10);
	assert_int_equal(f[2].id, 100);
	assert_int_equal(f[2].version, 6);
	assert_int_equal(bytes, 10 + 12 + 3);
	free(f);
	snprintf(q, sizeof(q), "%s/absent", dir);
	assert_int_equal(cdc_watch_scan(q, &f, &n, &bytes, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "absent"));
}

static void test_watch_wakes(void **state)
{
	char p[128], q[512], err[CDC_ERRSTR_SIZE];
	cdc_watch *w;

	(void)state;
	snprintf(p, sizeof(p), "%s/w", dir);
	assert_int_equal(mkdir(p, 0755), 0);
	assert_int_equal(cdc_watch_open(&w, p, err, sizeof(err)), 0);
	assert_int_equal(cdc_watch_wait(w, 50), 0);
	snprintf(q, sizeof(q), "%s/CommitLog-7-1_cdc.idx", p), write_file(q, "100");
	assert_int_equal(cdc_watch_wait(w, 2000), 1);
	assert_int_equal(cdc_watch_wait(w, 50), 0);
	/* the directory replaced: the watch follows the new one */
	snprintf(q, sizeof(q), "%s/CommitLog-7-1_cdc.idx", p), unlink(q);
	assert_int_equal(rmdir(p), 0);
	assert_int_equal(cdc_watch_wait(w, 2000), 1);
	assert_int_equal(mkdir(p, 0755), 0);
	cdc_watch_wait(w, 50);                          /* re-arms */
	snprintf(q, sizeof(q), "%s/CommitLog-7-2.log", p), write_file(q, "x");
	assert_int_equal(cdc_watch_wait(w, 2000), 1);
	cdc_watch_close(w);
	snprintf(q, sizeof(q), "%s/CommitLog-7-2.log", p), unlink(q);
	rmdir(p);
}

static void test_notify(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[256];
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(cdc_notify("READY=1"), 0); /* not under systemd */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", dir);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	assert_int_equal(cdc_notify("READY=1\nSTATUS=tailing"), 1);
	n = recv(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "READY=1\nSTATUS=tailing");
	unsetenv("NOTIFY_SOCKET");
	setenv("WATCHDOG_USEC", "60000000", 1);
	snprintf(buf, sizeof(buf), "%d", (int)getpid());
	setenv("WATCHDOG_PID", buf, 1);
	assert_int_equal(cdc_notify_watchdog_usec(), 60000000);
	setenv("WATCHDOG_PID", "1", 1); /* meant for another process */
	assert_int_equal(cdc_notify_watchdog_usec(), 0);
	unsetenv("WATCHDOG_USEC");
	unsetenv("WATCHDOG_PID");
	close(fd);
}

static void ident(const char *name, const char *want)
{
	cdc_buf b = { 0 };

	cdc_cql_ident(&b, name);
	assert_string_equal(cdc_buf_cstr(&b), want);
	cdc_buf_free(&b);
}

static void test_cql_ident(void **state)
{
	(void)state;
	ident("genre", "genre");
	ident("movies_by_genre2", "movies_by_genre2");
	ident("Genre", "\"Genre\"");          /* case-sensitive names need quotes */
	ident("2col", "\"2col\"");            /* cannot start with a digit */
	ident("a b", "\"a b\"");
	ident("say \"hi\"", "\"say \"\"hi\"\"\""); /* quotes doubled */
	ident("select", "\"select\"");        /* reserved keywords */
	ident("table", "\"table\"");
	ident("order", "\"order\"");
	ident("key", "key");                  /* not reserved */
	ident("ttl", "ttl");
	/* every reserved word (Cassandra's doc/cql/appendices), and neighbours */
	{
		static const char *const reserved[] = {
			"with", "where", "view", "using", "use", "update", "unset", "unlogged", "truncate",
			"token", "to", "table", "set", "select", "schema", "revoke", "replace", "rename",
			"primary", "order", "or", "on", "of", "null", "not", "norecursive", "nan", "modify",
			"mbeans", "mbean", "materialized", "limit", "keyspace", "is", "into", "insert",
			"infinity", "index", "in", "if", "grant", "full", "from", "execute", "entries", "drop",
			"describe", "desc", "delete", "default", "create", "columnfamily", "by", "begin",
			"batch", "authorize", "asc", "apply", "and", "alter", "allow", "add",
		};
		static const char *const plain[] = { "a", "ad", "adds", "z", "wit", "withs", "usin", "i",
						     "ins", "mbea", "tok", "columnfamilyx", "zzz" };
		char want[40];
		size_t i;

		for (i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
			snprintf(want, sizeof(want), "\"%s\"", reserved[i]);
			ident(reserved[i], want);
		}
		for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
			ident(plain[i], plain[i]);
	}
}

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/cdctail-svc.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_kafka_safety),
		cmocka_unit_test(test_open_nofollow),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_watch_wakes),
		cmocka_unit_test(test_notify),
		cmocka_unit_test(test_cql_ident),
	};

	return cmocka_run_group_tests_name("service", tests, setup, teardown) ? 1 : 0;
}
