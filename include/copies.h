/* copies.h - which copies of a change `cdctail relay` passes on.
 *
 * Every replica's `cdctail run` sends its own copy of a change: the same
 * "id", the same key, so the same partition of the temporary topic. The
 * decision is recorded in the id store (include/idstore.h), in its open
 * batch: the caller syncs the store only after the copies it passed were
 * acknowledged, so a crash before that forgets the decisions together with
 * the consumer offsets, and the copies are read and decided again.
 *
 * --dedup (min_copies 1): the first copy of an id passes, the others are
 * duplicates. Store key "D" + id.
 *
 * --min-copies N (N >= 2): a change passes when the N-th distinct copy is
 * read; copies before it wait, copies after it are surplus. A copy is told
 * apart by its replica, source.node, when the event has one, else by its
 * place in Kafka (partition, offset): a replica that sends its copy twice
 * (a `cdctail run` restarted before it saved its checkpoint) counts once
 * with source.node, twice without. Reading the same message again (after a
 * crash) never counts it twice. Store keys "R" + id + 0 + copy (one per
 * copy) and "C" + id (the count). */
#ifndef CDCTAIL_COPIES_H
#define CDCTAIL_COPIES_H

#include <stddef.h>
#include <stdint.h>

#include "idstore.h"
#include "relay_event.h"

typedef enum {
	CDC_COPY_PASS = 1,       /* send it on */
	CDC_COPY_DUPLICATE,      /* this copy (or, with --dedup, this id) was counted already */
	CDC_COPY_WAIT,           /* fewer than N copies so far */
	CDC_COPY_SURPLUS,        /* the change passed with an earlier copy */
} cdc_copy_verdict;

/* Decides the fate of one copy (min_copies 0: every message passes, the
 * store is not used and may be NULL), read from partition/offset at now_us
 * (the store's clock, for expiry). Returns a cdc_copy_verdict, or -1 with
 * errstr (an id store error: the batch must be rolled back). */
int cdc_copies_decide(cdc_idstore *st, unsigned min_copies, const cdc_relay_event *ev, int32_t partition,
		      int64_t offset, int64_t now_us, char *errstr, size_t errlen);

/* The verdict's name for logs and the summary. */
const char *cdc_copy_verdict_name(int verdict);

#endif
