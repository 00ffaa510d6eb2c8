/* test_sink.c - the Kafka sink on librdkafka's mock cluster (fault
 * injection) and the file sink. Every message's fate is reported exactly
 * once; ok only when the cluster acknowledged it. The real broker is
 * exercised by tests/e2e/t0400-replay-kafka.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "sink.h"

enum { N = 2000 };

#define KAFKA_API_PRODUCE 0 /* the Produce request's ApiKey in the Kafka protocol */

typedef struct reports {
	int ok[N], failed[N], rejected[N], dup;
	size_t rejected_len[N];
	char rejected_err[256];
} reports;

static void on_report(void *opaque, const cdc_msg_tag *tag, const cdc_delivery *d)
{
	reports *r = opaque;

	if (tag->seq >= N || r->ok[tag->seq] || r->failed[tag->seq] || r->rejected[tag->seq]) {
		r->dup++;
		return;
	}
	if (d->status == CDC_DELIVERED) {
		r->ok[tag->seq] = 1;
	} else if (d->status == CDC_REJECTED) {
		r->rejected[tag->seq] = 1;
		r->rejected_len[tag->seq] = d->len;
		snprintf(r->rejected_err, sizeof(r->rejected_err), "%s", d->err ? d->err : "");
	} else {
		r->failed[tag->seq] = 1;
	}
}

/* Produces N messages over 50 keys, retrying on backpressure. */
static void produce_all(cdc_sink *s, int *full_seen)
{
	char err[CDC_ERRSTR_SIZE], key[16], val[64];
	int i, rc;

	for (i = 0; i < N; i++) {
		cdc_msg_tag tag = { .segment_id = 42, .seq = (uint64_t)i };

		snprintf(key, sizeof(key), "k%d", i % 50);
		snprintf(val, sizeof(val), "{\"n\":%d}", i);
		while ((rc = cdc_sink_produce(s, "cdctail.test", key, strlen(key), val, strlen(val), &tag,
					      err, sizeof(err))) == CDC_SINK_FULL) {
			(*full_seen)++;
			cdc_sink_poll(s, 10);
		}
		assert_int_equal(rc, 0);
	}
}

static int count(const int *v)
{
	int i, n = 0;

	for (i = 0; i < N; i++)
		n += v[i];
	return n;
}

static void test_mock_all_delivered(void **state)
{
	static const char *props[] = { "test.mock.num.brokers=3", "linger.ms=5", NULL };
	char err[CDC_ERRSTR_SIZE];
	reports *r = calloc(1, sizeof(*r));
	cdc_sink *s;
	int full = 0;

	(void)state;
	assert_int_equal(cdc_sink_kafka_new(&s, props, 100, on_report, r, err, sizeof(err)), 0);
	produce_all(s, &full);
	assert_true(full > 0); /* max 100 in flight: backpressure was applied */
	assert_int_equal(cdc_sink_flush(s, 30000, err, sizeof(err)), 0);
	assert_int_equal(count(r->ok), N);
	assert_int_equal(count(r->failed), 0);
	assert_int_equal(r->dup, 0);
	assert_int_equal((int)cdc_sink_in_flight(s), 0);
	cdc_sink_destroy(s);
	free(r);
}

/* A bound on bytes in flight: produce refuses a message that would pass it
 * (unless nothing is in flight), the count goes back to 0 with the reports,
 * and every message is still delivered once. */
