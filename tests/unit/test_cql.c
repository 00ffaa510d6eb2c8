/* test_cql.c - the CQL client (include/cql.h): v5 segment CRCs and framing
 * against values computed independently (the Python driver's
 * cassandra/segment.py: compute_crc24, compute_crc32 and
 * SegmentCodec.encode), QUERY encoding against hand-written bytes, cell
 * decoders, and whole conversations with a fake server on a loopback
 * listener thread: v5 handshake then segment framing, paging page by page,
 * fallback to v4, PasswordAuthenticator, server ERRORs, and malformed,
 * corrupted, truncated or missing answers (an error, never a crash). The
 * fake server frames with its own code (t_crc24, zlib), not the client's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "buf.h"
#include "cql.h"
#include "err.h"
#include "testutil.h"

/* ------------------------------------------- known values (Python driver) */

/* CRC24 of the three header bytes of: an empty self-contained payload,
 * 9 bytes self-contained, 131071 bytes not self-contained, all zero. */
static void test_crc24_known(void **state)
{
	static const struct { uint8_t h[3]; uint32_t crc; } cases[] = {
		{ { 0x00, 0x00, 0x02 }, 0xc4366a },
		{ { 0x09, 0x00, 0x02 }, 0xc1c8a4 },
		{ { 0xff, 0xff, 0x01 }, 0xfe9138 },
		{ { 0x00, 0x00, 0x00 }, 0x7de777 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		assert_int_equal(cdc_cql_crc24(cases[i].h, 3), cases[i].crc);
}

static void test_crc32_known(void **state)
{
	(void)state;
	assert_int_equal(cdc_cql_crc32((const uint8_t *)"", 0), 0x44777ed3);
	assert_int_equal(cdc_cql_crc32((const uint8_t *)"123456789", 9), 0xe2a261a7);
}

/* The segment SegmentCodec().encode() writes for an OPTIONS envelope. */
static void test_segment_wrap_known(void **state)
{
	static const uint8_t env[9] = { 5, 0, 0, 1, 5, 0, 0, 0, 0 };
	static const uint8_t want[] = { 0x09, 0x00, 0x02, 0xa4, 0xc8, 0xc1, 5, 0, 0, 1, 5, 0, 0, 0, 0,
					0xb5, 0x55, 0x74, 0x86 };
	cdc_buf b = CDC_BUF_INIT, pay = CDC_BUF_INIT;
	char err[CDC_ERRSTR_SIZE];
	size_t used = 0;
	int sc = -1;

	(void)state;
	cdc_cql_segment_wrap(&b, env, sizeof(env));
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.p, want, sizeof(want));
	assert_int_equal(cdc_cql_segment_unwrap(want, sizeof(want), &used, &pay, &sc, err, sizeof(err)), 0);
	assert_int_equal(used, sizeof(want));
	assert_int_equal(sc, 1);
	assert_int_equal(pay.len, 9);
	assert_memory_equal(pay.p, env, 9);
	/* short input: asks for the header, then for the whole segment */
	assert_int_equal(cdc_cql_segment_unwrap(want, 5, &used, &pay, &sc, err, sizeof(err)), 1);
	assert_int_equal(used, 6);
	assert_int_equal(cdc_cql_segment_unwrap(want, 10, &used, &pay, &sc, err, sizeof(err)), 1);
	assert_int_equal(used, sizeof(want));
	cdc_buf_free(&b);
	cdc_buf_free(&pay);
}

/* 200000 bytes of 0xab: two parts, not self-contained, as the driver
 * splits them (header, CRC24 and CRC32 bytes from SegmentCodec.encode). */
static void test_segment_split_known(void **state)
{
	static const uint8_t h1[6] = { 0xff, 0xff, 0x01, 0x38, 0x91, 0xfe };
	static const uint8_t c1[4] = { 0x55, 0xf8, 0xea, 0x28 };
	static const uint8_t h2[6] = { 0x41, 0x0d, 0x01, 0x3e, 0xde, 0x37 };
	static const uint8_t c2[4] = { 0x87, 0xbc, 0x4a, 0xf1 };
	enum { N = 200000 };
	uint8_t *big = malloc(N);
	cdc_buf b = CDC_BUF_INIT, pay = CDC_BUF_INIT;
	char err[CDC_ERRSTR_SIZE];
	size_t used, off = 0;
	int sc;

	(void)state;
	memset(big, 0xab, N);
	cdc_cql_segment_wrap(&b, big, N);
	assert_int_equal(b.len, 200020);
	assert_memory_equal(b.p, h1, 6);
	assert_memory_equal(b.p + 6 + 131071, c1, 4);
	assert_memory_equal(b.p + 131081, h2, 6);
	assert_memory_equal(b.p + b.len - 4, c2, 4);
	while (off < b.len) {
		assert_int_equal(cdc_cql_segment_unwrap((uint8_t *)b.p + off, b.len - off, &used, &pay, &sc, err,
							sizeof(err)), 0);
		assert_int_equal(sc, 0);
		off += used;
	}
	assert_int_equal(pay.len, N);
	assert_memory_equal(pay.p, big, N);
	free(big);
	cdc_buf_free(&b);
	cdc_buf_free(&pay);
}

/* Any flipped bit in the header or payload is caught by a CRC. */
static void test_segment_corrupt(void **state)
{
	static const uint8_t good[] = { 0x09, 0x00, 0x02, 0xa4, 0xc8, 0xc1, 5, 0, 0, 1, 5, 0, 0, 0, 0,
					0xb5, 0x55, 0x74, 0x86 };
	uint8_t bad[sizeof(good)];
	cdc_buf pay = CDC_BUF_INIT;
	char err[CDC_ERRSTR_SIZE];
	size_t i, used;
	int b, sc, rc;

	(void)state;
	for (i = 0; i < sizeof(good); i++) {
		for (b = 0; b < 8; b++) {
			memcpy(bad, good, sizeof(good));
			bad[i] ^= (uint8_t)(1u << b);
			cdc_buf_reset(&pay);
			rc = cdc_cql_segment_unwrap(bad, sizeof(bad), &used, &pay, &sc, err, sizeof(err));
			/* a flipped length bit may instead ask for more bytes */
			if (rc == 0)
				fail_msg("flip of byte %zu bit %d not detected", i, b);
			if (rc < 0)
				assert_non_null(strstr(err, "CRC"));
		}
	}
	cdc_buf_free(&pay);
}

/* QUERY bytes written out by hand from the v4 and v5 specs. */
static void test_encode_query(void **state)
{
	static const uint8_t v4[] = { 0x04, 0x00, 0x00, 0x03, 0x07, 0x00, 0x00, 0x00, 0x13,
				      0x00, 0x00, 0x00, 0x08, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1',
				      0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x64 };
	static const uint8_t v5[] = { 0x05, 0x00, 0x00, 0x03, 0x07, 0x00, 0x00, 0x00, 0x1c,
				      0x00, 0x00, 0x00, 0x08, 'S', 'E', 'L', 'E', 'C', 'T', ' ', '1',
				      0x00, 0x01, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x64,
				      0x00, 0x00, 0x00, 0x02, 0x01, 0x02 };
	static const uint8_t ps[2] = { 1, 2 };
	cdc_buf b = CDC_BUF_INIT;

	(void)state;
	cdc_cql_encode_query(&b, 4, 3, "SELECT 1", 100, NULL, 0);
	assert_int_equal(b.len, sizeof(v4));
	assert_memory_equal(b.p, v4, sizeof(v4));
	cdc_buf_reset(&b);
	cdc_cql_encode_query(&b, 5, 3, "SELECT 1", 100, ps, 2);
	assert_int_equal(b.len, sizeof(v5));
	assert_memory_equal(b.p, v5, sizeof(v5));
	cdc_buf_free(&b);
}

static void test_decoders(void **state)
{
	static const uint8_t i32[4] = { 0xff, 0xff, 0xff, 0xfe }, ts[8] = { 0, 0, 0x01, 0x93, 0x60, 0x8a, 0x1c, 0x7b };
	static const uint8_t u[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				       0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	/* map<text,text> {"k": "v", "kk": null}; then a list claiming 2 items
	 * whose second goes past the end */
	static const uint8_t map[] = { 0, 0, 0, 2, 0, 0, 0, 1, 'k', 0, 0, 0, 1, 'v', 0, 0, 0, 2, 'k', 'k',
				       0xff, 0xff, 0xff, 0xff };
	static const uint8_t badlist[] = { 0, 0, 0, 2, 0, 0, 0, 1, 'a', 0, 0, 0, 9, 'b' };
	static const uint8_t nul[3] = { 'a', 0, 'b' };
	char err[CDC_ERRSTR_SIZE], us[37], *s;
	cdc_cql_value v, item;
	int32_t n;
	int64_t t;
	size_t off = 0;
	int b;

	(void)state;
	v = (cdc_cql_value){ i32, 4 };
	assert_int_equal(cdc_cql_get_int(&v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, -2);
	v.len = 3;
	assert_int_equal(cdc_cql_get_int(&v, &n, err, sizeof(err)), -1);
	v = (cdc_cql_value){ NULL, 0 };
	assert_int_equal(cdc_cql_get_int(&v, &n, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "null"));
	v = (cdc_cql_value){ ts, 8 };
	assert_int_equal(cdc_cql_get_timestamp(&v, &t, err, sizeof(err)), 0);
	assert_int_equal(t, 1732491484283LL);
	v = (cdc_cql_value){ u, 16 };
	assert_int_equal(cdc_cql_get_uuid(&v, us, err, sizeof(err)), 0);
	assert_string_equal(us, "00112233-4455-6677-8899-aabbccddeeff");
	v = (cdc_cql_value){ i32, 1 };
	assert_int_equal(cdc_cql_get_bool(&v, &b, err, sizeof(err)), 0);
	assert_true(b);
	v = (cdc_cql_value){ nul, 3 };
	assert_int_equal(cdc_cql_get_text(&v, &s, err, sizeof(err)), -1);
	v = (cdc_cql_value){ nul, 1 };
	assert_int_equal(cdc_cql_get_text(&v, &s, err, sizeof(err)), 0);
	assert_string_equal(s, "a");
	free(s);

	v = (cdc_cql_value){ map, sizeof(map) };
	assert_int_equal(cdc_cql_coll_count(&v, &n, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(cdc_cql_coll_next(&v, &off, &item, err, sizeof(err)), 0);
	assert_int_equal(item.len, 1);
	assert_memory_equal(item.p, "k", 1);
	assert_int_equal(cdc_cql_coll_next(&v, &off, &item, err, sizeof(err)), 0);
	assert_memory_equal(item.p, "v", 1);
	assert_int_equal(cdc_cql_coll_next(&v, &off, &item, err, sizeof(err)), 0);
	assert_int_equal(item.len, 2);
	assert_int_equal(cdc_cql_coll_next(&v, &off, &item, err, sizeof(err)), 0);
	assert_null(item.p);
	assert_int_equal(off, sizeof(map));
	assert_int_equal(cdc_cql_coll_next(&v, &off, &item, err, sizeof(err)), -1);

	v = (cdc_cql_value){ badlist, sizeof(badlist) };
	assert_int_equal(cdc_cql_coll_count(&v, &n, err, sizeof(err)), 0);
	off = 0;
	assert_int_equal(cdc_cql_coll_next(&v, &off, &item, err, sizeof(err)), 0);
	assert_int_equal(cdc_cql_coll_next(&v, &off, &item, err, sizeof(err)), -1);
	/* a count larger than the bytes could hold */
	v = (cdc_cql_value){ (const uint8_t *)"\x7f\xff\xff\xff", 4 };
	assert_int_equal(cdc_cql_coll_count(&v, &n, err, sizeof(err)), -1);
}

/* ------------------------------------------------- the fake server's wire */

/* The v5 CRC24, written again for the fake server (not the client's). */
static uint32_t t_crc24(const uint8_t *p, size_t n)
{
	uint32_t c = 0x875060;

	while (n--) {
		int k;

		c ^= (uint32_t)*p++ << 16;
		for (k = 0; k < 8; k++)
			c = (c << 1) ^ ((c << 1) & 0x1000000 ? 0x1974F0B : 0);
	}
	return c & 0xFFFFFF;
}

static uint32_t t_crc32(const uint8_t *p, size_t n)
{
	static const uint8_t seed[4] = { 0xFA, 0x2D, 0x55, 0xCA };

	return (uint32_t)crc32(crc32(0, seed, 4), p, (uInt)n);
}

static void tb_le(tbuf *b, uint32_t v, int n)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	tb_put(b, x, (size_t)n);
}

/* One segment; `corrupt` 1 spoils the header CRC, 2 the payload CRC. */
static void t_segment(tbuf *out, const uint8_t *p, size_t n, int self_contained, int corrupt)
{
	uint32_t h = (uint32_t)n | (self_contained ? 1u << 17 : 0);
	uint8_t hb[3] = { (uint8_t)h, (uint8_t)(h >> 8), (uint8_t)(h >> 16) };

	tb_put(out, hb, 3);
	tb_le(out, t_crc24(hb, 3) ^ (corrupt == 1 ? 1 : 0), 3);
	tb_put(out, p, n);
	tb_le(out, t_crc32(p, n) ^ (corrupt == 2 ? 0x100 : 0), 4);
}

static void tb_be16(tbuf *b, uint16_t v)
{
	uint8_t x[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	tb_put(b, x, 2);
}

static void tb_str(tbuf *b, const char *s)
{
	tb_be16(b, (uint16_t)strlen(s));
	tb_put(b, s, strlen(s));
}

static void tb_bytes(tbuf *b, const void *p, int32_t n)
{
	tb_be32(b, (uint32_t)n);
	if (n > 0)
		tb_put(b, p, (size_t)n);
}

/* A response envelope. */
static void t_env(tbuf *out, int version, int flags, int16_t stream, int opcode, const tbuf *body)
{
	uint8_t h[5] = { (uint8_t)(0x80 | version), (uint8_t)flags, (uint8_t)((uint16_t)stream >> 8),
			 (uint8_t)stream, (uint8_t)opcode };

	tb_put(out, h, 5);
	tb_be32(out, (uint32_t)body->len);
	tb_put(out, body->p, body->len);
}

static int t_read(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t k = recv(fd, (char *)p + got, n - got, 0);

		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

static void t_write(int fd, const void *p, size_t n)
{
	if (n)
		(void)!send(fd, p, n, MSG_NOSIGNAL);
}

typedef struct req {
	int version, opcode;
	int16_t stream;
	uint8_t body[4096];
	size_t len;
} req;

/* Reads a request envelope, unframed or in one v5 segment (checked with
 * the fake server's own CRCs). */
static int t_recv(int fd, int framed, req *r)
{
	uint8_t h[9], seg[6 + 4096 + 4];
	const uint8_t *e = h;
	size_t n;

	if (framed) {
		uint32_t sh;

		if (t_read(fd, seg, 6) != 0)
			return -1;
		sh = (uint32_t)seg[0] | ((uint32_t)seg[1] << 8) | ((uint32_t)seg[2] << 16);
		assert_int_equal(t_crc24(seg, 3), (uint32_t)seg[3] | ((uint32_t)seg[4] << 8) | ((uint32_t)seg[5] << 16));
		n = sh & 0x1FFFF;
		assert_true(sh & (1u << 17));
		assert_true(n >= 9 && n <= 4096);
		if (t_read(fd, seg + 6, n + 4) != 0)
			return -1;
		assert_int_equal(t_crc32(seg + 6, n), (uint32_t)seg[6 + n] | ((uint32_t)seg[7 + n] << 8) |
							((uint32_t)seg[8 + n] << 16) | ((uint32_t)seg[9 + n] << 24));
		e = seg + 6;
	} else if (t_read(fd, h, 9) != 0) {
		return -1;
	}
	r->version = e[0];
	r->stream = (int16_t)((e[2] << 8) | e[3]);
	r->opcode = e[4];
	r->len = ((size_t)e[5] << 24) | ((size_t)e[6] << 16) | ((size_t)e[7] << 8) | e[8];
	assert_true(r->len <= sizeof(r->body));
	if (framed) {
		assert_int_equal(r->len + 9, n);
		memcpy(r->body, e + 9, r->len);
		return 0;
	}
	return t_read(fd, r->body, r->len);
}

/* Sends an envelope, in one self-contained segment when framed. */
static void t_send(int fd, int framed, int version, int flags, int16_t stream, int opcode, const tbuf *body)
{
	tbuf env = { 0 }, seg = { 0 };

	t_env(&env, version, flags, stream, opcode, body);
	if (framed) {
		t_segment(&seg, env.p, env.len, 1, 0);
		t_write(fd, seg.p, seg.len);
	} else {
		t_write(fd, env.p, env.len);
	}
	free(env.p);
	free(seg.p);
}

/* ---------------------------------------------------- result pages */

/* A ROWS body: columns name text, id uuid, n int, tags list<text>,
 * m map<text,text>, ok boolean, ts timestamp. Page 1 has two rows and a
 * paging state "P1"; page 2 one row of nulls but the name, and no more. */
static void rows_page(tbuf *b, int page, int version)
{
	static const uint8_t uid[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
					 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
	static const uint8_t ts[8] = { 0, 0, 0x01, 0x93, 0x60, 0x8a, 0x1c, 0x7b };
	static const uint8_t tags[] = { 0, 0, 0, 2, 0, 0, 0, 1, 'x', 0, 0, 0, 2, 'y', 'z' };
	static const uint8_t m[] = { 0, 0, 0, 1, 0, 0, 0, 1, 'k', 0, 0, 0, 1, 'v' };
	static const uint8_t empty[] = { 0, 0, 0, 0 };
	uint8_t seven[4] = { 0, 0, 0, 7 }, minus1[4] = { 0xff, 0xff, 0xff, 0xff }, t = 1, f = 0;

	tb_be32(b, 2);                                   /* Rows */
	tb_be32(b, 0x0001 | (page == 1 ? 0x0002 : 0) | (version >= 5 && page == 2 ? 0x0008 : 0));
	tb_be32(b, 7);
	if (page == 1)
		tb_bytes(b, "P1", 2);
	if (version >= 5 && page == 2) {                 /* new_metadata_id */
		tb_be16(b, 2);
		tb_put(b, "id", 2);
	}
	tb_str(b, "ks");
	tb_str(b, "tbl");
	tb_str(b, "name"); tb_be16(b, CDC_CQL_VARCHAR);
	tb_str(b, "id"); tb_be16(b, CDC_CQL_UUID);
	tb_str(b, "n"); tb_be16(b, CDC_CQL_INT);
	tb_str(b, "tags"); tb_be16(b, CDC_CQL_LIST); tb_be16(b, CDC_CQL_VARCHAR);
	tb_str(b, "m"); tb_be16(b, CDC_CQL_MAP); tb_be16(b, CDC_CQL_VARCHAR); tb_be16(b, CDC_CQL_VARCHAR);
	tb_str(b, "ok"); tb_be16(b, CDC_CQL_BOOLEAN);
	tb_str(b, "ts"); tb_be16(b, CDC_CQL_TIMESTAMP);
	if (page == 1) {
		tb_be32(b, 2);
		tb_bytes(b, "alpha", 5); tb_bytes(b, uid, 16); tb_bytes(b, seven, 4); tb_bytes(b, tags, sizeof(tags));
		tb_bytes(b, m, sizeof(m)); tb_bytes(b, &t, 1); tb_bytes(b, ts, 8);
		tb_bytes(b, "beta", 4); tb_bytes(b, uid, 16); tb_bytes(b, minus1, 4); tb_bytes(b, empty, 4);
		tb_bytes(b, empty, 4); tb_bytes(b, &f, 1); tb_bytes(b, empty, 0);
	} else {
		tb_be32(b, 1);
		tb_bytes(b, "gamma", 5);
		for (t = 0; t < 6; t++)
			tb_be32(b, 0xffffffff);              /* null */
	}
}

/* ------------------------------------------------------- fake server */

typedef struct fake fake;
typedef void (*script_fn)(fake *f, int fd, int conn);

struct fake {
	int lfd, port, nconn;
	pthread_t th;
	script_fn script;
	/* knobs */
	const uint8_t *reply;   /* raw bytes for the first QUERY (script_raw) */
	size_t reply_len;
	int v4_only;            /* refuse v5 with a protocol error (2: on
				 * stream 0, as Cassandra 3.11 does) */
	int auth;               /* ask for PasswordAuthenticator */
	/* what the server saw */
	int conns, queries, pages_ok, versions[4];
	char token[128];
	size_t token_len;
};

static void *fake_main(void *arg)
{
	fake *f = arg;
	int i;

	for (i = 0; i < f->nconn; i++) {
		struct pollfd p = { f->lfd, POLLIN, 0 };
		struct timeval tv = { 5, 0 };
		int fd;

		if (poll(&p, 1, 5000) <= 0)
			break;
		fd = accept(f->lfd, NULL, NULL);
		if (fd < 0)
			break;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		f->conns++;
		f->script(f, fd, i);
		close(fd);
	}
	return NULL;
}

static void fake_start(fake *f, script_fn fn, int nconn)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);

	f->script = fn;
	f->nconn = nconn;
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(f->lfd, 8), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &al), 0);
	f->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&f->th, NULL, fake_main, f), 0);
}

static void fake_stop(fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
}

/* OPTIONS and STARTUP (unframed), then AUTHENTICATE/AUTH_RESPONSE when
 * f->auth; returns whether framing is on afterwards, -1 when the
 * conversation ended. */
static int serve_handshake(fake *f, int fd, int conn)
{
	tbuf body = { 0 };
	req r;
	int v, framed;

	(void)conn;
	if (t_recv(fd, 0, &r) != 0)
		return -1;
	v = r.version;
	if (v >= 1 && v <= 5)
		f->versions[conn < 4 ? conn : 3] = v;
	assert_int_equal(r.opcode, 0x05);  /* OPTIONS */
	if (f->v4_only && v != 4) {
		tb_be32(&body, 0x000A);
		tb_str(&body, "Invalid or unsupported protocol version (5); supported versions are (3/v3, 4/v4)");
		t_send(fd, 0, 4, 0, f->v4_only == 2 ? 0 : r.stream, 0x00, &body);
		free(body.p);
		return -1;
	}
	tb_be16(&body, 0);                 /* empty string multimap */
	t_send(fd, 0, v, 0, r.stream, 0x06, &body);
	if (t_recv(fd, 0, &r) != 0)
		return -1;
	assert_int_equal(r.opcode, 0x01);  /* STARTUP */
	assert_int_equal(r.version, v);
	body.len = 0;
	framed = v >= 5;
	if (!f->auth) {
		t_send(fd, 0, v, 0, r.stream, 0x02, &body);
		free(body.p);
		return framed;
	}
	tb_str(&body, "org.apache.cassandra.auth.PasswordAuthenticator");
	t_send(fd, 0, v, 0, r.stream, 0x03, &body);
	if (t_recv(fd, framed, &r) != 0) {
		free(body.p);
		return -1;
	}
	assert_int_equal(r.opcode, 0x0F);  /* AUTH_RESPONSE */
	assert_true(r.len >= 4);
	f->token_len = r.len - 4 < sizeof(f->token) ? r.len - 4 : sizeof(f->token);
	memcpy(f->token, r.body + 4, f->token_len);
	body.len = 0;
	if (f->token_len == 17 && memcmp(f->token, "\0cassandra\0secret", 17) == 0) {
		tb_be32(&body, 0xffffffff);
		t_send(fd, framed, v, 0, r.stream, 0x10, &body);
	} else {
		tb_be32(&body, 0x0100);
		tb_str(&body, "Provided username cassandra and/or password are incorrect");
		t_send(fd, framed, v, 0, r.stream, 0x00, &body);
		framed = -1;
	}
	free(body.p);
	return framed;
}

/* Two pages; checks that the second QUERY carries the paging state. The
 * first page goes with a warning; in v5 the second page is split over two
 * segments that are not self-contained. */
static void script_pages(fake *f, int fd, int conn)
{
	int framed = serve_handshake(f, fd, conn), page;
	req r;

	if (framed < 0)
		return;
	for (page = 1; page <= 2; page++) {
		tbuf body = { 0 };
		size_t off;
		uint32_t flags, psl;
		int v4;

		if (t_recv(fd, framed, &r) != 0)
			return;
		v4 = r.version == 4;
		assert_int_equal(r.opcode, 0x07);
		f->queries++;
		/* <long string><consistency><flags>... */
		off = 4 + (((size_t)r.body[0] << 24) | ((size_t)r.body[1] << 16) | ((size_t)r.body[2] << 8) | r.body[3]);
		assert_int_equal(r.body[off], 0);
		assert_int_equal(r.body[off + 1], 1);  /* ONE */
		off += 2;
		flags = v4 ? r.body[off] : ((uint32_t)r.body[off + 2] << 8 | r.body[off + 3]);
		off += v4 ? 1 : 4;
		off += 4;                               /* page size */
		if (page == 1 && flags == 0x04)
			f->pages_ok++;
		if (page == 2 && flags == 0x0C) {
			psl = ((uint32_t)r.body[off + 2] << 8) | r.body[off + 3];
			if (psl == 2 && memcmp(r.body + off + 4, "P1", 2) == 0)
				f->pages_ok++;
		}
		if (page == 1) {
			tbuf w = { 0 };

			tb_be16(&w, 1);
			tb_str(&w, "Read 2 live rows and 1000 tombstone cells");
			rows_page(&w, 1, r.version);
			t_send(fd, framed, r.version, 0x08, r.stream, 0x08, &w);
			free(w.p);
		} else if (framed) {
			tbuf env = { 0 }, seg = { 0 };

			rows_page(&body, 2, r.version);
			t_env(&env, r.version, 0, r.stream, 0x08, &body);
			t_segment(&seg, env.p, 20, 0, 0);
			t_segment(&seg, env.p + 20, env.len - 20, 0, 0);
			t_write(fd, seg.p, seg.len);
			free(env.p);
			free(seg.p);
		} else {
			rows_page(&body, 2, r.version);
			t_send(fd, 0, r.version, 0, r.stream, 0x08, &body);
		}
		free(body.p);
	}
}

typedef struct rows_seen {
	int n;
	char names[8][16];
	char uuid[8][37];
	int32_t ints[8];
	int ntags[8], nmap[8], oks[8], nulls[8];
	int64_t ts[8];
	char tag1[8][8];
	int bad_cols;
} rows_seen;

static int on_row(void *opaque, const cdc_cql_col *cols, const cdc_cql_value *cells, int ncols, char *errstr,
		  size_t errlen)
{
	rows_seen *s = opaque;
	int i = s->n, j;
	char *t;

	if (ncols != 7 || strcmp(cols[0].name, "name") != 0 || strcmp(cols[6].name, "ts") != 0 ||
	    cols[3].type != CDC_CQL_LIST || cols[3].sub[0] != CDC_CQL_VARCHAR || cols[4].type != CDC_CQL_MAP ||
	    cols[4].sub[1] != CDC_CQL_VARCHAR || cols[1].type != CDC_CQL_UUID)
		s->bad_cols++;
	if (i >= 8)
		return cdc_error(errstr, errlen, "too many rows");
	s->n++;
	if (cdc_cql_get_text(&cells[0], &t, errstr, errlen) != 0)
		return -1;
	snprintf(s->names[i], sizeof(s->names[i]), "%s", t);
	free(t);
	for (j = 1; j < 7; j++)
		s->nulls[i] += cells[j].p == NULL;
	if (!cells[1].p)
		return 0;
	if (cdc_cql_get_uuid(&cells[1], s->uuid[i], errstr, errlen) != 0 ||
	    cdc_cql_get_int(&cells[2], &s->ints[i], errstr, errlen) != 0 ||
	    cdc_cql_coll_count(&cells[3], &s->ntags[i], errstr, errlen) != 0 ||
	    cdc_cql_coll_count(&cells[4], &s->nmap[i], errstr, errlen) != 0 ||
	    cdc_cql_get_bool(&cells[5], &s->oks[i], errstr, errlen) != 0)
		return -1;
	if (s->ntags[i] > 0) {
		cdc_cql_value item;
		size_t off = 0;

		if (cdc_cql_coll_next(&cells[3], &off, &item, errstr, errlen) != 0)
			return -1;
		snprintf(s->tag1[i], sizeof(s->tag1[i]), "%.*s", (int)item.len, (const char *)item.p);
	}
	if (cells[6].len == 8 && cdc_cql_get_timestamp(&cells[6], &s->ts[i], errstr, errlen) != 0)
		return -1;
	return 0;
}

static void check_pages(const rows_seen *s)
{
	assert_int_equal(s->bad_cols, 0);
	assert_int_equal(s->n, 3);
	assert_string_equal(s->names[0], "alpha");
	assert_string_equal(s->names[1], "beta");
	assert_string_equal(s->names[2], "gamma");
	assert_string_equal(s->uuid[0], "00112233-4455-6677-8899-aabbccddeeff");
	assert_int_equal(s->ints[0], 7);
	assert_int_equal(s->ints[1], -1);
	assert_int_equal(s->ntags[0], 2);
	assert_string_equal(s->tag1[0], "x");
	assert_int_equal(s->nmap[0], 1);
	assert_int_equal(s->ntags[1], 0);
	assert_true(s->oks[0]);
	assert_false(s->oks[1]);
	assert_int_equal(s->ts[0], 1732491484283LL);
	assert_int_equal(s->nulls[1], 0);
	assert_int_equal(s->nulls[2], 6);
}

/* v5: handshake unframed, then segments; two pages. */
static void test_v5_pages(void **state)
{
	fake f = { 0 };
	rows_seen s = { 0 };
	char err[CDC_ERRSTR_SIZE];
	cdc_cql_conn *c = NULL;

	(void)state;
	fake_start(&f, script_pages, 1);
	if (cdc_cql_connect(&c, "127.0.0.1", f.port, NULL, NULL, 3000, err, sizeof(err)) != 0)
		fail_msg("connect: %s", err);
	assert_int_equal(cdc_cql_version(c), 5);
	if (cdc_cql_query(c, "SELECT * FROM ks.tbl", 2, on_row, &s, err, sizeof(err)) != 0)
		fail_msg("query: %s", err);
	cdc_cql_close(c);
	fake_stop(&f);
	assert_int_equal(f.versions[0], 5);
	assert_int_equal(f.queries, 2);
	assert_int_equal(f.pages_ok, 2);
	check_pages(&s);
}

/* A server without v5: a protocol error, then a new connection in v4;
 * the refusal on the request's stream, or on stream 0 (3.11). */
static void v4_fallback(int how)
{
	fake f = { 0 };
	rows_seen s = { 0 };
	char err[CDC_ERRSTR_SIZE];
	cdc_cql_conn *c = NULL;

	f.v4_only = how;
	fake_start(&f, script_pages, 2);
	if (cdc_cql_connect(&c, "127.0.0.1", f.port, NULL, NULL, 3000, err, sizeof(err)) != 0)
		fail_msg("connect: %s", err);
	assert_int_equal(cdc_cql_version(c), 4);
	if (cdc_cql_query(c, "SELECT * FROM ks.tbl", 2, on_row, &s, err, sizeof(err)) != 0)
		fail_msg("query: %s", err);
	cdc_cql_close(c);
	fake_stop(&f);
	assert_int_equal(f.conns, 2);
	assert_int_equal(f.versions[0], 5);
	assert_int_equal(f.versions[1], 4);
	assert_int_equal(f.pages_ok, 2);
	check_pages(&s);
}

static void test_v4_fallback(void **state)
{
	(void)state;
	v4_fallback(1);
}

static void test_v4_fallback_stream0(void **state)
{
	(void)state;
	v4_fallback(2);
}

/* A VOID answer to one QUERY after logging in. */
static void script_auth(fake *f, int fd, int conn)
{
	tbuf body = { 0 };
	int framed = serve_handshake(f, fd, conn);
	req r;

	if (framed < 0 || t_recv(fd, framed, &r) != 0)
		return;
	f->queries++;
	tb_be32(&body, 1);
	t_send(fd, framed, r.version, 0, r.stream, 0x08, &body);
	free(body.p);
}

static void test_auth(void **state)
{
	fake f = { 0 };
	char err[CDC_ERRSTR_SIZE], want[64];
	cdc_cql_conn *c = NULL;

	(void)state;
	f.auth = 1;
	fake_start(&f, script_auth, 1);
	if (cdc_cql_connect(&c, "127.0.0.1", f.port, "cassandra", "secret", 3000, err, sizeof(err)) != 0)
		fail_msg("connect: %s", err);
	assert_int_equal(cdc_cql_query(c, "USE ks", 0, NULL, NULL, err, sizeof(err)), 0);
	cdc_cql_close(c);
	fake_stop(&f);
	assert_int_equal(f.queries, 1);
	assert_int_equal(f.token_len, 17);
	assert_memory_equal(f.token, "\0cassandra\0secret", 17);

	/* wrong password: the server's message, with host:port */
	memset(&f, 0, sizeof(f));
	f.auth = 1;
	fake_start(&f, script_auth, 1);
	assert_int_equal(cdc_cql_connect(&c, "127.0.0.1", f.port, "cassandra", "nope", 3000, err, sizeof(err)), -1);
	fake_stop(&f);
	assert_null(c);
	snprintf(want, sizeof(want), "127.0.0.1:%d: authentication error (0x0100)", f.port);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "password are incorrect"));

	/* no credentials */
	memset(&f, 0, sizeof(f));
	f.auth = 1;
	fake_start(&f, script_auth, 1);
	assert_int_equal(cdc_cql_connect(&c, "127.0.0.1", f.port, NULL, NULL, 3000, err, sizeof(err)), -1);
	fake_stop(&f);
	assert_non_null(strstr(err, "requires authentication"));
	assert_non_null(strstr(err, "PasswordAuthenticator"));
}

