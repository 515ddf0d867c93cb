/* Unit tests for src/httpreq.c: the metrics endpoint's request head. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/httpreq.h"

/*
 * Parses a heap copy of exactly len bytes, not terminated, so that the
 * sanitizers catch any read past what was received.
 */
static enum httpreq_status
parse_n(const char *text, size_t len, struct httpreq *r,
    enum httpreq_error *err)
{
	char *copy = malloc(len > 0 ? len : 1);
	enum httpreq_status st;

	assert_non_null(copy);
	memcpy(copy, text, len);
	*err = HTTPREQ_E_NONE;
	st = httpreq_parse(copy, len, r, err);
	if (st == HTTPREQ_COMPLETE) {
		assert_true(r->head_len <= len);
		assert_true(r->path >= copy && r->path + r->path_len <=
		    copy + r->head_len);
		/* the results point into the buffer: compare before freeing */
		r->method = r->method - copy + text;
		r->path = r->path - copy + text;
	} else if (st == HTTPREQ_BAD)
		assert_int_not_equal(*err, HTTPREQ_E_NONE);
	free(copy);
	return st;
}

static enum httpreq_status
parse(const char *text, struct httpreq *r, enum httpreq_error *err)
{
	return parse_n(text, strlen(text), r, err);
}

/* The status code the metrics endpoint answers this request with. */
static int
answer(const char *text)
{
	enum httpreq_error err;
	struct httpreq r;

	switch (parse(text, &r, &err)) {
	case HTTPREQ_NEED_MORE:
		return 0;
	case HTTPREQ_BAD:
		return err == HTTPREQ_E_TOO_LARGE ? 431 : 400;
	case HTTPREQ_COMPLETE:
		break;
	}
	if (!httpreq_method_is(&r, "GET") && !httpreq_method_is(&r, "HEAD"))
		return 405;
	return httpreq_path_is(&r, "/metrics") ? 200 : 404;
}

static void
a_scrape_is_parsed(void **state)
{
	static const char req[] = "GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n"
	    "\r\nbody after the head";
	enum httpreq_error err;
	struct httpreq r;

	(void)state;
	assert_int_equal(parse(req, &r, &err), HTTPREQ_COMPLETE);
	assert_int_equal(r.method_len, 3);
	assert_memory_equal(r.method, "GET", 3);
	assert_int_equal(r.path_len, 8);
	assert_memory_equal(r.path, "/metrics", 8);
	assert_int_equal(r.minor_version, 1);
	assert_int_equal(r.head_len, strlen(req) - strlen("body after the head"));
	assert_true(httpreq_path_is(&r, "/metrics"));
	assert_false(httpreq_path_is(&r, "/metric"));
	assert_int_equal(parse("HEAD /metrics HTTP/1.0\r\n\r\n", &r, &err),
	    HTTPREQ_COMPLETE);
	assert_int_equal(r.minor_version, 0);
	assert_true(httpreq_method_is(&r, "HEAD"));
}

