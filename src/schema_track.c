/* schema_track.c - schema changes and cdc flags by commitlog position. */
#include "schema_track.h"
#include "err.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CREATED 1024 /* table ids the stream created, remembered */

/* A cdc flag written for keyspace.table at (seg, off). */
typedef struct change {
	int64_t seg;
	uint64_t off;
	int before, after;   /* the flag in effect just before, and from here on */
	int64_t ts;          /* the row's write time (µs, the node's clock) */
	char *ks, *table;
} change;

struct cdc_track {
	change *v;           /* in position order */
	size_t n, cap;
	int64_t seg;         /* the current position */
	uint64_t off;
	int64_t horizon;     /* µs; 0: no "change still ahead" rule */
	int64_t clock;       /* the newest schema row write time seen (µs) */
	uint8_t (*created)[16];
	size_t ncreated, capcreated;
};

cdc_track *cdc_track_new(void)
{
	return calloc(1, sizeof(cdc_track));
}

void cdc_track_destroy(cdc_track *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->v[i].ks);
		free(t->v[i].table);
	}
	free(t->v);
	free(t->created);
	free(t);
}

void cdc_track_set_horizon(cdc_track *t, int64_t us)
{
	t->horizon = us;
}

int64_t cdc_track_horizon(const cdc_track *t)
{
	return t->horizon;
}

void cdc_track_at(cdc_track *t, int64_t segment, uint64_t offset)
{
	t->seg = segment;
	t->off = offset;
}

/* -1, 0, 1 as position a is before, at or after b. */
static int pos_cmp(int64_t aseg, uint64_t aoff, int64_t bseg, uint64_t boff)
{
	if (aseg != bseg)
		return aseg < bseg ? -1 : 1;
	return (aoff > boff) - (aoff < boff);
}

static int same_table(const change *c, const char *ks, const char *table)
{
	return strcmp(c->table, table) == 0 && strcmp(c->ks, ks) == 0;
}

/* The flag of ks.table at (seg, off) by the changes seen, or -1 when none
 * was seen for it. */
static int flag_from_changes(const cdc_track *t, const char *ks, const char *table, int64_t seg, uint64_t off)
{
	const change *first_after = NULL;
	size_t i;

	for (i = t->n; i-- > 0;) {
		const change *c = &t->v[i];

		if (!same_table(c, ks, table))
			continue;
		if (pos_cmp(c->seg, c->off, seg, off) <= 0)
			return c->after;
		first_after = c;
	}
	return first_after ? first_after->before : -1;
}

/* The flag of table tb at (seg, off): see schema_track.h. */
static int flag_at(const cdc_track *t, const cdc_table *tb, int64_t seg, uint64_t off)
{
	int f;

	if (tb->internal)
		return 0;
	f = t->n ? flag_from_changes(t, tb->keyspace, tb->name, seg, off) : -1;
	if (f >= 0)
		return f;
	if (t->horizon && tb->cdc_written > t->horizon && tb->cdc_written > t->clock)
		return 1; /* the schema shows a change the stream has not reached */
	return tb->cdc;
}

int cdc_track_cdc_flag(void *opaque, const cdc_table *tb)
{
	const cdc_track *t = opaque;

	return flag_at(t, tb, t->seg, t->off);
}

/* A table by keyspace and name in s, or NULL. */
static const cdc_table *table_named(const cdc_schema *s, const char *ks, const char *name)
{
	size_t i, n = cdc_schema_table_count(s);

	for (i = 0; i < n; i++) {
		const cdc_table *tb = cdc_schema_table_at(s, i);

		if (!tb->dropped_table && strcmp(tb->name, name) == 0 && strcmp(tb->keyspace, ks) == 0)
			return tb;
	}
	return NULL;
}

/* Records the flag written for ks.table at the current position. 0, or -1
 * when out of memory. */
