/* deadletter.c - the dead-letter line. */
#include "deadletter.h"
#include "buf.h"
#include "err.h"

#include <string.h>

/* A JSON string of n bytes at p (NULL: ""). */
static void str(cdc_buf *b, const void *p, size_t n)
{
	cdc_buf_json_str(b, p ? p : "", p ? n : 0);
}

int cdc_deadletter_write(cdc_jsonl *f, const cdc_dead_letter *d, char *errstr, size_t errlen)
{
	cdc_buf line = CDC_BUF_INIT;
	const char *base = strrchr(d->segment_path, '/');
	int rc;

	base = base ? base + 1 : d->segment_path;
	cdc_buf_lit(&line, "{\"segment\":");
	str(&line, base, strlen(base));
	cdc_buf_lit(&line, ",\"segment_id\":");
	cdc_buf_i64(&line, d->segment_id);
	cdc_buf_lit(&line, ",\"offset\":");
	cdc_buf_u64(&line, d->offset);
	cdc_buf_lit(&line, ",\"error\":");
	str(&line, d->error ? d->error : "?", strlen(d->error ? d->error : "?"));
	cdc_buf_lit(&line, ",\"topic\":");
	str(&line, d->topic, d->topic ? strlen(d->topic) : 0);
	cdc_buf_lit(&line, ",\"key\":");
	str(&line, d->key, d->keylen);
	cdc_buf_lit(&line, ",\"ts\":");
	cdc_buf_i64(&line, d->ts);
	cdc_buf_lit(&line, ",\"event\":");
	str(&line, d->payload, d->len);
	cdc_buf_putc(&line, '}');
	rc = line.oom ? cdc_error(errstr, errlen, "%s: out of memory", cdc_jsonl_path(f))
		      : cdc_jsonl_append(f, line.p, line.len, errstr, errlen);
	cdc_buf_free(&line);
	return rc;
}

/* A JSON string of n bytes at p, or null when p is NULL. */
static void str_or_null(cdc_buf *b, const void *p, size_t n)
{
	if (p)
		cdc_buf_json_str(b, p, n);
	else
		cdc_buf_lit(b, "null");
}

int cdc_deadletter_write_message(cdc_jsonl *f, const cdc_dead_message *d, char *errstr, size_t errlen)
{
	cdc_buf line = CDC_BUF_INIT;
	const char *e = d->error ? d->error : "?";
	int rc;

	cdc_buf_lit(&line, "{\"topic\":");
	str(&line, d->topic, d->topic ? strlen(d->topic) : 0);
	cdc_buf_lit(&line, ",\"partition\":");
	cdc_buf_i64(&line, d->partition);
	cdc_buf_lit(&line, ",\"offset\":");
	cdc_buf_i64(&line, d->offset);
	cdc_buf_lit(&line, ",\"error\":");
	str(&line, e, strlen(e));
	if (d->to_topic) {
		cdc_buf_lit(&line, ",\"to_topic\":");
		str(&line, d->to_topic, strlen(d->to_topic));
	}
	cdc_buf_lit(&line, ",\"key\":");
	str_or_null(&line, d->key, d->keylen);
	cdc_buf_lit(&line, ",\"event\":");
	str_or_null(&line, d->payload, d->len);
	cdc_buf_putc(&line, '}');
	rc = line.oom ? cdc_error(errstr, errlen, "%s: out of memory", cdc_jsonl_path(f))
		      : cdc_jsonl_append(f, line.p, line.len, errstr, errlen);
	cdc_buf_free(&line);
	return rc;
}
