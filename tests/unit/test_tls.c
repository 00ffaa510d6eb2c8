/* test_tls.c - TLS sessions (include/tls.h) against an OpenSSL server on a
 * loopback listener thread, with a CA, a second CA and certificates the test
 * makes with OpenSSL's API: the handshake and a 300 kB echo through the
 * non-blocking socket; a CA that did not sign the server's certificate, a
 * name or an IP address the certificate does not carry (refused in one line,
 * accepted with no_verify_host); a server that requires a client
 * certificate; bad local files; and the cassandra.tls.* configuration keys
 * (include/config.h). The Cassandra side is t0255 (a real node). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "err.h"
#include "tls.h"

static char dir[64];

/* ------------------------------------------------------------ the PKI */

static EVP_PKEY *keygen(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");

	assert_non_null(k);
	return k;
}

/* A certificate for key, with CN and (if san) subjectAltName, signed by
 * issuer/ikey (NULL: self-signed, a CA). */
static X509 *make_cert(EVP_PKEY *key, const char *cn, const char *san, X509 *issuer, EVP_PKEY *ikey)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	static long serial = 1;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, issuer ? "critical,CA:FALSE" : "critical,CA:TRUE");
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (san) {
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
		assert_non_null(ext);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, issuer ? ikey : key, EVP_sha256()) > 0);
	X509_NAME_free(name);
	return x;
}

static void write_pem(const char *file, X509 *x, EVP_PKEY *k)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "w");
	assert_non_null(f);
	if (x)
		assert_int_equal(PEM_write_X509(f, x), 1);
	if (k)
		assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
	fclose(f);
}

/* DIR/file; the string stays the same for the whole run. */
static const char *path_of(const char *file)
{
	static char names[16][32], paths[16][128];
	static int n;
	int i;

	for (i = 0; i < n; i++)
		if (strcmp(names[i], file) == 0)
			return paths[i];
	assert_true(n < 16);
	snprintf(names[n], sizeof(names[n]), "%s", file);
	snprintf(paths[n], sizeof(paths[n]), "%s/%s", dir, file);
	return paths[n++];
}

/* ca.pem, ca2.pem; server.pem/.key (IP:127.0.0.1, DNS:node.test) by ca;
 * client.pem/.key by ca; stranger.pem/.key by ca2. */
static int setup_pki(void **state)
{
	EVP_PKEY *ca = keygen(), *ca2 = keygen(), *srv = keygen(), *cli = keygen(), *str = keygen();
	X509 *cac = make_cert(ca, "test CA", NULL, NULL, NULL);
	X509 *ca2c = make_cert(ca2, "other CA", NULL, NULL, NULL);
	X509 *sc = make_cert(srv, "node", "IP:127.0.0.1,DNS:node.test", cac, ca);
	X509 *cc = make_cert(cli, "client", "DNS:client.test", cac, ca);
	X509 *xc = make_cert(str, "stranger", "DNS:client.test", ca2c, ca2);

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/cdctail-test-tls.XXXXXX");
	assert_non_null(mkdtemp(dir));
	write_pem("ca.pem", cac, NULL);
	write_pem("ca2.pem", ca2c, NULL);
	write_pem("server.pem", sc, NULL);
	write_pem("server.key", NULL, srv);
	write_pem("client.pem", cc, NULL);
	write_pem("client.key", NULL, cli);
	write_pem("stranger.pem", xc, NULL);
	write_pem("stranger.key", NULL, str);
	write_pem("junk.pem", NULL, NULL);
	X509_free(cac);
	X509_free(ca2c);
	X509_free(sc);
	X509_free(cc);
	X509_free(xc);
	EVP_PKEY_free(ca);
	EVP_PKEY_free(ca2);
	EVP_PKEY_free(srv);
	EVP_PKEY_free(cli);
	EVP_PKEY_free(str);
	return 0;
}

static int teardown_pki(void **state)
{
	const char *f[] = { "ca.pem", "ca2.pem", "server.pem", "server.key", "client.pem", "client.key",
			    "stranger.pem", "stranger.key", "junk.pem" };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++)
		unlink(path_of(f[i]));
	rmdir(dir);
	return 0;
}

/* ------------------------------------------------------ the server */

#define ECHO_BYTES 300000

typedef struct server {
	int lfd, port, require_client_cert;
	pthread_t th;
	int handshake_ok;            /* the server's view */
	size_t echoed;
} server;

