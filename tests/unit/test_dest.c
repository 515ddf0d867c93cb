/* Unit tests for dest.c: destination safety of resolve/direct routes. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "core/dest.h"

#define MAXR 8

struct policy {
	struct cidr allow[MAXR], deny[MAXR];
	struct addr own[MAXR];
	struct dest_policy p;
};

/* Builds a policy from NULL-terminated lists of texts. */
static void
make(struct policy *pol, const char *const *allow, const char *const *deny,
    const char *const *own)
{
	memset(pol, 0, sizeof(*pol));
	pol->p.allow = pol->allow;
	pol->p.deny = pol->deny;
	pol->p.own = pol->own;
	for (; allow != NULL && *allow != NULL; allow++)
		assert_int_equal(cidr_parse(*allow,
		    &pol->allow[pol->p.nallow++]), 0);
	for (; deny != NULL && *deny != NULL; deny++)
		assert_int_equal(cidr_parse(*deny,
		    &pol->deny[pol->p.ndeny++]), 0);
	for (; own != NULL && *own != NULL; own++)
		assert_int_equal(addr_parse_ip(*own, 2222,
		    &pol->own[pol->p.nown++]), 0);
}

static enum dest_verdict
check(const struct policy *pol, const char *ip, char *why, size_t len)
{
	struct addr a;

	assert_int_equal(addr_parse_ip(ip, 22, &a), 0);
	why[0] = '\0';
	return dest_check(&pol->p, &a, why, len);
}

static void
allowed_range_passes_and_others_do_not(void **state)
{
	static const char *const allow[] = { "10.0.0.0/8", "2001:db8::/32",
	    NULL };
	struct policy pol;
	char why[128];

	(void)state;
	make(&pol, allow, NULL, NULL);
	assert_int_equal(check(&pol, "10.1.2.3", why, sizeof(why)), DEST_OK);
	assert_int_equal(check(&pol, "2001:db8::7", why, sizeof(why)),
	    DEST_OK);
	assert_int_equal(check(&pol, "192.168.0.1", why, sizeof(why)),
	    DEST_NOT_ALLOWED);
	assert_string_equal(why, "192.168.0.1 is not in allow-destination");
}

static void
deny_wins_over_allow(void **state)
{
	static const char *const allow[] = { "10.0.0.0/8", NULL };
	static const char *const deny[] = { "10.9.0.0/16", NULL };
	struct policy pol;
	char why[128];

	(void)state;
	make(&pol, allow, deny, NULL);
	assert_int_equal(check(&pol, "10.9.1.1", why, sizeof(why)),
	    DEST_DENIED);
	assert_int_equal(check(&pol, "10.8.1.1", why, sizeof(why)), DEST_OK);
}

static void
catch_all_does_not_open_special_ranges(void **state)
{
	static const char *const allow[] = { "0.0.0.0/0", "::/0", NULL };
	static const char *const bad[] = { "127.0.0.1", "127.9.9.9", "::1",
	    "169.254.1.1", "fe80::1", "0.0.0.0", "::", "224.0.0.1", "ff02::1",
	    "255.255.255.255", "::ffff:127.0.0.1", "::ffff:169.254.0.1", NULL };
	struct policy pol;
	char why[128];
	size_t i;

	(void)state;
	make(&pol, allow, NULL, NULL);
	for (i = 0; bad[i] != NULL; i++)
		assert_int_equal(check(&pol, bad[i], why, sizeof(why)),
		    DEST_SPECIAL);
	assert_int_equal(check(&pol, "8.8.8.8", why, sizeof(why)), DEST_OK);
}

static void
explicit_entry_inside_special_range_opens_it(void **state)
{
	static const char *const allow[] = { "127.0.0.2/31", NULL };
	struct policy pol;
	char why[128];

	(void)state;
	make(&pol, allow, NULL, NULL);
	assert_int_equal(check(&pol, "127.0.0.2", why, sizeof(why)), DEST_OK);
	assert_int_equal(check(&pol, "127.0.0.3", why, sizeof(why)), DEST_OK);
	/* the mapped form of an allowed address is the same address */
	assert_int_equal(check(&pol, "::ffff:127.0.0.2", why, sizeof(why)),
	    DEST_OK);
	assert_int_equal(check(&pol, "127.0.0.1", why, sizeof(why)),
	    DEST_SPECIAL);
	assert_non_null(strstr(why, "127.0.0.1 is loopback"));
}

static void
own_address_needs_a_host_entry(void **state)
{
	static const char *const wide[] = { "10.0.0.0/8", NULL };
	static const char *const host[] = { "10.0.0.1/32", NULL };
	static const char *const own[] = { "10.0.0.1", NULL };
	struct policy pol;
	char why[128];

	(void)state;
	make(&pol, wide, NULL, own);
	assert_int_equal(check(&pol, "10.0.0.1", why, sizeof(why)), DEST_OWN);
	assert_string_equal(why, "10.0.0.1 is the gateway's own address");
	assert_int_equal(check(&pol, "::ffff:10.0.0.1", why, sizeof(why)),
	    DEST_OWN);
	assert_int_equal(check(&pol, "10.0.0.2", why, sizeof(why)), DEST_OK);
	make(&pol, host, NULL, own);
	assert_int_equal(check(&pol, "10.0.0.1", why, sizeof(why)), DEST_OK);
}

static void
empty_policy_allows_nothing(void **state)
{
	struct policy pol;
	char why[128];

	(void)state;
	make(&pol, NULL, NULL, NULL);
	assert_int_equal(check(&pol, "10.0.0.1", why, sizeof(why)),
	    DEST_NOT_ALLOWED);
}

static void
within_compares_ranges(void **state)
{
	struct cidr a, b;

	(void)state;
	assert_int_equal(cidr_parse("127.0.0.5/32", &a), 0);
	assert_int_equal(cidr_parse("127.0.0.0/8", &b), 0);
	assert_true(cidr_within(&a, &b));
	assert_false(cidr_within(&b, &a));
	assert_int_equal(cidr_parse("0.0.0.0/0", &a), 0);
	assert_false(cidr_within(&a, &b));
	assert_int_equal(cidr_parse("::1", &a), 0);
	assert_false(cidr_within(&a, &b));	/* other family */
	assert_int_equal(cidr_parse("10.0.0.0/9", &a), 0);
	assert_int_equal(cidr_parse("10.128.0.0/9", &b), 0);
	assert_false(cidr_within(&a, &b));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(allowed_range_passes_and_others_do_not),
		cmocka_unit_test(deny_wins_over_allow),
		cmocka_unit_test(catch_all_does_not_open_special_ranges),
		cmocka_unit_test(explicit_entry_inside_special_range_opens_it),
		cmocka_unit_test(own_address_needs_a_host_entry),
		cmocka_unit_test(empty_policy_allows_nothing),
		cmocka_unit_test(within_compares_ranges),
	};

	return cmocka_run_group_tests_name("dest", tests, NULL, NULL);
}
