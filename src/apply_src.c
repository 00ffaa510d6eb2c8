/* apply_src.c - `cdctail apply`'s inputs (include/apply_src.h): JSON-lines
 * files, and a Kafka consumer whose offsets advance only past events done. */
#include "apply_src.h"
#include "err.h"
#include "log.h"

#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The offsets read from one partition, in order, and which are done. */
typedef struct part {
	char *topic;
	int32_t partition;
	int active;          /* assigned to this consumer now */
	uint64_t gen;        /* bumped at each assignment */
	int64_t *off;
	uint8_t *done;
	size_t head, count, cap;
	int64_t next;        /* the offset after the last one read (-1: none) */
	int64_t committed;   /* last committed (-1: none) */
	int eof;             /* read to its end since the last message */
} part;

struct cdc_apply_src {
	/* files */
	char *const *paths;
	int npaths, cur;
	FILE *f;
	char *line;
	size_t cap;
	uint64_t lineno;
	/* kafka */
	rd_kafka_t *rk;
	rd_kafka_message_t *msg;  /* the message last handed out */
	part *parts;
	size_t nparts, capparts;
	int exit_at_end;
	uint64_t pending;
};

/* ---------------------------------------------------------------- files */

int cdc_apply_src_files(cdc_apply_src **out, char *const *paths, int n, char *errstr, size_t errlen)
{
	cdc_apply_src *s = calloc(1, sizeof(*s));

	if (!s)
		return cdc_error(errstr, errlen, "out of memory");
	s->paths = paths;
	s->npaths = n;
	s->cur = -1;
	*out = s;
	return 0;
}

/* The next line of the files: 1, CDC_SRC_END, or -1. */
static int file_next(cdc_apply_src *s, const char **line, size_t *len, cdc_src_pos *pos, char *errstr, size_t errlen)
{
	for (;;) {
		ssize_t k;

		if (!s->f) {
			const char *p;

			if (s->cur + 1 >= s->npaths)
				return CDC_SRC_END;
			p = s->paths[++s->cur];
			s->f = strcmp(p, "-") == 0 ? stdin : fopen(p, "r");
			if (!s->f)
				return cdc_error(errstr, errlen, "%s: %s", p, strerror(errno));
			s->lineno = 0;
		}
		k = getline(&s->line, &s->cap, s->f);
		if (k < 0) {
			int bad = ferror(s->f);

			if (s->f != stdin)
				fclose(s->f);
			s->f = NULL;
			if (bad)
				return cdc_error(errstr, errlen, "%s: read error", s->paths[s->cur]);
			continue;
		}
		s->lineno++;
		while (k > 0 && (s->line[k - 1] == '\n' || s->line[k - 1] == '\r'))
			k--;
		if (k == 0)
			continue;
		*line = s->line;
		*len = (size_t)k;
		pos->part = -1;
		pos->file = s->cur;
		pos->offset = (int64_t)s->lineno;
		pos->partition = -1;
		pos->gen = 0;
		return 1;
	}
}

/* ---------------------------------------------------------------- kafka */

static part *find_part(cdc_apply_src *s, const char *topic, int32_t partition, int create)
{
	size_t i;
	part *p;

	for (i = 0; i < s->nparts; i++)
		if (s->parts[i].partition == partition && strcmp(s->parts[i].topic, topic) == 0)
			return &s->parts[i];
	if (!create)
		return NULL;
	if (s->nparts == s->capparts) {
		size_t cap = s->capparts ? s->capparts * 2 : 16;
		part *np = realloc(s->parts, cap * sizeof(*np));

		if (!np)
			return NULL;
		s->parts = np;
		s->capparts = cap;
	}
	p = &s->parts[s->nparts];
	memset(p, 0, sizeof(*p));
	p->topic = strdup(topic);
	if (!p->topic)
		return NULL;
	p->partition = partition;
	p->next = p->committed = -1;
	s->nparts++;
	return p;
}

/* Drops the offsets done from the front of the queue; the commit point. */
static int64_t commit_point(part *p)
{
	while (p->count && p->done[p->head]) {
		p->head = (p->head + 1) % p->cap;
		p->count--;
	}
	return p->count ? p->off[p->head] : p->next;
}

static int track(part *p, int64_t off)
{
	if (p->count == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 1024, i;
		int64_t *o = malloc(cap * sizeof(*o));
		uint8_t *d = malloc(cap);

		if (!o || !d) {
			free(o);
			free(d);
			return -1;
		}
		for (i = 0; i < p->count; i++) {
			o[i] = p->off[(p->head + i) % p->cap];
			d[i] = p->done[(p->head + i) % p->cap];
		}
		free(p->off);
		free(p->done);
		p->off = o;
		p->done = d;
		p->head = 0;
		p->cap = cap;
	}
	p->off[(p->head + p->count) % p->cap] = off;
	p->done[(p->head + p->count) % p->cap] = 0;
	p->count++;
	p->next = off + 1;
	return 0;
}

