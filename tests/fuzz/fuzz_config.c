/* fuzz_config.c - libFuzzer target for the `key = value` configuration
 * parser and its number/duration/size readers. */
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "cdc_raw", "max_in_flight", "checkpoint_interval", "cassandra.port",
					    "kafka.linger.ms", NULL };
	cdc_config *c = cdc_config_new();
	char err[CDC_ERRSTR_SIZE];
	const char *props[16];
	long long v;
	int i;

	if (!c)
		return 0;
	if (cdc_config_load_mem(c, (const char *)data, size, "fuzz.conf", err, sizeof(err)) == 0) {
		for (i = 0; keys[i]; i++) {
			cdc_config_get(c, keys[i], NULL);
			cdc_config_get_num(c, keys[i], 1, 0, &v, err, sizeof(err));
			cdc_config_get_num(c, keys[i], 1, 1, &v, err, sizeof(err));
		}
		cdc_config_kafka_props(c, props, 16);
		cdc_config_check(c, keys, err, sizeof(err));
	}
	cdc_config_destroy(c);
	return 0;
}
