/* cli.h - command line: modes chosen by the first word, kcat style. */
#ifndef CDCTAIL_CLI_H
#define CDCTAIL_CLI_H

/* CDCTAIL_VERSION comes from the Makefile (debian/changelog). */
#ifndef CDCTAIL_VERSION
#define CDCTAIL_VERSION "unknown"
#endif

/* Runs the command line; returns the process exit code (0 ok, 1 the work
 * met faults, 2 usage). Never calls exit(). */
int cdc_cli_main(int argc, char **argv);

#endif
