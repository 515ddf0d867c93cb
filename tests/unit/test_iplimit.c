/* Unit tests for iplimit.c: per-address open counts and token buckets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>

#include "gateway/iplimit.h"

static struct addr
ip(const char *s)
{
	struct addr a;

	assert_int_equal(addr_parse_ip(s, 1234, &a), 0);
	return a;
}

static void
open_count_is_per_address(void **state)
{
	struct iplimit *t = iplimit_new();
	struct addr a = ip("10.0.0.1"), b = ip("10.0.0.2");

	(void)state;
	assert_int_equal(iplimit_enter(t, &a, 2, 0, 0, 0), IPLIMIT_OK);
	assert_int_equal(iplimit_enter(t, &a, 2, 0, 0, 0), IPLIMIT_OK);
	assert_int_equal(iplimit_enter(t, &a, 2, 0, 0, 0), IPLIMIT_TOO_MANY);
	assert_int_equal(iplimit_enter(t, &b, 2, 0, 0, 0), IPLIMIT_OK);
	iplimit_leave(t, &a);
	assert_int_equal(iplimit_enter(t, &a, 2, 0, 0, 0), IPLIMIT_OK);
	iplimit_free(t);
}

static void
mapped_ipv6_is_the_same_client(void **state)
{
	struct iplimit *t = iplimit_new();
	struct addr a = ip("10.0.0.1"), m = ip("::ffff:10.0.0.1");

	(void)state;
	assert_int_equal(iplimit_enter(t, &a, 1, 0, 0, 0), IPLIMIT_OK);
	assert_int_equal(iplimit_enter(t, &m, 1, 0, 0, 0), IPLIMIT_TOO_MANY);
	iplimit_free(t);
}

static void
bucket_empties_and_refills(void **state)
{
	struct iplimit *t = iplimit_new();
	struct addr a = ip("2001:db8::1");
	int i;

	(void)state;
	for (i = 0; i < 3; i++) {
		assert_int_equal(iplimit_enter(t, &a, 0, 3, 60, 100), IPLIMIT_OK);
		iplimit_leave(t, &a);
	}
	assert_int_equal(iplimit_enter(t, &a, 0, 3, 60, 100), IPLIMIT_RATE);
	/* one token back every 20 s */
	assert_int_equal(iplimit_enter(t, &a, 0, 3, 60, 110), IPLIMIT_RATE);
	assert_int_equal(iplimit_enter(t, &a, 0, 3, 60, 121), IPLIMIT_OK);
	assert_int_equal(iplimit_enter(t, &a, 0, 3, 60, 122), IPLIMIT_RATE);
	iplimit_free(t);
}

static void
leave_without_enter_is_harmless(void **state)
{
	struct iplimit *t = iplimit_new();
	struct addr a = ip("10.0.0.9");

	(void)state;
	iplimit_leave(t, &a);
	assert_int_equal(iplimit_enter(t, &a, 1, 0, 0, 0), IPLIMIT_OK);
	iplimit_leave(t, &a);
	iplimit_leave(t, &a);		/* never below zero */
	assert_int_equal(iplimit_enter(t, &a, 1, 0, 0, 0), IPLIMIT_OK);
	assert_int_equal(iplimit_enter(t, &a, 1, 0, 0, 0), IPLIMIT_TOO_MANY);
	iplimit_free(t);
}

static void
many_addresses_stay_bounded(void **state)
{
	struct iplimit *t = iplimit_new();
	char text[32];
	struct addr a;
	int i;

	(void)state;
	/* idle entries with full buckets are dropped as stripes fill */
	for (i = 0; i < 300000; i++) {
		snprintf(text, sizeof(text), "10.%d.%d.%d", (i >> 16) & 255,
		    (i >> 8) & 255, i & 255);
		a = ip(text);
		assert_int_equal(iplimit_enter(t, &a, 0, 10, 1, i), IPLIMIT_OK);
		iplimit_leave(t, &a);
	}
	/* 64 stripes of at most 2048 (one over, before a sweep) */
	assert_true(iplimit_count(t) <= 64 * 2049);
	assert_true(iplimit_count(t) > 1000);
	iplimit_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(open_count_is_per_address),
		cmocka_unit_test(mapped_ipv6_is_the_same_client),
		cmocka_unit_test(bucket_empties_and_refills),
		cmocka_unit_test(leave_without_enter_is_harmless),
		cmocka_unit_test(many_addresses_stay_bounded),
	};

	return cmocka_run_group_tests_name("iplimit", tests, NULL, NULL);
}
