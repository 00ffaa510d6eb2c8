/* cli.c - command line parsing and dispatch. */
#include "cli.h"
#include "apply.h"
#include "dump.h"
#include "replay.h"
#include "run.h"
#include "cleanup.h"
#include "relay.h"
#include "schema_fetch.h"
#include "snapshot.h"
#include "err.h"
#include "log.h"
#include "schema.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

/* The overview: every command in one line or two, and where the details
 * are (`cdctail COMMAND --help`, cdctail(1)). */
static void usage(FILE *f)
{
	fputs("Usage: cdctail COMMAND [options] [args]\n"
	      "       cdctail COMMAND --help      that command's options\n"
	      "       cdctail --version\n"
	      "\n"
	      "Commands:\n"
	      "  run --config FILE [--set key=value]...\n"
	      "        the node service: tails cdc_raw into Kafka, at least once\n"
	      "  replay --schema FILE [--kafka BROKERS] [--since T] [--until T] DIR|SEGMENT...\n"
	      "        archived segments into Kafka or JSON lines\n"
	      "  snapshot (--table KS.TABLE | --keyspace KS)... [--state FILE] [--kafka BROKERS]\n"
	      "        a live node's tables, one event per row, into Kafka or JSON lines\n"
	      "  relay --kafka BROKERS --from TEMPLATE --to TEMPLATE --state-dir DIR [--since T]\n"
	      "        [--dedup|--min-copies N]  copies the temporary topics into the final ones\n"
	      "  apply --state-dir DIR [--host H] [--kafka BROKERS] [--keyspace-map SRC=DST] [FILE...]\n"
	      "        applies events to a target Cassandra (another cluster or keyspace)\n"
	      "  cleanup --cdc-raw DIR --state-dir DIR [--max-bytes N] [--dry-run]\n"
	      "        for cron: removes the segments whose events Kafka holds\n"
	      "  schema export [--host H] [--tls --ca-file F] [--keyspace K]... [--output FILE]\n"
	      "        the live node's schema as JSON, for --schema\n"
	      "  dump [--index] [--ahead] [--hex] [--no-entries] FILE...\n"
	      "        lists commitlog segments and _cdc.idx files\n"
	      "  decode --schema FILE [--index] SEGMENT...\n"
	      "        like dump, and decodes every partition update\n"
	      "  version   prints the version\n"
	      "  help [COMMAND]\n"
	      "        this text, or COMMAND's\n"
	      "\n"
	      "Exit codes: 0 all input read cleanly, 1 some input had faults (reported on\n"
	      "stderr with file and offset), 2 usage error; cleanup also 3 (a limit not met).\n"
	      "The manual: man cdctail, man cdctail.conf.\n",
	      f);
}

/* `cdctail dump --help`. */
static void dump_usage(FILE *f)
{
	fputs("Usage: cdctail dump [--index] [--ahead] [--hex] [--no-entries] [--schema FILE] FILE...\n"
	      "\n"
	      "Lists commitlog segments (descriptor, sync sections, entries with table id and\n"
	      "partition key, each with its CRC verdict: crc=ok, or crc=BAD stored=...\n"
	      "computed=... before the error) and _cdc.idx files.\n"
	      "\n"
	      "  --index         stop each segment at the offset in its _cdc.idx\n"
	      "  --ahead         with --index: read on past it as run's read-ahead does,\n"
	      "                  marking the entries not yet covered ahead=yes\n"
	      "  --hex           also print each entry body in hex\n"
	      "  --no-entries    list sections only\n"
	      "  --schema FILE   also decode each entry (as `cdctail decode`)\n"
	      "\n"
	      "Examples:\n"
	      "  cdctail dump /var/lib/cassandra/cdc_raw/CommitLog-*.log\n"
	      "  cdctail dump --index --no-entries /var/lib/cassandra/cdc_raw/*.log\n"
	      "\n"
	      "Exit codes: 0 every file read cleanly, 1 a file had faults (file and offset on\n"
	      "stderr), 2 usage error.\n",
	      f);
}

