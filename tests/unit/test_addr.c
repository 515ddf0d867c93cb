/* Unit tests for src/addr.c: literals, HOST:PORT, formatting, CIDR. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/addr.h"

static struct addr
ip(const char *s, unsigned port)
{
	struct addr a;

	if (addr_parse_ip(s, port, &a) != 0)
		fail_msg("'%s' should be an address literal", s);
	return a;
}

static struct cidr
cidr(const char *s)
{
	struct cidr c;

	if (cidr_parse(s, &c) != 0)
		fail_msg("'%s' should be a CIDR range", s);
	return c;
}

static int
matches(const char *range, const char *addr)
{
	struct cidr c = cidr(range);
	struct addr a = ip(addr, 0);

	return cidr_match(&c, &a);
}

static void
assert_formats(const char *s, unsigned port, const char *want)
{
	char buf[ADDR_TEXT_MAX];
	struct addr a = ip(s, port);

	addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

/* --- addr_parse_ip ------------------------------------------------------ */

static void
parse_ip_v4(void **state)
{
	struct addr a = ip("192.0.2.7", 2222);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a.ss;

	(void)state;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 2222);
	assert_int_equal(ntohl(sin->sin_addr.s_addr), 0xc0000207);
	/* len is what bind/connect need */
	assert_int_equal(a.len, sizeof(struct sockaddr_in));
}

static void
parse_ip_v6(void **state)
{
	static const unsigned char loop6[16] = { [15] = 1 };
	struct addr a = ip("::1", 22);
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a.ss;

	(void)state;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 22);
	assert_memory_equal(&sin6->sin6_addr, loop6, 16);
	assert_int_equal(a.len, sizeof(struct sockaddr_in6));
}

static void
parse_ip_v4_mapped_stays_v6(void **state)
{
	struct addr a = ip("::ffff:10.1.2.3", 0);

	(void)state;
	/* the literal is kept as written: cidr_match unwraps it later */
	assert_int_equal(a.ss.ss_family, AF_INET6);
}

static void
parse_ip_rejects_non_literals(void **state)
{
	static const char *const bad[] = {
		"", "localhost", "example.com", "1.2.3", "1.2.3.4.5",
		"256.1.1.1", "1.2.3.4:22", "[::1]", "::1:::", "fe80::1%eth0",
		" 1.2.3.4", "1.2.3.4 ",
	};
	struct addr a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (addr_parse_ip(bad[i], 22, &a) != -1)
			fail_msg("'%s' should not be an address literal", bad[i]);
}

/* --- addr_split --------------------------------------------------------- */

static void
assert_split(const char *s, const char *want_host, unsigned want_port)
{
	char host[256], err[256] = "";
	unsigned port = 0;

	if (addr_split(s, host, sizeof(host), &port, err, sizeof(err)) != 0)
		fail_msg("'%s' should split: %s", s, err);
	assert_string_equal(host, want_host);
	assert_int_equal(port, want_port);
}

static void
assert_split_error(const char *s, size_t hostlen, const char *want_err)
{
	char host[256], err[256] = "";
	unsigned port = 0;

	assert_true(hostlen <= sizeof(host));
	if (addr_split(s, host, hostlen, &port, err, sizeof(err)) != -1)
		fail_msg("'%s' should not split", s);
	assert_string_equal(err, want_err);
}

static void
split_v4_and_names(void **state)
{
	(void)state;
	assert_split("127.0.0.1:2222", "127.0.0.1", 2222);
	assert_split("db7.example.local:22", "db7.example.local", 22);
	assert_split("h:1", "h", 1);
	assert_split("h:65535", "h", 65535);
}

static void
split_v6_in_brackets(void **state)
{
	(void)state;
	/* brackets are removed from the host */
	assert_split("[::1]:22", "::1", 22);
	assert_split("[2001:db8::7]:2222", "2001:db8::7", 2222);
}

static void
split_needs_port(void **state)
{
	(void)state;
	assert_split_error("example.com", 256, "'example.com': missing :PORT");
	assert_split_error("", 256, "'': missing :PORT");
}

static void
split_port_range(void **state)
{
	(void)state;
	assert_split_error("h:0", 256, "'h:0': port must be 1-65535");
	assert_split_error("h:65536", 256, "'h:65536': port must be 1-65535");
	assert_split_error("h:", 256, "'h:': port must be 1-65535");
	assert_split_error("h:22x", 256, "'h:22x': port must be 1-65535");
	assert_split_error("h:-1", 256, "'h:-1': port must be 1-65535");
	assert_split_error("[::1]:", 256, "'[::1]:': port must be 1-65535");
}

static void
split_bare_v6_is_refused(void **state)
{
	(void)state;
	/* "::1:22": is 22 the port or part of the address? */
	assert_split_error("::1:22", 256,
	    "'::1:22': write IPv6 addresses as [ADDR]:PORT");
	assert_split_error("a:b:22", 256,
	    "'a:b:22': write IPv6 addresses as [ADDR]:PORT");
}

