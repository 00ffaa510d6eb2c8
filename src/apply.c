/* apply.c - `cdctail apply` (include/apply.h, docs/apply.md).
 *
 * One thread: read an event, build its statements (applyplan.c), send them
 * as one request (an EXECUTE, or an UNLOGGED BATCH: one partition, one
 * mutation on the replica) on a free stream, and go on reading while up to
 * --max-in-flight requests wait for their answers. An event is done when
 * the target acknowledged its request (or when it went to the dead-letter
 * file); Kafka offsets are committed only up to the oldest event not done.
 *
 * List appends, the one change CQL cannot repeat harmlessly, go one at a
 * time and once per event id: the id is recorded as pending (durably)
 * before the write, and as applied after the target acknowledged it. An id
 * found pending at start-up belongs to a run that died between the write
 * and the record: the target is read (the list's elements and their write
 * times, Cassandra 5.0) to tell whether the write landed. */
#include "apply.h"
#include "apply_src.h"
#include "apply_stats.h"
#include "applyplan.h"
#include "cql.h"
#include "err.h"
#include "idstore.h"
#include "jsonl.h"
#include "log.h"
#include "schema.h"
#include "schema_fetch.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#define MAX_TRIES 8
#define PCACHE 8192 /* prepared statements kept (a power of two) */

typedef enum { S_FREE, S_WAIT_LIST, S_IN_FLIGHT, S_RETRY, S_REDO } slot_state;

typedef struct slot {
	slot_state st;
	cdc_plan plan;
	char *line;
	size_t len, cap;
	cdc_src_pos pos;
	int tries;
	int list;            /* adds list elements: recorded pending before the write */
	int uncertain;       /* a list write that may have landed: read the target first */
	int64_t retry_at;
	cdc_cql_value *vals;
	size_t capvals;
	cdc_cql_bound *bound;
	size_t capbound;
	struct slot *next;   /* the free list, or the list-append queue */
} slot;

typedef struct kmap {
	const char *src, *dst;
} kmap;

typedef struct pentry {
	uint64_t h;
	char *cql;
	cdc_cql_prepared prep;
} pentry;

typedef struct applier {
	/* options */
	const char *host, *user;
	char *password;
	int port, timeout_ms;
	cdc_tls_opts tls;
	kmap maps[64];
	int nmaps;
	int consistency, max_in_flight, prepare;
	const char *metrics_file;
	int metrics_interval_ms;
	int64_t idle_exit_ms;    /* --idle-exit: 0 none */
	/* state */
	cdc_cql_conn *conn;
	cdc_schema *schema;
	cdc_schema *old[64];     /* replaced schemas: slots may still point into them */
	int nold;
	int64_t schema_at_us;
	pentry *pcache;
	size_t pn;
	cdc_idstore *ids;
	cdc_jsonl *dead;
	cdc_apply_stats *stats;
	cdc_apply_src *src;
	slot *slots;
	int nslots, nbusy;
	slot *free_list;
	slot *list_head, *list_tail;
	slot *list_busy;         /* the list-append event being written */
	int in_flight, nretry, nredo;
	long kill_after, list_writes;
	uint64_t failed;         /* events refused or not understood */
	const cdc_table *last_t; /* lookup cache */
	char last_ks[256], last_tb[256];
	cdc_buf tmp;
	char err[CDC_ERRSTR_SIZE];
} applier;

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* ---------------------------------------------------------------- schema */

/* The target table of an event's keyspace and table (--keyspace-map). */
static const cdc_table *lookup(void *opaque, const char *ks, size_t kslen, const char *tb, size_t tblen)
{
	applier *a = opaque;
	char sks[256], stb[256];
	const char *dst;
	size_t i, n;
	int m;

	if (kslen >= sizeof(sks) || tblen >= sizeof(stb))
		return NULL;
	memcpy(sks, ks, kslen);
	sks[kslen] = '\0';
	memcpy(stb, tb, tblen);
	stb[tblen] = '\0';
	if (a->last_t && strcmp(a->last_ks, sks) == 0 && strcmp(a->last_tb, stb) == 0)
		return a->last_t;
	dst = sks;
	for (m = 0; m < a->nmaps; m++)
		if (strcmp(a->maps[m].src, sks) == 0)
			dst = a->maps[m].dst;
	n = cdc_schema_table_count(a->schema);
	for (i = 0; i < n; i++) {
		const cdc_table *t = cdc_schema_table_at(a->schema, i);

		if (!t->dropped_table && !t->internal && strcmp(t->keyspace, dst) == 0 && strcmp(t->name, stb) == 0) {
			a->last_t = t;
			snprintf(a->last_ks, sizeof(a->last_ks), "%s", sks);
			snprintf(a->last_tb, sizeof(a->last_tb), "%s", stb);
			return t;
		}
	}
	return NULL;
}

/* Reads the target's schema (every keyspace but Cassandra's own). */
static int load_schema(applier *a)
{
	cdc_buf json = CDC_BUF_INIT;
	cdc_schema *s = cdc_schema_new();
	int rc = -1;

	if (!s)
		return cdc_error(a->err, sizeof(a->err), "out of memory");
	if (cdc_schema_fetch_json_tls(a->host, a->port, a->user, a->password, &a->tls, NULL, a->timeout_ms, &json, NULL,
				      a->err, sizeof(a->err)) == 0 &&
	    cdc_schema_load_json(s, json.p, json.len, "the target's schema", a->err, sizeof(a->err)) == 0)
		rc = 0;
	cdc_buf_free(&json);
	if (rc != 0) {
		cdc_schema_destroy(s);
		return -1;
	}
	if (a->schema) {
		if (a->nold == (int)(sizeof(a->old) / sizeof(a->old[0]))) {
			cdc_schema_destroy(s); /* refreshed too often: keep the one we have */
			a->schema_at_us = now_us();
			return 0;
		}
		a->old[a->nold++] = a->schema;
	}
	a->schema = s;
	a->last_t = NULL;
	a->schema_at_us = now_us();
	return 0;
}

/* --------------------------------------------------------- dead letters */

/* One line of the dead-letter file: why, where the event came from, and
 * the event. */
