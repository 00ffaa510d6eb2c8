/* schema_live.h - the schema `cdctail run` decodes with: from a file, or
 * read from the node's system_schema, refreshed on a thread of its own so
 * that a refresh never holds up the service loop (delivery reports,
 * checkpoints go on while the node answers, or does not).
 *
 * Tables that disappear from the node (DROP TABLE, DROP KEYSPACE) stay in
 * every later schema, marked dropped, so that entries written before the
 * drop still decode into events; their definitions are kept in
 * STATE_DIR/schema-tables.json (written atomically when the set changes)
 * for the next start, at most 1000 tables (the oldest drops are forgotten
 * first). */
#ifndef CDCTAIL_SCHEMA_LIVE_H
#define CDCTAIL_SCHEMA_LIVE_H

#include <stddef.h>
#include <stdint.h>

#include "schema.h"
#include "tls.h"

typedef struct cdc_schema_src cdc_schema_src;

typedef struct cdc_schema_src_opts {
	const char *file;          /* a `schema export` file; NULL: the live node */
	const char *host;          /* the node's CQL address and port */
	int port;
	const char *user, *password; /* NULL when the node needs none */
	const cdc_tls_opts *tls;   /* CQL over TLS (tls.h); NULL or not enabled: plain TCP */
	const char *state_dir;     /* where schema-tables.json lives (live only) */
	int timeout_ms;            /* per CQL operation; 0: 10 s */
	int min_interval_ms;       /* between the starts of two refreshes */
} cdc_schema_src_opts;

/* A source (the strings are copied). 0, or -1 with errstr. */
int cdc_schema_src_new(cdc_schema_src **out, const cdc_schema_src_opts *o, char *errstr, size_t errlen);

/* Waits for a refresh in progress, then frees. */
void cdc_schema_src_destroy(cdc_schema_src *s);

/* Loads a schema now, on the calling thread (at start). 0 and *out (the
 * caller's), or -1 with errstr. */
int cdc_schema_src_load(cdc_schema_src *s, cdc_schema **out, char *errstr, size_t errlen);

/* Asks for a refresh in the background: 1 one is running (just started, or
 * already), 0 not started yet (min_interval_ms since the last start has
 * not passed: ask again), -1 it could not be started (errstr). A file
 * source refreshes nothing: always 0. */
int cdc_schema_src_request(cdc_schema_src *s, char *errstr, size_t errlen);

/* The outcome of the last finished refresh, once: 1 and *out (a new schema,
 * the caller's), -1 it failed (errstr says why), 0 nothing finished since
 * the last call. *started_ms gets when the refresh started (monotonic ms). */
int cdc_schema_src_take(cdc_schema_src *s, cdc_schema **out, int64_t *started_ms, char *errstr, size_t errlen);

/* Offers a schema document (schema.h's format) of tables the node may no
 * longer have, such as a definition read from the commitlog
 * (schema_stream.h): the next refresh to start keeps its types the known
 * ones lack and its tables whose id is not known, as dropped when the node
 * lacks them (a table that does not load with the known types is left out,
 * and logged). Any thread. 0, or -1 with errstr (not such a document). */
int cdc_schema_src_add(cdc_schema_src *s, const char *doc, size_t len, char *errstr, size_t errlen);

/* Whether a refresh is running. */
int cdc_schema_src_busy(const cdc_schema_src *s);

/* Refreshes started so far (cdctail_schema_refreshes_total). */
uint64_t cdc_schema_src_count(const cdc_schema_src *s);

/* The monotonic clock, in milliseconds, that started_ms is in. */
int64_t cdc_schema_src_now_ms(void);

#endif
