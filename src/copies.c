/* copies.c - the pass/duplicate/wait/surplus decision (include/copies.h). */
#include "copies.h"
#include "err.h"

#include <stdio.h>
#include <string.h>

/* key = tag + id [+ 0 + copy]: its length (the buffer holds them all). */
static size_t key_of(char *key, char tag, const cdc_relay_event *ev, const char *copy)
{
	size_t n = 0;

	key[n++] = tag;
	memcpy(key + n, ev->id, ev->idlen);
	n += ev->idlen;
	if (copy) {
		size_t c = strlen(copy);

		key[n++] = '\0';
		memcpy(key + n, copy, c);
		n += c;
	}
	return n;
}

int cdc_copies_decide(cdc_idstore *st, unsigned min_copies, const cdc_relay_event *ev, int32_t partition,
		      int64_t offset, int64_t now_us, char *errstr, size_t errlen)
{
	char key[1 + CDC_RELAY_ID_MAX + 1 + CDC_RELAY_NAME_MAX + 1], place[48];
	cdc_idstore_rec rec;
	const char *copy;
	int fresh;

	if (min_copies == 0)
		return CDC_COPY_PASS;
	if (min_copies == 1) {
		fresh = cdc_idstore_seen(st, key, key_of(key, 'D', ev, NULL), now_us, NULL, errstr, errlen);
		return fresh < 0 ? -1 : fresh ? CDC_COPY_PASS : CDC_COPY_DUPLICATE;
	}
	if (ev->node[0]) {
		copy = ev->node;
	} else {
		snprintf(place, sizeof(place), "@%d:%lld", (int)partition, (long long)offset);
		copy = place;
	}
	fresh = cdc_idstore_seen(st, key, key_of(key, 'R', ev, copy), now_us, NULL, errstr, errlen);
	if (fresh <= 0)
		return fresh < 0 ? -1 : CDC_COPY_DUPLICATE;
	if (cdc_idstore_seen(st, key, key_of(key, 'C', ev, NULL), now_us, &rec, errstr, errlen) < 0)
		return -1;
	return rec.count < min_copies ? CDC_COPY_WAIT : rec.count == min_copies ? CDC_COPY_PASS : CDC_COPY_SURPLUS;
}

const char *cdc_copy_verdict_name(int verdict)
{
	switch (verdict) {
	case CDC_COPY_PASS: return "pass";
	case CDC_COPY_DUPLICATE: return "duplicate";
	case CDC_COPY_WAIT: return "wait";
	case CDC_COPY_SURPLUS: return "surplus";
	default: return "error";
	}
}
