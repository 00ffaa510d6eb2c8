/* config.h - the service's configuration file: `key = value` lines, `#`
 * comments, as kcat's -F file and librdkafka's properties. Keys under
 * `kafka.` are handed to librdkafka without the prefix; the others are
 * cdctail's own (docs/run.md lists them). Unknown keys are refused so a typo
 * is not silently ignored. */
#ifndef CDCTAIL_CONFIG_H
#define CDCTAIL_CONFIG_H

#include <stddef.h>

#include "tls.h"

typedef struct cdc_config cdc_config;

cdc_config *cdc_config_new(void);
void cdc_config_destroy(cdc_config *c);

/* Reads path into c (later keys replace earlier ones). Returns 0, or -1 with
 * errstr naming the file and line. */
int cdc_config_load(cdc_config *c, const char *path, char *errstr, size_t errlen);

/* The same from text in memory; name is used in messages. */
int cdc_config_load_mem(cdc_config *c, const char *text, size_t len, const char *name, char *errstr,
			size_t errlen);

/* Sets one "key=value" (command-line overrides). 0, or -1 with errstr. */
int cdc_config_set(cdc_config *c, const char *kv, char *errstr, size_t errlen);

/* The value of key, or def when unset. */
const char *cdc_config_get(const cdc_config *c, const char *key, const char *def);

/* An integer value with an optional K/M/G (bytes) or ms/s/m/h suffix scaled
 * by `unit_ms` rules: for sizes pass is_time 0, for durations in
 * milliseconds pass is_time 1. 0, or -1 with errstr. */
int cdc_config_get_num(const cdc_config *c, const char *key, long long def, int is_time,
		       long long *out, char *errstr, size_t errlen);

/* Fills props (NULL-terminated, at most max-1 entries) with "k=v" for each
 * kafka.k = v; the strings live as long as c. Returns the count, -1 if too many. */
int cdc_config_kafka_props(const cdc_config *c, const char **props, size_t max);

/* Refuses keys that are neither in known (NULL-terminated) nor kafka.*:
 * 0, or -1 with errstr naming the first unknown key. */
int cdc_config_check(const cdc_config *c, const char *const *known, char *errstr, size_t errlen);

/* Refuses kafka.* settings that would give up the at-least-once and
 * per-key order guarantees cdctail's defaults (acks=all, the idempotent
 * producer) give: kafka.acks or kafka.request.required.acks other than all
 * or -1, kafka.enable.idempotence other than true; unless
 * allow_unsafe_kafka = true. 0, or -1 with errstr naming the key. */
int cdc_config_check_kafka(const cdc_config *c, char *errstr, size_t errlen);

/* The TLS settings under `prefix` (e.g. "cassandra.tls"):
 *   prefix              true | false (default false)
 *   prefix.ca_file      PEM CAs (default: the system's)
 *   prefix.cert_file    PEM client certificate (default: none)
 *   prefix.key_file     its unencrypted PEM key (default: in cert_file)
 *   prefix.server_name  the name the node's certificate must carry (default: the host)
 *   prefix.verify_host  true | false (default true)
 * A file key while prefix is not true is refused, as is an unreadable file
 * or a key that does not match its certificate. Fills o (strings owned by
 * c); 0, or -1 with errstr naming the key. */
int cdc_config_get_tls(const cdc_config *c, const char *prefix, cdc_tls_opts *o, char *errstr, size_t errlen);

#endif