/* Handshake, then f->reply as the raw answer to the first QUERY (no answer
 * when NULL), then close. */
static void script_raw(fake *f, int fd, int conn)
{
	int framed = serve_handshake(f, fd, conn);
	req r;

	if (framed < 0 || t_recv(fd, framed, &r) != 0)
		return;
	f->queries++;
	if (f->reply)
		t_write(fd, f->reply, f->reply_len);
	else
		(void)t_recv(fd, framed, &r); /* wait for the client to give up */
}

/* Runs one query against script_raw answering `reply`; returns the
 * query's result with its message in err. */
static int raw_query(const uint8_t *reply, size_t len, int timeout_ms, char *err, size_t errlen)
{
	fake f = { 0 };
	cdc_cql_conn *c = NULL;
	rows_seen s = { 0 };
	int rc;

	f.reply = reply;
	f.reply_len = len;
	fake_start(&f, script_raw, 1);
	if (cdc_cql_connect(&c, "127.0.0.1", f.port, NULL, NULL, timeout_ms, err, errlen) != 0)
		fail_msg("connect: %s", err);
	rc = cdc_cql_query(c, "SELECT * FROM ks.tbl", 100, on_row, &s, err, errlen);
	cdc_cql_close(c);
	fake_stop(&f);
	assert_true(s.n <= 3);
	return rc;
}

