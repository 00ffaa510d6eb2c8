/* mutation.c - commitlog entry bodies: serialized Mutations. */
#include "mutation.h"
#include "err.h"
#include "vint.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

int cdc_mutation_peek(const uint8_t *body, size_t len, int messaging_version,
		      cdc_mutation_head *out, char *errstr, size_t errlen)
{
	size_t off = 0, n;
	uint64_t v;

	(void)messaging_version; /* versions 10, 12 and 13 share this prefix */
	memset(out, 0, sizeof(*out));
	n = cdc_uvint(body, len, &v);
	if (n == 0)
		return cdc_error(errstr, errlen, "body offset 0: truncated update count");
	if (v == 0 || v > UINT32_MAX)
		return cdc_error(errstr, errlen, "body offset 0: update count %" PRIu64 " (expected 1 or more)", v);
	out->updates = (uint32_t)v;
	off += n;
	if (len - off < 16)
		return cdc_error(errstr, errlen, "body offset %zu: truncated table id", off);
	memcpy(out->table_id, body + off, 16);
	off += 16;
	n = cdc_uvint(body + off, len - off, &v);
	if (n == 0)
		return cdc_error(errstr, errlen, "body offset %zu: truncated partition key length", off);
	off += n;
	if (v > len - off)
		return cdc_error(errstr, errlen,
				 "body offset %zu: partition key of %" PRIu64 " bytes runs past the body (%zu left)",
				 off, v, len - off);
	out->key = body + off;
	out->key_len = (size_t)v;
	return 0;
}

void cdc_uuid_format(const uint8_t id[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	int i, o = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[id[i] >> 4];
		out[o++] = hex[id[i] & 15];
	}
	out[o] = '\0';
}
