/* relay_event.c - the fields `cdctail relay` needs of an event, read with
 * cJSON (an event is a few hundred bytes; the tree is freed at once). */
#include "relay_event.h"
#include "err.h"

#include <cJSON.h>
#include <math.h>
#include <string.h>

/* Copies the string member name of obj into out (max bytes at most): 0, 1
 * when absent and optional, or -1 with errstr. */
static int get_str(const cJSON *obj, const char *name, int optional, char *out, size_t max, size_t *lenp,
		   char *errstr, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	size_t n;

	if (!v && optional)
		return 1;
	if (!cJSON_IsString(v) || !v->valuestring)
		return cdc_error(errstr, errlen, "not an event: no string \"%s\"", name);
	n = strlen(v->valuestring);
	if (n == 0 || n > max)
		return cdc_error(errstr, errlen, "not an event: \"%s\" of %zu bytes (1 to %zu allowed)", name, n, max);
	memcpy(out, v->valuestring, n + 1);
	if (lenp)
		*lenp = n;
	return 0;
}

/* Whether s is a Cassandra name: letters, digits, underscores. */
static int cassandra_name(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return 0;
	return 1;
}

/* The fields, from the parsed tree: 0, or -1 with errstr. */
static int fields(const cJSON *root, cdc_relay_event *ev, char *errstr, size_t errlen)
{
	const cJSON *ts, *src;

	if (!cJSON_IsObject(root))
		return cdc_error(errstr, errlen, "not an event: not a JSON object");
	if (get_str(root, "id", 0, ev->id, CDC_RELAY_ID_MAX, &ev->idlen, errstr, errlen) != 0 ||
	    get_str(root, "keyspace", 0, ev->keyspace, CDC_RELAY_NAME_MAX, NULL, errstr, errlen) != 0 ||
	    get_str(root, "table", 0, ev->table, CDC_RELAY_NAME_MAX, NULL, errstr, errlen) != 0)
		return -1;
	if (!cassandra_name(ev->keyspace) || !cassandra_name(ev->table))
		return cdc_error(errstr, errlen, "not an event: keyspace or table is not a Cassandra name");
	ts = cJSON_GetObjectItemCaseSensitive(root, "ts");
	/* µs since the epoch fit a double exactly up to 2^53 (year 2255) */
	if (!cJSON_IsNumber(ts) || ts->valuedouble != floor(ts->valuedouble) ||
	    fabs(ts->valuedouble) > 9007199254740992.0)
		return cdc_error(errstr, errlen, "not an event: no integer \"ts\"");
	ev->ts = (int64_t)ts->valuedouble;
	src = cJSON_GetObjectItemCaseSensitive(root, "source");
	if (src && cJSON_IsObject(src) &&
	    get_str(src, "node", 1, ev->node, CDC_RELAY_NAME_MAX, NULL, errstr, errlen) < 0)
		return -1;
	return 0;
}

int cdc_relay_event_parse(const char *p, size_t len, cdc_relay_event *ev, char *errstr, size_t errlen)
{
	const char *end = NULL;
	cJSON *root;
	int rc;

	memset(ev, 0, sizeof(*ev));
	if (!p || len == 0)
		return cdc_error(errstr, errlen, "not an event: empty message");
	root = cJSON_ParseWithLengthOpts(p, len, &end, 0);
	if (!root)
		return cdc_error(errstr, errlen, "not an event: not JSON");
	while (end && end < p + len && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t'))
		end++;
	if (end && end < p + len) {
		cJSON_Delete(root);
		return cdc_error(errstr, errlen, "not an event: bytes after the JSON value");
	}
	rc = fields(root, ev, errstr, errlen);
	cJSON_Delete(root);
	return rc;
}
