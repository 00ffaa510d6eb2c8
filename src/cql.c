/* cql.c - a blocking CQL native-protocol client (include/cql.h).
 *
 * Wire facts used here (doc/native_protocol_v4.spec, native_protocol_v5.spec):
 * an envelope is a 9-byte big-endian header (version, flags, stream, opcode,
 * body length) and a body. In v5, once the server has answered STARTUP with
 * READY or AUTHENTICATE, both sides wrap envelopes in segments: a 3-byte
 * little-endian header (17 bits of payload length, then the self-contained
 * bit), its CRC24 in 3 little-endian bytes, the payload, and the payload's
 * CRC32 in 4 little-endian bytes. Before that, and always in v4, envelopes
 * go on the wire as they are. */
#include "cql.h"
#include "err.h"
#include "tls.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

enum {
	OP_ERROR = 0x00, OP_STARTUP = 0x01, OP_READY = 0x02, OP_AUTHENTICATE = 0x03,
	OP_OPTIONS = 0x05, OP_SUPPORTED = 0x06, OP_QUERY = 0x07, OP_RESULT = 0x08,
	OP_PREPARE = 0x09, OP_EXECUTE = 0x0A, OP_BATCH = 0x0D,
	OP_EVENT = 0x0C, OP_AUTH_CHALLENGE = 0x0E, OP_AUTH_RESPONSE = 0x0F, OP_AUTH_SUCCESS = 0x10,
};

enum { RES_VOID = 1, RES_ROWS = 2, RES_SET_KEYSPACE = 3, RES_PREPARED = 4, RES_SCHEMA_CHANGE = 5 };

#define ERR_PROTOCOL 0x000A
#define FALLBACK 1 /* internal: the server refused the protocol version */

struct cdc_cql_conn {
	int fd;
	cdc_tls *tls;           /* NULL: plain TCP */
	size_t received;        /* bytes received on this connection */
	int version;            /* 5 or 4 */
	int framed;             /* v5 segments in use */
	int timeout_ms;
	int16_t stream;         /* last stream id used */
	int probing;            /* first request of a handshake: a version
				 * refusal may come on stream 0 (3.x does) */
	char peer[300];         /* "host:port", for messages */
	cdc_buf seg;            /* one segment as read */
	cdc_buf pay;            /* segment payload bytes not yet taken as envelopes */
	size_t pay_off;
	cdc_buf body;           /* the body of the last envelope received */
	cdc_buf out;            /* the request being sent */
	cdc_buf env;            /* the envelope before segment wrapping */
	cdc_buf ps;             /* paging state of the page just read */
	/* pipelined requests (cdc_cql_send, cdc_cql_poll) */
	void *tags[CDC_CQL_MAX_STREAMS + 1]; /* by stream id; NULL slot free */
	uint8_t busy[CDC_CQL_MAX_STREAMS + 1];
	int16_t free_ids[CDC_CQL_MAX_STREAMS];
	int nfree;
	int in_flight, max_in_flight;
	cdc_buf queued;         /* envelopes not yet written */
};

typedef struct frame {
	int version, flags, opcode;
	int16_t stream;
	const uint8_t *body;
	size_t len;
} frame;

static void stream_pool_init(cdc_cql_conn *c);

/* ---------------------------------------------------------------- CRCs */

/* Bitwise CRC24 as the v5 framing defines it: MSB first, not reflected. */
uint32_t cdc_cql_crc24(const uint8_t *p, size_t n)
{
	uint32_t crc = 0x875060;
	size_t i;
	int b;

	for (i = 0; i < n; i++) {
		crc ^= (uint32_t)p[i] << 16;
		for (b = 0; b < 8; b++) {
			crc <<= 1;
			if (crc & 0x1000000)
				crc ^= 0x1974F0B;
		}
	}
	return crc & 0xFFFFFF;
}

/* zlib CRC32 of the four seed bytes followed by p[0..n). */
uint32_t cdc_cql_crc32(const uint8_t *p, size_t n)
{
	static const uint8_t seed[4] = { 0xFA, 0x2D, 0x55, 0xCA };
	uLong c = crc32(0L, Z_NULL, 0);

	c = crc32(c, seed, 4);
	while (n > 0) {
		uInt k = n > (1u << 30) ? (1u << 30) : (uInt)n;

		c = crc32(c, p, k);
		p += k;
		n -= k;
	}
	return (uint32_t)c;
}

/* ------------------------------------------------------------ segments */

/* Appends the low nbytes of v, least significant first. */
static void put_le(cdc_buf *b, uint32_t v, int nbytes)
{
	int i;

	for (i = 0; i < nbytes; i++)
		cdc_buf_putc(b, (char)(uint8_t)(v >> (8 * i)));
}

