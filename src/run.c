/* run.c - `cdctail run`: the command line, signals and reloads around the
 * service loop (service.h). */
#include "run.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "metrics.h"
#include "metrics_http.h"
#include "service.h"
#include "settings.h"
#include "sink.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile sig_atomic_t g_stop, g_hup;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		g_hup = 1;
	else
		g_stop = 1;
}

/* Where the configuration comes from, to read it again on SIGHUP. */
typedef struct config_src {
	const char *path;        /* NULL: --set only */
	const char *const *sets;
	int nsets;
} config_src;

/* Reads the configuration: the file, then the --set overrides. NULL with
 * errstr on failure; *usage says a --set was malformed. */
static cdc_config *config_read(const config_src *src, int *usage, char *errstr, size_t errlen)
{
	cdc_config *cfg = cdc_config_new();
	int i;

	*usage = 0;
	if (!cfg) {
		cdc_error(errstr, errlen, "out of memory");
		return NULL;
	}
	if (src->path && cdc_config_load(cfg, src->path, errstr, errlen) != 0) {
		cdc_config_destroy(cfg);
		return NULL;
	}
	for (i = 0; i < src->nsets; i++)
		if (cdc_config_set(cfg, src->sets[i], errstr, errlen) != 0) {
			*usage = 1;
			cdc_config_destroy(cfg);
			return NULL;
		}
	return cfg;
}

/* The log file named by a configuration (NULL: stderr). */
static const char *log_file_of(const cdc_config *c)
{
	return cdc_config_get(c, "log_file", NULL);
}

/* SIGHUP: reopens the log, reads the configuration again and checks it as
 * far as can be without stopping (keys, values, librdkafka's properties).
 * Returns the new configuration when it is good (the service stops and
 * starts again with it), else NULL after logging why: the service goes on
 * with the configuration it has. */
static cdc_config *reload_check(void *opaque)
{
	const config_src *src = opaque;
	char errstr[CDC_ERRSTR_SIZE];
	cdc_settings *ns = malloc(sizeof(*ns));
	cdc_config *cfg;
	int usage;

	g_hup = 0;
	cfg = config_read(src, &usage, errstr, sizeof(errstr));
	if (cfg)
		cdc_log_open(log_file_of(cfg));
	if (cfg && ns && cdc_settings_load(ns, cfg, errstr, sizeof(errstr)) == 0 &&
	    (!ns->kafka || cdc_sink_kafka_check(ns->props, errstr, sizeof(errstr)) == 0)) {
		free(ns);
		return cfg;
	}
	cdc_log(CDC_LOG_ERR, "SIGHUP: log reopened; configuration NOT reloaded: %s; going on with the running one",
		cfg && !ns ? "out of memory" : errstr);
	free(ns);
	cdc_config_destroy(cfg);
	return NULL;
}

/* The HTTP server of metrics.listen: it outlives the service's restarts
 * inside the process, so scrapes go on through a reload. */
typedef struct http_state {
	cdc_metrics_http *h;
	char listen[80];         /* the value served, "" when none */
} http_state;

/* Starts a server for value into *out (logged once it serves). 0, or -1
 * with errstr. */
static int http_open(cdc_metrics_http **out, cdc_metrics *m, const char *value, char *errstr, size_t errlen)
{
	cdc_listen_addr a;

	*out = NULL;
	if (cdc_metrics_listen_parse(value, &a, errstr, errlen) != 0 ||
	    cdc_metrics_http_start(out, m, &a, errstr, errlen) != 0)
		return -1;
	cdc_log(CDC_LOG_INFO, "metrics served at http://%s/metrics (metrics.listen = %s)", a.where, value);
	return 0;
}

/* On a reload, when the new address could not be taken: the old one again
 * (it was stopped to free its port), or none. */
static void http_fall_back(http_state *st, cdc_metrics *m, const char *want, const char *why)
{
	char errstr[CDC_ERRSTR_SIZE];

	cdc_log(CDC_LOG_ERR, "SIGHUP: %s; metrics.listen = %s NOT applied", why, want);
	if (st->h) {
		cdc_log(CDC_LOG_INFO, "metrics still served as metrics.listen = %s", st->listen);
		return;
	}
	if (st->listen[0] && http_open(&st->h, m, st->listen, errstr, sizeof(errstr)) != 0) {
		cdc_log(CDC_LOG_ERR, "%s; no metrics over HTTP until the next reload", errstr);
		st->listen[0] = '\0';
	}
}

/* Where metrics.listen was given, for messages: "--set" when an override
 * set it (the last word), else the configuration file. */