/* Accepts one connection, handshakes, echoes ECHO_BYTES bytes (or until
 * the client goes), closes. */
static void *server_main(void *arg)
{
	server *s = arg;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	int fd = accept(s->lfd, NULL, NULL);
	SSL *ssl;
	char buf[16384];

	SSL_CTX_use_certificate_chain_file(ctx, path_of("server.pem"));
	SSL_CTX_use_PrivateKey_file(ctx, path_of("server.key"), SSL_FILETYPE_PEM);
	if (s->require_client_cert) {
		SSL_CTX_load_verify_locations(ctx, path_of("ca.pem"), NULL);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	}
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_accept(ssl) == 1) {
		s->handshake_ok = 1;
		while (s->echoed < ECHO_BYTES) {
			int k = SSL_read(ssl, buf, sizeof(buf));

			if (k <= 0 || SSL_write(ssl, buf, k) != k)
				break;
			s->echoed += (size_t)k;
		}
		SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	ERR_clear_error();
	OPENSSL_thread_stop();
	close(fd);
	return NULL;
}

static void server_start(server *s, int require_client_cert)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);

	memset(s, 0, sizeof(*s));
	s->require_client_cert = require_client_cert;
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(s->lfd >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(listen(s->lfd, 4), 0);
	assert_int_equal(pthread_create(&s->th, NULL, server_main, s), 0);
}

static void server_stop(server *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd);
}

/* A connected non-blocking socket to the server. */
static int dial(const server *s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)s->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
	return fd;
}

/* Connects with o to host; the client-side result, errstr filled. The
 * server thread is stopped by the caller. */
static int try_connect(server *s, const char *host, const cdc_tls_opts *o, cdc_tls **t, int *fd, char *err,
		       size_t errlen)
{
	*fd = dial(s);
	return cdc_tls_connect(t, *fd, host, o, 5000, "127.0.0.1:test", err, errlen);
}

/* Waits for the socket as a WANT result asks. */
static void wait_for(int fd, ssize_t want)
{
	struct pollfd p = { fd, want == CDC_TLS_WANT_WRITE ? POLLOUT : POLLIN, 0 };

	assert_true(poll(&p, 1, 5000) > 0);
}

/* ------------------------------------------------------------ cases */

/* The CA, the IP the certificate names: handshake, then 300 kB written and
 * read back through the non-blocking socket, every byte equal. */
