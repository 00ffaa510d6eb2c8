/* snapshot_state.c - the resumable state of `cdctail snapshot`. */
#include "snapshot_state.h"
#include "err.h"
#include "fsmove.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_MAGIC "cdctail-snapshot 1"
#define STATE_MAX_BYTES (64u << 20)

void cdc_snap_state_init(cdc_snap_state *s)
{
	memset(s, 0, sizeof(*s));
	s->output_bytes = -1;
}

void cdc_snap_state_free(cdc_snap_state *s)
{
	free(s->tables);
	cdc_snap_state_init(s);
}

/* Whether n bytes at p are a Cassandra keyspace or table name. */
static int good_name(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || n > CDC_SNAP_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z') || (p[i] >= '0' && p[i] <= '9') ||
		      p[i] == '_'))
			return 0;
	return 1;
}

cdc_snap_progress *cdc_snap_state_table(cdc_snap_state *s, const char *keyspace, const char *table)
{
	size_t i;

	if (!good_name(keyspace, strlen(keyspace)) || !good_name(table, strlen(table)))
		return NULL;
	for (i = 0; i < s->ntables; i++)
		if (strcmp(s->tables[i].keyspace, keyspace) == 0 && strcmp(s->tables[i].table, table) == 0)
			return &s->tables[i];
	if (s->ntables == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		cdc_snap_progress *nt = realloc(s->tables, cap * sizeof(*nt));

		if (!nt)
			return NULL;
		s->tables = nt;
		s->cap = cap;
	}
	memset(&s->tables[s->ntables], 0, sizeof(s->tables[0]));
	strcpy(s->tables[s->ntables].keyspace, keyspace);
	strcpy(s->tables[s->ntables].table, table);
	s->tables[s->ntables].token = INT64_MIN;
	return &s->tables[s->ntables++];
}

/* A decimal int64 filling exactly n bytes at p: 0, or -1. */
static int parse_i64(const char *p, size_t n, int64_t *out)
{
	char tmp[24], *end;
	long long v;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, p, n);
	tmp[n] = '\0';
	if (!(tmp[0] == '-' || (tmp[0] >= '0' && tmp[0] <= '9')))
		return -1;
	errno = 0;
	v = strtoll(tmp, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* One `table ks.t done|token T` line (after "table "). */
static int parse_table(cdc_snap_state *s, const char *p, size_t n)
{
	const char *dot = memchr(p, '.', n), *sp = memchr(p, ' ', n);
	char ks[CDC_SNAP_NAME_MAX + 1], t[CDC_SNAP_NAME_MAX + 1];
	cdc_snap_progress *pr;
	size_t kl, tl;
	int64_t tok = 0;
	int done;

	if (!dot || !sp || dot > sp)
		return -1;
	kl = (size_t)(dot - p);
	tl = (size_t)(sp - dot - 1);
	if (!good_name(p, kl) || !good_name(dot + 1, tl))
		return -1;
	memcpy(ks, p, kl);
	ks[kl] = '\0';
	memcpy(t, dot + 1, tl);
	t[tl] = '\0';
	n -= (size_t)(sp + 1 - p); /* what follows the name */
	p = sp + 1;
	done = n == 4 && memcmp(p, "done", 4) == 0;
	if (!done && (n < 7 || memcmp(p, "token ", 6) != 0 || parse_i64(p + 6, n - 6, &tok) != 0))
		return -1;
	for (size_t i = 0; i < s->ntables; i++)
		if (strcmp(s->tables[i].keyspace, ks) == 0 && strcmp(s->tables[i].table, t) == 0)
			return -1; /* listed twice */
	if (!(pr = cdc_snap_state_table(s, ks, t)))
		return -1;
	pr->done = done;
	pr->token = done ? INT64_MAX : tok;
	return 0;
}

int cdc_snap_state_parse(cdc_snap_state *s, const char *text, size_t len, const char *name, char *errstr,
			 size_t errlen)
{
	size_t off = 0;
	int line = 0, have_start = 0;

	cdc_snap_state_free(s);
	while (off < len) {
		const char *p = text + off, *nl = memchr(p, '\n', len - off);
		size_t n = nl ? (size_t)(nl - p) : len - off;
		int bad;

		off += n + (nl ? 1 : 0);
		line++;
		if (line == 1) {
			bad = n != strlen(STATE_MAGIC) || memcmp(p, STATE_MAGIC, n) != 0;
		} else if (n > 6 && memcmp(p, "start ", 6) == 0 && !have_start) {
			bad = parse_i64(p + 6, n - 6, &s->start_us) != 0 || s->start_us <= 0;
			have_start = 1;
		} else if (n > 7 && memcmp(p, "output ", 7) == 0 && s->output_bytes < 0) {
			bad = parse_i64(p + 7, n - 7, &s->output_bytes) != 0 || s->output_bytes < 0;
		} else if (n > 6 && memcmp(p, "table ", 6) == 0) {
			bad = parse_table(s, p + 6, n - 6) != 0;
		} else {
			bad = 1;
		}
		if (bad) {
			cdc_snap_state_free(s);
			return cdc_error(errstr, errlen, "%s: line %d is not %s", name, line,
					 line == 1 ? "'" STATE_MAGIC "'" : "start US, output BYTES or table KS.T done|token T");
		}
	}
	if (!have_start) {
		cdc_snap_state_free(s);
		return cdc_error(errstr, errlen, "%s: no start line (not a snapshot state file)", name);
	}
	return 0;
}

int cdc_snap_state_load(cdc_snap_state *s, const char *path, int *exists, char *errstr, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;
	int rc;

	cdc_snap_state_free(s);
	*exists = 0;
	if (!f) {
		if (errno == ENOENT)
			return 0;
		return cdc_error(errstr, errlen, "%s: %s", path, strerror(errno));
	}
	buf = malloc(STATE_MAX_BYTES);
	if (!buf) {
		fclose(f);
		return cdc_error(errstr, errlen, "out of memory");
	}
	n = fread(buf, 1, STATE_MAX_BYTES, f);
	if (ferror(f) || n == STATE_MAX_BYTES) {
		rc = cdc_error(errstr, errlen, "%s: %s", path, ferror(f) ? strerror(errno) : "too large for a state file");
	} else {
		*exists = 1;
		rc = cdc_snap_state_parse(s, buf, n, path, errstr, errlen);
	}
	fclose(f);
	free(buf);
	return rc;
}

void cdc_snap_state_format(const cdc_snap_state *s, cdc_buf *out)
{
	size_t i;

	cdc_buf_printf(out, STATE_MAGIC "\nstart %" PRId64 "\n", s->start_us);
	if (s->output_bytes >= 0)
		cdc_buf_printf(out, "output %" PRId64 "\n", s->output_bytes);
	for (i = 0; i < s->ntables; i++) {
		const cdc_snap_progress *p = &s->tables[i];

		if (p->done)
			cdc_buf_printf(out, "table %s.%s done\n", p->keyspace, p->table);
		else
			cdc_buf_printf(out, "table %s.%s token %" PRId64 "\n", p->keyspace, p->table, p->token);
	}
}

int cdc_snap_state_save(const cdc_snap_state *s, const char *path, char *errstr, size_t errlen)
{
	cdc_buf b = CDC_BUF_INIT;
	char tmp[4200];
	int rc;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return cdc_error(errstr, errlen, "%s: path too long", path);
	cdc_snap_state_format(s, &b);
	if (b.oom)
		rc = cdc_error(errstr, errlen, "out of memory");
	else
		rc = cdc_replace_file(path, tmp, b.p, b.len, 1, errstr, errlen);
	cdc_buf_free(&b);
	return rc;
}
