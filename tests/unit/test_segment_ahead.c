/* test_segment_ahead.c - read-ahead: reading a live memory-mapped segment
 * past its `_cdc.idx` offset and past its last sync marker.
 *
 * The synthetic segments are written here the way Cassandra writes a
 * MemoryMappedSegment (docs/format.md, "Before and after a sync"): a file
 * pre-sized with zeros; CommitLogSegment.allocate hands out positions in
 * order; CommitLog.add writes size, size CRC, body, body CRC into the
 * mapping, several writers at once, in any order; each sync(false) pass
 * (every 100 ms in periodic mode) allocates the next marker's 8 bytes, zeroes
 * them and then writes the previous marker (next, then CRC); a flush adds
 * the `_cdc.idx` offset. The expected result of every test is the writer's
 * own list of entries, never the reader's output. Real live copies taken
 * from nodes mid-write are checked against the same segments once Cassandra
 * had synced them (tests/unit/live/, docs/fixtures.md). */
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "err.h"
#include "segment.h"
#include "testutil.h"

#define SEG_SIZE (1u << 20)
#define MAX_ENTRIES 4096

/* ---- a live segment as Cassandra writes it ---- */

typedef struct wentry {
	uint32_t pos, size;
	uint8_t seed;
	int stage;                 /* how much of it is written: below */
} wentry;

enum { W_NONE, W_SIZE, W_SIZE_CRC, W_HALF_BODY, W_BODY, W_ALL };

typedef struct live {
	uint8_t *p;                /* SEG_SIZE bytes */
	int64_t id;
	uint32_t alloc;            /* allocatePosition */
	uint32_t last_marker;      /* lastMarkerOffset: the open marker */
	uint32_t idx;              /* last _cdc.idx offset */
	wentry e[MAX_ENTRIES];
	size_t n;
	int64_t half;              /* a marker whose CRC is not written yet, or -1 */
} live;

static void live_init(live *l, int64_t id)
{
	tbuf b = { 0 };

	memset(l, 0, sizeof(*l));
	l->p = calloc(1, SEG_SIZE);
	assert_non_null(l->p);
	l->id = id;
	tw_header(&b, 7, id, "{}");
	memcpy(l->p, b.p, b.len);
	l->last_marker = (uint32_t)b.len;  /* zeroed first marker */
	l->alloc = l->last_marker + 8;
	l->idx = l->last_marker;
	l->half = -1;
	free(b.p);
}

/* allocate(): the next entry's place; nothing written yet. */
static size_t live_alloc(live *l, uint32_t size, uint8_t seed)
{
	wentry *w = &l->e[l->n];

	assert_true(l->n < MAX_ENTRIES);
	assert_true(l->alloc + size + 12 < SEG_SIZE - 8);
	w->pos = l->alloc;
	w->size = size;
	w->seed = seed;
	w->stage = W_NONE;
	l->alloc += size + 12;
	return l->n++;
}

static void body_of(const wentry *w, uint8_t *out)
{
	uint32_t i;

	for (i = 0; i < w->size; i++)
		out[i] = (uint8_t)(w->seed * 13 + i * 7 + 1);
	out[0] = 1;
}

/* Writes entry k up to `stage`, in CommitLog.add's order. */
static void live_write(live *l, size_t k, int stage)
{
	wentry *w = &l->e[k];
	uint8_t *p = l->p + w->pos, *body = malloc(w->size);
	uint32_t c = tcrc_int(0, w->size);

	body_of(w, body);
	if (stage >= W_SIZE)
		put_be32(p, w->size);
	if (stage >= W_SIZE_CRC)
		put_be32(p + 4, c);
	if (stage == W_HALF_BODY)
		memcpy(p + 8, body, w->size / 2);
	if (stage >= W_BODY)
		memcpy(p + 8, body, w->size);
	if (stage >= W_ALL)
		put_be32(p + 8 + w->size, (uint32_t)crc32(c, body, w->size));
	w->stage = stage;
	free(body);
}

static void live_finish_marker(live *l, uint32_t at);

/* sync(false): a marker pass. Cassandra waits for every allocated entry
 * (waitForModifications) before writing the marker; the test writes them
 * first. Writes `next` only, or next and CRC (half = 1: the moment between
 * the two stores; the pass completes it before the next one). Returns the
 * section end. */
