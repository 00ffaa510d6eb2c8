/* relay.c - `cdctail relay`: the consumer loop, the batches and their
 * commits (include/relay.h). What is an event is relay_event.c's concern,
 * which copy passes copies.c's, durability of the ids idstore.c's.
 *
 * One batch at a time: messages are read (every assigned partition, in
 * Kafka's order), decided and produced; the batch ends after batch_max
 * messages or commit_ms, at a rebalance and at the stop. Ending it waits for
 * every delivery report; if all copies were acknowledged (or refused for
 * good and written as dead letters) the id store and the dead letters are
 * synced and the offsets after the batch's last messages committed. If a
 * copy was not acknowledged, the batch's id-store changes are rolled back
 * and its partitions read again from the batch's first offsets. */
#include "relay.h"
#include "cli.h"
#include "cleanup.h"
#include "copies.h"
#include "deadletter.h"
#include "err.h"
#include "idstore.h"
#include "jsonl.h"
#include "log.h"
#include "relay_event.h"
#include "sink.h"
#include "topic.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <librdkafka/rdkafka.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define FLUSH_MS 600000      /* longer than librdkafka's message.timeout.ms default (300 s) */
#define EXPIRE_CHUNK 10000   /* ids expired per batch at most */
#define ONCE_ASSIGN_MS 120000 /* --once: how long to wait for the first assignment (a dead
			      * member keeps its partitions until its session times out) */
#define MAX_PROPS 64

/* One partition the consumer was given (entries are kept after a revoke, so
 * an index in a delivery report's tag stays valid). */
typedef struct rpart {
	char topic[256];
	int32_t partition;
	int64_t first;      /* offset of the open batch's first message here, -1 none */
	int64_t next;       /* the offset to commit (after the last message handled), -1 none */
	int dirty;          /* next is not committed yet */
	int eof;            /* read to the end (and nothing since) */
	int assigned;
} rpart;

typedef struct relay {
	const cdc_relay_opts *o;
	cdc_relay_stats *st;
	rd_kafka_t *rk;
	cdc_sink *sink;
	cdc_idstore *ids;
	cdc_jsonl *dead;
	cdc_jsonl *unconfirmed;   /* --min-copies: changes forgotten short of N copies */
	int64_t last_expire_ms, expire_every_ms;
	char cb_err[CDC_ERRSTR_SIZE];
	regex_t from_re;
	int have_re;
	rpart *parts;
	size_t nparts, cap, last;
	uint64_t batch_msgs;
	int64_t batch_start_ms;
	int batch_failed;
	char fail[CDC_ERRSTR_SIZE];
	int rebalanced;     /* an assignment (maybe empty) was received */
	int fatal;
	char fatal_err[CDC_ERRSTR_SIZE];
	char topic[512];
} relay;

static int64_t mono_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int64_t wall_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static int set_fatal(relay *r, const char *msg)
{
	if (!r->fatal)
		snprintf(r->fatal_err, sizeof(r->fatal_err), "%s", msg);
	r->fatal = 1;
	return -1;
}

int cdc_relay_topic_regex(const char *tmpl, char *out, size_t n, char *errstr, size_t errlen)
{
	static const char *names[] = { "{keyspace}", "{table}", "{prefix}" };
	size_t len = 0;
	const char *p;

	if (n < 3 || !*tmpl)
		return cdc_error(errstr, errlen, "topic template '%s' is empty", tmpl);
	out[len++] = '^';
	for (p = tmpl; *p;) {
		const char *piece = NULL;
		char esc[3] = { 0 };

		if (*p == '{') {
			size_t i;

			for (i = 0; i < 3 && strncmp(p, names[i], strlen(names[i])) != 0; i++)
				;
			if (i == 3)
				return cdc_error(errstr, errlen, "topic template '%s': only {keyspace}, {table} and {prefix} "
						 "may be in braces", tmpl);
			piece = i < 2 ? "[A-Za-z0-9_]+" : CDC_TOPIC_PREFIX;
			p += strlen(names[i]);
		} else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			   *p == '_' || *p == '-') {
			esc[0] = *p++;
			piece = esc;
		} else if (*p == '.') {
			esc[0] = '\\', esc[1] = '.';
			p++;
			piece = esc;
		} else {
			return cdc_error(errstr, errlen, "topic template '%s': '%c' is not allowed in a Kafka topic name",
					 tmpl, *p);
		}
		if (len + strlen(piece) + 2 > n)
			return cdc_error(errstr, errlen, "topic template '%s' is too long", tmpl);
		memcpy(out + len, piece, strlen(piece));
		len += strlen(piece);
	}
	out[len++] = '$';
	out[len] = '\0';
	return 0;
}

/* ---- partitions ---- */

/* The entry of (topic, partition), added when missing: its index, or -1
 * when out of memory. */
