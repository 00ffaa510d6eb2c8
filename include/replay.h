/* replay.h - `cdctail replay`: one pass over archived segments (files or
 * directories), decoding every entry into events written as JSON lines. */
#ifndef CDCTAIL_REPLAY_H
#define CDCTAIL_REPLAY_H

#include <stdio.h>

#include "schema.h"

typedef struct cdc_replay_opts {
	const cdc_schema *schema;
	FILE *out;               /* JSON lines go here */
	const char *node;        /* source.node in events, or NULL */
	int ignore_index;        /* read past a live segment's _cdc.idx offset */
	int trigger_format;      /* the seed trigger's JSON shape instead of docs/events.md */
	const char *const *kafka_props; /* "key=value" for librdkafka; NULL: write to out */
	const char *topic_template;     /* "{prefix}.{keyspace}.{table}" */
	const char *topic_prefix;       /* "cdctail" */
	const char *const *only;        /* "ks" or "ks.table" names to keep; NULL: all */
	int has_since, has_until;
	int64_t since, until;           /* when set: keep events with since <= ts < until */
	int progress;                   /* progress lines on stderr (a terminal) */
	int skipped_only;               /* only the entries listed in <segment>.skipped
					 * (quarantine.h) next to each segment */
	size_t max_in_flight;           /* Kafka: messages not yet acknowledged (0: 10000) */
	size_t max_in_flight_bytes;     /* Kafka: their payload + key bytes (0: 16 MiB) */
} cdc_replay_opts;

#define CDC_REPLAY_MAX_IN_FLIGHT 10000
#define CDC_REPLAY_MAX_IN_FLIGHT_BYTES (16u << 20)

typedef struct cdc_replay_stats {
	unsigned long segments, entries, events, unknown_table_entries, faults;
	unsigned long delivered, delivery_failures; /* Kafka acknowledgements */
	unsigned long filtered;         /* events left out by only/since/until */
	unsigned long long bytes;       /* segment bytes read */
} cdc_replay_stats;

/* Replays the segments named by paths (files, or directories whose
 * CommitLog-*.log files are taken), in segment id order. Faults (unreadable
 * files, bad entries, entries the schema file is too old for: a column or
 * UDT field it lacks, or, when the file lists Cassandra's own tables, a
 * table it lacks) are reported on stderr with file and offset, counted and
 * skipped. The cdc flag of each table follows the schema changes in the
 * segments (schema_track.h). Returns 0, or -1 when the output could not be
 * written. */
int cdc_replay(const cdc_replay_opts *o, char *const *paths, int npaths, cdc_replay_stats *st,
	       char *errstr, size_t errlen);

#endif
