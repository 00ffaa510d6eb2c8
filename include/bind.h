/* bind.h - event JSON values (docs/events.md, "Values"; src/value.c writes
 * them) turned back into the serialized form of a CQL type, exactly: the
 * bytes a prepared statement binds, equal to what the source node held.
 *
 * Every rendering value.c makes reads back: integers from their digits,
 * float and double from the shortest text (strtof/strtod of it), "NaN" and
 * "[-]Infinity", decimal and varint strings to two's complement bytes (a
 * decimal keeps its scale: "123.450" is not "123.45"), timestamps, dates,
 * times and durations from their text (years before 0 and after 9999
 * included), blobs from "0x...", inet from its text, uuids, collections,
 * tuples, UDTs by field name (fields the object leaves out at the end are
 * left out of the value, as a value written before ALTER TYPE ADD), vectors.
 * A JSON null of a non-string type is the empty value (zero bytes), which is
 * how value.c renders one; inside a tuple or UDT it is a null field. */
#ifndef CDCTAIL_BIND_H
#define CDCTAIL_BIND_H

#include <stddef.h>

#include "buf.h"
#include "jsonv.h"
#include "schema.h"

/* Appends the serialized value of v as type t to out. 0, or -1 with errstr
 * naming the type and what did not fit (nothing useful is left in out). */
int cdc_bind_value(cdc_buf *out, const cdc_jv_doc *d, const cdc_jv *v, const cdc_type *t, char *errstr,
		   size_t errlen);

/* Appends a collection value (count, then each element as [int length]
 * bytes) of n items written by the caller: cdc_bind_coll_begin leaves room
 * for the count, cdc_bind_coll_end writes it. Elements go in with
 * cdc_bind_elem_begin / cdc_bind_elem_end around the element's bytes. */
size_t cdc_bind_coll_begin(cdc_buf *out);
void cdc_bind_coll_end(cdc_buf *out, size_t at, uint32_t n);
size_t cdc_bind_elem_begin(cdc_buf *out);
void cdc_bind_elem_end(cdc_buf *out, size_t at);

/* A 64-bit integer as 8 big-endian bytes; a 32-bit one as 4. */
void cdc_bind_i64(cdc_buf *out, int64_t v);
void cdc_bind_i32(cdc_buf *out, int32_t v);

/* Days since 1970-01-01 of a proleptic Gregorian date. */
int64_t cdc_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