static long part_index(relay *r, const char *topic, int32_t partition)
{
	size_t i;

	if (r->last < r->nparts && r->parts[r->last].partition == partition &&
	    strcmp(r->parts[r->last].topic, topic) == 0)
		return (long)r->last;
	for (i = 0; i < r->nparts; i++)
		if (r->parts[i].partition == partition && strcmp(r->parts[i].topic, topic) == 0)
			return (long)(r->last = i);
	if (r->nparts == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		rpart *np = realloc(r->parts, cap * sizeof(*np));

		if (!np)
			return -1;
		r->parts = np;
		r->cap = cap;
	}
	memset(&r->parts[r->nparts], 0, sizeof(rpart));
	snprintf(r->parts[r->nparts].topic, sizeof(r->parts[0].topic), "%s", topic);
	r->parts[r->nparts].partition = partition;
	r->parts[r->nparts].first = r->parts[r->nparts].next = -1;
	return (long)(r->last = r->nparts++);
}

/* Whether every assigned partition was read to its end (and one is). */
static int caught_up(const relay *r)
{
	size_t i, assigned = 0;

	for (i = 0; i < r->nparts; i++) {
		if (!r->parts[i].assigned)
			continue;
		assigned++;
		if (!r->parts[i].eof)
			return 0;
	}
	return assigned > 0;
}

static size_t assigned_count(const relay *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->nparts; i++)
		n += r->parts[i].assigned != 0;
	return n;
}

/* ---- dead letters and deliveries ---- */

/* Writes one dead letter for the message at parts[pi]/offset: 0, or -1
 * (fatal: a message would be lost otherwise). */
static int dead_letter(relay *r, size_t pi, int64_t offset, const char *why, const char *to_topic,
		       const void *key, size_t keylen, const void *payload, size_t len)
{
	cdc_dead_message d = { r->parts[pi].topic, r->parts[pi].partition, offset, why, to_topic,
			       key, payload, keylen, len };
	char err[CDC_ERRSTR_SIZE];

	if (cdc_deadletter_write_message(r->dead, &d, err, sizeof(err)) != 0)
		return set_fatal(r, err);
	r->st->dead++;
	cdc_log(CDC_LOG_WARN, "relay: %s [%d] offset %lld: %s: written to %s", r->parts[pi].topic,
		(int)r->parts[pi].partition, (long long)offset, why, cdc_jsonl_path(r->dead));
	return 0;
}

/* The producer's delivery report: tag->stat is the source partition's
 * index, tag->offset the source offset. */
static void on_delivery(void *opaque, const cdc_msg_tag *tag, const cdc_delivery *d)
{
	relay *r = opaque;

	if (d->status == CDC_DELIVERED) {
		r->st->copied++;
	} else if (d->status == CDC_REJECTED && tag->stat < r->nparts) {
		char why[300];

		snprintf(why, sizeof(why), "refused by Kafka: %s", d->err ? d->err : "?");
		dead_letter(r, tag->stat, (int64_t)tag->offset, why, d->topic, d->key, d->keylen, d->payload, d->len);
	} else {
		if (!r->batch_failed)
			snprintf(r->fail, sizeof(r->fail), "%s: %s", d->topic, d->err ? d->err : "not delivered");
		r->batch_failed = 1;
	}
}

/* ---- batches ---- */

/* Commits every partition's next offset not yet committed. A failed commit
 * is logged and left for the next batch (offsets only grow): 0. */
static int commit_offsets(relay *r)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)r->nparts + 1);
	rd_kafka_resp_err_t err;
	size_t i;

	if (!l)
		return set_fatal(r, "out of memory");
	for (i = 0; i < r->nparts; i++)
		if (r->parts[i].dirty && r->parts[i].next >= 0)
			rd_kafka_topic_partition_list_add(l, r->parts[i].topic, r->parts[i].partition)->offset =
				r->parts[i].next;
	if (l->cnt == 0) {
		rd_kafka_topic_partition_list_destroy(l);
		return 0;
	}
	err = rd_kafka_commit(r->rk, l, 0);
	rd_kafka_topic_partition_list_destroy(l);
	if (err) {
		cdc_log(CDC_LOG_WARN, "relay: offset commit failed: %s (the copies are made; the offsets go with "
			"the next commit)", rd_kafka_err2str(err));
		return 0;
	}
	for (i = 0; i < r->nparts; i++)
		r->parts[i].dirty = 0;
	r->st->commits++;
	return 0;
}

/* A batch with a copy Kafka did not acknowledge: forgets its id-store
 * changes and, unless its partitions are being taken away, reads them
 * again from the batch's first offsets. 0, or -1 (fatal). */
