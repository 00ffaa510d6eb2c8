/* mutation.h - the body of a commitlog entry: a serialized Mutation.
 *
 * A mutation is an unsigned vint count of partition updates, each starting
 * with the 16-byte table id and the vint-length partition key (Mutation and
 * PartitionUpdate serializers). Decoding rows needs the table schema. */
#ifndef CDCTAIL_MUTATION_H
#define CDCTAIL_MUTATION_H

#include <stddef.h>
#include <stdint.h>

typedef struct cdc_mutation_head {
	uint32_t updates;          /* partition updates in the mutation */
	uint8_t table_id[16];      /* the first update's table id, as stored */
	const uint8_t *key;        /* the first update's partition key bytes, in body */
	size_t key_len;
} cdc_mutation_head;

/* Reads the count, the first table id and the partition key of a mutation
 * body without schema. Returns 0, or -1 with errstr naming the byte offset
 * within the body that did not fit. */
int cdc_mutation_peek(const uint8_t *body, size_t len, int messaging_version,
		      cdc_mutation_head *out, char *errstr, size_t errlen);

/* Formats a 16-byte id as a canonical lowercase UUID (37 bytes with NUL). */
void cdc_uuid_format(const uint8_t id[16], char out[37]);

#endif
