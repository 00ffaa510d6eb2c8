/* tls.c - TLS client sessions with OpenSSL (include/tls.h).
 *
 * The session reads and writes the socket through a small BIO of its own
 * (recv, and send with MSG_NOSIGNAL) so that a server that goes away makes
 * a write fail with EPIPE instead of killing the process with SIGPIPE. */
#include "tls.h"
#include "err.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

struct cdc_tls {
	SSL_CTX *ctx;
	SSL *ssl;
	BIO_METHOD *meth;
	int fd;
	int have_cert;         /* a client certificate was offered */
	char peer[300];        /* "host:port", for messages */
	char name[256];        /* the name the certificate must carry */
	char ca[256];          /* where trusted CAs come from, for messages */
};

/* ------------------------------------------------------------ the BIO */

/* Reads from the socket; EAGAIN becomes a retry so SSL says WANT_READ. */
static int bio_read(BIO *b, char *p, int n)
{
	cdc_tls *t = BIO_get_data(b);
	ssize_t k;

	BIO_clear_retry_flags(b);
	do
		k = recv(t->fd, p, (size_t)n, 0);
	while (k < 0 && errno == EINTR);
	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_read(b);
	return (int)k;
}

/* Writes to the socket without SIGPIPE; EAGAIN becomes a retry. */
static int bio_write(BIO *b, const char *p, int n)
{
	cdc_tls *t = BIO_get_data(b);
	ssize_t k;

	BIO_clear_retry_flags(b);
	do
		k = send(t->fd, p, (size_t)n, MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		BIO_set_retry_write(b);
	return (int)k;
}

/* Only FLUSH means something to a socket written at once. */
static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

/* --------------------------------------------------------- messages */

/* The reason of the last OpenSSL error, or `def`. */
static const char *last_reason(const char *def)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : def;
}

/* The reason of the first OpenSSL error (a file's, before the layers that
 * report it again), or `def`. */
static const char *first_reason(const char *def)
{
	unsigned long e = ERR_peek_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	return r ? r : def;
}

/* The reason code of the last OpenSSL error of the SSL library, or 0. */
static int last_ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();

	return e && ERR_GET_LIB(e) == ERR_LIB_SSL ? ERR_GET_REASON(e) : 0;
}

/* A certificate check that failed: one line saying what and why. */
static int verify_error(const cdc_tls *t, long v, char *errstr, size_t errlen)
{
	const char *why = X509_verify_cert_error_string(v);

	switch (v) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		return cdc_error(errstr, errlen, "%s: TLS: the node's certificate does not name %s (%s)", t->peer,
				 t->name, why);
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		return cdc_error(errstr, errlen, "%s: TLS: the node's certificate is not signed by a CA in %s (%s)",
				 t->peer, t->ca, why);
	default:
		return cdc_error(errstr, errlen, "%s: TLS: the node's certificate is refused: %s", t->peer, why);
	}
}

/* A failed handshake, read or write (sslerr from SSL_get_error; during is
 * " handshake:" or ":", after "TLS"): one line
 * naming the peer and the cause, with a hint where the cause is known. */
static int session_error(const cdc_tls *t, int sslerr, const char *during, char *errstr, size_t errlen)
{
	long v = SSL_get_verify_result(t->ssl);
	int reason = last_ssl_reason();

	if (v != X509_V_OK)
		return verify_error(t, v, errstr, errlen);
	if (sslerr == SSL_ERROR_SYSCALL && ERR_peek_last_error() == 0)
		return cdc_error(errstr, errlen, "%s: TLS%s %s%s", t->peer, during,
				 errno ? strerror(errno) : "the node closed the connection",
				 t->have_cert ? "" : " (it may require a client certificate)");
	switch (reason) {
	case SSL_R_WRONG_VERSION_NUMBER:
	case SSL_R_PACKET_LENGTH_TOO_LONG:
		return cdc_error(errstr, errlen, "%s: TLS%s the node does not answer in TLS (%s); is client "
				 "encryption on for this port?", t->peer, during, last_reason("?"));
	case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
		return cdc_error(errstr, errlen, "%s: TLS%s the node requires a client certificate (%s)", t->peer,
				 during, last_reason("?"));
	case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
	case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
	case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
	case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
	case SSL_R_TLSV1_ALERT_INTERNAL_ERROR:
		return cdc_error(errstr, errlen, "%s: TLS%s the node refused the connection (%s); %s", t->peer,
				 during, last_reason("?"),
				 t->have_cert ? "is the client certificate signed by a CA the node trusts?"
					      : "it may require a client certificate");
	case SSL_R_UNEXPECTED_EOF_WHILE_READING:
		return cdc_error(errstr, errlen, "%s: TLS%s the node closed the connection", t->peer, during);
	default:
		return cdc_error(errstr, errlen, "%s: TLS%s %s", t->peer, during, last_reason("unknown error"));
	}
}

