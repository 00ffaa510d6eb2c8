/* segment.h - the commitlog segment container: descriptor, sync sections,
 * compressed sections, entry framing and CRCs, and the `_cdc.idx` file.
 *
 * The format is written by Cassandra's CommitLogDescriptor, CommitLogSegment,
 * MemoryMappedSegment/CompressedSegment and CommitLog.add; it is read by
 * CommitLogReader and CommitLogSegmentReader. docs/format.md records what we
 * confirmed, byte by byte.
 *
 * A segment is read through mmap. Uncompressed entry bodies point into the
 * mapping (no copy); compressed sections are inflated into one buffer owned by
 * the segment and reused for the next section. Either way a body pointer is
 * valid only until the next cdc_segment_next() or cdc_segment_refresh().
 * Memory: the mapped pages behind the reader are given back to the kernel
 * (MADV_DONTNEED) every 4 MiB, so a segment read to its end does not keep
 * its whole file in the process's RSS.
 *
 * Offsets: a "logical" offset is a position in Cassandra's in-memory segment
 * buffer, the unit of CommitLogPosition and of `_cdc.idx`. For uncompressed
 * segments logical == file offset; for compressed ones a section's logical
 * start is the previous logical end plus 8 (the marker).
 *
 * Read-ahead (cdc_segment_set_read_ahead): a memory-mapped segment holds
 * every entry as soon as Cassandra has written it, before the sync that
 * covers it (docs/format.md, "Before and after a sync"). With read-ahead on,
 * reading goes on past the limit: through sections whose marker is written
 * but not yet covered by `_cdc.idx`, and past the last marker (still zero)
 * over the entries whose size CRC and body CRC are both good, stopping at
 * the first one that is not complete yet (CDC_END_AHEAD) and going on from
 * there after cdc_segment_refresh(). Such entries have `ahead` set: they are
 * not yet covered by the limit, and a position past the limit must not be
 * checkpointed. Past the limit nothing is reported as an error: whatever is
 * not good yet is waited for, and judged by the usual rules once the limit
 * covers it. */
#ifndef CDCTAIL_SEGMENT_H
#define CDCTAIL_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#define CDC_CL_VERSION_30 6 /* Cassandra 3.0 / 3.11 */
#define CDC_CL_VERSION_40 7 /* Cassandra 4.0, 4.1, and 5.0 by default */
#define CDC_CL_VERSION_50 8 /* Cassandra 5.0 with storage_compatibility_mode NONE */

#define CDC_SYNC_MARKER_SIZE 8
#define CDC_ENTRY_OVERHEAD 12
#define CDC_NO_LIMIT UINT64_MAX

typedef struct cdc_segment cdc_segment;

typedef enum {
	CDC_COMPRESSION_NONE = 0,
	CDC_COMPRESSION_LZ4,
	CDC_COMPRESSION_SNAPPY,
	CDC_COMPRESSION_DEFLATE,
	CDC_COMPRESSION_ZSTD,
} cdc_compression;

typedef struct cdc_descriptor {
	int32_t version;           /* header version: 6, 7 or 8 */
	int32_t messaging_version; /* 10, 12 or 13: selects the mutation layout */
	int64_t id;                /* segment id, equal to the file name's */
	uint32_t header_crc;
	uint32_t header_len;       /* 18 + params_len: first sync marker */
	const char *params;        /* NUL-terminated JSON, owned by the segment */
	uint32_t params_len;
	cdc_compression compression;
	const char *compression_class; /* as written in params, or NULL */
	int encrypted;             /* params name a cipher: cannot be read */
} cdc_descriptor;

typedef enum {
	CDC_ITEM_SECTION = 1, /* a sync section begins */
	CDC_ITEM_ENTRY,       /* one mutation, both CRCs good */
	CDC_ITEM_ERROR,       /* a recoverable fault: see errstr; reading goes on */
} cdc_item_kind;

typedef struct cdc_section_info {
	uint64_t file_offset;    /* file offset of this section's marker */
	uint64_t file_end;       /* the marker's `next`: file offset of the next one */
	uint64_t logical_start;  /* logical offset of the first entry byte */
	uint64_t logical_end;    /* logical offset where the section ends */
	uint32_t stored_len;     /* compressed payload bytes (0 when uncompressed) */
	uint32_t crc;            /* marker CRC as stored (it matched; 0 when open) */
	int ahead;               /* read-ahead: not covered by the limit */
	int open;                /* read-ahead: the marker is not written yet (zero):
				  * file_end is 0, logical_end the end of the file;
				  * the section's entries are those complete so far */
} cdc_section_info;

/* What was wrong with an entry (or a compressed section) reported as
 * CDC_ITEM_ERROR. */
typedef enum {
	CDC_FAULT_NONE = 0,
	CDC_FAULT_SIZE,       /* size < 10 (or > INT32_MAX): no CRC checked */
	CDC_FAULT_SHORT,      /* fewer than 8 bytes left for size and size CRC */
	CDC_FAULT_SIZE_CRC,   /* the size field's CRC does not match */
	CDC_FAULT_PAST_END,   /* size and its CRC good, the entry runs past the section */
	CDC_FAULT_BODY_CRC,   /* the body CRC does not match: this entry skipped */
	CDC_FAULT_SECTION,    /* a compressed section that does not decompress:
			       * offset..end is its logical extent */
} cdc_fault;

