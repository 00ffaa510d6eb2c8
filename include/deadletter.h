/* deadletter.h - messages Kafka will never accept (too large, invalid),
 * kept in state_dir/dead-letter.jsonl so the position can go past them
 * without losing them: one JSON object a line, {"segment", "segment_id",
 * "offset" (of the entry), "error", "topic", "key", "ts", "event" (the
 * message, as a string)} (docs/run.md, "Failures"); `cdctail relay`'s
 * lines name the topic, partition and offset instead (docs/relay.md). */
#ifndef CDCTAIL_DEADLETTER_H
#define CDCTAIL_DEADLETTER_H

#include <stddef.h>
#include <stdint.h>

#include "jsonl.h"

typedef struct cdc_dead_letter {
	const char *segment_path;   /* the segment file (its base name is written) */
	int64_t segment_id;
	uint64_t offset;            /* the entry's logical offset */
	const char *error;          /* why Kafka refused it */
	const char *topic;
	const void *key, *payload;
	size_t keylen, len;
	int64_t ts;                 /* the event's write time */
} cdc_dead_letter;

/* Appends one dead letter to f (synced with cdc_jsonl_sync before the
 * checkpoint covers its entry): 0, or -1 with errstr. */
int cdc_deadletter_write(cdc_jsonl *f, const cdc_dead_letter *d, char *errstr, size_t errlen);

/* A message `cdctail relay` read but cannot pass (not an event, or refused
 * for good by Kafka): where it was read and why. */
typedef struct cdc_dead_message {
	const char *topic;          /* the topic it was read from */
	int32_t partition;
	int64_t offset;
	const char *error;
	const char *to_topic;       /* where it was to go, NULL when not known */
	const void *key, *payload;
	size_t keylen, len;
} cdc_dead_message;

/* Appends {"topic", "partition", "offset", "error", "to_topic" (when
 * known), "key" (null for a message without a key), "event" (the message,
 * as a string; null without a value)} to f: 0, or -1 with errstr. */
int cdc_deadletter_write_message(cdc_jsonl *f, const cdc_dead_message *d, char *errstr, size_t errlen);

#endif
