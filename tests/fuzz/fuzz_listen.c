/* fuzz_listen.c - libFuzzer target for the `metrics.listen` value parser
 * (metrics_http.h): any bytes, as the configuration would hand them over
 * (a NUL-terminated value). A value it accepts must have an address family
 * and a printable address it means. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "metrics_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CDC_ERRSTR_SIZE];
	cdc_listen_addr a;
	char *v = malloc(size + 1);

	if (!v)
		return 0;
	memcpy(v, data, size);
	v[size] = '\0';
	if (cdc_metrics_listen_parse(v, &a, err, sizeof(err)) == 0 &&
	    ((a.ss.ss_family != AF_INET && a.ss.ss_family != AF_INET6) || !a.where[0] || a.len == 0))
		abort();
	free(v);
	return 0;
}