static int retry_batch(relay *r, int revoking)
{
	rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new((int)r->nparts + 1);
	rd_kafka_error_t *e;
	size_t i;

	if (!l)
		return set_fatal(r, "out of memory");
	if (r->ids)
		cdc_idstore_rollback(r->ids);
	cdc_log(CDC_LOG_ERR, "relay: a copy was not acknowledged (%s): %s", r->fail,
		revoking ? "the partitions' new owner reads the batch again" : "reading the batch again");
	r->st->retries++;
	for (i = 0; i < r->nparts; i++) {
		rpart *p = &r->parts[i];

		if (p->first < 0)
			continue;
		if (!revoking)
			rd_kafka_topic_partition_list_add(l, p->topic, p->partition)->offset = p->first;
		p->next = p->first;
		p->first = -1;
		p->eof = 0;
	}
	r->batch_msgs = 0;
	r->batch_failed = 0;
	if (l->cnt > 0 && (e = rd_kafka_seek_partitions(r->rk, l, 10000)) != NULL) {
		snprintf(r->fail, sizeof(r->fail), "%s", rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
		rd_kafka_topic_partition_list_destroy(l);
		return set_fatal(r, "relay: cannot go back to the batch's first offsets");
	}
	for (i = 0; l->cnt > 0 && i < (size_t)l->cnt; i++)
		if (l->elems[i].err) {
			snprintf(r->fatal_err, sizeof(r->fatal_err), "relay: seek %s [%d]: %s", l->elems[i].topic,
				 (int)l->elems[i].partition, rd_kafka_err2str(l->elems[i].err));
			r->fatal = 1;
		}
	rd_kafka_topic_partition_list_destroy(l);
	if (r->fatal)
		return -1;
	cdc_sink_poll(r->sink, 1000); /* no hot loop while Kafka is away */
	return 0;
}

/* The expiry's callback: a --min-copies count ("C" + id) that goes short of
 * N copies is written to unconfirmed.jsonl. 0, or 1 (the error in
 * r->cb_err). */
static int on_expired(void *opaque, const void *id, size_t len, const cdc_idstore_rec *rec)
{
	relay *r = opaque;
	const char *k = id;
	char line[600];
	int n;

	if (r->o->min_copies < 2 || len < 2 || k[0] != 'C' || rec->count >= r->o->min_copies)
		return 0;
	n = snprintf(line, sizeof(line), "{\"id\":\"%.*s\",\"copies\":%u,\"min_copies\":%u,\"first_seen_us\":%lld,"
		     "\"last_seen_us\":%lld}", (int)(len - 1), k + 1, (unsigned)rec->count, r->o->min_copies,
		     (long long)rec->first_us, (long long)rec->last_us);
	if (cdc_jsonl_append(r->unconfirmed, line, (size_t)n, r->cb_err, sizeof(r->cb_err)) != 0)
		return 1;
	r->st->unconfirmed++;
	return 0;
}

/* Expires ids older than the window, in the open batch: 0, or -1 with err. */
static int expire_ids(relay *r, char *err, size_t errlen)
{
	uint64_t before = r->st->unconfirmed;
	int rc = cdc_idstore_expire_each(r->ids, wall_us(), EXPIRE_CHUNK, on_expired, r, NULL, err, errlen);

	if (rc > 0)
		snprintf(err, errlen, "%s", r->cb_err);
	r->last_expire_ms = mono_ms();
	if (r->st->unconfirmed > before)
		cdc_log(CDC_LOG_WARN, "relay: %" PRIu64 " changes left the id window with fewer than %u copies: "
			"not passed, listed in %s", r->st->unconfirmed - before, r->o->min_copies,
			cdc_jsonl_path(r->unconfirmed));
	return rc == 0 ? 0 : -1;
}

/* Makes the batch's files and then its ids durable: 0, or -1 with err. */
static int sync_state(relay *r, char *err, size_t errlen)
{
	if (cdc_jsonl_sync(r->dead, err, errlen) != 0 || cdc_jsonl_sync(r->unconfirmed, err, errlen) != 0)
		return -1;
	return r->ids ? cdc_idstore_sync(r->ids, err, errlen) : 0;
}

/* Ends the open batch (see the top of the file). 0, or -1 (fatal). */
static int commit_batch(relay *r, int revoking)
{
	char err[CDC_ERRSTR_SIZE];
	size_t i;

	if (r->fatal)
		return -1;
	if (cdc_sink_flush(r->sink, FLUSH_MS, err, sizeof(err)) != 0 && !r->batch_failed) {
		snprintf(r->fail, sizeof(r->fail), "%s", err);
		r->batch_failed = 1;
	}
	if (r->fatal)
		return -1;
	if (r->batch_failed)
		return retry_batch(r, revoking);
	if (r->batch_msgs == 0) {
		for (i = 0; i < r->nparts; i++)
			if (r->parts[i].dirty)
				return commit_offsets(r);
		return 0;
	}
	if (r->ids && expire_ids(r, err, sizeof(err)) != 0)
		return set_fatal(r, err);
	if (sync_state(r, err, sizeof(err)) != 0)
		return set_fatal(r, err);
	for (i = 0; i < r->nparts; i++)
		r->parts[i].first = -1;
	r->batch_msgs = 0;
	return commit_offsets(r);
}

/* ---- messages ---- */

/* Produces the copy of m to r->topic: 0, or -1 (fatal). */
static int produce(relay *r, size_t pi, const rd_kafka_message_t *m)
{
	cdc_msg_tag tag = { 0 };
	char err[CDC_ERRSTR_SIZE];
	int rc;

	tag.stat = (uint32_t)pi;
	tag.offset = (uint64_t)m->offset;
	while ((rc = cdc_sink_produce(r->sink, r->topic, m->key, m->key_len, m->payload, m->len, &tag, err,
				      sizeof(err))) == CDC_SINK_FULL)
		cdc_sink_poll(r->sink, 10);
	return rc == 0 ? 0 : set_fatal(r, err);
}

/* Handles one message: 0, or -1 (fatal). */
static int handle(relay *r, const rd_kafka_message_t *m)
{
	const cdc_relay_opts *o = r->o;
	const char *topic = rd_kafka_topic_name(m->rkt);
	long pi = part_index(r, topic, m->partition);
	char why[CDC_ERRSTR_SIZE];
	cdc_relay_event ev;
	rpart *p;
	int v;

	if (pi < 0)
		return set_fatal(r, "out of memory");
	p = &r->parts[pi];
	r->st->read++;
	if (p->first < 0)
		p->first = m->offset;
	p->next = m->offset + 1;
	p->dirty = 1;
	p->eof = 0;
	if (r->batch_msgs++ == 0)
		r->batch_start_ms = mono_ms();
	if (cdc_relay_event_parse(m->payload, m->payload ? m->len : 0, &ev, why, sizeof(why)) != 0)
		return dead_letter(r, (size_t)pi, m->offset, why, NULL, m->key, m->key_len, m->payload, m->len);
	if (o->has_since && ev.ts < o->since) {
		r->st->before_since++;
		return 0;
	}
	v = cdc_copies_decide(r->ids, o->min_copies, &ev, m->partition, m->offset, wall_us(), why, sizeof(why));
	switch (v) {
	case CDC_COPY_PASS: break;
	case CDC_COPY_DUPLICATE: r->st->duplicates++; return 0;
	case CDC_COPY_WAIT: r->st->waiting++; return 0;
	case CDC_COPY_SURPLUS: r->st->surplus++; return 0;
	default: return set_fatal(r, why);
	}
	cdc_topic_format(o->to, NULL, ev.keyspace, ev.table, r->topic, sizeof(r->topic));
	if (regexec(&r->from_re, r->topic, 0, NULL, 0) == 0)
		return dead_letter(r, (size_t)pi, m->offset, "its output topic matches --from (it would be read again)",
				   r->topic, m->key, m->key_len, m->payload, m->len);
	return produce(r, (size_t)pi, m);
}

/* ---- the consumer ---- */

static void on_rebalance(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *l,
			 void *opaque)
{
	relay *r = opaque;
	int coop = strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
	rd_kafka_error_t *e = NULL;
	int i;

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		for (i = 0; i < l->cnt; i++) {
			long pi = part_index(r, l->elems[i].topic, l->elems[i].partition);

			if (pi < 0) {
				set_fatal(r, "out of memory");
				continue;
			}
			r->parts[pi].assigned = 1;
			r->parts[pi].eof = 0;
			r->parts[pi].first = r->parts[pi].next = -1;
			r->parts[pi].dirty = 0;
		}
		if (coop)
			e = rd_kafka_incremental_assign(rk, l);
		else
			rd_kafka_assign(rk, l);
		r->rebalanced = 1;
		cdc_log(CDC_LOG_INFO, "relay: %d partitions assigned (%zu in all)", l->cnt, assigned_count(r));
	} else {
		/* the batch ends here: what was read is copied and committed before
		 * another consumer gets the partitions */
		commit_batch(r, 1);
		for (i = 0; i < l->cnt; i++) {
			long pi = part_index(r, l->elems[i].topic, l->elems[i].partition);

			if (pi >= 0)
				r->parts[pi].assigned = r->parts[pi].eof = r->parts[pi].dirty = 0;
		}
		if (coop)
			e = rd_kafka_incremental_unassign(rk, l);
		else
			rd_kafka_assign(rk, NULL);
		cdc_log(CDC_LOG_INFO, "relay: %d partitions revoked", l->cnt);
	}
	if (e) {
		cdc_log(CDC_LOG_ERR, "relay: rebalance: %s", rd_kafka_error_string(e));
		rd_kafka_error_destroy(e);
	}
}

