/* Unit tests for src/client/proxyurl.c: proxy URLs and no_proxy. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "client/proxyurl.h"

static void
urls_are_parsed(void **state)
{
	struct proxyurl u;
	char err[256];

	(void)state;
	assert_int_equal(proxyurl_parse("http://proxy.corp:3128", &u, err,
	    sizeof(err)), 0);
	assert_string_equal(u.host, "proxy.corp");
	assert_int_equal(u.port, 3128);
	assert_int_equal(u.has_auth, 0);
	assert_int_equal(proxyurl_parse("HTTP://10.1.2.3/", &u, err,
	    sizeof(err)), 0);
	assert_string_equal(u.host, "10.1.2.3");
	assert_int_equal(u.port, PROXYURL_DEFAULT_PORT);
	assert_int_equal(proxyurl_parse("proxy:8080", &u, err, sizeof(err)),
	    0);	/* no scheme: http */
	assert_string_equal(u.host, "proxy");
	assert_int_equal(u.port, 8080);
	assert_int_equal(proxyurl_parse("http://[::1]:3128", &u, err,
	    sizeof(err)), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 3128);
	assert_int_equal(proxyurl_parse("http://[2001:db8::7]", &u, err,
	    sizeof(err)), 0);
	assert_string_equal(u.host, "2001:db8::7");
	assert_int_equal(u.port, 80);
}

static void
credentials_are_percent_decoded(void **state)
{
	struct proxyurl u;
	char err[256];

	(void)state;
	assert_int_equal(proxyurl_parse("http://alice:s%40cr%3At%25%2F%20x@"
	    "proxy:3128", &u, err, sizeof(err)), 0);
	assert_int_equal(u.has_auth, 1);
	assert_string_equal(u.user, "alice");
	assert_string_equal(u.pass, "s@cr:t%/ x");
	assert_string_equal(u.host, "proxy");
	/* the last '@' ends the user info */
	assert_int_equal(proxyurl_parse("http://bob:p@ss@proxy", &u, err,
	    sizeof(err)), 0);
	assert_string_equal(u.user, "bob");
	assert_string_equal(u.pass, "p@ss");
	assert_int_equal(proxyurl_parse("http://d%C3%A9j%c3%a0@proxy", &u,
	    err, sizeof(err)), 0);
	assert_string_equal(u.user, "d\xc3\xa9j\xc3\xa0");
	assert_string_equal(u.pass, "");
	assert_int_equal(proxyurl_parse("http://carol:@proxy", &u, err,
	    sizeof(err)), 0);
	assert_int_equal(u.has_auth, 1);
	assert_string_equal(u.pass, "");
}

static void
bad_urls_are_refused_without_the_password(void **state)
{
	static const char *const bad[] = {
		"https://proxy:3128", "socks5://proxy:1080", "ftp://x",
		"http://", "http://:3128", "http://proxy:", "http://proxy:0",
		"http://proxy:65536", "http://proxy:31x8", "http://::1:3128",
		"http://[::1", "http://[::1]x", "http://[proxy]:3128",
		"http://pro xy:3128", "http://proxy:3128/path",
		"http://proxy:3128?q", "http://u:secret/x@proxy",
		"http://u:se%2cret%zz@proxy", "http://u:se%0@proxy",
		"http://u:se%00cret@proxy", "http://:secret@proxy",
		"http://u%3Av:secret@proxy", "http://@proxy", "://proxy",
		"http://proxy\r\n:3128", "",
	};
	struct proxyurl u;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (proxyurl_parse(bad[i], &u, err, sizeof(err)) != -1)
			fail_msg("accepted '%s'", bad[i]);
		assert_true(strlen(err) > 10);
		assert_null(strstr(err, "secret"));
		assert_null(strstr(err, "se%"));
	}
	assert_int_equal(proxyurl_parse("https://p", &u, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "https:// proxies"));
	assert_int_equal(proxyurl_parse("http://::1:3128", &u, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "brackets"));
}

static void
long_credentials_are_bounded(void **state)
{
	char url[700], err[256];
	struct proxyurl u;

	(void)state;
	snprintf(url, sizeof(url), "http://u:%0255d@p", 0);
	assert_int_equal(proxyurl_parse(url, &u, err, sizeof(err)), 0);
	assert_int_equal(strlen(u.pass), 255);
	snprintf(url, sizeof(url), "http://u:%0256d@p", 0);
	assert_int_equal(proxyurl_parse(url, &u, err, sizeof(err)), -1);
}