/* An envelope with `body` in one valid v5 segment. */
static tbuf framed_reply(int flags, int opcode, const tbuf *body)
{
	tbuf env = { 0 }, seg = { 0 };

	t_env(&env, 5, flags, 1, opcode, body);
	/* the client's stream ids start at 1 and OPTIONS, STARTUP used 1, 2 */
	env.p[2] = 0;
	env.p[3] = 3;
	t_segment(&seg, env.p, env.len, 1, 0);
	free(env.p);
	return seg;
}

static void expect_error(const tbuf *reply, const char *want)
{
	char err[CDC_ERRSTR_SIZE];

	err[0] = '\0';
	assert_int_equal(raw_query(reply->p, reply->len, 3000, err, sizeof(err)), -1);
	if (!strstr(err, want))
		fail_msg("expected '%s' in '%s'", want, err);
	assert_non_null(strstr(err, "127.0.0.1:"));
}

static void test_server_error(void **state)
{
	tbuf body = { 0 }, seg;

	(void)state;
	tb_be32(&body, 0x2200);
	tb_str(&body, "Undefined column name nope in table system.local");
	seg = framed_reply(0, 0x00, &body);
	expect_error(&seg, "invalid query (0x2200) running the query: Undefined column name nope");
	free(seg.p);
	body.len = 3; /* an ERROR too short for its code */
	seg = framed_reply(0, 0x00, &body);
	expect_error(&seg, "malformed ERROR frame");
	free(seg.p);
	free(body.p);
}

