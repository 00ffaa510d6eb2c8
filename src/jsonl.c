/* jsonl.c - durable append-only JSON lines. */
#include "jsonl.h"
#include "err.h"
#include "fsmove.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

struct cdc_jsonl {
	char *path;
	int fd;            /* -1 until the first line */
	int unsynced;      /* lines written since the last fsync */
	int created;       /* the file was created: its directory needs a sync */
	unsigned long count;
};

cdc_jsonl *cdc_jsonl_new(const char *path)
{
	cdc_jsonl *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->path = strdup(path);
	if (!f->path) {
		free(f);
		return NULL;
	}
	f->fd = -1;
	return f;
}

void cdc_jsonl_destroy(cdc_jsonl *f)
{
	if (!f)
		return;
	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f);
}

/* Opens the file, noting whether this created it. 0, or -1 with errstr. */
static int open_file(cdc_jsonl *f, char *errstr, size_t errlen)
{
	f->fd = open(f->path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (f->fd < 0 && errno == ENOENT) {
		f->fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
		f->created = f->fd >= 0;
	}
	if (f->fd < 0)
		return cdc_error(errstr, errlen, "%s: %s", f->path, strerror(errno));
	return 0;
}

int cdc_jsonl_append(cdc_jsonl *f, const char *line, size_t len, char *errstr, size_t errlen)
{
	struct iovec v[2] = { { (void *)line, len }, { (void *)"\n", 1 } };
	ssize_t w;

	if (f->fd < 0 && open_file(f, errstr, errlen) != 0)
		return -1;
	w = writev(f->fd, v, 2);
	if (w != (ssize_t)(len + 1))
		return cdc_error(errstr, errlen, "%s: write: %s", f->path, w < 0 ? strerror(errno) : "short write");
	f->unsynced = 1;
	f->count++;
	return 0;
}

int cdc_jsonl_sync(cdc_jsonl *f, char *errstr, size_t errlen)
{
	if (!f || !f->unsynced)
		return 0;
	if (fsync(f->fd) != 0)
		return cdc_error(errstr, errlen, "%s: fsync: %s", f->path, strerror(errno));
	if (f->created) {
		if (cdc_fsync_parent(f->path) != 0)
			return cdc_error(errstr, errlen, "%s: fsync of its directory: %s", f->path, strerror(errno));
		f->created = 0;
	}
	f->unsynced = 0;
	return 0;
}

unsigned long cdc_jsonl_count(const cdc_jsonl *f)
{
	return f ? f->count : 0;
}

const char *cdc_jsonl_path(const cdc_jsonl *f)
{
	return f->path;
}
