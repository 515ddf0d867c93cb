/* Unit tests: lifetimes of certificates and CRLs (lifetime.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "core/lifetime.h"

#define DAY 86400
#define NOW ((time_t)1800000000)	/* 2027-01-15 08:00 UTC */

static struct lifetime
life(enum lifetime_role role, time_t when)
{
	struct lifetime l;

	memset(&l, 0, sizeof(l));
	l.role = role;
	l.file = (char *)"/etc/sshgate/x.pem";
	snprintf(l.what, sizeof(l.what), "/CN=gw.example.com");
	l.when = when;
	return l;
}

static void
quiet_while_far(void **state)
{
	struct lifetime l = life(LIFE_GATEWAY, NOW + 15 * DAY);
	char buf[512] = "";

	(void)state;
	assert_int_equal(lifetime_warning(&l, NOW, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	l.when = NOW + LIFETIME_WARN_DAYS * DAY + 1;
	assert_int_equal(lifetime_warning(&l, NOW, buf, sizeof(buf)), 0);
}

static void
warns_from_fourteen_days(void **state)
{
	struct lifetime l = life(LIFE_GATEWAY, NOW + LIFETIME_WARN_DAYS * DAY);
	char buf[512];

	(void)state;
	assert_int_equal(lifetime_warning(&l, NOW, buf, sizeof(buf)), 1);
	assert_non_null(strstr(buf, "certificate /etc/sshgate/x.pem "
	    "(/CN=gw.example.com) expires in 14 days (2027-01-29 08:00 UTC)"));
	l.when = NOW + DAY + 5;
	assert_int_equal(lifetime_warning(&l, NOW, buf, sizeof(buf)), 1);
	assert_non_null(strstr(buf, "expires in 1 day ("));
	l.when = NOW + 60;
	assert_int_equal(lifetime_warning(&l, NOW, buf, sizeof(buf)), 1);
	assert_non_null(strstr(buf, "expires in 0 days"));
}

static void
past_is_said_as_past(void **state)
{
	struct lifetime l = life(LIFE_GATEWAY, NOW);
	char buf[512];

	(void)state;
	assert_int_equal(lifetime_warning(&l, NOW, buf, sizeof(buf)), 1);
	assert_non_null(strstr(buf, "expired on 2027-01-15 08:00 UTC"));
	l = life(LIFE_CRL, NOW - 3 * DAY);
	assert_int_equal(lifetime_warning(&l, NOW, buf, sizeof(buf)), 1);
	assert_non_null(strstr(buf, "crl /etc/sshgate/x.pem"));
	assert_non_null(strstr(buf, "out of date since 2027-01-12"));
	assert_non_null(strstr(buf, "crl-expired"));
	l = life(LIFE_CLIENT_CA, NOW - 1);
	assert_int_equal(lifetime_warning(&l, NOW, buf, sizeof(buf)), 1);
	assert_non_null(strstr(buf, "client-ca /etc/sshgate/x.pem: CA "
	    "/CN=gw.example.com expired on"));
}

static void
crl_soon_says_what_follows(void **state)
{
	struct lifetime l = life(LIFE_CRL, NOW + 2 * DAY + 10);
	char buf[512];

	(void)state;
	assert_int_equal(lifetime_warning(&l, NOW, buf, sizeof(buf)), 1);
	assert_non_null(strstr(buf, "must be renewed within 2 days"));
	assert_non_null(strstr(buf, "every client of that CA is refused"));
}

static void
short_buffer_is_cut_not_overrun(void **state)
{
	struct lifetime l = life(LIFE_CRL, NOW);
	char buf[16];

	(void)state;
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(lifetime_warning(&l, NOW, buf, 8), 1);
	assert_int_equal(strlen(buf), 7);
	assert_int_equal(buf[8], 'x');
}

static void
one_entry_per_file_earliest_wins(void **state)
{
	struct lifetimes ls = { NULL, 0 };

	(void)state;
	assert_int_equal(lifetimes_add(&ls, LIFE_CLIENT_CA, "ca.pem", "/CN=A",
	    NOW + 100 * DAY), 0);
	assert_int_equal(lifetimes_add(&ls, LIFE_CLIENT_CA, "ca.pem", "/CN=B",
	    NOW + 10 * DAY), 0);
	assert_int_equal(lifetimes_add(&ls, LIFE_CLIENT_CA, "ca.pem", "/CN=C",
	    NOW + 50 * DAY), 0);
	assert_int_equal(lifetimes_add(&ls, LIFE_CRL, "ca.pem", "/CN=A",
	    NOW + 5 * DAY), 0);
	assert_int_equal(lifetimes_add(&ls, LIFE_GATEWAY, "gw.pem", "/CN=gw",
	    NOW + 5 * DAY), 0);
	assert_int_equal(ls.n, 3);
	assert_string_equal(ls.v[0].what, "/CN=B");
	assert_true(ls.v[0].when == NOW + 10 * DAY);
	assert_string_equal(lifetime_role_name(ls.v[1].role), "crl");
	assert_string_equal(lifetime_role_name(ls.v[2].role), "gateway");
	assert_string_equal(lifetime_role_name(LIFE_CLIENT_CA), "client-ca");
	lifetimes_free(&ls);
	assert_null(ls.v);
	assert_int_equal(ls.n, 0);
	lifetimes_free(&ls);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(quiet_while_far),
		cmocka_unit_test(warns_from_fourteen_days),
		cmocka_unit_test(past_is_said_as_past),
		cmocka_unit_test(crl_soon_says_what_follows),
		cmocka_unit_test(short_buffer_is_cut_not_overrun),
		cmocka_unit_test(one_entry_per_file_earliest_wins),
	};

	return cmocka_run_group_tests_name("lifetime", tests, NULL, NULL);
}
