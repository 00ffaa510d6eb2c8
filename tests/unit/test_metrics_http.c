/* test_metrics_http.c - the `metrics.listen` parser of metrics_http.h: the
 * forms it accepts and the address each means (a port alone on 127.0.0.1,
 * IPv6 in brackets, written back canonically), and the values it refuses
 * with a message naming the key (host names, ports 0 and above 65535,
 * missing parts, junk after the port, over-long values). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "err.h"
#include "metrics_http.h"

/* value accepted, meaning `where`, of family fam and port. */
static void accepts(const char *value, const char *where, int fam, unsigned port)
{
	char err[CDC_ERRSTR_SIZE] = "";
	cdc_listen_addr a;

	assert_int_equal(cdc_metrics_listen_parse(value, &a, err, sizeof(err)), 0);
	assert_string_equal(a.where, where);
	assert_string_equal(a.text, value);
	assert_int_equal(a.ss.ss_family, fam);
	if (fam == AF_INET) {
		assert_int_equal(a.len, sizeof(struct sockaddr_in));
		assert_int_equal(ntohs(((struct sockaddr_in *)&a.ss)->sin_port), port);
	} else {
		assert_int_equal(a.len, sizeof(struct sockaddr_in6));
		assert_int_equal(ntohs(((struct sockaddr_in6 *)&a.ss)->sin6_port), port);
	}
}

/* value refused with a message naming metrics.listen. */
static void refuses(const char *value)
{
	char err[CDC_ERRSTR_SIZE] = "";
	cdc_listen_addr a;

	assert_int_equal(cdc_metrics_listen_parse(value, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "metrics.listen"));
}

static void test_accepted(void **state)
{
	(void)state;
	accepts("9464", "127.0.0.1:9464", AF_INET, 9464);
	accepts("127.0.0.1:9464", "127.0.0.1:9464", AF_INET, 9464);
	accepts("0.0.0.0:1", "0.0.0.0:1", AF_INET, 1);
	accepts("10.1.2.3:65535", "10.1.2.3:65535", AF_INET, 65535);
	accepts("[::1]:9464", "[::1]:9464", AF_INET6, 9464);
	accepts("[::]:80", "[::]:80", AF_INET6, 80);
	accepts("[0:0:0:0:0:0:0:1]:8080", "[::1]:8080", AF_INET6, 8080);
}

static void test_refused(void **state)
{
	char longv[200];

	(void)state;
	refuses("");
	refuses("0");
	refuses("65536");
	refuses("99999999");
	refuses("localhost:9464");
	refuses("127.0.0.1");
	refuses("127.0.0.1:");
	refuses("127.0.0.1:0");
	refuses("127.0.0.1:65536");
	refuses("127.0.0.1:94a");
	refuses("127.0.0.1:+80");
	refuses(":9464");
	refuses("300.1.1.1:80");
	refuses("::1:80");
	refuses("[::1]9464");
	refuses("[::1]:");
	refuses("[]:80");
	refuses("[127.0.0.1]:80");
	refuses("[fe80::1%eth0]:9464");
	refuses("127.0.0.1:9464 ");
	memset(longv, '1', sizeof(longv) - 1);
	longv[sizeof(longv) - 1] = '\0';
	refuses(longv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