static int add_change(cdc_track *t, const cdc_schema *s, const char *ks, const char *table, int after, int64_t ts)
{
	const cdc_table *tb = table_named(s, ks, table);
	change *c;
	size_t i;

	for (i = t->n; i-- > 0;) {
		if (pos_cmp(t->v[i].seg, t->v[i].off, t->seg, t->off) < 0)
			break;
		if (t->v[i].seg == t->seg && t->v[i].off == t->off && same_table(&t->v[i], ks, table))
			return 0; /* read again after a rewind: known */
	}
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		change *nv = realloc(t->v, cap * sizeof(*nv));

		if (!nv)
			return -1;
		t->v = nv;
		t->cap = cap;
	}
	c = &t->v[t->n];
	c->seg = t->seg;
	c->off = t->off;
	c->before = tb ? flag_at(t, tb, t->seg, t->off) : 0; /* no table: it is being created */
	c->after = after;
	c->ts = ts;
	c->ks = strdup(ks);
	c->table = strdup(table);
	if (!c->ks || !c->table) {
		free(c->ks);
		free(c->table);
		return -1;
	}
	/* keep position order (a re-read may record an older position) */
	for (i = t->n; i > 0 && pos_cmp(t->v[i - 1].seg, t->v[i - 1].off, c->seg, c->off) > 0; i--) {
		change tmp = t->v[i];

		t->v[i] = t->v[i - 1];
		t->v[i - 1] = tmp;
	}
	t->n++;
	return 0;
}

/* Remembers a table id the stream created; at most MAX_CREATED, the
 * oldest forgotten first. 0, or -1 when out of memory. */
static int add_created(cdc_track *t, const uint8_t id[16])
{
	if (cdc_track_created(t, id))
		return 0;
	if (t->ncreated == MAX_CREATED) {
		memmove(t->created, t->created + 1, (MAX_CREATED - 1) * 16);
		t->ncreated--;
	}
	if (t->ncreated == t->capcreated) {
		size_t cap = t->capcreated ? t->capcreated * 2 : 16;
		uint8_t (*nv)[16] = realloc(t->created, cap * 16);

		if (!nv)
			return -1;
		t->created = nv;
		t->capcreated = cap;
	}
	memcpy(t->created[t->ncreated++], id, 16);
	return 0;
}

int cdc_track_created(const cdc_track *t, const uint8_t id[16])
{
	size_t i;

	for (i = 0; i < t->ncreated; i++)
		if (memcmp(t->created[i], id, 16) == 0)
			return 1;
	return 0;
}

size_t cdc_track_changes(const cdc_track *t)
{
	return t->n;
}

/* A text value as a NUL-terminated copy in buf (cut at its size). */
static void text_of(const cdc_value *v, char *buf, size_t n)
{
	size_t len = v->len < n - 1 ? v->len : n - 1;

	if (len)
		memcpy(buf, v->p, len);
	buf[len] = '\0';
}

/* One row of system_schema.tables: the cdc flag and id it sets. */
static int learn_table_row(cdc_track *t, const cdc_schema *s, const cdc_mutation *m, const char *ks,
			   const cdc_row *r)
{
	char table[256];
	int cdc = -1;
	int64_t ts = 0;
	uint32_t k;

	if (r->nck < 1)
		return 0;
	text_of(&m->values[r->ck_first], table, sizeof(table));
	for (k = 0; k < r->ncells; k++) {
		const cdc_cell *c = &m->cells[r->cell_first + k];

		if (c->deleted)
			continue;
		if (strcmp(c->col->name, "cdc") == 0 && c->value.len == 1) {
			cdc = c->value.p[0] != 0;
			ts = c->ts;
		} else if (strcmp(c->col->name, "id") == 0 && c->value.len == 16 && !cdc_schema_is_system_keyspace(ks) &&
			   add_created(t, c->value.p) != 0) {
			return -1;
		}
	}
	if (ts > t->clock)
		t->clock = ts;
	if (cdc < 0 || cdc_schema_is_system_keyspace(ks))
		return 0; /* Cassandra's own tables are never tracked */
	return add_change(t, s, ks, table, cdc, ts);
}

int cdc_track_entry(cdc_track *t, const cdc_schema *s, const cdc_mutation *m)
{
	uint32_t i, r;
	int changed = 0;

	for (i = 0; i < m->nupdates; i++) {
		const cdc_update *u = &m->updates[i];
		char ks[256];

		if (!u->table->internal)
			continue;
		changed = 1;
		if (strcmp(u->table->name, "tables") != 0 || u->nkc < 1)
			continue;
		text_of(&m->values[u->kc_first], ks, sizeof(ks));
		for (r = 0; r < u->nrows; r++)
			if (learn_table_row(t, s, m, ks, &m->rows[u->row_first + r]) != 0)
				return -1;
	}
	return changed;
}

/* ---- the state in checkpoint notes ---- */

static void put_hex(cdc_buf *b, const char *s)
{
	cdc_buf_hex(b, (const uint8_t *)s, strlen(s));
}

/* Whether the change at i can be needed by a read from resume: it is at or
 * after it, or it is the last one before it for its table. */
