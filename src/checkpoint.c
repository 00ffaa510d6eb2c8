/* checkpoint.c - durable per-segment positions. */
#include "checkpoint.h"
#include "buf.h"
#include "err.h"
#include "fsmove.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAGIC "cdctail-checkpoint 2\n"
#define MAGIC_V1 "cdctail-checkpoint 1\n" /* read; written before "skipped" and notes */
#define LINE_MAX_LEN 4096

typedef struct rec {
	int64_t id;
	uint64_t position;
	int finished;
	uint64_t skipped;
} rec;

struct cdc_checkpoint {
	char *dir, *path, *tmp;
	rec *v;          /* sorted by id */
	size_t n, cap;
	int64_t acked_ts; /* write time of the newest event acknowledged, µs; 0 unknown */
	cdc_buf notes;    /* other modules' lines, each ending in \n */
};

static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

/* Index of id, or where it would go (*found says which). */
static size_t find(const cdc_checkpoint *c, int64_t id, int *found)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->v[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = lo < c->n && c->v[lo].id == id;
	return lo;
}

int cdc_checkpoint_set(cdc_checkpoint *c, int64_t segment_id, uint64_t position, int finished)
{
	int found;
	size_t i = find(c, segment_id, &found);

	if (found) {
		if (position > c->v[i].position)
			c->v[i].position = position;
		c->v[i].finished |= finished;
		return 0;
	}
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 32;
		rec *nv = realloc(c->v, ncap * sizeof(*nv));

		if (!nv)
			return -1;
		c->v = nv;
		c->cap = ncap;
	}
	memmove(c->v + i + 1, c->v + i, (c->n - i) * sizeof(*c->v));
	c->v[i].id = segment_id;
	c->v[i].position = position;
	c->v[i].finished = !!finished;
	c->v[i].skipped = 0;
	c->n++;
	return 0;
}

int cdc_checkpoint_add_skipped(cdc_checkpoint *c, int64_t segment_id, uint64_t n)
{
	int found;
	size_t i = find(c, segment_id, &found);

	if (!found && cdc_checkpoint_set(c, segment_id, 0, 0) != 0)
		return -1;
	i = find(c, segment_id, &found);
	c->v[i].skipped += n;
	return 0;
}

uint64_t cdc_checkpoint_skipped(const cdc_checkpoint *c, int64_t segment_id)
{
	int found;
	size_t i = find(c, segment_id, &found);

	return found ? c->v[i].skipped : 0;
}

const char *cdc_checkpoint_notes(const cdc_checkpoint *c)
{
	return c->notes.len ? c->notes.p : "";
}

int cdc_checkpoint_set_notes(cdc_checkpoint *c, const char *text, size_t len)
{
	size_t i, start = 0;

	for (i = 0; i < len; i++) {
		if (text[i] == '\0')
			return -1;
		if (text[i] == '\n') {
			if (i - start > LINE_MAX_LEN - 8)
				return -1; /* "note " and the newline must fit a line */
			start = i + 1;
		}
	}
	if (len && text[len - 1] != '\n')
		return -1;
	if (len == c->notes.len && (!len || memcmp(text, c->notes.p, len) == 0))
		return 0;
	cdc_buf_reset(&c->notes);
	cdc_buf_put(&c->notes, text, len);
	cdc_buf_putc(&c->notes, '\0');
	c->notes.len--; /* kept NUL-terminated */
	return c->notes.oom ? -1 : 1;
}

void cdc_checkpoint_forget(cdc_checkpoint *c, int64_t segment_id)
{
	int found;
	size_t i = find(c, segment_id, &found);

	if (found) {
		memmove(c->v + i, c->v + i + 1, (c->n - i - 1) * sizeof(*c->v));
		c->n--;
	}
}

int cdc_checkpoint_get(const cdc_checkpoint *c, int64_t segment_id, uint64_t *position, int *finished)
{
	int found;
	size_t i = find(c, segment_id, &found);

	if (!found)
		return 1;
	*position = c->v[i].position;
	*finished = c->v[i].finished;
	return 0;
}

