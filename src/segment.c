/* segment.c - commitlog segment container: descriptor, sync sections,
 * compressed sections, entry framing, `_cdc.idx`.
 *
 * What the bytes mean is recorded in docs/format.md; the rules for where
 * reading stops follow Cassandra's CommitLogReader / CommitLogSegmentReader. */
#include "segment.h"
#include "err.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lz4.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>

#define HEADER_FIXED 14         /* version + id + params length */
#define HEADER_MIN (HEADER_FIXED + 4)
#define COMPRESSED_HEADER 12    /* marker + uncompressed length */
#define MIN_MUTATION_SIZE 10    /* CommitLogReader rejects smaller sizes */
#define MAX_SECTION (256u << 20) /* larger than any commitlog_segment_size in use */
#define MIB (1u << 20)          /* commitlog_segment_size is a whole number of MiB */
#define RELEASE_STEP (4u << 20) /* mapped pages behind the reader are given back
				 * in steps of this (segment.h: memory) */

/* A stored CRC that differs from the computed one. Fuzz builds (and only
 * they: see segment.h) can ignore mismatches, to reach what lies behind. */
#ifdef CDCTAIL_FUZZ
int cdc_fuzz_ignore_crc;
#define CRC_BAD(stored, computed) ((stored) != (computed) && !cdc_fuzz_ignore_crc)
#else
#define CRC_BAD(stored, computed) ((stored) != (computed))
#endif

struct cdc_segment {
	char *path;
	const char *base;           /* last path component of path */
	int fd;                     /* -1 when reading a caller buffer */
	const uint8_t *map;
	size_t len;
	int mapped;

	cdc_descriptor desc;
	char *params;
	char *compression_class;
	uint64_t limit;

	/* cursor */
	uint64_t marker;            /* file offset of the next marker to read */
	uint64_t lmarker;           /* its logical offset */
	int in_section;
	cdc_section_info cur;
	const uint8_t *sec;         /* bytes of the current section, logical_start.. */
	uint64_t pos;               /* logical read position inside the section */

	uint8_t *zbuf;              /* inflated section, owned */
	size_t zcap;

	int done;
	cdc_segment_end end;

	uint64_t released;          /* file offset below which pages were given back */

	/* read-ahead */
	int read_ahead;
	size_t ahead_len;           /* file size when it was turned on */
	uint64_t pending_count[CDC_PENDING_KINDS], entries_ahead;
	uint64_t last_pending_pos;  /* where the last CDC_END_AHEAD stop was counted */
	cdc_pending last_pending;
};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

/* Cassandra's FBUtilities.updateChecksumInt: the int's four bytes, big-endian. */
static uint32_t crc_int(uint32_t crc, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };

	return libdeflate_crc32(crc, b, 4);
}

/* The CRC of a sync marker covers the segment id (low word, then high word)
 * and the marker's own file offset, not its `next` field. */
static uint32_t marker_crc(int64_t id, uint32_t file_pos)
{
	uint32_t c = 0;

	c = crc_int(c, (uint32_t)((uint64_t)id & 0xffffffffu));
	c = crc_int(c, (uint32_t)((uint64_t)id >> 32));
	return crc_int(c, file_pos);
}

const char *cdc_end_reason_name(cdc_end_reason r)
{
	switch (r) {
	case CDC_END_NONE: return "none";
	case CDC_END_MARKER: return "zero-marker";
	case CDC_END_EOF: return "end-of-file";
	case CDC_END_LIMIT: return "index-limit";
	case CDC_END_PADDING: return "zero-padding";
	case CDC_END_TRUNCATED: return "truncated";
	case CDC_END_ERROR: return "error";
	case CDC_END_AHEAD: return "ahead-pending";
	}
	return "?";
}

const char *cdc_pending_name(cdc_pending p)
{
	switch (p) {
	case CDC_PENDING_NONE: return "none";
	case CDC_PENDING_EMPTY: return "empty";
	case CDC_PENDING_SIZE: return "size";
	case CDC_PENDING_BODY: return "body";
	case CDC_PENDING_PAST_EOF: return "past-eof";
	case CDC_PENDING_SEALED: return "sealed";
	case CDC_PENDING_KINDS: break;
	}
	return "?";
}

const char *cdc_compression_name(cdc_compression c)
{
	switch (c) {
	case CDC_COMPRESSION_NONE: return "none";
	case CDC_COMPRESSION_LZ4: return "lz4";
	case CDC_COMPRESSION_SNAPPY: return "snappy";
	case CDC_COMPRESSION_DEFLATE: return "deflate";
	case CDC_COMPRESSION_ZSTD: return "zstd";
	}
	return "?";
}

static const char *basename_of(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Parses a decimal run of digits into *v; returns the end or NULL. */
static const char *parse_digits(const char *s, int64_t *v)
{
	int64_t n = 0;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return NULL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (n > (INT64_MAX - 9) / 10)
			return NULL;
		n = n * 10 + (*p - '0');
	}
	*v = n;
	return p;
}

int cdc_segment_parse_name(const char *path, int *version, int64_t *id)
{
	const char *b = basename_of(path), *p;
	int64_t v, i;

	if (strncmp(b, "CommitLog-", 10) != 0)
		return -1;
	p = parse_digits(b + 10, &v);
	if (!p || *p != '-' || v > INT32_MAX)
		return -1;
	p = parse_digits(p + 1, &i);
	if (!p || strcmp(p, ".log") != 0)
		return -1;
	if (version)
		*version = (int)v;
	if (id)
		*id = i;
	return 0;
}

