/* sink_kafka.c - events to Kafka through librdkafka, and the file sink. */
#include "sink.h"
#include "err.h"
#include "log.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <errno.h>

struct cdc_sink {
	rd_kafka_t *rk;          /* NULL for the file sink */
	FILE *file;
	int own_file;
	cdc_delivery_fn fn;
	void *opaque;
	size_t in_flight, max_in_flight;
	size_t bytes, max_bytes;     /* payload + key bytes in flight, and their bound (0: none) */
	char fatal[512];
};

int cdc_sink_error_is_permanent(int err)
{
	switch ((rd_kafka_resp_err_t)err) {
	case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:      /* larger than message.max.bytes (producev)
							 * or the topic's max.message.bytes (broker) */
	case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
	case RD_KAFKA_RESP_ERR_INVALID_RECORD:          /* the broker's validation refused it */
	case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:         /* not a legal topic name */
	case RD_KAFKA_RESP_ERR__INVALID_ARG:
		return 1;
	default:
		return 0;
	}
}

/* Hands one message's fate to the caller's callback. */
static void report(cdc_sink *s, const cdc_msg_tag *tag, cdc_delivery_status st, const char *err,
		   const char *topic, const void *key, size_t keylen, const void *payload, size_t len)
{
	cdc_delivery d = { st, err, topic, key, payload, keylen, len };

	s->fn(s->opaque, tag, &d);
}

/* The only place a Kafka message's fate is decided. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	cdc_sink *s = opaque;
	cdc_msg_tag *tag = m->_private;
	cdc_delivery_status st = m->err == RD_KAFKA_RESP_ERR_NO_ERROR ? CDC_DELIVERED
				 : cdc_sink_error_is_permanent(m->err) ? CDC_REJECTED : CDC_FAILED;

	(void)rk;
	s->in_flight--;
	s->bytes -= m->len + m->key_len;
	if (tag) {
		report(s, tag, st, m->err ? rd_kafka_err2str(m->err) : NULL, m->rkt ? rd_kafka_topic_name(m->rkt) : "",
		       m->key, m->key_len, m->payload, m->len);
		free(tag);
	}
}

/* Records fatal errors (idempotence broken): the producer cannot go on. */
static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	cdc_sink *s = opaque;
	char buf[256];

	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		rd_kafka_fatal_error(rk, buf, sizeof(buf));
		snprintf(s->fatal, sizeof(s->fatal), "fatal Kafka producer error: %s", buf);
	} else {
		cdc_log(CDC_LOG_ERR, "kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
	}
}

/* Sets our defaults, then every "key=value" of props, on conf: 0, or -1
 * with librdkafka's message. */
static int apply_props(rd_kafka_conf_t *conf, const char *const *props, char *errstr, size_t errlen)
{
	/* Nagle off: with it, librdkafka's small produce requests (a few events
	 * each at 1000 writes/s) wait on delayed ACKs: measured on this machine
	 * at 1000 writes/s, 3.2x the producer thread's CPU and a p99 of 23 ms
	 * instead of 18 ms from CQL ack to consumer (docs/bench.md) */
	static const char *defaults[] = { "enable.idempotence=true", "acks=all", "socket.nagle.disable=true", NULL };
	const char *const *lists[2] = { defaults, props };
	char kerr[512];
	int l, i;

	for (l = 0; l < 2; l++) {
		for (i = 0; lists[l] && lists[l][i]; i++) {
			char kv[1024], *eq;

			snprintf(kv, sizeof(kv), "%s", lists[l][i]);
			eq = strchr(kv, '=');
			if (!eq)
				return cdc_error(errstr, errlen, "kafka property '%s' is not key=value", kv);
			*eq = '\0';
			if (rd_kafka_conf_set(conf, kv, eq + 1, kerr, sizeof(kerr)) != RD_KAFKA_CONF_OK)
				return cdc_error(errstr, errlen, "kafka property %s: %s", kv, kerr);
		}
	}
	return 0;
}

int cdc_sink_kafka_check(const char *const *props, char *errstr, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_t *rk;
	char kerr[512];

	if (!conf)
		return cdc_error(errstr, errlen, "out of memory");
	if (apply_props(conf, props, errstr, errlen) != 0) {
		rd_kafka_conf_destroy(conf);
		return -1;
	}
	/* what only the producer checks (settings that contradict each other) */
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof(kerr));
	if (!rk) {
		rd_kafka_conf_destroy(conf);
		return cdc_error(errstr, errlen, "kafka producer: %s", kerr);
	}
	rd_kafka_destroy(rk);
	return 0;
}

