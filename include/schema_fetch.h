/* schema_fetch.h - reads system_schema from a live Cassandra (through cql.h)
 * and writes the schema JSON of docs/schema-json.md, the format
 * cdc_schema_load_json() reads; and the `cdctail schema export` command. */
#ifndef CDCTAIL_SCHEMA_FETCH_H
#define CDCTAIL_SCHEMA_FETCH_H

#include <stddef.h>

#include "buf.h"
#include "tls.h"

/* Connects to host:port (user/password NULL when the node has no
 * authenticator), reads system.local's release_version and the keyspaces'
 * tables, columns, user types and dropped columns from system_schema, and
 * appends the JSON document to out_json. `keyspaces` is a NULL-terminated
 * list of the keyspaces wanted (each must exist), or NULL for every keyspace
 * but Cassandra's own (system, system_schema, system_auth, ...). Tables are
 * sorted by keyspace and name, columns by kind (partition key, clustering,
 * static, regular), position and name, as scripts/fixtures/gen.py writes
 * them. The output is checked to load with cdc_schema_load_json(). 0, or -1
 * with errstr. */
int cdc_schema_fetch_json(const char *host, int port, const char *user, const char *password,
			  const char *const *keyspaces, cdc_buf *out_json, char *errstr, size_t errlen);

/* Same, with the per-operation timeout in milliseconds (0: 10 s). */
int cdc_schema_fetch_json_timeout(const char *host, int port, const char *user, const char *password,
				  const char *const *keyspaces, int timeout_ms, cdc_buf *out_json,
				  char *errstr, size_t errlen);

/* Same as cdc_schema_fetch_json, and appends to `others` the 16-byte ids
 * of the tables it left out (Cassandra's own, when keyspaces is NULL), so
 * that their commitlog entries can be skipped without asking again. */
int cdc_schema_fetch_json_others(const char *host, int port, const char *user, const char *password,
				 const char *const *keyspaces, cdc_buf *out_json, cdc_buf *others,
				 char *errstr, size_t errlen);

/* The fetch with every option: over TLS when tls is not NULL and
 * tls->enabled (tls.h), the per-operation timeout in milliseconds (0:
 * 10 s), and the ids of the tables left out appended to `others` as
 * cdc_schema_fetch_json_others does (others NULL: not wanted). The three
 * calls above are this one with plain TCP. 0, or -1 with errstr. */
int cdc_schema_fetch_json_tls(const char *host, int port, const char *user, const char *password,
			      const cdc_tls_opts *tls, const char *const *keyspaces, int timeout_ms, cdc_buf *out_json,
			      cdc_buf *others, char *errstr, size_t errlen);

/* `cdctail schema export [--host H] [--port P] [--user U]
 * [--password-file F] [--keyspace K]... [--output FILE] [--timeout-ms MS]
 * [--tls] [--ca-file F] [--cert-file F] [--key-file F] [--server-name N]
 * [--no-verify-host]` (any TLS option turns TLS on),
 * called with argv[0] = "schema", argv[1] = "export". The password comes
 * from the file's first line, else from $CDCTAIL_CQL_PASSWORD. Writes the
 * JSON to stdout or FILE (replaced only on success). Returns the exit code:
 * 0 written, 1 the node could not be read, 2 usage; errors go to stderr as
 * "cdctail: ...". */
int cdc_schema_export_main(int argc, char **argv);

/* The first line of a password file, without its line end, as a string the
 * caller frees (and should wipe); NULL with errstr when the file cannot be
 * read or is empty. */
char *cdc_read_password_file(const char *path, char *errstr, size_t errlen);

#endif