typedef struct cdc_entry_info {
	uint64_t offset;         /* logical offset of the entry's size field */
	uint64_t end;            /* logical offset after crcAll (CommitLogPosition) */
	uint64_t section_offset; /* file offset of the enclosing section's marker */
	uint32_t size;           /* body length */
	uint32_t crc;            /* stored body CRC */
	uint32_t computed_crc;   /* body CRC as computed (entries and CDC_FAULT_BODY_CRC) */
	uint32_t size_crc;       /* stored CRC of the size field (once read) */
	uint32_t computed_size_crc; /* CRC of the size field as computed */
	cdc_fault fault;         /* CDC_ITEM_ERROR: what was wrong; else CDC_FAULT_NONE */
	const uint8_t *body;     /* `size` bytes; valid until the next call (also
				  * for CDC_FAULT_BODY_CRC, NULL for other faults) */
	int ahead;               /* read ahead: its section is not covered by the
				  * limit (`_cdc.idx`) yet */
} cdc_entry_info;

typedef struct cdc_item {
	cdc_item_kind kind;
	union {
		cdc_section_info section;
		cdc_entry_info entry; /* for CDC_ITEM_ERROR: what is known of the entry */
	};
} cdc_item;

typedef enum {
	CDC_END_NONE = 0,     /* not at the end yet */
	CDC_END_MARKER,       /* all-zero marker: nothing more synced (yet) */
	CDC_END_EOF,          /* no room for another marker before end of file */
	CDC_END_LIMIT,        /* the next section lies beyond the caller's limit */
	CDC_END_PADDING,      /* entry size 0 or < 4 bytes left: zero padding */
	CDC_END_TRUNCATED,    /* torn tail: a marker or entry runs past the data */
	CDC_END_ERROR,        /* unrecoverable: a marker with a bad CRC, bad header */
	CDC_END_AHEAD,        /* read-ahead: past the limit, at an entry that is not
			       * complete yet (see `pending`; refreshable) */
} cdc_end_reason;

/* Read-ahead: what the first entry not returned looked like. */
typedef enum {
	CDC_PENDING_NONE = 0,
	CDC_PENDING_EMPTY,    /* its size field is still zero: nothing written there yet */
	CDC_PENDING_SIZE,     /* size written, but it or its CRC not (yet) good */
	CDC_PENDING_BODY,     /* size and size CRC good, body CRC not (yet) good */
	CDC_PENDING_PAST_EOF, /* the entry would run past the end of the file */
	CDC_PENDING_SEALED,   /* in a section whose marker is written but which the
			       * limit does not cover: a fault there waits for the limit */
	CDC_PENDING_KINDS
} cdc_pending;

typedef struct cdc_segment_end {
	cdc_end_reason reason;
	uint64_t file_offset;    /* where reading stopped */
	uint64_t logical_offset;
	/* Set when reading stopped at a sync marker it could not use (reason
	 * CDC_END_ERROR: CRC mismatch or `next` before the marker; or
	 * CDC_END_TRUNCATED: `next` past the end of the file): the marker as
	 * stored, and the CRC it should have. */
	int bad_marker;
	uint32_t marker_next, marker_crc, marker_computed_crc;
	cdc_pending pending;     /* CDC_END_AHEAD: what stopped reading */
} cdc_segment_end;

#ifdef CDCTAIL_FUZZ
/* Fuzz builds only (the Makefile's FUZZ_CFLAGS define CDCTAIL_FUZZ; release,
 * ASan and unit-test builds never do): while non-zero, CRC mismatches of the
 * descriptor, sync markers and entries are ignored, so that the fuzzer gets
 * past them to the code they guard. A fuzz target sets it per input. */
extern int cdc_fuzz_ignore_crc;
#endif

/* Opens and maps `path`, and checks its descriptor (version, CRC, params,
 * compression, that the header id equals the file name's when the name is a
 * segment name). On error returns -1 with a message naming the file and the
 * offset. The caller destroys the segment. */
int cdc_segment_open(cdc_segment **out, const char *path, char *errstr, size_t errlen);

/* Flags of the _ex opens: CDC_OPEN_NOFOLLOW refuses a path that is a
 * symlink (O_NOFOLLOW), for files `run` found in cdc_raw (a symlink swapped
 * in after the listing is not followed out of it). A path given on the
 * command line is followed, as every tool does. */
#define CDC_OPEN_NOFOLLOW 1
int cdc_segment_open_ex(cdc_segment **out, const char *path, int flags, char *errstr, size_t errlen);

/* Like cdc_segment_open, over a caller-owned buffer that must outlive the
 * segment. `name` is used in messages and, when it is a segment file name,
 * checked against the header id. For fuzzing and tests. */
int cdc_segment_open_mem(cdc_segment **out, const char *name, const uint8_t *buf,
			 size_t len, char *errstr, size_t errlen);

