/* err.c - caller-owned error buffers. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

/* Writes the formatted message into errstr when there is room; always -1. */
int cdc_error(char *errstr, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errstr && errlen) {
		va_start(ap, fmt);
		vsnprintf(errstr, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}
