/* fuzz_cql.c - libFuzzer target for the CQL client's response parsing: v5
 * segment framing (CRC24/CRC32), RESULT bodies (prelude, ROWS metadata,
 * paging state, rows), and the cell decoders on every cell a row carries. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "buf.h"
#include "cql.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Decodes every cell with every decoder, and walks collections. */
static int on_row(void *opaque, const cdc_cql_col *cols, const cdc_cql_value *cells, int ncols, char *errstr,
		  size_t errlen)
{
	int i;

	(void)opaque;
	(void)cols;
	for (i = 0; i < ncols; i++) {
		const cdc_cql_value *v = &cells[i];
		cdc_cql_value item;
		char uuid[37], *text = NULL;
		int32_t n32;
		int64_t n64;
		size_t off = 0;
		int b, k;

		cdc_cql_get_int(v, &n32, errstr, errlen);
		cdc_cql_get_bool(v, &b, errstr, errlen);
		cdc_cql_get_timestamp(v, &n64, errstr, errlen);
		cdc_cql_get_uuid(v, uuid, errstr, errlen);
		if (cdc_cql_get_text(v, &text, errstr, errlen) == 0)
			free(text);
		if (cdc_cql_coll_count(v, &n32, errstr, errlen) == 0)
			for (k = 0; k < n32 && k < 4096; k++)
				if (cdc_cql_coll_next(v, &off, &item, errstr, errlen) != 0)
					break;
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CDC_ERRSTR_SIZE];
	cdc_buf ps = { 0 }, pay = { 0 };
	size_t used = 0, off = 0;
	int more, sc;

	if (size < 1)
		return 0;
	/* first byte: the envelope flags; the rest: a RESULT body */
	cdc_cql_parse_result("fuzz:9042", data[0], data + 1, size - 1, &ps, &more, on_row, NULL, err, sizeof(err));
	/* the same bytes as a stream of v5 segments */
	while (off < size && cdc_cql_segment_unwrap(data + off, size - off, &used, &pay, &sc, err, sizeof(err)) == 0 &&
	       used > 0)
		off += used;
	cdc_buf_free(&ps);
	cdc_buf_free(&pay);
	return 0;
}
