/* settings.c - `cdctail run`'s configuration keys. */
#include "settings.h"
#include "err.h"
#include "metrics_http.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

const char *const cdc_settings_keys[] = {
	"cdc_raw", "state_dir", "schema", "cassandra.host", "cassandra.port", "cassandra.user",
	"cassandra.password_file", "node", "output", "format", "topic.template", "topic.prefix",
	"max_in_flight", "checkpoint_interval", "rescan_interval", "metrics.textfile", "metrics.interval",
	"archive_dir", "quarantine_dir", "delete_consumed", "shutdown_timeout", "log_file",
	"orphan_timeout", "allow_unsafe_kafka", "schema_refresh_interval", "cassandra.tls", "cassandra.tls.ca_file",
	"cassandra.tls.cert_file", "cassandra.tls.key_file", "cassandra.tls.server_name", "cassandra.tls.verify_host",
	"read_ahead", "read_ahead_interval", "max_in_flight_bytes", "cassandra.config",
	"cdc_total_space", "metrics.listen", NULL,
};

/* A true/false key into *out (def when unset): 0, or -1 with errstr. */
static int get_bool(const cdc_config *c, const char *key, int def, int *out, char *errstr, size_t errlen)
{
	const char *v = cdc_config_get(c, key, def ? "true" : "false");

	if (strcmp(v, "true") == 0)
		*out = 1;
	else if (strcmp(v, "false") == 0)
		*out = 0;
	else
		return cdc_error(errstr, errlen, "%s = %s: true or false", key, v);
	return 0;
}

/* The string keys, with their defaults. */
static void get_strings(cdc_settings *s, const cdc_config *c)
{
	s->cdc_raw = cdc_config_get(c, "cdc_raw", NULL);
	s->state_dir = cdc_config_get(c, "state_dir", NULL);
	s->schema = cdc_config_get(c, "schema", "live");
	s->live_schema = strcmp(s->schema, "live") == 0;
	s->host = cdc_config_get(c, "cassandra.host", "127.0.0.1");
	s->user = cdc_config_get(c, "cassandra.user", NULL);
	s->password_file = cdc_config_get(c, "cassandra.password_file", NULL);
	s->node = cdc_config_get(c, "node", NULL);
	if (!s->node && gethostname(s->node_buf, sizeof(s->node_buf) - 1) == 0)
		s->node = s->node_buf;
	s->output = cdc_config_get(c, "output", "-");
	s->topic_template = cdc_config_get(c, "topic.template", "{prefix}.{keyspace}.{table}");
	s->topic_prefix = cdc_config_get(c, "topic.prefix", "cdctail");
	s->metrics_file = cdc_config_get(c, "metrics.textfile", NULL);
	s->metrics_listen = cdc_config_get(c, "metrics.listen", NULL);
	s->archive_dir = cdc_config_get(c, "archive_dir", NULL);
	s->quarantine_dir = cdc_config_get(c, "quarantine_dir", NULL);
	s->log_file = cdc_config_get(c, "log_file", NULL);
	s->cassandra_yaml = cdc_config_get(c, "cassandra.config", NULL);
	/* no longer used (docs/run.md: segments without _cdc.idx); accepted so
	 * that an existing configuration still loads */
	s->orphan_timeout_set = cdc_config_get(c, "orphan_timeout", NULL) != NULL;
}

int cdc_settings_load(cdc_settings *s, const cdc_config *c, char *errstr, size_t errlen)
{
	const char *fmt;

	memset(s, 0, sizeof(*s));
	if (cdc_config_check(c, cdc_settings_keys, errstr, errlen) != 0)
		return -1;
	get_strings(s, c);
	if (!s->cdc_raw || !s->state_dir)
		return cdc_error(errstr, errlen, "cdc_raw and state_dir must be set");
	if (!s->quarantine_dir) {
		snprintf(s->quarantine_buf, sizeof(s->quarantine_buf), "%s/quarantine", s->state_dir);
		s->quarantine_dir = s->quarantine_buf;
	}
	if (s->metrics_listen) {
		cdc_listen_addr a;

		if (cdc_metrics_listen_parse(s->metrics_listen, &a, errstr, errlen) != 0)
			return -1;
	}
	fmt = cdc_config_get(c, "format", "cdctail");
	if (strcmp(fmt, "trigger") == 0)
		s->trigger = 1;
	else if (strcmp(fmt, "cdctail") != 0)
		return cdc_error(errstr, errlen, "format = %s: cdctail or trigger", fmt);
	if (get_bool(c, "delete_consumed", 1, &s->delete_consumed, errstr, errlen) ||
	    get_bool(c, "read_ahead", 1, &s->read_ahead, errstr, errlen) ||
	    cdc_config_get_num(c, "read_ahead_interval", 10, 1, &s->read_ahead_ms, errstr, errlen) ||
	    cdc_config_get_num(c, "max_in_flight_bytes", 16LL << 20, 0, &s->max_in_flight_bytes, errstr, errlen) ||
	    cdc_config_get_num(c, "cdc_total_space", 0, 0, &s->cdc_total_space, errstr, errlen) ||
	    cdc_config_get_num(c, "cassandra.port", 9042, 0, &s->port, errstr, errlen) ||
	    cdc_config_get_num(c, "max_in_flight", 10000, 0, &s->max_in_flight, errstr, errlen) ||
	    cdc_config_get_num(c, "checkpoint_interval", 1000, 1, &s->checkpoint_ms, errstr, errlen) ||
	    cdc_config_get_num(c, "rescan_interval", 5000, 1, &s->rescan_ms, errstr, errlen) ||
	    cdc_config_get_num(c, "metrics.interval", 10000, 1, &s->metrics_ms, errstr, errlen) ||
	    cdc_config_get_num(c, "shutdown_timeout", 30000, 1, &s->shutdown_ms, errstr, errlen) ||
	    cdc_config_get_num(c, "schema_refresh_interval", 1000, 1, &s->schema_refresh_ms, errstr, errlen) ||
	    cdc_config_check_kafka(c, errstr, errlen) ||
	    cdc_config_get_tls(c, "cassandra.tls", &s->tls, errstr, errlen))
		return -1;
	if (s->max_in_flight < 1)
		s->max_in_flight = 1;
	if (s->checkpoint_ms < 10)
		s->checkpoint_ms = 10;
	if (s->read_ahead_ms < 1)
		s->read_ahead_ms = 1;
	if (s->max_in_flight_bytes < 1)
		s->max_in_flight_bytes = 1;
	s->nprops = cdc_config_kafka_props(c, s->props, sizeof(s->props) / sizeof(s->props[0]));
	if (s->nprops < 0)
		return cdc_error(errstr, errlen, "too many kafka.* properties");
	s->kafka = s->nprops > 0 && cdc_config_get(c, "kafka.bootstrap.servers", NULL) != NULL;
	return 0;
}
