/* testutil.h - helpers shared by the unit tests: a small writer of
 * commitlog segments (for the framing rules) and file helpers.
 *
 * The writer follows the layout Cassandra's CommitLogSegment, CompressedSegment
 * and CommitLog.add produce, so the parser's rules can be exercised on inputs
 * of every shape; agreement with Cassandra itself is proven separately by the
 * oracle comparison on real segments. */
#ifndef CDCTAIL_TESTUTIL_H
#define CDCTAIL_TESTUTIL_H

#include <glob.h>
#include <lz4.h>
#include <snappy-c.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

typedef struct tbuf {
	uint8_t *p;
	size_t len, cap;
} tbuf;

static inline void tb_reserve(tbuf *b, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
}

static inline void tb_put(tbuf *b, const void *d, size_t n)
{
	tb_reserve(b, n);
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static inline void tb_be32(tbuf *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	tb_put(b, x, 4);
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static inline uint32_t tcrc_int(uint32_t c, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
	return (uint32_t)crc32(c, x, 4);
}

/* Appends a descriptor: version, id, params, CRC. */
static inline void tw_header(tbuf *b, int32_t version, int64_t id, const char *params)
{
	uint32_t plen = (uint32_t)strlen(params), c = (uint32_t)crc32(0, NULL, 0);
	uint8_t l[2] = { (uint8_t)(plen >> 8), (uint8_t)plen };

	tb_be32(b, (uint32_t)version);
	tb_be32(b, (uint32_t)((uint64_t)id >> 32));
	tb_be32(b, (uint32_t)id);
	tb_put(b, l, 2);
	tb_put(b, params, plen);
	c = tcrc_int(c, (uint32_t)version);
	c = tcrc_int(c, (uint32_t)((uint64_t)id & 0xffffffffu));
	c = tcrc_int(c, (uint32_t)((uint64_t)id >> 32));
	c = tcrc_int(c, plen);
	c = (uint32_t)crc32(c, (const uint8_t *)params, plen);
	tb_be32(b, c);
}

static inline uint32_t tw_marker_crc(int64_t id, uint32_t pos)
{
	uint32_t c = (uint32_t)crc32(0, NULL, 0);
	c = tcrc_int(c, (uint32_t)((uint64_t)id & 0xffffffffu));
	c = tcrc_int(c, (uint32_t)((uint64_t)id >> 32));
	return tcrc_int(c, pos);
}

/* Appends one framed entry (size, size CRC, body, body CRC) to `b`. The body
 * is a plausible mutation head (count 1, a table id, a key) plus filler. */
static inline void tw_entry(tbuf *b, uint32_t size, uint8_t seed)
{
	uint8_t *body = malloc(size);
	uint32_t c, i;

	for (i = 0; i < size; i++)
		body[i] = (uint8_t)(seed + i * 7);
	body[0] = 1;               /* one partition update */
	body[17] = 3;              /* key length 3 */
	c = tcrc_int((uint32_t)crc32(0, NULL, 0), size);
	tb_be32(b, size);
	tb_be32(b, c);
	tb_put(b, body, size);
	tb_be32(b, (uint32_t)crc32(c, body, size));
	free(body);
}

enum { TW_NONE, TW_LZ4, TW_SNAPPY, TW_DEFLATE, TW_ZSTD };

static inline const char *tw_params(int comp)
{
	switch (comp) {
	case TW_LZ4: return "{\"compressionClass\":\"LZ4Compressor\",\"compressionParameters\":{}}";
	case TW_SNAPPY: return "{\"compressionClass\":\"SnappyCompressor\",\"compressionParameters\":{}}";
	case TW_DEFLATE: return "{\"compressionClass\":\"org.apache.cassandra.io.compress.DeflateCompressor\",\"compressionParameters\":{}}";
	case TW_ZSTD: return "{\"compressionClass\":\"ZstdCompressor\",\"compressionParameters\":{}}";
	}
	return "{}";
}

/* Compresses `in` the way Cassandra's compressor classes frame it. */
static inline void tw_compress(tbuf *out, int comp, const uint8_t *in, size_t n)
{
	switch (comp) {
	case TW_LZ4: {
		int cap = LZ4_compressBound((int)n), w;
		uint8_t le[4] = { (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24) };
		tb_put(out, le, 4);
		tb_reserve(out, (size_t)cap);
		w = LZ4_compress_default((const char *)in, (char *)out->p + out->len, (int)n, cap);
		out->len += (size_t)w;
		break;
	}
	case TW_SNAPPY: {
		size_t cap = snappy_max_compressed_length(n);
		tb_reserve(out, cap);
		snappy_compress((const char *)in, n, (char *)out->p + out->len, &cap);
		out->len += cap;
		break;
	}
	case TW_DEFLATE: {
		uLongf cap = compressBound((uLong)n);
		tb_reserve(out, cap);
		compress(out->p + out->len, &cap, in, (uLong)n);
		out->len += cap;
		break;
	}
	case TW_ZSTD: {
		size_t cap = ZSTD_compressBound(n), w;
		tb_reserve(out, cap);
		w = ZSTD_compress(out->p + out->len, cap, in, n, 3);
		out->len += w;
		break;
	}
	}
}

/* Builds a segment of `nsec` sections holding `per` entries each. For an
 * uncompressed segment the file is padded with zeros to `pad_to` (like a
 * pre-sized mmap segment) after an all-zero end marker. */
static inline tbuf tw_segment(int comp, int64_t id, int nsec, int per, size_t pad_to)
{
	tbuf b = { 0 };
	uint64_t logical;
	int s, e;

	tw_header(&b, 7, id, tw_params(comp));
	logical = b.len;
	for (s = 0; s < nsec; s++) {
		tbuf sec = { 0 };
		size_t mpos = b.len;

		for (e = 0; e < per; e++)
			tw_entry(&sec, 20 + (uint32_t)((s * 31 + e * 17) % 200), (uint8_t)(s * 16 + e));
		if (comp == TW_NONE) {
			tb_be32(&b, (uint32_t)(mpos + 8 + sec.len));
			tb_be32(&b, tw_marker_crc(id, (uint32_t)mpos));
			tb_put(&b, sec.p, sec.len);
		} else {
			tbuf z = { 0 };
			tw_compress(&z, comp, sec.p, sec.len);
			tb_be32(&b, (uint32_t)(mpos + 12 + z.len));
			tb_be32(&b, tw_marker_crc(id, (uint32_t)mpos));
			tb_be32(&b, (uint32_t)sec.len);
			tb_put(&b, z.p, z.len);
			free(z.p);
		}
		logical += 8 + sec.len;
		free(sec.p);
	}
	(void)logical;
	if (comp == TW_NONE) {
		uint8_t zero[8] = { 0 };
		tb_put(&b, zero, 8);
		while (b.len < pad_to)
			tb_put(&b, zero, 1);
	}
	return b;
}

/* Reads a whole file; NULL if it cannot. */
static inline uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		p = malloc((size_t)n + 1);
		if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
			free(p);
			p = NULL;
		}
		*len = (size_t)n;
	}
	fclose(f);
	return p;
}

#endif
