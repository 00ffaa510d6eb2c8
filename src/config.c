/* config.c - the `key = value` configuration file. */
#include "config.h"
#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct kv {
	char *key, *value, *joined; /* joined: "key-without-kafka.=value" */
} kv;

struct cdc_config {
	kv *v;
	size_t n, cap;
};

cdc_config *cdc_config_new(void)
{
	return calloc(1, sizeof(cdc_config));
}

void cdc_config_destroy(cdc_config *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n; i++) {
		free(c->v[i].key);
		free(c->v[i].value);
		free(c->v[i].joined);
	}
	free(c->v);
	free(c);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* Stores key = value, replacing an earlier value of the same key. */
static int put(cdc_config *c, const char *key, const char *value)
{
	size_t i, kl = strlen(key), vl = strlen(value);
	kv *slot = NULL;
	char *k, *v, *j;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i].key, key) == 0)
			slot = &c->v[i];
	if (!slot && c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 32;
		kv *nv = realloc(c->v, cap * sizeof(*nv));

		if (!nv)
			return -1;
		c->v = nv;
		c->cap = cap;
	}
	k = strdup(key);
	v = strdup(value);
	j = malloc(kl + vl + 2);
	if (!k || !v || !j) {
		free(k), free(v), free(j);
		return -1;
	}
	snprintf(j, kl + vl + 2, "%s=%s", strncmp(key, "kafka.", 6) == 0 ? key + 6 : key, value);
	if (slot) {
		free(slot->key), free(slot->value), free(slot->joined);
	} else {
		slot = &c->v[c->n++];
	}
	slot->key = k;
	slot->value = v;
	slot->joined = j;
	return 0;
}

/* Splits one "key = value" line; where names the file and line for errors. */
static int parse_line(cdc_config *c, char *line, const char *where, char *errstr, size_t errlen)
{
	char *eq, *key, *value;

	line = trim(line);
	if (!*line || *line == '#')
		return 0;
	eq = strchr(line, '=');
	if (!eq)
		return cdc_error(errstr, errlen, "%s: expected key = value, got '%.80s'", where, line);
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	if (!*key)
		return cdc_error(errstr, errlen, "%s: empty key", where);
	if (put(c, key, value) != 0)
		return cdc_error(errstr, errlen, "%s: out of memory", where);
	return 0;
}

int cdc_config_load(cdc_config *c, const char *path, char *errstr, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char line[4096], where[512];
	int no = 0;

	if (!f)
		return cdc_error(errstr, errlen, "%s: %s", path, strerror(errno));
	while (fgets(line, sizeof(line), f)) {
		no++;
		snprintf(where, sizeof(where), "%s:%d", path, no);
		if (!strchr(line, '\n') && !feof(f)) {
			fclose(f);
			return cdc_error(errstr, errlen, "%s: line longer than %zu bytes", where, sizeof(line) - 1);
		}
		if (parse_line(c, line, where, errstr, errlen) != 0) {
			fclose(f);
			return -1;
		}
	}
	if (ferror(f)) {
		fclose(f);
		return cdc_error(errstr, errlen, "%s: read error", path);
	}
	fclose(f);
	return 0;
}

int cdc_config_load_mem(cdc_config *c, const char *text, size_t len, const char *name, char *errstr,
			size_t errlen)
{
	char line[4096], where[512];
	size_t off = 0;
	int no = 0;

	while (off < len) {
		const char *nl = memchr(text + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (text + off)) : len - off;

		no++;
		snprintf(where, sizeof(where), "%s:%d", name, no);
		if (n >= sizeof(line))
			return cdc_error(errstr, errlen, "%s: line longer than %zu bytes", where, sizeof(line) - 1);
		if (memchr(text + off, '\0', n))
			return cdc_error(errstr, errlen, "%s: NUL byte", where);
		memcpy(line, text + off, n);
		line[n] = '\0';
		if (parse_line(c, line, where, errstr, errlen) != 0)
			return -1;
		off += n + (nl != NULL);
	}
	return 0;
}

int cdc_config_set(cdc_config *c, const char *kvtext, char *errstr, size_t errlen)
{
	char line[4096];

	if (strlen(kvtext) >= sizeof(line))
		return cdc_error(errstr, errlen, "--set: too long");
	snprintf(line, sizeof(line), "%s", kvtext);
	return parse_line(c, line, "--set", errstr, errlen);
}

const char *cdc_config_get(const cdc_config *c, const char *key, const char *def)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i].key, key) == 0)
			return c->v[i].value;
	return def;
}

