/* jsonv.h - a small JSON reader for event lines (`cdctail apply`): the whole
 * text parsed into one flat array of nodes, strings decoded with their
 * length (a U+0000 inside stays), numbers kept as the text they were
 * written with (a bigint or a microsecond timestamp never goes through a
 * double). cJSON, used for configuration and schema files, turns every
 * number into a double, which loses digits past 2^53.
 *
 * Limits: nesting at most CDC_JV_MAX_DEPTH, text at most 64 MiB. Strings must
 * be valid UTF-8 (escapes included: a lone surrogate is an error). Duplicate
 * object keys are kept; cdc_jv_get finds the first.
 *
 * Ownership: the document owns every node and string; they stay valid until
 * the next cdc_jv_parse on it or cdc_jv_free. */
#ifndef CDCTAIL_JSONV_H
#define CDCTAIL_JSONV_H

#include <stddef.h>
#include <stdint.h>

#define CDC_JV_MAX_DEPTH 64

typedef enum {
	CDC_JV_NULL, CDC_JV_FALSE, CDC_JV_TRUE, CDC_JV_NUMBER, CDC_JV_STRING, CDC_JV_ARRAY, CDC_JV_OBJECT,
} cdc_jv_kind;

typedef struct cdc_jv {
	cdc_jv_kind kind;
	uint32_t n;          /* array/object: number of children */
	uint32_t first;      /* array/object: index of the first child (0: none) */
	uint32_t next;       /* index of the next sibling (0: none) */
	const char *s;       /* string: decoded bytes; number: its text (NUL-terminated) */
	size_t len;
	const char *key;     /* member of an object: its decoded key */
	size_t keylen;
} cdc_jv;

typedef struct cdc_jv_doc {
	cdc_jv *v;           /* v[0] is the root once parsed */
	size_t n, cap;
	char *arena;         /* decoded strings and number texts */
	size_t alen, acap;
} cdc_jv_doc;

#define CDC_JV_DOC_INIT { NULL, 0, 0, NULL, 0, 0 }

/* Parses text[0..len) (one JSON value, whitespace around it allowed) into
 * d, replacing what it held. 0, or -1 with errstr naming the byte offset. */
int cdc_jv_parse(cdc_jv_doc *d, const char *text, size_t len, char *errstr, size_t errlen);

void cdc_jv_free(cdc_jv_doc *d);

/* The root value (after a successful parse). */
const cdc_jv *cdc_jv_root(const cdc_jv_doc *d);

/* The first child of an array or object, and the sibling after c; NULL at
 * the end (or for a scalar). */
const cdc_jv *cdc_jv_child(const cdc_jv_doc *d, const cdc_jv *v);
const cdc_jv *cdc_jv_next(const cdc_jv_doc *d, const cdc_jv *c);

/* The member `key` of an object; NULL when absent or v is not an object. */
const cdc_jv *cdc_jv_get(const cdc_jv_doc *d, const cdc_jv *v, const char *key);

/* A number as an int64: 0, or -1 when v is not a number written as an
 * integer that fits. */
int cdc_jv_int(const cdc_jv *v, int64_t *out);

/* Whether v is a string equal to s. */
int cdc_jv_is(const cdc_jv *v, const char *s);

#endif
