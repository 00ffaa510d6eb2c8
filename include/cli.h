/* cli.h - command line: modes chosen by the first word, kcat style. */
#ifndef CDCTAIL_CLI_H
#define CDCTAIL_CLI_H

/* CDCTAIL_VERSION comes from the Makefile (debian/changelog). */
#ifndef CDCTAIL_VERSION
#define CDCTAIL_VERSION "unknown"
#endif

#include <stddef.h>
#include <stdint.h>

/* Parses a positive count or size with an optional K, M or G suffix (powers
 * of 1024), as --max-in-flight and --max-in-flight-bytes take it: 0 and
 * *out, or -1. */
int cdc_cli_parse_size(const char *s, size_t *out);

/* Parses a write time as --since and --until take it: microseconds since
 * the epoch, or ISO 8601 YYYY-MM-DD[(T| )HH:MM[:SS[.frac]]][Z|+HH:MM|-HH:MM]
 * (UTC without a zone). 0 and *us, or -1. */
int cdc_cli_parse_time(const char *s, int64_t *us);

/* Runs the command line; returns the process exit code (0 ok, 1 the work
 * met faults, 2 usage). Never calls exit(). */
int cdc_cli_main(int argc, char **argv);

#endif