static uint32_t live_mark(live *l, int half)
{
	uint32_t next = l->alloc;
	size_t k;

	if (l->half >= 0)
		live_finish_marker(l, (uint32_t)l->half);
	for (k = 0; k < l->n; k++)
		if (l->e[k].stage != W_ALL)
			live_write(l, k, W_ALL);
	l->alloc += 8;
	memset(l->p + next, 0, 8);
	put_be32(l->p + l->last_marker, next);
	if (!half)
		put_be32(l->p + l->last_marker + 4, tw_marker_crc(l->id, l->last_marker));
	else
		l->half = l->last_marker;
	l->last_marker = next;
	return next;
}

/* The CRC of the marker that live_mark(l, 1) left out. */
static void live_finish_marker(live *l, uint32_t at)
{
	put_be32(l->p + at + 4, tw_marker_crc(l->id, at));
	if (l->half == (int64_t)at)
		l->half = -1;
}

/* ---- reading ---- */

typedef struct got {
	uint64_t off[MAX_ENTRIES], end[MAX_ENTRIES];
	int ahead[MAX_ENTRIES];
	size_t n;
	int errors, sections, open_sections;
	cdc_fault fault;
	cdc_segment_end end_state;
	char err[CDC_ERRSTR_SIZE];
} got;

static got G;

/* Reads what is there now (after a refresh); appends to g; returns the
 * result of the last cdc_segment_next. Checks every entry's body against the
 * writer's. */
static int read_now(cdc_segment *s, const live *l, got *g)
{
	char err[CDC_ERRSTR_SIZE];
	cdc_item it;
	int r;

	assert_int_equal(cdc_segment_refresh(s, err, sizeof(err)), 0);
	while ((r = cdc_segment_next(s, &it, err, sizeof(err))) == 1) {
		if (it.kind == CDC_ITEM_SECTION) {
			g->sections++;
			g->open_sections += it.section.open;
		} else if (it.kind == CDC_ITEM_ERROR) {
			g->errors++;
			g->fault = it.entry.fault;
			snprintf(g->err, sizeof(g->err), "%s", err);
		} else {
			size_t k;

			assert_true(g->n < MAX_ENTRIES);
			for (k = 0; k < l->n && l->e[k].pos != it.entry.offset; k++)
				;
			assert_true(k < l->n);
			{
				uint8_t *want = malloc(l->e[k].size);

				body_of(&l->e[k], want);
				assert_int_equal(it.entry.size, l->e[k].size);
				assert_memory_equal(it.entry.body, want, l->e[k].size);
				free(want);
			}
			g->off[g->n] = it.entry.offset;
			g->end[g->n] = it.entry.end;
			g->ahead[g->n++] = it.entry.ahead;
		}
	}
	if (r < 0)
		snprintf(g->err, sizeof(g->err), "%s", err);
	g->end_state = cdc_segment_end_state(s);
	return r;
}

static cdc_segment *open_live(const live *l, uint64_t limit)
{
	char err[CDC_ERRSTR_SIZE];
	cdc_segment *s;

	assert_int_equal(cdc_segment_open_mem(&s, "CommitLog-7-1700000000001.log", l->p, SEG_SIZE, err,
					      sizeof(err)), 0);
	cdc_segment_set_limit(s, limit);
	assert_int_equal(cdc_segment_set_read_ahead(s, 1, err, sizeof(err)), CDC_AHEAD_OK);
	return s;
}

/* The writer's entries [from, to) were returned, in order, at G[at..]. */
static void expect_entries(const live *l, size_t at, size_t from, size_t to)
{
	size_t k;

	assert_int_equal((int)(G.n - at), (int)(to - from));
	for (k = from; k < to; k++) {
		assert_int_equal(G.off[at + k - from], l->e[k].pos);
		assert_int_equal(G.end[at + k - from], l->e[k].pos + l->e[k].size + 12);
	}
}

/* ---- tests ---- */

/* Compressed and encrypted segments, and files that are not a whole number
 * of MiB, are refused; reading stays bounded by the limit. */