static void on_consumer_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
	relay *r = opaque;
	char buf[512];

	if (err == RD_KAFKA_RESP_ERR__FATAL) {
		char why[256];

		rd_kafka_fatal_error(rk, why, sizeof(why));
		snprintf(buf, sizeof(buf), "fatal Kafka consumer error: %s", why);
		set_fatal(r, buf);
	} else {
		cdc_log(CDC_LOG_WARN, "kafka consumer: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)err), reason);
	}
}

/* Sets each "key=value" of props on conf: 0, or -1 with errstr. */
static int set_props(rd_kafka_conf_t *conf, const char *const *props, char *errstr, size_t errlen)
{
	char kerr[512];

	for (; props && *props; props++) {
		char kv[1024], *eq;

		snprintf(kv, sizeof(kv), "%s", *props);
		eq = strchr(kv, '=');
		if (!eq)
			return cdc_error(errstr, errlen, "kafka property '%s' is not key=value", kv);
		*eq = '\0';
		if (rd_kafka_conf_set(conf, kv, eq + 1, kerr, sizeof(kerr)) != RD_KAFKA_CONF_OK)
			return cdc_error(errstr, errlen, "kafka property %s: %s", kv, kerr);
	}
	return 0;
}

/* The consumer: our settings, then o->props and o->consumer_props over
 * them, subscribed to the --from regex. 0, or -1 with errstr. */
