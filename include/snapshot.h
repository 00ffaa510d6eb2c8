/* snapshot.h - `cdctail snapshot`: reads tables of a live node through CQL,
 * token range by token range, and writes one event per row (the static row
 * of a partition apart) in the format of the change events, marked
 * source.snapshot, to Kafka or as JSON lines (docs/snapshot.md).
 *
 * Resumable: with a state file, each token range is recorded once all of
 * its events are delivered (Kafka acknowledged them, or the output file is
 * fsync'd), so a snapshot killed at any moment starts again at the first
 * range not recorded; only that range's events can then be delivered twice
 * (with --output FILE not even those: the file is cut back to the recorded
 * length). Memory is bounded by the page size, one row, and the messages in
 * flight, whatever the table's size. */
#ifndef CDCTAIL_SNAPSHOT_H
#define CDCTAIL_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "tls.h"

typedef struct cdc_snapshot_opts {
	const char *host;                /* the node (default 127.0.0.1) */
	int port;                        /* 9042 */
	const char *user, *password;     /* NULL: no authenticator */
	const cdc_tls_opts *tls;         /* NULL or !enabled: plain TCP */
	int timeout_ms;                  /* each CQL request (0: 10 s) */
	const char *const *tables;       /* "ks.table", NULL-terminated, or NULL */
	const char *const *keyspaces;    /* every table of each, or NULL */
	const char *state_path;          /* NULL: not resumable */
	const char *output;              /* JSON lines file; NULL: stdout */
	const char *const *kafka_props;  /* "key=value" for librdkafka; NULL: JSON lines */
	const char *topic_template;      /* NULL: {prefix}.{keyspace}.{table} */
	const char *topic_prefix;        /* NULL: cdctail */
	const char *node;                /* source.node; NULL: host */
	int ranges;                      /* token ranges per table (0: 256) */
	int page_size;                   /* rows per CQL page (0: 1000) */
	int consistency;                 /* of the reads (cql.h codes); -1: LOCAL_QUORUM */
	int progress;                    /* a progress line on stderr */
	size_t max_in_flight;            /* Kafka: unacknowledged messages (0: 10000) */
	size_t max_in_flight_bytes;      /* ... and their bytes (0: 16 MiB) */
} cdc_snapshot_opts;

#define CDC_SNAPSHOT_RANGES 256
#define CDC_SNAPSHOT_MAX_RANGES (1 << 20)

typedef struct cdc_snapshot_stats {
	int64_t start_us;        /* the snapshot's start time (µs) */
	int resumed;             /* start_us came from the state file */
	unsigned long tables, ranges, rows, events;
	unsigned long delivered, delivery_failures; /* Kafka acknowledgements */
} cdc_snapshot_stats;

/* Runs the snapshot. The start time is printed on stderr and saved in the
 * state file before the first row is read. 0 when every table was read and
 * every event delivered; -1 with errstr (the node unreachable, an unknown
 * keyspace or table, a partitioner other than Murmur3, a failed query or
 * delivery, a state file that does not load): what was recorded stays
 * recorded. */
int cdc_snapshot(const cdc_snapshot_opts *o, cdc_snapshot_stats *st, char *errstr, size_t errlen);

/* The token range boundaries: the i-th of n (0 <= i <= n) splits Murmur3's
 * ring (INT64_MIN, INT64_MAX] into n ranges of equal width; boundary 0 is
 * INT64_MIN (no key has that token), boundary n is INT64_MAX. */
int64_t cdc_snapshot_boundary(int i, int n);

/* `cdctail snapshot ...` (argv[0] = "snapshot"): the exit code (0 done, 1
 * failed, 2 usage). */
int cdc_snapshot_main(int argc, char **argv);

#endif