static void test_mock_bytes_bound(void **state)
{
	static const char *props[] = { "test.mock.num.brokers=1", "linger.ms=5", NULL };
	char err[CDC_ERRSTR_SIZE], big[3000];
	reports *r = calloc(1, sizeof(*r));
	cdc_msg_tag tag = { .segment_id = 42, .seq = 0 };
	cdc_sink *s;
	int full = 0;

	(void)state;
	memset(big, 'x', sizeof(big));
	assert_int_equal(cdc_sink_kafka_new(&s, props, 100000, on_report, r, err, sizeof(err)), 0);
	cdc_sink_set_max_bytes(s, 1000);
	/* larger than the bound, alone: accepted */
	assert_int_equal(cdc_sink_produce(s, "cdctail.test", "k", 1, big, sizeof(big), &tag, err, sizeof(err)), 0);
	assert_int_equal((int)cdc_sink_bytes_in_flight(s), (int)sizeof(big) + 1);
	tag.seq = 1;
	assert_int_equal(cdc_sink_produce(s, "cdctail.test", "k", 1, "{}", 2, &tag, err, sizeof(err)), CDC_SINK_FULL);
	assert_int_equal(cdc_sink_flush(s, 30000, err, sizeof(err)), 0);
	assert_int_equal((int)cdc_sink_bytes_in_flight(s), 0);
	assert_int_equal(cdc_sink_produce(s, "cdctail.test", "k", 1, "{}", 2, &tag, err, sizeof(err)), 0);
	assert_int_equal(cdc_sink_flush(s, 30000, err, sizeof(err)), 0);
	/* the N messages of about 12 bytes each: at most ~80 in flight at once */
	memset(r, 0, sizeof(*r));
	produce_all(s, &full);
	assert_true(full > 0);
	assert_true(cdc_sink_bytes_in_flight(s) <= 1000);
	assert_int_equal(cdc_sink_flush(s, 30000, err, sizeof(err)), 0);
	assert_int_equal(count(r->ok), N);
	assert_int_equal(r->dup, 0);
	assert_int_equal((int)cdc_sink_bytes_in_flight(s), 0);
	cdc_sink_destroy(s);
	free(r);
}

/* Retriable broker errors: the idempotent producer retries, every message is
 * delivered exactly once. */
static void test_mock_retriable_errors(void **state)
{
	static const char *props[] = { "test.mock.num.brokers=1", NULL };
	char err[CDC_ERRSTR_SIZE];
	reports *r = calloc(1, sizeof(*r));
	rd_kafka_mock_cluster_t *mc;
	cdc_sink *s;
	int full = 0;

	(void)state;
	assert_int_equal(cdc_sink_kafka_new(&s, props, 0, on_report, r, err, sizeof(err)), 0);
	mc = rd_kafka_handle_mock_cluster(cdc_sink_kafka_handle(s));
	assert_non_null(mc);
	rd_kafka_mock_push_request_errors(mc, KAFKA_API_PRODUCE, 4, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
					  RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
					  RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE);
	produce_all(s, &full);
	assert_int_equal(cdc_sink_flush(s, 60000, err, sizeof(err)), 0);
	assert_int_equal(count(r->ok), N);
	assert_int_equal(r->dup, 0);
	cdc_sink_destroy(s);
	free(r);
}

/* A broker that stays down: nothing is reported delivered; at destroy every
 * message is reported failed, exactly once. */
static void test_mock_broker_down(void **state)
{
	static const char *props[] = { "test.mock.num.brokers=1", "message.timeout.ms=3000", NULL };
	char err[CDC_ERRSTR_SIZE];
	reports *r = calloc(1, sizeof(*r));
	rd_kafka_mock_cluster_t *mc;
	cdc_sink *s;
	int full = 0;

	(void)state;
	assert_int_equal(cdc_sink_kafka_new(&s, props, 0, on_report, r, err, sizeof(err)), 0);
	mc = rd_kafka_handle_mock_cluster(cdc_sink_kafka_handle(s));
	rd_kafka_mock_broker_set_down(mc, 1);
	produce_all(s, &full);
	cdc_sink_poll(s, 500);
	assert_int_equal(count(r->ok), 0);
	cdc_sink_destroy(s);
	assert_int_equal(count(r->ok), 0);
	assert_int_equal(count(r->failed), N);
	assert_int_equal(r->dup, 0);
	free(r);
}

/* Messages Kafka will never take are reported CDC_REJECTED with their
 * payload (for the dead-letter file), not CDC_FAILED (which would be sent
 * again forever): one larger than message.max.bytes at once from produce,
 * and a batch the broker refuses as too large in its delivery report. The
 * producer goes on: later messages are delivered. */