static void dead_letter(applier *a, slot *s, const char *why, int failure)
{
	cdc_buf *b = &a->tmp;
	char where[512], e[CDC_ERRSTR_SIZE];
	const cdc_plan *p = &s->plan;

	cdc_apply_src_where(a->src, &s->pos, where, sizeof(where));
	cdc_buf_reset(b);
	cdc_buf_lit(b, "{\"error\":");
	cdc_buf_json_str(b, why, strlen(why));
	cdc_buf_lit(b, ",\"input\":");
	cdc_buf_json_str(b, where, strlen(where));
	if (p->keyspace) {
		cdc_buf_lit(b, ",\"keyspace\":");
		cdc_buf_json_str(b, p->keyspace, p->kslen);
		cdc_buf_lit(b, ",\"table\":");
		cdc_buf_json_str(b, p->name, p->namelen);
	}
	if (p->op[0]) {
		cdc_buf_lit(b, ",\"op\":");
		cdc_buf_json_str(b, p->op, strlen(p->op));
	}
	if (p->id[0]) {
		cdc_buf_lit(b, ",\"id\":");
		cdc_buf_json_str(b, p->id, strlen(p->id));
	}
	cdc_buf_printf(b, ",\"ts\":%lld,\"event\":", (long long)p->ts);
	cdc_buf_json_str(b, s->line, s->len);
	cdc_buf_putc(b, '}');
	if (b->oom || cdc_jsonl_append(a->dead, b->p, b->len, e, sizeof(e)) != 0)
		cdc_log(CDC_LOG_ERR, "apply: dead letter for %s not written (%s): %s", where, b->oom ? "out of memory" : e,
			why);
	cdc_apply_stats_add(a->stats, CDC_AS_DEAD_LETTERS, 1);
	if (failure) {
		a->failed++;
		if (a->failed <= 10)
			cdc_log(CDC_LOG_WARN, "apply: %s: %s (in the dead-letter file)", where, why);
	}
}

/* --------------------------------------------------------------- slots */

static slot *take_slot(applier *a)
{
	slot *s = a->free_list;

	if (!s)
		return NULL;
	a->free_list = s->next;
	s->next = NULL;
	s->tries = 0;
	s->list = s->uncertain = 0;
	s->retry_at = 0;
	s->st = S_WAIT_LIST; /* busy; set properly by the caller */
	a->nbusy++;
	return s;
}

/* The event is done with: its offset may be committed. */
static void finish(applier *a, slot *s)
{
	if (a->list_busy == s)
		a->list_busy = NULL;
	cdc_apply_src_done(a->src, &s->pos);
	s->st = S_FREE;
	s->next = a->free_list;
	a->free_list = s;
	a->nbusy--;
}

/* "a:ID" (applied) or "p:ID" (pending) in the record. */
static size_t id_key(const slot *s, char kind, char out[80])
{
	size_t n = strlen(s->plan.id);

	out[0] = kind;
	out[1] = ':';
	memcpy(out + 2, s->plan.id, n);
	return n + 2;
}

static int record(applier *a, const slot *s, char kind)
{
	char k[80];
	size_t n = id_key(s, kind, k);

	return cdc_idstore_seen(a->ids, k, n, now_us(), NULL, a->err, sizeof(a->err)) < 0 ? -1 : 0;
}

static int known(applier *a, const slot *s, char kind)
{
	char k[80];
	size_t n = id_key(s, kind, k);

	return cdc_idstore_get(a->ids, k, n, now_us(), NULL, a->err, sizeof(a->err));
}

/* ------------------------------------------------------------ requests */

static void on_done(void *opaque, const cdc_cql_result *r);

/* The prepared statement for cql (prepared now when new); NULL when it
 * cannot be kept (the cache is full: the text goes as a QUERY). -1 in *rc
 * when the target refused it (errstr) or the connection failed (*broken). */
static const cdc_cql_prepared *prepared(applier *a, const char *cql, int *rc, int *broken)
{
	uint64_t h = XXH3_64bits(cql, strlen(cql));
	size_t i = (size_t)h & (PCACHE - 1), k;

	*rc = 0;
	*broken = 0;
	for (k = 0; k < PCACHE; k++, i = (i + 1) & (PCACHE - 1)) {
		pentry *e = &a->pcache[i];

		if (!e->cql)
			break;
		if (e->h == h && strcmp(e->cql, cql) == 0)
			return &e->prep;
	}
	if (k == PCACHE || a->pn >= PCACHE * 3 / 4)
		return NULL;
	{
		pentry *e = &a->pcache[i];
		cdc_cql_prepared p;

		if (cdc_cql_prepare(a->conn, cql, &p, on_done, a, a->err, sizeof(a->err)) != 0) {
			*rc = -1;
			*broken = strstr(a->err, "PREPARE refused") == NULL;
			return NULL;
		}
		e->cql = strdup(cql);
		if (!e->cql) {
			cdc_cql_prepared_free(&p);
			return NULL;
		}
		e->h = h;
		e->prep = p;
		a->pn++;
		cdc_apply_stats_add(a->stats, CDC_AS_PREPARED, 1);
		return &e->prep;
	}
}

/* Forgets every prepared statement (UNPREPARED: the node lost them). */
static void forget_prepared(applier *a)
{
	size_t i;

	for (i = 0; i < PCACHE; i++) {
		free(a->pcache[i].cql);
		cdc_cql_prepared_free(&a->pcache[i].prep);
		a->pcache[i].cql = NULL;
	}
	a->pn = 0;
}

static int grow(void **p, size_t *cap, size_t want, size_t size)
{
	void *n;

	if (*cap >= want)
		return 0;
	n = realloc(*p, want * size);
	if (!n)
		return -1;
	*p = n;
	*cap = want;
	return 0;
}

/* Sends the slot's statements as one request. 0 sent; 1 the target refused
 * a statement (the event is dead-lettered); -1 the connection failed. */