static void test_refusals(void **state)
{
	char err[CDC_ERRSTR_SIZE];
	cdc_segment *s;
	tbuf z = tw_segment(TW_LZ4, 5, 2, 2, 0), p = tw_segment(TW_NONE, 5, 2, 2, SEG_SIZE + 4096);
	tbuf e = { 0 };
	uint8_t *big = calloc(1, SEG_SIZE);

	(void)state;
	assert_int_equal(cdc_segment_open_mem(&s, "z.log", z.p, z.len, err, sizeof(err)), 0);
	assert_int_equal(cdc_segment_set_read_ahead(s, 1, err, sizeof(err)), CDC_AHEAD_COMPRESSED);
	assert_non_null(strstr(err, "z.log"));
	assert_non_null(strstr(err, "LZ4Compressor"));
	assert_int_equal(cdc_segment_read_ahead(s), 0);
	cdc_segment_destroy(s);

	tw_header(&e, 7, 6, "{\"encCipher\":\"AES/CBC/PKCS5Padding\",\"encKeyAlias\":\"k\",\"encIV\":\"AAAA\"}");
	memcpy(big, e.p, e.len);
	assert_int_equal(cdc_segment_open_mem(&s, "e.log", big, SEG_SIZE, err, sizeof(err)), 0);
	assert_int_equal(cdc_segment_set_read_ahead(s, 1, err, sizeof(err)), CDC_AHEAD_ENCRYPTED);
	assert_non_null(strstr(err, "encrypted"));
	cdc_segment_destroy(s);

	/* direct I/O: a file the size of the data written so far */
	assert_int_equal(cdc_segment_open_mem(&s, "d.log", p.p, p.len, err, sizeof(err)), 0);
	assert_int_equal(cdc_segment_set_read_ahead(s, 1, err, sizeof(err)), CDC_AHEAD_NOT_MAPPED);
	assert_non_null(strstr(err, "d.log"));
	assert_non_null(strstr(err, "MiB"));
	cdc_segment_set_limit(s, 30);
	{
		cdc_item it;
		int n = 0;

		while (cdc_segment_next(s, &it, err, sizeof(err)) == 1)
			n++;
		assert_int_equal(n, 0);
		assert_int_equal(cdc_segment_end_state(s).reason, CDC_END_LIMIT);
	}
	cdc_segment_destroy(s);
	free(z.p);
	free(p.p);
	free(e.p);
	free(big);
}

/* Sections covered by the idx, sealed sections past it, and the open
 * section's complete entries: all in order, flagged ahead past the idx. */
static void test_three_regions(void **state)
{
	live l;
	cdc_segment *s;
	size_t k;

	(void)state;
	live_init(&l, 1700000000001LL);
	for (k = 0; k < 3; k++)
		live_write(&l, live_alloc(&l, 40 + (uint32_t)k, (uint8_t)k), W_ALL);
	l.idx = live_mark(&l, 0);              /* synced: entries 0..2 */
	for (k = 3; k < 5; k++)
		live_write(&l, live_alloc(&l, 50, (uint8_t)k), W_ALL);
	live_mark(&l, 0);                       /* marked, not synced: 3..4 */
	for (k = 5; k < 8; k++)
		live_write(&l, live_alloc(&l, 60, (uint8_t)k), W_ALL);  /* open: 5..7 */
	s = open_live(&l, l.idx);
	memset(&G, 0, sizeof(G));
	assert_int_equal(read_now(s, &l, &G), 0);
	expect_entries(&l, 0, 0, 8);
	for (k = 0; k < 8; k++)
		assert_int_equal(G.ahead[k], k >= 3);
	assert_int_equal(G.sections, 3);
	assert_int_equal(G.open_sections, 1);
	assert_int_equal(G.errors, 0);
	assert_int_equal(G.end_state.reason, CDC_END_AHEAD);
	assert_int_equal(G.end_state.pending, CDC_PENDING_EMPTY);
	assert_int_equal(G.end_state.logical_offset, l.alloc);
	assert_int_equal(cdc_segment_limit(s), l.idx);

	/* the same segment without read-ahead: entries 0..2, then the limit */
	cdc_segment_set_read_ahead(s, 0, NULL, 0);
	cdc_segment_destroy(s);
	{
		char err[CDC_ERRSTR_SIZE];

		assert_int_equal(cdc_segment_open_mem(&s, "CommitLog-7-1700000000001.log", l.p, SEG_SIZE, err,
						      sizeof(err)), 0);
		cdc_segment_set_limit(s, l.idx);
		memset(&G, 0, sizeof(G));
		read_now(s, &l, &G);
		expect_entries(&l, 0, 0, 3);
		assert_int_equal(G.end_state.reason, CDC_END_LIMIT);
	}
	cdc_segment_destroy(s);
	free(l.p);
}

/* Concurrent writers: entry 1 is met in each partly written state while
 * entry 2 after it is already complete; the reader stops at entry 1 every
 * time (nothing skipped), and once it is complete returns 1 and 2, and
 * never 0 again. */