size_t cdc_checkpoint_count(const cdc_checkpoint *c)
{
	return c->n;
}

int cdc_checkpoint_at(const cdc_checkpoint *c, size_t i, int64_t *segment_id, uint64_t *position,
		      int *finished)
{
	if (i >= c->n)
		return -1;
	*segment_id = c->v[i].id;
	*position = c->v[i].position;
	*finished = c->v[i].finished;
	return 0;
}

int64_t cdc_checkpoint_acked_ts(const cdc_checkpoint *c)
{
	return c->acked_ts;
}

int cdc_checkpoint_set_acked_ts(cdc_checkpoint *c, int64_t ts)
{
	if (ts <= c->acked_ts)
		return 0;
	c->acked_ts = ts;
	return 1;
}

/* One "segment ID POS FIN [SKIPPED]" line (SKIPPED from version 2): 1
 * taken, 0 not such a line, -1 out of memory. */
static int parse_segment(cdc_checkpoint *c, const char *buf, size_t n)
{
	int64_t id;
	uint64_t pos, skipped = 0;
	unsigned fin;
	int used = 0;

	if (sscanf(buf, "segment %" SCNd64 " %" SCNu64 " %u %" SCNu64 "%n", &id, &pos, &fin, &skipped, &used) != 4 ||
	    used != (int)n) {
		skipped = 0;
		if (sscanf(buf, "segment %" SCNd64 " %" SCNu64 " %u%n", &id, &pos, &fin, &used) != 3 || used != (int)n)
			return 0;
	}
	if (fin > 1)
		return 0;
	if (cdc_checkpoint_set(c, id, pos, (int)fin) != 0 || (skipped && cdc_checkpoint_add_skipped(c, id, skipped) != 0))
		return -1;
	return 1;
}

/* Parses the file text: magic, "segment ID POS FIN [SKIPPED]" lines, an
 * optional "acked_ts TS", "note ..." lines, "end N CRC". */
static int parse(cdc_checkpoint *c, const char *text, size_t len, char *errstr, size_t errlen)
{
	const char *p = text, *end = text + len;
	unsigned long line = 1, count = 0;

	if ((len < strlen(MAGIC) || memcmp(text, MAGIC, strlen(MAGIC)) != 0) &&
	    (len < strlen(MAGIC_V1) || memcmp(text, MAGIC_V1, strlen(MAGIC_V1)) != 0))
		return cdc_error(errstr, errlen, "%s: line 1: not a cdctail checkpoint (expected \"%.*s\")",
				 c->path, (int)strlen(MAGIC) - 1, MAGIC);
	p += strlen(MAGIC);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		char buf[LINE_MAX_LEN];
		int64_t ts;
		unsigned long n;
		unsigned crc;
		int used = 0, seg;

		line++;
		if (!nl || (size_t)(nl - p) >= sizeof(buf))
			return cdc_error(errstr, errlen, "%s: line %lu: truncated or overlong line", c->path, line);
		memcpy(buf, p, (size_t)(nl - p));
		buf[nl - p] = '\0';
		if ((seg = parse_segment(c, buf, (size_t)(nl - p))) != 0) {
			if (seg < 0)
				return cdc_error(errstr, errlen, "%s: out of memory", c->path);
			count++;
		} else if (strncmp(buf, "note ", 5) == 0) {
			cdc_buf_put(&c->notes, buf + 5, (size_t)(nl - p) - 5);
			cdc_buf_putc(&c->notes, '\n');
			cdc_buf_putc(&c->notes, '\0');
			c->notes.len--;
			if (c->notes.oom)
				return cdc_error(errstr, errlen, "%s: out of memory", c->path);
		} else if (sscanf(buf, "acked_ts %" SCNd64 "%n", &ts, &used) == 1 && used == (int)(nl - p) && ts >= 0) {
			c->acked_ts = ts;
		} else if (sscanf(buf, "end %lu %x%n", &n, &crc, &used) == 2 && used == (int)(nl - p)) {
			uint32_t want = (uint32_t)crc32(0, (const unsigned char *)text, (uInt)(p - text));

			if (n != count || crc != want || nl + 1 != end)
				return cdc_error(errstr, errlen,
						 "%s: line %lu: closing line does not match the file (%lu of %lu segments, crc %08x, computed %08x)",
						 c->path, line, count, n, crc, want);
			return 0;
		} else {
			return cdc_error(errstr, errlen, "%s: line %lu: expected \"segment ID POSITION 0|1 SKIPPED\", "
					 "\"acked_ts TS\", \"note ...\" or \"end N CRC\"", c->path, line);
		}
		p = nl + 1;
	}
	return cdc_error(errstr, errlen, "%s: line %lu: no closing \"end\" line: the file is incomplete",
			 c->path, line + 1);
}

