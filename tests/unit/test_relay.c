/* test_relay.c - the relay's parts that need no Kafka: what is an event
 * (relay_event.c), which copy passes (copies.c, on a real id store, across
 * a reopen), the --from regex (relay.c), the relay's dead-letter line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "copies.h"
#include "deadletter.h"
#include "err.h"
#include "idstore.h"
#include "jsonl.h"
#include "relay.h"
#include "relay_event.h"

static char root[64];
static char errbuf[CDC_ERRSTR_SIZE];

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/cdctail-relay.XXXXXX");
	return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

static int parse(const char *text, cdc_relay_event *ev)
{
	return cdc_relay_event_parse(text, strlen(text), ev, errbuf, sizeof(errbuf));
}

static void test_event(void **state)
{
	cdc_relay_event ev;

	(void)state;
	assert_int_equal(parse("{\"op\":\"insert\",\"keyspace\":\"seed\",\"table\":\"movies_by_genre\",\"key\":{\"genre\":"
			       "\"drama\"},\"ts\":1732500000001000,\"id\":\"61a7f89a582842af\",\"source\":{\"segment\":1,"
			       "\"node\":\"n1\"}}", &ev), 0);
	assert_string_equal(ev.id, "61a7f89a582842af");
	assert_int_equal(ev.idlen, 16);
	assert_int_equal(ev.ts, 1732500000001000LL);
	assert_string_equal(ev.keyspace, "seed");
	assert_string_equal(ev.table, "movies_by_genre");
	assert_string_equal(ev.node, "n1");
	/* no source, negative ts, whitespace around */
	assert_int_equal(parse(" {\"id\":\"a\",\"ts\":-5,\"keyspace\":\"k\",\"table\":\"t\"}\n", &ev), 0);
	assert_int_equal(ev.ts, -5);
	assert_string_equal(ev.node, "");
}

static void test_not_events(void **state)
{
	static const char *bad[] = {
		"", "not json", "[1,2]", "{\"rows\":[],\"key\":\"drama:2015\"}",
		"{\"ts\":1,\"keyspace\":\"k\",\"table\":\"t\"}",
		"{\"id\":\"\",\"ts\":1,\"keyspace\":\"k\",\"table\":\"t\"}",
		"{\"id\":7,\"ts\":1,\"keyspace\":\"k\",\"table\":\"t\"}",
		"{\"id\":\"a\",\"ts\":1.5,\"keyspace\":\"k\",\"table\":\"t\"}",
		"{\"id\":\"a\",\"ts\":\"1\",\"keyspace\":\"k\",\"table\":\"t\"}",
		"{\"id\":\"a\",\"ts\":1e300,\"keyspace\":\"k\",\"table\":\"t\"}",
		"{\"id\":\"a\",\"ts\":1,\"keyspace\":\"k.x\",\"table\":\"t\"}",
		"{\"id\":\"a\",\"ts\":1,\"keyspace\":\"k\",\"table\":\"t/../x\"}",
		"{\"id\":\"a\",\"ts\":1,\"keyspace\":\"k\"}",
		"{\"id\":\"a\",\"ts\":1,\"keyspace\":\"k\",\"table\":\"t\",\"source\":{\"node\":5}}",
		"{\"id\":\"a\",\"ts\":1,\"keyspace\":\"k\",\"table\":\"t\"} trailing",
		"{\"id\":\"a\",\"ts\":1,\"keyspace\":\"k\",\"table\":\"t\"",
	};
	cdc_relay_event ev;
	char big[400];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errbuf[0] = '\0';
		if (parse(bad[i], &ev) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(strstr(errbuf, "not an event"));
	}
	assert_int_equal(cdc_relay_event_parse(NULL, 0, &ev, errbuf, sizeof(errbuf)), -1);
	snprintf(big, sizeof(big), "{\"id\":\"%0200d\",\"ts\":1,\"keyspace\":\"k\",\"table\":\"t\"}", 1);
	assert_int_equal(parse(big, &ev), -1);
	assert_non_null(strstr(errbuf, "\"id\" of 200 bytes"));
}

