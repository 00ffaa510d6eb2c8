/* schema_stream.h - table definitions as the commitlog's schema entries
 * write them.
 *
 * CREATE TABLE is applied on a node as one mutation of the system_schema
 * tables (a `tables` row with the table's id and flags, a `columns` row per
 * column, `dropped_columns` rows), written to the commitlog before the
 * table's first write. A table created and dropped again (DROP TABLE, DROP
 * KEYSPACE) before a schema read from the node saw it is in no schema the
 * node can give: its definition is only in the stream. This module keeps
 * such definitions, from the entry that created the table, amended by the
 * ALTERs that follow, until the caller says a schema holds the table.
 * User types written in the stream (system_schema.types) are kept too, so
 * that a definition can name them.
 *
 * Entries are read decoded with the system_schema definitions the schema
 * holds as "internal" tables. Only tables whose creation the stream shows
 * (its entry has the partition key columns) get a definition. */
#ifndef CDCTAIL_SCHEMA_STREAM_H
#define CDCTAIL_SCHEMA_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "mutation.h"

typedef struct cdc_stream_defs cdc_stream_defs;

/* An empty set; NULL when out of memory. */
cdc_stream_defs *cdc_stream_defs_new(void);
void cdc_stream_defs_destroy(cdc_stream_defs *d);

/* Learns from one decoded entry (its updates of system_schema.tables,
 * columns, dropped_columns and types; the others are passed over). 0, or
 * -1 when out of memory. A row that does not read as Cassandra writes it
 * (a cell of another size) is passed over. */
int cdc_stream_defs_entry(cdc_stream_defs *d, const cdc_mutation *m);

/* The definition of table `id` as a schema document (cdctail-schema/1:
 * the table, with "dropped": true, and the stream's types of its
 * keyspace) appended to out. 1 when there is one, 0 when not, -1 when
 * out of memory. */
int cdc_stream_defs_doc(const cdc_stream_defs *d, const uint8_t id[16], cdc_buf *out);

/* Forgets the definitions of the tables schema s holds (it has them now,
 * from the node or as dropped tables it keeps). Returns how many went. */
size_t cdc_stream_defs_prune(cdc_stream_defs *d, const cdc_schema *s);

/* Definitions held. */
size_t cdc_stream_defs_count(const cdc_stream_defs *d);

/* The definitions, and the types of their keyspaces, as checkpoint note
 * lines ("schema def", "schema type"). 0, or -1 when out of memory. */
int cdc_stream_defs_save(const cdc_stream_defs *d, cdc_buf *out);

/* Loads what cdc_stream_defs_save wrote (other lines are ignored). 0, or
 * -1 with errstr naming the line. */
int cdc_stream_defs_load(cdc_stream_defs *d, const char *notes, char *errstr, size_t errlen);

#endif
