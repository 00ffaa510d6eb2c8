/* cql.h - a small, blocking client of Cassandra's CQL native protocol, enough
 * to read system tables: protocol v5 with its segment framing (CRC24 header,
 * CRC32 payload), falling back to v4 when the server refuses v5;
 * PasswordAuthenticator (SASL PLAIN); QUERY at consistency ONE with paging
 * handled inside cdc_cql_query(); results of kind ROWS, VOID, SET_KEYSPACE and
 * SCHEMA_CHANGE; plain TCP or TLS (tls.h, for client_encryption_options).
 * Blocking calls (connect, cdc_cql_query) one request at a time; and
 * pipelined writes for `cdctail apply`: PREPARE, EXECUTE and UNLOGGED BATCH
 * of prepared statements with bound values, up to CDC_CQL_MAX_STREAMS
 * requests in flight on one connection, each on its own stream id, answered
 * in any order (cdc_cql_send, cdc_cql_poll). No compression.
 *
 * Every length read from the network is checked against what was received: a
 * malformed or truncated frame is an error naming host:port, never a crash.
 *
 * Ownership: the connection owns every buffer it hands to a row callback;
 * cells and column names are valid only during that call. */
#ifndef CDCTAIL_CQL_H
#define CDCTAIL_CQL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "tls.h"

typedef struct cdc_cql_conn cdc_cql_conn;

/* Type ids of the protocol's [option] (native_protocol_v5.spec 4.2.5.2). */
enum {
	CDC_CQL_CUSTOM = 0x00, CDC_CQL_ASCII = 0x01, CDC_CQL_BIGINT = 0x02, CDC_CQL_BLOB = 0x03,
	CDC_CQL_BOOLEAN = 0x04, CDC_CQL_COUNTER = 0x05, CDC_CQL_DECIMAL = 0x06, CDC_CQL_DOUBLE = 0x07,
	CDC_CQL_FLOAT = 0x08, CDC_CQL_INT = 0x09, CDC_CQL_TIMESTAMP = 0x0B, CDC_CQL_UUID = 0x0C,
	CDC_CQL_VARCHAR = 0x0D, CDC_CQL_VARINT = 0x0E, CDC_CQL_TIMEUUID = 0x0F, CDC_CQL_INET = 0x10,
	CDC_CQL_DATE = 0x11, CDC_CQL_TIME = 0x12, CDC_CQL_SMALLINT = 0x13, CDC_CQL_TINYINT = 0x14,
	CDC_CQL_DURATION = 0x15, CDC_CQL_LIST = 0x20, CDC_CQL_MAP = 0x21, CDC_CQL_SET = 0x22,
	CDC_CQL_UDT = 0x30, CDC_CQL_TUPLE = 0x31,
};

/* A result column: its name and type id; for list/set the element type in
 * sub[0], for map key and value in sub[0], sub[1] (else -1). */
typedef struct cdc_cql_col {
	const char *name;
	int type;
	int sub[2];
} cdc_cql_col;

/* A cell: `len` bytes at `p`, or p == NULL for null. */
typedef struct cdc_cql_value {
	const uint8_t *p;
	size_t len;
} cdc_cql_value;

/* Called once per row; returns 0 to go on, non-zero (after filling errstr)
 * to stop the query, which then returns -1 with that message. */
typedef int (*cdc_cql_row_fn)(void *opaque, const cdc_cql_col *cols, const cdc_cql_value *cells,
			      int ncols, char *errstr, size_t errlen);

/* Connects to host:port (a name or address), negotiates v5 (or v4) and
 * authenticates with user/password when the server asks (both NULL: no
 * credentials, an AUTHENTICATE is then an error). timeout_ms bounds each
 * connect, send and receive. Returns 0 and *out, or -1 with errstr. */
int cdc_cql_connect(cdc_cql_conn **out, const char *host, int port, const char *user,
		    const char *password, int timeout_ms, char *errstr, size_t errlen);

/* The same over TLS when tls is not NULL and tls->enabled (tls.h: the
 * node's certificate is checked before anything is sent; the strings need
 * to live only during the call); else plain TCP. */
int cdc_cql_connect_tls(cdc_cql_conn **out, const char *host, int port, const char *user, const char *password,
			const cdc_tls_opts *tls, int timeout_ms, char *errstr, size_t errlen);

/* Runs one CQL statement at consistency ONE, fetching every page
 * (page_size rows each, 0 for the default of 1000) and calling fn for every
 * row in order (fn may be NULL for statements without rows). 0, or -1 with
 * errstr naming host:port and the server's message for an ERROR. */
int cdc_cql_query(cdc_cql_conn *c, const char *cql, int page_size, cdc_cql_row_fn fn, void *opaque,
		  char *errstr, size_t errlen);

