/* Unit tests for src/core/proxyresp.c: a proxy's answer to CONNECT. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/proxyresp.h"

/*
 * Parses a heap copy of exactly len bytes, not terminated, so that the
 * sanitizers catch any read past what was received. Header lookups are
 * done on the copy; *r keeps only offsets-free fields afterwards.
 */
static enum proxyresp_status
parse_n(const char *text, size_t len, struct proxyresp *r,
    enum proxyresp_error *err)
{
	char *copy = malloc(len > 0 ? len : 1);
	enum proxyresp_status st;

	assert_non_null(copy);
	memcpy(copy, text, len);
	*err = PROXYRESP_E_NONE;
	st = proxyresp_parse(copy, len, r, err);
	if (st == PROXYRESP_COMPLETE) {
		assert_true(r->head_len <= len);
		assert_ptr_equal(r->line, copy);
		assert_true(r->headers + r->headers_len + 2 ==
		    copy + r->head_len);
		r->line = text;
		r->headers = text + (r->headers - copy);
	} else if (st == PROXYRESP_BAD)
		assert_int_not_equal(*err, PROXYRESP_E_NONE);
	free(copy);
	return st;
}

static enum proxyresp_status
parse(const char *text, struct proxyresp *r, enum proxyresp_error *err)
{
	return parse_n(text, strlen(text), r, err);
}

static void
established_is_complete(void **state)
{
	const char *t = "HTTP/1.1 200 Connection established\r\n"
	    "Proxy-Agent: tinyproxy/1.11.1\r\n\r\n";
	struct proxyresp r;
	enum proxyresp_error err;
	const char *v;
	size_t n, pos = 0;

	(void)state;
	assert_int_equal(parse(t, &r, &err), PROXYRESP_COMPLETE);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.minor_version, 1);
	assert_int_equal(r.head_len, strlen(t));
	assert_int_equal(r.line_len, strlen("HTTP/1.1 200 Connection "
	    "established"));
	assert_int_equal(proxyresp_header(&r, "proxy-agent", &pos, &v, &n), 1);
	assert_int_equal(n, strlen("tinyproxy/1.11.1"));
	assert_memory_equal(v, "tinyproxy/1.11.1", n);
	assert_int_equal(proxyresp_header(&r, "proxy-agent", &pos, &v, &n), 0);
	pos = 0;
	assert_int_equal(proxyresp_header(&r, "Proxy", &pos, &v, &n), 0);
}

static void
bytes_after_the_head_are_not_looked_at(void **state)
{
	/* the gateway's first TLS bytes, or anything, may follow */
	static const char t[] = "HTTP/1.0 200 OK\r\n\r\n\x16\x03\x01\0\n\r";
	struct proxyresp r;
	enum proxyresp_error err;

	(void)state;
	assert_int_equal(parse_n(t, sizeof(t) - 1, &r, &err),
	    PROXYRESP_COMPLETE);
	assert_int_equal(r.head_len, strlen("HTTP/1.0 200 OK\r\n\r\n"));
	assert_int_equal(r.minor_version, 0);
	assert_int_equal(r.headers_len, 0);
}