static void test_bad_segments(void **state)
{
	tbuf body = { 0 }, env = { 0 }, seg = { 0 };

	(void)state;
	rows_page(&body, 2, 5);
	t_env(&env, 5, 0, 3, 0x08, &body);
	env.p[2] = 0;
	env.p[3] = 3;
	t_segment(&seg, env.p, env.len, 1, 1);
	expect_error(&seg, "header CRC24 mismatch");
	seg.len = 0;
	t_segment(&seg, env.p, env.len, 1, 2);
	expect_error(&seg, "payload CRC32 mismatch");
	/* the segment stops short: the server closes the connection */
	seg.len = 0;
	t_segment(&seg, env.p, env.len, 1, 0);
	seg.len -= 7;
	expect_error(&seg, "connection closed by the server");
	/* a frame body length over 256 MiB */
	env.p[5] = 0x7f;
	seg.len = 0;
	t_segment(&seg, env.p, 9, 1, 0);
	expect_error(&seg, "over the protocol's");
	/* an answer on another stream */
	env.p[5] = (uint8_t)(body.len >> 24);
	env.p[3] = 9;
	seg.len = 0;
	t_segment(&seg, env.p, env.len, 1, 0);
	expect_error(&seg, "response on stream 9");
	/* an unframed envelope where segments are due */
	env.p[3] = 3;
	expect_error(&env, "CRC24 mismatch");
	free(body.p);
	free(env.p);
	free(seg.p);
}