/* The negotiated protocol version (5 or 4). */
int cdc_cql_version(const cdc_cql_conn *c);

/* Parses one RESULT envelope body (flags: the envelope's flags byte) the
 * way cdc_cql_query does: rows go to fn, a paging state is copied into ps
 * and *more set. peer names the server in messages. 0, or -1 with errstr.
 * Exposed for the fuzz target; the query path uses it too. */
int cdc_cql_parse_result(const char *peer, int flags, const uint8_t *body, size_t len, cdc_buf *ps, int *more,
			 cdc_cql_row_fn fn, void *opaque, char *errstr, size_t errlen);

/* ---- pipelined requests ---- */

#define CDC_CQL_MAX_STREAMS 1024 /* stream ids 1..this for pipelined requests */

/* Consistency levels ([consistency] of the spec). */
enum {
	CDC_CQL_ANY = 0x00, CDC_CQL_ONE = 0x01, CDC_CQL_TWO = 0x02, CDC_CQL_THREE = 0x03, CDC_CQL_QUORUM = 0x04,
	CDC_CQL_ALL = 0x05, CDC_CQL_LOCAL_QUORUM = 0x06, CDC_CQL_EACH_QUORUM = 0x07, CDC_CQL_LOCAL_ONE = 0x0A,
};

/* A prepared statement: the server's id, in v5 its result metadata id, and
 * the number of bind markers (-1 unknown). Owned by the caller. */
typedef struct cdc_cql_prepared {
	uint8_t *id, *meta;
	size_t idlen, metalen;
	int nvars;
} cdc_cql_prepared;

/* One statement of a request: a prepared one (prep), else its text sent
 * as a QUERY (or a batch entry) with the same values; values[i].p == NULL
 * is null. */
typedef struct cdc_cql_bound {
	const cdc_cql_prepared *prep;
	const char *cql;
	const cdc_cql_value *values;
	int nvalues;
} cdc_cql_bound;

/* The answer to one pipelined request. code 0: a RESULT of `kind` (for a
 * PREPARE: id, meta, nvars); else an ERROR: its code (a server error, code
 * 0 in the spec, is -2 here), message (msg, msglen: not NUL-terminated),
 * and for UNPREPARED (0x2500) the unknown id. Pointers are valid during
 * the callback only. */
typedef struct cdc_cql_result {
	void *tag;
	int32_t code;
	int32_t kind;
	const char *msg;
	size_t msglen;
	const uint8_t *id, *meta;
	size_t idlen, metalen;
	int nvars;
	const uint8_t *body;     /* the RESULT body, for cdc_cql_parse_result */
	size_t bodylen;
	int flags;               /* the envelope's flags */
} cdc_cql_result;

typedef void (*cdc_cql_done_fn)(void *opaque, const cdc_cql_result *r);

/* Requests in flight at most (1..CDC_CQL_MAX_STREAMS; default 128). */
void cdc_cql_set_max_in_flight(cdc_cql_conn *c, int n);
int cdc_cql_in_flight(const cdc_cql_conn *c);

/* Whether cdc_cql_send would find a free stream. */
int cdc_cql_can_send(const cdc_cql_conn *c);

/* Queues one request: n == 1 an EXECUTE (a QUERY with values when the
 * statement is not prepared), n > 1 an UNLOGGED BATCH of the n statements,
 * at `consistency`. tag comes back in the result. Requests are written by
 * cdc_cql_flush or cdc_cql_poll (or once a segment's worth is queued).
 * Returns 0, 1 when max_in_flight requests are in flight (poll first), or
 * -1 with errstr (the connection is then unusable). */
int cdc_cql_send(cdc_cql_conn *c, const cdc_cql_bound *st, int n, int consistency, void *tag, char *errstr,
		 size_t errlen);

/* Writes the queued requests: 0, or -1 with errstr. */
int cdc_cql_flush(cdc_cql_conn *c, char *errstr, size_t errlen);

/* Flushes, then waits up to wait_ms (0: not at all, -1: without limit) for
 * an answer and takes every answer that has arrived, calling fn for each.
 * Returns how many requests completed, or -1 with errstr (a transport or
 * protocol failure: the requests in flight have no answer, the connection
 * is unusable). */
int cdc_cql_poll(cdc_cql_conn *c, int wait_ms, cdc_cql_done_fn fn, void *opaque, char *errstr, size_t errlen);

/* Prepares cql, waiting for the answer (answers to other requests that
 * arrive meanwhile go to fn). 0 and *out, or -1 with errstr (the server's
 * message when it refused the statement). */
int cdc_cql_prepare(cdc_cql_conn *c, const char *cql, cdc_cql_prepared *out, cdc_cql_done_fn fn, void *opaque,
		    char *errstr, size_t errlen);

