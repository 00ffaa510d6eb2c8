/* schema_live.c - the service's schema, refreshed off the loop. */
#include "schema_live.h"
#include "err.h"
#include "fsmove.h"
#include "log.h"
#include "schema_fetch.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_DROPPED 1000

struct cdc_schema_src {
	char *file, *host, *user, *password, *known_path;
	cdc_tls_opts tls;        /* its strings owned below */
	char *tls_ca, *tls_cert, *tls_key, *tls_name;
	int port, timeout_ms, min_interval_ms;
	/* what survives from one load to the next (only the loading thread
	 * touches it: the caller at start, then one worker at a time) */
	cJSON *tables;           /* every user table seen: the node's, then the
				  * dropped ones (marked), oldest drop first */
	cJSON *types;            /* every type seen, the newest definition of each */
	int dirty;               /* tables or types changed and not yet written */
	/* the worker */
	pthread_mutex_t lock;
	cJSON *pending;          /* documents offered (cdc_schema_src_add), under lock */
	pthread_t th;
	int running;             /* started and not joined */
	int done;                /* finished; result or err waiting */
	cdc_schema *result;
	char err[CDC_ERRSTR_SIZE];
	int64_t started_ms, last_start_ms;
	int started_once;
	uint64_t count;
};

int64_t cdc_schema_src_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* Reads STATE_DIR/schema-tables.json, when there is one. 0, or -1. */
static int read_known(cdc_schema_src *s, char *errstr, size_t errlen)
{
	FILE *f = fopen(s->known_path, "re");
	char *text = NULL;
	long n;
	cJSON *doc;

	if (!f)
		return errno == ENOENT ? 0 : cdc_error(errstr, errlen, "%s: %s", s->known_path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    !(text = malloc((size_t)n + 1)) || fread(text, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(text);
		return cdc_error(errstr, errlen, "%s: cannot read", s->known_path);
	}
	fclose(f);
	doc = cJSON_ParseWithLength(text, (size_t)n);
	free(text);
	if (!doc || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "tables")) ||
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(doc, "types"))) {
		cJSON_Delete(doc);
		return cdc_error(errstr, errlen, "%s: not a schema document (remove it to start afresh)", s->known_path);
	}
	cJSON_Delete(s->tables);
	cJSON_Delete(s->types);
	s->tables = cJSON_DetachItemFromObjectCaseSensitive(doc, "tables");
	s->types = cJSON_DetachItemFromObjectCaseSensitive(doc, "types");
	cJSON_Delete(doc);
	return 0;
}

int cdc_schema_src_new(cdc_schema_src **out, const cdc_schema_src_opts *o, char *errstr, size_t errlen)
{
	cdc_schema_src *s = calloc(1, sizeof(*s));
	char path[4200];

	*out = NULL;
	if (!s)
		return cdc_error(errstr, errlen, "out of memory");
	pthread_mutex_init(&s->lock, NULL);
	snprintf(path, sizeof(path), "%s/schema-tables.json", o->state_dir ? o->state_dir : ".");
	s->file = dup_or_null(o->file);
	s->host = dup_or_null(o->host);
	s->user = dup_or_null(o->user);
	s->password = dup_or_null(o->password);
	s->known_path = strdup(path);
	if (o->tls) {
		s->tls = *o->tls;
		s->tls.ca_file = s->tls_ca = dup_or_null(o->tls->ca_file);
		s->tls.cert_file = s->tls_cert = dup_or_null(o->tls->cert_file);
		s->tls.key_file = s->tls_key = dup_or_null(o->tls->key_file);
		s->tls.server_name = s->tls_name = dup_or_null(o->tls->server_name);
	}
	s->port = o->port;
	s->timeout_ms = o->timeout_ms;
	s->min_interval_ms = o->min_interval_ms;
	s->tables = cJSON_CreateArray();
	s->types = cJSON_CreateArray();
	s->pending = cJSON_CreateArray();
	if (!s->pending || (o->file && !s->file) || (o->host && !s->host) || (o->user && !s->user) ||
	    (o->password && !s->password) || !s->known_path || !s->tables || !s->types) {
		cdc_schema_src_destroy(s);
		return cdc_error(errstr, errlen, "out of memory");
	}
	if (!o->file && read_known(s, errstr, errlen) != 0) {
		cdc_schema_src_destroy(s);
		return -1;
	}
	*out = s;
	return 0;
}

