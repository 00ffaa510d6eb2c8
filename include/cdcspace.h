/* cdcspace.h - Cassandra's cap on the space of cdc_raw (`cdc_total_space`),
 * so that `cdctail run` can export it next to what cdc_raw holds and an
 * alert can fire before Cassandra refuses writes (cdc_block_writes: true)
 * or deletes unconsumed segments (false).
 *
 * Where the cap comes from: the node's cassandra.yaml when its path is
 * given (the top-level `cdc_total_space: <N><unit>` of 4.1 and later, unit
 * B, KiB, MiB or GiB, or `cdc_total_space_in_mb: <N>` of 3.x/4.0); a size
 * given in cdctail's configuration otherwise; and, when neither names it,
 * Cassandra's own default: the lesser of 4096 MiB and an eighth of the
 * filesystem holding cdc_raw. */
#ifndef CDCTAIL_CDCSPACE_H
#define CDCTAIL_CDCSPACE_H

#include <stddef.h>
#include <stdint.h>

/* Looks for the cap in the text of a cassandra.yaml (top-level keys only;
 * comments, quotes and a null value understood). Returns 0 with *bytes,
 * 1 when the file does not set it (Cassandra's default applies), or -1 with
 * errstr naming the line when the value is not one Cassandra accepts. */
int cdc_space_parse_yaml(const char *text, size_t len, uint64_t *bytes, char *errstr, size_t errlen);

/* Cassandra's default for the directory dir: 0 with *bytes, or -1 with
 * errstr (statvfs failed). */
int cdc_space_default(const char *dir, uint64_t *bytes, char *errstr, size_t errlen);

/* The cap `run` exports: from the file yaml_path when it is not NULL (its
 * default when the file sets none), else cfg_bytes when > 0, else the
 * default for cdc_raw. *from says which ("cassandra.yaml", "cdc_total_space",
 * "Cassandra's default"). 0, or -1 with errstr (the file unreadable or its
 * value bad). */
int cdc_space_cap(const char *yaml_path, long long cfg_bytes, const char *cdc_raw, uint64_t *bytes,
		  const char **from, char *errstr, size_t errlen);

#endif
