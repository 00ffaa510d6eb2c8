/* service.h - the loop of `cdctail run` (docs/run.md): cdc_raw → Kafka, at
 * least once.
 *
 * It tails Cassandra's cdc_raw (watch.h), reads each segment in id order up
 * to its _cdc.idx offset (segment.h), decodes (mutation.h), renders events
 * (event.h), sends them (outbox.h, sink.h), tracks acknowledgements
 * (acktrack.h), saves the position (checkpoint.h) and releases a segment
 * only when Cassandra finished it, Kafka acknowledged all of it and the
 * checkpoint saying so is durable (cdcraw.h). */
#ifndef CDCTAIL_SERVICE_H
#define CDCTAIL_SERVICE_H

#include <signal.h>

#include "config.h"
#include "metrics.h"

/* How the caller steers a running service. */
typedef struct cdc_service_ctl {
	volatile sig_atomic_t *stop;  /* set (by a signal handler): stop cleanly */
	volatile sig_atomic_t *hup;   /* set: reopen the log, reload the configuration */
	/* Called when *hup is set: clears it, and returns a checked new
	 * configuration (the service then stops and returns it), or NULL to go
	 * on with the running one. */
	cdc_config *(*reload)(void *opaque);
	void *opaque;
} cdc_service_ctl;

/* Runs the service with configuration c until told to stop. m keeps the
 * counters across reloads. Returns 0 after a stop (staged messages handed
 * over, Kafka waited for up to shutdown_timeout, checkpoint saved), 2 with
 * *next set after the same for a good reload (the caller runs again with
 * it), 1 on a fatal error (logged). */
int cdc_service_run(const cdc_config *c, const cdc_service_ctl *ctl, cdc_metrics *m, cdc_config **next);

#endif