/* Reads nbytes little-endian. */
static uint32_t get_le(const uint8_t *p, int nbytes)
{
	uint32_t v = 0;
	int i;

	for (i = nbytes - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* Appends one segment of n <= CDC_CQL_SEGMENT_MAX payload bytes. */
static void segment_one(cdc_buf *out, const uint8_t *p, size_t n, int self_contained)
{
	uint32_t h = (uint32_t)n | (self_contained ? 1u << 17 : 0);
	uint8_t hb[3] = { (uint8_t)h, (uint8_t)(h >> 8), (uint8_t)(h >> 16) };

	cdc_buf_put(out, hb, 3);
	put_le(out, cdc_cql_crc24(hb, 3), 3);
	cdc_buf_put(out, p, n);
	put_le(out, cdc_cql_crc32(p, n), 4);
}

/* Self-contained when it fits in one segment, else split into parts. */
void cdc_cql_segment_wrap(cdc_buf *out, const uint8_t *p, size_t n)
{
	size_t off = 0;

	if (n <= CDC_CQL_SEGMENT_MAX) {
		segment_one(out, p, n, 1);
		return;
	}
	while (off < n) {
		size_t k = n - off > CDC_CQL_SEGMENT_MAX ? CDC_CQL_SEGMENT_MAX : n - off;

		segment_one(out, p + off, k, 0);
		off += k;
	}
}

/* Checks the header CRC before trusting its length, then the payload CRC. */
int cdc_cql_segment_unwrap(const uint8_t *p, size_t n, size_t *used, cdc_buf *payload,
			   int *self_contained, char *errstr, size_t errlen)
{
	uint32_t h, want, got;
	size_t len, total;

	if (n < 6) {
		*used = 6;
		return 1;
	}
	h = get_le(p, 3);
	want = get_le(p + 3, 3);
	got = cdc_cql_crc24(p, 3);
	if (want != got)
		return cdc_error(errstr, errlen, "v5 segment header CRC24 mismatch (header %06x, CRC %06x, computed %06x)",
				 h, want, got);
	len = h & CDC_CQL_SEGMENT_MAX;
	total = 6 + len + 4;
	if (n < total) {
		*used = total;
		return 1;
	}
	want = get_le(p + 6 + len, 4);
	got = cdc_cql_crc32(p + 6, len);
	if (want != got)
		return cdc_error(errstr, errlen, "v5 segment payload CRC32 mismatch (%zu bytes, CRC %08x, computed %08x)",
				 len, want, got);
	cdc_buf_put(payload, p + 6, len);
	if (payload->oom)
		return cdc_error(errstr, errlen, "out of memory");
	*used = total;
	*self_contained = (int)((h >> 17) & 1);
	return 0;
}

/* ------------------------------------------------------------ encoding */

/* Appends a big-endian [short]. */
static void put_be16(cdc_buf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	cdc_buf_put(b, x, 2);
}

/* Appends a big-endian [int]. */
static void put_be32(cdc_buf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	cdc_buf_put(b, x, 4);
}

/* Appends a [string] (short length, bytes). */
static void put_string(cdc_buf *b, const char *s)
{
	size_t n = strlen(s);

	put_be16(b, (uint16_t)n);
	cdc_buf_put(b, s, n);
}

/* Appends a header with a zero length; end_envelope() patches it. */
static size_t begin_envelope(cdc_buf *b, int version, int16_t stream, int opcode)
{
	size_t at = b->len;

	cdc_buf_putc(b, (char)version);
	cdc_buf_putc(b, 0);
	put_be16(b, (uint16_t)stream);
	cdc_buf_putc(b, (char)opcode);
	put_be32(b, 0);
	return at;
}

/* Writes the body length into the header begun at `at`. */
static void end_envelope(cdc_buf *b, size_t at)
{
	uint32_t n = (uint32_t)(b->len - at - 9);

	if (b->oom)
		return;
	b->p[at + 5] = (char)(n >> 24);
	b->p[at + 6] = (char)(n >> 16);
	b->p[at + 7] = (char)(n >> 8);
	b->p[at + 8] = (char)n;
}

/* QUERY: <long string><consistency ONE><flags><page size>[<paging state>]. */
void cdc_cql_encode_query(cdc_buf *out, int version, int16_t stream, const char *cql, int32_t page_size,
			  const uint8_t *ps, size_t ps_len)
{
	size_t at = begin_envelope(out, version, stream, OP_QUERY), n = strlen(cql);
	uint32_t flags = 0x04 | (ps ? 0x08 : 0);

	put_be32(out, (uint32_t)n);
	cdc_buf_put(out, cql, n);
	put_be16(out, 0x0001);
	if (version >= 5)
		put_be32(out, flags);
	else
		cdc_buf_putc(out, (char)flags);
	put_be32(out, (uint32_t)page_size);
	if (ps) {
		put_be32(out, (uint32_t)ps_len);
		cdc_buf_put(out, ps, ps_len);
	}
	end_envelope(out, at);
}

/* ------------------------------------------------------------ decoding */

typedef struct rd {
	const uint8_t *p;
	size_t n, off;
	int bad;
} rd;

/* Marks the reader bad unless k more bytes are there. */
static int rd_need(rd *r, size_t k)
{
	if (r->bad || r->n - r->off < k) {
		r->bad = 1;
		return 0;
	}
	return 1;
}

/* A big-endian [short], or 0 (and r->bad) past the end. */
static uint16_t rd_u16(rd *r)
{
	uint16_t v;

	if (!rd_need(r, 2))
		return 0;
	v = (uint16_t)((r->p[r->off] << 8) | r->p[r->off + 1]);
	r->off += 2;
	return v;
}

/* A big-endian [int], or 0 (and r->bad) past the end. */
static int32_t rd_i32(rd *r)
{
	uint32_t v;

	if (!rd_need(r, 4))
		return 0;
	v = ((uint32_t)r->p[r->off] << 24) | ((uint32_t)r->p[r->off + 1] << 16) |
	    ((uint32_t)r->p[r->off + 2] << 8) | r->p[r->off + 3];
	r->off += 4;
	return (int32_t)v;
}

/* k bytes in place, or NULL (and r->bad) past the end. */
static const uint8_t *rd_take(rd *r, size_t k)
{
	const uint8_t *p;

	if (!rd_need(r, k))
		return NULL;
	p = r->p + r->off;
	r->off += k;
	return p;
}

/* [string]: a pointer into the body and its length. */
static const uint8_t *rd_string(rd *r, size_t *len)
{
	*len = rd_u16(r);
	return rd_take(r, *len);
}

/* [bytes]: NULL with *len 0 for a negative length (null). */
static const uint8_t *rd_bytes(rd *r, size_t *len, int *isnull)
{
	int32_t n = rd_i32(r);

	*isnull = 0;
	*len = 0;
	if (r->bad)
		return NULL;
	if (n < 0) {
		*isnull = 1;
		return NULL;
	}
	*len = (size_t)n;
	return rd_take(r, (size_t)n);
}

/* [option]: the type id; element types of list/set/map into sub; UDTs,
 * tuples and custom classes are read past. */
static int rd_option(rd *r, int sub[2], int depth)
{
	int id = rd_u16(r), tmp[2], i, n;
	size_t len;

	sub[0] = sub[1] = -1;
	if (r->bad || depth > 32) {
		r->bad = 1;
		return -1;
	}
	switch (id) {
	case CDC_CQL_CUSTOM:
		rd_string(r, &len);
		break;
	case CDC_CQL_LIST:
	case CDC_CQL_SET:
		sub[0] = rd_option(r, tmp, depth + 1);
		break;
	case CDC_CQL_MAP:
		sub[0] = rd_option(r, tmp, depth + 1);
		sub[1] = rd_option(r, tmp, depth + 1);
		break;
	case CDC_CQL_UDT:
		rd_string(r, &len);
		rd_string(r, &len);
		n = rd_u16(r);
		for (i = 0; i < n && !r->bad; i++) {
			rd_string(r, &len);
			rd_option(r, tmp, depth + 1);
		}
		break;
	case CDC_CQL_TUPLE:
		n = rd_u16(r);
		for (i = 0; i < n && !r->bad; i++)
			rd_option(r, tmp, depth + 1);
		break;
	default:
		if (id > CDC_CQL_DURATION) {
			r->bad = 1;
			return -1;
		}
	}
	return r->bad ? -1 : id;
}

/* --------------------------------------------------------------- I/O */

/* Monotonic milliseconds, for deadlines. */
static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for `events` on the socket until the deadline. */
static int wait_fd(cdc_cql_conn *c, short events, int64_t deadline, const char *what, char *errstr,
		   size_t errlen)
{
	for (;;) {
		struct pollfd pfd = { c->fd, events, 0 };
		int64_t left = deadline - now_ms();
		int rc;

		if (left <= 0)
			return cdc_error(errstr, errlen, "%s: timed out after %d ms %s", c->peer, c->timeout_ms, what);
		rc = poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left);
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return cdc_error(errstr, errlen, "%s: poll: %s", c->peer, strerror(errno));
	}
}

/* One receive of at most n bytes, over TLS or not: the count, 0 when the
 * server closed, CDC_TLS_WANT_READ/WRITE, or -1 with errstr. */
static ssize_t conn_recv(cdc_cql_conn *c, uint8_t *dst, size_t n, char *errstr, size_t errlen)
{
	ssize_t k;

	if (c->tls)
		return cdc_tls_read(c->tls, dst, n, errstr, errlen);
	do
		k = recv(c->fd, dst, n, 0);
	while (k < 0 && errno == EINTR);
	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return CDC_TLS_WANT_READ;
	if (k < 0 && errno == ECONNRESET && c->received == 0)
		return cdc_error(errstr, errlen, "%s: connection reset by the server before it answered "
				 "(a node that requires TLS does this)", c->peer);
	if (k < 0)
		return cdc_error(errstr, errlen, "%s: recv: %s", c->peer, strerror(errno));
	return k;
}

/* Reads exactly n bytes (to dst) before the deadline. */
static int read_exact(cdc_cql_conn *c, uint8_t *dst, size_t n, int64_t deadline, char *errstr, size_t errlen)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = conn_recv(c, dst + got, n - got, errstr, errlen);

		if (k > 0) {
			got += (size_t)k;
			c->received += (size_t)k;
			continue;
		}
		if (k == 0 && c->received == 0 && !c->tls)
			return cdc_error(errstr, errlen, "%s: connection closed by the server before it answered "
					 "(a node that requires TLS does this)", c->peer);
		if (k == 0)
			return cdc_error(errstr, errlen, "%s: connection closed by the server (%zu of %zu bytes read)",
					 c->peer, got, n);
		if (k == -1)
			return -1;
		if (wait_fd(c, k == CDC_TLS_WANT_WRITE ? POLLOUT : POLLIN, deadline, "waiting for a response", errstr,
			    errlen) != 0)
			return -1;
	}
	return 0;
}

