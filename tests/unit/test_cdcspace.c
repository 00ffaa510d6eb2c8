/* test_cdcspace.c - Cassandra's cdc_total_space read from cassandra.yaml
 * texts (4.1+ units, the 3.x/4.0 _in_mb key, comments, quotes, null, nested
 * keys that are not it, bad values), the default, and where the cap comes
 * from for `run`. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cdcspace.h"
#include "err.h"

#define MIB (1024ULL * 1024)

static int parse(const char *text, uint64_t *bytes)
{
	char err[CDC_ERRSTR_SIZE];

	*bytes = 12345;
	return cdc_space_parse_yaml(text, strlen(text), bytes, err, sizeof(err));
}

static void test_yaml_values(void **s)
{
	uint64_t b;

	(void)s;
	assert_int_equal(parse("cdc_enabled: true\ncdc_total_space: 24MiB\n", &b), 0);
	assert_true(b == 24 * MIB);
	assert_int_equal(parse("cdc_total_space: 2GiB", &b), 0); /* no final newline */
	assert_true(b == 2048 * MIB);
	assert_int_equal(parse("cdc_total_space: 512KiB # small\n", &b), 0);
	assert_true(b == 512 * 1024);
	assert_int_equal(parse("cdc_total_space: \"100B\"\n", &b), 0);
	assert_true(b == 100);
	assert_int_equal(parse("cdc_total_space_in_mb: 4096\n", &b), 0);
	assert_true(b == 4096 * MIB);
	assert_int_equal(parse("cdc_total_space_in_mb : '24'\n", &b), 0);
	assert_true(b == 24 * MIB);
	/* a later line wins */
	assert_int_equal(parse("cdc_total_space: 1MiB\ncdc_total_space: 3MiB\n", &b), 0);
	assert_true(b == 3 * MIB);
}

static void test_yaml_unset(void **s)
{
	uint64_t b;

	(void)s;
	assert_int_equal(parse("", &b), 1);
	assert_int_equal(parse("# cdc_total_space: 24MiB\n", &b), 1);
	assert_int_equal(parse("cdc_total_space:\n", &b), 1);
	assert_int_equal(parse("cdc_total_space: null\n", &b), 1);
	assert_int_equal(parse("cdc_total_space: 0MiB\n", &b), 1); /* 0 is Cassandra's "use the default" */
	assert_int_equal(parse("  cdc_total_space: 24MiB\n", &b), 1); /* nested: not the top-level key */
	assert_int_equal(parse("cdc_total_space_x: 24MiB\ncdc_free_space_check_interval: 250ms\n", &b), 1);
}

static void test_yaml_bad(void **s)
{
	static const char *const bad[] = {
		"cdc_total_space: 24\n",        /* 4.1+ wants a unit */
		"cdc_total_space: 24MB\n",      /* not one of Cassandra's units */
		"cdc_total_space: -1MiB\n",
		"cdc_total_space: MiB\n",
		"cdc_total_space_in_mb: 24MiB\n",
		"cdc_total_space: 99999999999999999999GiB\n",
		"cdc_total_space: 99999999999GiB\n",
	};
	char err[CDC_ERRSTR_SIZE];
	uint64_t b;
	size_t i;

	(void)s;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cdc_space_parse_yaml(bad[i], strlen(bad[i]), &b, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "line 1: cdc_total_space"));
	}
}

static void test_cap_sources(void **s)
{
	char dir[] = "/tmp/cdctail-space.XXXXXX", path[64], err[CDC_ERRSTR_SIZE];
	const char *from = NULL;
	struct statvfs st;
	uint64_t b = 0, want;
	FILE *f;

	(void)s;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(statvfs(dir, &st), 0);
	want = (uint64_t)st.f_blocks * st.f_frsize / 8 / MIB * MIB;
	if (want > 4096 * MIB)
		want = 4096 * MIB;
	assert_int_equal(cdc_space_cap(NULL, 0, dir, &b, &from, err, sizeof(err)), 0);
	assert_true(b == want);
	assert_string_equal(from, "Cassandra's default");
	assert_int_equal(cdc_space_cap(NULL, 7 * (long long)MIB, dir, &b, &from, err, sizeof(err)), 0);
	assert_true(b == 7 * MIB);
	snprintf(path, sizeof(path), "%s/cassandra.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("cluster_name: x\ncdc_total_space: 24MiB\n", f);
	fclose(f);
	/* the yaml wins over the configuration key */
	assert_int_equal(cdc_space_cap(path, 7 * (long long)MIB, dir, &b, &from, err, sizeof(err)), 0);
	assert_true(b == 24 * MIB);
	assert_string_equal(from, "cassandra.yaml");
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("cdc_total_space: 24\n", f);
	fclose(f);
	assert_int_equal(cdc_space_cap(path, 0, dir, &b, &from, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	unlink(path);
	assert_int_equal(cdc_space_cap(path, 0, dir, &b, &from, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "No such file"));
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yaml_values),
		cmocka_unit_test(test_yaml_unset),
		cmocka_unit_test(test_yaml_bad),
		cmocka_unit_test(test_cap_sources),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
