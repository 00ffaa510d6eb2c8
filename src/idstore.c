/* idstore.c - the durable id set (include/idstore.h) on LMDB.
 *
 * Two named databases in one environment: "ids" maps an id to its record
 * (first_us, last_us: 8 bytes each, count: 4 bytes, all little-endian), and
 * "by_first" maps (first_us as big-endian, sign bit flipped so the byte order
 * is the time order) followed by the id to nothing, so that expiry walks the
 * oldest ids first without reading the others. One write transaction is
 * open from the first call after a sync until the next sync or rollback. */
#include "idstore.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define REC_SIZE 20
#define IDX_MAX (8 + CDC_IDSTORE_MAX_ID)

struct cdc_idstore {
	char *dir;
	MDB_env *env;
	MDB_dbi ids, by_first;
	MDB_txn *txn;        /* the open batch, NULL when none */
	uint64_t pending;
	int64_t window_us;   /* < 0: never expire */
	uint64_t map_bytes;
	int lockfd;
};

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static void rec_encode(uint8_t *p, const cdc_idstore_rec *r)
{
	put_le64(p, (uint64_t)r->first_us);
	put_le64(p + 8, (uint64_t)r->last_us);
	for (int i = 0; i < 4; i++)
		p[16 + i] = (uint8_t)(r->count >> (8 * i));
}

/* 0 and *r, or -1 when the stored value has the wrong size. */
static int rec_decode(const MDB_val *v, cdc_idstore_rec *r)
{
	const uint8_t *p = v->mv_data;

	if (v->mv_size != REC_SIZE)
		return -1;
	r->first_us = (int64_t)get_le64(p);
	r->last_us = (int64_t)get_le64(p + 8);
	r->count = (uint32_t)p[16] | (uint32_t)p[17] << 8 | (uint32_t)p[18] << 16 | (uint32_t)p[19] << 24;
	return 0;
}

/* The by_first key of (first_us, id) into buf (IDX_MAX bytes): its length. */
static size_t idx_key(uint8_t *buf, int64_t first_us, const void *id, size_t len)
{
	uint64_t u = (uint64_t)first_us ^ (1ULL << 63);

	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)(u >> (56 - 8 * i));
	memcpy(buf + 8, id, len);
	return 8 + len;
}

static int64_t idx_time(const uint8_t *buf)
{
	uint64_t u = 0;

	for (int i = 0; i < 8; i++)
		u = (u << 8) | buf[i];
	return (int64_t)(u ^ (1ULL << 63));
}

static int lmdb_error(const cdc_idstore *st, int rc, const char *what, char *errstr, size_t errlen)
{
	if (rc == MDB_MAP_FULL)
		return cdc_error(errstr, errlen, "id store %s: %s: full at %llu bytes (raise the map size)",
				 st->dir, what, (unsigned long long)st->map_bytes);
	return cdc_error(errstr, errlen, "id store %s: %s: %s", st->dir, what, mdb_strerror(rc));
}

/* Opens the batch when none is: 0, or -1 with errstr. */
static int batch(cdc_idstore *st, char *errstr, size_t errlen)
{
	int rc;

	if (st->txn)
		return 0;
	rc = mdb_txn_begin(st->env, NULL, 0, &st->txn);
	if (rc) {
		st->txn = NULL;
		return lmdb_error(st, rc, "begin", errstr, errlen);
	}
	st->pending = 0;
	return 0;
}

static int check_id(const cdc_idstore *st, size_t len, char *errstr, size_t errlen)
{
	if (len == 0 || len > CDC_IDSTORE_MAX_ID)
		return cdc_error(errstr, errlen, "id store %s: an id of %zu bytes (1 to %d allowed)",
				 st->dir, len, CDC_IDSTORE_MAX_ID);
	return 0;
}

static int expired(const cdc_idstore *st, const cdc_idstore_rec *r, int64_t now_us)
{
	return st->window_us >= 0 && r->first_us < now_us - st->window_us;
}

/* Takes dir/idstore.lock exclusively: 0, or -1 with errstr. */
static int take_lock(cdc_idstore *st, char *errstr, size_t errlen)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/idstore.lock", st->dir);
	st->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (st->lockfd < 0)
		return cdc_error(errstr, errlen, "id store %s: %s: %s", st->dir, path, strerror(errno));
	if (flock(st->lockfd, LOCK_EX | LOCK_NB) != 0)
		return cdc_error(errstr, errlen, "id store %s: in use by another process (%s)", st->dir,
				 errno == EWOULDBLOCK ? "locked" : strerror(errno));
	return 0;
}

