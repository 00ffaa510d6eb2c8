/* fsmove.h - moving a file into another directory, or replacing one, so that
 * a crash at any moment leaves it in one place or the other, whole, never
 * lost.
 *
 * Within one filesystem: rename(2), then fsync of both directories. Across
 * filesystems: copy into the destination under a temporary name
 * (".<name>.cdctail-tmp"), fsync it, give it the original's mtime, rename it
 * to its name, fsync the destination directory, and only then unlink the
 * original and fsync its directory. A crash during the copy leaves the
 * original in place and at most a temporary file behind. */
#ifndef CDCTAIL_FSMOVE_H
#define CDCTAIL_FSMOVE_H

#include <stddef.h>

#define CDC_MOVE_VANISHED 1 /* the source was not there */

/* Moves `name` from the directory open as srcfd (srcdir names it in
 * messages) into the one open as dstfd (dstdir). force_copy copies even
 * when a rename would do (for tests). Symlinks are not followed. Returns 0
 * moved, CDC_MOVE_VANISHED, or -1 with errstr naming the file, the step and
 * the system's message (the original is then where it was). */
int cdc_move_at(int srcfd, const char *srcdir, const char *name, int dstfd, const char *dstdir, int force_copy,
		char *errstr, size_t errlen);

/* The same for a path and a destination directory path. */
int cdc_move_into(const char *path, const char *dstdir, char *errstr, size_t errlen);

/* fsyncs the directory that holds path (a file just created or renamed
 * there): 0, or -1 with errno. */
int cdc_fsync_parent(const char *path);

/* Writes all of buf to fd (going on after EINTR): 0, or -1 with errno. */
int cdc_write_all(int fd, const void *buf, size_t n);

/* Replaces path with len bytes of data so that a reader sees the old file or
 * the new one, never a mix: written to tmp (created 0644; a leftover one is
 * overwritten), then, with durable, fsync'd; renamed over path; with
 * durable, its directory fsync'd. 0, or -1 with errstr naming the file and
 * the step (path is then as it was; tmp is removed). */
int cdc_replace_file(const char *path, const char *tmp, const void *data, size_t len, int durable, char *errstr,
		     size_t errlen);

#endif
