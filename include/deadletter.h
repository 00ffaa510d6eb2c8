/* deadletter.h - messages Kafka will never accept (too large, invalid),
 * kept in state_dir/dead-letter.jsonl so the position can go past them
 * without losing them: one JSON object a line, {"segment", "segment_id",
 * "offset" (of the entry), "error", "topic", "key", "ts", "event" (the
 * message, as a string)} (docs/run.md, "Failures"). */
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

#endif