static int dispatch(applier *a, slot *s)
{
	cdc_plan *p = &s->plan;
	size_t i;
	int rc, broken;

	if (grow((void **)&s->vals, &s->capvals, p->nval + 1, sizeof(*s->vals)) ||
	    grow((void **)&s->bound, &s->capbound, p->nst + 1, sizeof(*s->bound))) {
		cdc_error(a->err, sizeof(a->err), "out of memory");
		return -1;
	}
	for (i = 0; i < p->nval; i++) {
		s->vals[i].p = p->val[i].len < 0 ? NULL : p->vals.p ? (const uint8_t *)p->vals.p + p->val[i].off
								    : (const uint8_t *)"";
		s->vals[i].len = p->val[i].len < 0 ? 0 : (size_t)p->val[i].len;
	}
	for (i = 0; i < p->nst; i++) {
		s->bound[i].cql = cdc_plan_cql(p, i);
		s->bound[i].prep = a->prepare ? prepared(a, s->bound[i].cql, &rc, &broken) : NULL;
		if (a->prepare && rc != 0) {
			if (broken)
				return -1;
			dead_letter(a, s, a->err, 1);
			finish(a, s);
			return 1;
		}
		s->bound[i].values = s->vals + p->st[i].val_first;
		s->bound[i].nvalues = (int)p->st[i].nval;
	}
	while (!cdc_cql_can_send(a->conn))
		if (cdc_cql_poll(a->conn, a->timeout_ms, on_done, a, a->err, sizeof(a->err)) < 0)
			return -1;
	rc = cdc_cql_send(a->conn, s->bound, (int)p->nst, a->consistency, s, a->err, sizeof(a->err));
	if (rc != 0)
		return -1;
	s->st = S_IN_FLIGHT;
	a->in_flight++;
	return 0;
}

/* Errors worth another try: the write was not (or may not have been)
 * applied for a reason that passes. *maybe: it may have landed. */
static int retryable(int32_t code, int *maybe)
{
	*maybe = code == 0x1100 || code == 0x1500 || code == -2;
	return code == 0x1000 || code == 0x1001 || code == 0x1002 || code == 0x1100 || code == 0x1500 || code == -2;
}

static void applied(applier *a, slot *s)
{
	int64_t now = now_us();

	cdc_apply_stats_applied(a->stats, s->plan.table->keyspace, s->plan.table->name, s->plan.op, now - s->plan.ts, now);
	if (s->list) {
		/* fault injection for the test of a kill between write and record */
		if (a->kill_after > 0 && ++a->list_writes >= a->kill_after)
			raise(SIGKILL);
		if (record(a, s, 'a') != 0)
			cdc_log(CDC_LOG_ERR, "apply: recording list append %s: %s", s->plan.id, a->err);
	}
	finish(a, s);
}

/* The answer to a slot's request. */
static void on_done(void *opaque, const cdc_cql_result *r)
{
	applier *a = opaque;
	slot *s = r->tag;
	int maybe;

	a->in_flight--;
	if (r->code == 0) {
		applied(a, s);
		return;
	}
	cdc_apply_stats_add(a->stats, CDC_AS_ERRORS, 1);
	if (r->code == 0x2500) { /* the node forgot the statement: prepare again */
		forget_prepared(a);
		s->st = S_REDO;
		a->nredo++;
		return;
	}
	if (retryable(r->code, &maybe) && s->tries < MAX_TRIES) {
		s->tries++;
		s->uncertain |= s->list && maybe;
		s->retry_at = now_us() + (100000LL << (s->tries < 6 ? s->tries : 6));
		s->st = S_RETRY;
		a->nretry++;
		cdc_apply_stats_add(a->stats, CDC_AS_RETRIES, 1);
		return;
	}
	snprintf(a->err, sizeof(a->err), "the target refused the write: %s (0x%04x): %.*s", cdc_cql_error_name(r->code),
		 (unsigned)r->code, (int)(r->msglen > 400 ? 400 : r->msglen), r->msg ? r->msg : "");
	dead_letter(a, s, a->err, 1);
	finish(a, s);
}

/* ------------------------------------------ did a killed run write it? */

typedef struct waiter {
	applier *a;
	int done;
	int32_t code;
	int flags;
	cdc_buf body;
} waiter;

static void wait_cb(void *opaque, const cdc_cql_result *r)
{
	waiter *w = opaque;

	if (r->tag != w) {
		on_done(w->a, r);
		return;
	}
	w->done = 1;
	w->code = r->code;
	w->flags = r->flags;
	cdc_buf_put(&w->body, r->body, r->bodylen);
}

typedef struct match {
	const cdc_buf *bytes;
	cdc_plan_elem *el;
	size_t n;
	uint8_t *used;
	const cdc_column *col;
	size_t found;
} match;

/* A row of SELECT l, writetime(l): each expected element found once (same
 * value, same write time). */
static int match_row(void *opaque, const cdc_cql_col *cols, const cdc_cql_value *cells, int ncols, char *errstr,
		     size_t errlen)
{
	match *m = opaque;
	int32_t nv, nt, i;
	size_t ov = 0, ot = 0, k;

	(void)cols;
	if (ncols != 2 || !cells[0].p || !cells[1].p)
		return 0;
	if (cdc_cql_coll_count(&cells[0], &nv, errstr, errlen) || cdc_cql_coll_count(&cells[1], &nt, errstr, errlen) ||
	    nv != nt)
		return 0;
	for (i = 0; i < nv; i++) {
		cdc_cql_value v, t;
		int64_t ts;

		if (cdc_cql_coll_next(&cells[0], &ov, &v, errstr, errlen) ||
		    cdc_cql_coll_next(&cells[1], &ot, &t, errstr, errlen) || cdc_cql_get_timestamp(&t, &ts, errstr, errlen))
			return 0;
		for (k = 0; k < m->n; k++) {
			const cdc_plan_elem *e = &m->el[k];

			if (m->used[k] || e->col != m->col || e->ts != ts || e->len != v.len ||
			    (v.len && memcmp(m->bytes->p + e->off, v.p, v.len) != 0))
				continue;
			m->used[k] = 1;
			m->found++;
			break;
		}
	}
	return 0;
}

/* Reads the target to tell whether a list-append event's write landed: 1
 * every element is there with its write time, 0 none is, -1 the target
 * cannot tell (a release before 5.0 has no WRITETIME of a list's
 * elements), -2 the connection failed. */