static void
split_bad_brackets(void **state)
{
	(void)state;
	assert_split_error("[::1", 256, "'[::1': expected [IPV6]:PORT");
	assert_split_error("[::1]22", 256, "'[::1]22': expected [IPV6]:PORT");
	assert_split_error("[::1]", 256, "'[::1]': expected [IPV6]:PORT");
}

static void
split_empty_host(void **state)
{
	(void)state;
	assert_split_error(":22", 256, "':22': empty host");
	assert_split_error("[]:22", 256, "'[]:22': empty host");
}

static void
split_host_too_long(void **state)
{
	(void)state;
	/* host must fit with its NUL: 4 characters need 5 bytes */
	assert_split_error("abcd:22", 4, "'abcd:22': too long host");
}

static void
split_host_exactly_fits(void **state)
{
	char host[5], err[64];
	unsigned port = 0;

	(void)state;
	assert_int_equal(addr_split("abcd:22", host, sizeof(host), &port, err,
	    sizeof(err)), 0);
	assert_string_equal(host, "abcd");
	assert_int_equal(port, 22);
}

static void
split_error_is_truncated_to_errlen(void **state)
{
	char host[16], err[8];
	unsigned port;

	(void)state;
	memset(err, 'X', sizeof(err));
	assert_int_equal(addr_split("no-port-here", host, sizeof(host), &port,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "'no-por");
}

/* --- addr_format / addr_format_ip --------------------------------------- */

static void
format_v4(void **state)
{
	(void)state;
	assert_formats("1.2.3.4", 22, "1.2.3.4:22");
	assert_formats("0.0.0.0", 65535, "0.0.0.0:65535");
}

static void
format_v6_in_brackets(void **state)
{
	(void)state;
	assert_formats("::1", 22, "[::1]:22");
	/* inet_ntop's canonical form, lower case and compressed */
	assert_formats("2001:DB8:0:0:0:0:0:7", 2222, "[2001:db8::7]:2222");
	assert_formats("::ffff:10.1.2.3", 80, "[::ffff:10.1.2.3]:80");
}

static void
format_longest_v6_fits(void **state)
{
	/* ADDR_TEXT_MAX must hold the longest address and port */
	assert_formats("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535,
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	(void)state;
}

static void
format_ip_without_port(void **state)
{
	char buf[ADDR_TEXT_MAX];
	struct addr a4 = ip("10.0.0.1", 22), a6 = ip("fe80::1", 22);

	(void)state;
	addr_format_ip(&a4, buf, sizeof(buf));
	assert_string_equal(buf, "10.0.0.1");
	addr_format_ip(&a6, buf, sizeof(buf));
	assert_string_equal(buf, "fe80::1");
}

static void
format_unknown_family(void **state)
{
	char buf[ADDR_TEXT_MAX];
	struct addr a;

	(void)state;
	/* an address never set (e.g. no destination yet) prints as "?" */
	memset(&a, 0, sizeof(a));
	addr_format_ip(&a, buf, sizeof(buf));
	assert_string_equal(buf, "?");
	addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "?:0");
}

static void
format_truncates_to_len(void **state)
{
	char buf[8];
	struct addr a = ip("192.168.100.200", 2222);

	(void)state;
	addr_format(&a, buf, sizeof(buf));
	assert_string_equal(buf, "192.168");
}

/* --- addr_equal --------------------------------------------------------- */

static void
equal_same_address_and_port(void **state)
{
	struct addr a = ip("10.0.0.1", 22), b = ip("10.0.0.1", 22);
	struct addr c = ip("::1", 22), d = ip("0:0:0:0:0:0:0:1", 22);

	(void)state;
	assert_true(addr_equal(&a, &b));
	assert_true(addr_equal(&c, &d));
}

static void
equal_differs_by_port_or_address(void **state)
{
	struct addr a = ip("10.0.0.1", 22), b = ip("10.0.0.1", 23);
	struct addr c = ip("10.0.0.2", 22);
	struct addr d = ip("::1", 22), e = ip("::2", 22), f = ip("::1", 23);

	(void)state;
	assert_false(addr_equal(&a, &b));
	assert_false(addr_equal(&a, &c));
	assert_false(addr_equal(&d, &e));
	assert_false(addr_equal(&d, &f));
}

static void
equal_differs_by_family(void **state)
{
	struct addr a = ip("10.0.0.1", 22), b = ip("::ffff:10.0.0.1", 22);
	struct addr zero1, zero2;

	(void)state;
	/* for listen duplicates: 10.0.0.1 and its mapped form are two sockets */
	assert_false(addr_equal(&a, &b));
	memset(&zero1, 0, sizeof(zero1));
	memset(&zero2, 0, sizeof(zero2));
	/* unset addresses are never "the same" listen address */
	assert_false(addr_equal(&zero1, &zero2));
}

/* --- cidr_parse --------------------------------------------------------- */

static void
cidr_parse_v4(void **state)
{
	static const unsigned char net[4] = { 10, 0, 0, 0 };
	struct cidr c = cidr("10.0.0.0/8");

	(void)state;
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 8);
	assert_memory_equal(c.bytes, net, 4);
}