/* Reads n bytes appended to b. */
static int read_into(cdc_cql_conn *c, cdc_buf *b, size_t n, int64_t deadline, char *errstr, size_t errlen)
{
	if (cdc_buf_reserve(b, n) != 0)
		return cdc_error(errstr, errlen, "out of memory");
	if (read_exact(c, (uint8_t *)b->p + b->len, n, deadline, errstr, errlen) != 0)
		return -1;
	b->len += n;
	return 0;
}

/* One send of at most n bytes, over TLS or not: the count,
 * CDC_TLS_WANT_READ/WRITE, or -1 with errstr. */
static ssize_t conn_send(cdc_cql_conn *c, const uint8_t *p, size_t n, char *errstr, size_t errlen)
{
	ssize_t k;

	if (c->tls)
		return cdc_tls_write(c->tls, p, n, errstr, errlen);
	do
		k = send(c->fd, p, n, MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return CDC_TLS_WANT_WRITE;
	if (k < 0)
		return cdc_error(errstr, errlen, "%s: send: %s", c->peer, strerror(errno));
	return k;
}

/* Sends all n bytes within the timeout. */
static int write_all(cdc_cql_conn *c, const uint8_t *p, size_t n, char *errstr, size_t errlen)
{
	int64_t deadline = now_ms() + c->timeout_ms;
	size_t off = 0;

	while (off < n) {
		ssize_t k = conn_send(c, p + off, n - off, errstr, errlen);

		if (k > 0) {
			off += (size_t)k;
			continue;
		}
		if (k == -1)
			return -1;
		if (wait_fd(c, k == CDC_TLS_WANT_READ ? POLLIN : POLLOUT, deadline, "sending a request", errstr,
			    errlen) != 0)
			return -1;
	}
	return 0;
}

/* Sends the envelope in c->env, wrapped in segments once framing is on. */
static int send_env(cdc_cql_conn *c, char *errstr, size_t errlen)
{
	const cdc_buf *b = &c->env;

	if (c->framed) {
		cdc_buf_reset(&c->out);
		cdc_cql_segment_wrap(&c->out, (const uint8_t *)c->env.p, c->env.len);
		b = &c->out;
	}
	if (b->oom)
		return cdc_error(errstr, errlen, "out of memory");
	return write_all(c, (const uint8_t *)b->p, b->len, errstr, errlen);
}

/* Makes at least k envelope bytes available in c->pay after pay_off,
 * reading and checking segments as needed. */
static int pay_need(cdc_cql_conn *c, size_t k, int64_t deadline, char *errstr, size_t errlen)
{
	if (c->pay_off > 0) {
		memmove(c->pay.p, c->pay.p + c->pay_off, c->pay.len - c->pay_off);
		c->pay.len -= c->pay_off;
		c->pay_off = 0;
	}
	while (c->pay.len < k) {
		size_t used = 0;
		int sc, rc;

		cdc_buf_reset(&c->seg);
		if (read_into(c, &c->seg, 6, deadline, errstr, errlen) != 0)
			return -1;
		rc = cdc_cql_segment_unwrap((const uint8_t *)c->seg.p, c->seg.len, &used, &c->pay, &sc, errstr, errlen);
		if (rc == 1) {
			if (read_into(c, &c->seg, used - c->seg.len, deadline, errstr, errlen) != 0)
				return -1;
			rc = cdc_cql_segment_unwrap((const uint8_t *)c->seg.p, c->seg.len, &used, &c->pay, &sc,
						    errstr, errlen);
		}
		if (rc != 0) {
			char tmp[CDC_ERRSTR_SIZE];

			snprintf(tmp, sizeof(tmp), "%s", errstr ? errstr : "");
			return cdc_error(errstr, errlen, "%s: %s", c->peer, rc < 0 ? tmp : "short segment");
		}
	}
	return 0;
}

/* Parses a 9-byte envelope header; checks direction and length. */
static int parse_header(cdc_cql_conn *c, const uint8_t *h, frame *f, size_t *len, char *errstr, size_t errlen)
{
	uint32_t n = ((uint32_t)h[5] << 24) | ((uint32_t)h[6] << 16) | ((uint32_t)h[7] << 8) | h[8];

	if (!(h[0] & 0x80))
		return cdc_error(errstr, errlen, "%s: not a response frame (version byte 0x%02x)", c->peer, h[0]);
	f->version = h[0] & 0x7F;
	if (f->version < 3)
		return cdc_error(errstr, errlen, "%s: the server answered with protocol v%d, which cdctail does not speak",
				 c->peer, f->version);
	if (c->framed && f->version != c->version)
		return cdc_error(errstr, errlen, "%s: envelope of protocol v%d inside v%d framing", c->peer, f->version,
				 c->version);
	f->flags = h[1];
	f->stream = (int16_t)((h[2] << 8) | h[3]);
	f->opcode = h[4];
	if (n > CDC_CQL_FRAME_MAX)
		return cdc_error(errstr, errlen, "%s: frame body of %u bytes is over the protocol's %u byte limit", c->peer,
				 n, CDC_CQL_FRAME_MAX);
	if (f->flags & 0x01)
		return cdc_error(errstr, errlen, "%s: compressed frame, but no compression was negotiated", c->peer);
	*len = n;
	return 0;
}

/* Receives one envelope; its body stays in c->body until the next call. */
static int recv_frame(cdc_cql_conn *c, frame *f, char *errstr, size_t errlen)
{
	int64_t deadline = now_ms() + c->timeout_ms;
	uint8_t h[9];
	size_t len;

	cdc_buf_reset(&c->body);
	if (c->framed) {
		if (pay_need(c, 9, deadline, errstr, errlen) != 0)
			return -1;
		memcpy(h, c->pay.p, 9);
		if (parse_header(c, h, f, &len, errstr, errlen) != 0)
			return -1;
		if (pay_need(c, 9 + len, deadline, errstr, errlen) != 0)
			return -1;
		cdc_buf_put(&c->body, c->pay.p + 9, len);
		c->pay_off = 9 + len;
	} else {
		if (read_exact(c, h, 9, deadline, errstr, errlen) != 0)
			return -1;
		if (parse_header(c, h, f, &len, errstr, errlen) != 0)
			return -1;
		if (read_into(c, &c->body, len, deadline, errstr, errlen) != 0)
			return -1;
	}
	if (c->body.oom)
		return cdc_error(errstr, errlen, "out of memory");
	f->body = (const uint8_t *)c->body.p;
	f->len = len;
	return 0;
}

/* Skips the tracing id, warnings and custom payload the flags announce. */
static void skip_prelude(const frame *f, rd *r)
{
	size_t len;
	int i, n, isnull;

	if (f->flags & 0x02)
		rd_take(r, 16);
	if (f->flags & 0x08) {
		n = rd_u16(r);
		for (i = 0; i < n && !r->bad; i++)
			rd_string(r, &len);
	}
	if (f->flags & 0x04) {
		n = rd_u16(r);
		for (i = 0; i < n && !r->bad; i++) {
			rd_string(r, &len);
			rd_bytes(r, &len, &isnull);
		}
	}
}

/* The spec's name of an ERROR code (section 9). */
static const char *error_name(int32_t code)
{
	switch (code) {
	case 0x0000: return "server error";
	case 0x000A: return "protocol error";
	case 0x0100: return "authentication error";
	case 0x1000: return "unavailable";
	case 0x1001: return "overloaded";
	case 0x1002: return "is bootstrapping";
	case 0x1003: return "truncate error";
	case 0x1100: return "write timeout";
	case 0x1200: return "read timeout";
	case 0x1300: return "read failure";
	case 0x1400: return "function failure";
	case 0x1500: return "write failure";
	case 0x1600: return "CDC write failure";
	case 0x1700: return "CAS write unknown";
	case 0x2000: return "syntax error";
	case 0x2100: return "unauthorized";
	case 0x2200: return "invalid query";
	case 0x2300: return "config error";
	case 0x2400: return "already exists";
	case 0x2500: return "unprepared";
	}
	return "error";
}

/* Turns an ERROR body into errstr; returns the error code (or -1 when
 * the body is malformed). */
static int32_t error_frame(cdc_cql_conn *c, const frame *f, const char *during, char *errstr, size_t errlen)
{
	rd r = { f->body, f->len, 0, 0 };
	const uint8_t *msg;
	int32_t code;
	size_t mlen;

	skip_prelude(f, &r);
	code = rd_i32(&r);
	msg = rd_string(&r, &mlen);
	if (r.bad) {
		cdc_error(errstr, errlen, "%s: malformed ERROR frame (%zu bytes) %s", c->peer, f->len, during);
		return -1;
	}
	cdc_error(errstr, errlen, "%s: %s (0x%04x) %s: %.*s", c->peer, error_name(code), (unsigned)code, during,
		  (int)(mlen > 400 ? 400 : mlen), (const char *)msg);
	return code;
}

/* Sends the envelope in c->env and receives the answer on its stream
 * (server events, stream < 0, are skipped). */
static int roundtrip(cdc_cql_conn *c, frame *f, char *errstr, size_t errlen)
{
	int16_t want = c->stream;

	if (send_env(c, errstr, errlen) != 0)
		return -1;
	for (;;) {
		if (recv_frame(c, f, errstr, errlen) != 0)
			return -1;
		if (f->stream < 0 && f->opcode == OP_EVENT)
			continue;
		if (f->stream != want && !(c->probing && f->stream == 0 && f->opcode == OP_ERROR))
			return cdc_error(errstr, errlen, "%s: response on stream %d, expected %d", c->peer, f->stream,
					 want);
		return 0;
	}
}

/* A fresh non-negative stream id for the next request. */
static int16_t next_stream(cdc_cql_conn *c)
{
	c->stream = (int16_t)(c->stream >= 32000 ? 1 : c->stream + 1);
	return c->stream;
}

/* ------------------------------------------------------------ connect */

/* Opens a TCP connection to host:port within the timeout (non-blocking
 * socket from then on). */
static int tcp_connect(cdc_cql_conn *c, const char *host, int port, char *errstr, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[16];
	int rc, last = 0;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0)
		return cdc_error(errstr, errlen, "%s: cannot resolve host: %s", c->peer, gai_strerror(rc));
	for (ai = res; ai; ai = ai->ai_next) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		int one = 1, soerr = 0;
		socklen_t sl = sizeof(soerr);

		if (fd < 0) {
			last = errno;
			continue;
		}
		c->fd = fd;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			if (errno != EINPROGRESS) {
				last = errno;
				close(fd);
				c->fd = -1;
				continue;
			}
			if (wait_fd(c, POLLOUT, now_ms() + c->timeout_ms, "connecting", errstr, errlen) != 0) {
				close(fd);
				c->fd = -1;
				freeaddrinfo(res);
				return -1;
			}
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
				last = soerr ? soerr : errno;
				close(fd);
				c->fd = -1;
				continue;
			}
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		freeaddrinfo(res);
		return 0;
	}
	freeaddrinfo(res);
	return cdc_error(errstr, errlen, "%s: cannot connect: %s", c->peer, strerror(last ? last : ECONNREFUSED));
}

