/* outbox.h - the messages of one commitlog entry, rendered and waiting to be
 * handed to the sink.
 *
 * Events are staged while an entry is turned into events (cdc_events_emit's
 * callback), then handed to the sink together; when the sink is full the
 * rest stays staged and is handed over after the next poll. Each message is
 * tagged with the entry's position (segment, tracker generation and
 * sequence, offset), the event's ts and its metrics series, so that the
 * delivery report can credit it. The outbox owns copies of topic, key and
 * payload. */
#ifndef CDCTAIL_OUTBOX_H
#define CDCTAIL_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "sink.h"

typedef struct cdc_outbox cdc_outbox;

cdc_outbox *cdc_outbox_new(void);
void cdc_outbox_destroy(cdc_outbox *o);

/* Drops everything staged (an entry that failed part way, a re-read). */
void cdc_outbox_clear(cdc_outbox *o);

/* Stages one message: 0, or -1 when out of memory. */
int cdc_outbox_stage(cdc_outbox *o, const char *topic, const void *key, size_t keylen, const void *payload,
		     size_t len, int64_t ts, uint32_t series);

/* Messages staged and not yet handed over. */
size_t cdc_outbox_pending(const cdc_outbox *o);

/* Hands the staged messages to the sink with the entry's tag (ts and series
 * filled per message): 0 all handed over (the outbox is empty), 1 the sink
 * is full (poll, then call again), -1 a fatal producer error (errstr). */
int cdc_outbox_send(cdc_outbox *o, cdc_sink *sink, const cdc_msg_tag *entry, char *errstr, size_t errlen);

#endif
