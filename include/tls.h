/* tls.h - TLS on a connected, non-blocking TCP socket, with OpenSSL
 * (Debian's libssl): the client side of Cassandra's client encryption
 * (client_encryption_options in cassandra.yaml), for the CQL client.
 *
 * The server's certificate must always chain to a trusted CA (ca_file, or
 * the system's CAs) and, unless no_verify_host, name the host connected to
 * (or server_name): an IP address is matched against the certificate's IP
 * SANs, a name against its DNS SANs. TLS 1.2 is the oldest accepted.
 * Every failure is one line naming the peer and what was refused. Writes
 * never raise SIGPIPE. */
#ifndef CDCTAIL_TLS_H
#define CDCTAIL_TLS_H

#include <stddef.h>
#include <sys/types.h>

/* What TLS to use. A zeroed struct is "no TLS"; with enabled = 1 and the
 * rest zero: system CAs, host-name verification on, no client certificate. */
typedef struct cdc_tls_opts {
	int enabled;             /* 1: TLS */
	const char *ca_file;     /* PEM CAs the server certificate must chain to; NULL: the system's */
	const char *cert_file;   /* PEM client certificate (chain), for require_client_auth; NULL: none */
	const char *key_file;    /* its PEM private key, unencrypted; NULL: the key is in cert_file */
	const char *server_name; /* the name the certificate must carry (and the SNI); NULL: the host */
	int no_verify_host;      /* 1: accept a certificate of a trusted CA whatever host it names */
} cdc_tls_opts;

typedef struct cdc_tls cdc_tls;

/* cdc_tls_read / cdc_tls_write: nothing could be done before the socket is
 * readable (CDC_TLS_WANT_READ) or writable (CDC_TLS_WANT_WRITE). */
#define CDC_TLS_WANT_READ (-2)
#define CDC_TLS_WANT_WRITE (-3)

/* Checks the options without connecting (files readable, a key only with a
 * certificate, the key matches it): 0, or -1 with errstr. */
int cdc_tls_check(const cdc_tls_opts *o, char *errstr, size_t errlen);

/* Runs the TLS handshake over fd (connected, non-blocking; it stays the
 * caller's to close) to `host` within timeout_ms, checking the server's
 * certificate as above. peer ("host:port") starts every message. Returns 0
 * and *out, or -1 with errstr. */
int cdc_tls_connect(cdc_tls **out, int fd, const char *host, const cdc_tls_opts *o, int timeout_ms,
		    const char *peer, char *errstr, size_t errlen);

/* Reads at most n bytes: the count (> 0), 0 when the server closed the
 * connection, CDC_TLS_WANT_READ/WRITE, or -1 with errstr (an alert from the
 * server, such as a refused client certificate, is reported here). */
ssize_t cdc_tls_read(cdc_tls *t, void *p, size_t n, char *errstr, size_t errlen);

/* Writes at most n bytes (n > 0): the count, CDC_TLS_WANT_READ/WRITE (call
 * again with the same p and n), or -1 with errstr. */
ssize_t cdc_tls_write(cdc_tls *t, const void *p, size_t n, char *errstr, size_t errlen);

/* Decrypted bytes the session holds that a read returns without waiting
 * for the socket (SSL_pending). */
int cdc_tls_pending(const cdc_tls *t);

/* Frees the session (NULL is fine); the socket is not closed. */
void cdc_tls_free(cdc_tls *t);

#endif