static void test_partly_written(void **state)
{
	static const struct { int stage; cdc_pending why; } steps[] = {
		{ W_NONE, CDC_PENDING_EMPTY },
		{ W_SIZE, CDC_PENDING_SIZE },
		{ W_SIZE_CRC, CDC_PENDING_BODY },
		{ W_HALF_BODY, CDC_PENDING_BODY },
		{ W_BODY, CDC_PENDING_BODY },
	};
	uint64_t counts[CDC_PENDING_KINDS], ahead;
	live l;
	cdc_segment *s;
	size_t i, e0, e1, e2;

	(void)state;
	live_init(&l, 1700000000001LL);
	e0 = live_alloc(&l, 30, 1);
	e1 = live_alloc(&l, 3000, 2);
	e2 = live_alloc(&l, 20, 3);
	live_write(&l, e0, W_ALL);
	live_write(&l, e2, W_ALL);              /* the later one first */
	s = open_live(&l, 0);                   /* no idx yet: all ahead */
	memset(&G, 0, sizeof(G));
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		live_write(&l, e1, steps[i].stage);
		assert_int_equal(read_now(s, &l, &G), 0);
		expect_entries(&l, 0, 0, 1);        /* e0 only, once */
		assert_int_equal(G.end_state.reason, CDC_END_AHEAD);
		assert_int_equal(G.end_state.pending, steps[i].why);
		assert_int_equal(G.end_state.logical_offset, l.e[e1].pos);
		/* a second look without change counts no new stop */
		assert_int_equal(read_now(s, &l, &G), 0);
	}
	cdc_segment_ahead_stats(s, counts, &ahead);
	assert_int_equal(counts[CDC_PENDING_EMPTY], 1);
	assert_int_equal(counts[CDC_PENDING_SIZE], 1);
	assert_int_equal(counts[CDC_PENDING_BODY], 1); /* same position, same state */
	live_write(&l, e1, W_ALL);
	assert_int_equal(read_now(s, &l, &G), 0);
	expect_entries(&l, 0, 0, 3);
	cdc_segment_ahead_stats(s, counts, &ahead);
	assert_int_equal(ahead, 3);
	assert_int_equal(G.errors, 0);
	(void)e2;
	cdc_segment_destroy(s);
	free(l.p);
}

/* The marker pass after entries were read ahead, then the sync: nothing is
 * returned twice, the next open section goes on. Also with the moment where
 * the marker's `next` is written and its CRC not yet. */
static void test_marker_then_sync(void **state)
{
	live l;
	cdc_segment *s;
	uint32_t m1, at;
	size_t k;

	(void)state;
	live_init(&l, 1700000000001LL);
	for (k = 0; k < 4; k++)
		live_write(&l, live_alloc(&l, 25, (uint8_t)k), W_ALL);
	s = open_live(&l, l.idx);
	memset(&G, 0, sizeof(G));
	read_now(s, &l, &G);
	expect_entries(&l, 0, 0, 4);
	at = l.last_marker;
	m1 = live_mark(&l, 1);                  /* next written, CRC not yet */
	for (k = 4; k < 6; k++)
		live_write(&l, live_alloc(&l, 25, (uint8_t)k), W_ALL);
	assert_int_equal(read_now(s, &l, &G), 0);
	/* the half-written marker is no fault; its `next` is not trusted yet:
	 * the reader stops at the new marker's zero bytes */
	expect_entries(&l, 0, 0, 4);
	assert_int_equal(G.errors, 0);
	assert_int_equal(G.end_state.logical_offset, m1);
	live_finish_marker(&l, at);
	assert_int_equal(read_now(s, &l, &G), 0);
	expect_entries(&l, 0, 0, 6);
	for (k = 4; k < 6; k++)
		assert_int_equal(G.ahead[k], 1);
	/* the flush: idx covers the first section; nothing more to return */
	l.idx = m1;
	cdc_segment_set_limit(s, l.idx);
	assert_int_equal(read_now(s, &l, &G), 0);
	assert_int_equal((int)G.n, 6);
	/* another pass and flush: still nothing twice; then new entries */
	l.idx = live_mark(&l, 0);
	cdc_segment_set_limit(s, l.idx);
	assert_int_equal(read_now(s, &l, &G), 0);
	assert_int_equal((int)G.n, 6);
	live_write(&l, live_alloc(&l, 99, 9), W_ALL);
	read_now(s, &l, &G);
	expect_entries(&l, 0, 0, 7);
	assert_int_equal(G.errors, 0);
	cdc_segment_destroy(s);
	free(l.p);
}