/* Maps the compressor class named in the header, short or fully qualified. */
static int compression_from_class(const char *cls, cdc_compression *out)
{
	static const struct { const char *name; cdc_compression c; } known[] = {
		{ "LZ4Compressor", CDC_COMPRESSION_LZ4 },
		{ "SnappyCompressor", CDC_COMPRESSION_SNAPPY },
		{ "DeflateCompressor", CDC_COMPRESSION_DEFLATE },
		{ "ZstdCompressor", CDC_COMPRESSION_ZSTD },
	};
	const char *shortname = strrchr(cls, '.');
	size_t i;

	shortname = shortname ? shortname + 1 : cls;
	if (shortname != cls && strncmp(cls, "org.apache.cassandra.io.compress.",
					shortname - cls) != 0)
		return -1;
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(shortname, known[i].name) == 0) {
			*out = known[i].c;
			return 0;
		}
	}
	return -1;
}

/* Reads the header parameters JSON: compression class and encryption keys. */
static int parse_params(cdc_segment *s, char *errstr, size_t errlen)
{
	cJSON *root, *cls;
	int rc = 0;

	root = cJSON_ParseWithLength(s->params, s->desc.params_len);
	if (!root || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return cdc_error(errstr, errlen,
				 "%s: offset 14: descriptor parameters are not a JSON object: %.80s",
				 s->path, s->params);
	}
	cls = cJSON_GetObjectItemCaseSensitive(root, "compressionClass");
	if (cls && !cJSON_IsNull(cls)) {
		if (!cJSON_IsString(cls)) {
			rc = cdc_error(errstr, errlen,
				       "%s: offset 14: compressionClass is not a string", s->path);
			goto out;
		}
		s->compression_class = strdup(cls->valuestring);
		if (!s->compression_class) {
			rc = cdc_error(errstr, errlen, "%s: out of memory", s->path);
			goto out;
		}
		s->desc.compression_class = s->compression_class;
		if (compression_from_class(cls->valuestring, &s->desc.compression) != 0) {
			rc = cdc_error(errstr, errlen,
				       "%s: offset 14: unknown compressionClass \"%s\" (expected LZ4Compressor, SnappyCompressor, DeflateCompressor or ZstdCompressor)",
				       s->path, cls->valuestring);
			goto out;
		}
	}
	if (cJSON_GetObjectItemCaseSensitive(root, "encCipher") ||
	    cJSON_GetObjectItemCaseSensitive(root, "encKeyAlias") ||
	    cJSON_GetObjectItemCaseSensitive(root, "encIV"))
		s->desc.encrypted = 1;
out:
	cJSON_Delete(root);
	return rc;
}

/* Reads and checks the descriptor at offset 0. */
static int read_descriptor(cdc_segment *s, char *errstr, size_t errlen)
{
	const uint8_t *p = s->map;
	uint32_t plen, stored, crc;
	int name_version;
	int64_t name_id;

	if (s->len == 0)
		return cdc_error(errstr, errlen, "%s: offset 0: empty file, expected a commitlog descriptor",
				 s->path);
	if (s->len < HEADER_MIN)
		return cdc_error(errstr, errlen,
				 "%s: offset 0: file is %zu bytes, too short for a commitlog descriptor (at least %d)",
				 s->path, s->len, HEADER_MIN);
	s->desc.version = (int32_t)be32(p);
	switch (s->desc.version) {
	case CDC_CL_VERSION_30: s->desc.messaging_version = 10; break;
	case CDC_CL_VERSION_40: s->desc.messaging_version = 12; break;
	case CDC_CL_VERSION_50: s->desc.messaging_version = 13; break;
	default:
		return cdc_error(errstr, errlen,
				 "%s: offset 0: commitlog version %" PRId32 " is not supported (expected 6 for 3.x, 7 for 4.x/5.0, 8 for 5.0); not a commitlog segment?",
				 s->path, s->desc.version);
	}
	s->desc.id = (int64_t)be64(p + 4);
	plen = (uint32_t)p[12] << 8 | p[13];
	if ((size_t)HEADER_MIN + plen > s->len)
		return cdc_error(errstr, errlen,
				 "%s: offset 12: parameters length %" PRIu32 " runs past the end of the file (%zu bytes)",
				 s->path, plen, s->len);
	s->desc.params_len = plen;
	s->desc.header_len = HEADER_MIN + plen;
	stored = be32(p + HEADER_FIXED + plen);
	crc = 0;
	crc = crc_int(crc, (uint32_t)s->desc.version);
	crc = crc_int(crc, (uint32_t)((uint64_t)s->desc.id & 0xffffffffu));
	crc = crc_int(crc, (uint32_t)((uint64_t)s->desc.id >> 32));
	crc = crc_int(crc, plen);
	crc = libdeflate_crc32(crc, p + HEADER_FIXED, plen);
	if (CRC_BAD(stored, crc))
		return cdc_error(errstr, errlen,
				 "%s: offset %" PRIu32 ": descriptor CRC mismatch (stored %08" PRIx32 ", computed %08" PRIx32 ")",
				 s->path, HEADER_FIXED + plen, stored, crc);
	s->desc.header_crc = stored;
	s->params = malloc((size_t)plen + 1);
	if (!s->params)
		return cdc_error(errstr, errlen, "%s: out of memory", s->path);
	memcpy(s->params, p + HEADER_FIXED, plen);
	s->params[plen] = '\0';
	s->desc.params = s->params;
	if (cdc_segment_parse_name(s->path, &name_version, &name_id) == 0 && name_id != s->desc.id)
		return cdc_error(errstr, errlen,
				 "%s: offset 4: segment id %" PRId64 " in the descriptor differs from %" PRId64 " in the file name",
				 s->path, s->desc.id, name_id);
	return parse_params(s, errstr, errlen);
}

