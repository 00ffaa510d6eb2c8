/* event.h - one JSON event per row-level change of a decoded mutation
 * (docs/events.md), written straight into a buffer: op, keyspace, table,
 * key, clustering or range bounds, cells with write timestamps and TTLs,
 * ts, a replica-independent id, the source, and a CQL statement that
 * recreates the change with USING TIMESTAMP. */
#ifndef CDCTAIL_EVENT_H
#define CDCTAIL_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mutation.h"

typedef struct cdc_event_source {
	const char *node;        /* host name or address; NULL leaves it out */
	int64_t segment_id;
	uint64_t entry_offset;   /* logical offset of the entry */
	int cl_version;          /* commitlog descriptor version */
	const char *cassandra;   /* Cassandra release ("5.0.9"); NULL leaves it out */
} cdc_event_source;

/* Receives one event: the update it came from (for topic and key), the
 * partition key bytes, and the JSON text (no newline). Non-zero stops. */
typedef int (*cdc_event_fn)(void *opaque, const cdc_update *u, const char *json, size_t len);

typedef struct cdc_eventer cdc_eventer;

typedef enum {
	CDC_EVENT_CDCTAIL = 0,  /* docs/events.md */
	CDC_EVENT_TRIGGER,      /* the seed's trigger messages: {"rows":[...],"key":"drama:2015"} */
} cdc_event_format;

cdc_eventer *cdc_eventer_new(void);

/* Chooses the JSON shape written by cdc_events_emit (default CDCTAIL). */
void cdc_eventer_set_format(cdc_eventer *ev, cdc_event_format f);
void cdc_eventer_destroy(cdc_eventer *ev);

/* Marks the events as read from a table by `cdctail snapshot` (start_us:
 * the snapshot's start time, µs): their source is
 * {"snapshot":true,"snapshot_start":start_us} plus node and cassandra, in
 * place of segment, offset and cl_version. 0 (the default): change events. */
void cdc_eventer_set_snapshot(cdc_eventer *ev, int64_t start_us);

/* During an event callback: the event's partition key as text (the JSON
 * object of the key columns; in the trigger format the "drama:2015" string),
 * pointing into the event buffer. It is the Kafka message key, so one
 * partition's changes stay ordered. */
void cdc_eventer_key(const cdc_eventer *ev, const char **key, size_t *len);

/* During an event callback: the event's ts (docs/events.md), also for the
 * trigger format, which does not print it. */
int64_t cdc_eventer_ts(const cdc_eventer *ev);

/* During an event callback: the event's op ("insert", "delete_row", ...). */
const char *cdc_eventer_op(const cdc_eventer *ev);

#define CDC_EVENTS_STALE_SCHEMA (-2) /* a value a newer schema explains (a UDT
					 * with fields the schema's type lacks) */

/* Renders every row-level change of the updates of m tracked for CDC
 * (cdc_update.cdc; the others are skipped) and hands each to fn. Returns
 * the number of events, or -1 with errstr set (a value that does not
 * render, or fn stopped), or CDC_EVENTS_STALE_SCHEMA with errstr. Events
 * may have been handed to fn before a failure: the caller drops them. */
int cdc_events_emit(cdc_eventer *ev, const cdc_mutation *m, const cdc_event_source *src,
		    cdc_event_fn fn, void *opaque, char *errstr, size_t errlen);

#endif