/* A fault past the limit, in a section whose marker is written, is waited
 * for, not reported; once the limit covers it, it is reported by the usual
 * rules and reading goes on. */
static void test_fault_waits_for_limit(void **state)
{
	live l;
	cdc_segment *s;
	uint32_t m1;
	size_t k;

	(void)state;
	live_init(&l, 1700000000001LL);
	for (k = 0; k < 3; k++)
		live_write(&l, live_alloc(&l, 25, (uint8_t)k), W_ALL);
	m1 = live_mark(&l, 0);
	l.p[l.e[1].pos + 20] ^= 0x40;           /* entry 1's body: bad CRC */
	live_write(&l, live_alloc(&l, 25, 3), W_ALL);
	s = open_live(&l, l.idx);
	memset(&G, 0, sizeof(G));
	assert_int_equal(read_now(s, &l, &G), 0);
	expect_entries(&l, 0, 0, 1);
	assert_int_equal(G.errors, 0);
	assert_int_equal(G.end_state.pending, CDC_PENDING_SEALED);
	cdc_segment_set_limit(s, m1);
	assert_int_equal(read_now(s, &l, &G), 0);
	assert_int_equal(G.errors, 1);
	assert_int_equal(G.fault, CDC_FAULT_BODY_CRC);
	assert_non_null(strstr(G.err, "entry body CRC mismatch"));
	assert_int_equal((int)G.n, 3);          /* 0, 2, then 3 from the open section */
	assert_int_equal(G.off[1], l.e[2].pos);
	assert_int_equal(G.off[2], l.e[3].pos);
	assert_int_equal(G.ahead[1], 0);
	assert_int_equal(G.ahead[2], 1);
	cdc_segment_destroy(s);
	free(l.p);
}

/* Read-ahead turned off in the middle of the open section: reading waits
 * there, then goes on from the same position once the marker is written and
 * the limit covers it. */
static void test_turned_off(void **state)
{
	live l;
	cdc_segment *s;
	size_t k;

	(void)state;
	live_init(&l, 1700000000001LL);
	for (k = 0; k < 2; k++)
		live_write(&l, live_alloc(&l, 25, (uint8_t)k), W_ALL);
	s = open_live(&l, l.idx);
	memset(&G, 0, sizeof(G));
	read_now(s, &l, &G);
	expect_entries(&l, 0, 0, 2);
	cdc_segment_set_read_ahead(s, 0, NULL, 0);
	live_write(&l, live_alloc(&l, 25, 2), W_ALL);
	assert_int_equal(read_now(s, &l, &G), 0);
	assert_int_equal((int)G.n, 2);
	assert_int_equal(G.end_state.reason, CDC_END_MARKER);
	l.idx = live_mark(&l, 0);
	assert_int_equal(read_now(s, &l, &G), 0);
	assert_int_equal((int)G.n, 2);
	assert_int_equal(G.end_state.reason, CDC_END_LIMIT);
	cdc_segment_set_limit(s, l.idx);
	read_now(s, &l, &G);
	expect_entries(&l, 0, 0, 3);
	assert_int_equal(G.ahead[2], 0);
	assert_int_equal(G.end_state.reason, CDC_END_LIMIT); /* the next zero marker */
	cdc_segment_destroy(s);
	free(l.p);
}

/* A marker written with a `next` before entries already read ahead cannot
 * come from Cassandra: a fatal error naming file and offset. */
static void test_marker_before_read_entries(void **state)
{
	live l;
	cdc_segment *s;
	uint32_t at;

	(void)state;
	live_init(&l, 1700000000001LL);
	live_write(&l, live_alloc(&l, 25, 0), W_ALL);
	live_write(&l, live_alloc(&l, 25, 1), W_ALL);
	s = open_live(&l, l.idx);
	memset(&G, 0, sizeof(G));
	read_now(s, &l, &G);
	expect_entries(&l, 0, 0, 2);
	at = l.last_marker;
	put_be32(l.p + at, l.e[1].pos);         /* next inside what was read */
	live_finish_marker(&l, at);
	assert_int_equal(read_now(s, &l, &G), -1);
	assert_non_null(strstr(G.err, "CommitLog-7-1700000000001.log"));
	assert_non_null(strstr(G.err, "before entries already read ahead"));
	cdc_segment_destroy(s);
	free(l.p);
}

/* A file on disk that grows (what DirectIOSegment does at each flush) turns
 * read-ahead off at the refresh. */
