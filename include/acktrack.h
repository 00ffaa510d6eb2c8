/* acktrack.h - turns per-message delivery reports into a safe position in
 * one segment: the end of the longest prefix of entries all of whose
 * messages are acknowledged. Entries are registered in segment order; acks
 * arrive in any order. The checkpoint may advance to the safe position and
 * never further (at-least-once: a crash replays from there). */
#ifndef CDCTAIL_ACKTRACK_H
#define CDCTAIL_ACKTRACK_H

#include <stddef.h>
#include <stdint.h>

typedef struct cdc_acktrack cdc_acktrack;

/* A tracker for one segment whose already-safe position is `start`. Each
 * tracker gets a generation no other tracker of this process has, so the
 * acks of messages sent before a re-read (an earlier tracker of the same
 * segment, whose seqs restarted at 0) cannot be credited to this one. */
cdc_acktrack *cdc_acktrack_new(int64_t segment_id, uint64_t start);
void cdc_acktrack_destroy(cdc_acktrack *t);

/* Registers the next entry: its end position (> every earlier one) and the
 * number of messages produced for it (0 is fine: it is safe once everything
 * before it is). *seq receives the tag to pass back with each message's ack.
 * Returns 0, or -1 on a position going backwards or out of memory. */
int cdc_acktrack_add(cdc_acktrack *t, uint64_t end, uint32_t messages, uint64_t *seq);

/* One message of entry `seq` of tracker `generation` was delivered (ok) or
 * definitively failed. A failure pins the safe position before that entry
 * for good. Acks of another generation (stale: sent before a re-read),
 * unknown or surplus ones are ignored and counted. */
void cdc_acktrack_ack(cdc_acktrack *t, uint64_t generation, uint64_t seq, int ok);

/* This tracker's generation: goes into every message tag with the seq. */
uint64_t cdc_acktrack_generation(const cdc_acktrack *t);

/* The end of the longest fully acknowledged prefix (start if none). */
uint64_t cdc_acktrack_safe(const cdc_acktrack *t);

/* Entries registered but not yet wholly acknowledged. */
size_t cdc_acktrack_pending(const cdc_acktrack *t);

/* 1 once a delivery failed; the segment must be re-read from safe(). */
int cdc_acktrack_failed(const cdc_acktrack *t);

/* Acks that matched no outstanding message (duplicates, stale tags). */
uint64_t cdc_acktrack_stray(const cdc_acktrack *t);

int64_t cdc_acktrack_segment(const cdc_acktrack *t);

#endif