void cdc_schema_src_destroy(cdc_schema_src *s)
{
	if (!s)
		return;
	if (s->running)
		pthread_join(s->th, NULL);
	cdc_schema_destroy(s->result);
	pthread_mutex_destroy(&s->lock);
	cJSON_Delete(s->tables);
	cJSON_Delete(s->types);
	cJSON_Delete(s->pending);
	free(s->file);
	free(s->host);
	free(s->user);
	free(s->password);
	free(s->known_path);
	free(s->tls_ca);
	free(s->tls_cert);
	free(s->tls_key);
	free(s->tls_name);
	free(s);
}

static const char *str_of(const cJSON *o, const char *key)
{
	return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* The object of array whose `key` is v (and key2 is v2 when key2 is not
 * NULL), or NULL. */
static cJSON *find_by(cJSON *array, const char *key, const char *v, const char *key2, const char *v2)
{
	cJSON *it;

	if (!v)
		return NULL;
	cJSON_ArrayForEach(it, array) {
		const char *a = str_of(it, key), *b = key2 ? str_of(it, key2) : NULL;

		if (a && strcmp(a, v) == 0 && (!key2 || (b && v2 && strcmp(b, v2) == 0)))
			return it;
	}
	return NULL;
}

/* Writes the tables and types seen, atomically. 0, or -1 with errstr. */
static int write_known(cdc_schema_src *s, char *errstr, size_t errlen)
{
	cJSON *doc = cJSON_CreateObject();
	char tmp[4300], *text;
	int rc;
	size_t n;

	if (!doc)
		return cdc_error(errstr, errlen, "out of memory");
	cJSON_AddStringToObject(doc, "format", "cdctail-schema/1");
	cJSON_AddItemReferenceToObject(doc, "types", s->types);
	cJSON_AddItemReferenceToObject(doc, "tables", s->tables);
	text = cJSON_Print(doc);
	cJSON_Delete(doc);
	if (!text)
		return cdc_error(errstr, errlen, "out of memory");
	n = strlen(text);
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->known_path);
	rc = cdc_replace_file(s->known_path, tmp, text, n, 1, errstr, errlen);
	free(text);
	return rc;
}

/* Takes the node's tables and types into the known ones: a known table the
 * node no longer has is marked dropped (and moved behind the others); one
 * that is back, or changed, takes the node's definition. Returns 1 when
 * anything changed (write the file), 0 when not, -1 out of memory. */
static int learn(cdc_schema_src *s, cJSON *live)
{
	cJSON *ltables = cJSON_GetObjectItemCaseSensitive(live, "tables");
	cJSON *ltypes = cJSON_GetObjectItemCaseSensitive(live, "types"), *it, *next, *keep, *dropped;
	int changed = 0, ndropped = 0;

	keep = cJSON_CreateArray();
	dropped = cJSON_CreateArray();
	if (!keep || !dropped) {
		cJSON_Delete(keep);
		cJSON_Delete(dropped);
		return -1;
	}
	cJSON_ArrayForEach(it, ltables) {
		cJSON *old = find_by(s->tables, "id", str_of(it, "id"), NULL, NULL);

		if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "internal")))
			continue;
		if (!old || !cJSON_Compare(old, it, 1))
			changed = 1;
		cJSON_AddItemToArray(keep, cJSON_Duplicate(it, 1));
	}
	/* dropped before (in drop order), then newly dropped */
	for (int pass = 0; pass < 2; pass++)
		for (it = s->tables->child; it; it = next) {
			int was = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "dropped"));

			next = it->next;
			if (was != !pass || find_by(ltables, "id", str_of(it, "id"), NULL, NULL))
				continue;
			cJSON_DetachItemViaPointer(s->tables, it);
			if (!was) {
				cJSON_AddBoolToObject(it, "dropped", 1);
				changed = 1;
			}
			cJSON_AddItemToArray(dropped, it);
			ndropped++;
		}
	for (; ndropped > MAX_DROPPED; ndropped--) {
		cJSON_DeleteItemFromArray(dropped, 0);
		changed = 1;
	}
	while ((it = cJSON_DetachItemFromArray(dropped, 0)) != NULL)
		cJSON_AddItemToArray(keep, it);
	cJSON_Delete(dropped);
	cJSON_Delete(s->tables);
	s->tables = keep;
	cJSON_ArrayForEach(it, ltypes) {
		cJSON *old = find_by(s->types, "keyspace", str_of(it, "keyspace"), "name", str_of(it, "name"));
		cJSON *copy = cJSON_Duplicate(it, 1);

		if (!copy)
			return -1;
		if (old && cJSON_Compare(old, it, 1)) {
			cJSON_Delete(copy);
			continue;
		}
		changed = 1;
		if (old)
			cJSON_ReplaceItemViaPointer(s->types, old, copy);
		else
			cJSON_AddItemToArray(s->types, copy);
	}
	return changed;
}

