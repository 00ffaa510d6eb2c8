/* quarantine.c - records of skipped entries. */
#include "quarantine.h"
#include "buf.h"
#include "err.h"
#include "jsonl.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The record file of one segment, with the offsets it already holds. */
typedef struct seg_rec {
	int64_t id;
	cdc_jsonl *f;
	uint64_t *offs;
	size_t n, cap;
} seg_rec;

struct cdc_quarantine {
	char *dir;
	seg_rec *v;
	size_t n, cap;
};

cdc_quarantine *cdc_quarantine_new(const char *dir)
{
	cdc_quarantine *q = calloc(1, sizeof(*q));

	if (q && !(q->dir = strdup(dir))) {
		free(q);
		return NULL;
	}
	return q;
}

static void rec_free(seg_rec *r)
{
	cdc_jsonl_destroy(r->f);
	free(r->offs);
}

void cdc_quarantine_destroy(cdc_quarantine *q)
{
	size_t i;

	if (!q)
		return;
	for (i = 0; i < q->n; i++)
		rec_free(&q->v[i]);
	free(q->v);
	free(q->dir);
	free(q);
}

int cdc_quarantine_path(const char *dir, const char *segment_path, char *buf, size_t n)
{
	const char *base = strrchr(segment_path, '/');
	int w;

	base = base ? base + 1 : segment_path;
	if (dir)
		w = snprintf(buf, n, "%s/%s%s", dir, base, CDC_SKIPPED_SUFFIX);
	else
		w = snprintf(buf, n, "%s%s", segment_path, CDC_SKIPPED_SUFFIX);
	return w < 0 || (size_t)w >= n ? -1 : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Appends v to a growing array. 0, or -1 when out of memory. */
static int push(uint64_t **a, size_t *n, size_t *cap, uint64_t v)
{
	if (*n == *cap) {
		size_t c = *cap ? *cap * 2 : 16;
		uint64_t *na = realloc(*a, c * sizeof(*na));

		if (!na)
			return -1;
		*a = na;
		*cap = c;
	}
	(*a)[(*n)++] = v;
	return 0;
}

int cdc_quarantine_read(const char *path, uint64_t **offsets, size_t *n, char *errstr, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char line[8192];
	size_t cap = 0, i, j;
	unsigned long ln = 0;

	*offsets = NULL;
	*n = 0;
	if (!f)
		return errno == ENOENT ? 0 : cdc_error(errstr, errlen, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		cJSON *o = cJSON_Parse(line), *off = cJSON_GetObjectItemCaseSensitive(o, "offset");

		ln++;
		if (!cJSON_IsNumber(off) || off->valuedouble < 0 || push(offsets, n, &cap, (uint64_t)off->valuedouble)) {
			cJSON_Delete(o);
			fclose(f);
			free(*offsets);
			*offsets = NULL;
			*n = 0;
			return cdc_error(errstr, errlen, "%s: line %lu: not a skipped-entry record", path, ln);
		}
		cJSON_Delete(o);
	}
	fclose(f);
	qsort(*offsets, *n, sizeof(**offsets), cmp_u64);
	for (i = j = 0; i < *n; i++)
		if (!j || (*offsets)[j - 1] != (*offsets)[i])
			(*offsets)[j++] = (*offsets)[i];
	*n = j;
	return 0;
}

/* The record of a segment, opened (and the offsets already in its file
 * read) on first use. NULL with errstr. */
static seg_rec *rec_for(cdc_quarantine *q, const char *segment_path, int64_t id, char *errstr, size_t errlen)
{
	char path[4200];
	seg_rec *r;
	size_t i;

	for (i = 0; i < q->n; i++)
		if (q->v[i].id == id)
			return &q->v[i];
	if (cdc_quarantine_path(q->dir, segment_path, path, sizeof(path)) != 0) {
		cdc_error(errstr, errlen, "%s: path too long", q->dir);
		return NULL;
	}
	if (q->n == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 8;
		seg_rec *nv = realloc(q->v, cap * sizeof(*nv));

		if (!nv) {
			cdc_error(errstr, errlen, "out of memory");
			return NULL;
		}
		q->v = nv;
		q->cap = cap;
	}
	r = &q->v[q->n];
	memset(r, 0, sizeof(*r));
	r->id = id;
	if (cdc_quarantine_read(path, &r->offs, &r->n, errstr, errlen) != 0)
		return NULL;
	r->cap = r->n;
	r->f = cdc_jsonl_new(path);
	if (!r->f) {
		free(r->offs);
		cdc_error(errstr, errlen, "out of memory");
		return NULL;
	}
	q->n++;
	return r;
}

int cdc_quarantine_record(cdc_quarantine *q, const char *segment_path, int64_t segment_id, uint64_t offset,
			  uint64_t end, const char *reason, char *errstr, size_t errlen)
{
	const char *base = strrchr(segment_path, '/');
	cdc_buf line = CDC_BUF_INIT;
	seg_rec *r;
	size_t i;
	int rc;

	if (mkdir(q->dir, 0750) != 0 && errno != EEXIST)
		return cdc_error(errstr, errlen, "%s: %s", q->dir, strerror(errno));
	r = rec_for(q, segment_path, segment_id, errstr, errlen);
	if (!r)
		return -1;
	for (i = 0; i < r->n; i++)
		if (r->offs[i] == offset)
			return 1;
	base = base ? base + 1 : segment_path;
	cdc_buf_lit(&line, "{\"segment\":");
	cdc_buf_json_str(&line, base, strlen(base));
	cdc_buf_printf(&line, ",\"segment_id\":%" PRId64 ",\"offset\":%" PRIu64 ",\"end\":%" PRIu64 ",\"reason\":",
		       segment_id, offset, end);
	cdc_buf_json_str(&line, reason, strlen(reason));
	cdc_buf_putc(&line, '}');
	rc = line.oom || push(&r->offs, &r->n, &r->cap, offset) ? cdc_error(errstr, errlen, "out of memory")
								 : cdc_jsonl_append(r->f, line.p, line.len, errstr, errlen);
	cdc_buf_free(&line);
	return rc;
}

int cdc_quarantine_sync(cdc_quarantine *q, char *errstr, size_t errlen)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		if (cdc_jsonl_sync(q->v[i].f, errstr, errlen) != 0)
			return -1;
	return 0;
}

void cdc_quarantine_done(cdc_quarantine *q, int64_t segment_id)
{
	size_t i;

	for (i = 0; i < q->n; i++)
		if (q->v[i].id == segment_id) {
			rec_free(&q->v[i]);
			q->v[i] = q->v[--q->n];
			return;
		}
}