static void
statuses_and_reasons(void **state)
{
	struct proxyresp r;
	enum proxyresp_error err;
	const char *v;
	size_t n, pos = 0;

	(void)state;
	assert_int_equal(parse("HTTP/1.1 407\r\n\r\n", &r, &err),
	    PROXYRESP_COMPLETE);		/* no reason phrase at all */
	assert_int_equal(r.status, 407);
	assert_int_equal(parse("HTTP/1.1 502 \r\n\r\n", &r, &err),
	    PROXYRESP_COMPLETE);		/* an empty one */
	assert_int_equal(r.status, 502);
	assert_int_equal(parse("HTTP/1.1 599 x\xe9y\tz\r\n\r\n", &r, &err),
	    PROXYRESP_COMPLETE);		/* obs-text and HTAB */
	assert_int_equal(parse("HTTP/1.1 407 Auth\r\n"
	    "Proxy-Authenticate: Negotiate\r\n"
	    "X-Folded: a\r\n  b\r\n"
	    "Proxy-Authenticate:   Basic realm=\"x\"  \r\n\r\n", &r, &err),
	    PROXYRESP_COMPLETE);
	assert_int_equal(proxyresp_header(&r, "Proxy-Authenticate", &pos, &v,
	    &n), 1);
	assert_int_equal(n, 9);
	assert_memory_equal(v, "Negotiate", 9);
	assert_int_equal(proxyresp_header(&r, "Proxy-Authenticate", &pos, &v,
	    &n), 1);
	assert_int_equal(n, strlen("Basic realm=\"x\""));
	assert_memory_equal(v, "Basic realm=\"x\"", n);
	assert_int_equal(proxyresp_header(&r, "Proxy-Authenticate", &pos, &v,
	    &n), 0);
}

static void
partial_heads_need_more(void **state)
{
	const char *t = "HTTP/1.1 200 OK\r\nVia: x\r\n\r\n";
	struct proxyresp r;
	enum proxyresp_error err;
	size_t i;

	(void)state;
	for (i = 0; i < strlen(t); i++)
		assert_int_equal(parse_n(t, i, &r, &err), PROXYRESP_NEED_MORE);
	assert_int_equal(parse_n(t, i, &r, &err), PROXYRESP_COMPLETE);
}

static void
not_http_is_said_at_once(void **state)
{
	static const char *const bad[] = { "SSH-2.0-OpenSSH_9.2\r\n",
	    "\x15\x03\x03", "H", "http/1.1 200 OK\r\n\r\n", "HTTP/2 200\r\n\r\n",
	    "HTTP/1.2 200 OK\r\n\r\n", "<html>" };
	struct proxyresp r;
	enum proxyresp_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* "H" alone is a fine start; "HX" is not */
		if (strcmp(bad[i], "H") == 0) {
			assert_int_equal(parse(bad[i], &r, &err),
			    PROXYRESP_NEED_MORE);
			assert_int_equal(parse("HX", &r, &err), PROXYRESP_BAD);
		} else
			assert_int_equal(parse(bad[i], &r, &err),
			    PROXYRESP_BAD);
		if (strcmp(bad[i], "H") != 0)
			assert_int_equal(err, PROXYRESP_E_NOT_HTTP);
	}
}

static void
malformed_heads_are_bad(void **state)
{
	static const struct {
		const char *t;
		enum proxyresp_error e;
	} cases[] = {
		{ "HTTP/1.1 20 OK\r\n\r\n", PROXYRESP_E_STATUS_LINE },
		{ "HTTP/1.1 2000 OK\r\n\r\n", PROXYRESP_E_STATUS_LINE },
		{ "HTTP/1.1 600 Big\r\n\r\n", PROXYRESP_E_STATUS_LINE },
		{ "HTTP/1.1 099 Small\r\n\r\n", PROXYRESP_E_STATUS_LINE },
		{ "HTTP/1.1 2x0 OK\r\n\r\n", PROXYRESP_E_STATUS_LINE },
		{ "HTTP/1.1 200 O\x01K\r\n\r\n", PROXYRESP_E_STATUS_LINE },
		{ "HTTP/1.1  200 OK\r\n\r\n", PROXYRESP_E_STATUS_LINE },
		{ "HTTP/1.1 200\r\n\r\n", PROXYRESP_E_NONE },
		{ "HTTP/1.1 200 OK\r\nNoColon\r\n\r\n", PROXYRESP_E_HEADER },
		{ "HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", PROXYRESP_E_HEADER },
		{ "HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", PROXYRESP_E_HEADER },
		{ "HTTP/1.1 200 OK\r\n folded first\r\n\r\n", PROXYRESP_E_HEADER },
		{ "HTTP/1.1 200 OK\r\nX: a\x7f\r\n\r\n", PROXYRESP_E_HEADER },
		{ "HTTP/1.1 200 OK\nX: y\n\n", PROXYRESP_E_HEADER },
		{ "HTTP/1.1 200 OK\r\rX: y\r\n\r\n", PROXYRESP_E_HEADER },
	};
	struct proxyresp r;
	enum proxyresp_error err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (cases[i].e == PROXYRESP_E_NONE) {
			assert_int_equal(parse(cases[i].t, &r, &err),
			    PROXYRESP_COMPLETE);
			continue;
		}
		assert_int_equal(parse(cases[i].t, &r, &err), PROXYRESP_BAD);
		assert_int_equal(err, cases[i].e);
	}
}