static int landed(applier *a, slot *s)
{
	cdc_plan *p = &s->plan;
	cdc_buf bytes = CDC_BUF_INIT, q = CDC_BUF_INIT, ps = CDC_BUF_INIT;
	cdc_plan_elem *el = NULL;
	cdc_cql_value *vals = NULL;
	uint8_t *used = NULL;
	size_t n = 0, i, j, found = 0;
	int rc = -1;

	if (cdc_plan_list_adds(p, &bytes, &el, &n, a->err, sizeof(a->err)) != 0 || !n)
		goto out;
	used = calloc(n, 1);
	vals = calloc(p->nkey + 1, sizeof(*vals));
	if (!used || !vals)
		goto out;
	for (i = 0; i < p->nkey; i++) {
		const cdc_plan_value *v = &p->val[p->key_first + i];

		vals[i].p = v->len < 0 ? NULL : (const uint8_t *)p->vals.p + v->off;
		vals[i].len = v->len < 0 ? 0 : (size_t)v->len;
	}
	for (i = 0; i < n; i++) {
		waiter w = { a, 0, 0, 0, CDC_BUF_INIT };
		cdc_cql_bound st;
		match m = { &bytes, el, n, used, el[i].col, 0 };
		int more;

		for (j = 0; j < i; j++)
			if (el[j].col == el[i].col)
				break;
		if (j < i)
			continue; /* column already read */
		cdc_buf_reset(&q);
		cdc_buf_printf(&q, "SELECT %s, writetime(%s) FROM %s WHERE ", el[i].col->cql_name, el[i].col->cql_name,
			       p->table->cql_name);
		for (j = 0; j < p->nkey; j++)
			cdc_buf_printf(&q, "%s%s = ?", j ? " AND " : "",
				       j < (size_t)p->table->npk ? p->table->pk[j]->cql_name
								 : p->table->ck[j - (size_t)p->table->npk]->cql_name);
		st.prep = NULL;
		st.cql = cdc_buf_cstr(&q);
		st.values = vals;
		st.nvalues = (int)p->nkey;
		while (!cdc_cql_can_send(a->conn))
			if (cdc_cql_poll(a->conn, a->timeout_ms, on_done, a, a->err, sizeof(a->err)) < 0) {
				rc = -2;
				goto out;
			}
		if (cdc_cql_send(a->conn, &st, 1, a->consistency, &w, a->err, sizeof(a->err)) != 0) {
			rc = -2;
			goto out;
		}
		while (!w.done) {
			int k = cdc_cql_poll(a->conn, a->timeout_ms, wait_cb, &w, a->err, sizeof(a->err));

			if (k < 0 || (k == 0 && !w.done)) {
				cdc_buf_free(&w.body);
				rc = -2;
				goto out;
			}
		}
		if (w.code != 0 || cdc_cql_parse_result("target", w.flags, (const uint8_t *)w.body.p, w.body.len, &ps, &more,
							  match_row, &m, a->err, sizeof(a->err)) != 0) {
			cdc_buf_free(&w.body);
			goto out; /* cannot tell */
		}
		cdc_buf_free(&w.body);
		found += m.found;
	}
	rc = found == 0 ? 0 : 1;
	if (found && found < n)
		cdc_log(CDC_LOG_WARN, "apply: list append %s: %zu of its %zu elements are on the target; taken as applied",
			p->id, found, n);
out:
	free(el);
	free(used);
	free(vals);
	cdc_buf_free(&bytes);
	cdc_buf_free(&q);
	cdc_buf_free(&ps);
	return rc;
}

/* --------------------------------------------------------- connection */

/* Every request in flight lost its answer: each is sent again (a list
 * append only after reading whether it landed). */
static void requeue_in_flight(applier *a)
{
	int i;

	for (i = 0; i < a->nslots; i++) {
		slot *s = &a->slots[i];

		if (s->st != S_IN_FLIGHT)
			continue;
		s->st = S_RETRY;
		s->retry_at = 0;
		s->uncertain |= s->list;
		a->nretry++;
	}
	a->in_flight = 0;
}

/* (Re)connects, waiting between tries until it works or a stop is asked. */
static int connect_target(applier *a, int again)
{
	int delay = 100;

	if (a->conn) {
		cdc_log(CDC_LOG_WARN, "apply: connection to the target lost: %s", a->err);
		cdc_cql_close(a->conn);
		a->conn = NULL;
		requeue_in_flight(a);
	}
	for (;;) {
		if (cdc_cql_connect_tls(&a->conn, a->host, a->port, a->user, a->password, &a->tls, a->timeout_ms, a->err,
					sizeof(a->err)) == 0) {
			cdc_cql_set_max_in_flight(a->conn, a->max_in_flight);
			if (again)
				cdc_apply_stats_add(a->stats, CDC_AS_RECONNECTS, 1);
			return 0;
		}
		if (!again || stop_requested)
			return -1;
		cdc_log(CDC_LOG_WARN, "apply: %s (trying again in %d ms)", a->err, delay);
		sleep_ms(delay);
		delay = delay < 5000 ? delay * 2 : 5000;
	}
}

/* ------------------------------------------------------------- events */

/* Settles a list-append write in s that may have landed before (a run
 * died, or the connection failed, after sending it) by looking at the
 * target: 1 it had landed (now recorded applied, s finished), 0 it had
 * not or the target cannot tell (counted uncertain; s is to be written
 * again), -2 the connection failed, -1 fatal (a->err). */
static int settle_uncertain(applier *a, slot *s)
{
	int l = landed(a, s);

	if (l == -2)
		return -2;
	if (l == 1) {
		cdc_apply_stats_add(a->stats, CDC_AS_RESOLVED, 1);
		if (record(a, s, 'a') != 0)
			return -1;
		finish(a, s);
		return 1;
	}
	if (l < 0)
		cdc_apply_stats_add(a->stats, CDC_AS_UNCERTAIN, 1);
	s->uncertain = 0;
	return 0;
}

/* The next list-append event, once the one before it is acknowledged:
 * skipped when applied before, looked for on the target when a run died
 * after writing it, else recorded pending (durably) and written. */