/* `cdctail decode --help`. */
static void decode_usage(FILE *f)
{
	fputs("Usage: cdctail decode --schema FILE [--index] [--hex] [--no-entries] SEGMENT...\n"
	      "\n"
	      "Like dump, and decodes each entry's partition updates with the table schema\n"
	      "(from `cdctail schema export`): rows, cells, timestamps, TTLs, tombstones.\n"
	      "\n"
	      "  --schema FILE   the schema JSON (required)\n"
	      "  --index         stop each segment at the offset in its _cdc.idx\n"
	      "  --hex           also print each entry body in hex\n"
	      "  --no-entries    list sections only\n"
	      "\n"
	      "Example:\n"
	      "  cdctail decode --schema schema.json /var/lib/cassandra/cdc_raw/CommitLog-7-1.log\n"
	      "\n"
	      "Exit codes: 0 every file read cleanly, 1 a file had faults (file and offset on\n"
	      "stderr), 2 usage error.\n",
	      f);
}

/* `cdctail replay --help`. */
static void replay_usage(FILE *f)
{
	fputs("Usage: cdctail replay --schema FILE [--output FILE] [--node NAME] [--ignore-index]\n"
	      "         [--format cdctail|trigger] [--kafka BROKERS [-X prop=value]...\n"
	      "         [--topic-template '{prefix}.{keyspace}.{table}'] [--topic-prefix P]]\n"
	      "         [--keyspace KS]... [--table KS.TABLE]... [--since T] [--until T]\n"
	      "         [--max-in-flight N] [--max-in-flight-bytes SIZE]\n"
	      "         [--progress|--no-progress] [--skipped] DIR|SEGMENT...\n"
	      "\n"
	      "Decodes archived segments (a directory's CommitLog-*.log, in id order) into one\n"
	      "JSON event per row-level change, written as JSON lines to stdout or FILE, or\n"
	      "sent to Kafka. A live segment is read up to its _cdc.idx offset.\n"
	      "\n"
	      "  --schema FILE          the schema JSON from `cdctail schema export` (required)\n"
	      "  --output FILE          write JSON lines to FILE instead of stdout\n"
	      "  --node NAME            source.node in the events (default: the host name)\n"
	      "  --ignore-index         read live segments whole, past their _cdc.idx offset\n"
	      "  --format F             cdctail (default) or trigger (the seed trigger's shape)\n"
	      "  --kafka BROKERS        send each event to its table's topic (idempotent\n"
	      "                         producer, acks=all, key = the partition key)\n"
	      "  -X prop=value          a librdkafka property (repeatable)\n"
	      "  --topic-template T     topic names (default {prefix}.{keyspace}.{table})\n"
	      "  --topic-prefix P       {prefix} in the template (default cdctail)\n"
	      "  --keyspace KS          keep only events of keyspace KS (repeatable)\n"
	      "  --table KS.TABLE       keep only events of that table (repeatable)\n"
	      "  --since T, --until T   keep events whose write time is in [since, until):\n"
	      "                         microseconds, or ISO 8601 (2026-11-25T06:00:00.5Z;\n"
	      "                         UTC without a zone)\n"
	      "  --progress, --no-progress\n"
	      "                         a progress line on stderr (default: when a terminal)\n"
	      "  --skipped              only the entries `cdctail run` could not deliver, as\n"
	      "                         listed in SEGMENT.skipped beside each segment (its\n"
	      "                         quarantine_dir)\n"
	      "  --max-in-flight N      with --kafka: reading waits while N messages are\n"
	      "                         unacknowledged (default 10000)\n"
	      "  --max-in-flight-bytes SIZE\n"
	      "                         ... or while their payload and key bytes reach SIZE\n"
	      "                         (K, M, G; default 16M)\n"
	      "\n"
	      "Examples:\n"
	      "  cdctail replay --schema schema.json /archive/cdc_raw > events.jsonl\n"
	      "  cdctail replay --schema schema.json --kafka kafka-1:9092 --table shop.orders \\\n"
	      "      --since 2026-11-25T06:00:00Z /archive/cdc_raw\n"
	      "\n"
	      "Exit codes: 0 all read and written (with --kafka: every event acknowledged),\n"
	      "1 a fault or a failed delivery, 2 usage error.\n",
	      f);
}