static int consumer_new(relay *r, const char *regex, char *errstr, size_t errlen)
{
	const char *ours[] = {
		"enable.auto.commit=false", "enable.auto.offset.store=false", "auto.offset.reset=earliest",
		"enable.partition.eof=true", "topic.metadata.refresh.interval.ms=30000", NULL,
	};
	rd_kafka_conf_t *conf = rd_kafka_conf_new();
	rd_kafka_topic_partition_list_t *sub;
	rd_kafka_resp_err_t err;
	char kerr[512], group[300];

	if (!conf)
		return cdc_error(errstr, errlen, "out of memory");
	snprintf(group, sizeof(group), "group.id=%s", r->o->group ? r->o->group : CDC_RELAY_GROUP);
	{
		const char *g[] = { group, NULL };

		if (set_props(conf, ours, errstr, errlen) != 0 || set_props(conf, g, errstr, errlen) != 0 ||
		    set_props(conf, r->o->props, errstr, errlen) != 0 ||
		    set_props(conf, r->o->consumer_props, errstr, errlen) != 0) {
			rd_kafka_conf_destroy(conf);
			return -1;
		}
	}
	rd_kafka_conf_set_rebalance_cb(conf, on_rebalance);
	rd_kafka_conf_set_error_cb(conf, on_consumer_error);
	rd_kafka_conf_set_opaque(conf, r);
	r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, kerr, sizeof(kerr));
	if (!r->rk) {
		rd_kafka_conf_destroy(conf);
		return cdc_error(errstr, errlen, "kafka consumer: %s", kerr);
	}
	rd_kafka_poll_set_consumer(r->rk);
	sub = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(sub, regex, RD_KAFKA_PARTITION_UA);
	err = rd_kafka_subscribe(r->rk, sub);
	rd_kafka_topic_partition_list_destroy(sub);
	if (err)
		return cdc_error(errstr, errlen, "kafka subscribe %s: %s", regex, rd_kafka_err2str(err));
	return 0;
}

/* Both property lists in one (NULL-terminated, at most 2 * MAX_PROPS). */
static void merge_props(const char **out, const char *const *a, const char *const *b)
{
	size_t n = 0;

	for (; a && *a && n < 2 * MAX_PROPS; a++)
		out[n++] = *a;
	for (; b && *b && n < 2 * MAX_PROPS; b++)
		out[n++] = *b;
	out[n] = NULL;
}

