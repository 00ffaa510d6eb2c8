/* apply_src.h - where `cdctail apply` reads events: JSON-lines files (or
 * stdin), or Kafka topics through a consumer group (librdkafka's
 * high-level consumer, offsets stored and committed by cdctail only).
 *
 * Kafka offsets: every message read is tracked per partition until the
 * caller says it is done (applied, or written to the dead-letter file);
 * cdc_apply_src_commit commits, per partition, the offset of the oldest
 * message not done yet (or the one after the last read), so a crash
 * re-reads every message whose writes the target had not acknowledged, and
 * never skips one. Partitions taken away by a rebalance are committed as far
 * as they are done, then forgotten. */
#ifndef CDCTAIL_APPLY_SRC_H
#define CDCTAIL_APPLY_SRC_H

#include <stddef.h>
#include <stdint.h>

typedef struct cdc_apply_src cdc_apply_src;

/* Where one event came from. */
typedef struct cdc_src_pos {
	int part;          /* Kafka: the partition tracker's index; files: -1 */
	int32_t partition; /* Kafka partition */
	int64_t offset;    /* Kafka offset; files: the line number (from 1) */
	int file;          /* files: index of the file */
	uint64_t gen;      /* Kafka: the assignment generation it was read in */
} cdc_src_pos;

#define CDC_SRC_END 2 /* cdc_apply_src_next: no more input */

/* JSON lines from each path in turn ("-" is stdin). 0, or -1 with errstr. */
int cdc_apply_src_files(cdc_apply_src **out, char *const *paths, int n, char *errstr, size_t errlen);

/* A consumer of group `group` subscribed to the topics (a name starting
 * with ^ is a regular expression), with librdkafka properties
 * ("key=value"; bootstrap.servers among them). exit_at_end: the input ends
 * once every assigned partition is read to its end. 0, or -1 with errstr. */
int cdc_apply_src_kafka(cdc_apply_src **out, const char *const *props, const char *group,
			const char *const *topics, int ntopics, int exit_at_end, char *errstr, size_t errlen);

/* The next event: 1 with *line (len bytes, valid until the next call) and
 * *pos; 0 when nothing came within wait_ms; CDC_SRC_END; -1 with errstr. */
int cdc_apply_src_next(cdc_apply_src *s, int wait_ms, const char **line, size_t *len, cdc_src_pos *pos,
		       char *errstr, size_t errlen);

/* The event at pos is done with (applied or dead-lettered). */
void cdc_apply_src_done(cdc_apply_src *s, const cdc_src_pos *pos);

/* Commits what is done (Kafka; nothing for files): 0, or -1 with errstr. */
int cdc_apply_src_commit(cdc_apply_src *s, char *errstr, size_t errlen);

/* "topic[partition]@offset" or "file:line", for messages and dead letters. */
void cdc_apply_src_where(const cdc_apply_src *s, const cdc_src_pos *pos, char *out, size_t outlen);

/* Events read and not done. */
uint64_t cdc_apply_src_pending(const cdc_apply_src *s);

/* Closes the input (Kafka: leaves the group; commit first). NULL is fine. */
void cdc_apply_src_close(cdc_apply_src *s);

#endif