static void test_echo(void **state)
{
	cdc_tls_opts o = { .enabled = 1, .ca_file = path_of("ca.pem") };
	unsigned char *out = malloc(ECHO_BYTES), *in = malloc(ECHO_BYTES);
	size_t sent = 0, got = 0, i;
	char err[CDC_ERRSTR_SIZE];
	cdc_tls *t = NULL;
	server s;
	int fd;

	(void)state;
	assert_non_null(out);
	assert_non_null(in);
	for (i = 0; i < ECHO_BYTES; i++)
		out[i] = (unsigned char)(i * 7 + (i >> 11));
	server_start(&s, 0);
	if (try_connect(&s, "127.0.0.1", &o, &t, &fd, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	while (got < ECHO_BYTES) {
		ssize_t k;

		if (sent < ECHO_BYTES) {
			k = cdc_tls_write(t, out + sent, ECHO_BYTES - sent > 20000 ? 20000 : ECHO_BYTES - sent, err,
					  sizeof(err));
			if (k == -1)
				fail_msg("%s", err);
			if (k > 0)
				sent += (size_t)k;
		}
		k = cdc_tls_read(t, in + got, ECHO_BYTES - got, err, sizeof(err));
		if (k == -1 || k == 0)
			fail_msg("read: %zd %s", k, err);
		if (k > 0)
			got += (size_t)k;
		else if (sent == ECHO_BYTES)
			wait_for(fd, k);
	}
	assert_memory_equal(in, out, ECHO_BYTES);
	cdc_tls_free(t);
	close(fd);
	server_stop(&s);
	assert_int_equal(s.echoed, ECHO_BYTES);
	free(out);
	free(in);
}

/* Refused by the client: one line naming the peer and why. */
static void refused(const char *host, const cdc_tls_opts *o, const char *want)
{
	char err[CDC_ERRSTR_SIZE];
	cdc_tls *t = NULL;
	server s;
	int fd;

	server_start(&s, 0);
	assert_int_equal(try_connect(&s, host, o, &t, &fd, err, sizeof(err)), -1);
	assert_null(t);
	close(fd);
	server_stop(&s);
	if (!strstr(err, want) || strchr(err, '\n') || strncmp(err, "127.0.0.1:test: TLS", 19) != 0)
		fail_msg("got '%s', wanted '%s'", err, want);
}

/* Accepted by the client. */
static void accepted(const char *host, const cdc_tls_opts *o)
{
	char err[CDC_ERRSTR_SIZE];
	cdc_tls *t = NULL;
	server s;
	int fd;

	server_start(&s, 0);
	if (try_connect(&s, host, o, &t, &fd, err, sizeof(err)) != 0)
		fail_msg("%s: %s", host, err);
	cdc_tls_free(t);
	close(fd);
	server_stop(&s);
	assert_int_equal(s.handshake_ok, 1);
}

static void test_other_ca_refused(void **state)
{
	cdc_tls_opts o = { .enabled = 1, .ca_file = path_of("ca2.pem") };

	(void)state;
	refused("127.0.0.1", &o, "the node's certificate is not signed by a CA in");
	o.no_verify_host = 1; /* host checks off: the chain is still checked */
	refused("127.0.0.1", &o, "is not signed by a CA in");
}

static void test_names(void **state)
{
	cdc_tls_opts o = { .enabled = 1, .ca_file = path_of("ca.pem") };

	(void)state;
	o.server_name = "node.test";
	accepted("127.0.0.1", &o);
	o.server_name = "NODE.test"; /* DNS names match without case */
	accepted("127.0.0.1", &o);
	o.server_name = "other.test";
	refused("127.0.0.1", &o, "does not name other.test (hostname mismatch)");
	o.server_name = "127.0.0.2";
	refused("127.0.0.1", &o, "does not name 127.0.0.2 (IP address mismatch)");
	o.server_name = "sub.node.test";
	refused("127.0.0.1", &o, "does not name sub.node.test");
	o.server_name = "other.test";
	o.no_verify_host = 1;
	accepted("127.0.0.1", &o);
}

/* A server that requires a client certificate: without one the client
 * learns it at its first read, as with TLS 1.3; with one it works; one of
 * a CA the server does not trust is refused. */
static void client_cert_case(const char *cert, const char *key, int want_ok, const char *want)
{
	cdc_tls_opts o = { .enabled = 1, .ca_file = path_of("ca.pem"), .cert_file = cert, .key_file = key };
	char err[CDC_ERRSTR_SIZE], buf[4];
	cdc_tls *t = NULL;
	ssize_t k = 0;
	server s;
	int fd, rc, i;

	server_start(&s, 1);
	rc = try_connect(&s, "127.0.0.1", &o, &t, &fd, err, sizeof(err));
	if (rc == 0) {
		/* a refusing server's alert is read before anything is written:
		 * data written after the server closed could make the kernel
		 * answer with a reset that drops the alert */
		k = want_ok ? cdc_tls_write(t, "ping", 4, err, sizeof(err)) : 1;
		for (i = 0; i < 100 && k > 0; i++) {
			k = cdc_tls_read(t, buf, sizeof(buf), err, sizeof(err));
			if (k >= -1) /* data, a close or an error */
				break;
			wait_for(fd, k);
			k = 1;
		}
	}
	cdc_tls_free(t);
	close(fd);
	server_stop(&s);
	if (want_ok) {
		if (rc != 0 || k != 4)
			fail_msg("%s", err);
		assert_memory_equal(buf, "ping", 4);
	} else {
		assert_true(rc == -1 || k <= 0);
		if (!strstr(err, "127.0.0.1:test: TLS") || !strstr(err, want) || strchr(err, '\n'))
			fail_msg("got '%s', wanted '%s'", err, want);
	}
}

static void test_client_cert(void **state)
{
	(void)state;
	client_cert_case(path_of("client.pem"), path_of("client.key"), 1, NULL);
	client_cert_case(NULL, NULL, 0, "the node requires a client certificate");
	client_cert_case(path_of("stranger.pem"), path_of("stranger.key"), 0,
			 "is the client certificate signed by a CA the node trusts?");
}

/* Files: checked before anything is sent. */
static void test_check_files(void **state)
{
	cdc_tls_opts o = { .enabled = 1 };
	char err[CDC_ERRSTR_SIZE];

	(void)state;
	assert_int_equal(cdc_tls_check(&o, err, sizeof(err)), 0);
	o.ca_file = path_of("missing.pem");
	assert_int_equal(cdc_tls_check(&o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file or directory"));
	o.ca_file = path_of("junk.pem");
	assert_int_equal(cdc_tls_check(&o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "TLS CA file"));
	o.ca_file = path_of("ca.pem");
	o.key_file = path_of("client.key");
	assert_int_equal(cdc_tls_check(&o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "without a certificate file"));
	o.cert_file = path_of("client.pem");
	assert_int_equal(cdc_tls_check(&o, err, sizeof(err)), 0);
	o.key_file = path_of("stranger.key");
	assert_int_equal(cdc_tls_check(&o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "does not belong to the certificate"));
	o.key_file = path_of("ca.pem");
	assert_int_equal(cdc_tls_check(&o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an unencrypted PEM key"));
}

/* The cassandra.tls keys. */
static void test_config_keys(void **state)
{
	static const struct {
		const char *text;
		int rc, enabled, no_verify;
		const char *err;
	} cases[] = {
		{ "", 0, 0, 0, NULL },
		{ "cassandra.tls = false\n", 0, 0, 0, NULL },
		{ "cassandra.tls = true\n", 0, 1, 0, NULL },
		{ "cassandra.tls = yes\n", -1, 0, 0, "cassandra.tls = yes: true or false" },
		{ "cassandra.tls = true\ncassandra.tls.verify_host = false\n", 0, 1, 1, NULL },
		{ "cassandra.tls = true\ncassandra.tls.verify_host = 0\n", -1, 0, 0, "verify_host = 0: true or false" },
		{ "cassandra.tls.server_name = x\n", -1, 0, 0, "cassandra.tls.server_name is set but cassandra.tls is not true" },
		{ "cassandra.tls = true\ncassandra.tls.ca_file = /nonexistent/ca.pem\n", -1, 0, 0,
		  "cassandra.tls: TLS CA file /nonexistent/ca.pem: No such file or directory" },
	};
	char err[CDC_ERRSTR_SIZE];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cdc_config *c = cdc_config_new();
		cdc_tls_opts o;
		int rc;

		assert_int_equal(cdc_config_load_mem(c, cases[i].text, strlen(cases[i].text), "t", err, sizeof(err)), 0);
		rc = cdc_config_get_tls(c, "cassandra.tls", &o, err, sizeof(err));
		if (rc != cases[i].rc || (rc == 0 && (o.enabled != cases[i].enabled || o.no_verify_host != cases[i].no_verify)) ||
		    (cases[i].err && !strstr(err, cases[i].err)))
			fail_msg("case %zu: rc %d, err '%s'", i, rc, rc ? err : "");
		cdc_config_destroy(c);
	}
	{
		cdc_config *c = cdc_config_new();
		char text[1024];
		cdc_tls_opts o;

		snprintf(text, sizeof(text),
			 "cassandra.tls = true\ncassandra.tls.ca_file = %s\ncassandra.tls.cert_file = %s\n"
			 "cassandra.tls.key_file = %s\ncassandra.tls.server_name = node.test\n",
			 path_of("ca.pem"), path_of("client.pem"), path_of("client.key"));
		assert_int_equal(cdc_config_load_mem(c, text, strlen(text), "t", err, sizeof(err)), 0);
		assert_int_equal(cdc_config_get_tls(c, "cassandra.tls", &o, err, sizeof(err)), 0);
		assert_string_equal(o.ca_file, path_of("ca.pem"));
		assert_string_equal(o.cert_file, path_of("client.pem"));
		assert_string_equal(o.key_file, path_of("client.key"));
		assert_string_equal(o.server_name, "node.test");
		accepted("127.0.0.1", &o);
		cdc_config_destroy(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_echo),
		cmocka_unit_test(test_other_ca_refused),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_client_cert),
		cmocka_unit_test(test_check_files),
		cmocka_unit_test(test_config_keys),
	};

	/* the test's server writes with OpenSSL's own socket BIO, to clients
	 * that may have gone; cdctail's side never raises SIGPIPE (tls.c) */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, setup_pki, teardown_pki);
}
