/* mutation.h - the body of a commitlog entry: a serialized Mutation.
 *
 * A mutation is an unsigned vint count of partition updates, each starting
 * with the 16-byte table id and the vint-length partition key (Mutation and
 * PartitionUpdate serializers). Decoding rows needs the table schema. */
#ifndef CDCTAIL_MUTATION_H
#define CDCTAIL_MUTATION_H

#include <stddef.h>
#include <stdint.h>

typedef struct cdc_mutation_head {
	uint32_t updates;          /* partition updates in the mutation */
	uint8_t table_id[16];      /* the first update's table id, as stored */
	const uint8_t *key;        /* the first update's partition key bytes, in body */
	size_t key_len;
} cdc_mutation_head;

/* Reads the count, the first table id and the partition key of a mutation
 * body without schema. Returns 0, or -1 with errstr naming the byte offset
 * within the body that did not fit. */
int cdc_mutation_peek(const uint8_t *body, size_t len, int messaging_version,
		      cdc_mutation_head *out, char *errstr, size_t errlen);

/* Formats a 16-byte id as a canonical lowercase UUID (37 bytes with NUL). */
void cdc_uuid_format(const uint8_t id[16], char out[37]);

/* ---- full decoding (needs the schema) ---- */

#include "schema.h"

#define CDC_TS_NONE INT64_MIN      /* no timestamp: no liveness, no deletion */
#define CDC_DECODE_UNKNOWN_TABLE 1 /* cdc_decode: a table id the schema lacks */
#define CDC_DECODE_STALE_SCHEMA 2  /* cdc_decode: a column, or a UDT field, the
				    * table's schema lacks: the entry was written
				    * with a newer schema */

/* A deletion: marked-for-delete-at (microseconds) and local deletion time
 * (seconds). ts == CDC_TS_NONE means live (no deletion). */
typedef struct cdc_deletion {
	int64_t ts;
	int64_t ldt;
} cdc_deletion;

/* A view of serialized bytes inside the entry body. */
typedef struct cdc_value {
	const uint8_t *p;
	uint32_t len;
	uint8_t null;    /* clustering value marked null */
} cdc_value;

typedef struct cdc_cell {
	const cdc_column *col;
	int64_t ts;
	int64_t ldt;       /* deletion time (tombstone) or expiry (expiring), seconds */
	int32_t ttl;       /* expiring cells */
	uint8_t flags;     /* Cassandra's cell flags as stored */
	uint8_t deleted, expiring, has_path;
	cdc_value path;    /* complex columns: list timeuuid, set element, map key, UDT field index */
	cdc_value value;   /* empty for tombstones and set elements */
} cdc_cell;

typedef struct cdc_complex_deletion {
	const cdc_column *col;
	cdc_deletion del;
} cdc_complex_deletion;

typedef struct cdc_row {
	uint8_t is_static, shadowable, flags, ext_flags;
	uint32_t ck_first, nck;       /* clustering values, in cdc_mutation.values */
	int64_t lts;                  /* primary key liveness timestamp, CDC_TS_NONE if none (UPDATE) */
	int32_t lttl;                 /* liveness TTL, 0 if none */
	int64_t lldt;                 /* liveness expiry, when lttl */
	cdc_deletion del;             /* row deletion */
	uint32_t cell_first, ncells;
	uint32_t cdel_first, ncdel;
} cdc_row;

/* ClusteringPrefix.Kind ordinals, as serialized in range tombstone markers. */
enum {
	CDC_RT_EXCL_END_BOUND = 0, CDC_RT_INCL_START_BOUND = 1,
	CDC_RT_EXCL_END_INCL_START_BOUNDARY = 2, CDC_RT_INCL_END_EXCL_START_BOUNDARY = 5,
	CDC_RT_INCL_END_BOUND = 6, CDC_RT_EXCL_START_BOUND = 7,
};

typedef struct cdc_rt_marker {
	uint8_t kind;
	uint32_t v_first, nv;         /* bound values (a prefix of the clustering) */
	cdc_deletion del;             /* bound: its deletion; boundary: the closing range's */
	cdc_deletion del2;            /* boundary only: the opening range's */
} cdc_rt_marker;

typedef struct cdc_update {
	const cdc_table *table;
	const uint8_t *key;           /* partition key bytes as stored */
	size_t key_len;
	uint32_t kc_first, nkc;       /* key components, in cdc_mutation.values */
	uint8_t flags;                /* partition flags */
	uint8_t cdc;                  /* the table was tracked for CDC when the entry
				       * was written (cdc_decoder_set_cdc_flag) */
	cdc_deletion pdel;            /* partition deletion */
	uint32_t row_first, nrows;    /* rows in order; a static row comes first */
	uint32_t rt_first, nrt;       /* range tombstone markers in order */
	int64_t min_ts;               /* EncodingStats */
} cdc_update;

/* A decoded entry. Every pointer is owned by the decoder and valid until its
 * next cdc_decode(); values point into the body, which must outlive them. */
typedef struct cdc_mutation {
	uint32_t nupdates;
	const cdc_update *updates;
	const cdc_row *rows;
	const cdc_cell *cells;
	const cdc_complex_deletion *cdels;
	const cdc_rt_marker *rts;
	const cdc_value *values;
	uint8_t missing_table[16];    /* set with CDC_DECODE_UNKNOWN_TABLE */
	const cdc_table *failed_table; /* with -1 or CDC_DECODE_STALE_SCHEMA: the
				       * table of the update that failed, or NULL */
} cdc_mutation;

typedef struct cdc_decoder cdc_decoder;

/* A decoder reading tables from `schema` (not owned; may be swapped). */
cdc_decoder *cdc_decoder_new(const cdc_schema *schema);
void cdc_decoder_set_schema(cdc_decoder *d, const cdc_schema *schema);

/* With on set, an entry whose only partition update is of a table without
 * cdc is not decoded past its table id and key: the update comes back with
 * no rows (what replay and run need; `decode` shows everything). Mutations
 * carry no row sizes, so an update of such a table next to others is still
 * read in full to reach the next one. */
void cdc_decoder_skip_non_cdc(cdc_decoder *d, int on);

/* Tells the decoder whether a table was tracked for CDC when the entry being
 * decoded was written (Cassandra decides it at write time, by the table's
 * flag then: schema_track.h follows the flag through the commitlog); it
 * fills cdc_update.cdc. NULL (the default): the schema's flag. */
typedef int (*cdc_cdc_flag_fn)(void *opaque, const cdc_table *t);
void cdc_decoder_set_cdc_flag(cdc_decoder *d, cdc_cdc_flag_fn fn, void *opaque);
void cdc_decoder_destroy(cdc_decoder *d);

/* Decodes one entry body written at `messaging_version` (10, 12, 13).
 * Returns 0; CDC_DECODE_UNKNOWN_TABLE when an update's table is not in the
 * schema (out->missing_table says which; nothing after it can be read);
 * CDC_DECODE_STALE_SCHEMA when it names a column, or a field of a
 * non-frozen UDT, that the table's schema lacks (errstr names table and
 * column: a newer schema can decode it); or -1 with errstr naming the body
 * offset, table and what was expected. In every case out->nupdates counts
 * the updates decoded before the one that failed. */
int cdc_decode(cdc_decoder *d, const uint8_t *body, size_t len, int messaging_version,
	       cdc_mutation *out, char *errstr, size_t errlen);

#endif
