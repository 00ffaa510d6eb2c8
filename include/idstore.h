/* idstore.h - a durable set of ids (event ids, or any byte string of 1 to
 * 500 bytes), each with the time it was first seen, the time it was last
 * seen and how many times it was seen, kept in an LMDB environment in one
 * directory.
 *
 * Writes are batched: every change (cdc_idstore_seen, cdc_idstore_expire)
 * goes into one open LMDB write transaction, which the caller commits with
 * cdc_idstore_sync when what it recorded may become durable (for example once
 * the messages it decided to send were acknowledged), or discards with
 * cdc_idstore_rollback. Lookups see the uncommitted changes. A crash or a
 * close without sync loses exactly the changes since the last sync; what was
 * synced survives (LMDB's copy-on-write pages and its fsync at commit).
 *
 * Expiry: an id whose first sighting is older than the window (now_us -
 * window_us) counts as unknown: cdc_idstore_seen starts it again at count 1,
 * and cdc_idstore_expire deletes such ids (oldest first, through an index by
 * first-seen time) so the store stays bounded by what one window holds.
 * Times are whatever clock the caller passes (µs); the store never reads a
 * clock itself.
 *
 * One process at a time: open takes an exclusive flock on dir/idstore.lock
 * (a second open of the same directory fails, naming the directory). Files:
 * dir/data.mdb, dir/lock.mdb (LMDB's), dir/idstore.lock. */
#ifndef CDCTAIL_IDSTORE_H
#define CDCTAIL_IDSTORE_H

#include <stddef.h>
#include <stdint.h>

#define CDC_IDSTORE_MAX_ID 500                 /* bytes; LMDB keys are at most 511 */
#define CDC_IDSTORE_DEFAULT_WINDOW_US (7LL * 24 * 3600 * 1000000) /* 7 days */
#define CDC_IDSTORE_DEFAULT_MAP_BYTES (1ULL << 30) /* 1 GiB of address space */

typedef struct cdc_idstore cdc_idstore;

typedef struct cdc_idstore_opts {
	int64_t window_us;   /* 0: CDC_IDSTORE_DEFAULT_WINDOW_US; < 0: ids never expire */
	uint64_t map_bytes;  /* the most the store may hold; 0: CDC_IDSTORE_DEFAULT_MAP_BYTES */
} cdc_idstore_opts;

typedef struct cdc_idstore_rec {
	int64_t first_us;    /* the now_us of the first sighting (in this window) */
	int64_t last_us;     /* the now_us of the latest sighting */
	uint32_t count;      /* sightings since the first */
} cdc_idstore_rec;

/* Opens (creating dir and the store if missing) the store in dir; opts may
 * be NULL for the defaults. 0 and *out, or -1 with errstr (dir not
 * creatable, locked by another process, not an LMDB store, ...). */
int cdc_idstore_open(cdc_idstore **out, const char *dir, const cdc_idstore_opts *opts,
		     char *errstr, size_t errlen);

/* Discards what was not synced, closes and frees (NULL is fine). */
void cdc_idstore_close(cdc_idstore *st);

/* Test-and-record: counts one sighting of id (len bytes) at now_us, in the
 * open batch. Returns 1 when the id was unknown (or expired: it starts
 * again), 0 when it was known; *rec (may be NULL) gets the record after this
 * sighting (count 1 for a new id). -1 with errstr on a bad length or an LMDB
 * error (the batch is then unusable: the caller must cdc_idstore_rollback). */
int cdc_idstore_seen(cdc_idstore *st, const void *id, size_t len, int64_t now_us,
		     cdc_idstore_rec *rec, char *errstr, size_t errlen);

/* Looks id up without recording anything: 1 and *rec when known and not
 * expired at now_us, 0 when not, -1 with errstr. */
int cdc_idstore_get(cdc_idstore *st, const void *id, size_t len, int64_t now_us,
		    cdc_idstore_rec *rec, char *errstr, size_t errlen);

/* Deletes, in the open batch, up to limit ids (0: all) first seen before
 * now_us - window, oldest first; *removed (may be NULL) gets how many. 0,
 * or -1 with errstr. Nothing to do when ids never expire. */
int cdc_idstore_expire(cdc_idstore *st, int64_t now_us, size_t limit, uint64_t *removed,
		       char *errstr, size_t errlen);

/* cdc_idstore_expire_each's callback: sees each id before it is deleted;
 * non-zero stops the expiry (its value is returned). */
typedef int (*cdc_idstore_expire_fn)(void *opaque, const void *id, size_t len, const cdc_idstore_rec *rec);

/* cdc_idstore_expire, calling fn (may be NULL) with each expired id and
 * its record before deleting it: 0, -1 with errstr, or fn's non-zero
 * value (what was deleted before stays deleted in the batch). */
int cdc_idstore_expire_each(cdc_idstore *st, int64_t now_us, size_t limit, cdc_idstore_expire_fn fn,
			    void *opaque, uint64_t *removed, char *errstr, size_t errlen);

/* Commits the open batch: when it returns 0 every change so far is on disk.
 * Nothing pending: 0 at once. -1 with errstr (the batch is lost, as after a
 * rollback; MDB_MAP_FULL names opts.map_bytes). */
int cdc_idstore_sync(cdc_idstore *st, char *errstr, size_t errlen);

/* Discards the open batch: the store is as at the last sync. */
void cdc_idstore_rollback(cdc_idstore *st);

/* Changes (sightings, deletions) in the open batch. */
uint64_t cdc_idstore_pending(const cdc_idstore *st);

/* Ids held (synced and pending, expired ones not yet deleted included): 0
 * and *n, or -1 with errstr. */
int cdc_idstore_count(cdc_idstore *st, uint64_t *n, char *errstr, size_t errlen);

#endif
