/* metrics_http.h - `metrics.listen`: the metrics of metrics.h in the
 * Prometheus text format at GET /metrics, served by libmicrohttpd on its
 * own thread (docs/run.md, "Metrics").
 *
 * The pipeline never waits for a scraper. The HTTP thread renders each
 * response from a snapshot that cdc_metrics_render copies under the
 * metrics mutex (a memcpy, no formatting or I/O inside the lock); the
 * pipeline's own updates take the same mutex, so the most they wait is one
 * such copy. libmicrohttpd writes the response from that buffer with
 * non-blocking sockets, so a slow or stuck client holds only its own
 * connection: at most 16 at a time, each closed after 10 s without
 * progress.
 *
 * Only GET and HEAD of /metrics are answered (200); another path is 404,
 * another method 405. The server lives across SIGHUP reloads (run.c), so
 * scrapes go on while the service restarts inside the process. */
#ifndef CDCTAIL_METRICS_HTTP_H
#define CDCTAIL_METRICS_HTTP_H

#include <stddef.h>
#include <sys/socket.h>

#include "metrics.h"

/* Where to listen: a numeric address and a port. */
typedef struct cdc_listen_addr {
	struct sockaddr_storage ss;
	socklen_t len;
	char text[80];           /* as given, for messages */
	char where[80];          /* the address and port it means: 127.0.0.1:9464, [::1]:9464 */
} cdc_listen_addr;

/* Parses a `metrics.listen` value: PORT (on 127.0.0.1), IPv4:PORT or
 * [IPv6]:PORT, the address numeric (no host names), PORT 1 to 65535.
 * Returns 0, or -1 with errstr naming the key and the accepted forms. */
int cdc_metrics_listen_parse(const char *value, cdc_listen_addr *out, char *errstr, size_t errlen);

typedef struct cdc_metrics_http cdc_metrics_http;

/* Binds addr and starts serving m (which must outlive the server). Returns
 * 0 with *out, or -1 with errstr (naming metrics.listen: the address in use,
 * not on this host, ...). */
int cdc_metrics_http_start(cdc_metrics_http **out, cdc_metrics *m, const cdc_listen_addr *addr, char *errstr,
			   size_t errlen);

/* Stops serving (open connections are closed) and frees; NULL is a no-op. */
void cdc_metrics_http_stop(cdc_metrics_http *h);

#endif