static const char *listen_origin(const config_src *src)
{
	static const char key[] = "metrics.listen";
	int i;

	for (i = src->nsets; i-- > 0;) {
		const char *s = src->sets[i];

		while (*s == ' ' || *s == '\t')
			s++;
		if (strncmp(s, key, sizeof(key) - 1) == 0 && strchr(" \t=", s[sizeof(key) - 1]))
			return "--set";
	}
	return src->path ? src->path : "--set";
}

/* Makes the server match cfg's metrics.listen: nothing when unchanged; a
 * new address is taken before the old one is let go (or, when the old one
 * holds the port, right after). At the start (first) a failure is fatal:
 * -1, logged with where the value came from (src). On a reload it is
 * logged and the old server kept: 0. */
static int http_apply(http_state *st, cdc_metrics *m, const cdc_config *cfg, const config_src *src, int first)
{
	const char *want = cdc_config_get(cfg, "metrics.listen", NULL);
	char errstr[CDC_ERRSTR_SIZE];
	cdc_metrics_http *nh = NULL;

	if (strcmp(want ? want : "", st->listen) == 0)
		return 0;
	if (!want) {
		cdc_metrics_http_stop(st->h);
		st->h = NULL;
		st->listen[0] = '\0';
		cdc_log(CDC_LOG_INFO, "metrics.listen removed: metrics no longer served over HTTP");
		return 0;
	}
	if (http_open(&nh, m, want, errstr, sizeof(errstr)) != 0 && st->h) {
		cdc_metrics_http_stop(st->h);
		st->h = NULL;
		http_open(&nh, m, want, errstr, sizeof(errstr));
	}
	if (!nh) {
		if (first) {
			cdc_log(CDC_LOG_ERR, "%s: %s", listen_origin(src), errstr);
			return -1;
		}
		http_fall_back(st, m, want, errstr);
		return 0;
	}
	cdc_metrics_http_stop(st->h);
	st->h = nh;
	snprintf(st->listen, sizeof(st->listen), "%s", want);
	return 0;
}

static void run_usage(FILE *f)
{
	fputs("Usage: cdctail run --config FILE [--set key=value]...\n"
	      "Tails cdc_raw into Kafka (or JSON lines) until SIGTERM; SIGHUP reopens the\n"
	      "log and re-reads the configuration (a bad one is refused and the running\n"
	      "one kept). Keys: docs/run.md.\n", f);
}

/* Parses the options into src (sets has room for 64). 0, or the exit code
 * to return (help: 0 printed as -1; usage errors 2). */
static int parse_args(int argc, char **argv, config_src *src, const char **sets)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "c:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': src->path = optarg; break;
		case 's':
			if (src->nsets >= 64) {
				fputs("cdctail run: too many --set\n", stderr);
				return 2;
			}
			sets[src->nsets++] = optarg;
			break;
		case 'h': run_usage(stdout); return -1;
		default: run_usage(stderr); return 2;
		}
	}
	if (optind != argc || (!src->path && !src->nsets)) {
		run_usage(stderr);
		return 2;
	}
	return 0;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int cdc_run_main(int argc, char **argv)
{
	const char *sets[64];
	config_src src = { NULL, sets, 0 };
	cdc_service_ctl ctl = { &g_stop, &g_hup, reload_check, &src };
	http_state http = { NULL, "" };
	char errstr[CDC_ERRSTR_SIZE];
	cdc_metrics *m;
	cdc_config *cfg;
	int rc, usage, reloads = 0;

	rc = parse_args(argc, argv, &src, sets);
	if (rc)
		return rc < 0 ? 0 : rc;
	install_signals();
	cdc_log_init();
	cfg = config_read(&src, &usage, errstr, sizeof(errstr));
	if (!cfg) {
		cdc_log(CDC_LOG_ERR, "%s", errstr);
		return usage ? 2 : 1;
	}
	m = cdc_metrics_new();
	if (!m) {
		cdc_log(CDC_LOG_ERR, "out of memory");
		cdc_config_destroy(cfg);
		return 1;
	}
	cdc_log_open(log_file_of(cfg));
	if (http_apply(&http, m, cfg, &src, 1) != 0) {
		cdc_log_close();
		cdc_config_destroy(cfg);
		cdc_metrics_destroy(m);
		return 1;
	}
	for (;;) {
		cdc_config *next = NULL;

		g_hup = 0;
		if (reloads++)
			cdc_log(CDC_LOG_INFO, "SIGHUP: log reopened, configuration re-read");
		rc = cdc_service_run(cfg, &ctl, m, &next);
		cdc_config_destroy(cfg);
		if (rc != 2)
			break;
		cfg = next;
		http_apply(&http, m, cfg, &src, 0);
	}
	cdc_metrics_http_stop(http.h);
	cdc_log_close();
	cdc_metrics_destroy(m);
	return rc;
}
