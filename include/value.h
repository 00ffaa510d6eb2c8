/* value.h - serialized Cassandra values rendered exactly, as JSON values and
 * as CQL literals, straight into a cdc_buf (docs/values.md).
 *
 * Input is the value as its AbstractType serializes it (cell values, key
 * components, clustering values, frozen collection elements). Malformed bytes
 * give -1 with errstr naming the type and byte offset; nothing is read past n. */
#ifndef CDCTAIL_VALUE_H
#define CDCTAIL_VALUE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "schema.h"

typedef enum {
	CDC_RENDER_JSON,      /* a JSON value */
	CDC_RENDER_CQL,       /* a CQL literal */
	CDC_RENDER_CQL_JSON,  /* a CQL literal escaped for the inside of a JSON string */
} cdc_render;

#define CDC_VALUE_STALE_SCHEMA (-2) /* cdc_value_render: a UDT value with more
					* fields than its type: a newer schema has them */

/* Appends the value v[0..n) of type t. A zero-length value of a type that is
 * not a string or blob renders as JSON null / CQL `null`. Returns 0, -1
 * with errstr for a malformed value, or CDC_VALUE_STALE_SCHEMA (errstr
 * names the type); nothing is appended on failure. */
int cdc_value_render(cdc_buf *out, cdc_render how, const cdc_type *t, const uint8_t *v, size_t n,
		     char *errstr, size_t errlen);


#endif
