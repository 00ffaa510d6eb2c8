/* log.h - the one log of every command.
 *
 * A line is "cdctail: message" on stderr; when stderr is read by journald
 * ($JOURNAL_STREAM is set) it carries the syslog priority as a "<N>" prefix,
 * which journald turns into the entry's priority; `run` may send the lines
 * to a file instead (its log_file, reopened on SIGHUP). Lines are written
 * whole and flushed at once; the calls may come from any thread. */
#ifndef CDCTAIL_LOG_H
#define CDCTAIL_LOG_H

/* syslog priorities */
#define CDC_LOG_ERR 3
#define CDC_LOG_WARN 4
#define CDC_LOG_INFO 6

/* Reads $JOURNAL_STREAM once; call at the start of a command. */
void cdc_log_init(void);

/* Sends the lines to path from now on (NULL, "" or "-": stderr). When the
 * file cannot be opened, says so on stderr and keeps logging there.
 * Returns 0, or -1 when it fell back to stderr. */
int cdc_log_open(const char *path);

/* Closes a log file (later lines go to stderr). */
void cdc_log_close(void);

/* Writes one line: the printf-formatted message, truncated at 2 KiB. */
void cdc_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