static int next_list(applier *a)
{
	while (!a->list_busy && a->list_head) {
		slot *s = a->list_head;
		int k;

		a->list_head = s->next;
		if (!a->list_head)
			a->list_tail = NULL;
		s->next = NULL;
		if ((k = known(a, s, 'a')) != 0) {
			if (k < 0)
				return -1;
			cdc_apply_stats_add(a->stats, CDC_AS_DUPLICATES, 1);
			finish(a, s);
			continue;
		}
		if (!s->uncertain && (k = known(a, s, 'p')) != 0) {
			if (k < 0)
				return -1;
			s->uncertain = 1;
		}
		a->list_busy = s;
		if (s->uncertain) {
			int l = settle_uncertain(a, s);

			if (l == -2)
				return 1; /* the connection: retried after reconnecting */
			if (l == -1)
				return -1;
			if (l == 1)
				continue;
		}
		if (record(a, s, 'p') != 0 || cdc_idstore_sync(a->ids, a->err, sizeof(a->err)) != 0)
			return -1;
		k = dispatch(a, s);
		if (k < 0) {
			s->st = S_RETRY;
			s->retry_at = 0;
			s->uncertain = 1;
			a->nretry++;
			return 1;
		}
	}
	return 0;
}

/* A new event in slot s: planned, then skipped, queued or sent. 0, 1 the
 * connection failed, -1 fatal (a->err). */
static int handle(applier *a, slot *s)
{
	cdc_plan *p = &s->plan;
	int rc = cdc_plan_event(p, s->line, s->len, lookup, a, now_us(), a->err, sizeof(a->err));

	if (rc == CDC_PLAN_NO_TABLE && now_us() - a->schema_at_us > 5000000) {
		/* a table created since the schema was read */
		if (load_schema(a) != 0)
			cdc_log(CDC_LOG_WARN, "apply: reading the target's schema again: %s", a->err);
		rc = cdc_plan_event(p, s->line, s->len, lookup, a, now_us(), a->err, sizeof(a->err));
	}
	if (rc != 0) {
		cdc_apply_stats_add(a->stats, CDC_AS_INVALID, 1);
		dead_letter(a, s, a->err, 1);
		finish(a, s);
		return 0;
	}
	cdc_apply_stats_add(a->stats, CDC_AS_COUNTERS, p->counters);
	cdc_apply_stats_add(a->stats, CDC_AS_LIST_REMOVALS, p->list_removals);
	cdc_apply_stats_add(a->stats, CDC_AS_EXPIRED, p->expired);
	if (p->counters || p->list_removals) {
		char why[200];

		snprintf(why, sizeof(why), "not applied: %s%u counter cells (no idempotent form)%s%u removed list elements "
			 "(no CQL names them)", "", p->counters, ", ", p->list_removals);
		dead_letter(a, s, why, 0);
	}
	if (p->nst == 0) {
		finish(a, s);
		return 0;
	}
	if (p->list_append) {
		int k = known(a, s, 'a');

		if (k < 0)
			return -1;
		if (k) {
			cdc_apply_stats_add(a->stats, CDC_AS_DUPLICATES, 1);
			finish(a, s);
			return 0;
		}
		s->list = 1;
		s->st = S_WAIT_LIST;
		if (a->list_tail)
			a->list_tail->next = s;
		else
			a->list_head = s;
		a->list_tail = s;
		return 0;
	}
	rc = dispatch(a, s);
	if (rc < 0) {
		s->st = S_RETRY;
		s->retry_at = 0;
		a->nretry++;
		return 1;
	}
	return 0;
}

/* Retries whose time came, and requests to prepare again. 0, 1 the
 * connection failed, -1 fatal. */
static int run_retries(applier *a)
{
	int64_t now = now_us();
	int i;

	if (!a->nretry && !a->nredo)
		return 0;
	for (i = 0; i < a->nslots; i++) {
		slot *s = &a->slots[i];
		int rc;

		if (!(s->st == S_REDO || (s->st == S_RETRY && s->retry_at <= now)))
			continue;
		if (s->st == S_REDO)
			a->nredo--;
		else
			a->nretry--;
		if (s->list && s->uncertain) {
			int l = settle_uncertain(a, s);

			if (l == -2) {
				a->nretry++;
				return 1;
			}
			if (l == -1)
				return -1;
			if (l == 1)
				continue;
		}
		rc = dispatch(a, s);
		if (rc < 0) {
			s->st = S_RETRY;
			s->retry_at = 0;
			s->uncertain |= s->list;
			a->nretry++;
			return 1;
		}
	}
	return 0;
}

/* Makes what is done durable and commits it: the record of applied ids and
 * the dead letters first, then the Kafka offsets. */
static int commit(applier *a)
{
	uint64_t gone = 0;

	if (cdc_idstore_expire(a->ids, now_us(), 10000, &gone, a->err, sizeof(a->err)) != 0 ||
	    cdc_idstore_sync(a->ids, a->err, sizeof(a->err)) != 0 || cdc_jsonl_sync(a->dead, a->err, sizeof(a->err)) != 0)
		return -1;
	return cdc_apply_src_commit(a->src, a->err, sizeof(a->err));
}

static void write_metrics(applier *a)
{
	char e[CDC_ERRSTR_SIZE];

	if (a->metrics_file && cdc_apply_stats_write(a->stats, a->metrics_file, now_us(), e, sizeof(e)) != 0)
		cdc_log(CDC_LOG_WARN, "apply: metrics: %s", e);
}

/* Every --metrics-interval: the metrics file and the summary line logged. */
static void report(applier *a)
{
	cdc_buf line = CDC_BUF_INIT;

	write_metrics(a);
	cdc_apply_stats_summary(a->stats, now_us(), &line);
	cdc_log(CDC_LOG_INFO, "apply: %s", cdc_buf_cstr(&line));
	cdc_buf_free(&line);
}

/* Reads, applies and commits until the input ends (or a stop is asked and
 * what is in flight is answered). 0, or -1 fatal (a->err). */
