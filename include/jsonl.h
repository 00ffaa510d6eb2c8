/* jsonl.h - an append-only file of JSON lines that must be on disk before
 * the checkpoint passes what they record (dead letters, skipped entries).
 *
 * The file is opened (created 0640, O_APPEND) at the first line; each line
 * is written whole with one write(2). cdc_jsonl_sync fsyncs what was written
 * since the last sync, and the directory once after the file was created, so
 * a caller that syncs before saving its checkpoint never loses a line the
 * checkpoint relies on. */
#ifndef CDCTAIL_JSONL_H
#define CDCTAIL_JSONL_H

#include <stddef.h>

typedef struct cdc_jsonl cdc_jsonl;

/* A handle for path (nothing is opened yet); NULL when out of memory. */
cdc_jsonl *cdc_jsonl_new(const char *path);

/* Closes and frees (NULL is fine); unsynced lines stay in the page cache. */
void cdc_jsonl_destroy(cdc_jsonl *f);

/* Appends line (len bytes, no newline) and a newline: 0, or -1 with errstr
 * naming the file. */
int cdc_jsonl_append(cdc_jsonl *f, const char *line, size_t len, char *errstr, size_t errlen);

/* fsyncs the lines appended since the last sync (nothing to do: 0): 0, or
 * -1 with errstr. */
int cdc_jsonl_sync(cdc_jsonl *f, char *errstr, size_t errlen);

/* Lines appended through this handle, and the path. */
unsigned long cdc_jsonl_count(const cdc_jsonl *f);
const char *cdc_jsonl_path(const cdc_jsonl *f);

#endif