/* ---------------------------------------------------------- context */

/* An encrypted key would make OpenSSL prompt on the terminal: refuse it. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

/* Refuses a file that cannot be read, with the system's reason. */
static int readable(const char *what, const char *path, char *errstr, size_t errlen)
{
	if (access(path, R_OK) != 0)
		return cdc_error(errstr, errlen, "TLS %s %s: %s", what, path, strerror(errno));
	return 0;
}

/* Loads the client certificate and its key into ctx. 0, or -1. */
static int load_client_cert(SSL_CTX *ctx, const cdc_tls_opts *o, char *errstr, size_t errlen)
{
	const char *key = o->key_file ? o->key_file : o->cert_file;

	if (readable("certificate file", o->cert_file, errstr, errlen) != 0 ||
	    readable("key file", key, errstr, errlen) != 0)
		return -1;
	if (SSL_CTX_use_certificate_chain_file(ctx, o->cert_file) != 1)
		return cdc_error(errstr, errlen, "TLS certificate file %s: not a PEM certificate (%s)", o->cert_file,
				 first_reason("?"));
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 &&
	    ERR_GET_REASON(ERR_peek_last_error()) != X509_R_KEY_VALUES_MISMATCH)
		return cdc_error(errstr, errlen, "TLS key file %s: not an unencrypted PEM key (%s)", key,
				 first_reason("?"));
	if (SSL_CTX_check_private_key(ctx) != 1)
		return cdc_error(errstr, errlen, "TLS key file %s does not belong to the certificate %s", key,
				 o->cert_file);
	return 0;
}