/* Commits the given partitions (NULL: all active) as far as they are done. */
static int commit_parts(cdc_apply_src *s, const rd_kafka_topic_partition_list_t *only, char *errstr, size_t errlen)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
	rd_kafka_resp_err_t err;
	size_t i;
	int n = 0;

	if (!l)
		return cdc_error(errstr, errlen, "out of memory");
	for (i = 0; i < s->nparts; i++) {
		part *p = &s->parts[i];
		int64_t at;

		if (!p->active)
			continue;
		if (only && !rd_kafka_topic_partition_list_find(only, p->topic, p->partition))
			continue;
		at = commit_point(p);
		if (at < 0 || at == p->committed)
			continue;
		rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = at;
		p->committed = at;
		n++;
	}
	err = n ? rd_kafka_commit(s->rk, l, 0) : RD_KAFKA_RESP_ERR_NO_ERROR;
	rd_kafka_topic_partition_list_destroy(l);
	if (err && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
		return cdc_error(errstr, errlen, "kafka commit: %s", rd_kafka_err2str(err));
	return 0;
}

/* Assignment changes: new partitions get a fresh tracker generation;
 * revoked ones are committed as far as done, then left. */
static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
			 void *opaque)
{
	cdc_apply_src *s = opaque;
	char e[CDC_ERRSTR_SIZE];
	int i;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		for (i = 0; i < parts->cnt; i++) {
			part *p = find_part(s, parts->elems[i].topic, parts->elems[i].partition, 1);

			if (!p)
				continue;
			p->active = 1;
			p->gen++;
			p->count = p->head = 0;
			p->next = p->committed = -1;
			p->eof = 0;
		}
		if (rd_kafka_rebalance_protocol(rk) && strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0)
			rd_kafka_incremental_assign(rk, parts);
		else
			rd_kafka_assign(rk, parts);
		return;
	}
	if (commit_parts(s, parts, e, sizeof(e)) != 0)
		cdc_log(CDC_LOG_WARN, "apply: committing revoked partitions: %s", e);
	for (i = 0; i < parts->cnt; i++) {
		part *p = find_part(s, parts->elems[i].topic, parts->elems[i].partition, 0);

		if (p) {
			s->pending -= p->count;
			p->active = 0;
			p->gen++;
			p->count = p->head = 0;
		}
	}
	if (rd_kafka_rebalance_protocol(rk) && strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0)
		rd_kafka_incremental_unassign(rk, parts);
	else
		rd_kafka_assign(rk, NULL);
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	(void)rk;
	(void)opaque;
	cdc_log(CDC_LOG_WARN, "kafka: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
}

static int set(rd_kafka_conf_t *conf, const char *k, const char *v, char *errstr, size_t errlen)
{
	char kerr[512];

	if (rd_kafka_conf_set(conf, k, v, kerr, sizeof(kerr)) != RD_KAFKA_CONF_OK)
		return cdc_error(errstr, errlen, "kafka property %s: %s", k, kerr);
	return 0;
}

int cdc_apply_src_kafka(cdc_apply_src **out, const char *const *props, const char *group,
			const char *const *topics, int ntopics, int exit_at_end, char *errstr, size_t errlen)
{
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *sub;
	rd_kafka_resp_err_t err;
	cdc_apply_src *s = calloc(1, sizeof(*s));
	char kerr[512];
	int i;

	if (!s || !conf) {
		free(s);
		if (conf)
			rd_kafka_conf_destroy(conf);
		return cdc_error(errstr, errlen, "out of memory");
	}
	if (set(conf, "group.id", group, errstr, errlen) || set(conf, "enable.auto.commit", "false", errstr, errlen) ||
	    set(conf, "enable.auto.offset.store", "false", errstr, errlen) ||
	    set(conf, "auto.offset.reset", "earliest", errstr, errlen) ||
	    set(conf, "enable.partition.eof", "true", errstr, errlen))
		goto fail;
	for (i = 0; props && props[i]; i++) {
		char kv[1024];
		const char *eq = strchr(props[i], '=');

		if (!eq || (size_t)(eq - props[i]) >= sizeof(kv)) {
			cdc_error(errstr, errlen, "kafka property '%s' is not key=value", props[i]);
			goto fail;
		}
		memcpy(kv, props[i], (size_t)(eq - props[i]));
		kv[eq - props[i]] = '\0';
		if (set(conf, kv, eq + 1, errstr, errlen))
			goto fail;
	}
	rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
	rd_kafka_conf_set_error_cb(conf, on_error);
	rd_kafka_conf_set_opaque(conf, s);
	s->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof(kerr));
	if (!s->rk) {
		cdc_error(errstr, errlen, "kafka consumer: %s", kerr);
		goto fail;
	}
	conf = NULL;
	rd_kafka_poll_set_consumer(s->rk);
	sub = rd_kafka_topic_partition_list_new(ntopics);
	for (i = 0; i < ntopics; i++)
		rd_kafka_topic_partition_list_add(sub, topics[i], RD_KAFKA_PARTITION_UA);
	err = rd_kafka_subscribe(s->rk, sub);
	rd_kafka_topic_partition_list_destroy(sub);
	if (err) {
		cdc_error(errstr, errlen, "kafka subscribe: %s", rd_kafka_err2str(err));
		goto fail;
	}
	s->exit_at_end = exit_at_end;
	s->cur = -1;
	*out = s;
	return 0;
