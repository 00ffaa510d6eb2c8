/* topic.c - topic templates. */
#include "topic.h"

#include <stdio.h>
#include <string.h>

const char *cdc_topic_format(const char *tmpl, const char *prefix, const char *keyspace, const char *table,
			     char *out, size_t n)
{
	const char *p = tmpl ? tmpl : CDC_TOPIC_TEMPLATE;
	size_t len = 0;

	while (*p && len + 1 < n) {
		const char *v = NULL;
		size_t skip = 0;

		if (strncmp(p, "{prefix}", 8) == 0)
			v = prefix ? prefix : CDC_TOPIC_PREFIX, skip = 8;
		else if (strncmp(p, "{keyspace}", 10) == 0)
			v = keyspace, skip = 10;
		else if (strncmp(p, "{table}", 7) == 0)
			v = table, skip = 7;
		if (v) {
			len += (size_t)snprintf(out + len, n - len, "%s", v);
			if (len >= n)
				len = n - 1;
			p += skip;
		} else {
			out[len++] = *p++;
		}
	}
	out[len] = '\0';
	return out;
}