/* `cdctail dump` / `cdctail decode`: lists every file; exit 1 if any had a
 * fault. */
static int cmd_dump(int argc, char **argv, int decode)
{
	static const struct option longopts[] = {
		{ "index", no_argument, NULL, 'i' },
		{ "ahead", no_argument, NULL, 'a' },
		{ "hex", no_argument, NULL, 'x' },
		{ "no-entries", no_argument, NULL, 'n' },
		{ "schema", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	cdc_dump_opts opts = { .entries = 1 };
	cdc_dump_stats stats = { 0 };
	cdc_schema *schema = NULL;
	const char *schema_path = NULL;
	char errstr[CDC_ERRSTR_SIZE];
	int c, i, bad = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "iaxnhs:", longopts, NULL)) != -1) {
		switch (c) {
		case 's': schema_path = optarg; break;
		case 'i': opts.use_index = 1; break;
		case 'a': opts.use_index = opts.read_ahead = 1; break;
		case 'x': opts.hex_bodies = 1; break;
		case 'n': opts.entries = 0; break;
		case 'h': (decode ? decode_usage : dump_usage)(stdout); return 0;
		default: (decode ? decode_usage : dump_usage)(stderr); return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "cdctail %s: no FILE given\n", decode ? "decode" : "dump");
		(decode ? decode_usage : dump_usage)(stderr);
		return 2;
	}
	if (decode && !schema_path) {
		fputs("cdctail decode: --schema FILE is required\n", stderr);
		return 2;
	}
	if (schema_path) {
		schema = cdc_schema_new();
		if (!schema || cdc_schema_load_file(schema, schema_path, errstr, sizeof(errstr)) != 0) {
			cdc_log(CDC_LOG_ERR, "%s", schema ? errstr : "out of memory");
			cdc_schema_destroy(schema);
			return 1;
		}
		opts.schema = schema;
	}
	for (i = optind; i < argc; i++)
		if (cdc_dump_file(stdout, stderr, argv[i], &opts, &stats) != 0)
			bad = 1;
	cdc_schema_destroy(schema);
	fprintf(stderr, "cdctail %s: %lu segments, %lu sections, %lu entries, %lu faults\n",
		decode ? "decode" : "dump", stats.segments, stats.sections, stats.entries, stats.errors);
	return bad ? 1 : 0;
}

/* `cdctail replay`: events of archived segments as JSON lines; exit 1 when
 * any input had a fault. */
/* Parses a write time: microseconds since the epoch, or ISO 8601
 * YYYY-MM-DD[(T| )HH:MM[:SS[.frac]]][Z|+HH:MM|-HH:MM] (UTC when no zone).
 * Returns 0 and *us, or -1. */
