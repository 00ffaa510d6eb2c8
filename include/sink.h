/* sink.h - where events go: Kafka (librdkafka) or a file of JSON lines.
 *
 * A message's fate is decided only in the delivery callback given at
 * creation (librdkafka's delivery report; immediately after the write for a
 * file), which receives the caller's tag. Payloads are copied: the caller's
 * buffers are free again as soon as produce returns. */
#ifndef CDCTAIL_SINK_H
#define CDCTAIL_SINK_H

#include <stddef.h>
#include <stdint.h>

#define CDC_SINK_FULL 1 /* produce: too much in flight; poll, then retry */

typedef struct cdc_msg_tag {
	int64_t segment_id;
	uint64_t seq;            /* acktrack sequence of the entry */
	int64_t ts;              /* the event's write time (lag metric) */
} cdc_msg_tag;

/* ok = 1 when the message is durably acknowledged (acks=all), else err says why. */
typedef void (*cdc_delivery_fn)(void *opaque, const cdc_msg_tag *tag, int ok, const char *err);

typedef struct cdc_sink cdc_sink;

/* A Kafka producer: idempotent, acks=all, then every "key=value" of props
 * (NULL-terminated) handed to librdkafka as is, so SASL, TLS, compression and
 * the rest need no code here; a bad key fails with librdkafka's message.
 * At most max_in_flight messages are outstanding (backpressure). */
int cdc_sink_kafka_new(cdc_sink **out, const char *const *props, size_t max_in_flight,
		       cdc_delivery_fn fn, void *opaque, char *errstr, size_t errlen);

/* JSON lines to path ("-" for stdout); each line is acknowledged once written. */
int cdc_sink_file_new(cdc_sink **out, const char *path, cdc_delivery_fn fn, void *opaque,
		      char *errstr, size_t errlen);

/* Queues one message. 0 queued, CDC_SINK_FULL (nothing queued: poll and
 * retry), or -1 with errstr (a fatal producer error). */
int cdc_sink_produce(cdc_sink *s, const char *topic, const void *key, size_t keylen,
		     const void *payload, size_t len, const cdc_msg_tag *tag, char *errstr, size_t errlen);

/* Serves delivery reports for up to timeout_ms; returns how many. */
int cdc_sink_poll(cdc_sink *s, int timeout_ms);

/* Waits until nothing is in flight or timeout_ms passed (a file sink:
 * flushed and fsync'd): 0, or -1 with errstr. */
int cdc_sink_flush(cdc_sink *s, int timeout_ms, char *errstr, size_t errlen);

size_t cdc_sink_in_flight(const cdc_sink *s);

/* librdkafka's handle for tests (mock cluster), NULL for a file sink. */
void *cdc_sink_kafka_handle(cdc_sink *s);

void cdc_sink_destroy(cdc_sink *s);

#endif