static int needed(const cdc_track *t, size_t i, int64_t rseg, uint64_t roff)
{
	size_t j;

	if (pos_cmp(t->v[i].seg, t->v[i].off, rseg, roff) >= 0)
		return 1;
	for (j = i + 1; j < t->n; j++)
		if (same_table(&t->v[j], t->v[i].ks, t->v[i].table) &&
		    pos_cmp(t->v[j].seg, t->v[j].off, rseg, roff) <= 0)
			return 0;
	return 1;
}

int cdc_track_save(cdc_track *t, int64_t rseg, uint64_t roff, cdc_buf *out)
{
	size_t i, j = 0;

	for (i = 0; i < t->n; i++) {
		if (!needed(t, i, rseg, roff)) {
			free(t->v[i].ks);
			free(t->v[i].table);
			continue;
		}
		t->v[j++] = t->v[i];
	}
	t->n = j;
	cdc_buf_printf(out, "schema horizon %" PRId64 " clock %" PRId64 "\n", t->horizon, t->clock);
	for (i = 0; i < t->ncreated; i++) {
		cdc_buf_lit(out, "schema created ");
		cdc_buf_hex(out, t->created[i], 16);
		cdc_buf_putc(out, '\n');
	}
	for (i = 0; i < t->n; i++) {
		const change *c = &t->v[i];

		cdc_buf_printf(out, "schema cdc %" PRId64 " %" PRIu64 " %d %d %" PRId64 " ", c->seg, c->off, c->before,
			       c->after, c->ts);
		put_hex(out, c->ks);
		cdc_buf_putc(out, ' ');
		put_hex(out, c->table);
		cdc_buf_putc(out, '\n');
	}
	return out->oom ? -1 : 0;
}

/* Decodes n hex digits at p into a new string; NULL on a bad digit. */
static char *unhex(const char *p, size_t n)
{
	char *s = (n % 2) ? NULL : malloc(n / 2 + 1);
	size_t i;

	if (!s)
		return NULL;
	for (i = 0; i < n / 2; i++) {
		unsigned v;

		if (sscanf(p + 2 * i, "%2x", &v) != 1) {
			free(s);
			return NULL;
		}
		s[i] = (char)v;
	}
	s[n / 2] = '\0';
	return s;
}

/* One "schema cdc ..." line. 0, or -1. */
static int load_change(cdc_track *t, const char *line)
{
	change c;
	int used = 0;
	const char *sp;

	memset(&c, 0, sizeof(c));
	if (sscanf(line, "schema cdc %" SCNd64 " %" SCNu64 " %d %d %" SCNd64 " %n", &c.seg, &c.off, &c.before, &c.after,
		   &c.ts, &used) != 5 || !used)
		return -1;
	line += used;
	sp = strchr(line, ' ');
	if (!sp)
		return -1;
	c.ks = unhex(line, (size_t)(sp - line));
	c.table = unhex(sp + 1, strcspn(sp + 1, "\n"));
	if (c.ks && c.table && t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		change *nv = realloc(t->v, cap * sizeof(*nv));

		if (nv) {
			t->v = nv;
			t->cap = cap;
		}
	}
	if (!c.ks || !c.table || t->n == t->cap) {
		free(c.ks);
		free(c.table);
		return -1;
	}
	t->v[t->n++] = c;
	return 0;
}

int cdc_track_load(cdc_track *t, const char *notes, char *errstr, size_t errlen)
{
	const char *p = notes;
	int line = 0;

	while (p && *p) {
		const char *nl = strchr(p, '\n');

		line++;
		if (strncmp(p, "schema horizon ", 15) == 0) {
			if (sscanf(p, "schema horizon %" SCNd64 " clock %" SCNd64, &t->horizon, &t->clock) != 2)
				return cdc_error(errstr, errlen, "checkpoint note %d: bad schema horizon line", line);
		} else if (strncmp(p, "schema cdc ", 11) == 0 && load_change(t, p) != 0) {
			return cdc_error(errstr, errlen, "checkpoint note %d: bad schema cdc line", line);
		} else if (strncmp(p, "schema created ", 15) == 0) {
			char *id = unhex(p + 15, strcspn(p + 15, "\n"));

			if (!id || strlen(p + 15) < 32 || add_created(t, (const uint8_t *)id) != 0) {
				free(id);
				return cdc_error(errstr, errlen, "checkpoint note %d: bad schema created line", line);
			}
			free(id);
		}
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}