/* Malformed ROWS bodies in valid segments. */
static void test_bad_rows(void **state)
{
	tbuf body = { 0 }, seg;
	uint8_t *p;
	size_t full, cut;
	char err[CDC_ERRSTR_SIZE];

	(void)state;
	/* huge row count */
	rows_page(&body, 2, 5);
	full = body.len;
	p = body.p;
	/* the row count sits before the last row: 4 + 5 + 6 * 4 bytes from the end */
	put_be32(p + full - (4 + 4 + 5 + 6 * 4), 0x7fffffff);
	seg = framed_reply(0, 0x08, &body);
	expect_error(&seg, "malformed ROWS content");
	free(seg.p);
	/* huge column count */
	body.len = 0;
	rows_page(&body, 2, 5);
	put_be32(body.p + 8, 0x10000000);
	seg = framed_reply(0, 0x08, &body);
	expect_error(&seg, "malformed ROWS metadata");
	free(seg.p);
	/* a cell longer than the frame */
	body.len = 0;
	rows_page(&body, 2, 5);
	put_be32(body.p + full - (4 + 5 + 6 * 4), 1000);
	seg = framed_reply(0, 0x08, &body);
	expect_error(&seg, "goes past the end of the frame");
	free(seg.p);
	/* rows of no columns: nothing bounds them by the frame, so refused */
	body.len = 0;
	tb_be32(&body, 2);
	tb_be32(&body, 0);
	tb_be32(&body, 0);
	tb_be32(&body, 0x7fffffff);
	seg = framed_reply(0, 0x08, &body);
	expect_error(&seg, "malformed ROWS content");
	free(seg.p);
	/* an unknown type id */
	body.len = 0;
	rows_page(&body, 2, 5);
	p = memmem(body.p, body.len, "\0\x04name\0\x0d", 8);
	assert_non_null(p);
	p[7] = 0x99;
	seg = framed_reply(0, 0x08, &body);
	expect_error(&seg, "malformed column specification");
	free(seg.p);
	/* an unknown result kind */
	body.len = 0;
	tb_be32(&body, 77);
	seg = framed_reply(0, 0x08, &body);
	expect_error(&seg, "unexpected RESULT kind 77");
	free(seg.p);

	/* every truncation of page 1 (envelope and segment consistent): an
	 * error, never a crash or a read past the body */
	body.len = 0;
	rows_page(&body, 1, 5);
	full = body.len;
	for (cut = 0; cut < full; cut++) {
		size_t keep = body.len;

		body.len = cut;
		seg = framed_reply(0, 0x08, &body);
		err[0] = '\0';
		if (raw_query(seg.p, seg.len, 3000, err, sizeof(err)) != -1)
			fail_msg("page 1 cut at %zu of %zu bytes was accepted", cut, full);
		free(seg.p);
		body.len = keep;
	}
	free(body.p);
}

