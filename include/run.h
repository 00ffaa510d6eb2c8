/* run.h - `cdctail run`: the node service. Tails Cassandra's cdc_raw
 * (watch.h), reads each segment in id order up to its _cdc.idx offset
 * (segment.h), decodes (mutation.h), renders events (event.h), sends them
 * (sink.h), tracks acknowledgements (acktrack.h), saves the position
 * (checkpoint.h) and removes a segment only when Cassandra completed it,
 * Kafka acknowledged all of it and the checkpoint saying so is durable.
 * docs/run.md is the operator's page. */
#ifndef CDCTAIL_RUN_H
#define CDCTAIL_RUN_H

/* The `run` command: parses argv (after "run"), runs until SIGTERM/SIGINT,
 * returns the exit status (0 clean stop, 1 fatal error, 2 usage). */
int cdc_run_main(int argc, char **argv);

#endif