static void test_file_grows(void **state)
{
	char path[] = "/tmp/cdctail-ahead-XXXXXX", err[CDC_ERRSTR_SIZE], name[600];
	cdc_segment *s;
	live l;
	int fd;

	(void)state;
	live_init(&l, 1700000000001LL);
	live_write(&l, live_alloc(&l, 25, 0), W_ALL);
	assert_non_null(mkdtemp(path));
	snprintf(name, sizeof(name), "%s/CommitLog-7-1700000000001.log", path);
	fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, l.p, SEG_SIZE), SEG_SIZE);
	assert_int_equal(cdc_segment_open(&s, name, err, sizeof(err)), 0);
	cdc_segment_set_limit(s, 0);
	assert_int_equal(cdc_segment_set_read_ahead(s, 1, err, sizeof(err)), CDC_AHEAD_OK);
	memset(&G, 0, sizeof(G));
	read_now(s, &l, &G);
	expect_entries(&l, 0, 0, 1);
	assert_int_equal(cdc_segment_read_ahead(s), 1);
	live_write(&l, live_alloc(&l, 25, 1), W_ALL);
	assert_int_equal(pwrite(fd, l.p, SEG_SIZE, 0), SEG_SIZE);
	assert_int_equal(ftruncate(fd, SEG_SIZE + 4096), 0);
	read_now(s, &l, &G);
	assert_int_equal(cdc_segment_read_ahead(s), 0);
	expect_entries(&l, 0, 0, 1);            /* waits for marker and limit */
	close(fd);
	cdc_segment_destroy(s);
	unlink(name);
	rmdir(path);
	free(l.p);
}

static long vm_rss_kb(void)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

/* A 24 MiB segment file read to its end: the mapped pages behind the reader
 * are given back (RSS grows by far less than the file), and the entries are
 * exactly those read from the same bytes in memory. */
static void test_pages_given_back(void **state)
{
	char path[] = "/tmp/cdctail-release-XXXXXX", err[CDC_ERRSTR_SIZE], name[600];
	tbuf b = tw_segment(TW_NONE, 1700000000001LL, 600, 400, 24u << 20);
	uint64_t *offs = malloc(300000 * sizeof(*offs));
	size_t n = 0, m = 0;
	cdc_segment *s;
	cdc_item it;
	long before, after;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(path));
	snprintf(name, sizeof(name), "%s/CommitLog-7-1700000000001.log", path);
	f = fopen(name, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(b.p, 1, b.len, f), b.len);
	fclose(f);
	assert_int_equal(cdc_segment_open_mem(&s, "mem", b.p, b.len, err, sizeof(err)), 0);
	while (cdc_segment_next(s, &it, err, sizeof(err)) == 1)
		if (it.kind == CDC_ITEM_ENTRY && n < 300000)
			offs[n++] = it.entry.offset;
	cdc_segment_destroy(s);
	assert_int_equal((int)n, 600 * 400);
	before = vm_rss_kb();
	assert_int_equal(cdc_segment_open(&s, name, err, sizeof(err)), 0);
	while (cdc_segment_next(s, &it, err, sizeof(err)) == 1)
		if (it.kind == CDC_ITEM_ENTRY) {
			assert_true(m < n);
			assert_int_equal(it.entry.offset, offs[m]);
			m++;
		}
	after = vm_rss_kb();
	cdc_segment_destroy(s);
	assert_int_equal((int)m, (int)n);
	print_message("RSS %ld kB before, %ld kB after reading %zu kB of segment\n", before, after, b.len >> 10);
	assert_true(after - before < 10 * 1024);
	unlink(name);
	rmdir(path);
	free(offs);
	free(b.p);
}

/* Many rounds of writers racing the reader: entries allocated in order,
 * written in random order and random steps, marker passes and flushes at
 * random; the reader looks between any two steps. At the end (a last marker
 * and flush) the reader has returned every entry exactly once, in
 * allocation order, and none before all entries before it were complete. */
