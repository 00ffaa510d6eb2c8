/* settings.h - `cdctail run`'s configuration keys (docs/run.md), read and
 * checked out of a cdc_config once, into plain values.
 *
 * Ownership: the strings point into the cdc_config (or into the settings'
 * own buffers) and live as long as both. */
#ifndef CDCTAIL_SETTINGS_H
#define CDCTAIL_SETTINGS_H

#include "config.h"
#include "tls.h"

typedef struct cdc_settings {
	const char *cdc_raw, *state_dir, *schema, *host, *user, *password_file, *node, *output;
	const char *topic_template, *topic_prefix, *metrics_file, *archive_dir, *quarantine_dir;
	const char *log_file;
	const char *cassandra_yaml; /* cassandra.config: the node's cassandra.yaml (cdc_total_space), or NULL */
	long long cdc_total_space; /* cdc_total_space: the cap when no cassandra.yaml is named (0: not set) */
	const char *metrics_listen; /* metrics.listen as given (checked), NULL: no HTTP */
	char quarantine_buf[4096], node_buf[256];
	long long port, max_in_flight, checkpoint_ms, rescan_ms, metrics_ms, shutdown_ms;
	long long schema_refresh_ms; /* schema_refresh_interval: between two reads of the node's schema */
	long long read_ahead_ms;  /* read_ahead_interval: how often a live segment is looked at */
	long long max_in_flight_bytes; /* payload + key bytes outstanding before reading pauses */
	int read_ahead;           /* read entries before the sync that covers them */
	int trigger;             /* format = trigger */
	int delete_consumed;
	int kafka;               /* kafka.bootstrap.servers is set */
	int orphan_timeout_set;  /* the retired key was given (warned about) */
	int live_schema;         /* schema = live */
	cdc_tls_opts tls;        /* cassandra.tls*: how the schema is read over CQL */
	const char *props[130];  /* kafka.* as "k=v", NULL-terminated */
	int nprops;
} cdc_settings;

/* The keys `run` knows besides kafka.*, NULL-terminated. */
extern const char *const cdc_settings_keys[];

/* Reads and checks every key of c into s (defaults for the unset ones):
 * unknown keys, malformed values and unsafe Kafka settings are refused.
 * Returns 0, or -1 with errstr naming the key. */
int cdc_settings_load(cdc_settings *s, const cdc_config *c, char *errstr, size_t errlen);

#endif