static int segment_init(cdc_segment **out, cdc_segment *s, char *errstr, size_t errlen)
{
	s->limit = CDC_NO_LIMIT;
	if (read_descriptor(s, errstr, errlen) != 0) {
		cdc_segment_destroy(s);
		*out = NULL;
		return -1;
	}
	s->marker = s->desc.header_len;
	s->lmarker = s->desc.header_len;
	*out = s;
	return 0;
}

static cdc_segment *segment_alloc(const char *path)
{
	cdc_segment *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->fd = -1;
	s->path = strdup(path);
	if (!s->path) {
		free(s);
		return NULL;
	}
	s->base = basename_of(s->path);
	return s;
}

/* (Re)maps the whole file read-only and shared, so that writes Cassandra makes
 * to a live segment become visible. */
static int map_file(cdc_segment *s, char *errstr, size_t errlen)
{
	struct stat st;
	void *m;

	if (fstat(s->fd, &st) != 0)
		return cdc_error(errstr, errlen, "%s: stat: %s", s->path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return cdc_error(errstr, errlen, "%s: not a regular file", s->path);
	if (s->mapped && (size_t)st.st_size == s->len)
		return 0;
	if (s->mapped && s->read_ahead && (size_t)st.st_size != s->ahead_len)
		s->read_ahead = 0; /* a memory-mapped segment never changes size */
	if (s->mapped) {
		munmap((void *)s->map, s->len);
		s->mapped = 0;
		s->map = NULL;
		s->len = 0;
	}
	if (st.st_size == 0)
		return 0;
	m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, s->fd, 0);
	if (m == MAP_FAILED)
		return cdc_error(errstr, errlen, "%s: mmap of %lld bytes: %s", s->path,
				 (long long)st.st_size, strerror(errno));
	s->map = m;
	s->len = (size_t)st.st_size;
	s->mapped = 1;
	return 0;
}

int cdc_segment_open(cdc_segment **out, const char *path, char *errstr, size_t errlen)
{
	return cdc_segment_open_ex(out, path, 0, errstr, errlen);
}

int cdc_segment_open_ex(cdc_segment **out, const char *path, int flags, char *errstr, size_t errlen)
{
	cdc_segment *s = segment_alloc(path);

	*out = NULL;
	if (!s)
		return cdc_error(errstr, errlen, "%s: out of memory", path);
	s->fd = open(path, O_RDONLY | O_CLOEXEC | (flags & CDC_OPEN_NOFOLLOW ? O_NOFOLLOW : 0));
	if (s->fd < 0) {
		cdc_error(errstr, errlen, "%s: open: %s", path, strerror(errno));
		cdc_segment_destroy(s);
		return -1;
	}
	if (map_file(s, errstr, errlen) != 0) {
		cdc_segment_destroy(s);
		return -1;
	}
	return segment_init(out, s, errstr, errlen);
}

int cdc_segment_open_mem(cdc_segment **out, const char *name, const uint8_t *buf,
			 size_t len, char *errstr, size_t errlen)
{
	cdc_segment *s = segment_alloc(name);

	*out = NULL;
	if (!s)
		return cdc_error(errstr, errlen, "%s: out of memory", name);
	s->map = buf;
	s->len = len;
	return segment_init(out, s, errstr, errlen);
}

void cdc_segment_destroy(cdc_segment *s)
{
	if (!s)
		return;
	if (s->mapped)
		munmap((void *)s->map, s->len);
	if (s->fd >= 0)
		close(s->fd);
	free(s->zbuf);
	free(s->params);
	free(s->compression_class);
	free(s->path);
	free(s);
}

const cdc_descriptor *cdc_segment_descriptor(const cdc_segment *s)
{
	return &s->desc;
}

const char *cdc_segment_path(const cdc_segment *s)
{
	return s->path;
}

void cdc_segment_set_limit(cdc_segment *s, uint64_t logical_limit)
{
	s->limit = logical_limit;
}

uint64_t cdc_segment_limit(const cdc_segment *s)
{
	return s->limit;
}

cdc_ahead_refusal cdc_segment_set_read_ahead(cdc_segment *s, int on, char *errstr, size_t errlen)
{
	if (!on) {
		s->read_ahead = 0;
		return CDC_AHEAD_OK;
	}
	if (s->desc.encrypted) {
		cdc_error(errstr, errlen, "%s: encrypted commitlog: Cassandra writes it to the file at sync only",
			  s->path);
		return CDC_AHEAD_ENCRYPTED;
	}
	if (s->desc.compression != CDC_COMPRESSION_NONE) {
		cdc_error(errstr, errlen, "%s: compressed commitlog (%s): Cassandra writes it to the file at sync only",
			  s->path, s->desc.compression_class ? s->desc.compression_class : "?");
		return CDC_AHEAD_COMPRESSED;
	}
	if (s->len == 0 || s->len % MIB != 0) {
		cdc_error(errstr, errlen,
			  "%s: %zu bytes, not a whole number of MiB: not a memory-mapped segment (commitlog_disk_access_mode direct?); Cassandra writes it to the file at sync only",
			  s->path, s->len);
		return CDC_AHEAD_NOT_MAPPED;
	}
	s->read_ahead = 1;
	s->ahead_len = s->len;
	return CDC_AHEAD_OK;
}

