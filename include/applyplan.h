/* applyplan.h - one event (docs/events.md) turned into the CQL statements
 * that make the same change on a target table, built from the event's
 * structured fields (key, clustering, start/end, cells with ts, ttl and
 * expires, elements, ts), never from its `cql` text (docs/apply.md):
 *
 * - every statement carries the change's own timestamp (USING TIMESTAMP ?),
 *   so applying it again, or after a newer change, changes nothing;
 * - a TTL is the time left (expires - now), not the original TTL; a cell
 *   or element already expired is a deletion at its timestamp; an expired
 *   row liveness is written with TTL 1 (CQL cannot delete a row's liveness
 *   alone: it expires a second later, as it did on the source);
 * - a collection's clearing deletion (cleared_ts) is a DELETE of the
 *   column at exactly that timestamp; set and map elements, UDT fields are
 *   written one by one at their own timestamps;
 * - list elements the event adds are appended (or prepended, by their
 *   time-UUID) once: the plan says so (list_append), and the caller applies
 *   such a plan at most once per event id;
 * - removed list elements (CQL cannot name them) and counters (no
 *   idempotent form) are not written: the plan counts them.
 *
 * Values are bound (prepared statements, bind.h), typed by the target's
 * schema; statements use `?` for every value, timestamp and TTL, so their
 * texts repeat and each is prepared once. */
#ifndef CDCTAIL_APPLYPLAN_H
#define CDCTAIL_APPLYPLAN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "jsonv.h"
#include "schema.h"

/* The target table for an event's keyspace and table (the keyspace map
 * applied), or NULL when the target has none. */
typedef const cdc_table *(*cdc_plan_lookup_fn)(void *opaque, const char *keyspace, size_t kslen,
					       const char *table, size_t tlen);

typedef struct cdc_plan_value {
	size_t off;        /* in cdc_plan.vals */
	int32_t len;       /* -1: null */
} cdc_plan_value;

typedef struct cdc_plan_stmt {
	size_t cql_off;    /* NUL-terminated text in cdc_plan.cql */
	uint32_t val_first, nval;
} cdc_plan_stmt;

typedef struct cdc_plan {
	cdc_jv_doc doc;            /* the parsed event */
	cdc_buf cql;               /* statement texts */
	cdc_buf vals;              /* bound value bytes */
	cdc_plan_value *val;
	size_t nval, capval;
	cdc_plan_stmt *st;
	size_t nst, capst;
	/* about the event */
	const cdc_table *table;    /* the target table */
	const char *keyspace, *name; /* the event's (source) keyspace and table, in doc */
	size_t kslen, namelen;
	char op[24];
	int64_t ts;                /* the event's ts (µs) */
	char id[65];               /* the event id: its "id" (at most 64 bytes), else the
				    * XXH3-64 of the line in 16 hex digits */
	int list_append;           /* statements add list elements: apply once */
	uint32_t list_removals;    /* removed list elements left out */
	uint32_t counters;         /* counter cells left out */
	uint32_t expired;          /* cells/elements written as deletions (expired) */
	uint32_t key_first, nkey;  /* the values of the row's key (partition key,
				    * then clustering) among val[] */
	/* scratch */
	void *atoms;
	size_t natoms, capatoms;
	cdc_buf tmp;
} cdc_plan;

#define CDC_PLAN_NO_TABLE (-2)  /* the target has no such table (errstr says which) */

/* Parses one event line and builds its statements into p (reset first).
 * now_us is the time TTLs are counted from. 0 (p->nst may be 0: a change
 * with nothing the target can be given, e.g. only counters), -1 with errstr
 * for an event that is not valid or does not fit the target table, or
 * CDC_PLAN_NO_TABLE. */
int cdc_plan_event(cdc_plan *p, const char *line, size_t len, cdc_plan_lookup_fn lookup, void *opaque,
		   int64_t now_us, char *errstr, size_t errlen);

/* One list element the plan adds: its column, its serialized value
 * (off, len in the caller's buffer) and its write timestamp. */
typedef struct cdc_plan_elem {
	const cdc_column *col;
	size_t off, len;
	int64_t ts;
} cdc_plan_elem;

/* The list elements the plan adds, their values appended to bytes: 0 and
 * *out (malloc'd, *n entries; the caller frees), or -1 with errstr. */
int cdc_plan_list_adds(cdc_plan *p, cdc_buf *bytes, cdc_plan_elem **out, size_t *n, char *errstr, size_t errlen);

/* Frees everything p holds (p is reusable afterwards). */
void cdc_plan_free(cdc_plan *p);

/* The text of statement i, and its values. */
const char *cdc_plan_cql(const cdc_plan *p, size_t i);

/* Appends a readable rendering of every statement (text, then the value
 * bytes in hex) to out, for messages and tests. */
void cdc_plan_describe(const cdc_plan *p, cdc_buf *out);

#endif