/* A client context as the options ask. NULL with errstr. */
static SSL_CTX *ctx_new(const cdc_tls_opts *o, char *errstr, size_t errlen)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	if (o->key_file && !o->cert_file) {
		cdc_error(errstr, errlen, "TLS: a key file was given without a certificate file");
		return NULL;
	}
	if (o->ca_file && readable("CA file", o->ca_file, errstr, errlen) != 0)
		return NULL;
	ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		cdc_error(errstr, errlen, "TLS: cannot create a context: %s", last_reason("out of memory"));
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (o->ca_file ? SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1
		       : SSL_CTX_set_default_verify_paths(ctx) != 1) {
		cdc_error(errstr, errlen, "TLS CA file %s: no PEM certificate read (%s)", o->ca_file ? o->ca_file : "(system)",
			  first_reason("?"));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (o->cert_file && load_client_cert(ctx, o, errstr, errlen) != 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int cdc_tls_check(const cdc_tls_opts *o, char *errstr, size_t errlen)
{
	SSL_CTX *ctx = ctx_new(o, errstr, errlen);

	if (!ctx)
		return -1;
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return 0;
}

/* ---------------------------------------------------------- session */

/* Monotonic milliseconds, for the handshake's deadline. */
static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sets the name the certificate must carry (an IP address or a DNS name)
 * and, for a DNS name, the SNI. 0, or -1 with errstr. */
static int set_name(cdc_tls *t, int verify, char *errstr, size_t errlen)
{
	unsigned char addr[16];
	int is_ip = inet_pton(AF_INET, t->name, addr) == 1 || inet_pton(AF_INET6, t->name, addr) == 1;
	X509_VERIFY_PARAM *vp = SSL_get0_param(t->ssl);

	if (verify) {
		X509_VERIFY_PARAM_set_hostflags(vp, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if ((is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, t->name) : X509_VERIFY_PARAM_set1_host(vp, t->name, 0)) != 1)
			return cdc_error(errstr, errlen, "%s: TLS: cannot verify against the name '%s'", t->peer, t->name);
	}
	if (!is_ip && SSL_set_tlsext_host_name(t->ssl, t->name) != 1)
		return cdc_error(errstr, errlen, "%s: TLS: '%s' cannot be sent as the server name", t->peer, t->name);
	return 0;
}

/* Puts the session on the socket through the BIO above. 0, or -1. */
static int attach(cdc_tls *t, char *errstr, size_t errlen)
{
	BIO *b;

	t->meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "cdctail socket");
	if (!t->meth || BIO_meth_set_read(t->meth, bio_read) != 1 || BIO_meth_set_write(t->meth, bio_write) != 1 ||
	    BIO_meth_set_ctrl(t->meth, bio_ctrl) != 1)
		return cdc_error(errstr, errlen, "TLS: out of memory");
	b = BIO_new(t->meth);
	if (!b)
		return cdc_error(errstr, errlen, "TLS: out of memory");
	BIO_set_data(b, t);
	BIO_set_init(b, 1);
	SSL_set_bio(t->ssl, b, b);
	return 0;
}

/* SSL_connect until it completes, fails or the deadline passes. */
static int handshake(cdc_tls *t, int timeout_ms, char *errstr, size_t errlen)
{
	long long deadline = now_ms() + timeout_ms;

	for (;;) {
		struct pollfd pfd = { t->fd, 0, 0 };
		long long left;
		int rc, e;

		ERR_clear_error();
		errno = 0;
		rc = SSL_connect(t->ssl);
		if (rc == 1)
			return 0;
		e = SSL_get_error(t->ssl, rc);
		if (e == SSL_ERROR_WANT_READ)
			pfd.events = POLLIN;
		else if (e == SSL_ERROR_WANT_WRITE)
			pfd.events = POLLOUT;
		else
			return session_error(t, e, " handshake:", errstr, errlen);
		left = deadline - now_ms();
		if (left <= 0)
			return cdc_error(errstr, errlen, "%s: TLS handshake: timed out after %d ms", t->peer, timeout_ms);
		if (poll(&pfd, 1, left > 1000000 ? 1000000 : (int)left) < 0 && errno != EINTR)
			return cdc_error(errstr, errlen, "%s: poll: %s", t->peer, strerror(errno));
	}
}

int cdc_tls_connect(cdc_tls **out, int fd, const char *host, const cdc_tls_opts *o, int timeout_ms,
		    const char *peer, char *errstr, size_t errlen)
{
	cdc_tls *t = calloc(1, sizeof(*t));

	*out = NULL;
	if (!t)
		return cdc_error(errstr, errlen, "out of memory");
	t->fd = fd;
	t->have_cert = o->cert_file != NULL;
	snprintf(t->peer, sizeof(t->peer), "%s", peer);
	snprintf(t->name, sizeof(t->name), "%s", o->server_name && *o->server_name ? o->server_name : host);
	snprintf(t->ca, sizeof(t->ca), "%s", o->ca_file ? o->ca_file : "the system's CA certificates");
	t->ctx = ctx_new(o, errstr, errlen);
	if (!t->ctx) {
		cdc_tls_free(t);
		return -1;
	}
	t->ssl = SSL_new(t->ctx);
	if (!t->ssl) {
		cdc_tls_free(t);
		return cdc_error(errstr, errlen, "TLS: out of memory");
	}
	if (set_name(t, !o->no_verify_host, errstr, errlen) != 0 || attach(t, errstr, errlen) != 0 ||
	    handshake(t, timeout_ms > 0 ? timeout_ms : 10000, errstr, errlen) != 0) {
		cdc_tls_free(t);
		return -1;
	}
	ERR_clear_error();
	*out = t;
	return 0;
}

/* Maps SSL_read/SSL_write's result: WANTs, a close, or an error. */
static ssize_t io_result(cdc_tls *t, int k, const char *during, char *errstr, size_t errlen)
{
	int e = SSL_get_error(t->ssl, k);

	switch (e) {
	case SSL_ERROR_WANT_READ:
		return CDC_TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return CDC_TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	case SSL_ERROR_SYSCALL:
		if (ERR_peek_last_error() == 0 && errno == 0)
			return 0; /* EOF without close_notify */
		break;
	case SSL_ERROR_SSL:
		if (last_ssl_reason() == SSL_R_UNEXPECTED_EOF_WHILE_READING)
			return 0;
		break;
	}
	return session_error(t, e, during, errstr, errlen);
}

ssize_t cdc_tls_read(cdc_tls *t, void *p, size_t n, char *errstr, size_t errlen)
{
	int k;

	ERR_clear_error();
	errno = 0;
	k = SSL_read(t->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
	return k > 0 ? k : io_result(t, k, ":", errstr, errlen);
}

ssize_t cdc_tls_write(cdc_tls *t, const void *p, size_t n, char *errstr, size_t errlen)
{
	ssize_t r;
	int k;

	ERR_clear_error();
	errno = 0;
	k = SSL_write(t->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
	if (k > 0)
		return k;
	r = io_result(t, k, ":", errstr, errlen);
	return r == 0 ? cdc_error(errstr, errlen, "%s: TLS: the node closed the connection", t->peer) : r;
}

void cdc_tls_free(cdc_tls *t)
{
	if (!t)
		return;
	SSL_free(t->ssl); /* frees the BIO too */
	BIO_meth_free(t->meth);
	SSL_CTX_free(t->ctx);
	ERR_clear_error();
	free(t);
}

/* What OpenSSL has decrypted and not yet handed out. */
int cdc_tls_pending(const cdc_tls *t)
{
	return t && t->ssl ? SSL_pending(t->ssl) : 0;
}