/* Answers AUTHENTICATE with SASL PLAIN until AUTH_SUCCESS. */
static int authenticate(cdc_cql_conn *c, const frame *auth, const char *user, const char *password,
			char *errstr, size_t errlen)
{
	rd r = { auth->body, auth->len, 0, 0 };
	const uint8_t *cls;
	size_t clen, ul, pl, at;
	frame f;

	skip_prelude(auth, &r);
	cls = rd_string(&r, &clen);
	if (r.bad)
		return cdc_error(errstr, errlen, "%s: malformed AUTHENTICATE frame", c->peer);
	if (!user || !password)
		return cdc_error(errstr, errlen, "%s: the server requires authentication (%.*s); give --user and a password",
				 c->peer, (int)(clen > 200 ? 200 : clen), (const char *)cls);
	ul = strlen(user);
	pl = strlen(password);
	cdc_buf_reset(&c->env);
	at = begin_envelope(&c->env, c->version, next_stream(c), OP_AUTH_RESPONSE);
	put_be32(&c->env, (uint32_t)(ul + pl + 2));
	cdc_buf_putc(&c->env, 0);
	cdc_buf_put(&c->env, user, ul);
	cdc_buf_putc(&c->env, 0);
	cdc_buf_put(&c->env, password, pl);
	end_envelope(&c->env, at);
	if (roundtrip(c, &f, errstr, errlen) != 0)
		return -1;
	/* the token held the password: do not leave it in memory */
	if (!c->env.oom)
		memset(c->env.p, 0, c->env.len);
	if (c->out.p)
		memset(c->out.p, 0, c->out.len);
	if (f.opcode == OP_ERROR) {
		error_frame(c, &f, "logging in", errstr, errlen);
		return -1;
	}
	if (f.opcode == OP_AUTH_CHALLENGE)
		return cdc_error(errstr, errlen, "%s: the server sent an AUTH_CHALLENGE, which PLAIN authentication does not expect",
				 c->peer);
	if (f.opcode != OP_AUTH_SUCCESS)
		return cdc_error(errstr, errlen, "%s: unexpected opcode 0x%02x after AUTH_RESPONSE", c->peer, f.opcode);
	return 0;
}

/* OPTIONS, STARTUP (and authentication) in protocol `version`. Returns 0,
 * FALLBACK when the server refuses the version, or -1. */
