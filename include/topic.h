/* topic.h - Kafka topic names from a template: {prefix}, {keyspace} and
 * {table} are replaced, everything else is kept (docs/events.md, "In
 * Kafka"). Shared by `run` and `replay`. */
#ifndef CDCTAIL_TOPIC_H
#define CDCTAIL_TOPIC_H

#include <stddef.h>

#define CDC_TOPIC_TEMPLATE "{prefix}.{keyspace}.{table}"
#define CDC_TOPIC_PREFIX "cdctail"

/* Fills out (n bytes, n > 0; a longer name is cut) with the topic of
 * keyspace.table; tmpl and prefix NULL mean the defaults above. Returns out. */
const char *cdc_topic_format(const char *tmpl, const char *prefix, const char *keyspace, const char *table,
			     char *out, size_t n);

#endif