/* Unmaps and frees everything; NULL is fine. */
void cdc_segment_destroy(cdc_segment *seg);

/* The descriptor read at open; owned by the segment. */
const cdc_descriptor *cdc_segment_descriptor(const cdc_segment *seg);

/* The path or name given at open. */
const char *cdc_segment_path(const cdc_segment *seg);

/* Stops reading at sections whose logical end exceeds `logical_limit` (the
 * `_cdc.idx` offset of a live segment). CDC_NO_LIMIT reads everything. */
void cdc_segment_set_limit(cdc_segment *seg, uint64_t logical_limit);

/* Advances to the next section, entry or recoverable fault.
 * Returns 1 with *item filled, 0 at the end (see cdc_segment_end), -1 on an
 * unrecoverable fault with errstr set (later calls return 0). For
 * CDC_ITEM_ERROR, errstr holds the message. */
int cdc_segment_next(cdc_segment *seg, cdc_item *item, char *errstr, size_t errlen);

/* The limit set by cdc_segment_set_limit (CDC_NO_LIMIT by default). */
uint64_t cdc_segment_limit(const cdc_segment *seg);

/* Why read-ahead cannot be used on a segment. */
typedef enum {
	CDC_AHEAD_OK = 0,
	CDC_AHEAD_COMPRESSED,  /* CompressedSegment: written to the file at sync only */
	CDC_AHEAD_ENCRYPTED,   /* EncryptedSegment: likewise */
	CDC_AHEAD_NOT_MAPPED,  /* not a pre-sized memory-mapped file: 5.0's direct I/O
				* (DirectIOSegment) writes the file at sync only and
				* grows it then; a MemoryMappedSegment is created at
				* its full size, a whole number of MiB, which never
				* changes */
} cdc_ahead_refusal;

/* Turns read-ahead on (on != 0) or off. On: returns CDC_AHEAD_OK, or why this
 * segment cannot be read ahead (the descriptor names a compressor or a cipher;
 * the file's size is not a whole number of MiB), with errstr saying so and
 * reading still bounded by the limit. Off: returns CDC_AHEAD_OK; reading then
 * waits at the limit again, at the position already reached (an entry is never
 * returned twice). cdc_segment_refresh() turns it off by itself when the file
 * changes size (direct I/O); cdc_segment_read_ahead() tells. */
cdc_ahead_refusal cdc_segment_set_read_ahead(cdc_segment *seg, int on, char *errstr, size_t errlen);

/* 1 while read-ahead is on, else 0. */
int cdc_segment_read_ahead(const cdc_segment *seg);

/* Read-ahead counters since open: how many times reading stopped at an entry
 * in each cdc_pending state (counts[CDC_PENDING_KINDS]), and how many entries
 * were returned ahead of the limit. */
void cdc_segment_ahead_stats(const cdc_segment *seg, uint64_t counts[CDC_PENDING_KINDS],
			     uint64_t *entries_ahead);

/* Name of a pending state, for messages and dumps. */
const char *cdc_pending_name(cdc_pending p);

/* Why and where the last cdc_segment_next() returned 0 or -1. */
cdc_segment_end cdc_segment_end_state(const cdc_segment *seg);

/* For a file that is still being written: remaps it if it grew and, if
 * reading had stopped at a zero marker, the end of file, the limit or (read
 * ahead) an entry not complete yet, lets cdc_segment_next() retry from there.
 * Entries already returned are not returned again. Returns 0, or -1 with
 * errstr set. */
int cdc_segment_refresh(cdc_segment *seg, char *errstr, size_t errlen);

/* Name of an end reason, for messages and dumps. */
const char *cdc_end_reason_name(cdc_end_reason r);

/* Name of a compression, "none" for none. */
const char *cdc_compression_name(cdc_compression c);

/* Parses a segment file name (the last path component of `path`):
 * CommitLog-<version>-<id>.log. Returns 0 and fills what is not NULL, or -1
 * when it is not a segment name. */
int cdc_segment_parse_name(const char *path, int *version, int64_t *id);

/* ---- `_cdc.idx` ---- */

typedef struct cdc_index {
	uint64_t offset;  /* logical offset up to which the segment is synced */
	int completed;    /* the second line says COMPLETED: segment finished */
} cdc_index;

/* Parses the text of an index file: decimal offset, optionally followed by
 * "\nCOMPLETED". Cassandra rewrites the file in place, so an empty or partial
 * text is reported as an error the caller should retry later. */
int cdc_index_parse(const char *text, size_t len, cdc_index *out, const char *name,
		    char *errstr, size_t errlen);

/* Reads and parses the index file at `path`. */
int cdc_index_read(const char *path, cdc_index *out, char *errstr, size_t errlen);
int cdc_index_read_ex(const char *path, int flags, cdc_index *out, char *errstr, size_t errlen);

/* Writes into buf the index file name that goes with the segment at `path`
 * (same directory, `<segment name without .log>_cdc.idx`). -1 if it does not fit. */
int cdc_index_path_for(const char *segment_path, char *buf, size_t buflen);

#endif