static int run(applier *a)
{
	int ended = 0, rc;
	int64_t last_commit = now_us(), last_metrics = last_commit, last_event = last_commit;

	for (;;) {
		int got = 0, broken = 0;
		int64_t now;

		if (!ended && !stop_requested && a->free_list) {
			const char *line;
			size_t len;
			cdc_src_pos pos;

			rc = cdc_apply_src_next(a->src, a->nbusy ? 0 : 100, &line, &len, &pos, a->err, sizeof(a->err));
			if (rc < 0)
				return -1;
			if (rc == CDC_SRC_END)
				ended = 1;
			if (rc == 1) {
				slot *s = take_slot(a);

				if (grow((void **)&s->line, &s->cap, len + 1, 1) != 0)
					return cdc_error(a->err, sizeof(a->err), "out of memory");
				memcpy(s->line, line, len);
				s->line[len] = '\0';
				s->len = len;
				s->pos = pos;
				got = 1;
				last_event = now_us();
				rc = handle(a, s);
				if (rc < 0)
					return -1;
				broken |= rc == 1;
			}
		}
		if (!broken) {
			rc = next_list(a);
			if (rc < 0)
				return -1;
			broken |= rc == 1;
		}
		if (!broken) {
			rc = run_retries(a);
			if (rc < 0)
				return -1;
			broken |= rc == 1;
		}
		if (!broken && a->in_flight) {
			int wait = got && a->free_list ? 0 : 20;

			if (cdc_cql_poll(a->conn, wait, on_done, a, a->err, sizeof(a->err)) < 0)
				broken = 1;
		} else if (!broken && !got && a->nbusy) {
			sleep_ms(5); /* only retries waiting */
		}
		if (broken && connect_target(a, 1) != 0)
			return -1;
		now = now_us();
		if (now - last_commit >= 1000000 || (ended && !a->nbusy)) {
			if (commit(a) != 0)
				return -1;
			last_commit = now;
		}
		if (now - last_metrics >= (int64_t)a->metrics_interval_ms * 1000) {
			report(a);
			last_metrics = now;
		}
		if ((ended || stop_requested) && !a->nbusy)
			return 0;
		if (a->idle_exit_ms && !a->nbusy && now - last_event >= a->idle_exit_ms * 1000)
			return 0; /* --idle-exit */
		if (stop_requested && !a->in_flight && !a->nretry && !a->nredo && !a->list_busy)
			return 0; /* list appends still queued are read again next time */
	}
}

/* -------------------------------------------------------------- options */

static void usage(FILE *f)
{
	fputs("Usage: cdctail apply --state-dir DIR [--host H] [--port P] [--user U]\n"
	      "         [--password-file F] [--tls [--ca-file F] [--cert-file F] [--key-file F]\n"
	      "         [--server-name N] [--no-verify-host]] [--keyspace-map SRC=DST]...\n"
	      "         [--kafka BROKERS [--group G] [--topic T]... [-X prop=value]...\n"
	      "         [--once]] [--idle-exit S] [--consistency CL] [--max-in-flight N]\n"
	      "         [--no-prepare]"
	      "         [--metrics-file F] [--metrics-interval S] [--applied-window S]\n"
	      "         [--dead-letter FILE] [--timeout-ms MS] [FILE...]\n"
	      "\n"
	      "Applies events (docs/events.md) to a target Cassandra, from Kafka (a consumer\n"
	      "group) or from JSON-lines FILEs (default stdin; - is stdin). Statements come\n"
	      "from each event's fields, each with the event's USING TIMESTAMP; TTLs are the\n"
	      "time left; list appends are applied once per event id (the record in\n"
	      "--state-dir); counters and removed list elements are not applied (reported in\n"
	      "the dead-letter file); Kafka offsets are committed after the target\n"
	      "acknowledged the writes; refused writes go to the dead-letter file.\n"
	      "\n"
	      "  --state-dir DIR        the record of applied list appends and the dead letters\n"
	      "                         (required)\n"
	      "  --host H, --port P     the target node (default 127.0.0.1:9042)\n"
	      "  --user U               login (the password from --password-file's first line,\n"
	      "                         or $CDCTAIL_CQL_PASSWORD)\n"
	      "  --password-file F      the password\n"
	      "  --tls, --ca-file F, --cert-file F, --key-file F, --server-name N,\n"
	      "  --no-verify-host       CQL over TLS, as schema export takes them\n"
	      "  --keyspace-map SRC=DST events of keyspace SRC go to keyspace DST (repeatable)\n"
	      "  --kafka BROKERS        read Kafka instead of files\n"
	      "  --group G              the consumer group (default cdctail-apply)\n"
	      "  --topic T              a topic, or a regular expression starting with ^\n"
	      "                         (repeatable; default ^cdctail\\..*)\n"
	      "  -X prop=value          a librdkafka consumer property (repeatable)\n"
	      "  --once                 stop once every assigned partition is read to its end\n"
	      "  --idle-exit S          stop after S seconds without an event (and nothing left\n"
	      "                         to write)\n"
	      "  --consistency CL       ONE, LOCAL_ONE, QUORUM, LOCAL_QUORUM (default), ALL, ...\n"
	      "  --max-in-flight N      requests waiting for the target at most (default 128)\n"
	      "  --no-prepare           send statements as QUERY with values (no PREPARE)\n"
	      "  --metrics-file F       Prometheus text file, replaced every --metrics-interval\n"
	      "                         seconds (default 10) and at the end\n"
	      "  --applied-window S     how long applied list appends are remembered, seconds\n"
	      "                         (or 30m, 12h, 7d; default 7d)\n"
	      "  --dead-letter FILE     default DIR/apply-dead-letter.jsonl\n"
	      "  --timeout-ms MS        per connect, request and answer (default 10000)\n"
	      "\n"
	      "Examples:\n"
	      "  cdctail apply --state-dir /var/lib/cdctail-apply --host new-node-1 \\\n"
	      "      --kafka kafka-1:9092 --group clone --metrics-file /var/lib/node_exporter/apply.prom\n"
	      "  cdctail replay --schema s.json /archive/cdc_raw | \\\n"
	      "      cdctail apply --state-dir st --keyspace-map shop=shop_copy\n"
	      "\n"
	      "Exit codes: 0 everything applied or reported (stopped by SIGTERM/SIGINT, or the\n"
	      "input ended), 1 an event the target refused or that is not valid (in the\n"
	      "dead-letter file) or a fatal error, 2 usage error.\n",
	      f);
}