static void
nul_bytes_in_the_head_are_bad(void **state)
{
	static const char t[] = "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n";
	struct proxyresp r;
	enum proxyresp_error err;

	(void)state;
	assert_int_equal(parse_n(t, sizeof(t) - 1, &r, &err), PROXYRESP_BAD);
	assert_int_equal(err, PROXYRESP_E_HEADER);
	/* and at once, before the head is whole */
	assert_int_equal(parse_n(t, 22, &r, &err), PROXYRESP_BAD);
}

static void
heads_are_bounded(void **state)
{
	size_t size = PROXYRESP_HEAD_MAX + 100, i;
	char *big = malloc(size);
	struct proxyresp r;
	enum proxyresp_error err;

	(void)state;
	assert_non_null(big);
	/* the status line, then 40-byte lines "X: xxx...x\r\n" */
	memcpy(big, "HTTP/1.1 200 OK\r\n", 17);
	for (i = 17; i < size; i++) {
		size_t k = (i - 17) % 40;

		big[i] = k == 0 ? 'X' : k == 1 ? ':' : k == 38 ? '\r' :
		    k == 39 ? '\n' : 'x';
	}
	assert_int_equal(parse_n(big, PROXYRESP_HEAD_MAX, &r, &err),
	    PROXYRESP_BAD);
	assert_int_equal(err, PROXYRESP_E_TOO_LARGE);
	assert_int_equal(parse_n(big, PROXYRESP_HEAD_MAX - 1, &r, &err),
	    PROXYRESP_NEED_MORE);
	/* an empty line ending right at the limit is found */
	i = 17 + 40 * ((PROXYRESP_HEAD_MAX - 17) / 40) - 40;
	memcpy(big + i, "\r\n", 2);
	assert_int_equal(parse_n(big, size, &r, &err), PROXYRESP_COMPLETE);
	assert_int_equal(r.head_len, i + 2);
	free(big);
}

static void
shown_escapes_and_cuts(void **state)
{
	char out[16];

	(void)state;
	assert_string_equal(proxyresp_shown("a\x1b[2Jb", 6, out, sizeof(out)),
	    "a\\x1b[2Jb");
	assert_string_equal(proxyresp_shown("0123456789abcdefghij", 20, out,
	    sizeof(out)), "0123456789ab...");
	assert_string_equal(proxyresp_shown("0123456789abcde", 15, out,
	    sizeof(out)), "0123456789abcde");
	assert_string_equal(proxyresp_shown("\\", 1, out, sizeof(out)),
	    "\\x5c");
	assert_string_equal(proxyresp_shown("abc", 3, out, 3), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(established_is_complete),
		cmocka_unit_test(bytes_after_the_head_are_not_looked_at),
		cmocka_unit_test(statuses_and_reasons),
		cmocka_unit_test(partial_heads_need_more),
		cmocka_unit_test(not_http_is_said_at_once),
		cmocka_unit_test(malformed_heads_are_bad),
		cmocka_unit_test(nul_bytes_in_the_head_are_bad),
		cmocka_unit_test(heads_are_bounded),
		cmocka_unit_test(shown_escapes_and_cuts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