int cdc_segment_read_ahead(const cdc_segment *s)
{
	return s->read_ahead;
}

void cdc_segment_ahead_stats(const cdc_segment *s, uint64_t counts[CDC_PENDING_KINDS], uint64_t *entries_ahead)
{
	memcpy(counts, s->pending_count, sizeof(s->pending_count));
	*entries_ahead = s->entries_ahead;
}

/* Whether a section ending at logical_end lies (partly) past the limit. */
static int past_limit(const cdc_segment *s, uint64_t logical_end)
{
	return s->limit != CDC_NO_LIMIT && logical_end > s->limit;
}

cdc_segment_end cdc_segment_end_state(const cdc_segment *s)
{
	return s->end;
}

/* Records why reading stopped; returns 0 so callers can `return stop(...)`. */
static int stop(cdc_segment *s, cdc_end_reason r, uint64_t file_off, uint64_t logical_off)
{
	s->done = 1;
	s->in_section = 0;
	memset(&s->end, 0, sizeof(s->end));
	s->end.reason = r;
	s->end.file_offset = file_off;
	s->end.logical_offset = logical_off;
	return 0;
}

/* Records the sync marker reading stopped at (after stop() or fail()). */
static void stopped_at_marker(cdc_segment *s, uint32_t next, uint32_t stored, uint32_t want)
{
	s->end.bad_marker = 1;
	s->end.marker_next = next;
	s->end.marker_crc = stored;
	s->end.marker_computed_crc = want;
}

static int fail(cdc_segment *s, uint64_t file_off, uint64_t logical_off)
{
	stop(s, CDC_END_ERROR, file_off, logical_off);
	return -1;
}

/* Stops inside the current section, keeping the position: the next call
 * after cdc_segment_refresh() goes on from there. Counts a read-ahead stop
 * once per position and state. Returns 0. */
static int pause_at(cdc_segment *s, cdc_end_reason r, cdc_pending why)
{
	s->done = 1;
	memset(&s->end, 0, sizeof(s->end));
	s->end.reason = r;
	s->end.file_offset = s->pos; /* uncompressed: logical == file */
	s->end.logical_offset = s->pos;
	s->end.pending = why;
	if (why != CDC_PENDING_NONE && (why != s->last_pending || s->pos != s->last_pending_pos)) {
		s->pending_count[why]++;
		s->last_pending = why;
		s->last_pending_pos = s->pos;
	}
	return 0;
}

