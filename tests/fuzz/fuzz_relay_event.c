/* fuzz_relay_event.c - libFuzzer target for what `cdctail relay` reads of a
 * message from the temporary topics (relay_event.c): any bytes, as Kafka
 * may hold them; an accepted event must satisfy what the parser promises. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "relay_event.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char errstr[CDC_ERRSTR_SIZE];
	cdc_relay_event ev;
	/* a copy of exactly size bytes, so ASan sees any read past the end */
	char *p = malloc(size ? size : 1);

	if (!p)
		return 0;
	memcpy(p, data, size);
	if (cdc_relay_event_parse(p, size, &ev, errstr, sizeof(errstr)) == 0) {
		if (ev.idlen == 0 || ev.idlen > CDC_RELAY_ID_MAX || strlen(ev.id) != ev.idlen || !ev.keyspace[0] ||
		    !ev.table[0] || strpbrk(ev.keyspace, "./ ") || strpbrk(ev.table, "./ "))
			abort();
	} else if (strncmp(errstr, "not an event", 12) != 0) {
		abort();
	}
	free(p);
	return 0;
}