static int open_env(cdc_idstore *st, char *errstr, size_t errlen)
{
	MDB_txn *txn;
	int rc;

	if ((rc = mdb_env_create(&st->env)) != 0) {
		st->env = NULL;
		return lmdb_error(st, rc, "create", errstr, errlen);
	}
	if ((rc = mdb_env_set_maxdbs(st->env, 2)) != 0 ||
	    (rc = mdb_env_set_mapsize(st->env, (size_t)st->map_bytes)) != 0)
		return lmdb_error(st, rc, "settings", errstr, errlen);
	if ((rc = mdb_env_open(st->env, st->dir, 0, 0640)) != 0)
		return lmdb_error(st, rc, "open", errstr, errlen);
	if ((rc = mdb_txn_begin(st->env, NULL, 0, &txn)) != 0)
		return lmdb_error(st, rc, "begin", errstr, errlen);
	if ((rc = mdb_dbi_open(txn, "ids", MDB_CREATE, &st->ids)) != 0 ||
	    (rc = mdb_dbi_open(txn, "by_first", MDB_CREATE, &st->by_first)) != 0) {
		mdb_txn_abort(txn);
		return lmdb_error(st, rc, "databases", errstr, errlen);
	}
	if ((rc = mdb_txn_commit(txn)) != 0)
		return lmdb_error(st, rc, "commit", errstr, errlen);
	return 0;
}

int cdc_idstore_open(cdc_idstore **out, const char *dir, const cdc_idstore_opts *opts,
		     char *errstr, size_t errlen)
{
	cdc_idstore *st;

	*out = NULL;
	if (mkdir(dir, 0750) != 0 && errno != EEXIST)
		return cdc_error(errstr, errlen, "id store %s: mkdir: %s", dir, strerror(errno));
	st = calloc(1, sizeof(*st));
	if (!st || !(st->dir = strdup(dir))) {
		free(st);
		return cdc_error(errstr, errlen, "id store %s: out of memory", dir);
	}
	st->lockfd = -1;
	st->window_us = opts && opts->window_us ? opts->window_us : CDC_IDSTORE_DEFAULT_WINDOW_US;
	st->map_bytes = opts && opts->map_bytes ? opts->map_bytes : CDC_IDSTORE_DEFAULT_MAP_BYTES;
	if (take_lock(st, errstr, errlen) != 0 || open_env(st, errstr, errlen) != 0) {
		cdc_idstore_close(st);
		return -1;
	}
	*out = st;
	return 0;
}

void cdc_idstore_close(cdc_idstore *st)
{
	if (!st)
		return;
	cdc_idstore_rollback(st);
	if (st->env)
		mdb_env_close(st->env);
	if (st->lockfd >= 0)
		close(st->lockfd);
	free(st->dir);
	free(st);
}

/* Looks id up in the batch: 1 and *r when stored, 0 when not, -1. */
static int lookup(cdc_idstore *st, const void *id, size_t len, cdc_idstore_rec *r,
		  char *errstr, size_t errlen)
{
	MDB_val k = { len, (void *)id }, v;
	int rc = mdb_get(st->txn, st->ids, &k, &v);

	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc)
		return lmdb_error(st, rc, "get", errstr, errlen);
	if (rec_decode(&v, r) != 0)
		return cdc_error(errstr, errlen, "id store %s: a record of %zu bytes (not %d)",
				 st->dir, v.mv_size, REC_SIZE);
	return 1;
}

int cdc_idstore_get(cdc_idstore *st, const void *id, size_t len, int64_t now_us,
		    cdc_idstore_rec *rec, char *errstr, size_t errlen)
{
	cdc_idstore_rec r;
	int found;

	if (check_id(st, len, errstr, errlen) != 0 || batch(st, errstr, errlen) != 0)
		return -1;
	found = lookup(st, id, len, &r, errstr, errlen);
	if (found <= 0)
		return found;
	if (expired(st, &r, now_us))
		return 0;
	if (rec)
		*rec = r;
	return 1;
}

/* Writes r for id, moving its by_first entry when first_us changed (old:
 * the previous record, NULL when there was none): 0, or -1. */
static int store(cdc_idstore *st, const void *id, size_t len, const cdc_idstore_rec *old,
		 const cdc_idstore_rec *r, char *errstr, size_t errlen)
{
	uint8_t val[REC_SIZE], ik[IDX_MAX];
	MDB_val k = { len, (void *)id }, v = { REC_SIZE, val }, ikv, none = { 0, NULL };
	int rc;

	rec_encode(val, r);
	if ((rc = mdb_put(st->txn, st->ids, &k, &v, 0)) != 0)
		return lmdb_error(st, rc, "put", errstr, errlen);
	if (old && old->first_us == r->first_us)
		return 0;
	if (old) {
		ikv.mv_size = idx_key(ik, old->first_us, id, len);
		ikv.mv_data = ik;
		rc = mdb_del(st->txn, st->by_first, &ikv, NULL);
		if (rc && rc != MDB_NOTFOUND)
			return lmdb_error(st, rc, "index delete", errstr, errlen);
	}
	ikv.mv_size = idx_key(ik, r->first_us, id, len);
	ikv.mv_data = ik;
	if ((rc = mdb_put(st->txn, st->by_first, &ikv, &none, 0)) != 0)
		return lmdb_error(st, rc, "index put", errstr, errlen);
	return 0;
}

