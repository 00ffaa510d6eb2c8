/* outbox.c - one entry's messages on their way to the sink. */
#include "outbox.h"
#include "buf.h"

#include <stdlib.h>
#include <string.h>

typedef struct msg {
	size_t topic, key, keylen, payload, len;  /* offsets into data */
	int64_t ts;
	uint32_t series;
} msg;

struct cdc_outbox {
	cdc_buf data;            /* topic \0 key payload, back to back */
	msg *m;
	size_t n, cap, next;     /* next: the first not yet handed over */
};

cdc_outbox *cdc_outbox_new(void)
{
	return calloc(1, sizeof(cdc_outbox));
}

void cdc_outbox_destroy(cdc_outbox *o)
{
	if (!o)
		return;
	cdc_buf_free(&o->data);
	free(o->m);
	free(o);
}

void cdc_outbox_clear(cdc_outbox *o)
{
	o->n = o->next = 0;
	cdc_buf_reset(&o->data);
}

int cdc_outbox_stage(cdc_outbox *o, const char *topic, const void *key, size_t keylen, const void *payload,
		     size_t len, int64_t ts, uint32_t series)
{
	size_t tl = strlen(topic) + 1;
	msg *m;

	if (o->n == o->cap) {
		size_t cap = o->cap ? o->cap * 2 : 16;
		msg *nm = realloc(o->m, cap * sizeof(*nm));

		if (!nm)
			return -1;
		o->m = nm;
		o->cap = cap;
	}
	m = &o->m[o->n++];
	m->topic = o->data.len;
	cdc_buf_put(&o->data, topic, tl);
	m->key = o->data.len;
	m->keylen = keylen;
	cdc_buf_put(&o->data, key, keylen);
	m->payload = o->data.len;
	m->len = len;
	cdc_buf_put(&o->data, payload, len);
	m->ts = ts;
	m->series = series;
	return o->data.oom ? -1 : 0;
}

size_t cdc_outbox_pending(const cdc_outbox *o)
{
	return o->n - o->next;
}

int cdc_outbox_send(cdc_outbox *o, cdc_sink *sink, const cdc_msg_tag *entry, char *errstr, size_t errlen)
{
	while (o->next < o->n) {
		const msg *m = &o->m[o->next];
		cdc_msg_tag tag = *entry;
		int rc;

		tag.ts = m->ts;
		tag.stat = m->series;
		rc = cdc_sink_produce(sink, o->data.p + m->topic, o->data.p + m->key, m->keylen, o->data.p + m->payload,
				      m->len, &tag, errstr, errlen);
		if (rc == CDC_SINK_FULL)
			return 1;
		if (rc != 0)
			return -1;
		o->next++;
	}
	cdc_outbox_clear(o);
	return 0;
}