void cdc_cql_prepared_free(cdc_cql_prepared *p);

/* The spec's name of an ERROR code ("write timeout", "invalid query", ...). */
const char *cdc_cql_error_name(int32_t code);

/* Closes the socket and frees the connection (NULL is fine). */
void cdc_cql_close(cdc_cql_conn *c);

/* Cell decoders (serialization formats of native_protocol_v5.spec 6).
 * Each returns 0, or -1 with errstr when the cell is null or its length does
 * not fit the type. */
int cdc_cql_get_int(const cdc_cql_value *v, int32_t *out, char *errstr, size_t errlen);
int cdc_cql_get_bool(const cdc_cql_value *v, int *out, char *errstr, size_t errlen);
/* timestamp: milliseconds since the epoch */
int cdc_cql_get_timestamp(const cdc_cql_value *v, int64_t *out, char *errstr, size_t errlen);
/* uuid/timeuuid as 36 lowercase characters and a NUL */
int cdc_cql_get_uuid(const cdc_cql_value *v, char out[37], char *errstr, size_t errlen);
/* text/varchar/ascii: a NUL-terminated copy the caller frees (a NUL inside
 * the value is an error) */
int cdc_cql_get_text(const cdc_cql_value *v, char **out, char *errstr, size_t errlen);

/* Collections (list, set, map; frozen or not, the wire form is the same):
 * the element count, then each element in turn (a map gives key, value,
 * key, ...: 2 * count items). `*off` starts at 0 and is advanced past the
 * item; a null element has item->p == NULL. */
int cdc_cql_coll_count(const cdc_cql_value *v, int32_t *n, char *errstr, size_t errlen);
int cdc_cql_coll_next(const cdc_cql_value *v, size_t *off, cdc_cql_value *item, char *errstr,
		      size_t errlen);

/* --- wire helpers, exposed for the unit tests --- */

#define CDC_CQL_SEGMENT_MAX 131071 /* payload bytes in one v5 segment */
#define CDC_CQL_FRAME_MAX (256u << 20) /* the protocol's frame body limit */

/* CRC24 of v5 segment headers (init 0x875060, polynomial 0x1974F0B), over
 * the bytes in wire order. */
uint32_t cdc_cql_crc24(const uint8_t *p, size_t n);

/* CRC32 of v5 segment payloads: zlib's CRC32 seeded with FA 2D 55 CA. */
uint32_t cdc_cql_crc32(const uint8_t *p, size_t n);

/* Appends n bytes of envelopes as uncompressed v5 segments: one
 * self-contained segment when n fits, else parts of at most
 * CDC_CQL_SEGMENT_MAX bytes flagged not self-contained. */
void cdc_cql_segment_wrap(cdc_buf *out, const uint8_t *p, size_t n);

/* Decodes one uncompressed segment at p[0..n): on 0 appends its payload to
 * `payload`, sets *used (bytes consumed) and *self_contained; returns 1 when
 * n is too short (*used = bytes needed in all), -1 with errstr on a CRC
 * mismatch. */
int cdc_cql_segment_unwrap(const uint8_t *p, size_t n, size_t *used, cdc_buf *payload,
			   int *self_contained, char *errstr, size_t errlen);

/* Appends a QUERY envelope (9-byte header and body) for protocol `version`
 * (4: byte flags, 5: int flags): consistency ONE, page size, and the paging
 * state when ps != NULL. */
void cdc_cql_encode_query(cdc_buf *out, int version, int16_t stream, const char *cql, int32_t page_size,
			  const uint8_t *ps, size_t ps_len);

/* Appends a PREPARE, an EXECUTE (or QUERY with values) and an UNLOGGED
 * BATCH envelope, as cdc_cql_send writes them (for the unit tests). */
void cdc_cql_encode_prepare(cdc_buf *out, int version, int16_t stream, const char *cql);
void cdc_cql_encode_execute(cdc_buf *out, int version, int16_t stream, const cdc_cql_bound *st, int consistency);
void cdc_cql_encode_batch(cdc_buf *out, int version, int16_t stream, const cdc_cql_bound *st, int n,
			  int consistency);

/* --- consistency levels (cdctail snapshot) --- */

/* The protocol's code of a consistency level by name (ONE, LOCAL_ONE,
 * QUORUM, LOCAL_QUORUM, ALL, ...; any case): 0, or -1 for another name. */
int cdc_cql_consistency(const char *name, uint16_t *code);

/* cdc_cql_query at that consistency instead of ONE. */
int cdc_cql_query_at(cdc_cql_conn *c, const char *cql, uint16_t consistency, int page_size, cdc_cql_row_fn fn,
		     void *opaque, char *errstr, size_t errlen);

#endif