int cdc_checkpoint_open(cdc_checkpoint **out, const char *state_dir, char *errstr, size_t errlen)
{
	cdc_checkpoint *c = calloc(1, sizeof(*c));
	FILE *f;
	char *text = NULL;
	long n = 0;
	int rc = 0;

	*out = NULL;
	if (!c)
		return cdc_error(errstr, errlen, "out of memory");
	c->dir = strdup(state_dir);
	c->path = join(state_dir, "checkpoint");
	c->tmp = join(state_dir, "checkpoint.tmp");
	if (!c->dir || !c->path || !c->tmp) {
		cdc_checkpoint_destroy(c);
		return cdc_error(errstr, errlen, "out of memory");
	}
	if (mkdir(state_dir, 0755) != 0 && errno != EEXIST) {
		cdc_error(errstr, errlen, "%s: cannot create the state directory: %s", state_dir, strerror(errno));
		cdc_checkpoint_destroy(c);
		return -1;
	}
	f = fopen(c->path, "rb");
	if (!f) {
		if (errno == ENOENT) {
			*out = c;
			return 0;
		}
		cdc_error(errstr, errlen, "%s: %s", c->path, strerror(errno));
		cdc_checkpoint_destroy(c);
		return -1;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    !(text = malloc((size_t)n + 1)) || fread(text, 1, (size_t)n, f) != (size_t)n)
		rc = cdc_error(errstr, errlen, "%s: cannot read: %s", c->path, strerror(errno));
	fclose(f);
	if (rc == 0)
		rc = parse(c, text, (size_t)n, errstr, errlen);
	free(text);
	if (rc != 0) {
		cdc_checkpoint_destroy(c);
		return -1;
	}
	*out = c;
	return 0;
}

void cdc_checkpoint_destroy(cdc_checkpoint *c)
{
	if (!c)
		return;
	free(c->dir);
	free(c->path);
	free(c->tmp);
	free(c->v);
	cdc_buf_free(&c->notes);
	free(c);
}

int cdc_checkpoint_save(cdc_checkpoint *c, char *errstr, size_t errlen)
{
	size_t cap = strlen(MAGIC) + c->n * 96 + c->notes.len * 2 + 128, len, i;
	char *text = malloc(cap);
	const char *p, *q, *end = c->notes.p ? c->notes.p + c->notes.len : NULL;
	int rc;

	if (!text)
		return cdc_error(errstr, errlen, "out of memory");
	len = (size_t)snprintf(text, cap, "%s", MAGIC);
	for (i = 0; i < c->n; i++)
		len += (size_t)snprintf(text + len, cap - len, "segment %" PRId64 " %" PRIu64 " %d %" PRIu64 "\n",
					c->v[i].id, c->v[i].position, c->v[i].finished, c->v[i].skipped);
	if (c->acked_ts)
		len += (size_t)snprintf(text + len, cap - len, "acked_ts %" PRId64 "\n", c->acked_ts);
	for (p = c->notes.p; p && p < end; p = q + 1) {
		q = memchr(p, '\n', (size_t)(end - p));
		len += (size_t)snprintf(text + len, cap - len, "note %.*s\n", (int)(q - p), p);
	}
	len += (size_t)snprintf(text + len, cap - len, "end %zu %08x\n", c->n,
				(unsigned)crc32(0, (const unsigned char *)text, (uInt)len));
	rc = cdc_replace_file(c->path, c->tmp, text, len, 1, errstr, errlen);
	free(text);
	return rc;
}
