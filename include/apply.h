/* apply.h - `cdctail apply`: events from Kafka (a consumer group) or JSON
 * lines applied to a target Cassandra (docs/apply.md): statements built
 * from each event's structured fields (applyplan.h), prepared once and sent
 * pipelined (cql.h), list appends applied once per event id through a
 * durable record in the state directory (idstore.h), Kafka offsets
 * committed only past events the target acknowledged (apply_src.h),
 * refused writes in a dead-letter file, metrics (apply_stats.h). */
#ifndef CDCTAIL_APPLY_H
#define CDCTAIL_APPLY_H

/* `cdctail apply ...` with argv[0] = "apply": the process exit code (0 all
 * input applied or dead-lettered and, for files, read to its end; 1 a fatal
 * error; 2 usage). Errors go to stderr as "cdctail: ...". */
int cdc_apply_main(int argc, char **argv);

#endif