/* Opens what the relay needs besides the consumer: 0, or -1 with errstr. */
static int open_parts(relay *r, const char *regex, char *errstr, size_t errlen)
{
	const cdc_relay_opts *o = r->o;
	const char *pprops[2 * MAX_PROPS + 1];
	char path[4096], sample[512];

	if (regcomp(&r->from_re, regex, REG_EXTENDED | REG_NOSUB) != 0)
		return cdc_error(errstr, errlen, "--from: the regex %s does not compile", regex);
	r->have_re = 1;
	cdc_topic_format(o->to, NULL, "ks", "tb", sample, sizeof(sample));
	if (regexec(&r->from_re, sample, 0, NULL, 0) == 0)
		return cdc_error(errstr, errlen, "--to %s names topics that --from %s matches (%s): the relay would "
				 "read its own copies", o->to, o->from, sample);
	if (mkdir(o->state_dir, 0750) != 0 && errno != EEXIST)
		return cdc_error(errstr, errlen, "%s: mkdir: %s", o->state_dir, strerror(errno));
	snprintf(path, sizeof(path), "%s/dead-letter.jsonl", o->state_dir);
	if (!(r->dead = cdc_jsonl_new(path)))
		return cdc_error(errstr, errlen, "out of memory");
	snprintf(path, sizeof(path), "%s/unconfirmed.jsonl", o->state_dir);
	if (!(r->unconfirmed = cdc_jsonl_new(path)))
		return cdc_error(errstr, errlen, "out of memory");
	{
		int64_t w = o->window_us ? o->window_us : CDC_IDSTORE_DEFAULT_WINDOW_US;

		r->expire_every_ms = w / 2000 < 500 ? 500 : w / 2000 > 60000 ? 60000 : w / 2000;
	}
	if (o->min_copies > 0) {
		cdc_idstore_opts io = { .window_us = o->window_us,
					.map_bytes = o->state_max_bytes ? o->state_max_bytes : CDC_RELAY_STATE_MAX_BYTES };

		snprintf(path, sizeof(path), "%s/ids", o->state_dir);
		if (cdc_idstore_open(&r->ids, path, &io, errstr, errlen) != 0)
			return -1;
	}
	merge_props(pprops, o->props, o->producer_props);
	return cdc_sink_kafka_new(&r->sink, pprops, 0, on_delivery, r, errstr, errlen);
}

static void close_parts(relay *r)
{
	if (r->rk)
		rd_kafka_destroy(r->rk);
	r->rk = NULL;
	cdc_sink_destroy(r->sink);
	r->sink = NULL;
	cdc_idstore_close(r->ids);
	cdc_jsonl_destroy(r->dead);
	cdc_jsonl_destroy(r->unconfirmed);
	if (r->have_re)
		regfree(&r->from_re);
	free(r->parts);
}

/* Reads until stopped; the last batch is committed before it returns. */
static void loop(relay *r)
{
	const cdc_relay_opts *o = r->o;
	size_t batch_max = o->batch_max ? o->batch_max : CDC_RELAY_BATCH;
	int commit_ms = o->commit_ms ? o->commit_ms : CDC_RELAY_COMMIT_MS;
	int64_t start = mono_ms(), last_msg = start;

	while (!r->fatal && !(o->stop && *o->stop)) {
		rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, 100);
		int64_t now;

		if (m) {
			if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
				long pi = part_index(r, rd_kafka_topic_name(m->rkt), m->partition);

				if (pi >= 0)
					r->parts[pi].eof = 1;
			} else if (m->err) {
				cdc_log(CDC_LOG_WARN, "kafka consumer: %s", rd_kafka_message_errstr(m));
			} else {
				handle(r, m);
				last_msg = mono_ms();
			}
			rd_kafka_message_destroy(m);
		}
		cdc_sink_poll(r->sink, 0);
		now = mono_ms();
		if (r->batch_failed || r->batch_msgs >= batch_max ||
		    (r->batch_msgs && now - r->batch_start_ms >= commit_ms))
			commit_batch(r, 0);
		if (o->once && r->rebalanced && (caught_up(r) || assigned_count(r) == 0) && !r->batch_failed) {
			commit_batch(r, 0);
			if (caught_up(r) || assigned_count(r) == 0)
				break;
		}
		if (o->once && !r->rebalanced && now - start >= ONCE_ASSIGN_MS) {
			set_fatal(r, "--once: no assignment from the group coordinator within 120 s");
			break;
		}
		if (r->ids && r->batch_msgs == 0 && !r->batch_failed && now - r->last_expire_ms >= r->expire_every_ms) {
			char err[CDC_ERRSTR_SIZE];

			if (expire_ids(r, err, sizeof(err)) != 0 || sync_state(r, err, sizeof(err)) != 0)
				set_fatal(r, err);
		}
		if (o->idle_exit_s > 0 && now - last_msg >= (int64_t)o->idle_exit_s * 1000)
			break;
	}
	commit_batch(r, 0);
}

int cdc_relay(const cdc_relay_opts *o, cdc_relay_stats *st, char *errstr, size_t errlen)
{
	relay r;
	char regex[1024];
	int rc = 0;

	memset(&r, 0, sizeof(r));
	memset(st, 0, sizeof(*st));
	r.o = o;
	r.st = st;
	if (cdc_relay_topic_regex(o->from, regex, sizeof(regex), errstr, errlen) != 0)
		return -1;
	if (open_parts(&r, regex, errstr, errlen) != 0 || consumer_new(&r, regex, errstr, errlen) != 0) {
		close_parts(&r);
		return -1;
	}
	cdc_log(CDC_LOG_INFO, "relay: reading %s (group %s) into %s%s", regex, o->group ? o->group : CDC_RELAY_GROUP,
		o->to, o->min_copies == 0 ? "" : o->min_copies == 1 ? ", each id once" : ", each change at its N-th copy");
	loop(&r);
	/* leaves the group: the revoke commits what is left */
	rd_kafka_consumer_close(r.rk);
	if (r.fatal) {
		snprintf(errstr, errlen, "%s", r.fatal_err);
		rc = -1;
	}
	close_parts(&r);
	return rc;
}