static int parse_time(const char *s, int64_t *us)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, n = 0, k;
	int64_t frac = 0, scale = 1000000, off = 0, days;
	char *end;

	if (s[0] == '-' || (s[0] >= '0' && s[0] <= '9' && !strchr(s, '-'))) {
		long long v;

		errno = 0;
		v = strtoll(s, &end, 10);
		if (errno || end == s || *end)
			return -1;
		*us = v;
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || mo < 1 || mo > 12 || d < 1 || d > 31)
		return -1;
	s += n;
	if (*s == 'T' || *s == ' ') {
		n = 0;
		if (sscanf(s + 1, "%2d:%2d%n", &h, &mi, &n) != 2)
			return -1;
		s += 1 + n;
		if (*s == ':') {
			n = 0;
			if (sscanf(s + 1, "%2d%n", &sec, &n) != 1)
				return -1;
			s += 1 + n;
			if (*s == '.') {
				for (k = 0, s++; *s >= '0' && *s <= '9'; s++, k++)
					if (k < 6) {
						frac = frac * 10 + (*s - '0');
						scale /= 10;
					}
				frac *= scale;
			}
		}
	}
	if (*s == '+' || *s == '-') {
		int oh, om;

		if (sscanf(s + 1, "%2d:%2d%n", &oh, &om, &n) != 2 || s[1 + n] != '\0')
			return -1;
		off = (s[0] == '+' ? 1 : -1) * ((int64_t)oh * 3600 + om * 60);
	} else if (*s == 'Z') {
		if (s[1])
			return -1;
	} else if (*s) {
		return -1;
	}
	if (h > 23 || mi > 59 || sec > 60)
		return -1;
	/* days from civil (proleptic Gregorian), without timegm's TZ games */
	y -= mo <= 2;
	{
		int64_t era = (y >= 0 ? y : y - 399) / 400;
		int64_t yoe = y - era * 400;
		int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
		int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

		days = era * 146097 + doe - 719468;
	}
	*us = ((days * 86400 + h * 3600 + mi * 60 + sec) - off) * 1000000 + frac;
	return 0;
}

/* A positive count or size with an optional K, M or G suffix: 0, or -1. */
static int parse_size(const char *s, size_t *out)
{
	unsigned long long v, mul = 1;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-' || v == 0)
		return -1;
	if (*end == 'K' || *end == 'M' || *end == 'G')
		mul = 1ULL << (*end == 'K' ? 10 : *end == 'M' ? 20 : 30), end++;
	if (*end || v > (SIZE_MAX >> 30))
		return -1;
	*out = (size_t)(v * mul);
	return 0;
}