static void test_random_race(void **state)
{
	uint64_t counts[CDC_PENDING_KINDS], ahead, total[CDC_PENDING_KINDS] = { 0 };
	uint64_t total_ahead = 0, total_entries = 0;
	unsigned seed;

	(void)state;
	for (seed = 1; seed <= 60; seed++) {
		live l;
		cdc_segment *s;
		size_t k, steps = 0, lastn = 0;

		srand(seed);
		live_init(&l, 1700000000001LL);
		s = open_live(&l, l.idx);
		memset(&G, 0, sizeof(G));
		while (l.n < 300 && steps++ < 4000) {
			int what = rand() % 12;

			if (what < 3) {
				uint32_t size = rand() % 4 == 0 ? 500 + (uint32_t)(rand() % 3000)
								: 10 + (uint32_t)(rand() % 90);

				if (l.alloc + size + 40 < SEG_SIZE)
					live_alloc(&l, size, (uint8_t)rand());
			} else if (what < 7 && l.n) {
				k = (size_t)rand() % l.n;
				if (l.e[k].stage < W_ALL) /* one step of CommitLog.add at a time */
					live_write(&l, k, l.e[k].stage + 1);
			} else if (what == 7 && rand() % 3 == 0) {
				uint32_t end = live_mark(&l, rand() % 4 == 0);

				if (rand() % 3 == 0 && l.half < 0) { /* a flush follows a whole marker */
					l.idx = end;
					cdc_segment_set_limit(s, l.idx);
				}
			} else {
				assert_true(read_now(s, &l, &G) >= 0);
				/* an entry returned has every earlier one complete */
				for (k = lastn; k < G.n; k++) {
					size_t j;

					for (j = 0; j < l.n && l.e[j].pos <= G.off[k]; j++)
						assert_int_equal(l.e[j].stage, W_ALL);
				}
				lastn = G.n;
			}
		}
		/* finish: a last marker pass (it writes what is left) and a flush */
		l.idx = live_mark(&l, 0);
		cdc_segment_set_limit(s, l.idx);
		assert_int_equal(read_now(s, &l, &G), 0);
		expect_entries(&l, 0, 0, l.n);
		assert_int_equal(G.errors, 0);
		cdc_segment_ahead_stats(s, counts, &ahead);
		for (k = 0; k < CDC_PENDING_KINDS; k++)
			total[k] += counts[k];
		total_ahead += ahead;
		total_entries += l.n;
		cdc_segment_destroy(s);
		free(l.p);
	}
	print_message("%" PRIu64 " entries, %" PRIu64 " read ahead; reader stopped at an entry: empty %" PRIu64
		      ", size not good yet %" PRIu64 ", body not good yet %" PRIu64 ", sealed %" PRIu64 "\n",
		      total_entries, total_ahead, total[CDC_PENDING_EMPTY], total[CDC_PENDING_SIZE],
		      total[CDC_PENDING_BODY], total[CDC_PENDING_SEALED]);
	/* the race met partly written entries, for real */
	assert_true(total[CDC_PENDING_SIZE] > 0);
	assert_true(total[CDC_PENDING_BODY] > 0);
	assert_int_equal(total[CDC_PENDING_SEALED], 0);
}

/* ---- real live copies (tests/unit/live/<version>/, docs/fixtures.md) ---- */

/* Reads a gzip file of exactly SEG_SIZE bytes into a new buffer. */
static uint8_t *gz_segment(const char *path)
{
	gzFile z = gzopen(path, "rb");
	uint8_t *p = malloc(SEG_SIZE + 1);
	int n;

	assert_non_null(z);
	n = gzread(z, p, SEG_SIZE + 1);
	gzclose(z);
	assert_int_equal(n, SEG_SIZE);
	return p;
}

typedef struct rentry {
	uint64_t off, end;
	uint32_t crc;
} rentry;

/* Every entry of buf read with read-ahead as set, appended to v. */
static size_t read_all(cdc_segment *s, rentry *v, size_t n, size_t cap, cdc_segment_end *end)
{
	char err[CDC_ERRSTR_SIZE];
	cdc_item it;

	while (cdc_segment_next(s, &it, err, sizeof(err)) == 1) {
		assert_int_not_equal(it.kind, CDC_ITEM_ERROR);
		if (it.kind == CDC_ITEM_ENTRY) {
			assert_true(n < cap);
			v[n].off = it.entry.offset;
			v[n].end = it.entry.end;
			v[n++].crc = (uint32_t)crc32(0, it.entry.body, it.entry.size);
		}
	}
	*end = cdc_segment_end_state(s);
	return n;
}

/* A copy taken from a real node while an entry was being written: read
 * ahead, it gives exactly the entries the segment holds before that one once
 * Cassandra synced it (the final copy, read up to its COMPLETED _cdc.idx),
 * and stops at that entry, at the offset frontier.py found; when the rest of
 * the bytes arrive, reading on gives exactly the remaining entries. */