static int parse_consistency(const char *s, int *out)
{
	static const struct {
		const char *name;
		int v;
	} cl[] = {
		{ "ANY", CDC_CQL_ANY }, { "ONE", CDC_CQL_ONE }, { "TWO", CDC_CQL_TWO }, { "THREE", CDC_CQL_THREE },
		{ "QUORUM", CDC_CQL_QUORUM }, { "ALL", CDC_CQL_ALL }, { "LOCAL_QUORUM", CDC_CQL_LOCAL_QUORUM },
		{ "EACH_QUORUM", CDC_CQL_EACH_QUORUM }, { "LOCAL_ONE", CDC_CQL_LOCAL_ONE },
	};
	size_t i;

	for (i = 0; i < sizeof(cl) / sizeof(cl[0]); i++)
		if (strcasecmp(s, cl[i].name) == 0) {
			*out = cl[i].v;
			return 0;
		}
	return -1;
}

/* Seconds, or a number with s, m, h or d. */
static int parse_seconds(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v <= 0)
		return -1;
	if (*end == 'm')
		v *= 60, end++;
	else if (*end == 'h')
		v *= 3600, end++;
	else if (*end == 'd')
		v *= 86400, end++;
	else if (*end == 's')
		end++;
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static int positive(const char *s, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v <= 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

typedef struct cli {
	const char *state_dir, *dead_path, *pwfile, *group;
	const char *props[70], *topics[66];
	int nprops, ntopics, exit_at_end;
	char bootstrap[600];
	int kafka;
	int64_t window_s;
} cli;

/* Parses argv into a and o: 0, 1 help printed, 2 usage error. */
static int apply_parse_args(int argc, char **argv, applier *a, cli *o)
{
	static const struct option longopts[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'u' },
		{ "password-file", required_argument, NULL, 'P' },
		{ "tls", no_argument, NULL, 'S' },
		{ "ca-file", required_argument, NULL, 'A' },
		{ "cert-file", required_argument, NULL, 'C' },
		{ "key-file", required_argument, NULL, 'K' },
		{ "server-name", required_argument, NULL, 'N' },
		{ "no-verify-host", no_argument, NULL, 'V' },
		{ "keyspace-map", required_argument, NULL, 'm' },
		{ "kafka", required_argument, NULL, 'k' },
		{ "group", required_argument, NULL, 'g' },
		{ "topic", required_argument, NULL, 't' },
		{ "once", no_argument, NULL, 'e' },
		{ "idle-exit", required_argument, NULL, 'i' },
		{ "consistency", required_argument, NULL, 'c' },
		{ "max-in-flight", required_argument, NULL, 'f' },
		{ "no-prepare", no_argument, NULL, 'n' },
		{ "metrics-file", required_argument, NULL, 'M' },
		{ "metrics-interval", required_argument, NULL, 'I' },
		{ "applied-window", required_argument, NULL, 'w' },
		{ "dead-letter", required_argument, NULL, 'D' },
		{ "timeout-ms", required_argument, NULL, 'T' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;
	long v;
	char *eq;

	optind = 1;
	while ((c = getopt_long(argc, argv, "X:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': o->state_dir = optarg; break;
		case 'H': a->host = optarg; break;
		case 'u': a->user = optarg; break;
		case 'P': o->pwfile = optarg; break;
		case 'S': a->tls.enabled = 1; break;
		case 'A': a->tls.enabled = 1; a->tls.ca_file = optarg; break;
		case 'C': a->tls.enabled = 1; a->tls.cert_file = optarg; break;
		case 'K': a->tls.enabled = 1; a->tls.key_file = optarg; break;
		case 'N': a->tls.enabled = 1; a->tls.server_name = optarg; break;
		case 'V': a->tls.enabled = 1; a->tls.no_verify_host = 1; break;
		case 'g': o->group = optarg; break;
		case 'e': o->exit_at_end = 1; break;
		case 'n': a->prepare = 0; break;
		case 'M': a->metrics_file = optarg; break;
		case 'D': o->dead_path = optarg; break;
		case 'm':
			eq = strchr(optarg, '=');
			if (!eq || eq == optarg || !eq[1] || a->nmaps >= 64) {
				fprintf(stderr, "cdctail apply: --keyspace-map takes SRC=DST (at most 64), not '%s'\n", optarg);
				return 2;
			}
			*eq = '\0';
			a->maps[a->nmaps].src = optarg;
			a->maps[a->nmaps++].dst = eq + 1;
			break;
		case 'k':
			snprintf(o->bootstrap, sizeof(o->bootstrap), "bootstrap.servers=%s", optarg);
			o->kafka = 1;
			break;
		case 'X':
			if (o->nprops >= 64) {
				fputs("cdctail apply: too many -X properties\n", stderr);
				return 2;
			}
			o->props[o->nprops++] = optarg;
			break;
		case 't':
			if (o->ntopics >= 64) {
				fputs("cdctail apply: too many --topic\n", stderr);
				return 2;
			}
			o->topics[o->ntopics++] = optarg;
			break;
		case 'c':
			if (parse_consistency(optarg, &a->consistency) != 0) {
				fprintf(stderr, "cdctail apply: --consistency '%s' is not a consistency level\n", optarg);
				return 2;
			}
			break;
		case 'i':
			if (positive(optarg, 86400 * 365, &v) != 0) {
				fprintf(stderr, "cdctail apply: bad value '%s' for --idle-exit\n", optarg);
				return 2;
			}
			a->idle_exit_ms = (int64_t)v * 1000;
			break;
		case 'p':
		case 'f':
		case 'I':
		case 'T':
			if (positive(optarg, c == 'p' ? 65535 : c == 'f' ? CDC_CQL_MAX_STREAMS : 3600000, &v) != 0) {
				fprintf(stderr, "cdctail apply: bad value '%s' for --%s\n", optarg,
					c == 'p' ? "port" : c == 'f' ? "max-in-flight" : c == 'I' ? "metrics-interval" : "timeout-ms");
				return 2;
			}
			if (c == 'p')
				a->port = (int)v;
			else if (c == 'f')
				a->max_in_flight = (int)v;
			else if (c == 'I')
				a->metrics_interval_ms = (int)v * 1000;
			else
				a->timeout_ms = (int)v;
			break;
		case 'w':
			if (parse_seconds(optarg, &o->window_s) != 0) {
				fprintf(stderr, "cdctail apply: --applied-window '%s' is not a duration (600, 30m, 12h, 7d)\n",
					optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 1;
		default: usage(stderr); return 2;
		}
	}
	if (!o->state_dir) {
		fputs("cdctail apply: --state-dir DIR is required\n", stderr);
		return 2;
	}
	if (o->kafka && optind < argc) {
		fputs("cdctail apply: FILE arguments and --kafka exclude each other\n", stderr);
		return 2;
	}
	if (!o->kafka && (o->ntopics || o->group || o->nprops || o->exit_at_end)) {
		fputs("cdctail apply: --group, --topic, -X and --once need --kafka\n", stderr);
		return 2;
	}
	return 0;
}

/* Opens everything the run needs: 0, or -1 with a->err. */
static int setup(applier *a, cli *o, char **files, int nfiles)
{
	static char *dash[] = { (char *)"-" };
	cdc_buf path = CDC_BUF_INIT;
	cdc_idstore_opts io = { 0 };
	int i;

	if (o->pwfile) {
		a->password = cdc_read_password_file(o->pwfile, a->err, sizeof(a->err));
		if (!a->password)
			return -1;
	} else if (getenv("CDCTAIL_CQL_PASSWORD")) {
		a->password = strdup(getenv("CDCTAIL_CQL_PASSWORD"));
	}
	if (a->user && !a->password)
		return cdc_error(a->err, sizeof(a->err), "--user needs a password (--password-file F or CDCTAIL_CQL_PASSWORD)");
	if (a->tls.enabled && cdc_tls_check(&a->tls, a->err, sizeof(a->err)) != 0)
		return -1;
	if (mkdir(o->state_dir, 0750) != 0 && errno != EEXIST)
		return cdc_error(a->err, sizeof(a->err), "%s: %s", o->state_dir, strerror(errno));
	cdc_buf_printf(&path, "%s/applied", o->state_dir);
	io.window_us = o->window_s * 1000000;
	if (cdc_idstore_open(&a->ids, cdc_buf_cstr(&path), &io, a->err, sizeof(a->err)) != 0) {
		cdc_buf_free(&path);
		return -1;
	}
	cdc_buf_reset(&path);
	cdc_buf_printf(&path, "%s/apply-dead-letter.jsonl", o->state_dir);
	a->dead = cdc_jsonl_new(o->dead_path ? o->dead_path : cdc_buf_cstr(&path));
	cdc_buf_free(&path);
	a->stats = cdc_apply_stats_new();
	a->pcache = calloc(PCACHE, sizeof(*a->pcache));
	a->nslots = a->max_in_flight * 2 + 16;
	a->slots = calloc((size_t)a->nslots, sizeof(*a->slots));
	if (!a->dead || !a->stats || !a->pcache || !a->slots)
		return cdc_error(a->err, sizeof(a->err), "out of memory");
	for (i = a->nslots - 1; i >= 0; i--) {
		a->slots[i].next = a->free_list;
		a->free_list = &a->slots[i];
	}
	if (connect_target(a, 0) != 0 || load_schema(a) != 0)
		return -1;
	if (o->kafka) {
		o->props[o->nprops++] = o->bootstrap;
		o->props[o->nprops] = NULL;
		if (!o->ntopics)
			o->topics[o->ntopics++] = "^cdctail\\..*";
		return cdc_apply_src_kafka(&a->src, o->props, o->group ? o->group : "cdctail-apply", o->topics, o->ntopics,
					   o->exit_at_end, a->err, sizeof(a->err));
	}
	return nfiles ? cdc_apply_src_files(&a->src, files, nfiles, a->err, sizeof(a->err))
		      : cdc_apply_src_files(&a->src, dash, 1, a->err, sizeof(a->err));
}

static void teardown(applier *a)
{
	int i;

	cdc_apply_src_close(a->src);
	if (a->conn)
		cdc_cql_close(a->conn);
	if (a->pcache) {
		forget_prepared(a);
		free(a->pcache);
	}
	for (i = 0; a->slots && i < a->nslots; i++) {
		cdc_plan_free(&a->slots[i].plan);
		free(a->slots[i].line);
		free(a->slots[i].vals);
		free(a->slots[i].bound);
	}
	free(a->slots);
	cdc_schema_destroy(a->schema);
	for (i = 0; i < a->nold; i++)
		cdc_schema_destroy(a->old[i]);
	cdc_idstore_close(a->ids);
	cdc_jsonl_destroy(a->dead);
	cdc_apply_stats_destroy(a->stats);
	cdc_buf_free(&a->tmp);
	if (a->password) {
		memset(a->password, 0, strlen(a->password));
		free(a->password);
	}
}

int cdc_apply_main(int argc, char **argv)
{
	applier a;
	cli o;
	struct sigaction sa;
	cdc_buf line = CDC_BUF_INIT;
	int rc;
	const char *kill_after = getenv("CDCTAIL_APPLY_KILL_AFTER_LIST_WRITES");

	memset(&a, 0, sizeof(a));
	memset(&o, 0, sizeof(o));
	a.host = "127.0.0.1";
	a.port = 9042;
	a.timeout_ms = 10000;
	a.consistency = CDC_CQL_LOCAL_QUORUM;
	a.max_in_flight = 128;
	a.prepare = 1;
	a.metrics_interval_ms = 10000;
	o.window_s = CDC_IDSTORE_DEFAULT_WINDOW_US / 1000000;
	rc = apply_parse_args(argc, argv, &a, &o);
	if (rc)
		return rc == 1 ? 0 : 2;
	a.kill_after = kill_after ? strtol(kill_after, NULL, 10) : 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	stop_requested = 0;
	rc = setup(&a, &o, argv + optind, argc - optind);
	if (rc == 0)
		rc = run(&a);
	if (rc == 0 && commit(&a) != 0)
		rc = -1;
	if (rc != 0)
		cdc_log(CDC_LOG_ERR, "apply: %s", a.err);
	if (a.stats) {
		write_metrics(&a);
		cdc_apply_stats_summary(a.stats, now_us(), &line);
		fprintf(stderr, "cdctail apply: %s\n", cdc_buf_cstr(&line));
	}
	cdc_buf_free(&line);
	teardown(&a);
	return rc != 0 || a.failed ? 1 : 0;
}