/* No answer: the query gives up after the timeout. */
static void test_timeout(void **state)
{
	char err[CDC_ERRSTR_SIZE];
	struct timespec a, b;
	long ms;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(raw_query(NULL, 0, 300, err, sizeof(err)), -1);
	clock_gettime(CLOCK_MONOTONIC, &b);
	ms = (b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000;
	assert_non_null(strstr(err, "timed out after 300 ms"));
	assert_true(ms >= 250 && ms < 3000);
}

/* Nobody listening: a clear error. */
static void test_refused(void **state)
{
	fake f = { 0 };
	char err[CDC_ERRSTR_SIZE];
	cdc_cql_conn *c = NULL;
	int port;

	(void)state;
	fake_start(&f, script_raw, 0);
	fake_stop(&f);
	port = f.port; /* closed now */
	assert_int_equal(cdc_cql_connect(&c, "127.0.0.1", port, NULL, NULL, 1000, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot connect"));
	assert_int_equal(cdc_cql_connect(&c, "no-such-host.invalid", 9042, NULL, NULL, 1000, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no-such-host.invalid:9042"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc24_known),
		cmocka_unit_test(test_crc32_known),
		cmocka_unit_test(test_segment_wrap_known),
		cmocka_unit_test(test_segment_split_known),
		cmocka_unit_test(test_segment_corrupt),
		cmocka_unit_test(test_encode_query),
		cmocka_unit_test(test_decoders),
		cmocka_unit_test(test_v5_pages),
		cmocka_unit_test(test_v4_fallback),
		cmocka_unit_test(test_v4_fallback_stream0),
		cmocka_unit_test(test_auth),
		cmocka_unit_test(test_server_error),
		cmocka_unit_test(test_bad_segments),
		cmocka_unit_test(test_bad_rows),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
