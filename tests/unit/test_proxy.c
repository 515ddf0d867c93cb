/* Unit tests for proxy.c: PROXY protocol v1/v2 parsing and v2 building. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "core/proxy.h"

static enum proxy_status
parse(const void *buf, size_t len, size_t *used, struct proxy_info *info)
{
	const char *why = NULL;
	enum proxy_status s = proxy_parse(buf, len, used, info, &why);

	if (s == PROXY_BAD)
		assert_non_null(why);
	return s;
}

static void
text(const struct addr *a, const char *want)
{
	char buf[ADDR_TEXT_MAX];

	addr_format(a, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void
v1_tcp4_and_tcp6(void **state)
{
	static const char h4[] = "PROXY TCP4 192.0.2.7 10.0.0.1 51000 2222\r\n"
	    "\x16\x03\x01";
	static const char h6[] = "PROXY TCP6 2001:db8::7 2001:db8::1 1 2\r\n";
	struct proxy_info info;
	size_t used;

	(void)state;
	assert_int_equal(parse(h4, sizeof(h4) - 1, &used, &info), PROXY_OK);
	assert_int_equal(used, strlen(h4) - 3);	/* TLS bytes not taken */
	assert_false(info.local);
	text(&info.src, "192.0.2.7:51000");
	text(&info.dst, "10.0.0.1:2222");
	assert_int_equal(parse(h6, sizeof(h6) - 1, &used, &info), PROXY_OK);
	text(&info.src, "[2001:db8::7]:1");
}

static void
v1_unknown_partial_and_bad(void **state)
{
	struct proxy_info info;
	size_t used;
	char longline[200];

	(void)state;
	assert_int_equal(parse("PROXY UNKNOWN\r\n", 15, &used, &info),
	    PROXY_OK);
	assert_true(info.local);
	assert_int_equal(parse("PRO", 3, &used, &info), PROXY_NEED_MORE);
	assert_int_equal(parse("PROXY TCP4 1.2.3.4", 18, &used, &info),
	    PROXY_NEED_MORE);
	assert_int_equal(parse("GET / HTTP/1.0\r\n", 16, &used, &info),
	    PROXY_BAD);
	assert_int_equal(parse("\x16\x03\x01\x02", 4, &used, &info),
	    PROXY_BAD);
	assert_int_equal(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n", 36,
	    &used, &info), PROXY_BAD);
	assert_int_equal(parse("PROXY TCP4 ::1 5.6.7.8 1 2\r\n", 28, &used,
	    &info), PROXY_BAD);
	assert_int_equal(parse("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", 30, &used,
	    &info), PROXY_BAD);
	assert_int_equal(parse("PROXY TCP4 1.2.3.4\n5.6.7.8 1 2\r\n", 32,
	    &used, &info), PROXY_BAD);
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "PROXY TCP4 ", 11);
	assert_int_equal(parse(longline, sizeof(longline), &used, &info),
	    PROXY_BAD);
}

static void
v2_roundtrip_and_local(void **state)
{
	unsigned char h[64];
	struct proxy_info info;
	struct addr s, d;
	size_t n, used;

	(void)state;
	assert_int_equal(addr_parse_ip("192.0.2.7", 51000, &s), 0);
	assert_int_equal(addr_parse_ip("10.0.0.1", 2222, &d), 0);
	n = proxy_build_v2(&s, &d, h);
	assert_int_equal(n, 28);
	assert_int_equal(parse(h, n, &used, &info), PROXY_OK);
	assert_int_equal(used, 28);
	text(&info.src, "192.0.2.7:51000");
	text(&info.dst, "10.0.0.1:2222");
	assert_int_equal(addr_parse_ip("2001:db8::7", 9, &s), 0);
	assert_int_equal(addr_parse_ip("2001:db8::1", 22, &d), 0);
	n = proxy_build_v2(&s, &d, h);
	assert_int_equal(n, 52);
	assert_int_equal(parse(h, n, &used, &info), PROXY_OK);
	text(&info.src, "[2001:db8::7]:9");
	/* every prefix is "need more" */
	for (used = 0; used < n; used++) {
		size_t u;

		assert_int_equal(parse(h, used, &u, &info), PROXY_NEED_MORE);
	}
	/* LOCAL (a health check of the balancer) */
	h[12] = 0x20;
	assert_int_equal(parse(h, n, &used, &info), PROXY_OK);
	assert_true(info.local);
}

static void
v2_bad_and_oversized(void **state)
{
	unsigned char h[64];
	struct proxy_info info;
	struct addr s, d;
	size_t n, used;

	(void)state;
	assert_int_equal(addr_parse_ip("192.0.2.7", 1, &s), 0);
	assert_int_equal(addr_parse_ip("10.0.0.1", 2, &d), 0);
	n = proxy_build_v2(&s, &d, h);
	h[12] = 0x31;		/* version 3 */
	assert_int_equal(parse(h, n, &used, &info), PROXY_BAD);
	h[12] = 0x21;
	h[14] = 0xff;		/* 65k of TLVs */
	assert_int_equal(parse(h, 16, &used, &info), PROXY_BAD);
	h[14] = 0;
	h[15] = 4;		/* too short for TCP4 */
	assert_int_equal(parse(h, 20, &used, &info), PROXY_BAD);
	h[15] = 12;
	h[13] = 0x31;		/* UNIX sockets: not for us */
	assert_int_equal(parse(h, n, &used, &info), PROXY_BAD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(v1_tcp4_and_tcp6),
		cmocka_unit_test(v1_unknown_partial_and_bad),
		cmocka_unit_test(v2_roundtrip_and_local),
		cmocka_unit_test(v2_bad_and_oversized),
	};

	return cmocka_run_group_tests_name("proxy", tests, NULL, NULL);
}