int cdc_sink_kafka_new(cdc_sink **out, const char *const *props, size_t max_in_flight,
		       cdc_delivery_fn fn, void *opaque, char *errstr, size_t errlen)
{
	cdc_sink *s = calloc(1, sizeof(*s));
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	char kerr[512];

	*out = NULL;
	if (!s || !conf) {
		free(s);
		if (conf)
			rd_kafka_conf_destroy(conf);
		return cdc_error(errstr, errlen, "out of memory");
	}
	if (apply_props(conf, props, errstr, errlen) != 0) {
		rd_kafka_conf_destroy(conf);
		free(s);
		return -1;
	}
	rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_opaque(conf, s);
	s->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, kerr, sizeof(kerr));
	if (!s->rk) { /* conf is the caller's again */
		rd_kafka_conf_destroy(conf);
		free(s);
		return cdc_error(errstr, errlen, "kafka producer: %s", kerr);
	}
	s->fn = fn;
	s->opaque = opaque;
	s->max_in_flight = max_in_flight ? max_in_flight : 100000;
	*out = s;
	return 0;
}

int cdc_sink_file_new(cdc_sink **out, const char *path, cdc_delivery_fn fn, void *opaque,
		      char *errstr, size_t errlen)
{
	cdc_sink *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return cdc_error(errstr, errlen, "out of memory");
	if (strcmp(path, "-") == 0) {
		s->file = stdout;
	} else {
		s->file = fopen(path, "a");
		s->own_file = 1;
		if (!s->file) {
			free(s);
			return cdc_error(errstr, errlen, "%s: cannot open for writing", path);
		}
	}
	s->fn = fn;
	s->opaque = opaque;
	*out = s;
	return 0;
}

int cdc_sink_produce(cdc_sink *s, const char *topic, const void *key, size_t keylen,
		     const void *payload, size_t len, const cdc_msg_tag *tag, char *errstr, size_t errlen)
{
	cdc_msg_tag *copy;
	rd_kafka_resp_err_t err;

	if (!s->rk) {
		int ok = fwrite(payload, 1, len, s->file) == len && fputc('\n', s->file) != EOF;

		report(s, tag, ok ? CDC_DELIVERED : CDC_FAILED, ok ? NULL : "write failed", topic, key, keylen,
		       payload, len);
		return ok ? 0 : cdc_error(errstr, errlen, "writing events failed");
	}
	if (s->fatal[0])
		return cdc_error(errstr, errlen, "%s", s->fatal);
	if (s->in_flight >= s->max_in_flight ||
	    (s->max_bytes && s->in_flight && s->bytes + len + keylen > s->max_bytes))
		return CDC_SINK_FULL;
	copy = malloc(sizeof(*copy));
	if (!copy)
		return cdc_error(errstr, errlen, "out of memory");
	*copy = *tag;
	err = rd_kafka_producev(s->rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, keylen),
				RD_KAFKA_V_VALUE((void *)payload, len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
				RD_KAFKA_V_OPAQUE(copy), RD_KAFKA_V_END);
	if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
		free(copy);
		return CDC_SINK_FULL;
	}
	if (err) {
		free(copy);
		if (cdc_sink_error_is_permanent(err)) { /* never accepted: the caller decides what to do */
			report(s, tag, CDC_REJECTED, rd_kafka_err2str(err), topic, key, keylen, payload, len);
			return 0;
		}
		return cdc_error(errstr, errlen, "kafka produce to %s: %s", topic, rd_kafka_err2str(err));
	}
	s->in_flight++;
	s->bytes += len + keylen;
	return 0;
}

int cdc_sink_poll(cdc_sink *s, int timeout_ms)
{
	return s->rk ? rd_kafka_poll(s->rk, timeout_ms) : 0;
}

int cdc_sink_flush(cdc_sink *s, int timeout_ms, char *errstr, size_t errlen)
{
	struct timespec t0, t;

	if (!s->rk) {
		if (fflush(s->file) != 0 || (s->own_file && fsync(fileno(s->file)) != 0))
			return cdc_error(errstr, errlen, "flushing events failed: %s", strerror(errno));
		return 0;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (s->in_flight > 0) {
		long ms;

		rd_kafka_poll(s->rk, 100);
		clock_gettime(CLOCK_MONOTONIC, &t);
		ms = (t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000;
		if (ms >= timeout_ms)
			return cdc_error(errstr, errlen, "%zu messages still unacknowledged after %d ms",
					 s->in_flight, timeout_ms);
	}
	return 0;
}

size_t cdc_sink_in_flight(const cdc_sink *s)
{
	return s->in_flight;
}

void cdc_sink_set_max_bytes(cdc_sink *s, size_t max_bytes)
{
	s->max_bytes = max_bytes;
}

size_t cdc_sink_bytes_in_flight(const cdc_sink *s)
{
	return s->bytes;
}

void *cdc_sink_kafka_handle(cdc_sink *s)
{
	return s->rk;
}

void cdc_sink_destroy(cdc_sink *s)
{
	if (!s)
		return;
	if (s->rk) {
		/* whatever is still undelivered gets a failed delivery report, now,
		 * while the caller's state is still there (the caller flushed
		 * before, as long as it chose to wait) */
		rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		for (int i = 0; i < 100 && s->in_flight > 0; i++)
			rd_kafka_poll(s->rk, i ? 10 : 0);
		rd_kafka_destroy(s->rk);
	}
	if (s->own_file && s->file)
		fclose(s->file);
	free(s);
}