static void
cidr_parse_zeroes_host_bits(void **state)
{
	/* /17 keeps only the top bit of the third byte */
	static const unsigned char net4[4] = { 10, 1, 0x80, 0 };
	static const unsigned char net6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
	struct cidr c4 = cidr("10.1.255.255/17");
	struct cidr c6 = cidr("2001:db8:ffff::1/32");

	(void)state;
	/* matching compares whole bytes: stray host bits would break it */
	assert_memory_equal(c4.bytes, net4, 4);
	assert_memory_equal(c6.bytes, net6, 16);
}

static void
cidr_parse_bare_address_is_host_range(void **state)
{
	struct cidr c4 = cidr("192.0.2.1"), c6 = cidr("::1");

	(void)state;
	assert_int_equal(c4.family, AF_INET);
	assert_int_equal(c4.prefix, 32);
	assert_int_equal(c6.family, AF_INET6);
	assert_int_equal(c6.prefix, 128);
}

static void
cidr_parse_prefix_limits(void **state)
{
	struct cidr c;

	(void)state;
	assert_int_equal(cidr_parse("0.0.0.0/0", &c), 0);
	assert_int_equal(c.prefix, 0);
	assert_int_equal(cidr_parse("1.2.3.4/32", &c), 0);
	assert_int_equal(cidr_parse("::/0", &c), 0);
	assert_int_equal(cidr_parse("::1/128", &c), 0);
	assert_int_equal(c.prefix, 128);
	/* past the family's width */
	assert_int_equal(cidr_parse("1.2.3.4/33", &c), -1);
	assert_int_equal(cidr_parse("::1/129", &c), -1);
}

static void
cidr_parse_rejects_malformed(void **state)
{
	static const char *const bad[] = {
		"", "/8", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/+8",
		"10.0.0.0/8/8", "10.0.0.0/8x", "10.0.0/8", "example.com/8",
		"10.0.0.0 /8", "fe80::1%eth0/64", "*",
		/* longer than any address text */
		"0000:0000:0000:0000:0000:0000:0000:0000:0000/8",
	};
	struct cidr c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cidr_parse(bad[i], &c) != -1)
			fail_msg("'%s' should not be a CIDR range", bad[i]);
}

/* --- cidr_match --------------------------------------------------------- */

static void
cidr_match_v4(void **state)
{
	(void)state;
	assert_true(matches("10.0.0.0/8", "10.0.0.0"));
	assert_true(matches("10.0.0.0/8", "10.255.255.255"));
	assert_false(matches("10.0.0.0/8", "11.0.0.0"));
	assert_false(matches("10.0.0.0/8", "9.255.255.255"));
}

static void
cidr_match_prefix_not_on_byte_boundary(void **state)
{
	(void)state;
	/* /20: the first 4 bits of the third byte count */
	assert_true(matches("172.16.16.0/20", "172.16.31.255"));
	assert_false(matches("172.16.16.0/20", "172.16.32.0"));
	assert_false(matches("172.16.16.0/20", "172.16.15.255"));
	/* /1 and /31: one bit at either end of the range */
	assert_true(matches("128.0.0.0/1", "255.1.2.3"));
	assert_false(matches("128.0.0.0/1", "127.1.2.3"));
	assert_true(matches("10.0.0.4/31", "10.0.0.5"));
	assert_false(matches("10.0.0.4/31", "10.0.0.6"));
}

static void
cidr_match_host_range(void **state)
{
	(void)state;
	assert_true(matches("192.0.2.1", "192.0.2.1"));
	assert_false(matches("192.0.2.1", "192.0.2.2"));
	assert_true(matches("::1", "::1"));
	assert_false(matches("::1", "::2"));
}

static void
cidr_match_zero_prefix_matches_its_family(void **state)
{
	(void)state;
	assert_true(matches("0.0.0.0/0", "1.2.3.4"));
	assert_true(matches("0.0.0.0/0", "255.255.255.255"));
	assert_true(matches("::/0", "2001:db8::1"));
	/* a v4 range never matches a plain v6 address, even /0 */
	assert_false(matches("0.0.0.0/0", "2001:db8::1"));
	assert_false(matches("::/0", "1.2.3.4"));
}