int cdc_schema_src_add(cdc_schema_src *s, const char *doc, size_t len, char *errstr, size_t errlen)
{
	cJSON *d = cJSON_ParseWithLength(doc, len);

	if (!d || !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(d, "tables")) ||
	    !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(d, "types"))) {
		cJSON_Delete(d);
		return cdc_error(errstr, errlen, "schema definitions offered: not a schema document");
	}
	pthread_mutex_lock(&s->lock);
	cJSON_AddItemToArray(s->pending, d);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

/* Whether table object t loads with the known types (what the dropped
 * tables document will give it); the reason in why when not. */
static int loads(cdc_schema_src *s, cJSON *t, char *why, size_t n)
{
	cJSON *doc = cJSON_CreateObject(), *tables = cJSON_CreateArray();
	cdc_schema *sc = cdc_schema_new();
	char *text = NULL;
	int ok = 0;

	snprintf(why, n, "out of memory");
	if (doc && tables && sc) {
		cJSON_AddStringToObject(doc, "format", "cdctail-schema/1");
		cJSON_AddItemReferenceToObject(doc, "types", s->types);
		cJSON_AddItemReferenceToArray(tables, t);
		cJSON_AddItemToObject(doc, "tables", tables);
		tables = NULL;
		text = cJSON_PrintUnformatted(doc);
		ok = text && cdc_schema_load_json(sc, text, strlen(text), "the stream's definition", why, n) == 0;
	}
	free(text);
	cJSON_Delete(tables);
	cJSON_Delete(doc);
	cdc_schema_destroy(sc);
	return ok;
}

/* Takes the documents offered into the known tables and types, after
 * learn() took the node's: types the known ones lack, and tables whose id
 * is not known (so not the node's) and that load, as dropped. 0, or -1
 * when out of memory. */
static int take_pending(cdc_schema_src *s)
{
	cJSON *docs, *doc, *it, *next;
	char why[CDC_ERRSTR_SIZE];

	pthread_mutex_lock(&s->lock);
	docs = s->pending;
	s->pending = cJSON_CreateArray();
	pthread_mutex_unlock(&s->lock);
	if (!s->pending) {
		s->pending = docs;
		return -1;
	}
	cJSON_ArrayForEach(doc, docs) {
		cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(doc, "types"))
			if (!find_by(s->types, "keyspace", str_of(it, "keyspace"), "name", str_of(it, "name"))) {
				cJSON_AddItemToArray(s->types, cJSON_Duplicate(it, 1));
				s->dirty = 1;
			}
		for (it = cJSON_GetObjectItemCaseSensitive(doc, "tables")->child; it; it = next) {
			next = it->next;
			if (find_by(s->tables, "id", str_of(it, "id"), NULL, NULL))
				continue;
			if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "dropped")))
				cJSON_AddBoolToObject(it, "dropped", 1);
			if (!loads(s, it, why, sizeof(why))) {
				cdc_log(CDC_LOG_ERR, "table %s.%s (%s): its definition in the commitlog does not load: %s",
					str_of(it, "keyspace"), str_of(it, "table"), str_of(it, "id"), why);
				continue;
			}
			cJSON_AddItemToArray(s->tables, cJSON_DetachItemViaPointer(cJSON_GetObjectItemCaseSensitive(doc, "tables"), it));
			s->dirty = 1;
		}
	}
	cJSON_Delete(docs);
	return 0;
}

/* The dropped tables, and the types the live document lacks, as a second
 * document to load after it; NULL when out of memory. */
static char *dropped_doc(cdc_schema_src *s, cJSON *live)
{
	cJSON *doc = cJSON_CreateObject(), *types = cJSON_CreateArray(), *tables = cJSON_CreateArray(), *it;
	cJSON *ltypes = cJSON_GetObjectItemCaseSensitive(live, "types");
	char *text = NULL;

	if (doc && types && tables) {
		cJSON_AddStringToObject(doc, "format", "cdctail-schema/1");
		cJSON_ArrayForEach(it, s->types)
			if (!find_by(ltypes, "keyspace", str_of(it, "keyspace"), "name", str_of(it, "name")))
				cJSON_AddItemReferenceToArray(types, it);
		cJSON_ArrayForEach(it, s->tables)
			if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "dropped")))
				cJSON_AddItemReferenceToArray(tables, it);
		cJSON_AddItemToObject(doc, "types", types);
		cJSON_AddItemToObject(doc, "tables", tables);
		types = tables = NULL;
		text = cJSON_PrintUnformatted(doc);
	}
	cJSON_Delete(doc);
	cJSON_Delete(types);
	cJSON_Delete(tables);
	return text;
}

