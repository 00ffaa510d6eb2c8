#include "cdcspace.h"
#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#define MIB (1024ULL * 1024)

/* The value of a line "key: value" whose key starts at column 0, without
 * quotes, comment and surrounding blanks, copied into out (NUL-ended).
 * 1 when the line sets key, 0 otherwise. */
static int line_value(const char *p, size_t n, const char *key, char *out, size_t outlen)
{
	size_t k = strlen(key), i, j;
	char q = 0;

	if (n <= k || memcmp(p, key, k) != 0)
		return 0;
	i = k;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i >= n || p[i] != ':')
		return 0;
	i++;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	if (i < n && (p[i] == '"' || p[i] == '\''))
		q = p[i++];
	for (j = 0; i < n && j + 1 < outlen; i++) {
		if (q ? p[i] == q : p[i] == '#')
			break;
		out[j++] = p[i];
	}
	while (j > 0 && isspace((unsigned char)out[j - 1]))
		j--;
	out[j] = '\0';
	return 1;
}

/* "N<unit>" with Cassandra's units (DataStorageSpec) into bytes; unit ""
 * only when dflt_mult is not 0 (the _in_mb key). 0, or -1. */
static int parse_size(const char *v, uint64_t dflt_mult, uint64_t *bytes)
{
	static const struct { const char *unit; uint64_t mult; } units[] = {
		{ "B", 1 }, { "KiB", 1024 }, { "MiB", MIB }, { "GiB", 1024 * MIB },
	};
	uint64_t n = 0, mult = 0;
	const char *p = v;
	size_t i;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (n > (UINT64_MAX - 9) / 10)
			return -1;
		n = n * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '\0')
		mult = dflt_mult;
	else
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (!dflt_mult && strcmp(p, units[i].unit) == 0)
				mult = units[i].mult;
	if (!mult || (n && n > UINT64_MAX / mult))
		return -1;
	*bytes = n * mult;
	return 0;
}

int cdc_space_parse_yaml(const char *text, size_t len, uint64_t *bytes, char *errstr, size_t errlen)
{
	static const struct { const char *key; uint64_t mult; } keys[] = {
		{ "cdc_total_space", 0 }, { "cdc_total_space_in_mb", MIB },
	};
	const char *p = text, *end = text + len;
	unsigned long line = 0;
	int found = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p), k;
		char v[64];

		line++;
		for (k = 0; k < 2; k++) {
			if (!line_value(p, n, keys[k].key, v, sizeof(v)))
				continue;
			if (v[0] == '\0' || strcmp(v, "null") == 0 || strcmp(v, "~") == 0)
				continue; /* unset: the default, unless another line sets it */
			if (parse_size(v, keys[k].mult, bytes) != 0)
				return cdc_error(errstr, errlen, "line %lu: %s: %s is not a size Cassandra accepts%s", line,
						 keys[k].key, v, keys[k].mult ? " (a number of MiB)" : " (N followed by B, KiB, MiB or GiB)");
			found = *bytes != 0; /* a later line wins, as in YAML; 0 is Cassandra's "default" */
		}
		p = nl ? nl + 1 : end;
	}
	return found ? 0 : 1;
}

int cdc_space_default(const char *dir, uint64_t *bytes, char *errstr, size_t errlen)
{
	struct statvfs st;
	uint64_t eighth;

	if (statvfs(dir, &st) != 0)
		return cdc_error(errstr, errlen, "%s: %s", dir, strerror(errno));
	eighth = (uint64_t)st.f_blocks * st.f_frsize / 8;
	*bytes = eighth < 4096 * MIB ? eighth / MIB * MIB : 4096 * MIB;
	return 0;
}

int cdc_space_cap(const char *yaml_path, long long cfg_bytes, const char *cdc_raw, uint64_t *bytes,
		  const char **from, char *errstr, size_t errlen)
{
	char err[CDC_ERRSTR_SIZE];
	FILE *f;
	char *text;
	long n = 0;
	int r;

	if (!yaml_path) {
		if (cfg_bytes > 0) {
			*bytes = (uint64_t)cfg_bytes;
			*from = "cdc_total_space";
			return 0;
		}
		*from = "Cassandra's default";
		return cdc_space_default(cdc_raw, bytes, errstr, errlen);
	}
	if (!(f = fopen(yaml_path, "rb")))
		return cdc_error(errstr, errlen, "%s: %s", yaml_path, strerror(errno));
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0 ||
	    !(text = malloc((size_t)n + 1))) {
		fclose(f);
		return cdc_error(errstr, errlen, "%s: cannot read: %s", yaml_path, strerror(errno));
	}
	if (fread(text, 1, (size_t)n, f) != (size_t)n) {
		free(text);
		fclose(f);
		return cdc_error(errstr, errlen, "%s: cannot read: %s", yaml_path, strerror(errno));
	}
	fclose(f);
	r = cdc_space_parse_yaml(text, (size_t)n, bytes, err, sizeof(err));
	free(text);
	if (r < 0)
		return cdc_error(errstr, errlen, "%s: %s", yaml_path, err);
	if (r == 1) {
		*from = "Cassandra's default (cassandra.yaml sets none)";
		return cdc_space_default(cdc_raw, bytes, errstr, errlen);
	}
	*from = "cassandra.yaml";
	return 0;
}