static void
cidr_match_v6(void **state)
{
	(void)state;
	assert_true(matches("2001:db8::/32", "2001:db8:1234::1"));
	assert_false(matches("2001:db8::/32", "2001:db9::1"));
	/* /65: the top bit of the ninth byte */
	assert_true(matches("2001:db8::/65", "2001:db8::7fff:0:0:1"));
	assert_false(matches("2001:db8::/65", "2001:db8::8000:0:0:1"));
}

static void
cidr_match_v4_mapped_v6_as_v4(void **state)
{
	(void)state;
	/* a dual-stack socket reports v4 clients as ::ffff:a.b.c.d */
	assert_true(matches("10.0.0.0/8", "::ffff:10.1.2.3"));
	assert_false(matches("10.0.0.0/8", "::ffff:11.1.2.3"));
	assert_true(matches("10.1.2.3", "::ffff:10.1.2.3"));
	assert_true(matches("0.0.0.0/0", "::ffff:1.2.3.4"));
}

static void
cidr_match_only_true_mapped_prefix(void **state)
{
	(void)state;
	/* v4-compatible (::a.b.c.d) and NAT64 forms are not v4-mapped */
	assert_false(matches("10.0.0.0/8", "::10.1.2.3"));
	assert_false(matches("10.0.0.0/8", "64:ff9b::10.1.2.3"));
	assert_false(matches("10.0.0.0/8", "::fffe:10.1.2.3"));
	assert_false(matches("0.0.0.0/0", "::1"));
}

static void
cidr_match_unset_address(void **state)
{
	struct cidr c = cidr("0.0.0.0/0");
	struct addr a;

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_false(cidr_match(&c, &a));
}

static void
v4_of_mapped_and_plain(void **state)
{
	struct addr a;
	unsigned char k1[16], k2[16];

	(void)state;
	assert_int_equal(addr_parse_ip("10.1.2.3", 22, &a), 0);
	assert_memory_equal(addr_v4(&a), "\x0a\x01\x02\x03", 4);
	addr_key16(&a, k1);
	assert_int_equal(addr_parse_ip("::ffff:10.1.2.3", 22, &a), 0);
	assert_memory_equal(addr_v4(&a), "\x0a\x01\x02\x03", 4);
	addr_key16(&a, k2);
	assert_memory_equal(k1, k2, 16);	/* one client, one key */
	assert_int_equal(addr_parse_ip("2001:db8::1", 22, &a), 0);
	assert_null(addr_v4(&a));
	assert_int_equal(addr_parse_ip("::10.1.2.3", 22, &a), 0);
	assert_null(addr_v4(&a));		/* compatible, not mapped */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(v4_of_mapped_and_plain),
		cmocka_unit_test(parse_ip_v4),
		cmocka_unit_test(parse_ip_v6),
		cmocka_unit_test(parse_ip_v4_mapped_stays_v6),
		cmocka_unit_test(parse_ip_rejects_non_literals),
		cmocka_unit_test(split_v4_and_names),
		cmocka_unit_test(split_v6_in_brackets),
		cmocka_unit_test(split_needs_port),
		cmocka_unit_test(split_port_range),
		cmocka_unit_test(split_bare_v6_is_refused),
		cmocka_unit_test(split_bad_brackets),
		cmocka_unit_test(split_empty_host),
		cmocka_unit_test(split_host_too_long),
		cmocka_unit_test(split_host_exactly_fits),
		cmocka_unit_test(split_error_is_truncated_to_errlen),
		cmocka_unit_test(format_v4),
		cmocka_unit_test(format_v6_in_brackets),
		cmocka_unit_test(format_longest_v6_fits),
		cmocka_unit_test(format_ip_without_port),
		cmocka_unit_test(format_unknown_family),
		cmocka_unit_test(format_truncates_to_len),
		cmocka_unit_test(equal_same_address_and_port),
		cmocka_unit_test(equal_differs_by_port_or_address),
		cmocka_unit_test(equal_differs_by_family),
		cmocka_unit_test(cidr_parse_v4),
		cmocka_unit_test(cidr_parse_zeroes_host_bits),
		cmocka_unit_test(cidr_parse_bare_address_is_host_range),
		cmocka_unit_test(cidr_parse_prefix_limits),
		cmocka_unit_test(cidr_parse_rejects_malformed),
		cmocka_unit_test(cidr_match_v4),
		cmocka_unit_test(cidr_match_prefix_not_on_byte_boundary),
		cmocka_unit_test(cidr_match_host_range),
		cmocka_unit_test(cidr_match_zero_prefix_matches_its_family),
		cmocka_unit_test(cidr_match_v6),
		cmocka_unit_test(cidr_match_v4_mapped_v6_as_v4),
		cmocka_unit_test(cidr_match_only_true_mapped_prefix),
		cmocka_unit_test(cidr_match_unset_address),
	};

	return cmocka_run_group_tests_name("addr", tests, NULL, NULL);
}
