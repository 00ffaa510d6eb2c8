/* acktrack.c - safe positions from out-of-order delivery reports. */
#include "acktrack.h"

#include <stdlib.h>

typedef struct pending {
	uint64_t end;
	uint32_t remaining;  /* messages not yet acknowledged */
} pending;

/* The outstanding entries form a ring: seq `base` sits at index `head`. */
struct cdc_acktrack {
	int64_t segment;
	uint64_t generation; /* unique per tracker: tags of another one are stale */
	uint64_t safe, last_end;
	uint64_t base;       /* seq of the oldest outstanding entry */
	pending *ring;
	size_t cap, head, count;
	int failed;
	uint64_t stray;
};

/* The last generation handed out; trackers live in one thread (delivery
 * reports are served by the thread that polls). */
static uint64_t last_generation;

cdc_acktrack *cdc_acktrack_new(int64_t segment_id, uint64_t start)
{
	cdc_acktrack *t = calloc(1, sizeof(*t));

	if (t) {
		t->segment = segment_id;
		t->generation = ++last_generation;
		t->safe = t->last_end = start;
	}
	return t;
}

void cdc_acktrack_destroy(cdc_acktrack *t)
{
	if (t) {
		free(t->ring);
		free(t);
	}
}

static pending *at(const cdc_acktrack *t, size_t i)
{
	return &t->ring[(t->head + i) % t->cap];
}

/* Moves the safe position over every leading entry with nothing outstanding. */
static void advance(cdc_acktrack *t)
{
	while (t->count && !t->failed && t->ring[t->head].remaining == 0) {
		t->safe = t->ring[t->head].end;
		t->head = (t->head + 1) % t->cap;
		t->count--;
		t->base++;
	}
}

static int grow(cdc_acktrack *t)
{
	size_t ncap = t->cap ? t->cap * 2 : 256, i;
	pending *nr = malloc(ncap * sizeof(*nr));

	if (!nr)
		return -1;
	for (i = 0; i < t->count; i++)
		nr[i] = *at(t, i);
	free(t->ring);
	t->ring = nr;
	t->cap = ncap;
	t->head = 0;
	return 0;
}

int cdc_acktrack_add(cdc_acktrack *t, uint64_t end, uint32_t messages, uint64_t *seq)
{
	pending *p;

	if (end <= t->last_end)
		return -1;
	if (t->count == t->cap && grow(t) != 0)
		return -1;
	*seq = t->base + t->count;
	p = at(t, t->count);
	p->end = end;
	p->remaining = messages;
	t->count++;
	t->last_end = end;
	advance(t);
	return 0;
}

void cdc_acktrack_ack(cdc_acktrack *t, uint64_t generation, uint64_t seq, int ok)
{
	pending *p;

	if (generation != t->generation || seq < t->base || seq - t->base >= t->count) {
		t->stray++;
		return;
	}
	p = at(t, (size_t)(seq - t->base));
	if (p->remaining == 0) {
		t->stray++;
		return;
	}
	if (!ok) {
		t->failed = 1;
		return;
	}
	p->remaining--;
	advance(t);
}

uint64_t cdc_acktrack_safe(const cdc_acktrack *t)
{
	return t->safe;
}

size_t cdc_acktrack_pending(const cdc_acktrack *t)
{
	return t->count;
}

int cdc_acktrack_failed(const cdc_acktrack *t)
{
	return t->failed;
}

uint64_t cdc_acktrack_stray(const cdc_acktrack *t)
{
	return t->stray;
}

uint64_t cdc_acktrack_generation(const cdc_acktrack *t)
{
	return t->generation;
}

int64_t cdc_acktrack_segment(const cdc_acktrack *t)
{
	return t->segment;
}
