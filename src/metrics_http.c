/* metrics_http.c - GET /metrics over libmicrohttpd. */
#include "metrics_http.h"
#include "buf.h"
#include "err.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct cdc_metrics_http {
	struct MHD_Daemon *d;
	cdc_metrics *m;
	cdc_listen_addr addr;
	char start_msg[512];     /* libmicrohttpd's last word while starting */
	atomic_int started;      /* set once MHD_start_daemon returned */
	atomic_llong last_log;   /* when a runtime message was last logged (s) */
};

static const char forms[] = "PORT, IPv4:PORT or [IPv6]:PORT with a numeric address (127.0.0.1:9464, "
			    "0.0.0.0:9464, [::1]:9464); PORT alone listens on 127.0.0.1";

/* A decimal port 1..65535 (digits only). 0, or -1. */
static int parse_port(const char *s, unsigned short *port)
{
	unsigned long v = 0;
	size_t i;

	if (!*s || strlen(s) > 5)
		return -1;
	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -1;
	*port = (unsigned short)v;
	return 0;
}

/* host (numeric, brackets removed; NULL: 127.0.0.1) and port into out,
 * with out->where. 0, or -1 when host is not a numeric address. */
static int fill_addr(const char *host, int v6, unsigned short port, cdc_listen_addr *out)
{
	char ip[INET6_ADDRSTRLEN];

	memset(&out->ss, 0, sizeof(out->ss));
	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		out->len = sizeof(*a);
		if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1 || !inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip)))
			return -1;
		snprintf(out->where, sizeof(out->where), "[%s]:%u", ip, (unsigned)port);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&out->ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		out->len = sizeof(*a);
		if (inet_pton(AF_INET, host ? host : "127.0.0.1", &a->sin_addr) != 1 ||
		    !inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip)))
			return -1;
		snprintf(out->where, sizeof(out->where), "%s:%u", ip, (unsigned)port);
	}
	return 0;
}

int cdc_metrics_listen_parse(const char *value, cdc_listen_addr *out, char *errstr, size_t errlen)
{
	char host[64];
	const char *colon, *port_s;
	unsigned short port;
	size_t hl;
	int v6 = 0;

	memset(out, 0, sizeof(*out));
	if (strlen(value) >= sizeof(out->text))
		return cdc_error(errstr, errlen, "metrics.listen: too long; want %s", forms);
	snprintf(out->text, sizeof(out->text), "%s", value);
	if (value[0] && strspn(value, "0123456789") == strlen(value)) {
		if (parse_port(value, &port) != 0)
			return cdc_error(errstr, errlen, "metrics.listen = %s: the port must be 1 to 65535", value);
		return fill_addr(NULL, 0, port, out) == 0 ? 0 : cdc_error(errstr, errlen, "metrics.listen = %s", value);
	}
	if (value[0] == '[') {
		const char *close = strchr(value, ']');

		if (!close || close[1] != ':')
			return cdc_error(errstr, errlen, "metrics.listen = %s: want %s", value, forms);
		hl = (size_t)(close - value - 1);
		memcpy(host, value + 1, hl < sizeof(host) ? hl : 0);
		port_s = close + 2;
		v6 = 1;
	} else {
		colon = strrchr(value, ':');
		if (!colon || memchr(value, ':', (size_t)(colon - value)))
			return cdc_error(errstr, errlen, "metrics.listen = %s: want %s", value, forms);
		hl = (size_t)(colon - value);
		memcpy(host, value, hl < sizeof(host) ? hl : 0);
		port_s = colon + 1;
	}
	if (hl == 0 || hl >= sizeof(host))
		return cdc_error(errstr, errlen, "metrics.listen = %s: no address; want %s", value, forms);
	host[hl] = '\0';
	if (parse_port(port_s, &port) != 0)
		return cdc_error(errstr, errlen, "metrics.listen = %s: the port must be 1 to 65535", value);
	if (fill_addr(host, v6, port, out) != 0)
		return cdc_error(errstr, errlen, "metrics.listen = %s: '%s' is not a numeric IPv%d address; want %s",
				 value, host, v6 ? 6 : 4, forms);
	return 0;
}

/* libmicrohttpd's messages: kept while starting (for the error), logged
 * after that at most once a minute (a client's protocol error, a
 * connection refused at the limit). */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	cdc_metrics_http *h = cls;
	char line[512];
	size_t n;
	long long now = (long long)time(NULL), last;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (!atomic_load(&h->started)) {
		snprintf(h->start_msg, sizeof(h->start_msg), "%s", line);
		return;
	}
	last = atomic_load(&h->last_log);
	if (now - last >= 60 && atomic_compare_exchange_strong(&h->last_log, &last, now))
		cdc_log(CDC_LOG_WARN, "metrics.listen %s: %s", h->addr.where, line);
}

/* A response of text (copied) with status, queued. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *text, const char *allow)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (allow)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static int64_t wall_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* GET /metrics: the text, rendered now from a snapshot; the buffer goes to
 * libmicrohttpd, which frees it once sent. */
static enum MHD_Result serve_metrics(cdc_metrics_http *h, struct MHD_Connection *c)
{
	cdc_buf text = CDC_BUF_INIT;
	struct MHD_Response *r;
	enum MHD_Result rc;

	if (cdc_metrics_render(h->m, wall_us(), &text) != 0 || !text.p) {
		cdc_buf_free(&text);
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n", NULL);
	}
	r = MHD_create_response_from_buffer(text.len, text.p, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		cdc_buf_free(&text);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, CONTENT_TYPE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	rc = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return rc;
}

/* Every request, answered at its first call (before any body, which
 * libmicrohttpd then discards with the connection). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_size, void **con_cls)
{
	(void)version;
	(void)upload_data;
	(void)upload_size;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET /metrics\n", "GET, HEAD");
	if (strcmp(url, "/metrics") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, "not found: the metrics are at /metrics\n", NULL);
	return serve_metrics(cls, c);
}

/* Starts the daemon with every signal blocked, so that its thread inherits
 * a full mask and SIGTERM/SIGHUP keep waking the main thread. */
static struct MHD_Daemon *start_daemon(cdc_metrics_http *h)
{
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
	sigset_t all, old;
	struct MHD_Daemon *d;

	if (h->addr.ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h,
			     MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
			     MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&h->addr.ss,
			     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)16,
			     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
			     MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return d;
}

int cdc_metrics_http_start(cdc_metrics_http **out, cdc_metrics *m, const cdc_listen_addr *addr, char *errstr,
			   size_t errlen)
{
	cdc_metrics_http *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (!h)
		return cdc_error(errstr, errlen, "metrics.listen = %s: out of memory", addr->text);
	h->m = m;
	h->addr = *addr;
	h->d = start_daemon(h);
	if (!h->d) {
		/* libmicrohttpd says "Failed to bind to port 0: REASON" (the port
		 * being in the address given): keep REASON, name the address */
		const char *why = h->start_msg[0] ? h->start_msg : "libmicrohttpd refused to start";
		const char *colon = strncmp(why, "Failed to bind", 14) == 0 ? strrchr(why, ':') : NULL;

		cdc_error(errstr, errlen, "metrics.listen = %s: cannot listen on %s: %s", addr->text, addr->where,
			  colon ? colon + 2 : why);
		free(h);
		return -1;
	}
	atomic_store(&h->started, 1);
	*out = h;
	return 0;
}

void cdc_metrics_http_stop(cdc_metrics_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);
	free(h);
}
