/* bench.c - `make bench`'s program: reads segments through each layer and
 * prints figures (entries/s, events/s, MB/s of entry bytes, CPU seconds on
 * one core). Modes: container (framing + CRCs), decode (+ mutations),
 * events (+ JSON and CQL of every change, written to memory).
 *
 * usage: bench -s SCHEMA.json [-p PASSES] [-l LAYER] SEGMENT...
 * (-l 0, 1 or 2: only that layer, for callgrind) */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "event.h"
#include "mutation.h"
#include "schema.h"
#include "segment.h"

typedef struct result {
	double cpu;
	unsigned long entries, events, rows;
	unsigned long long bytes;
} result;

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int count_event(void *opaque, const cdc_update *u, const char *json, size_t len)
{
	unsigned long long *sink = opaque;

	(void)u;
	*sink += len + (unsigned char)json[len / 2];
	return 0;
}

/* One pass over every file at the given depth (0 container, 1 decode, 2 events). */
static int pass(char **files, int n, int depth, const cdc_schema *schema, result *r)
{
	char err[CDC_ERRSTR_SIZE];
	cdc_decoder *dec = cdc_decoder_new(schema);
	cdc_eventer *ev = cdc_eventer_new();
	cdc_event_source src = { NULL, 0, 0, 7, NULL };
	unsigned long long sink = 0;
	double t0 = cpu_now();
	int i;

	memset(r, 0, sizeof(*r));
	if (dec)
		cdc_decoder_skip_non_cdc(dec, 1); /* as replay and run */
	for (i = 0; i < n; i++) {
		cdc_segment *s;
		cdc_item it;

		if (cdc_segment_open(&s, files[i], err, sizeof(err)) != 0) {
			fprintf(stderr, "bench: %s\n", err);
			return -1;
		}
		src.segment_id = cdc_segment_descriptor(s)->id;
		while (cdc_segment_next(s, &it, err, sizeof(err)) == 1) {
			cdc_mutation m;
			int rc, k;

			if (it.kind != CDC_ITEM_ENTRY)
				continue;
			r->entries++;
			r->bytes += it.entry.size;
			if (depth < 1)
				continue;
			rc = cdc_decode(dec, it.entry.body, it.entry.size,
					cdc_segment_descriptor(s)->messaging_version, &m, err, sizeof(err));
			if (rc != 0)
				continue;
			for (k = 0; k < (int)m.nupdates; k++)
				r->rows += m.updates[k].nrows + m.updates[k].nrt / 2 +
					   (m.updates[k].pdel.ts != CDC_TS_NONE);
			if (depth < 2)
				continue;
			src.entry_offset = it.entry.offset;
			rc = cdc_events_emit(ev, &m, &src, count_event, &sink, err, sizeof(err));
			if (rc > 0)
				r->events += (unsigned long)rc;
		}
		cdc_segment_destroy(s);
	}
	r->cpu = cpu_now() - t0;
	cdc_decoder_destroy(dec);
	cdc_eventer_destroy(ev);
	return sink == 1 ? 1 : 0; /* keeps the events from being optimised away */
}

int main(int argc, char **argv)
{
	static const char *names[] = { "container", "decode", "events" };
	const char *schema_path = NULL;
	char err[CDC_ERRSTR_SIZE];
	cdc_schema *schema;
	int passes = 3, c, depth, p, only = -1;

	while ((c = getopt(argc, argv, "s:p:l:")) != -1) {
		if (c == 's')
			schema_path = optarg;
		else if (c == 'l')
			only = atoi(optarg);
		else if (c == 'p')
			passes = atoi(optarg);
		else
			return 2;
	}
	if (!schema_path || optind >= argc) {
		fputs("usage: bench -s SCHEMA.json [-p PASSES] [-l LAYER] SEGMENT...\n", stderr);
		return 2;
	}
	schema = cdc_schema_new();
	if (cdc_schema_load_file(schema, schema_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench: %s\n", err);
		return 1;
	}
	for (depth = 0; depth < 3; depth++) {
		result best = { 0 }, r;

		if (only >= 0 && depth != only)
			continue;
		for (p = 0; p < passes; p++) {
			if (pass(argv + optind, argc - optind, depth, schema, &r) < 0)
				return 1;
			if (p == 0 || r.cpu < best.cpu)
				best = r;
		}
		printf("cdctail %-9s cpu=%.3fs entries=%lu rows=%lu events=%lu entry_MB=%.1f entries/s=%.0f MB/s=%.1f\n",
		       names[depth], best.cpu, best.entries, best.rows, best.events, best.bytes / 1e6,
		       best.entries / best.cpu, best.bytes / 1e6 / best.cpu);
		fflush(stdout);
	}
	cdc_schema_destroy(schema);
	return 0;
}
