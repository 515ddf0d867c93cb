/* Unit tests: names, groups and lifetimes `sshgate ca` accepts (caname.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/caname.h"

static void
test_good_names(void **state)
{
	(void)state;
	assert_null(caname_check("alice"));
	assert_null(caname_check("Alice Smith"));
	assert_null(caname_check("ops-team_2.eu"));
	assert_null(caname_check("j\xc3\xb6rg"));		/* jörg */
	assert_null(caname_check("\xe6\x97\xa5\xe6\x9c\xac"));	/* CJK */
	assert_null(caname_check("a/b=c+d"));		/* a group may */
	assert_non_null(strstr(caname_check_user("a/b"), "slash"));
	assert_non_null(strstr(caname_check_user("../x"), "slash"));
	assert_null(caname_check_user("alice.smith"));
	assert_string_equal(caname_check_user(""), "is empty");
	assert_null(caname_check("-"));
	/* 64 bytes is the bound */
	assert_null(caname_check("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
}

static void
test_bad_names(void **state)
{
	(void)state;
	assert_string_equal(caname_check(""), "is empty");
	assert_non_null(strstr(caname_check("a,b"), "comma"));
	assert_non_null(strstr(caname_check("a\nb"), "control"));
	assert_non_null(strstr(caname_check("a\tb"), "control"));
	assert_non_null(strstr(caname_check("a\x7f"), "control"));
	assert_non_null(strstr(caname_check("a\xc2\x85"), "UTF-8"));	/* NEL, C1 */
	assert_non_null(strstr(caname_check("a\xff"), "UTF-8"));
	assert_non_null(strstr(caname_check("a\xc3"), "UTF-8"));	/* cut */
	assert_non_null(strstr(caname_check("\xc0\xaf"), "UTF-8"));	/* overlong */
	assert_non_null(strstr(caname_check("\xed\xa0\x80"), "UTF-8"));	/* surrogate */
	assert_non_null(strstr(caname_check(" alice"), "blank"));
	assert_non_null(strstr(caname_check("alice "), "blank"));
	assert_non_null(strstr(caname_check("a\"b"), "quote"));
	assert_non_null(strstr(caname_check("a\\b"), "backslash"));
	assert_non_null(strstr(caname_check("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), "64"));
}

static void
test_dns_names(void **state)
{
	(void)state;
	assert_null(caname_check_dns("gw.example.com"));
	assert_null(caname_check_dns("localhost"));
	assert_null(caname_check_dns("*.example.com"));
	assert_null(caname_check_dns("a-1.B2"));
	assert_non_null(caname_check_dns(""));
	assert_non_null(caname_check_dns("*."));
	assert_non_null(caname_check_dns("a..b"));
	assert_non_null(caname_check_dns(".a"));
	assert_non_null(caname_check_dns("a."));
	assert_non_null(caname_check_dns("-a.b"));
	assert_non_null(caname_check_dns("a-.b"));
	assert_non_null(caname_check_dns("a_b"));
	assert_non_null(caname_check_dns("a,DNS:evil"));
	assert_non_null(caname_check_dns("a.*.b"));
	assert_non_null(caname_check_dns("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.b"));
}

static const struct caname_period client = { 365L * 86400, 3650, 1 };
static const struct caname_period crl = { 30L * 86400, 365, 0 };

static void
test_periods(void **state)
{
	char err[200];
	long secs = -1;

	(void)state;
	assert_int_equal(caname_period(&client, NULL, NULL, &secs, err,
	    sizeof(err)), 0);
	assert_int_equal(secs, 365L * 86400);
	assert_int_equal(caname_period(&client, "7", NULL, &secs, err,
	    sizeof(err)), 0);
	assert_int_equal(secs, 7L * 86400);
	assert_int_equal(caname_period(&client, NULL, "12", &secs, err,
	    sizeof(err)), 0);
	assert_int_equal(secs, 12L * 3600);
	assert_int_equal(caname_period(&client, "3650", NULL, &secs, err,
	    sizeof(err)), 0);
	assert_int_equal(caname_period(&client, NULL, "87600", &secs, err,
	    sizeof(err)), 0);
	assert_int_equal(secs, 87600L * 3600);
}

static void
test_bad_periods(void **state)
{
	static const char *const bad[] = { "0", "-1", "3651", "", "1.5",
	    "12h", " 1", "99999999999999999999999" };
	char err[200];
	long secs = 42;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		assert_int_equal(caname_period(&client, bad[i], NULL, &secs,
		    err, sizeof(err)), -1);
		assert_non_null(strstr(err, "--days must be a whole number "
		    "from 1 to 3650"));
		assert_int_equal(caname_period(&client, NULL, bad[i], &secs,
		    err, sizeof(err)), bad[i][0] == '3' ? 0 : -1);
	}
	assert_int_equal(caname_period(&client, NULL, "87601", &secs, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "--hours must be a whole number from 1 "
	    "to 87600"));
	assert_int_equal(caname_period(&client, "1", "1", &secs, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "give --days or --hours, not both");
	assert_int_equal(caname_period(&crl, NULL, "1", &secs, err,
	    sizeof(err)), -1);
	assert_string_equal(err, "--hours is not an option here");
	assert_int_equal(caname_period(&crl, "366", NULL, &secs, err,
	    sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_names),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_dns_names),
		cmocka_unit_test(test_periods),
		cmocka_unit_test(test_bad_periods),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