static cdc_relay_event ev_of(const char *id, const char *node)
{
	cdc_relay_event ev;

	memset(&ev, 0, sizeof(ev));
	snprintf(ev.id, sizeof(ev.id), "%s", id);
	ev.idlen = strlen(id);
	snprintf(ev.node, sizeof(ev.node), "%s", node);
	snprintf(ev.keyspace, sizeof(ev.keyspace), "k");
	snprintf(ev.table, sizeof(ev.table), "t");
	return ev;
}

static cdc_idstore *store(const char *sub)
{
	char dir[128];
	cdc_idstore *st = NULL;

	snprintf(dir, sizeof(dir), "%s/%s", root, sub);
	if (cdc_idstore_open(&st, dir, NULL, errbuf, sizeof(errbuf)) != 0)
		fail_msg("%s", errbuf);
	return st;
}

static int decide(cdc_idstore *st, unsigned n, const char *id, const char *node, int64_t off)
{
	cdc_relay_event ev = ev_of(id, node);

	return cdc_copies_decide(st, n, &ev, 0, off, 1000, errbuf, sizeof(errbuf));
}

static void test_dedup(void **state)
{
	cdc_idstore *st = store("dedup");

	(void)state;
	assert_int_equal(decide(NULL, 0, "a", "n1", 1), CDC_COPY_PASS);
	assert_int_equal(decide(NULL, 0, "a", "n1", 2), CDC_COPY_PASS);
	assert_int_equal(decide(st, 1, "a", "n1", 1), CDC_COPY_PASS);
	assert_int_equal(decide(st, 1, "a", "n2", 2), CDC_COPY_DUPLICATE);
	assert_int_equal(decide(st, 1, "b", "", 3), CDC_COPY_PASS);
	assert_int_equal(cdc_idstore_sync(st, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(decide(st, 1, "c", "n1", 4), CDC_COPY_PASS);
	cdc_idstore_close(st); /* "c" not synced: its copies were not acknowledged */
	st = store("dedup");
	assert_int_equal(decide(st, 1, "a", "n3", 5), CDC_COPY_DUPLICATE);
	assert_int_equal(decide(st, 1, "c", "n1", 4), CDC_COPY_PASS);
	cdc_idstore_close(st);
}

static void test_min_copies(void **state)
{
	cdc_idstore *st = store("min");

	(void)state;
	/* by node: n1 twice is one copy */
	assert_int_equal(decide(st, 2, "x", "n1", 10), CDC_COPY_WAIT);
	assert_int_equal(decide(st, 2, "x", "n1", 11), CDC_COPY_DUPLICATE);
	assert_int_equal(decide(st, 2, "x", "n2", 12), CDC_COPY_PASS);
	assert_int_equal(decide(st, 2, "x", "n3", 13), CDC_COPY_SURPLUS);
	assert_int_equal(decide(st, 2, "x", "n2", 14), CDC_COPY_DUPLICATE);
	/* without source.node: by place, so a message read again counts once */
	assert_int_equal(decide(st, 3, "y", "", 20), CDC_COPY_WAIT);
	assert_int_equal(decide(st, 3, "y", "", 20), CDC_COPY_DUPLICATE);
	assert_int_equal(decide(st, 3, "y", "", 21), CDC_COPY_WAIT);
	assert_int_equal(cdc_idstore_sync(st, errbuf, sizeof(errbuf)), 0);
	cdc_idstore_close(st);
	/* after a restart the counts go on */
	st = store("min");
	assert_int_equal(decide(st, 3, "y", "", 21), CDC_COPY_DUPLICATE);
	assert_int_equal(decide(st, 3, "y", "", 22), CDC_COPY_PASS);
	assert_int_equal(decide(st, 3, "y", "", 23), CDC_COPY_SURPLUS);
	cdc_idstore_close(st);
	assert_string_equal(cdc_copy_verdict_name(CDC_COPY_WAIT), "wait");
	assert_string_equal(cdc_copy_verdict_name(-1), "error");
}

static int matches(const char *re, const char *topic)
{
	regex_t r;
	int m;

	assert_int_equal(regcomp(&r, re, REG_EXTENDED | REG_NOSUB), 0);
	m = regexec(&r, topic, 0, NULL, 0) == 0;
	regfree(&r);
	return m;
}

static void test_topic_regex(void **state)
{
	char re[256];

	(void)state;
	assert_int_equal(cdc_relay_topic_regex("tmp.{keyspace}.{table}", re, sizeof(re), errbuf, sizeof(errbuf)), 0);
	assert_string_equal(re, "^tmp\\.[A-Za-z0-9_]+\\.[A-Za-z0-9_]+$");
	assert_true(matches(re, "tmp.shop.orders"));
	assert_false(matches(re, "tmpXshop.orders"));
	assert_false(matches(re, "tmp.shop.orders.x"));
	assert_false(matches(re, "cdctail.shop.orders"));
	assert_false(matches(re, "xtmp.shop.orders"));
	assert_int_equal(cdc_relay_topic_regex("{prefix}-tmp_{table}", re, sizeof(re), errbuf, sizeof(errbuf)), 0);
	assert_true(matches(re, "cdctail-tmp_orders"));
	assert_int_equal(cdc_relay_topic_regex("tmp.{ks}", re, sizeof(re), errbuf, sizeof(errbuf)), -1);
	assert_non_null(strstr(errbuf, "braces"));
	assert_int_equal(cdc_relay_topic_regex("tmp.*", re, sizeof(re), errbuf, sizeof(errbuf)), -1);
	assert_int_equal(cdc_relay_topic_regex("", re, sizeof(re), errbuf, sizeof(errbuf)), -1);
	assert_int_equal(cdc_relay_topic_regex("tmp.{keyspace}.{table}", re, 20, errbuf, sizeof(errbuf)), -1);
}

static void test_dead_letter(void **state)
{
	char path[128], line[1024];
	cdc_jsonl *f;
	cdc_dead_message d = { "tmp.k.t", 2, 41, "not an event: not JSON", NULL, "k1", "x\"y", 2, 3 };
	FILE *in;

	(void)state;
	snprintf(path, sizeof(path), "%s/dead.jsonl", root);
	f = cdc_jsonl_new(path);
	assert_int_equal(cdc_deadletter_write_message(f, &d, errbuf, sizeof(errbuf)), 0);
	d.key = d.payload = NULL;
	d.to_topic = "out.k.t";
	assert_int_equal(cdc_deadletter_write_message(f, &d, errbuf, sizeof(errbuf)), 0);
	assert_int_equal(cdc_jsonl_sync(f, errbuf, sizeof(errbuf)), 0);
	cdc_jsonl_destroy(f);
	in = fopen(path, "r");
	assert_non_null(in);
	assert_non_null(fgets(line, sizeof(line), in));
	assert_string_equal(line, "{\"topic\":\"tmp.k.t\",\"partition\":2,\"offset\":41,\"error\":\"not an event: not JSON\","
				  "\"key\":\"k1\",\"event\":\"x\\\"y\"}\n");
	assert_non_null(fgets(line, sizeof(line), in));
	assert_string_equal(line, "{\"topic\":\"tmp.k.t\",\"partition\":2,\"offset\":41,\"error\":\"not an event: not JSON\","
				  "\"to_topic\":\"out.k.t\",\"key\":null,\"event\":null}\n");
	fclose(in);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event),
		cmocka_unit_test(test_not_events),
		cmocka_unit_test(test_dedup),
		cmocka_unit_test(test_min_copies),
		cmocka_unit_test(test_topic_regex),
		cmocka_unit_test(test_dead_letter),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