static int cmd_replay(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "schema", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "node", required_argument, NULL, 'N' },
		{ "ignore-index", no_argument, NULL, 'I' },
		{ "format", required_argument, NULL, 'F' },
		{ "kafka", required_argument, NULL, 'k' },
		{ "topic-template", required_argument, NULL, 'T' },
		{ "topic-prefix", required_argument, NULL, 'P' },
		{ "keyspace", required_argument, NULL, 'K' },
		{ "table", required_argument, NULL, 't' },
		{ "since", required_argument, NULL, 'S' },
		{ "until", required_argument, NULL, 'U' },
		{ "progress", no_argument, NULL, 'p' },
		{ "no-progress", no_argument, NULL, 'q' },
		{ "skipped", no_argument, NULL, 'x' },
		{ "max-in-flight", required_argument, NULL, 'm' },
		{ "max-in-flight-bytes", required_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	cdc_replay_opts o = { 0 };
	cdc_replay_stats st;
	const char *schema_path = NULL, *output = NULL;
	char errstr[CDC_ERRSTR_SIZE];
	cdc_schema *schema;
	const char *props[66], *only[66];
	char bootstrap[512];
	int c, rc, nprops = 0, nonly = 0;

	o.progress = isatty(2);
	optind = 1;
	while ((c = getopt_long(argc, argv, "s:o:N:IF:k:X:T:P:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'K':
		case 't':
			if (nonly >= 64 || (c == 't' && !strchr(optarg, '.'))) {
				fprintf(stderr, "cdctail replay: %s\n", nonly >= 64 ? "too many --keyspace/--table" :
					"--table takes KEYSPACE.TABLE");
				return 2;
			}
			only[nonly++] = optarg;
			only[nonly] = NULL;
			o.only = only;
			break;
		case 'S':
		case 'U':
			if (parse_time(optarg, c == 'S' ? &o.since : &o.until) != 0) {
				fprintf(stderr, "cdctail replay: --%s '%s' is neither microseconds nor an ISO 8601 time\n",
					c == 'S' ? "since" : "until", optarg);
				return 2;
			}
			*(c == 'S' ? &o.has_since : &o.has_until) = 1;
			break;
		case 'p': o.progress = 1; break;
		case 'q': o.progress = 0; break;
		case 'x': o.skipped_only = 1; break;
		case 'm':
		case 'B':
			if (parse_size(optarg, c == 'm' ? &o.max_in_flight : &o.max_in_flight_bytes) != 0) {
				fprintf(stderr, "cdctail replay: --%s '%s' is not a positive %s\n",
					c == 'm' ? "max-in-flight" : "max-in-flight-bytes", optarg,
					c == 'm' ? "number" : "size (K, M, G)");
				return 2;
			}
			break;
		case 'k':
			snprintf(bootstrap, sizeof(bootstrap), "bootstrap.servers=%s", optarg);
			if (nprops < 64)
				props[nprops++] = bootstrap;
			o.kafka_props = props;
			break;
		case 'X':
			if (nprops >= 64) {
				fputs("cdctail replay: too many -X properties\n", stderr);
				return 2;
			}
			props[nprops++] = optarg;
			o.kafka_props = props;
			break;
		case 'T': o.topic_template = optarg; break;
		case 'P': o.topic_prefix = optarg; break;
		case 'F':
			if (strcmp(optarg, "trigger") == 0) {
				o.trigger_format = 1;
			} else if (strcmp(optarg, "cdctail") != 0) {
				fprintf(stderr, "cdctail replay: --format is cdctail or trigger, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 's': schema_path = optarg; break;
		case 'o': output = optarg; break;
		case 'N': o.node = optarg; break;
		case 'I': o.ignore_index = 1; break;
		case 'h': replay_usage(stdout); return 0;
		default: replay_usage(stderr); return 2;
		}
	}
	if (!schema_path || optind >= argc) {
		fputs("cdctail replay: --schema FILE and at least one DIR or SEGMENT are required\n", stderr);
		return 2;
	}
	props[nprops] = NULL;
	schema = cdc_schema_new();
	if (!schema || cdc_schema_load_file(schema, schema_path, errstr, sizeof(errstr)) != 0) {
		cdc_log(CDC_LOG_ERR, "%s", schema ? errstr : "out of memory");
		cdc_schema_destroy(schema);
		return 1;
	}
	o.schema = schema;
	o.out = output ? fopen(output, "w") : stdout;
	if (!o.out) {
		cdc_log(CDC_LOG_ERR, "%s: cannot open for writing", output);
		cdc_schema_destroy(schema);
		return 1;
	}
	rc = cdc_replay(&o, argv + optind, argc - optind, &st, errstr, sizeof(errstr));
	if (rc != 0)
		cdc_log(CDC_LOG_ERR, "%s", errstr);
	if (output && fclose(o.out) != 0 && rc == 0) {
		cdc_log(CDC_LOG_ERR, "%s: write failed", output);
		rc = -1;
	}
	fprintf(stderr, "cdctail replay: %lu segments, %lu entries, %lu events, %lu entries of tables not in the schema, %lu faults",
		st.segments, st.entries, st.events, st.unknown_table_entries, st.faults);
	if (o.only || o.has_since || o.has_until)
		fprintf(stderr, ", %lu events filtered out", st.filtered);
	if (o.kafka_props)
		fprintf(stderr, ", %lu delivered to Kafka, %lu delivery failures", st.delivered, st.delivery_failures);
	fputc('\n', stderr);
	cdc_schema_destroy(schema);
	return rc != 0 || st.faults || st.delivery_failures ? 1 : 0;
}

/* `cdctail run --help`: the options, the files, the signals. */
static void run_usage(FILE *f)
{
	fputs("Usage: cdctail run --config FILE [--set key=value]...\n"
	      "\n"
	      "The node service: tails Cassandra's cdc_raw into Kafka (or JSON lines without\n"
	      "Kafka), at least once, and removes each segment once Kafka holds all of it.\n"
	      "Runs until SIGTERM or SIGINT (in-flight messages are flushed and the\n"
	      "checkpoint saved); SIGHUP reopens the log and re-reads the configuration (a\n"
	      "bad one is refused and the running one kept). Keys: man cdctail.conf.\n"
	      "\n"
	      "  --config FILE      the configuration (key = value lines)\n"
	      "  --set key=value    set one key, over the file (repeatable)\n"
	      "\n"
	      "Example:\n"
	      "  cdctail run --config /etc/cdctail/cdctail.conf --set log_file=/tmp/cdctail.log\n"
	      "\n"
	      "Exit codes: 0 stopped by SIGTERM or SIGINT, 1 a fatal error or a configuration\n"
	      "that does not load (logged), 2 usage error.\n",
	      f);
}

/* `cdctail run`: its help here, the service in run.c. */
static int cmd_run(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			run_usage(stdout);
			return 0;
		}
	return cdc_run_main(argc, argv);
}

static int cmd_dump_only(int argc, char **argv)
{
	return cmd_dump(argc, argv, 0);
}

static int cmd_decode(int argc, char **argv)
{
	return cmd_dump(argc, argv, 1);
}

/* `cdctail schema [export]`: the subcommand word stays in argv. */
static int cmd_schema(int argc, char **argv)
{
	return cdc_schema_export_main(argc, argv);
}

/* The commands, by their first word. Each entry point gets argv[0] = the
 * command's word and prints its own help for --help. */
static const struct {
	const char *name;
	int (*main)(int argc, char **argv);
} commands[] = {
	{ "run", cmd_run },
	{ "replay", cmd_replay },
	{ "snapshot", cdc_snapshot_main },
	{ "cleanup", cdc_cleanup_main },
	{ "relay", cdc_relay_main },
	{ "apply", cdc_apply_main },
	{ "schema", cmd_schema },
	{ "dump", cmd_dump_only },
	{ "decode", cmd_decode },
};

/* Runs command `name` with argv (argv[0] = name); -1 when there is none. */
static int dispatch(const char *name, int argc, char **argv, int *rc)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(name, commands[i].name) == 0) {
			*rc = commands[i].main(argc, argv);
			return 0;
		}
	return -1;
}