static int handshake(cdc_cql_conn *c, int version, const char *user, const char *password, char *errstr,
		     size_t errlen)
{
	frame f;
	size_t at;
	int rc;

	c->version = version;
	c->framed = 0;
	cdc_buf_reset(&c->env);
	at = begin_envelope(&c->env, version, next_stream(c), OP_OPTIONS);
	end_envelope(&c->env, at);
	c->probing = 1;
	rc = roundtrip(c, &f, errstr, errlen);
	c->probing = 0;
	if (rc != 0)
		return -1;
	if (f.opcode == OP_ERROR) {
		if (error_frame(c, &f, "answering OPTIONS", errstr, errlen) == ERR_PROTOCOL && version > 4)
			return FALLBACK;
		return -1;
	}
	if (f.version != version)
		return version > 4 ? FALLBACK
				   : cdc_error(errstr, errlen, "%s: the server answered v%d to v%d", c->peer, f.version, version);
	if (f.opcode != OP_SUPPORTED)
		return cdc_error(errstr, errlen, "%s: unexpected opcode 0x%02x after OPTIONS", c->peer, f.opcode);

	cdc_buf_reset(&c->env);
	at = begin_envelope(&c->env, version, next_stream(c), OP_STARTUP);
	put_be16(&c->env, 1);
	put_string(&c->env, "CQL_VERSION");
	put_string(&c->env, "3.0.0");
	end_envelope(&c->env, at);
	if (roundtrip(c, &f, errstr, errlen) != 0)
		return -1;
	if (f.opcode == OP_ERROR) {
		if (error_frame(c, &f, "answering STARTUP", errstr, errlen) == ERR_PROTOCOL && version > 4)
			return FALLBACK;
		return -1;
	}
	if (f.opcode != OP_READY && f.opcode != OP_AUTHENTICATE)
		return cdc_error(errstr, errlen, "%s: unexpected opcode 0x%02x after STARTUP", c->peer, f.opcode);
	/* v5: from the answer to STARTUP on, everything travels in segments */
	if (version >= 5)
		c->framed = 1;
	if (f.opcode == OP_AUTHENTICATE)
		return authenticate(c, &f, user, password, errstr, errlen);
	return 0;
}

/* Closes and frees a connection in any state. */
static void conn_free(cdc_cql_conn *c)
{
	if (!c)
		return;
	cdc_tls_free(c->tls);
	if (c->fd >= 0)
		close(c->fd);
	cdc_buf_free(&c->seg);
	cdc_buf_free(&c->pay);
	cdc_buf_free(&c->body);
	cdc_buf_free(&c->out);
	cdc_buf_free(&c->env);
	cdc_buf_free(&c->ps);
	cdc_buf_free(&c->queued);
	free(c);
}

/* v5 first; on a refusal, a fresh connection (and TLS session) in v4. */
int cdc_cql_connect_tls(cdc_cql_conn **out, const char *host, int port, const char *user, const char *password,
			const cdc_tls_opts *tls, int timeout_ms, char *errstr, size_t errlen)
{
	int version;

	*out = NULL;
	if (tls && !tls->enabled)
		tls = NULL;
	for (version = 5; version >= 4; version--) {
		cdc_cql_conn *c = calloc(1, sizeof(*c));
		int rc;

		if (!c)
			return cdc_error(errstr, errlen, "out of memory");
		c->fd = -1;
		c->timeout_ms = timeout_ms > 0 ? timeout_ms : 10000;
		stream_pool_init(c);
		snprintf(c->peer, sizeof(c->peer), "%s:%d", host, port);
		if (tcp_connect(c, host, port, errstr, errlen) != 0 ||
		    (tls && cdc_tls_connect(&c->tls, c->fd, host, tls, c->timeout_ms, c->peer, errstr, errlen) != 0)) {
			conn_free(c);
			return -1;
		}
		rc = handshake(c, version, user, password, errstr, errlen);
		if (rc == 0) {
			*out = c;
			return 0;
		}
		conn_free(c);
		if (rc != FALLBACK)
			return -1;
	}
	return -1;
}

/* Plain TCP. */
int cdc_cql_connect(cdc_cql_conn **out, const char *host, int port, const char *user,
		    const char *password, int timeout_ms, char *errstr, size_t errlen)
{
	return cdc_cql_connect_tls(out, host, port, user, password, NULL, timeout_ms, errstr, errlen);
}

/* The version the handshake settled on. */
int cdc_cql_version(const cdc_cql_conn *c)
{
	return c->version;
}

/* Closes the socket; frees every buffer. */
void cdc_cql_close(cdc_cql_conn *c)
{
	conn_free(c);
}

/* -------------------------------------------------------------- query */

/* Parses a ROWS result after its kind: metadata, then every row passed to
 * fn; the paging state (if more pages) is copied into c->ps. */
