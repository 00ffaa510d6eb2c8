/* fsmove.h - moving a file into another directory so that a crash at any
 * moment leaves it in one place or the other, whole, never lost.
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

#endif