static void test_mock_rejected(void **state)
{
	static const char *props[] = { "test.mock.num.brokers=1", "message.max.bytes=1000", "linger.ms=5", NULL };
	char err[CDC_ERRSTR_SIZE], big[3000];
	reports *r = calloc(1, sizeof(*r));
	rd_kafka_mock_cluster_t *mc;
	cdc_msg_tag tag = { .segment_id = 9, .seq = 0 };
	cdc_sink *s;
	int i;

	(void)state;
	memset(big, 'x', sizeof(big));
	assert_int_equal(cdc_sink_kafka_new(&s, props, 0, on_report, r, err, sizeof(err)), 0);
	assert_int_equal(cdc_sink_produce(s, "cdctail.test", "k", 1, big, sizeof(big), &tag, err, sizeof(err)), 0);
	assert_int_equal(r->rejected[0], 1); /* reported before produce returned */
	assert_true(r->rejected_len[0] == sizeof(big));
	assert_non_null(strstr(r->rejected_err, "too large"));
	assert_int_equal((int)cdc_sink_in_flight(s), 0);
	/* the broker refuses the next produce request as too large */
	mc = rd_kafka_handle_mock_cluster(cdc_sink_kafka_handle(s));
	rd_kafka_mock_push_request_errors(mc, KAFKA_API_PRODUCE, 1, RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
	for (i = 1; i <= 5; i++) {
		tag.seq = (uint64_t)i;
		assert_int_equal(cdc_sink_produce(s, "cdctail.test", "k", 1, "{}", 2, &tag, err, sizeof(err)), 0);
	}
	assert_int_equal(cdc_sink_flush(s, 10000, err, sizeof(err)), 0);
	assert_int_equal(count(r->rejected), 6);
	assert_int_equal(count(r->failed), 0);
	tag.seq = 6;
	assert_int_equal(cdc_sink_produce(s, "cdctail.test", "k", 1, "{}", 2, &tag, err, sizeof(err)), 0);
	assert_int_equal(cdc_sink_flush(s, 10000, err, sizeof(err)), 0);
	assert_int_equal(r->ok[6], 1);
	assert_int_equal(r->dup, 0);
	cdc_sink_destroy(s);
	assert_true(cdc_sink_error_is_permanent(RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE));
	assert_false(cdc_sink_error_is_permanent(RD_KAFKA_RESP_ERR__MSG_TIMED_OUT));
	assert_false(cdc_sink_error_is_permanent(RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION));
	free(r);
}

static void test_bad_property(void **state)
{
	static const char *props[] = { "no.such.property=1", NULL };
	static const char *novalue[] = { "acks", NULL };
	char err[CDC_ERRSTR_SIZE];
	cdc_sink *s;

	(void)state;
	assert_int_equal(cdc_sink_kafka_new(&s, props, 0, on_report, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no.such.property"));
	assert_null(s);
	assert_int_equal(cdc_sink_kafka_new(&s, novalue, 0, on_report, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "key=value"));
}

static void test_file_sink(void **state)
{
	char err[CDC_ERRSTR_SIZE], path[] = "/tmp/cdctail-sink.XXXXXX", line[64];
	reports *r = calloc(1, sizeof(*r));
	cdc_msg_tag tag = { .segment_id = 1, .seq = 7 };
	cdc_sink *s;
	FILE *f;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(cdc_sink_file_new(&s, path, on_report, r, err, sizeof(err)), 0);
	assert_int_equal(cdc_sink_produce(s, "t", "k", 1, "{\"a\":1}", 7, &tag, err, sizeof(err)), 0);
	assert_int_equal(r->ok[7], 1);
	assert_int_equal(cdc_sink_flush(s, 1000, err, sizeof(err)), 0);
	cdc_sink_destroy(s);
	f = fopen(path, "r");
	assert_non_null(fgets(line, sizeof(line), f));
	assert_string_equal(line, "{\"a\":1}\n");
	fclose(f);
	unlink(path);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mock_all_delivered),
		cmocka_unit_test(test_mock_bytes_bound),
		cmocka_unit_test(test_mock_retriable_errors),
		cmocka_unit_test(test_mock_broker_down),
		cmocka_unit_test(test_mock_rejected),
		cmocka_unit_test(test_bad_property),
		cmocka_unit_test(test_file_sink),
	};

	return cmocka_run_group_tests_name("sink", tests, NULL, NULL) ? 1 : 0;
}