static int rows_result(const char *peer, cdc_buf *ps, rd *r, int *more, cdc_cql_row_fn fn, void *opaque,
		       char *errstr, size_t errlen)
{
	int32_t flags = rd_i32(r), ncols = rd_i32(r), nrows, i, j;
	cdc_cql_col *cols = NULL;
	cdc_cql_value *cells = NULL;
	char *names = NULL;
	size_t len, names_len = 0, nameoff;
	const uint8_t *p;
	int isnull, rc = 0;

	*more = 0;
	cdc_buf_reset(ps);
	if (r->bad || ncols < 0 || (size_t)ncols > r->n - r->off)
		return cdc_error(errstr, errlen, "%s: malformed ROWS metadata (%d columns in %zu bytes)", peer,
				 (int)ncols, r->n);
	if (flags & 0x0002) {
		p = rd_bytes(r, &len, &isnull);
		if (!r->bad && !isnull) {
			cdc_buf_put(ps, p, len);
			*more = 1;
		}
	}
	if (flags & 0x0008) /* v5 new_metadata_id: [short bytes] */
		rd_string(r, &len);
	if (flags & 0x0004)
		return cdc_error(errstr, errlen, "%s: ROWS without metadata", peer);
	if (flags & 0x0001) {
		rd_string(r, &len);
		rd_string(r, &len);
	}
	if (r->bad)
		return cdc_error(errstr, errlen, "%s: truncated ROWS metadata", peer);
	cols = calloc((size_t)ncols + 1, sizeof(*cols));
	cells = calloc((size_t)ncols + 1, sizeof(*cells));
	/* names: NUL-terminated copies, at most the rest of the body */
	names = malloc(r->n - r->off + (size_t)ncols + 1);
	if (!cols || !cells || !names) {
		rc = cdc_error(errstr, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < ncols; i++) {
		if (!(flags & 0x0001)) {
			rd_string(r, &len);
			rd_string(r, &len);
		}
		p = rd_string(r, &len);
		if (r->bad)
			break;
		nameoff = names_len;
		memcpy(names + names_len, p, len);
		names_len += len;
		names[names_len++] = '\0';
		cols[i].type = rd_option(r, cols[i].sub, 0);
		cols[i].name = (const char *)(uintptr_t)nameoff; /* fixed up below */
	}
	if (r->bad) {
		rc = cdc_error(errstr, errlen, "%s: malformed column specification in ROWS metadata", peer);
		goto out;
	}
	for (i = 0; i < ncols; i++)
		cols[i].name = names + (size_t)(uintptr_t)cols[i].name;
	nrows = rd_i32(r);
	/* every cell takes at least its 4-byte length, and a row of no columns
	 * is not something Cassandra sends: both bound the loop by the frame */
	if (r->bad || nrows < 0 || (ncols == 0 && nrows > 0) ||
	    (uint64_t)nrows * (uint64_t)ncols * 4 > (uint64_t)(r->n - r->off)) {
		rc = cdc_error(errstr, errlen, "%s: malformed ROWS content (%d rows of %d columns in %zu bytes)", peer,
			       (int)nrows, (int)ncols, r->n - r->off);
		goto out;
	}
	for (i = 0; i < nrows; i++) {
		for (j = 0; j < ncols; j++) {
			cells[j].p = rd_bytes(r, &cells[j].len, &isnull);
			if (isnull)
				cells[j].p = NULL;
		}
		if (r->bad) {
			rc = cdc_error(errstr, errlen, "%s: row %d of %d goes past the end of the frame", peer, (int)i,
				       (int)nrows);
			goto out;
		}
		if (fn && fn(opaque, cols, cells, ncols, errstr, errlen) != 0) {
			rc = -1;
			goto out;
		}
	}
out:
	free(cols);
	free(cells);
	free(names);
	return rc;
}

int cdc_cql_parse_result(const char *peer, int flags, const uint8_t *body, size_t len, cdc_buf *ps, int *more,
			 cdc_cql_row_fn fn, void *opaque, char *errstr, size_t errlen)
{
	frame f = { 0 };
	rd r = { body, len, 0, 0 };
	int32_t kind;

	*more = 0;
	f.flags = flags;
	skip_prelude(&f, &r);
	kind = rd_i32(&r);
	if (r.bad)
		return cdc_error(errstr, errlen, "%s: truncated RESULT frame (%zu bytes)", peer, len);
	switch (kind) {
	case RES_VOID:
	case RES_SET_KEYSPACE:
	case RES_SCHEMA_CHANGE:
		return 0;
	case RES_ROWS:
		return rows_result(peer, ps, &r, more, fn, opaque, errstr, errlen);
	default:
		return cdc_error(errstr, errlen, "%s: unexpected RESULT kind %d", peer, (int)kind);
	}
}

/* One request per page; stops at the last page. */
int cdc_cql_query(cdc_cql_conn *c, const char *cql, int page_size, cdc_cql_row_fn fn, void *opaque,
		  char *errstr, size_t errlen)
{
	return cdc_cql_query_at(c, cql, 0x0001 /* ONE */, page_size, fn, opaque, errstr, errlen);
}

/* ------------------------------------------------- pipelined requests */

static void stream_pool_init(cdc_cql_conn *c)
{
	int i;

	c->nfree = 0;
	for (i = CDC_CQL_MAX_STREAMS; i >= 1; i--)
		c->free_ids[c->nfree++] = (int16_t)i;
	c->max_in_flight = 128;
}

void cdc_cql_set_max_in_flight(cdc_cql_conn *c, int n)
{
	c->max_in_flight = n < 1 ? 1 : n > CDC_CQL_MAX_STREAMS ? CDC_CQL_MAX_STREAMS : n;
}

int cdc_cql_in_flight(const cdc_cql_conn *c)
{
	return c->in_flight;
}

int cdc_cql_can_send(const cdc_cql_conn *c)
{
	return c->in_flight < c->max_in_flight && c->nfree > 0;
}

/* Appends a [short bytes]. */
static void put_short_bytes(cdc_buf *b, const uint8_t *p, size_t n)
{
	put_be16(b, (uint16_t)n);
	cdc_buf_put(b, p, n);
}

/* Appends n [value]s: [int length] and bytes, -1 for null. */
static void put_values(cdc_buf *b, const cdc_cql_value *v, int n)
{
	int i;

	put_be16(b, (uint16_t)n);
	for (i = 0; i < n; i++) {
		if (!v[i].p) {
			put_be32(b, 0xFFFFFFFFu);
			continue;
		}
		put_be32(b, (uint32_t)v[i].len);
		cdc_buf_put(b, v[i].p, v[i].len);
	}
}

void cdc_cql_encode_prepare(cdc_buf *out, int version, int16_t stream, const char *cql)
{
	size_t at = begin_envelope(out, version, stream, OP_PREPARE), n = strlen(cql);

	put_be32(out, (uint32_t)n);
	cdc_buf_put(out, cql, n);
	if (version >= 5)
		put_be32(out, 0); /* flags: no keyspace */
	end_envelope(out, at);
}

void cdc_cql_encode_execute(cdc_buf *out, int version, int16_t stream, const cdc_cql_bound *st, int consistency)
{
	size_t at;
	uint32_t flags = 0x01 | 0x02; /* values, skip result metadata */

	if (!st->prep) { /* QUERY with values */
		size_t n = strlen(st->cql);

		at = begin_envelope(out, version, stream, OP_QUERY);
		put_be32(out, (uint32_t)n);
		cdc_buf_put(out, st->cql, n);
		flags = 0x01;
	} else {
		at = begin_envelope(out, version, stream, OP_EXECUTE);
		put_short_bytes(out, st->prep->id, st->prep->idlen);
		if (version >= 5)
			put_short_bytes(out, st->prep->meta, st->prep->metalen);
	}
	put_be16(out, (uint16_t)consistency);
	if (version >= 5)
		put_be32(out, flags);
	else
		cdc_buf_putc(out, (char)flags);
	put_values(out, st->values, st->nvalues);
	end_envelope(out, at);
}

void cdc_cql_encode_batch(cdc_buf *out, int version, int16_t stream, const cdc_cql_bound *st, int n,
			  int consistency)
{
	size_t at = begin_envelope(out, version, stream, OP_BATCH);
	int i;

	cdc_buf_putc(out, 1); /* UNLOGGED */
	put_be16(out, (uint16_t)n);
	for (i = 0; i < n; i++) {
		if (st[i].prep) {
			cdc_buf_putc(out, 1);
			put_short_bytes(out, st[i].prep->id, st[i].prep->idlen);
		} else {
			size_t k = strlen(st[i].cql);

			cdc_buf_putc(out, 0);
			put_be32(out, (uint32_t)k);
			cdc_buf_put(out, st[i].cql, k);
		}
		put_values(out, st[i].values, st[i].nvalues);
	}
	put_be16(out, (uint16_t)consistency);
	if (version >= 5)
		put_be32(out, 0);
	else
		cdc_buf_putc(out, 0);
	end_envelope(out, at);
}

/* Writes what is queued: in v5 as self-contained segments of whole
 * envelopes (an envelope larger than a segment goes alone, in parts). */
int cdc_cql_flush(cdc_cql_conn *c, char *errstr, size_t errlen)
{
	int rc;

	if (!c->queued.len)
		return 0;
	if (c->queued.oom) {
		cdc_buf_reset(&c->queued);
		c->queued.oom = 0;
		return cdc_error(errstr, errlen, "out of memory");
	}
	if (c->framed) {
		cdc_buf_reset(&c->out);
		cdc_cql_segment_wrap(&c->out, (const uint8_t *)c->queued.p, c->queued.len);
		if (c->out.oom)
			return cdc_error(errstr, errlen, "out of memory");
		rc = write_all(c, (const uint8_t *)c->out.p, c->out.len, errstr, errlen);
	} else {
		rc = write_all(c, (const uint8_t *)c->queued.p, c->queued.len, errstr, errlen);
	}
	cdc_buf_reset(&c->queued);
	return rc;
}

/* Queues the envelope in c->env: flushes first when the two would not fit
 * in one segment together. */
static int queue_env(cdc_cql_conn *c, char *errstr, size_t errlen)
{
	if (c->queued.len && c->queued.len + c->env.len > CDC_CQL_SEGMENT_MAX && cdc_cql_flush(c, errstr, errlen) != 0)
		return -1;
	cdc_buf_put(&c->queued, c->env.p, c->env.len);
	if (c->queued.len > CDC_CQL_SEGMENT_MAX)
		return cdc_cql_flush(c, errstr, errlen);
	return 0;
}

/* A free stream id for tag: 0 and *id, or 1 when none is free. */
static int take_stream(cdc_cql_conn *c, void *tag, int16_t *id)
{
	if (!cdc_cql_can_send(c))
		return 1;
	*id = c->free_ids[--c->nfree];
	c->tags[*id] = tag;
	c->busy[*id] = 1;
	c->in_flight++;
	return 0;
}

static void release_stream(cdc_cql_conn *c, int16_t id)
{
	c->busy[id] = 0;
	c->tags[id] = NULL;
	c->free_ids[c->nfree++] = id;
	c->in_flight--;
}

int cdc_cql_send(cdc_cql_conn *c, const cdc_cql_bound *st, int n, int consistency, void *tag, char *errstr,
		 size_t errlen)
{
	int16_t id;
	int i;

	if (n < 1 || n > 65535)
		return cdc_error(errstr, errlen, "%s: a request of %d statements", c->peer, n);
	for (i = 0; i < n; i++)
		if (st[i].nvalues > 65535)
			return cdc_error(errstr, errlen, "%s: a statement with %d values", c->peer, st[i].nvalues);
	if (take_stream(c, tag, &id) != 0)
		return 1;
	cdc_buf_reset(&c->env);
	if (n == 1)
		cdc_cql_encode_execute(&c->env, c->version, id, st, consistency);
	else
		cdc_cql_encode_batch(&c->env, c->version, id, st, n, consistency);
	if (c->env.oom || c->env.len - 9 > CDC_CQL_FRAME_MAX) {
		release_stream(c, id);
		return cdc_error(errstr, errlen, "%s: a request of %zu bytes (out of memory or over the frame limit)",
				 c->peer, c->env.len);
	}
	return queue_env(c, errstr, errlen);
}

/* Whether an envelope can be read without waiting past wait_ms. */
static int frame_ready(cdc_cql_conn *c, int wait_ms)
{
	struct pollfd pfd = { c->fd, POLLIN, 0 };
	int rc;

	if (c->pay.len > c->pay_off || cdc_tls_pending(c->tls) > 0)
		return 1;
	do
		rc = poll(&pfd, 1, wait_ms);
	while (rc < 0 && errno == EINTR);
	return rc > 0;
}

/* The answer to one pipelined request, handed to fn. */
static int complete(cdc_cql_conn *c, const frame *f, cdc_cql_done_fn fn, void *opaque, char *errstr, size_t errlen)
{
	cdc_cql_result res = { 0 };
	rd r = { f->body, f->len, 0, 0 };

	if (f->stream <= 0 || f->stream > CDC_CQL_MAX_STREAMS || !c->busy[f->stream])
		return cdc_error(errstr, errlen, "%s: a response on stream %d, which no request is waiting on", c->peer,
				 f->stream);
	res.tag = c->tags[f->stream];
	res.body = f->body;
	res.bodylen = f->len;
	res.flags = f->flags;
	release_stream(c, f->stream);
	skip_prelude(f, &r);
	if (f->opcode == OP_RESULT) {
		int32_t kind = rd_i32(&r);

		if (r.bad)
			return cdc_error(errstr, errlen, "%s: truncated RESULT frame", c->peer);
		res.kind = kind;
		if (kind == RES_PREPARED) {
			res.id = rd_string(&r, &res.idlen);
			if (c->version >= 5)
				res.meta = rd_string(&r, &res.metalen);
			if (r.bad)
				return cdc_error(errstr, errlen, "%s: malformed PREPARED result", c->peer);
			/* metadata: flags, column count, pk count, pk indexes: the count of bind markers */
			rd_i32(&r);
			res.nvars = rd_i32(&r);
			if (r.bad)
				res.nvars = -1;
		}
	} else if (f->opcode == OP_ERROR) {
		res.code = rd_i32(&r);
		res.msg = (const char *)rd_string(&r, &res.msglen);
		if (r.bad)
			return cdc_error(errstr, errlen, "%s: malformed ERROR frame (%zu bytes)", c->peer, f->len);
		if (res.code == 0x2500) /* UNPREPARED: the id the server does not know */
			res.id = rd_string(&r, &res.idlen);
		if (res.code == 0)
			res.code = -2; /* a server error keeps a non-zero code */
	} else {
		return cdc_error(errstr, errlen, "%s: unexpected opcode 0x%02x for a request", c->peer, f->opcode);
	}
	if (fn)
		fn(opaque, &res);
	return 0;
}

int cdc_cql_poll(cdc_cql_conn *c, int wait_ms, cdc_cql_done_fn fn, void *opaque, char *errstr, size_t errlen)
{
	int n = 0;

	if (cdc_cql_flush(c, errstr, errlen) != 0)
		return -1;
	while (c->in_flight > 0 && frame_ready(c, n ? 0 : wait_ms)) {
		frame f;

		if (recv_frame(c, &f, errstr, errlen) != 0)
			return -1;
		if (f.stream < 0 && f.opcode == OP_EVENT)
			continue;
		if (complete(c, &f, fn, opaque, errstr, errlen) != 0)
			return -1;
		n++;
	}
	return n;
}

/* PREPARE's answer, kept by the waiting cdc_cql_prepare. */
typedef struct prep_wait {
	int done;
	int32_t code;
	cdc_cql_prepared *out;
	char msg[400];
	int oom;
} prep_wait;

typedef struct prep_ctx {
	prep_wait *w;
	cdc_cql_done_fn fn;
	void *opaque;
} prep_ctx;

static void prep_done(void *opaque, const cdc_cql_result *r)
{
	prep_ctx *x = opaque;
	prep_wait *w = x->w;

	if (r->tag != w) {
		if (x->fn)
			x->fn(x->opaque, r);
		return;
	}
	w->done = 1;
	w->code = r->code;
	if (r->code) {
		snprintf(w->msg, sizeof(w->msg), "%.*s", (int)(r->msglen > 300 ? 300 : r->msglen), r->msg ? r->msg : "");
		return;
	}
	w->out->id = malloc(r->idlen ? r->idlen : 1);
	w->out->meta = malloc(r->metalen ? r->metalen : 1);
	if (!w->out->id || !w->out->meta) {
		w->oom = 1;
		return;
	}
	memcpy(w->out->id, r->id, r->idlen);
	w->out->idlen = r->idlen;
	if (r->metalen)
		memcpy(w->out->meta, r->meta, r->metalen);
	w->out->metalen = r->metalen;
	w->out->nvars = r->nvars;
}

int cdc_cql_prepare(cdc_cql_conn *c, const char *cql, cdc_cql_prepared *out, cdc_cql_done_fn fn, void *opaque,
		    char *errstr, size_t errlen)
{
	prep_wait w = { 0 };
	prep_ctx x = { &w, fn, opaque };
	int16_t id;

	memset(out, 0, sizeof(*out));
	w.out = out;
	while (take_stream(c, &w, &id) != 0)
		if (cdc_cql_poll(c, c->timeout_ms, fn, opaque, errstr, errlen) < 0)
			return -1;
	cdc_buf_reset(&c->env);
	cdc_cql_encode_prepare(&c->env, c->version, id, cql);
	if (queue_env(c, errstr, errlen) != 0)
		return -1;
	while (!w.done) {
		int k = cdc_cql_poll(c, c->timeout_ms, prep_done, &x, errstr, errlen);

		if (k < 0)
			return -1;
		if (k == 0 && !w.done)
			return cdc_error(errstr, errlen, "%s: timed out after %d ms preparing a statement", c->peer,
					 c->timeout_ms);
	}
	if (w.oom) {
		cdc_cql_prepared_free(out);
		return cdc_error(errstr, errlen, "out of memory");
	}
	if (w.code)
		return cdc_error(errstr, errlen, "%s: PREPARE refused (0x%04x): %s", c->peer, (unsigned)w.code, w.msg);
	return 0;
}

void cdc_cql_prepared_free(cdc_cql_prepared *p)
{
	if (!p)
		return;
	free(p->id);
	free(p->meta);
	memset(p, 0, sizeof(*p));
}

const char *cdc_cql_error_name(int32_t code)
{
	return error_name(code == -2 ? 0 : code);
}

/* ------------------------------------------------------- cell decoders */

/* Fails a null cell or one whose length is not `want`. */
static int need_len(const cdc_cql_value *v, size_t want, const char *type, char *errstr, size_t errlen)
{
	if (!v->p)
		return cdc_error(errstr, errlen, "null %s", type);
	if (v->len != want)
		return cdc_error(errstr, errlen, "%s of %zu bytes (expected %zu)", type, v->len, want);
	return 0;
}

/* 4 bytes, big-endian two's complement. */
int cdc_cql_get_int(const cdc_cql_value *v, int32_t *out, char *errstr, size_t errlen)
{
	if (need_len(v, 4, "int", errstr, errlen) != 0)
		return -1;
	*out = (int32_t)(((uint32_t)v->p[0] << 24) | ((uint32_t)v->p[1] << 16) | ((uint32_t)v->p[2] << 8) | v->p[3]);
	return 0;
}

/* 1 byte, non-zero is true. */
int cdc_cql_get_bool(const cdc_cql_value *v, int *out, char *errstr, size_t errlen)
{
	if (need_len(v, 1, "boolean", errstr, errlen) != 0)
		return -1;
	*out = v->p[0] != 0;
	return 0;
}

/* 8 bytes, big-endian milliseconds. */
int cdc_cql_get_timestamp(const cdc_cql_value *v, int64_t *out, char *errstr, size_t errlen)
{
	uint64_t x = 0;
	int i;

	if (need_len(v, 8, "timestamp", errstr, errlen) != 0)
		return -1;
	for (i = 0; i < 8; i++)
		x = (x << 8) | v->p[i];
	*out = (int64_t)x;
	return 0;
}

/* 16 bytes as 8-4-4-4-12 lowercase hex. */
int cdc_cql_get_uuid(const cdc_cql_value *v, char out[37], char *errstr, size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	int i, o = 0;

	if (need_len(v, 16, "uuid", errstr, errlen) != 0)
		return -1;
	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[v->p[i] >> 4];
		out[o++] = hex[v->p[i] & 15];
	}
	out[o] = '\0';
	return 0;
}

