/* Unit tests: the string builder and its escapers (sbuf.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/sbuf.h"

static void
fixed_counts_what_does_not_fit(void **state)
{
	char buf[8];
	struct sbuf b;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	sbuf_fixed(&b, buf, 5);
	sbuf_str(&b, "abc");
	assert_false(b.failed);
	sbuf_printf(&b, "%d-%s", 42, "zz");
	assert_true(b.failed);
	assert_int_equal(b.len, 3 + 5);		/* counted ... */
	assert_memory_equal(buf, "abc42", 5);	/* ... not written past */
	assert_int_equal(buf[5], 'x');
}

static void
growing_stops_at_its_limit(void **state)
{
	struct sbuf b;
	int i;

	(void)state;
	sbuf_growing(&b, 1000);
	for (i = 0; i < 99; i++)
		sbuf_str(&b, "0123456789");
	assert_false(b.failed);
	assert_int_equal(b.len, 990);
	sbuf_printf(&b, "%s", "0123456789abc");
	assert_true(b.failed);
	assert_int_equal(b.len, 990);		/* nothing half-added */
	sbuf_free(&b);
	assert_null(b.p);
	sbuf_growing(&b, 1 << 20);
	sbuf_printf(&b, "%0600d", 7);		/* longer than the small buffer */
	assert_int_equal(b.len, 600);
	assert_int_equal(b.p[599], '7');
	sbuf_free(&b);
}

/* Nothing added to a growing buffer that has no memory yet: no copy. */
static void
empty_string_to_new_growing_buffer(void **state)
{
	struct sbuf b;

	(void)state;
	sbuf_growing(&b, 100);
	sbuf_str(&b, "");
	sbuf_add(&b, "x", 0);
	assert_false(b.failed);
	assert_int_equal(b.len, 0);
	sbuf_str(&b, "ab");
	assert_int_equal(b.len, 2);
	sbuf_free(&b);
}

static const char *
quoted(const char *s, size_t max, enum sbuf_quote mode)
{
	static char out[512];
	struct sbuf b;

	sbuf_fixed(&b, out, sizeof(out) - 1);
	sbuf_quoted(&b, s, max, mode);
	assert_false(b.failed);
	out[b.len] = '\0';
	return out;
}

static void
json_escapes(void **state)
{
	(void)state;
	assert_string_equal(quoted("a\"b\\c\n\t\x01\x7f", 100, SBUF_JSON),
	    "\"a\\\"b\\\\c\\n\\t\\u0001\\u007f\"");
	/* valid UTF-8 kept, invalid bytes and surrogates replaced */
	assert_string_equal(quoted("j\xc3\xbc", 100, SBUF_JSON),
	    "\"j\xc3\xbc\"");
	assert_string_equal(quoted("\xff\xc3", 100, SBUF_JSON),
	    "\"\\ufffd\\ufffd\"");
	assert_string_equal(quoted("\xed\xa0\x80", 100, SBUF_JSON),
	    "\"\\ufffd\\ufffd\\ufffd\"");
	assert_string_equal(quoted("\xe0\x80\x80", 100, SBUF_JSON),
	    "\"\\ufffd\\ufffd\\ufffd\"");
}

static void
c_escapes_and_cut(void **state)
{
	(void)state;
	assert_string_equal(quoted("j\xc3\xbc \"x\"", 100, SBUF_C),
	    "\"j\\xc3\\xbc \\\"x\\\"\"");
	assert_string_equal(quoted("abcdef", 3, SBUF_C), "\"abc...\"");
	assert_string_equal(quoted("abc", 3, SBUF_JSON), "\"abc\"");
	assert_string_equal(quoted("", 3, SBUF_JSON), "\"\"");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fixed_counts_what_does_not_fit),
		cmocka_unit_test(growing_stops_at_its_limit),
		cmocka_unit_test(empty_string_to_new_growing_buffer),
		cmocka_unit_test(json_escapes),
		cmocka_unit_test(c_escapes_and_cut),
	};

	return cmocka_run_group_tests_name("sbuf", tests, NULL, NULL);
}