/* Inflates a compressed section payload into s->zbuf; exactly ulen bytes. */
static int inflate_section(cdc_segment *s, const uint8_t *src, size_t slen, uint32_t ulen,
			   char *errstr, size_t errlen)
{
	size_t got = 0;

	if (ulen > MAX_SECTION)
		return cdc_error(errstr, errlen, "uncompressed length %" PRIu32 " exceeds %u bytes",
				 ulen, MAX_SECTION);
	if (ulen == 0)
		return 0; /* an empty section: DeflateCompressor writes no bytes for it */
	switch (s->desc.compression) {
	case CDC_COMPRESSION_LZ4:
		/* LZ4Compressor prefixes the block with its length, little-endian. */
		if (slen < 4)
			return cdc_error(errstr, errlen, "LZ4 payload of %zu bytes has no length prefix", slen);
		got = (uint32_t)src[0] | (uint32_t)src[1] << 8 | (uint32_t)src[2] << 16 |
		      (uint32_t)src[3] << 24;
		if (got != ulen)
			return cdc_error(errstr, errlen,
					 "LZ4 length prefix %zu differs from the section's %" PRIu32, got, ulen);
		if ((uint64_t)ulen > (uint64_t)(slen - 4) * 255 + 16)
			return cdc_error(errstr, errlen, "LZ4 length %" PRIu32 " impossible for %zu input bytes",
					 ulen, slen - 4);
		break;
	case CDC_COMPRESSION_SNAPPY:
		if (snappy_uncompressed_length((const char *)src, slen, &got) != SNAPPY_OK)
			return cdc_error(errstr, errlen, "Snappy block header is invalid");
		if (got != ulen)
			return cdc_error(errstr, errlen,
					 "Snappy block holds %zu bytes, the section says %" PRIu32, got, ulen);
		break;
	case CDC_COMPRESSION_DEFLATE:
		if ((uint64_t)ulen > (uint64_t)slen * 1032 + 64)
			return cdc_error(errstr, errlen, "Deflate length %" PRIu32 " impossible for %zu input bytes",
					 ulen, slen);
		break;
	case CDC_COMPRESSION_ZSTD: {
		unsigned long long fcs = ZSTD_getFrameContentSize(src, slen);

		if (fcs == ZSTD_CONTENTSIZE_ERROR)
			return cdc_error(errstr, errlen, "not a Zstd frame");
		if (fcs != ZSTD_CONTENTSIZE_UNKNOWN && fcs != ulen)
			return cdc_error(errstr, errlen,
					 "Zstd frame holds %llu bytes, the section says %" PRIu32, fcs, ulen);
		break;
	}
	case CDC_COMPRESSION_NONE:
		return cdc_error(errstr, errlen, "section is not compressed");
	}
	if (s->zcap < ulen || !s->zbuf) {
		size_t cap = ulen ? ulen : 1;
		uint8_t *nb = realloc(s->zbuf, cap);

		if (!nb)
			return cdc_error(errstr, errlen, "out of memory for %" PRIu32 " bytes", ulen);
		s->zbuf = nb;
		s->zcap = cap;
	}
	switch (s->desc.compression) {
	case CDC_COMPRESSION_LZ4: {
		int n;

		if (slen - 4 > INT32_MAX)
			return cdc_error(errstr, errlen, "LZ4 payload too large");
		n = LZ4_decompress_safe((const char *)src + 4, (char *)s->zbuf, (int)(slen - 4), (int)ulen);
		if (n < 0 || (uint32_t)n != ulen)
			return cdc_error(errstr, errlen, "LZ4 block is corrupt (decoded %d of %" PRIu32 " bytes)",
					 n, ulen);
		break;
	}
	case CDC_COMPRESSION_SNAPPY: {
		size_t n = ulen;

		if (snappy_uncompress((const char *)src, slen, (char *)s->zbuf, &n) != SNAPPY_OK || n != ulen)
			return cdc_error(errstr, errlen, "Snappy block is corrupt");
		break;
	}
	case CDC_COMPRESSION_DEFLATE: {
		uLongf n = ulen;
		int zr = uncompress(s->zbuf, &n, src, (uLong)slen);

		if (zr != Z_OK || n != ulen)
			return cdc_error(errstr, errlen, "Deflate stream is corrupt (%s, %lu of %" PRIu32 " bytes)",
					 zError(zr), (unsigned long)n, ulen);
		break;
	}
	case CDC_COMPRESSION_ZSTD: {
		size_t n = ZSTD_decompress(s->zbuf, ulen, src, slen);

		if (ZSTD_isError(n) || n != ulen)
			return cdc_error(errstr, errlen, "Zstd frame is corrupt (%s)",
					 ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short");
		break;
	}
	case CDC_COMPRESSION_NONE:
		break;
	}
	return 0;
}

/* The marker at file offset `off`, if it is written and usable: 1 and *next. */
static int marker_written(const cdc_segment *s, uint64_t off, uint32_t *next)
{
	const uint8_t *p = s->map + off;
	uint32_t n = be32(p);

	if (CRC_BAD(be32(p + 4), marker_crc(s->desc.id, (uint32_t)off)))
		return 0;
	if (n & 0x80000000u || n < off + CDC_SYNC_MARKER_SIZE || n > s->len)
		return 0;
	*next = n;
	return 1;
}

/* Read-ahead, uncompressed: opens the section whose marker at `off` lies at
 * or past the limit. A marker that is written and usable opens a sealed
 * section (its entries are all written: Cassandra writes the marker after
 * waiting for them); any other (zero, or being written: `next` lands before
 * the CRC) opens the open section, bounded by the end of the file.
 * Returns 1 with a section item. */
static int open_ahead(cdc_segment *s, cdc_item *item, uint64_t off)
{
	uint32_t next;

	memset(item, 0, sizeof(*item));
	item->kind = CDC_ITEM_SECTION;
	item->section.file_offset = off;
	item->section.logical_start = off + CDC_SYNC_MARKER_SIZE;
	item->section.ahead = 1;
	if (marker_written(s, off, &next)) {
		item->section.file_end = next;
		item->section.logical_end = next;
		item->section.crc = be32(s->map + off + 4);
	} else {
		item->section.open = 1;
		item->section.logical_end = s->len;
	}
	s->cur = item->section;
	s->sec = s->map + off + CDC_SYNC_MARKER_SIZE;
	s->pos = item->section.logical_start;
	s->in_section = 1;
	return 1;
}

/* The open section's marker has been written since: the section gets its
 * bounds. Returns 1 sealed, 0 still open, -1 (fatal, errstr) when entries
 * already returned lie past the marker's `next`. */
static int seal(cdc_segment *s, char *errstr, size_t errlen)
{
	uint32_t next;

	if (!marker_written(s, s->cur.file_offset, &next))
		return 0;
	if (s->pos > next) {
		cdc_error(errstr, errlen,
			  "%s: offset %" PRIu64 ": sync marker written with next %" PRIu32 ", before entries already read ahead up to %" PRIu64,
			  s->path, s->cur.file_offset, next, s->pos);
		return fail(s, s->cur.file_offset, s->cur.file_offset);
	}
	s->cur.open = 0;
	s->cur.file_end = next;
	s->cur.logical_end = next;
	s->cur.crc = be32(s->map + s->cur.file_offset + 4);
	return 1;
}

/* Read-ahead: the entry at s->pos in a section the limit does not cover.
 * Returns 1 with a complete entry (both CRCs good), 3 when a sealed section
 * is exhausted, 6 when the open section was just sealed (read on), 0 when
 * the entry is not complete yet (paused there, nothing skipped), -1 fatal. */
static int read_ahead_entry(cdc_segment *s, cdc_item *item, char *errstr, size_t errlen)
{
	uint64_t at = s->pos, end = s->cur.open ? s->len : s->cur.logical_end;
	const uint8_t *p = s->map + at;
	uint32_t size, c;
	cdc_pending why;
	int r;

	if (!s->cur.open && at >= end)
		return 3;
	if (at > end || end - at < 8) {
		why = end - at >= 4 && be32(p) == 0 ? CDC_PENDING_EMPTY : CDC_PENDING_PAST_EOF;
		goto wait;
	}
	size = be32(p);
	c = crc_int(0, size);
	if (size == 0) {
		why = CDC_PENDING_EMPTY;
		goto wait;
	}
	if (size < MIN_MUTATION_SIZE || size > INT32_MAX || CRC_BAD(be32(p + 4), c)) {
		why = CDC_PENDING_SIZE;
		goto wait;
	}
	if ((uint64_t)size + CDC_ENTRY_OVERHEAD > end - at) {
		why = CDC_PENDING_PAST_EOF;
		goto wait;
	}
	memset(item, 0, sizeof(*item));
	item->entry.size_crc = item->entry.computed_size_crc = c;
	c = libdeflate_crc32(c, p + 8, size);
	if (CRC_BAD(be32(p + 8 + size), c)) {
		why = CDC_PENDING_BODY;
		goto wait;
	}
	item->kind = CDC_ITEM_ENTRY;
	item->entry.offset = at;
	item->entry.end = at + size + CDC_ENTRY_OVERHEAD;
	item->entry.section_offset = s->cur.file_offset;
	item->entry.size = size;
	item->entry.crc = item->entry.computed_crc = c;
	item->entry.body = p + 8;
	item->entry.ahead = 1;
	s->pos = item->entry.end;
	s->entries_ahead++;
	return 1;
wait:
	if (s->cur.open) {
		r = seal(s, errstr, errlen);
		if (r != 0)
			return r < 0 ? -1 : 6;
	} else {
		why = CDC_PENDING_SEALED; /* judged once the limit covers it */
	}
	return pause_at(s, CDC_END_AHEAD, why);
}

/* Reads the sync marker at s->marker. Returns 1 with a section item, 0 at the
 * end of the data, -1 on an unrecoverable fault, 2 for a recoverable fault in
 * the section (item is an error, reading goes on with the next marker). */
static int open_section(cdc_segment *s, cdc_item *item, char *errstr, size_t errlen)
{
	uint64_t off = s->marker;
	uint32_t next, stored, want, ulen;
	const uint8_t *p;
	char why[256];

	if (s->len < CDC_SYNC_MARKER_SIZE || off > s->len - CDC_SYNC_MARKER_SIZE)
		return stop(s, CDC_END_EOF, off, s->lmarker);
	if (s->limit != CDC_NO_LIMIT && s->lmarker >= s->limit) {
		if (!s->read_ahead)
			return stop(s, CDC_END_LIMIT, off, s->lmarker);
		return open_ahead(s, item, off);
	}
	p = s->map + off;
	next = be32(p);
	stored = be32(p + 4);
	want = marker_crc(s->desc.id, (uint32_t)off);
	if (stored != want && next == 0 && stored == 0)
		return stop(s, CDC_END_MARKER, off, s->lmarker);
	if (CRC_BAD(stored, want)) {
		cdc_error(errstr, errlen,
			  "%s: offset %" PRIu64 ": sync marker CRC mismatch (stored %08" PRIx32 ", computed %08" PRIx32 ", next %" PRIu32 "); the end-of-data marker should be all zero",
			  s->path, off, stored, want, next);
		fail(s, off, s->lmarker);
		stopped_at_marker(s, next, stored, want);
		return -1;
	}
	if (next & 0x80000000u || next < off + CDC_SYNC_MARKER_SIZE) {
		cdc_error(errstr, errlen,
			  "%s: offset %" PRIu64 ": sync marker points back to %" PRIu32 " (expected at least %" PRIu64 ")",
			  s->path, off, next, off + CDC_SYNC_MARKER_SIZE);
		fail(s, off, s->lmarker);
		stopped_at_marker(s, next, stored, want);
		return -1;
	}
	if (next > s->len) {
		/* CRC good, data missing: a torn tail, or a file still growing. */
		snprintf(errstr, errlen,
			 "%s: offset %" PRIu64 ": sync section ends at %" PRIu32 ", past the end of the file (%zu bytes)",
			 s->path, off, next, s->len);
		stop(s, CDC_END_TRUNCATED, off, s->lmarker);
		stopped_at_marker(s, next, stored, want);
		return 0;
	}

	memset(item, 0, sizeof(*item));
	item->section.file_offset = off;
	item->section.file_end = next;
	item->section.crc = stored;
	if (s->desc.compression == CDC_COMPRESSION_NONE) {
		item->section.logical_start = off + CDC_SYNC_MARKER_SIZE;
		item->section.logical_end = next;
		s->sec = p + CDC_SYNC_MARKER_SIZE;
	} else {
		if (next < off + COMPRESSED_HEADER) {
			cdc_error(errstr, errlen,
				  "%s: offset %" PRIu64 ": compressed section of %" PRIu64 " bytes is shorter than its 12-byte header",
				  s->path, off, (uint64_t)next - off);
			return fail(s, off, s->lmarker);
		}
		ulen = be32(p + CDC_SYNC_MARKER_SIZE);
		if (ulen & 0x80000000u) {
			cdc_error(errstr, errlen, "%s: offset %" PRIu64 ": negative uncompressed length %" PRId32,
				  s->path, off + CDC_SYNC_MARKER_SIZE, (int32_t)ulen);
			return fail(s, off, s->lmarker);
		}
		item->section.stored_len = next - (uint32_t)off - COMPRESSED_HEADER;
		item->section.logical_start = s->lmarker + CDC_SYNC_MARKER_SIZE;
		item->section.logical_end = item->section.logical_start + ulen;
		if (s->limit != CDC_NO_LIMIT && item->section.logical_end > s->limit)
			return stop(s, CDC_END_LIMIT, off, s->lmarker);
		if (inflate_section(s, p + COMPRESSED_HEADER, item->section.stored_len, ulen,
				    why, sizeof(why)) != 0) {
			uint64_t lstart = item->section.logical_start, lend = item->section.logical_end;

			snprintf(errstr, errlen, "%s: offset %" PRIu64 ": %s section: %s; section skipped",
				 s->path, off, cdc_compression_name(s->desc.compression), why);
			memset(item, 0, sizeof(*item));
			item->kind = CDC_ITEM_ERROR;
			item->entry.fault = CDC_FAULT_SECTION;
			item->entry.offset = lstart;
			item->entry.end = lend;
			item->entry.section_offset = off;
			s->marker = next;
			s->lmarker = lend;
			return 2;
		}
		s->sec = s->zbuf;
	}
	if (past_limit(s, item->section.logical_end)) {
		if (!s->read_ahead)
			return stop(s, CDC_END_LIMIT, off, s->lmarker);
		item->section.ahead = 1;
	}
	item->kind = CDC_ITEM_SECTION;
	s->cur = item->section;
	s->pos = item->section.logical_start;
	s->in_section = 1;
	return 1;
}

/* Leaves the current section and moves to its successor's marker. */
static void close_section(cdc_segment *s)
{
	s->in_section = 0;
	s->marker = s->cur.file_end;
	s->lmarker = s->cur.logical_end;
}

/* Reads the entry at s->pos in the current section. Same returns as
 * open_section; 3 means the section is exhausted. */
static int read_entry(cdc_segment *s, cdc_item *item, char *errstr, size_t errlen)
{
	uint64_t left = s->cur.logical_end - s->pos, at = s->pos;
	const uint8_t *p;
	uint32_t size, crc_size, crc_all, c;
	const char *why;
	cdc_fault fault;

	if (s->cur.ahead && (s->cur.open || past_limit(s, s->cur.logical_end))) {
		if (s->read_ahead)
			return read_ahead_entry(s, item, errstr, errlen);
		/* read-ahead turned off inside a section the limit does not cover:
		 * wait there for the marker, then for the limit */
		if (s->cur.open) {
			int r = seal(s, errstr, errlen);

			if (r != 0)
				return r < 0 ? -1 : 6;
		}
		return pause_at(s, s->cur.open ? CDC_END_MARKER : CDC_END_LIMIT, CDC_PENDING_NONE);
	}
	if (s->pos >= s->cur.logical_end)
		return 3; /* also an empty compressed section, whose s->sec is NULL */
	p = s->sec + (s->pos - s->cur.logical_start);
	if (left < 4)
		return stop(s, CDC_END_PADDING, s->cur.file_offset, at);
	size = be32(p);
	if (size == 0)
		return stop(s, CDC_END_PADDING, s->cur.file_offset, at);

	memset(item, 0, sizeof(*item));
	item->kind = CDC_ITEM_ERROR;
	item->entry.offset = at;
	item->entry.section_offset = s->cur.file_offset;
	item->entry.size = size;
	if (size < MIN_MUTATION_SIZE || size > INT32_MAX) {
		why = "invalid mutation size";
		fault = CDC_FAULT_SIZE;
		goto skip_section;
	}
	if (left < 8) {
		why = "entry header runs past the section end";
		fault = CDC_FAULT_SHORT;
		goto skip_section;
	}
	crc_size = be32(p + 4);
	c = crc_int(0, size);
	item->entry.size_crc = crc_size;
	item->entry.computed_size_crc = c;
	if (CRC_BAD(crc_size, c)) {
		snprintf(errstr, errlen,
			 "%s: offset %" PRIu64 " (section at %" PRIu64 "): entry size CRC mismatch (stored %08" PRIx32 ", computed %08" PRIx32 ", size %" PRIu32 ", %" PRIu64 " bytes left in the section); rest of the section skipped",
			 s->path, at, s->cur.file_offset, crc_size, c, size, left);
		item->entry.fault = CDC_FAULT_SIZE_CRC;
		close_section(s);
		return 2;
	}
	if ((uint64_t)size + CDC_ENTRY_OVERHEAD > left) {
		why = "entry runs past the section end";
		fault = CDC_FAULT_PAST_END;
		goto skip_section;
	}
	crc_all = be32(p + 8 + size);
	c = libdeflate_crc32(c, p + 8, size);
	item->entry.end = at + size + CDC_ENTRY_OVERHEAD;
	item->entry.crc = crc_all;
	item->entry.computed_crc = c;
	item->entry.body = p + 8;
	s->pos = item->entry.end;
	if (CRC_BAD(crc_all, c)) {
		snprintf(errstr, errlen,
			 "%s: offset %" PRIu64 " (section at %" PRIu64 "): entry body CRC mismatch (stored %08" PRIx32 ", computed %08" PRIx32 ", size %" PRIu32 "); entry skipped",
			 s->path, at, s->cur.file_offset, crc_all, c, size);
		item->entry.fault = CDC_FAULT_BODY_CRC;
		return 2;
	}
	item->kind = CDC_ITEM_ENTRY;
	return 1;

skip_section:
	item->entry.fault = fault;
	snprintf(errstr, errlen,
		 "%s: offset %" PRIu64 " (section at %" PRIu64 "): %s (size %" PRIu32 ", %" PRIu64 " bytes left in the section); rest of the section skipped",
		 s->path, at, s->cur.file_offset, why, size, left);
	close_section(s);
	return 2;
}

/* Gives the mapped pages behind the reader back (MADV_DONTNEED: the file's
 * pages stay in the page cache, only this process's RSS shrinks; reading
 * them again faults them back in), once they reach RELEASE_STEP. Everything
 * before the current section (compressed) or entry (uncompressed) is behind:
 * no body handed out earlier may be used after this call. */
static void release_behind(cdc_segment *s)
{
	uint64_t at = !s->in_section ? s->marker
		      : s->desc.compression == CDC_COMPRESSION_NONE ? s->pos : s->cur.file_offset;
	long page = sysconf(_SC_PAGESIZE);
	uint64_t upto;

	if (!s->mapped || page <= 0 || at < s->released + RELEASE_STEP)
		return;
	upto = at & ~((uint64_t)page - 1);
	if (upto > s->len)
		upto = s->len & ~((uint64_t)page - 1);
	if (upto > s->released &&
	    madvise((void *)(s->map + s->released), (size_t)(upto - s->released), MADV_DONTNEED) == 0)
		s->released = upto;
}

int cdc_segment_next(cdc_segment *s, cdc_item *item, char *errstr, size_t errlen)
{
	int r;

	if (errstr && errlen)
		errstr[0] = '\0';
	if (s->done)
		return 0;
	if (s->desc.encrypted) {
		cdc_error(errstr, errlen,
			  "%s: offset 14: segment is encrypted (transparent data encryption); cdctail cannot read it without the keystore",
			  s->path);
		return fail(s, 14, 0);
	}
	release_behind(s);
	for (;;) {
		if (s->in_section) {
			r = read_entry(s, item, errstr, errlen);
			if (r == 3) {
				close_section(s);
				continue;
			}
			if (r == 6)
				continue; /* read-ahead: the open section got its marker */
		} else {
			r = open_section(s, item, errstr, errlen);
		}
		if (r == 2)
			return 1;
		return r;
	}
}

int cdc_segment_refresh(cdc_segment *s, char *errstr, size_t errlen)
{
	if (s->fd >= 0 && map_file(s, errstr, errlen) != 0)
		return -1;
	if (s->in_section && s->desc.compression == CDC_COMPRESSION_NONE)
		s->sec = s->map + s->cur.file_offset + CDC_SYNC_MARKER_SIZE;
	if (s->done) {
		switch (s->end.reason) {
		case CDC_END_MARKER:
		case CDC_END_EOF:
		case CDC_END_LIMIT:
		case CDC_END_TRUNCATED:
		case CDC_END_AHEAD:
			s->done = 0;
			s->end.reason = CDC_END_NONE;
			break;
		default:
			break;
		}
	}
	return 0;
}

/* ---- `_cdc.idx` ---- */

int cdc_index_parse(const char *text, size_t len, cdc_index *out, const char *name,
		    char *errstr, size_t errlen)
{
	size_t i = 0;
	uint64_t v = 0;

	if (len == 0)
		return cdc_error(errstr, errlen, "%s: offset 0: empty index file (being rewritten?)", name);
	for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
		if (v > (UINT64_MAX - 9) / 10)
			return cdc_error(errstr, errlen, "%s: offset %zu: offset too large", name, i);
		v = v * 10 + (uint64_t)(text[i] - '0');
	}
	if (i == 0)
		return cdc_error(errstr, errlen, "%s: offset 0: expected a decimal offset", name);
	out->offset = v;
	out->completed = 0;
	if (i == len)
		return 0;
	/* Cassandra writes "\nCOMPLETED"; accept a Windows line end and trailing whitespace. */
	if (text[i] == '\r')
		i++;
	if (i < len && text[i] == '\n')
		i++;
	else
		return cdc_error(errstr, errlen, "%s: offset %zu: expected a newline after the offset", name, i);
	while (len > i && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		len--;
	if (len == i)
		return 0;
	if (len - i == 9 && memcmp(text + i, "COMPLETED", 9) == 0) {
		out->completed = 1;
		return 0;
	}
	if (len - i < 9 && memcmp(text + i, "COMPLETED", len - i) == 0)
		return cdc_error(errstr, errlen, "%s: offset %zu: partial COMPLETED (being rewritten?)", name, i);
	return cdc_error(errstr, errlen, "%s: offset %zu: expected COMPLETED on the second line", name, i);
}

int cdc_index_read(const char *path, cdc_index *out, char *errstr, size_t errlen)
{
	return cdc_index_read_ex(path, 0, out, errstr, errlen);
}

int cdc_index_read_ex(const char *path, int flags, cdc_index *out, char *errstr, size_t errlen)
{
	char buf[128];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | (flags & CDC_OPEN_NOFOLLOW ? O_NOFOLLOW : 0));

	if (fd < 0)
		return cdc_error(errstr, errlen, "%s: open: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n < 0)
		return cdc_error(errstr, errlen, "%s: read: %s", path, strerror(errno));
	if ((size_t)n == sizeof(buf))
		return cdc_error(errstr, errlen, "%s: offset %zu: index file is longer than any Cassandra writes",
				 path, sizeof(buf));
	return cdc_index_parse(buf, (size_t)n, out, path, errstr, errlen);
}

int cdc_index_path_for(const char *segment_path, char *buf, size_t buflen)
{
	size_t n = strlen(segment_path);
	int w;

	if (n >= 4 && strcmp(segment_path + n - 4, ".log") == 0)
		n -= 4;
	w = snprintf(buf, buflen, "%.*s_cdc.idx", (int)n, segment_path);
	return (w < 0 || (size_t)w >= buflen) ? -1 : 0;
}