/* A malloc'd NUL-terminated copy; no NUL inside. */
int cdc_cql_get_text(const cdc_cql_value *v, char **out, char *errstr, size_t errlen)
{
	*out = NULL;
	if (!v->p)
		return cdc_error(errstr, errlen, "null text");
	if (memchr(v->p, 0, v->len))
		return cdc_error(errstr, errlen, "text with a NUL byte");
	*out = malloc(v->len + 1);
	if (!*out)
		return cdc_error(errstr, errlen, "out of memory");
	memcpy(*out, v->p, v->len);
	(*out)[v->len] = '\0';
	return 0;
}

/* The [int] count, checked against the bytes that could hold it. */
int cdc_cql_coll_count(const cdc_cql_value *v, int32_t *n, char *errstr, size_t errlen)
{
	cdc_cql_value head;

	if (!v->p)
		return cdc_error(errstr, errlen, "null collection");
	if (v->len < 4)
		return cdc_error(errstr, errlen, "collection of %zu bytes", v->len);
	head.p = v->p;
	head.len = 4;
	if (cdc_cql_get_int(&head, n, errstr, errlen) != 0)
		return -1;
	if (*n < 0 || (size_t)*n > (v->len - 4) / 4)
		return cdc_error(errstr, errlen, "collection of %d elements in %zu bytes", (int)*n, v->len);
	return 0;
}