int cdc_idstore_seen(cdc_idstore *st, const void *id, size_t len, int64_t now_us,
		     cdc_idstore_rec *rec, char *errstr, size_t errlen)
{
	cdc_idstore_rec old, r;
	int found, fresh;

	if (check_id(st, len, errstr, errlen) != 0 || batch(st, errstr, errlen) != 0)
		return -1;
	found = lookup(st, id, len, &old, errstr, errlen);
	if (found < 0)
		return -1;
	fresh = !found || expired(st, &old, now_us);
	if (fresh) {
		r.first_us = now_us;
		r.count = 1;
	} else {
		r.first_us = old.first_us;
		r.count = old.count == UINT32_MAX ? old.count : old.count + 1;
	}
	r.last_us = now_us;
	if (store(st, id, len, found ? &old : NULL, &r, errstr, errlen) != 0)
		return -1;
	st->pending++;
	if (rec)
		*rec = r;
	return fresh;
}

/* Deletes the id an index key names from "ids" (if its record still has
 * that first_us), telling fn first: 0, -1, or fn's non-zero value. */
static int drop_id(cdc_idstore *st, const MDB_val *ik, cdc_idstore_expire_fn fn, void *opaque,
		   char *errstr, size_t errlen)
{
	const uint8_t *p = ik->mv_data;
	MDB_val k = { ik->mv_size - 8, (void *)(p + 8) };
	cdc_idstore_rec r;
	int found = lookup(st, k.mv_data, k.mv_size, &r, errstr, errlen);
	int rc;

	if (found <= 0 || r.first_us != idx_time(p))
		return found < 0 ? -1 : 0;
	if (fn && (rc = fn(opaque, k.mv_data, k.mv_size, &r)) != 0)
		return rc;
	rc = mdb_del(st->txn, st->ids, &k, NULL);
	if (rc && rc != MDB_NOTFOUND)
		return lmdb_error(st, rc, "delete", errstr, errlen);
	return 0;
}

int cdc_idstore_expire_each(cdc_idstore *st, int64_t now_us, size_t limit, cdc_idstore_expire_fn fn,
			    void *opaque, uint64_t *removed, char *errstr, size_t errlen)
{
	MDB_cursor *c;
	MDB_val k, v;
	uint64_t n = 0;
	int rc, ret = 0;

	if (removed)
		*removed = 0;
	if (st->window_us < 0)
		return 0;
	if (batch(st, errstr, errlen) != 0)
		return -1;
	if ((rc = mdb_cursor_open(st->txn, st->by_first, &c)) != 0)
		return lmdb_error(st, rc, "cursor", errstr, errlen);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && (!limit || n < limit);
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size <= 8 || idx_time(k.mv_data) >= now_us - st->window_us)
			break;
		if ((ret = drop_id(st, &k, fn, opaque, errstr, errlen)) != 0)
			break;
		if ((rc = mdb_cursor_del(c, 0)) != 0) {
			ret = lmdb_error(st, rc, "index delete", errstr, errlen);
			break;
		}
		n++;
	}
	if (ret == 0 && rc != 0 && rc != MDB_NOTFOUND)
		ret = lmdb_error(st, rc, "cursor", errstr, errlen);
	mdb_cursor_close(c);
	st->pending += n;
	if (removed)
		*removed = n;
	return ret;
}

int cdc_idstore_expire(cdc_idstore *st, int64_t now_us, size_t limit, uint64_t *removed,
		       char *errstr, size_t errlen)
{
	return cdc_idstore_expire_each(st, now_us, limit, NULL, NULL, removed, errstr, errlen);
}

int cdc_idstore_sync(cdc_idstore *st, char *errstr, size_t errlen)
{
	MDB_txn *txn = st->txn;
	int rc;

	if (!txn)
		return 0;
	st->txn = NULL;
	if (st->pending == 0) {
		mdb_txn_abort(txn);
		return 0;
	}
	st->pending = 0;
	rc = mdb_txn_commit(txn);
	if (rc)
		return lmdb_error(st, rc, "commit", errstr, errlen);
	return 0;
}

void cdc_idstore_rollback(cdc_idstore *st)
{
	if (st->txn)
		mdb_txn_abort(st->txn);
	st->txn = NULL;
	st->pending = 0;
}

uint64_t cdc_idstore_pending(const cdc_idstore *st)
{
	return st->pending;
}

int cdc_idstore_count(cdc_idstore *st, uint64_t *n, char *errstr, size_t errlen)
{
	MDB_stat s;
	int rc;

	if (batch(st, errstr, errlen) != 0)
		return -1;
	if ((rc = mdb_stat(st->txn, st->ids, &s)) != 0)
		return lmdb_error(st, rc, "stat", errstr, errlen);
	*n = s.ms_entries;
	return 0;
}