int cdc_config_get_num(const cdc_config *c, const char *key, long long def, int is_time,
		       long long *out, char *errstr, size_t errlen)
{
	const char *s = cdc_config_get(c, key, NULL);
	long long v, mul = 1;
	char *end;

	if (!s || !*s) {
		*out = def;
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return cdc_error(errstr, errlen, "%s = %s: not a non-negative number", key, s);
	while (*end == ' ')
		end++;
	if (is_time) {
		if (!*end || strcmp(end, "ms") == 0) mul = 1;
		else if (strcmp(end, "s") == 0) mul = 1000;
		else if (strcmp(end, "m") == 0) mul = 60000;
		else if (strcmp(end, "h") == 0) mul = 3600000;
		else if (strcmp(end, "d") == 0) mul = 86400000;
		else return cdc_error(errstr, errlen, "%s = %s: unit is ms, s, m, h or d", key, s);
	} else {
		if (!*end) mul = 1;
		else if (strcmp(end, "K") == 0 || strcmp(end, "KiB") == 0) mul = 1LL << 10;
		else if (strcmp(end, "M") == 0 || strcmp(end, "MiB") == 0) mul = 1LL << 20;
		else if (strcmp(end, "G") == 0 || strcmp(end, "GiB") == 0) mul = 1LL << 30;
		else return cdc_error(errstr, errlen, "%s = %s: unit is K, M or G", key, s);
	}
	if (v > (1LL << 62) / mul)
		return cdc_error(errstr, errlen, "%s = %s: too large", key, s);
	*out = v * mul;
	return 0;
}

int cdc_config_kafka_props(const cdc_config *c, const char **props, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < c->n; i++) {
		if (strncmp(c->v[i].key, "kafka.", 6) != 0)
			continue;
		if (n + 1 >= max)
			return -1;
		props[n++] = c->v[i].joined;
	}
	props[n] = NULL;
	return (int)n;
}

int cdc_config_check(const cdc_config *c, const char *const *known, char *errstr, size_t errlen)
{
	size_t i, k;

	for (i = 0; i < c->n; i++) {
		int ok = strncmp(c->v[i].key, "kafka.", 6) == 0 && c->v[i].key[6];

		for (k = 0; !ok && known[k]; k++)
			ok = strcmp(known[k], c->v[i].key) == 0;
		if (!ok)
			return cdc_error(errstr, errlen, "unknown configuration key '%s' (see docs/run.md)", c->v[i].key);
	}
	return 0;
}

/* Case-insensitive equality of two NUL-terminated strings. */
static int same(const char *a, const char *b)
{
	while (*a && tolower((unsigned char)*a) == tolower((unsigned char)*b))
		a++, b++;
	return tolower((unsigned char)*a) == tolower((unsigned char)*b);
}

int cdc_config_check_kafka(const cdc_config *c, char *errstr, size_t errlen)
{
	static const char *const acks_keys[] = { "kafka.acks", "kafka.request.required.acks", NULL };
	const char *unsafe = cdc_config_get(c, "allow_unsafe_kafka", "false"), *v;
	int i;

	if (strcmp(unsafe, "true") == 0)
		return 0;
	if (strcmp(unsafe, "false") != 0)
		return cdc_error(errstr, errlen, "allow_unsafe_kafka = %s: true or false", unsafe);
	for (i = 0; acks_keys[i]; i++) {
		v = cdc_config_get(c, acks_keys[i], NULL);
		if (v && !same(v, "all") && strcmp(v, "-1") != 0)
			return cdc_error(errstr, errlen,
					 "%s = %s: only all (-1) is at-least-once (a message acknowledged by fewer "
					 "replicas can be lost with its leader); set allow_unsafe_kafka = true to accept that",
					 acks_keys[i], v);
	}
	v = cdc_config_get(c, "kafka.enable.idempotence", NULL);
	if (v && !same(v, "true") && !same(v, "t") && strcmp(v, "1") != 0)
		return cdc_error(errstr, errlen,
				 "kafka.enable.idempotence = %s: without the idempotent producer a retry can reorder "
				 "a partition key's changes; set allow_unsafe_kafka = true to accept that", v);
	return 0;
}

/* A true/false key: 0 and *out (def when unset), or -1 with errstr. */
static int get_bool(const cdc_config *c, const char *key, int def, int *out, char *errstr, size_t errlen)
{
	const char *v = cdc_config_get(c, key, NULL);

	if (!v)
		*out = def;
	else if (strcmp(v, "true") == 0)
		*out = 1;
	else if (strcmp(v, "false") == 0)
		*out = 0;
	else
		return cdc_error(errstr, errlen, "%s = %s: true or false", key, v);
	return 0;
}

/* Reads PREFIX (true/false) and PREFIX.ca_file, .cert_file, .key_file,
 * .server_name, .verify_host into o; the strings live as long as c. With
 * TLS on, the files are checked as cdc_tls_check() does. */
int cdc_config_get_tls(const cdc_config *c, const char *prefix, cdc_tls_opts *o, char *errstr, size_t errlen)
{
	static const char *const sub[] = { "ca_file", "cert_file", "key_file", "server_name" };
	const char **dst[4];
	char key[256];
	int i, verify;

	memset(o, 0, sizeof(*o));
	dst[0] = &o->ca_file;
	dst[1] = &o->cert_file;
	dst[2] = &o->key_file;
	dst[3] = &o->server_name;
	if (get_bool(c, prefix, 0, &o->enabled, errstr, errlen) != 0)
		return -1;
	for (i = 0; i < 4; i++) {
		snprintf(key, sizeof(key), "%s.%s", prefix, sub[i]);
		*dst[i] = cdc_config_get(c, key, NULL);
		if (*dst[i] && !o->enabled)
			return cdc_error(errstr, errlen, "%s is set but %s is not true", key, prefix);
	}
	snprintf(key, sizeof(key), "%s.verify_host", prefix);
	if (get_bool(c, key, 1, &verify, errstr, errlen) != 0)
		return -1;
	o->no_verify_host = !verify;
	if (!o->enabled)
		return 0;
	if (cdc_tls_check(o, errstr, errlen) != 0) {
		char tmp[CDC_ERRSTR_SIZE];

		snprintf(tmp, sizeof(tmp), "%s", errstr);
		return cdc_error(errstr, errlen, "%s: %s", prefix, tmp);
	}
	return 0;
}