/* ---- the command ---- */

/* `cdctail relay --help`. */
static void usage(FILE *f)
{
	fputs("Usage: cdctail relay --kafka BROKERS --from TEMPLATE --to TEMPLATE --state-dir DIR\n"
	      "         [--group NAME] [--since T] [--dedup | --min-copies N] [--dedup-window D]\n"
	      "         [--state-max-bytes SIZE]\n"
	      "         [--once | --idle-exit SECONDS] [--batch N] [--commit-interval MS]\n"
	      "         [-X prop=value]... [--consumer-prop prop=value]... [--producer-prop prop=value]...\n"
	      "\n"
	      "Copies events from the topics TEMPLATE --from names (e.g. tmp.{keyspace}.{table})\n"
	      "to the topic --to names for each event's keyspace and table, with the same key\n"
	      "and value, in order per partition. Offsets are committed only after the copies\n"
	      "are acknowledged; a restart goes on from there (nothing lost, a copy may repeat).\n"
	      "Runs until SIGTERM or SIGINT (the batch is flushed and committed, exit 0).\n"
	      "\n"
	      "  --kafka BROKERS        bootstrap servers (both clients)\n"
	      "  --from TEMPLATE        topics to read: {keyspace} and {table} match any name\n"
	      "  --to TEMPLATE          topic to write, from the event's keyspace and table\n"
	      "  --state-dir DIR        ids (DIR/ids, an LMDB store) and DIR/dead-letter.jsonl\n"
	      "  --group NAME           consumer group (default cdctail-relay); relays of one\n"
	      "                         group share the partitions\n"
	      "  --since T              copy only events with ts at or after T: microseconds or\n"
	      "                         ISO 8601 (the snapshot start minus a clock-skew margin)\n"
	      "  --dedup                pass each id once (the first replica's copy)\n"
	      "  --min-copies N         pass a change when the N-th replica's copy is read\n"
	      "  --dedup-window D       how long ids are remembered (Ns, Nm, Nh, Nd; default 7d)\n"
	      "  --state-max-bytes SIZE the most the id store may hold (K, M, G, T; default 16G)\n"
	      "  --once                 stop when every partition is read to its end\n"
	      "  --idle-exit SECONDS    stop after SECONDS without a message\n"
	      "  --batch N              commit after N messages at most (default 10000)\n"
	      "  --commit-interval MS   ... and at least every MS milliseconds (default 1000)\n"
	      "  -X prop=value          a librdkafka property for both clients (repeatable)\n"
	      "  --consumer-prop prop=value, --producer-prop prop=value\n"
	      "                         ... for one of them\n"
	      "\n"
	      "Example:\n"
	      "  cdctail relay --kafka kafka-1:9092 --from 'tmp.{keyspace}.{table}' \\\n"
	      "      --to 'cdctail.{keyspace}.{table}' --since 2026-11-25T05:55:00Z \\\n"
	      "      --min-copies 2 --state-dir /var/lib/cdctail/relay\n"
	      "\n"
	      "Exit codes: 0 stopped cleanly (signal, --once, --idle-exit), 1 a fatal error\n"
	      "(what was not committed is read again next time), 2 usage error.\n",
	      f);
}

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* Adds optarg to a property list: 0, or -1 when full. */
static int add_prop(const char **list, int *n, const char *prop)
{
	if (*n >= MAX_PROPS)
		return -1;
	list[(*n)++] = prop;
	list[*n] = NULL;
	return 0;
}

/* A positive number below limit: 0 and *out, or -1. */
static int parse_count(const char *s, long limit, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v >= limit)
		return -1;
	*out = v;
	return 0;
}

/* Parses argv into o (the lists are the caller's arrays): 0, or 2 (usage,
 * said on stderr), or 1 (--help printed). */
