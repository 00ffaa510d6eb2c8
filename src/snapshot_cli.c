/* snapshot_cli.c - the command line of `cdctail snapshot` (the work is in
 * snapshot.c). */
#include "cli.h"
#include "cql.h"
#include "err.h"
#include "log.h"
#include "schema_fetch.h"
#include "snapshot.h"
#include "tls.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void snapshot_usage(FILE *f)
{
	fputs("Usage: cdctail snapshot (--table KS.TABLE | --keyspace KS)... [--state FILE]\n"
	      "         [--host H] [--port P] [--user U --password-file F] [--tls [--ca-file F]\n"
	      "         [--cert-file F --key-file F] [--server-name N] [--no-verify-host]]\n"
	      "         [--output FILE | --kafka BROKERS [-X prop=value]...\n"
	      "         [--topic-template '{prefix}.{keyspace}.{table}'] [--topic-prefix P]]\n"
	      "         [--ranges N] [--page-size N] [--consistency CL] [--node NAME]\n"
	      "         [--timeout-ms MS]"
	      " [--max-in-flight N] [--max-in-flight-bytes SIZE]\n"
	      "         [--progress|--no-progress]\n"
	      "\n"
	      "Reads tables of a live node through CQL and writes one event per row (and one\n"
	      "per partition's static row) in the format of the change events, with every\n"
	      "cell's write time and TTL, marked \"source\":{\"snapshot\":true,...}: as JSON\n"
	      "lines to stdout or FILE, or to Kafka. Its start time is printed and saved in\n"
	      "the state file. Token range by token range; with --state, a snapshot stopped\n"
	      "at any moment (even SIGKILL) resumes with the first range not yet delivered\n"
	      "when run again with the same options. See docs/snapshot.md.\n"
	      "\n"
	      "  --table KS.TABLE       a table to read (repeatable)\n"
	      "  --keyspace KS          every table of KS (repeatable)\n"
	      "  --state FILE           the progress and start time, saved after each range\n"
	      "                         (durably); an existing FILE resumes that snapshot\n"
	      "  --host H, --port P     the node (default 127.0.0.1, 9042)\n"
	      "  --user U, --password-file F\n"
	      "                         PasswordAuthenticator (the password: the file's first\n"
	      "                         line, else $CDCTAIL_CQL_PASSWORD)\n"
	      "  --tls ...              CQL over TLS, as `cdctail schema export`\n"
	      "  --output FILE          JSON lines to FILE (cut back to what the state file\n"
	      "                         recorded when resuming) instead of stdout\n"
	      "  --kafka BROKERS        send each event to its table's topic (key = the\n"
	      "                         partition key); -X prop=value: librdkafka properties\n"
	      "  --topic-template T     topic names (default {prefix}.{keyspace}.{table})\n"
	      "  --topic-prefix P       {prefix} in the template (default cdctail)\n"
	      "  --ranges N             token ranges per table (default 256): what a resume\n"
	      "                         may deliver twice is at most one range\n"
	      "  --page-size N          rows per CQL page (default 1000)\n"
	      "  --consistency CL       of the reads: ONE, LOCAL_ONE, QUORUM, LOCAL_QUORUM\n"
	      "                         (default), ALL, ...\n"
	      "  --node NAME            source.node in the events (default: --host)\n"
	      "  --timeout-ms MS        each CQL request (default 10000)\n"
	      "  --max-in-flight N, --max-in-flight-bytes SIZE\n"
	      "                         with --kafka: reading waits while N messages or SIZE\n"
	      "                         bytes (K, M, G) are unacknowledged (10000, 16M)\n"
	      "  --progress, --no-progress\n"
	      "                         a progress line on stderr (default: when a terminal)\n"
	      "\n"
	      "Examples:\n"
	      "  cdctail snapshot --host 10.0.0.5 --table shop.orders --state orders.state \\\n"
	      "      --kafka kafka-1:9092\n"
	      "  cdctail snapshot --keyspace shop --state shop.state --output shop.jsonl\n"
	      "\n"
	      "Exit codes: 0 every table read and every event delivered, 1 an error (the\n"
	      "node, a table, a query, a delivery; what was recorded stays recorded: run it\n"
	      "again to resume), 2 usage error.\n",
	      f);
}

