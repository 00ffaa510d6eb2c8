/* schema.h - what the mutation decoder needs to know of each table, found by
 * table id: keyspace and name, partition key, clustering and regular/static
 * columns with their CQL types, cdc flag, dropped columns, user types.
 *
 * Sources: a live node's system_schema (through cql.h), or a JSON file
 * written by `cdctail schema export` (the same format as fixtures'
 * schema.json), for replay on a machine with no Cassandra.
 *
 * Ownership: the schema owns every table, column and type it returns; they
 * stay valid until cdc_schema_destroy() (a refresh builds a new schema and
 * swaps it in, it does not mutate one in use). */
#ifndef CDCTAIL_SCHEMA_H
#define CDCTAIL_SCHEMA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "buf.h"

typedef enum {
	CDC_T_ASCII, CDC_T_BIGINT, CDC_T_BLOB, CDC_T_BOOLEAN, CDC_T_COUNTER,
	CDC_T_DATE, CDC_T_DECIMAL, CDC_T_DOUBLE, CDC_T_DURATION, CDC_T_FLOAT,
	CDC_T_INET, CDC_T_INT, CDC_T_SMALLINT, CDC_T_TEXT, CDC_T_TIME,
	CDC_T_TIMESTAMP, CDC_T_TIMEUUID, CDC_T_TINYINT, CDC_T_UUID, CDC_T_VARINT,
	CDC_T_LIST, CDC_T_SET, CDC_T_MAP, CDC_T_TUPLE, CDC_T_UDT, CDC_T_VECTOR,
	CDC_T_EMPTY,   /* the value-less type of some internal/compact columns */
	CDC_T_CUSTOM,  /* 'org.apache...SomeType': decoded as opaque bytes */
} cdc_type_kind;

typedef struct cdc_type cdc_type;
struct cdc_type {
	cdc_type_kind kind;
	int frozen;            /* frozen<...> (tuples are always frozen) */
	int nsub;              /* list/set/vector 1, map 2, tuple/udt n */
	const cdc_type **sub;
	char **field_names;    /* udt: nsub names */
	char *udt_keyspace;    /* udt */
	char *name;            /* udt name, or custom class */
	int vector_dim;        /* vector<T, n> */
	int fixed_len;         /* bytes when the serialized value has a fixed
	                        * length (no vint length prefix), else -1 */
};

typedef enum {
	CDC_COL_PARTITION_KEY, CDC_COL_CLUSTERING, CDC_COL_REGULAR, CDC_COL_STATIC,
} cdc_column_kind;

typedef struct cdc_column {
	char *name;
	char *cql_name;        /* name as a CQL identifier, quoted if it must be */
	char *cql_js;          /* cql_name escaped for the inside of a JSON string */
	size_t cql_js_len;
	char *json_name;       /* name as a quoted JSON string */
	size_t json_name_len;
	cdc_column_kind kind;
	int position;          /* order within the partition key or clustering */
	int desc;              /* clustering order DESC */
	const cdc_type *type;
	int complex;           /* non-frozen collection or UDT: cells carry paths */
	int64_t dropped_time;  /* microseconds; 0 for a live column */
	size_t name_len;       /* strlen(name), for matching serialized names */
} cdc_column;

typedef struct cdc_table {
	char *keyspace;
	char *name;
	char *cql_name;        /* keyspace.table as CQL identifiers */
	char *cql_js;          /* cql_name escaped for the inside of a JSON string */
	size_t cql_js_len;
	char *json_head;       /* ,"keyspace":"ks","table":"t" as JSON */
	size_t json_head_len;
	uint8_t id[16];
	int cdc;               /* WITH cdc = true */
	int internal;          /* one of Cassandra's own (system_schema): decoded
				* to follow schema changes, never an event */
	int dropped_table;     /* no longer in the node's schema: kept so that
				* entries written before the drop still decode */
	int64_t cdc_written;   /* write time of its cdc flag in system_schema
				* (µs; 0 unknown): "cdc_written" of the JSON */
	int npk, nck, ncols, ndropped;
	const cdc_column **pk;         /* partition key columns in order */
	const cdc_column **ck;         /* clustering columns in order */
	const cdc_column **cols;       /* regular and static columns */
	const cdc_column **dropped;    /* dropped_columns, by name */
} cdc_table;

typedef struct cdc_schema cdc_schema;

/* An empty schema. */
cdc_schema *cdc_schema_new(void);
void cdc_schema_destroy(cdc_schema *s);

/* Loads tables and types from a JSON file in the `schema export` format.
 * Returns 0, or -1 with errstr naming the file and what did not fit. */
int cdc_schema_load_file(cdc_schema *s, const char *path, char *errstr, size_t errlen);

/* Same, from a JSON text held in memory (`name` is used in messages). */
int cdc_schema_load_json(cdc_schema *s, const char *json, size_t len, const char *name,
			 char *errstr, size_t errlen);

/* Writes the schema as JSON (the format load_file reads). */
int cdc_schema_write_json(const cdc_schema *s, FILE *out, char *errstr, size_t errlen);

/* The release of the Cassandra the schema was read from ("5.0.9"), or NULL
 * when the file does not say. */
const char *cdc_schema_cassandra_version(const cdc_schema *s);

/* Whether id is one of Cassandra's own tables ("internal_ids" of the JSON,
 * or a table loaded with "internal": true): their entries are not events
 * and never faults. */
int cdc_schema_is_internal(const cdc_schema *s, const uint8_t id[16]);

/* Whether ks is one of Cassandra's own keyspaces (system, system_schema,
 * system_auth, system_distributed, system_traces, the virtual ones). */
int cdc_schema_is_system_keyspace(const char *ks);

/* How many ids "internal_ids" listed: 0 for a file written before exports
 * listed them (its unknown tables cannot be told from Cassandra's own). */
size_t cdc_schema_internal_count(const cdc_schema *s);

/* The table with this id, or NULL. */
const cdc_table *cdc_schema_table(const cdc_schema *s, const uint8_t id[16]);

/* Number of tables, and the i-th, for listing. */
size_t cdc_schema_table_count(const cdc_schema *s);
const cdc_table *cdc_schema_table_at(const cdc_schema *s, size_t i);

/* A regular or static column by name (as serialized: UTF-8 bytes, no NUL),
 * falling back to dropped columns; NULL if unknown. */
const cdc_column *cdc_table_column(const cdc_table *t, const uint8_t *name, size_t len);

/* The same, looking first at the column after the one *hint points to and
 * leaving *hint after the match: a header lists columns in about the
 * schema's order, so a list is resolved in one pass (start *hint at 0). */
const cdc_column *cdc_table_column_next(const cdc_table *t, const uint8_t *name, size_t len, int *hint);

/* Parses a CQL type as system_schema prints it ("frozen<map<text, int>>",
 * "vector<float, 3>", a UDT name) in keyspace `ks`, resolving UDTs already
 * loaded into `s`. The type is owned by `s`. */
int cdc_schema_parse_type(cdc_schema *s, const char *ks, const char *text,
			  const cdc_type **out, char *errstr, size_t errlen);

/* Appends a CQL identifier, double-quoted when it is not all lowercase
 * letters, digits and underscores or when it is a reserved keyword. */
void cdc_cql_ident(cdc_buf *out, const char *name);

#endif