/* Fetches the node's schema and builds the cdc_schema, the dropped tables
 * included. 0 and *out, or -1 with errstr. */
static int load_live(cdc_schema_src *s, cdc_schema **out, char *errstr, size_t errlen)
{
	cdc_buf json = CDC_BUF_INIT;
	cJSON *live = NULL;
	cdc_schema *sc = NULL;
	char *extra = NULL;
	int changed, rc = -1;

	if (cdc_schema_fetch_json_tls(s->host, s->port, s->user, s->password, &s->tls, NULL, s->timeout_ms, &json, NULL,
				      errstr, errlen) != 0)
		goto out;
	live = cJSON_ParseWithLength(json.p, json.len);
	sc = cdc_schema_new();
	changed = live && sc ? learn(s, live) : -1;
	if (changed >= 0 && take_pending(s) != 0)
		changed = -1;
	extra = changed >= 0 ? dropped_doc(s, live) : NULL;
	if (!extra) {
		cdc_error(errstr, errlen, "out of memory");
		goto out;
	}
	s->dirty |= changed;
	if (s->dirty && write_known(s, errstr, errlen) != 0)
		goto out; /* a drop not written down could be forgotten: not loaded */
	s->dirty = 0;
	if (cdc_schema_load_json(sc, json.p, json.len, "live schema", errstr, errlen) != 0 ||
	    cdc_schema_load_json(sc, extra, strlen(extra), s->known_path, errstr, errlen) != 0)
		goto out;
	rc = 0;
out:
	free(extra);
	cJSON_Delete(live);
	cdc_buf_free(&json);
	if (rc != 0)
		cdc_schema_destroy(sc);
	else
		*out = sc;
	return rc;
}

int cdc_schema_src_load(cdc_schema_src *s, cdc_schema **out, char *errstr, size_t errlen)
{
	cdc_schema *sc;

	*out = NULL;
	if (!s->file)
		return load_live(s, out, errstr, errlen);
	sc = cdc_schema_new();
	if (!sc)
		return cdc_error(errstr, errlen, "out of memory");
	if (cdc_schema_load_file(sc, s->file, errstr, errlen) != 0) {
		cdc_schema_destroy(sc);
		return -1;
	}
	*out = sc;
	return 0;
}

static void *worker(void *opaque)
{
	cdc_schema_src *s = opaque;
	char err[CDC_ERRSTR_SIZE];
	cdc_schema *sc = NULL;
	int rc;

	err[0] = '\0';
	rc = load_live(s, &sc, err, sizeof(err));
	pthread_mutex_lock(&s->lock);
	s->result = rc == 0 ? sc : NULL;
	snprintf(s->err, sizeof(s->err), "%s", rc == 0 ? "" : err);
	s->done = 1;
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int cdc_schema_src_request(cdc_schema_src *s, char *errstr, size_t errlen)
{
	int64_t now = cdc_schema_src_now_ms();
	int e;

	if (s->file)
		return 0;
	if (s->running)
		return 1;
	if (s->started_once && now - s->last_start_ms < s->min_interval_ms)
		return 0;
	s->done = 0;
	s->started_ms = s->last_start_ms = now;
	s->started_once = 1;
	e = pthread_create(&s->th, NULL, worker, s);
	if (e != 0)
		return cdc_error(errstr, errlen, "schema refresh: cannot start a thread: %s", strerror(e));
	s->running = 1;
	s->count++;
	return 1;
}

int cdc_schema_src_take(cdc_schema_src *s, cdc_schema **out, int64_t *started_ms, char *errstr, size_t errlen)
{
	int done;

	*out = NULL;
	if (!s->running)
		return 0;
	pthread_mutex_lock(&s->lock);
	done = s->done;
	pthread_mutex_unlock(&s->lock);
	if (!done)
		return 0;
	pthread_join(s->th, NULL);
	s->running = 0;
	*started_ms = s->started_ms;
	*out = s->result;
	s->result = NULL;
	if (*out)
		return 1;
	cdc_error(errstr, errlen, "%s", s->err);
	return -1;
}

int cdc_schema_src_busy(const cdc_schema_src *s)
{
	return s->running;
}

uint64_t cdc_schema_src_count(const cdc_schema_src *s)
{
	return s->count;
}
