/* log.c - one log line at a time, to stderr, journald or a file. */
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *file;   /* NULL: stderr */
static int journal;  /* stderr is read by journald: "<N>" prefixes */

void cdc_log_init(void)
{
	journal = getenv("JOURNAL_STREAM") != NULL;
}

int cdc_log_open(const char *path)
{
	FILE *f = NULL;
	int rc = 0;

	if (path && *path && strcmp(path, "-") != 0) {
		f = fopen(path, "ae");
		if (!f) {
			fprintf(stderr, "cdctail: log_file %s: %s; logging to stderr\n", path, strerror(errno));
			rc = -1;
		}
	}
	pthread_mutex_lock(&lock);
	if (file)
		fclose(file);
	file = f;
	pthread_mutex_unlock(&lock);
	return rc;
}

void cdc_log_close(void)
{
	cdc_log_open(NULL);
}

void cdc_log(int level, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&lock);
	if (journal && !file)
		fprintf(stderr, "<%d>cdctail: %s\n", level, line);
	else
		fprintf(file ? file : stderr, "cdctail: %s\n", line);
	fflush(file ? file : stderr);
	pthread_mutex_unlock(&lock);
}
