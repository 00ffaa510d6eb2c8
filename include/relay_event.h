/* relay_event.h - what `cdctail relay` reads of a message in the temporary
 * topics: the fields of a cdctail event (docs/events.md) it needs to decide
 * where the message goes and whether it is a copy of a change already
 * passed. The message itself is copied unchanged; nothing here rewrites it. */
#ifndef CDCTAIL_RELAY_EVENT_H
#define CDCTAIL_RELAY_EVENT_H

#include <stddef.h>
#include <stdint.h>

#define CDC_RELAY_ID_MAX 128     /* bytes of "id" (cdctail's are 16 hex digits) */
#define CDC_RELAY_NAME_MAX 255   /* bytes of keyspace, table, source.node */

typedef struct cdc_relay_event {
	char id[CDC_RELAY_ID_MAX + 1];
	size_t idlen;
	int64_t ts;                             /* the write time, µs */
	char keyspace[CDC_RELAY_NAME_MAX + 1];
	char table[CDC_RELAY_NAME_MAX + 1];
	char node[CDC_RELAY_NAME_MAX + 1];      /* source.node, "" when absent */
} cdc_relay_event;

/* Reads the event in p (len bytes, not NUL-terminated): a JSON object with
 * a string "id" (1 to CDC_RELAY_ID_MAX bytes), an integer "ts", "keyspace"
 * and "table" made of letters, digits and underscores (Cassandra's names,
 * so that they are legal in topic names) and optionally "source":{"node":
 * string}. 0 and *ev, or -1 with errstr saying what is missing or wrong
 * (the message is not an event the relay can pass). */
int cdc_relay_event_parse(const char *p, size_t len, cdc_relay_event *ev, char *errstr, size_t errlen);

#endif