/* The answers the endpoint gave before the parser was its own module. */
static void
answers_stay_the_same(void **state)
{
	(void)state;
	assert_int_equal(answer("GET /metrics HTTP/1.1\r\n\r\n"), 200);
	assert_int_equal(answer("HEAD /metrics HTTP/1.1\r\n\r\n"), 200);
	assert_int_equal(answer("GET /metrics? HTTP/1.1\r\n\r\n"), 200);
	assert_int_equal(answer("GET / HTTP/1.1\r\n\r\n"), 404);
	assert_int_equal(answer("GET /metrics/ HTTP/1.1\r\n\r\n"), 404);
	assert_int_equal(answer("POST /metrics HTTP/1.1\r\n\r\n"), 405);
	assert_int_equal(answer("get /metrics HTTP/1.1\r\n\r\n"), 405);
	assert_int_equal(answer(" /metrics HTTP/1.1\r\n\r\n"), 405);
	assert_int_equal(answer("garbage\r\n\r\n"), 400);
	assert_int_equal(answer("\r\n\r\n"), 400);
	assert_int_equal(answer("GET /metrics HTTP/2.0\r\n\r\n"), 400);
	assert_int_equal(answer("GET /metrics HTTP/1.2\r\n\r\n"), 400);
	assert_int_equal(answer("GET /metrics HTTP/1.10\r\n\r\n"), 400);
	assert_int_equal(answer("GET metrics HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(answer("GET  HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(answer("GET /a b HTTP/1.1\r\n\r\n"), 400);
	assert_int_equal(answer("GET /metrics HTTP/1.1\n\r\n\r\n"), 400);
	/* headers are not looked at */
	assert_int_equal(answer("GET /metrics HTTP/1.1\r\nX y z\r\n\r\n"), 200);
	/* a bare LF inside the request line is part of a word */
	assert_int_equal(answer("GET /metrics\nx HTTP/1.1\r\n\r\n"), 404);
}

static void
partial_heads_need_more(void **state)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
	enum httpreq_error err;
	struct httpreq r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(req) - 1; i++)
		assert_int_equal(parse_n(req, i, &r, &err), HTTPREQ_NEED_MORE);
	assert_int_equal(parse_n(req, i, &r, &err), HTTPREQ_COMPLETE);
	/* an unfinished request line is not judged before the head ends */
	assert_int_equal(parse("garbage", &r, &err), HTTPREQ_NEED_MORE);
}

static void
nul_bytes_are_bad_anywhere(void **state)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\n\r\n\0";
	enum httpreq_error err;
	struct httpreq r;

	(void)state;
	assert_int_equal(parse_n("GE\0T", 4, &r, &err), HTTPREQ_BAD);
	assert_int_equal(err, HTTPREQ_E_MALFORMED);
	assert_int_equal(parse_n(req, sizeof(req) - 1, &r, &err), HTTPREQ_BAD);
	assert_string_equal(httpreq_status_line(err), "400 Bad Request");
}

static void
heads_are_bounded(void **state)
{
	char *big = malloc(HTTPREQ_HEAD_MAX + 100);
	enum httpreq_error err;
	struct httpreq r;
	size_t pre = strlen("GET /metrics HTTP/1.1\r\nX: ");

	(void)state;
	assert_non_null(big);
	memset(big, 'a', HTTPREQ_HEAD_MAX + 100);
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", pre);
	assert_int_equal(parse_n(big, HTTPREQ_HEAD_MAX - 1, &r, &err),
	    HTTPREQ_NEED_MORE);
	assert_int_equal(parse_n(big, HTTPREQ_HEAD_MAX, &r, &err),
	    HTTPREQ_BAD);
	assert_int_equal(err, HTTPREQ_E_TOO_LARGE);
	assert_string_equal(httpreq_status_line(err),
	    "431 Request Header Fields Too Large");
	/* an end just inside the limit is whole; just past it is not seen */
	memcpy(big + HTTPREQ_HEAD_MAX - 4, "\r\n\r\n", 4);
	assert_int_equal(parse_n(big, HTTPREQ_HEAD_MAX + 100, &r, &err),
	    HTTPREQ_COMPLETE);
	assert_int_equal(r.head_len, HTTPREQ_HEAD_MAX);
	memset(big + HTTPREQ_HEAD_MAX - 4, 'a', 4);
	memcpy(big + HTTPREQ_HEAD_MAX - 3, "\r\n\r\n", 4);
	assert_int_equal(parse_n(big, HTTPREQ_HEAD_MAX + 100, &r, &err),
	    HTTPREQ_BAD);
	assert_int_equal(err, HTTPREQ_E_TOO_LARGE);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_scrape_is_parsed),
		cmocka_unit_test(answers_stay_the_same),
		cmocka_unit_test(partial_heads_need_more),
		cmocka_unit_test(nul_bytes_are_bad_anywhere),
		cmocka_unit_test(heads_are_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