/* A positive number, at most max: 0, or -1. */
static int parse_count(const char *s, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v <= 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

/* Whether s is KS.TABLE with two non-empty names. */
static int table_name_ok(const char *s)
{
	const char *dot = strchr(s, '.');

	return dot && dot != s && dot[1] && !strchr(dot + 1, '.');
}

int cdc_snapshot_main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "table", required_argument, NULL, 't' },
		{ "keyspace", required_argument, NULL, 'k' },
		{ "state", required_argument, NULL, 's' },
		{ "host", required_argument, NULL, 'H' },
		{ "port", required_argument, NULL, 'p' },
		{ "user", required_argument, NULL, 'u' },
		{ "password-file", required_argument, NULL, 'W' },
		{ "tls", no_argument, NULL, 'S' },
		{ "ca-file", required_argument, NULL, 'A' },
		{ "cert-file", required_argument, NULL, 'C' },
		{ "key-file", required_argument, NULL, 'Y' },
		{ "server-name", required_argument, NULL, 'n' },
		{ "no-verify-host", no_argument, NULL, 'V' },
		{ "output", required_argument, NULL, 'o' },
		{ "kafka", required_argument, NULL, 'K' },
		{ "topic-template", required_argument, NULL, 'T' },
		{ "topic-prefix", required_argument, NULL, 'P' },
		{ "ranges", required_argument, NULL, 'r' },
		{ "page-size", required_argument, NULL, 'g' },
		{ "consistency", required_argument, NULL, 'c' },
		{ "node", required_argument, NULL, 'N' },
		{ "timeout-ms", required_argument, NULL, 'm' },
		{ "max-in-flight", required_argument, NULL, 'f' },
		{ "max-in-flight-bytes", required_argument, NULL, 'B' },
		{ "progress", no_argument, NULL, 'G' },
		{ "no-progress", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	cdc_snapshot_opts o = { .host = "127.0.0.1", .port = 9042, .consistency = -1 };
	uint16_t cl;
	cdc_snapshot_stats st;
	cdc_tls_opts tls = { 0 };
	const char **tables = calloc((size_t)argc + 1, sizeof(char *));
	const char **keyspaces = calloc((size_t)argc + 1, sizeof(char *));
	const char **props = calloc((size_t)argc + 2, sizeof(char *));
	const char *pwfile = NULL;
	char errstr[CDC_ERRSTR_SIZE], bootstrap[512], *password = NULL;
	int c, nt = 0, nk = 0, np = 0, rc = 2;
	long v;

	if (!tables || !keyspaces || !props) {
		fputs("cdctail: out of memory\n", stderr);
		rc = 1;
		goto out;
	}
	o.progress = isatty(2);
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:k:s:H:p:u:o:K:X:T:P:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (!table_name_ok(optarg)) {
				fprintf(stderr, "cdctail snapshot: --table takes KEYSPACE.TABLE, not '%s'\n", optarg);
				goto out;
			}
			tables[nt++] = optarg;
			break;
		case 'k': keyspaces[nk++] = optarg; break;
		case 's': o.state_path = optarg; break;
		case 'H': o.host = optarg; break;
		case 'u': o.user = optarg; break;
		case 'W': pwfile = optarg; break;
		case 'S': tls.enabled = 1; break;
		case 'A': tls.enabled = 1; tls.ca_file = optarg; break;
		case 'C': tls.enabled = 1; tls.cert_file = optarg; break;
		case 'Y': tls.enabled = 1; tls.key_file = optarg; break;
		case 'n': tls.enabled = 1; tls.server_name = optarg; break;
		case 'V': tls.enabled = 1; tls.no_verify_host = 1; break;
		case 'o': o.output = optarg; break;
		case 'K':
			snprintf(bootstrap, sizeof(bootstrap), "bootstrap.servers=%s", optarg);
			props[np++] = bootstrap;
			o.kafka_props = props;
			break;
		case 'X':
			props[np++] = optarg;
			o.kafka_props = props;
			break;
		case 'T': o.topic_template = optarg; break;
		case 'P': o.topic_prefix = optarg; break;
		case 'N': o.node = optarg; break;
		case 'c':
			if (cdc_cql_consistency(optarg, &cl) != 0) {
				fprintf(stderr, "cdctail snapshot: --consistency '%s' is not ONE, LOCAL_ONE, QUORUM, "
					"LOCAL_QUORUM, ALL, ... \n", optarg);
				goto out;
			}
			o.consistency = cl;
			break;
		case 'G': o.progress = 1; break;
		case 'q': o.progress = 0; break;
		case 'p':
		case 'r':
		case 'g':
		case 'm':
		case 'f': {
			long max = c == 'p' ? 65535 : c == 'r' ? CDC_SNAPSHOT_MAX_RANGES : c == 'm' ? 3600000 : 1000000000;

			if (parse_count(optarg, max, &v) != 0) {
				fprintf(stderr, "cdctail snapshot: bad --%s '%s' (a number from 1 to %ld)\n",
					c == 'p' ? "port" : c == 'r' ? "ranges" : c == 'g' ? "page-size" :
					c == 'm' ? "timeout-ms" : "max-in-flight", optarg, max);
				goto out;
			}
			if (c == 'p')
				o.port = (int)v;
			else if (c == 'r')
				o.ranges = (int)v;
			else if (c == 'g')
				o.page_size = (int)v;
			else if (c == 'm')
				o.timeout_ms = (int)v;
			else
				o.max_in_flight = (size_t)v;
			break;
		}
		case 'B':
			if (cdc_cli_parse_size(optarg, &o.max_in_flight_bytes) != 0) {
				fprintf(stderr, "cdctail snapshot: --max-in-flight-bytes '%s' is not a positive size (K, M, G)\n",
					optarg);
				goto out;
			}
			break;
		case 'h':
			snapshot_usage(stdout);
			rc = 0;
			goto out;
		default:
			snapshot_usage(stderr);
			goto out;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cdctail snapshot: unexpected argument '%s'\n", argv[optind]);
		goto out;
	}
	if (!nt && !nk) {
		fputs("cdctail snapshot: at least one --table KS.TABLE or --keyspace KS is required\n", stderr);
		goto out;
	}
	if (o.kafka_props && o.output) {
		fputs("cdctail snapshot: --output and --kafka exclude each other\n", stderr);
		goto out;
	}
	if (!o.kafka_props && (o.topic_template || o.topic_prefix)) {
		fputs("cdctail snapshot: --topic-template and --topic-prefix need --kafka\n", stderr);
		goto out;
	}
	if (pwfile) {
		if (!(password = cdc_read_password_file(pwfile, errstr, sizeof(errstr)))) {
			cdc_log(CDC_LOG_ERR, "%s", errstr);
			rc = 1;
			goto out;
		}
	} else if (getenv("CDCTAIL_CQL_PASSWORD")) {
		password = strdup(getenv("CDCTAIL_CQL_PASSWORD"));
	}
	if (!!password != !!o.user) {
		fputs(o.user ? "cdctail snapshot: --user needs a password (--password-file F or CDCTAIL_CQL_PASSWORD)\n"
			     : "cdctail snapshot: a password was given but no --user\n", stderr);
		goto out;
	}
	o.password = password;
	rc = 1;
	if (tls.enabled) {
		if (cdc_tls_check(&tls, errstr, sizeof(errstr)) != 0) {
			cdc_log(CDC_LOG_ERR, "%s", errstr);
			goto out;
		}
		o.tls = &tls;
	}
	o.tables = nt ? tables : NULL;
	o.keyspaces = nk ? keyspaces : NULL;
	if (cdc_snapshot(&o, &st, errstr, sizeof(errstr)) != 0)
		cdc_log(CDC_LOG_ERR, "snapshot: %s", errstr);
	else
		rc = 0;
	fprintf(stderr, "cdctail snapshot: %lu tables, %lu ranges, %lu rows, %lu events", st.tables, st.ranges, st.rows,
		st.events);
	if (o.kafka_props)
		fprintf(stderr, ", %lu delivered to Kafka, %lu delivery failures", st.delivered, st.delivery_failures);
	fprintf(stderr, "%s\n", rc == 0 ? ", done" : ", stopped");
out:
	if (password) {
		memset(password, 0, strlen(password));
		free(password);
	}
	free(tables);
	free(keyspaces);
	free(props);
	return rc;
}
