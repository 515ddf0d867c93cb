/* Unit tests for src/sshconfig.c: the gateway, patterns, ProxyCommand words. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "client/sshconfig.h"

static void
assert_gateway(const char *s, const char *host, unsigned port)
{
	char h[256], err[256];
	unsigned p = 0;

	if (sshconfig_gateway(s, 2222, h, sizeof(h), &p, err,
	    sizeof(err)) != 0)
		fail_msg("'%s' should be a gateway: %s", s, err);
	assert_string_equal(h, host);
	assert_int_equal(p, port);
}

static void
assert_bad_gateway(const char *s, const char *why)
{
	char h[256], err[256];
	unsigned p = 0;

	if (sshconfig_gateway(s, 2222, h, sizeof(h), &p, err,
	    sizeof(err)) == 0)
		fail_msg("'%s' should be refused", s);
	if (strstr(err, why) == NULL)
		fail_msg("'%s': '%s' should say '%s'", s, err, why);
}

static void
gateway_names_and_addresses(void **state)
{
	(void)state;
	assert_gateway("gw.example", "gw.example", 2222);
	assert_gateway("GW-1.Example:443", "GW-1.Example", 443);
	assert_gateway("192.0.2.7", "192.0.2.7", 2222);
	assert_gateway("192.0.2.7:22", "192.0.2.7", 22);
	assert_gateway("[2001:db8::1]", "2001:db8::1", 2222);
	assert_gateway("[::1]:65535", "::1", 65535);
}

static void
gateway_shell_and_config_syntax_refused(void **state)
{
	(void)state;
	assert_bad_gateway("$(touch x)", "expected a host name");
	assert_bad_gateway("`id`", "expected a host name");
	assert_bad_gateway("gw;id", "expected a host name");
	assert_bad_gateway("gw id", "expected a host name");
	assert_bad_gateway("gw\nProxyCommand x", "'gw\\nProxyCommand x'");
	assert_bad_gateway("gw%h", "expected a host name");
	assert_bad_gateway("-oProxyCommand", "expected a host name");
	assert_bad_gateway("--insecure", "expected a host name");
	assert_bad_gateway("a..b", "expected a host name");
	assert_bad_gateway("", "expected a host name");
}

static void
gateway_ports_and_brackets(void **state)
{
	(void)state;
	assert_bad_gateway("gw:0", "1-65535");
	assert_bad_gateway("gw:65536", "1-65535");
	assert_bad_gateway("gw:", "1-65535");
	assert_bad_gateway("gw:22:23", "1-65535");
	assert_bad_gateway("gw:22x", "1-65535");
	assert_bad_gateway("::1", "write an IPv6 address in brackets: [::1]");
	assert_bad_gateway("[::1", "brackets");
	assert_bad_gateway("[::1]x", "brackets");
	assert_bad_gateway("[]:22", "brackets");
	assert_bad_gateway("[192.0.2.7]:22", "brackets");
	assert_bad_gateway("[gw.example]", "brackets");
}

static void
gateway_host_too_long(void **state)
{
	char s[300], h[8], err[256];
	unsigned p;

	(void)state;
	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	assert_int_equal(sshconfig_gateway(s, 2222, h, sizeof(h), &p, err,
	    sizeof(err)), -1);
	assert_int_equal(sshconfig_gateway("gw.example", 2222, h, sizeof(h),
	    &p, err, sizeof(err)), -1);
	assert_int_equal(sshconfig_gateway("gw", 2222, h, sizeof(h), &p, err,
	    sizeof(err)), 0);
}

static void
patterns(void **state)
{
	static const char *const good[] = {
		"db7.example.local", "*.example.local", "db?", "!bad.example",
		"::1", "10.0.0.*", "under_score", "*",
	};
	static const char *const bad[] = {
		"", "!", "a b", "a\tb", "db\n    ProxyCommand touch x", "\"q\"",
		"it's", "a,b", "%h", "db#x", "a\\b", "!!x", "a=b", "\xc3\xa9.x",
		"$(id)", "[ab]",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!sshconfig_pattern_ok(good[i]))
			fail_msg("'%s' should be a pattern", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (sshconfig_pattern_ok(bad[i]))
			fail_msg("'%s' should be refused", bad[i]);
}

static void
assert_word(const char *s, const char *want)
{
	char out[256];

	assert_int_equal(sshconfig_word(s, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void
words_quoted_for_shell_and_ssh(void **state)
{
	(void)state;
	assert_word("/usr/bin/sshgate", "/usr/bin/sshgate");
	assert_word("gw.example:2222", "gw.example:2222");
	assert_word("[::1]:2222", "'[::1]:2222'");
	assert_word("/a b/c", "'/a b/c'");
	assert_word("/it's", "'/it'\\''s'");
	assert_word("/50%", "'/50%%'");
	assert_word("/$(id)`x`", "'/$(id)`x`'");
	assert_word("/a=b", "'/a=b'");
	assert_word("~/x", "'~/x'");
	assert_word("/x#y", "'/x#y'");
}

static void
words_refused(void **state)
{
	char out[8];

	(void)state;
	assert_int_equal(sshconfig_word("", out, sizeof(out)), -1);
	assert_int_equal(sshconfig_word("/a\nb", out, sizeof(out)), -1);
	assert_int_equal(sshconfig_word("/a\x7f", out, sizeof(out)), -1);
	assert_int_equal(sshconfig_word("/abcdefg", out, sizeof(out)), -1);
	assert_int_equal(sshconfig_word("/abcdef", out, sizeof(out)), 0);
	assert_int_equal(sshconfig_word("/a b c", out, sizeof(out)), -1);
	assert_int_equal(sshconfig_word("/a b", out, sizeof(out)), 0);
	assert_string_equal(out, "'/a b'");
	assert_int_equal(sshconfig_word("%%%", out, sizeof(out)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(gateway_names_and_addresses),
		cmocka_unit_test(gateway_shell_and_config_syntax_refused),
		cmocka_unit_test(gateway_ports_and_brackets),
		cmocka_unit_test(gateway_host_too_long),
		cmocka_unit_test(patterns),
		cmocka_unit_test(words_quoted_for_shell_and_ssh),
		cmocka_unit_test(words_refused),
	};

	return cmocka_run_group_tests_name("sshconfig", tests, NULL, NULL);
}
