/* relay.h - `cdctail relay`: copies events from one set of Kafka topics
 * (the temporary topics `cdctail run` filled while a snapshot was taken) to
 * another (the topics that become the source of truth), keeping each
 * message's key and value and the order within each partition, optionally
 * only events written at or after a time, and optionally passing each
 * change once (--dedup) or once N replicas' copies were read (--min-copies).
 *
 * Delivery is at least once: a batch of messages is read and its copies
 * produced (idempotent producer, acks=all); when every copy of the batch is
 * acknowledged, the id store is synced, the dead letters are synced, and
 * only then are the consumer group's offsets committed. A crash anywhere
 * loses nothing: what was not committed is read and copied again (a copy
 * may then appear twice in the output). docs/relay.md has the operator's
 * view. */
#ifndef CDCTAIL_RELAY_H
#define CDCTAIL_RELAY_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define CDC_RELAY_GROUP "cdctail-relay"
#define CDC_RELAY_BATCH 10000            /* messages per commit at most */
#define CDC_RELAY_COMMIT_MS 1000         /* ... and at least once a second */
#define CDC_RELAY_STATE_MAX_BYTES (16ULL << 30) /* the id store's address space (the file grows as used) */

typedef struct cdc_relay_opts {
	const char *const *props;            /* "key=value" for both clients (bootstrap.servers, TLS, ...) */
	const char *const *consumer_props;   /* ... for the consumer only */
	const char *const *producer_props;   /* ... for the producer only */
	const char *from, *to;               /* topic templates ({keyspace}, {table}, {prefix}) */
	const char *group;                   /* consumer group (NULL: CDC_RELAY_GROUP) */
	const char *state_dir;               /* ids (idstore) and dead-letter.jsonl */
	int has_since;
	int64_t since;                       /* events with ts < since are not copied */
	unsigned min_copies;                 /* 0 copy all, 1 --dedup, N >= 2 --min-copies N */
	int64_t window_us;                   /* how long ids are remembered (0: the store's default) */
	uint64_t state_max_bytes;            /* the id store's limit (0: CDC_RELAY_STATE_MAX_BYTES) */
	int once;                            /* stop when every assigned partition is read to its end */
	int idle_exit_s;                     /* > 0: stop after that long without a message */
	size_t batch_max;                    /* 0: CDC_RELAY_BATCH */
	int commit_ms;                       /* 0: CDC_RELAY_COMMIT_MS */
	volatile sig_atomic_t *stop;         /* set (by a signal handler) to stop cleanly */
} cdc_relay_opts;

typedef struct cdc_relay_stats {
	uint64_t read;          /* messages consumed */
	uint64_t copied;        /* copies acknowledged by Kafka */
	uint64_t before_since;  /* events older than --since, not copied */
	uint64_t duplicates;    /* copies already counted (--dedup: ids already passed) */
	uint64_t waiting;       /* --min-copies: copies read before the N-th */
	uint64_t surplus;       /* --min-copies: copies after the N-th */
	uint64_t dead;          /* messages written to the dead-letter file */
	uint64_t unconfirmed;   /* --min-copies: changes that left the id window short of N copies */
	uint64_t commits;       /* offset commits */
	uint64_t retries;       /* batches read again after a failed delivery */
} cdc_relay_stats;

/* The POSIX extended regex (anchored) of the topics tmpl names: the
 * placeholders match a Cassandra name, the rest is literal. 0 and out, or -1
 * with errstr (a character not allowed in topic names, an unknown {...}). */
int cdc_relay_topic_regex(const char *tmpl, char *out, size_t n, char *errstr, size_t errlen);

/* Runs the relay until *o->stop, --once or --idle-exit: 0 when it stopped
 * cleanly (everything read was copied and committed), -1 with errstr on a
 * fatal error (what was not committed is read again next time). *st is
 * filled either way. */
int cdc_relay(const cdc_relay_opts *o, cdc_relay_stats *st, char *errstr, size_t errlen);

/* `cdctail relay ...` (argv[0] is "relay"): the exit code, 0 stopped
 * cleanly, 1 fatal error, 2 usage. Never calls exit(). */
int cdc_relay_main(int argc, char **argv);

#endif
