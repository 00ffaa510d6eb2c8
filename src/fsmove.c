/* fsmove.c - durable moves between directories. */
#include "fsmove.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cdc_write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int cdc_fsync_parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	int fd, rc;

	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 : (int)(slash - path), path);
	else
		snprintf(dir, sizeof(dir), ".");
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int cdc_replace_file(const char *path, const char *tmp, const void *data, size_t len, int durable, char *errstr,
		     size_t errlen)
{
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644), rc = 0;

	if (fd < 0)
		return cdc_error(errstr, errlen, "%s: %s", tmp, strerror(errno));
	if (cdc_write_all(fd, data, len) != 0 || (durable && fsync(fd) != 0))
		rc = cdc_error(errstr, errlen, "%s: write: %s", tmp, strerror(errno));
	if (close(fd) != 0 && rc == 0)
		rc = cdc_error(errstr, errlen, "%s: close: %s", tmp, strerror(errno));
	if (rc == 0 && rename(tmp, path) != 0)
		rc = cdc_error(errstr, errlen, "%s: rename to %s: %s", tmp, path, strerror(errno));
	if (rc != 0) {
		unlink(tmp);
		return rc;
	}
	if (durable && cdc_fsync_parent(path) != 0)
		return cdc_error(errstr, errlen, "%s: fsync of its directory: %s", path, strerror(errno));
	return 0;
}

/* Copies in to out: 0, or -1 with errno and *what naming the step. */
static int copy_fd(int in, int out, const char **what)
{
	enum { BUFSZ = 1 << 20 };
	char *buf = malloc(BUFSZ);

	if (!buf) {
		errno = ENOMEM;
		return -1;
	}
	for (;;) {
		ssize_t r = read(in, buf, BUFSZ);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			*what = "read";
			free(buf);
			return r < 0 ? -1 : 0;
		}
		if (cdc_write_all(out, buf, (size_t)r) != 0) {
			*what = "write";
			free(buf);
			return -1;
		}
	}
}

/* The copy across filesystems (see fsmove.h). */
static int move_by_copy(int srcfd, const char *srcdir, const char *name, int dstfd, const char *dstdir,
			char *errstr, size_t errlen)
{
	char tmp[NAME_MAX + 32];
	struct stat sb;
	struct timespec times[2];
	const char *what = "open";
	int in, out = -1, saved;

	snprintf(tmp, sizeof(tmp), ".%s.cdctail-tmp", name);
	in = openat(srcfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (in < 0) {
		if (errno == ENOENT)
			return CDC_MOVE_VANISHED;
		return cdc_error(errstr, errlen, "%s/%s: open: %s", srcdir, name, strerror(errno));
	}
	if (fstat(in, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		close(in);
		return cdc_error(errstr, errlen, "%s/%s: not a regular file", srcdir, name);
	}
	out = openat(dstfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, sb.st_mode & 0777);
	if (out < 0 || copy_fd(in, out, &what) != 0)
		goto fail;
	times[0] = sb.st_atim;
	times[1] = sb.st_mtim;
	what = "fsync";
	if (futimens(out, times) != 0 || fsync(out) != 0)
		goto fail;
	what = "close";
	saved = close(out);
	out = -1;
	if (saved != 0)
		goto fail;
	what = "rename";
	if (renameat(dstfd, tmp, dstfd, name) != 0)
		goto fail;
	what = "fsync of the directory";
	if (fsync(dstfd) != 0)
		goto fail;
	close(in);
	if (unlinkat(srcfd, name, 0) != 0 && errno != ENOENT)
		return cdc_error(errstr, errlen, "%s/%s: unlink after copying to %s: %s", srcdir, name, dstdir,
				 strerror(errno));
	fsync(srcfd);
	return 0;
fail:
	saved = errno;
	if (out >= 0)
		close(out);
	unlinkat(dstfd, tmp, 0);
	close(in);
	return cdc_error(errstr, errlen, "%s/%s: %s: %s", dstdir, tmp, what, strerror(saved));
}

int cdc_move_at(int srcfd, const char *srcdir, const char *name, int dstfd, const char *dstdir, int force_copy,
		char *errstr, size_t errlen)
{
	struct stat sb;

	if (fstatat(srcfd, name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? CDC_MOVE_VANISHED
				       : cdc_error(errstr, errlen, "%s/%s: %s", srcdir, name, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return cdc_error(errstr, errlen, "%s/%s: not a regular file", srcdir, name);
	if (!force_copy) {
		if (renameat(srcfd, name, dstfd, name) == 0) {
			if (fsync(dstfd) != 0)
				return cdc_error(errstr, errlen, "%s: fsync of the directory: %s", dstdir, strerror(errno));
			fsync(srcfd);
			return 0;
		}
		if (errno == ENOENT)
			return CDC_MOVE_VANISHED;
		if (errno != EXDEV)
			return cdc_error(errstr, errlen, "%s/%s: rename to %s: %s", srcdir, name, dstdir, strerror(errno));
	}
	return move_by_copy(srcfd, srcdir, name, dstfd, dstdir, errstr, errlen);
}

int cdc_move_into(const char *path, const char *dstdir, char *errstr, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	int srcfd, dstfd, rc;

	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		snprintf(dir, sizeof(dir), ".");
	srcfd = open(slash && slash == path ? "/" : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (srcfd < 0)
		return cdc_error(errstr, errlen, "%s: %s", dir, strerror(errno));
	dstfd = open(dstdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dstfd < 0) {
		rc = cdc_error(errstr, errlen, "%s: %s", dstdir, strerror(errno));
		close(srcfd);
		return rc;
	}
	rc = cdc_move_at(srcfd, dir, slash ? slash + 1 : path, dstfd, dstdir, 0, errstr, errlen);
	close(srcfd);
	close(dstfd);
	return rc;
}