static void
redaction_hides_the_password(void **state)
{
	char out[128];

	(void)state;
	assert_string_equal(proxyurl_redact("http://alice:secret@proxy:3128",
	    out, sizeof(out)), "http://alice:***@proxy:3128");
	assert_string_equal(proxyurl_redact("alice:se@cret@proxy", out,
	    sizeof(out)), "alice:***@proxy");
	assert_string_equal(proxyurl_redact("http://u:sec/ret@p/x", out,
	    sizeof(out)), "http://u:***@p/x");
	assert_string_equal(proxyurl_redact("http://alice@proxy:3128", out,
	    sizeof(out)), "http://alice@proxy:3128");
	assert_string_equal(proxyurl_redact("http://proxy:3128", out,
	    sizeof(out)), "http://proxy:3128");
	assert_string_equal(proxyurl_redact("http://p\n:1", out,
	    sizeof(out)), "http://p\\x0a:1");
	proxyurl_redact("http://u:secret@p", out, 12);
	assert_true(strlen(out) < 12 && strstr(out, "sec") == NULL);
	/* a "://" after the credentials is no scheme's end */
	assert_string_equal(proxyurl_redact("alice:s3cret@proxy:3128/x://y",
	    out, sizeof(out)), "alice:***@proxy:3128/x://y");
	assert_string_equal(proxyurl_redact("u:a://b@proxy", out,
	    sizeof(out)), "u:***@proxy");
	assert_string_equal(proxyurl_redact("http://u:a://b@proxy", out,
	    sizeof(out)), "http://u:***@proxy");
}

static void
no_proxy_names_and_domains(void **state)
{
	(void)state;
	assert_int_equal(proxyurl_no_proxy("gw.corp.example", "gw.corp.example"),
	    1);
	assert_int_equal(proxyurl_no_proxy("corp.example", "gw.corp.example"),
	    1);
	assert_int_equal(proxyurl_no_proxy(".corp.example", "gw.corp.example"),
	    1);
	assert_int_equal(proxyurl_no_proxy(".corp.example", "corp.example"), 1);
	assert_int_equal(proxyurl_no_proxy("CORP.Example.", "gw.corp.example."),
	    1);
	assert_int_equal(proxyurl_no_proxy("rp.example", "gw.corp.example"),
	    0);
	assert_int_equal(proxyurl_no_proxy("gw.corp.example",
	    "corp.example"), 0);
	assert_int_equal(proxyurl_no_proxy("a, b ,,\tlocalhost", "localhost"),
	    1);
	assert_int_equal(proxyurl_no_proxy("*", "anything"), 1);
	assert_int_equal(proxyurl_no_proxy("*.corp.example", "gw.corp.example"),
	    0);	/* not a wildcard: "*" only alone */
	assert_int_equal(proxyurl_no_proxy("", "gw"), 0);
	assert_int_equal(proxyurl_no_proxy(" , ", "gw"), 0);
	assert_int_equal(proxyurl_no_proxy(".", "gw"), 0);
	assert_int_equal(proxyurl_no_proxy("..", "gw"), 0);
}

static void
no_proxy_addresses_and_ranges(void **state)
{
	(void)state;
	assert_int_equal(proxyurl_no_proxy("127.0.0.1", "127.0.0.1"), 1);
	assert_int_equal(proxyurl_no_proxy("127.0.0.2", "127.0.0.1"), 0);
	assert_int_equal(proxyurl_no_proxy("10.0.0.0/8,192.168.0.0/16",
	    "10.20.30.40"), 1);
	assert_int_equal(proxyurl_no_proxy("10.0.0.0/8", "11.0.0.1"), 0);
	assert_int_equal(proxyurl_no_proxy("::1", "::1"), 1);
	assert_int_equal(proxyurl_no_proxy("[::1]", "::1"), 1);
	assert_int_equal(proxyurl_no_proxy("2001:db8::/32", "2001:db8::10"),
	    1);
	/* names are not resolved; an address never matches a name */
	assert_int_equal(proxyurl_no_proxy("localhost", "127.0.0.1"), 0);
	assert_int_equal(proxyurl_no_proxy("127.0.0.1", "localhost"), 0);
	assert_int_equal(proxyurl_no_proxy("0.0.1", "10.0.0.1"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(urls_are_parsed),
		cmocka_unit_test(credentials_are_percent_decoded),
		cmocka_unit_test(bad_urls_are_refused_without_the_password),
		cmocka_unit_test(long_credentials_are_bounded),
		cmocka_unit_test(redaction_hides_the_password),
		cmocka_unit_test(no_proxy_names_and_domains),
		cmocka_unit_test(no_proxy_addresses_and_ranges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