static void check_live_copy(const char *dir, const char *copy, uint64_t pending)
{
	char path[512], err[CDC_ERRSTR_SIZE], name[128];
	rentry *fin = calloc(20000, sizeof(*fin)), *ra = calloc(20000, sizeof(*ra));
	uint8_t *snap, *final;
	size_t nf, nr, k, first_after;
	cdc_segment *s;
	cdc_segment_end end;
	cdc_index ix;

	snprintf(name, sizeof(name), "%.*s", (int)(strstr(copy, ".log") - copy) + 4, copy);
	snprintf(path, sizeof(path), "%s/%s", dir, copy);
	snap = gz_segment(path);
	snprintf(path, sizeof(path), "%s/%s.final.gz", dir, name);
	final = gz_segment(path);
	snprintf(path, sizeof(path), "%s/%.*s_cdc.idx", dir, (int)strlen(name) - 4, name);
	assert_int_equal(cdc_index_read(path, &ix, err, sizeof(err)), 0);
	assert_true(ix.completed);

	/* the judge: the synced segment, read by the rules up to its idx */
	assert_int_equal(cdc_segment_open_mem(&s, name, final, SEG_SIZE, err, sizeof(err)), 0);
	cdc_segment_set_limit(s, ix.offset);
	nf = read_all(s, fin, 0, 20000, &end);
	cdc_segment_destroy(s);
	for (first_after = 0; first_after < nf && fin[first_after].off < pending; first_after++)
		;
	assert_true(first_after < nf);
	assert_int_equal(fin[first_after].off, pending); /* the entry being written */

	/* the copy, read ahead with no idx yet */
	assert_int_equal(cdc_segment_open_mem(&s, name, snap, SEG_SIZE, err, sizeof(err)), 0);
	cdc_segment_set_limit(s, 0);
	assert_int_equal(cdc_segment_set_read_ahead(s, 1, err, sizeof(err)), CDC_AHEAD_OK);
	nr = read_all(s, ra, 0, 20000, &end);
	assert_int_equal(end.reason, CDC_END_AHEAD);
	assert_int_equal(end.pending, CDC_PENDING_BODY);
	assert_int_equal(end.logical_offset, pending);
	assert_int_equal((int)nr, (int)first_after);
	for (k = 0; k < nr; k++) {
		assert_int_equal(ra[k].off, fin[k].off);
		assert_int_equal(ra[k].end, fin[k].end);
		assert_int_equal(ra[k].crc, fin[k].crc);
	}
	/* Cassandra goes on writing and syncs: the rest, once */
	memcpy(snap, final, SEG_SIZE);
	cdc_segment_set_limit(s, ix.offset);
	assert_int_equal(cdc_segment_refresh(s, err, sizeof(err)), 0);
	nr = read_all(s, ra, nr, 20000, &end);
	cdc_segment_destroy(s);
	assert_int_equal((int)nr, (int)nf);
	for (k = 0; k < nf; k++) {
		assert_int_equal(ra[k].off, fin[k].off);
		assert_int_equal(ra[k].crc, fin[k].crc);
	}
	print_message("%s/%s: %zu entries read ahead before the one being written at %" PRIu64 ", %zu in all\n",
		      dir, copy, first_after, pending, nf);
	free(snap);
	free(final);
	free(fin);
	free(ra);
}

static void test_real_live_copies(void **state)
{
	static const char *versions[] = { "5.0", "4.1" };
	int v, seen = 0;

	(void)state;
	for (v = 0; v < 2; v++) {
		char dir[64], path[128], line[512], copy[256], st[64];
		unsigned long long pending;
		FILE *f;

		snprintf(dir, sizeof(dir), "tests/unit/live/%s", versions[v]);
		snprintf(path, sizeof(path), "%s/snapshots.txt", dir);
		f = fopen(path, "r");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f)) {
			if (line[0] == '#' || sscanf(line, "%255s %llu %63s", copy, &pending, st) != 3)
				continue;
			check_live_copy(dir, copy, pending);
			seen++;
		}
		fclose(f);
	}
	assert_true(seen >= 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_three_regions),
		cmocka_unit_test(test_partly_written),
		cmocka_unit_test(test_marker_then_sync),
		cmocka_unit_test(test_fault_waits_for_limit),
		cmocka_unit_test(test_turned_off),
		cmocka_unit_test(test_marker_before_read_entries),
		cmocka_unit_test(test_file_grows),
		cmocka_unit_test(test_random_race),
		cmocka_unit_test(test_pages_given_back),
		cmocka_unit_test(test_real_live_copies),
	};

	return cmocka_run_group_tests_name("segment_ahead", tests, NULL, NULL) ? 1 : 0;
}