/* The first call (off 0) skips the count. */
int cdc_cql_coll_next(const cdc_cql_value *v, size_t *off, cdc_cql_value *item, char *errstr, size_t errlen)
{
	rd r = { v->p, v->p ? v->len : 0, *off ? *off : 4, 0 };
	int isnull;

	if (!v->p || r.off > r.n)
		return cdc_error(errstr, errlen, "collection element outside the value");
	item->p = rd_bytes(&r, &item->len, &isnull);
	if (r.bad)
		return cdc_error(errstr, errlen, "collection element at byte %zu goes past the value's %zu bytes",
				 *off ? *off : 4, v->len);
	if (isnull)
		item->p = NULL;
	*off = r.off;
	return 0;
}

/* ------------------------------------------- queries at a consistency */

static const struct {
	const char *name;
	uint16_t code;
} consistencies[] = {
	{ "ANY", 0x0000 }, { "ONE", 0x0001 }, { "TWO", 0x0002 }, { "THREE", 0x0003 }, { "QUORUM", 0x0004 },
	{ "ALL", 0x0005 }, { "LOCAL_QUORUM", 0x0006 }, { "EACH_QUORUM", 0x0007 }, { "LOCAL_ONE", 0x000A },
};

int cdc_cql_consistency(const char *name, uint16_t *code)
{
	size_t i;

	for (i = 0; i < sizeof(consistencies) / sizeof(consistencies[0]); i++)
		if (strcasecmp(name, consistencies[i].name) == 0) {
			*code = consistencies[i].code;
			return 0;
		}
	return -1;
}

/* cdc_cql_query's loop, with the consistency of each QUERY envelope set
 * after cdc_cql_encode_query wrote ONE: it follows the header (9 bytes) and
 * the [long string] of the statement. */
int cdc_cql_query_at(cdc_cql_conn *c, const char *cql, uint16_t consistency, int page_size, cdc_cql_row_fn fn,
		     void *opaque, char *errstr, size_t errlen)
{
	size_t at = 9 + 4 + strlen(cql);
	uint8_t *ps = NULL;
	size_t ps_len = 0;
	int more = 0, pages = 0, rc = 0;

	if (c->in_flight > 0)
		return cdc_error(errstr, errlen, "%s: a query while %d pipelined requests are in flight", c->peer,
				 c->in_flight);
	if (page_size <= 0)
		page_size = 1000;
	do {
		frame f;

		cdc_buf_reset(&c->env);
		cdc_cql_encode_query(&c->env, c->version, next_stream(c), cql, page_size, ps, ps_len);
		if (c->env.oom || c->env.len < at + 2) {
			rc = cdc_error(errstr, errlen, "out of memory");
			break;
		}
		c->env.p[at] = (char)(consistency >> 8);
		c->env.p[at + 1] = (char)consistency;
		if (roundtrip(c, &f, errstr, errlen) != 0) {
			rc = -1;
			break;
		}
		if (f.opcode == OP_ERROR) {
			error_frame(c, &f, "running the query", errstr, errlen);
			rc = -1;
			break;
		}
		if (f.opcode != OP_RESULT) {
			rc = cdc_error(errstr, errlen, "%s: unexpected opcode 0x%02x after QUERY", c->peer, f.opcode);
			break;
		}
		if (cdc_cql_parse_result(c->peer, f.flags, f.body, f.len, &c->ps, &more, fn, opaque, errstr, errlen) != 0) {
			rc = -1;
			break;
		}
		if (more) {
			free(ps);
			ps_len = c->ps.len;
			ps = malloc(ps_len ? ps_len : 1);
			if (!ps) {
				rc = cdc_error(errstr, errlen, "out of memory");
				break;
			}
			memcpy(ps, c->ps.p, ps_len);
		}
		if (++pages > 10000000) {
			rc = cdc_error(errstr, errlen, "%s: the server keeps sending pages", c->peer);
			break;
		}
	} while (more);
	free(ps);
	return rc;
}