fail:
	if (conf)
		rd_kafka_conf_destroy(conf);
	if (s->rk)
		rd_kafka_destroy(s->rk);
	free(s);
	return -1;
}

/* Whether every assigned partition has been read to its end. */
static int all_eof(const cdc_apply_src *s)
{
	size_t i;
	int any = 0;

	for (i = 0; i < s->nparts; i++) {
		if (!s->parts[i].active)
			continue;
		any = 1;
		if (!s->parts[i].eof)
			return 0;
	}
	return any;
}

static int kafka_next(cdc_apply_src *s, int wait_ms, const char **line, size_t *len, cdc_src_pos *pos,
		      char *errstr, size_t errlen)
{
	for (;;) {
		rd_kafka_message_t *m;
		part *p;

		if (s->msg) {
			rd_kafka_message_destroy(s->msg);
			s->msg = NULL;
		}
		if (s->exit_at_end && all_eof(s))
			return CDC_SRC_END;
		m = rd_kafka_consumer_poll(s->rk, wait_ms);
		if (!m)
			return 0;
		if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
			p = m->rkt ? find_part(s, rd_kafka_topic_name(m->rkt), m->partition, 0) : NULL;
			if (p)
				p->eof = 1;
			rd_kafka_message_destroy(m);
			wait_ms = 0;
			continue;
		}
		if (m->err) {
			int fatal = m->err == RD_KAFKA_RESP_ERR__FATAL || m->err == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED;

			cdc_log(CDC_LOG_WARN, "kafka: %s", rd_kafka_message_errstr(m));
			rd_kafka_message_destroy(m);
			if (fatal)
				return cdc_error(errstr, errlen, "kafka consumer failed");
			continue;
		}
		p = find_part(s, rd_kafka_topic_name(m->rkt), m->partition, 0);
		if (!p || !p->active || track(p, m->offset) != 0) {
			rd_kafka_message_destroy(m);
			if (!p || !p->active)
				continue;
			return cdc_error(errstr, errlen, "out of memory");
		}
		p->eof = 0;
		s->pending++;
		s->msg = m;
		*line = m->payload ? (const char *)m->payload : "";
		*len = m->len;
		pos->part = (int)(p - s->parts);
		pos->partition = m->partition;
		pos->offset = m->offset;
		pos->file = -1;
		pos->gen = p->gen;
		return 1;
	}
}

int cdc_apply_src_next(cdc_apply_src *s, int wait_ms, const char **line, size_t *len, cdc_src_pos *pos,
		       char *errstr, size_t errlen)
{
	if (s->rk)
		return kafka_next(s, wait_ms, line, len, pos, errstr, errlen);
	return file_next(s, line, len, pos, errstr, errlen);
}

void cdc_apply_src_done(cdc_apply_src *s, const cdc_src_pos *pos)
{
	part *p;
	size_t i;

	if (pos->part < 0 || (size_t)pos->part >= s->nparts)
		return;
	p = &s->parts[pos->part];
	if (p->gen != pos->gen || !p->active)
		return;
	/* the tracked offsets are in order: search from the front */
	for (i = 0; i < p->count; i++) {
		size_t k = (p->head + i) % p->cap;

		if (p->off[k] == pos->offset) {
			if (!p->done[k])
				s->pending--;
			p->done[k] = 1;
			return;
		}
	}
}

int cdc_apply_src_commit(cdc_apply_src *s, char *errstr, size_t errlen)
{
	return s->rk ? commit_parts(s, NULL, errstr, errlen) : 0;
}

void cdc_apply_src_where(const cdc_apply_src *s, const cdc_src_pos *pos, char *out, size_t outlen)
{
	if (pos->part >= 0 && (size_t)pos->part < s->nparts)
		snprintf(out, outlen, "%s[%d]@%lld", s->parts[pos->part].topic, (int)pos->partition,
			 (long long)pos->offset);
	else if (pos->file >= 0 && pos->file < s->npaths)
		snprintf(out, outlen, "%s:%lld", s->paths[pos->file], (long long)pos->offset);
	else
		snprintf(out, outlen, "?");
}

uint64_t cdc_apply_src_pending(const cdc_apply_src *s)
{
	return s->rk ? s->pending : 0;
}

void cdc_apply_src_close(cdc_apply_src *s)
{
	size_t i;

	if (!s)
		return;
	if (s->msg)
		rd_kafka_message_destroy(s->msg);
	if (s->rk) {
		rd_kafka_consumer_close(s->rk);
		rd_kafka_destroy(s->rk);
	}
	if (s->f && s->f != stdin)
		fclose(s->f);
	for (i = 0; i < s->nparts; i++) {
		free(s->parts[i].topic);
		free(s->parts[i].off);
		free(s->parts[i].done);
	}
	free(s->parts);
	free(s->line);
	free(s);
}