static int relay_parse_args(int argc, char **argv, cdc_relay_opts *o, const char **props, const char **cprops,
		      const char **pprops, char *bootstrap, size_t blen)
{
	static const struct option longopts[] = {
		{ "kafka", required_argument, NULL, 'k' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "group", required_argument, NULL, 'g' },
		{ "since", required_argument, NULL, 'S' },
		{ "dedup", no_argument, NULL, 'd' },
		{ "min-copies", required_argument, NULL, 'm' },
		{ "dedup-window", required_argument, NULL, 'w' },
		{ "state-max-bytes", required_argument, NULL, 'M' },
		{ "once", no_argument, NULL, 'o' },
		{ "idle-exit", required_argument, NULL, 'i' },
		{ "batch", required_argument, NULL, 'b' },
		{ "commit-interval", required_argument, NULL, 'c' },
		{ "consumer-prop", required_argument, NULL, 'C' },
		{ "producer-prop", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, np = 0, nc = 0, npp = 0, have_kafka = 0;
	int64_t secs;
	long v;

	optind = 1;
	while ((c = getopt_long(argc, argv, "X:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'k':
			snprintf(bootstrap, blen, "bootstrap.servers=%s", optarg);
			have_kafka = 1;
			break;
		case 'f': o->from = optarg; break;
		case 't': o->to = optarg; break;
		case 's': o->state_dir = optarg; break;
		case 'g': o->group = optarg; break;
		case 'S':
			if (cdc_cli_parse_time(optarg, &o->since) != 0) {
				fprintf(stderr, "cdctail relay: --since '%s' is neither microseconds nor an ISO 8601 time\n",
					optarg);
				return 2;
			}
			o->has_since = 1;
			break;
		case 'd':
			if (o->min_copies == 0)
				o->min_copies = 1;
			break;
		case 'm':
			if (parse_count(optarg, 1000, &v) != 0) {
				fprintf(stderr, "cdctail relay: --min-copies '%s' is not a count from 1 to 999\n", optarg);
				return 2;
			}
			o->min_copies = (unsigned)v;
			break;
		case 'w':
			if (cdc_cleanup_parse_duration(optarg, &secs) != 0 || secs <= 0 || secs > INT64_MAX / 1000000) {
				fprintf(stderr, "cdctail relay: --dedup-window '%s' is not a duration (Ns, Nm, Nh, Nd)\n",
					optarg);
				return 2;
			}
			o->window_us = secs * 1000000;
			break;
		case 'M':
			if (cdc_cleanup_parse_size(optarg, &o->state_max_bytes) != 0 || o->state_max_bytes < (1u << 20)) {
				fprintf(stderr, "cdctail relay: --state-max-bytes '%s' is not a size of 1M or more (K, M, G, T)\n",
					optarg);
				return 2;
			}
			break;
		case 'o': o->once = 1; break;
		case 'i':
		case 'b':
		case 'c':
			if (parse_count(optarg, c == 'i' ? 86400 * 365 : 100000000, &v) != 0) {
				fprintf(stderr, "cdctail relay: --%s '%s' is not a positive number\n",
					c == 'i' ? "idle-exit" : c == 'b' ? "batch" : "commit-interval", optarg);
				return 2;
			}
			if (c == 'i')
				o->idle_exit_s = (int)v;
			else if (c == 'b')
				o->batch_max = (size_t)v;
			else
				o->commit_ms = (int)v;
			break;
		case 'X':
		case 'C':
		case 'P':
			if (add_prop(c == 'X' ? props : c == 'C' ? cprops : pprops, c == 'X' ? &np : c == 'C' ? &nc : &npp,
				     optarg) != 0) {
				fputs("cdctail relay: too many properties\n", stderr);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return 2;
		}
	}
	if (!have_kafka || !o->from || !o->to || !o->state_dir || optind < argc) {
		fputs(optind < argc ? "cdctail relay: unexpected argument\n"
				    : "cdctail relay: --kafka, --from, --to and --state-dir are required\n", stderr);
		usage(stderr);
		return 2;
	}
	if (add_prop(props, &np, bootstrap) != 0) {
		fputs("cdctail relay: too many properties\n", stderr);
		return 2;
	}
	return 0;
}

int cdc_relay_main(int argc, char **argv)
{
	const char *props[MAX_PROPS + 1] = { NULL }, *cprops[MAX_PROPS + 1] = { NULL },
		   *pprops[MAX_PROPS + 1] = { NULL };
	char bootstrap[1024], errstr[CDC_ERRSTR_SIZE];
	cdc_relay_opts o = { 0 };
	cdc_relay_stats st;
	struct sigaction sa;
	int rc;

	rc = relay_parse_args(argc, argv, &o, props, cprops, pprops, bootstrap, sizeof(bootstrap));
	if (rc)
		return rc == 1 ? 0 : rc;
	o.props = props;
	o.consumer_props = cprops;
	o.producer_props = pprops;
	o.stop = &stop_flag;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	rc = cdc_relay(&o, &st, errstr, sizeof(errstr));
	if (rc != 0)
		cdc_log(CDC_LOG_ERR, "relay: %s", errstr);
	fprintf(stderr, "cdctail relay: %" PRIu64 " read, %" PRIu64 " copied, %" PRIu64 " before --since, %" PRIu64
		" duplicates, %" PRIu64 " waiting copies, %" PRIu64 " surplus copies, %" PRIu64 " dead letters, %" PRIu64
		" unconfirmed changes, %" PRIu64 " commits, %" PRIu64 " batches read again\n", st.read, st.copied,
		st.before_since, st.duplicates, st.waiting, st.surplus, st.dead, st.unconfirmed, st.commits, st.retries);
	return rc != 0 ? 1 : 0;
}
