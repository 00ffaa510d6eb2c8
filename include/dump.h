/* dump.h - `cdctail dump`: a human-readable listing of segments, like
 * sstabledump or `kcat -L`: descriptor, sync sections, entries. */
#ifndef CDCTAIL_DUMP_H
#define CDCTAIL_DUMP_H

#include <stdio.h>

struct cdc_schema;

typedef struct cdc_dump_opts {
	const struct cdc_schema *schema; /* when set: decode each entry fully */
	int use_index;   /* stop at the offset in the segment's _cdc.idx, if any */
	int read_ahead;  /* with use_index: read ahead past it (no idx: limit 0) */
	int entries;     /* list entries (default) */
	int hex_bodies;  /* print each entry body in hex */
} cdc_dump_opts;

typedef struct cdc_dump_stats {
	unsigned long segments, sections, entries, errors;
} cdc_dump_stats;

/* Lists one segment file (or one `_cdc.idx`) on `out`; faults are listed
 * too, and also reported on `err`. Adds to *stats. Returns 0 when the file
 * read cleanly, 1 when it had recoverable faults, -1 when it could not be read
 * to its end. */
int cdc_dump_file(FILE *out, FILE *err, const char *path, const cdc_dump_opts *opts,
		  cdc_dump_stats *stats);

#endif