/* `cdctail help [COMMAND]`: the overview, or COMMAND's own help. */
static int cmd_help(int argc, char **argv)
{
	char *args[4];
	int rc;

	if (argc < 2) {
		usage(stdout);
		return 0;
	}
	args[0] = argv[1];
	if (strcmp(argv[1], "schema") == 0) {
		args[1] = (char *)"export";
		args[2] = (char *)"--help";
		args[3] = NULL;
		return cmd_schema(3, args);
	}
	args[1] = (char *)"--help";
	args[2] = NULL;
	if (dispatch(argv[1], 2, args, &rc) == 0)
		return rc;
	fprintf(stderr, "cdctail help: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return 2;
}

int cdc_cli_parse_time(const char *s, int64_t *us)
{
	return parse_time(s, us);
}

int cdc_cli_parse_size(const char *s, size_t *out)
{
	return parse_size(s, out);
}

int cdc_cli_main(int argc, char **argv)
{
	const char *cmd;
	int rc;

	cdc_log_init();
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (dispatch(cmd, argc - 1, argv + 1, &rc) == 0)
		return rc;
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
		printf("cdctail %s\n", CDCTAIL_VERSION);
		return 0;
	}
	if (strcmp(cmd, "help") == 0)
		return cmd_help(argc - 1, argv + 1);
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	cdc_log(CDC_LOG_ERR, "unknown command '%s'", cmd);
	usage(stderr);
	return 2;
}
