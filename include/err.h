/* err.h - caller-owned error buffers, in the librdkafka errstr style.
 *
 * Every fallible call in cdctail returns an int (0 ok, negative error) and,
 * on error, writes one line into a buffer the caller owns. The line names the
 * file, the offset and what was expected, so it can be printed as is. */
#ifndef CDCTAIL_ERR_H
#define CDCTAIL_ERR_H

#include <stddef.h>

#define CDC_ERRSTR_SIZE 512

/* Formats a message into errstr (if not NULL) and returns -1, so that a
 * caller can write `return cdc_error(errstr, errlen, "...", ...);`. */
int cdc_error(char *errstr, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
