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

/* The caller's note on a message, handed back with its fate. */
typedef struct cdc_msg_tag {
	int64_t segment_id;
	uint64_t generation;     /* the acktrack instance the seq belongs to */
	uint64_t seq;            /* acktrack sequence of the entry */
	uint64_t offset;         /* the entry's logical offset in the segment */
	int64_t ts;              /* the event's write time (lag metric) */
	uint32_t stat;           /* the caller's metrics series of the event */
} cdc_msg_tag;

/* A message's fate. */
typedef enum {
	CDC_DELIVERED = 1,       /* durably acknowledged (acks=all) */
	CDC_FAILED = 0,          /* not delivered, but Kafka may take it later: send it again */
	CDC_REJECTED = 2,        /* Kafka will never take it (too large, invalid): do not retry */
} cdc_delivery_status;

typedef struct cdc_delivery {
	cdc_delivery_status status;
	const char *err;         /* why, when not delivered; else NULL */
	const char *topic;       /* the message as produced (valid during the callback only) */
	const void *key, *payload;
	size_t keylen, len;
} cdc_delivery;

typedef void (*cdc_delivery_fn)(void *opaque, const cdc_msg_tag *tag, const cdc_delivery *d);

typedef struct cdc_sink cdc_sink;

/* A Kafka producer: idempotent, acks=all, Nagle off, then every "key=value" of props
 * (NULL-terminated) handed to librdkafka as is, so SASL, TLS, compression and
 * the rest need no code here; a bad key fails with librdkafka's message.
 * At most max_in_flight messages are outstanding (backpressure). */
int cdc_sink_kafka_new(cdc_sink **out, const char *const *props, size_t max_in_flight,
		       cdc_delivery_fn fn, void *opaque, char *errstr, size_t errlen);

/* Whether cdc_sink_kafka_new would accept props (librdkafka's own check of
 * each key and value, and of their combination: a producer is made and
 * destroyed at once, sending nothing): 0, or -1 with errstr. */
int cdc_sink_kafka_check(const char *const *props, char *errstr, size_t errlen);

/* JSON lines to path ("-" for stdout); each line is acknowledged once written. */
int cdc_sink_file_new(cdc_sink **out, const char *path, cdc_delivery_fn fn, void *opaque,
		      char *errstr, size_t errlen);

/* Queues one message. 0 queued, CDC_SINK_FULL (nothing queued: poll and
 * retry), or -1 with errstr (a fatal producer error). A message librdkafka
 * refuses for good at once (larger than message.max.bytes, an invalid topic
 * name) is reported CDC_REJECTED to the delivery callback before produce
 * returns 0: its fate, like every other, is learnt there. */
int cdc_sink_produce(cdc_sink *s, const char *topic, const void *key, size_t keylen,
		     const void *payload, size_t len, const cdc_msg_tag *tag, char *errstr, size_t errlen);

/* Serves delivery reports for up to timeout_ms; returns how many. */
int cdc_sink_poll(cdc_sink *s, int timeout_ms);

/* Waits until nothing is in flight or timeout_ms passed (a file sink:
 * flushed and fsync'd): 0, or -1 with errstr. */
int cdc_sink_flush(cdc_sink *s, int timeout_ms, char *errstr, size_t errlen);

size_t cdc_sink_in_flight(const cdc_sink *s);

/* Also bounds the bytes in flight (payload and key of every message not yet
 * reported) to max_bytes: produce returns CDC_SINK_FULL for a message that
 * would go past it, unless nothing is in flight (a message larger than the
 * bound still goes, alone). 0, the default, bounds messages only. */
void cdc_sink_set_max_bytes(cdc_sink *s, size_t max_bytes);

/* Payload and key bytes of the messages in flight. */
size_t cdc_sink_bytes_in_flight(const cdc_sink *s);

/* librdkafka's handle for tests (mock cluster), NULL for a file sink. */
void *cdc_sink_kafka_handle(cdc_sink *s);

/* Whether a delivery error code of librdkafka means Kafka will never accept
 * the message (size limits, invalid record or topic), as opposed to one
 * worth sending again (timeouts, brokers away, leadership changes). */
int cdc_sink_error_is_permanent(int rd_kafka_resp_err);

/* Purges what is still queued or in flight (each gets a CDC_FAILED report,
 * served before this returns, so the callback's data must still be valid),
 * then frees the sink. Flush first to wait for Kafka. */
void cdc_sink_destroy(cdc_sink *s);

#endif
