/* watch.c - inotify on cdc_raw, and listing its segments. */
#include "watch.h"
#include "err.h"
#include "segment.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

struct cdc_watch {
	int fd;          /* inotify instance */
	int wd;          /* watch on dir, -1 when not (yet) watched */
	char *dir;
	unsigned long overflows;
};

#define WATCH_MASK (IN_CREATE | IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | \
		    IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

/* Adds the watch if it is missing; the directory may not exist yet. */
static void arm(cdc_watch *w)
{
	if (w->wd < 0)
		w->wd = inotify_add_watch(w->fd, w->dir, WATCH_MASK);
}

int cdc_watch_open(cdc_watch **out, const char *dir, char *errstr, size_t errlen)
{
	cdc_watch *w = calloc(1, sizeof(*w));

	*out = NULL;
	if (!w || !(w->dir = strdup(dir))) {
		free(w);
		return cdc_error(errstr, errlen, "out of memory");
	}
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		free(w->dir);
		free(w);
		return cdc_error(errstr, errlen, "inotify_init1: %s", strerror(errno));
	}
	w->wd = -1;
	arm(w);
	*out = w;
	return 0;
}

void cdc_watch_close(cdc_watch *w)
{
	if (!w)
		return;
	close(w->fd);
	free(w->dir);
	free(w);
}

unsigned long cdc_watch_overflows(const cdc_watch *w)
{
	return w->overflows;
}

int cdc_watch_wait(cdc_watch *w, int timeout_ms)
{
	struct pollfd p = { w->fd, POLLIN, 0 };
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	int changed = 0;
	ssize_t n;

	arm(w);
	if (w->wd < 0 && timeout_ms > 1000)
		timeout_ms = 1000; /* no watch: poll the directory instead */
	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	while ((n = read(w->fd, buf, sizeof(buf))) > 0) {
		char *q = buf;

		while (q < buf + n) {
			const struct inotify_event *e = (const struct inotify_event *)q;

			if (e->mask & IN_Q_OVERFLOW)
				w->overflows++;
			if (e->mask & (IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF)) {
				if (w->wd >= 0 && !(e->mask & IN_IGNORED))
					inotify_rm_watch(w->fd, w->wd);
				w->wd = -1; /* re-added on the next wait */
			}
			changed = 1;
			q += sizeof(*e) + e->len;
		}
	}
	return changed;
}

static int by_id(const void *a, const void *b)
{
	const cdc_seg_file *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

int cdc_watch_scan(const char *dir, cdc_seg_file **out, size_t *n, uint64_t *bytes,
		   char *errstr, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	cdc_seg_file *v = NULL;
	size_t cap = 0, cnt = 0;
	uint64_t total = 0;

	*out = NULL;
	*n = 0;
	if (bytes)
		*bytes = 0;
	if (!d)
		return cdc_error(errstr, errlen, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		cdc_seg_file *f;
		char path[4096];
		int version;
		int64_t id;
		size_t len = strlen(e->d_name);

		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path) ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
			continue;
		if (len > 8 && strcmp(e->d_name + len - 8, "_cdc.idx") == 0) {
			total += (uint64_t)st.st_size;
			continue;
		}
		if (cdc_segment_parse_name(e->d_name, &version, &id) != 0)
			continue;
		total += (uint64_t)st.st_size;
		if (cnt == cap) {
			size_t nc = cap ? cap * 2 : 16;
			cdc_seg_file *nv = realloc(v, nc * sizeof(*nv));

			if (!nv) {
				free(v);
				closedir(d);
				return cdc_error(errstr, errlen, "out of memory");
			}
			v = nv;
			cap = nc;
		}
		f = &v[cnt++];
		f->id = id;
		f->version = version;
		memcpy(f->path, path, sizeof(path));
		f->size = st.st_size;
		f->mtime = st.st_mtime;
		f->has_idx = 0;
		if (cdc_index_path_for(path, f->idx_path, sizeof(f->idx_path)) == 0) {
			struct stat is;

			f->has_idx = lstat(f->idx_path, &is) == 0 && S_ISREG(is.st_mode);
		} else {
			f->idx_path[0] = '\0';
		}
	}
	closedir(d);
	if (cnt)
		qsort(v, cnt, sizeof(*v), by_id);
	*out = v;
	*n = cnt;
	if (bytes)
		*bytes = total;
	return 0;
}
