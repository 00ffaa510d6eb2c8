/* snapshot_row.h - one row read through CQL by `cdctail snapshot`, turned
 * into the decoded-mutation shape of mutation.h, so that event.c renders it
 * exactly as it renders a change (docs/snapshot.md).
 *
 * The SELECT (cdc_snaprow_select) lists token(pk), the partition key, the
 * clustering columns, then for each regular and static column its value and,
 * where Cassandra allows them, WRITETIME() and TTL(): for every column, but
 * for non-frozen collections and UDTs only from Cassandra 5.0 on
 * (per_element), which returns them as lists, one item per element (per
 * field of a UDT, in field order, null for a field without a cell).
 *
 * A value's bytes are the native protocol's serialization, which for every
 * type is Cassandra's own (frozen collections: int32 counts and lengths, as
 * protocol v3 and later write them). Cells and keys of the mutation point
 * into the CQL row: they are valid while the row is. */
#ifndef CDCTAIL_SNAPSHOT_ROW_H
#define CDCTAIL_SNAPSHOT_ROW_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cql.h"
#include "mutation.h"
#include "schema.h"

typedef struct cdc_snaprow cdc_snaprow;

cdc_snaprow *cdc_snaprow_new(void);
void cdc_snaprow_destroy(cdc_snaprow *b);

/* Appends `SELECT ... FROM ks.t WHERE token(pk) > lo AND token(pk) <= hi`
 * (Murmur3 tokens). */
void cdc_snaprow_select(cdc_buf *out, const cdc_table *t, int per_element, int64_t lo, int64_t hi);

/* How many result columns that SELECT has. */
int cdc_snaprow_ncols(const cdc_table *t, int per_element);

/* The row's token (result column 0): 0, or -1 with errstr. */
int cdc_snaprow_token(const cdc_cql_value *cells, int ncells, int64_t *token, char *errstr, size_t errlen);

/* Replaces out's contents with the row's partition key values (each an
 * int32 length, -1 for null, and its bytes): two rows of the same SELECT
 * are of one partition when these are equal. */
void cdc_snaprow_key_bytes(const cdc_table *t, const cdc_cql_value *cells, cdc_buf *out);

typedef struct cdc_snaprow_clock {
	int64_t unknown_ts;   /* the write time given to cells whose real one cannot
			       * be read (docs/snapshot.md): the snapshot's start - 1 */
	int64_t now_s;        /* when the row was read (seconds), for expiry = now + TTL() */
} cdc_snaprow_clock;

/* Fills *m with one partition update of t holding one row: the static row
 * (is_static) or the clustering row of the CQL row `cells` (ncells
 * columns, as cdc_snaprow_select lists them). Every cell carries its
 * WRITETIME and TTL where they were read, else clock->unknown_ts and no
 * TTL. A clustering row gets a primary key liveness (op insert) at the
 * smallest write time of its cells (clock->unknown_ts when it has none),
 * expiring with its longest-lived cell when every cell expires; a static
 * row has none, as Cassandra keeps none for it. Returns 1 (*m holds the
 * row), 0 (no such row: a static row without a live static cell, a
 * clustering row of a partition that has only its static row), or -1 with
 * errstr (a result that does not fit the table: wrong column count, a
 * malformed collection, WRITETIME/TTL lists that do not match the value).
 * *m stays valid until the next call or cdc_snaprow_destroy, and while
 * `cells` are. */
int cdc_snaprow_build(cdc_snaprow *b, const cdc_table *t, int per_element, const cdc_cql_value *cells, int ncells,
		      int is_static, const cdc_snaprow_clock *clock, cdc_mutation *m, char *errstr, size_t errlen);

#endif
