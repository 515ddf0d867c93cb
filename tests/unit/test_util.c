/* Unit tests for src/util.c: duration and number parsing, strlcpy. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

/* Durations are doubles built from a unit factor: compare with slack. */
#define SECS_EPSILON 1e-9

/*
 * cmocka 1.1 only compares floats; durations are doubles, so compare
 * them here and print both on failure.
 */
static void
assert_secs_equal(double got, double want, double eps)
{
	double d = got - want;

	if (d > eps || d < -eps)
		fail_msg("got %.9f seconds, want %.9f", got, want);
}

/* A value the parsers must leave alone when they refuse the input. */
#define UNTOUCHED_SECS (-42.0)
#define UNTOUCHED_UINT 4242UL

static void
assert_duration(const char *s, double want)
{
	double secs = UNTOUCHED_SECS;

	if (util_parse_duration(s, &secs) != 0)
		fail_msg("'%s' should parse as a duration", s);
	assert_secs_equal(secs, want, SECS_EPSILON);
}

static void
assert_not_duration(const char *s)
{
	double secs = UNTOUCHED_SECS;

	if (util_parse_duration(s, &secs) != -1)
		fail_msg("'%s' should not parse as a duration", s);
	/* callers keep their default when parsing fails */
	assert_secs_equal(secs, UNTOUCHED_SECS, 0);
}

static void
duration_accepts_each_unit(void **state)
{
	(void)state;
	assert_duration("500ms", 0.5);
	assert_duration("5s", 5);
	assert_duration("2m", 120);
	assert_duration("1h", 3600);
}

static void
duration_bare_zero_means_never(void **state)
{
	(void)state;
	assert_duration("0", 0);
	/* leading zeros still spell zero */
	assert_duration("000", 0);
}

static void
duration_zero_with_unit_is_zero(void **state)
{
	(void)state;
	assert_duration("0ms", 0);
	assert_duration("0s", 0);
	assert_duration("0h", 0);
}

static void
duration_below_one_second(void **state)
{
	(void)state;
	assert_duration("1ms", 0.001);
	assert_duration("999ms", 0.999);
	/* ms values of a second or more are plain seconds */
	assert_duration("1500ms", 1.5);
}

static void
duration_bare_nonzero_number_needs_unit(void **state)
{
	(void)state;
	/* "5" is ambiguous: seconds? minutes? so it is refused */
	assert_not_duration("5");
	assert_not_duration("10");
}

static void
duration_rejects_unknown_units(void **state)
{
	(void)state;
	assert_not_duration("5d");
	assert_not_duration("5sec");
	assert_not_duration("5msx");
	assert_not_duration("5us");
	/* units are lower case only */
	assert_not_duration("5S");
	assert_not_duration("5MS");
	assert_not_duration("1H");
}

static void
duration_rejects_non_numbers(void **state)
{
	(void)state;
	assert_not_duration("");
	assert_not_duration("s");
	assert_not_duration("ms");
	assert_not_duration("-1s");
	assert_not_duration("+1s");
	assert_not_duration("1.5s");
	assert_not_duration(" 5s");
	assert_not_duration("5 s");
	assert_not_duration("5s ");
	assert_not_duration("0x10s");
}

static void
duration_rejects_null(void **state)
{
	double secs = UNTOUCHED_SECS;

	(void)state;
	assert_int_equal(util_parse_duration(NULL, &secs), -1);
	assert_secs_equal(secs, UNTOUCHED_SECS, 0);
}

static void
duration_thirty_days_is_the_limit(void **state)
{
	(void)state;
	/* exactly 30 days in each unit is allowed */
	assert_duration("720h", 30.0 * 24 * 3600);
	assert_duration("43200m", 30.0 * 24 * 3600);
	assert_duration("2592000s", 30.0 * 24 * 3600);
	/* one unit more is not */
	assert_not_duration("721h");
	assert_not_duration("43201m");
	assert_not_duration("2592001s");
}

static void
duration_thirty_days_in_ms_is_allowed(void **state)
{
	(void)state;
	/*
	 * The contract limit is 30 days whatever the unit, so 30 days
	 * written in milliseconds (10 digits) must parse like "720h".
	 */
	assert_duration("1500000000ms", 1500000.0);
	assert_duration("2592000000ms", 30.0 * 24 * 3600);
	assert_not_duration("2592000001ms");
}

static void
duration_huge_numbers_do_not_overflow(void **state)
{
	(void)state;
	/* more digits than an unsigned long holds: refused, not wrapped */
	assert_not_duration("99999999999999999999999999s");
	assert_not_duration("18446744073709551616ms");
	assert_not_duration("100000000000000000000h");
}

static void
uint_parses_in_range(void **state)
{
	unsigned long v = UNTOUCHED_UINT;

	(void)state;
	assert_int_equal(util_parse_uint("0", 0, 10, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(util_parse_uint("10", 0, 10, &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(util_parse_uint("65535", 1, 65535, &v), 0);
	assert_int_equal(v, 65535);
	/* leading zeros are still decimal, not octal */
	assert_int_equal(util_parse_uint("010", 0, 100, &v), 0);
	assert_int_equal(v, 10);
}

static void
uint_rejects_out_of_range(void **state)
{
	unsigned long v = UNTOUCHED_UINT;

	(void)state;
	assert_int_equal(util_parse_uint("0", 1, 10, &v), -1);
	assert_int_equal(util_parse_uint("11", 1, 10, &v), -1);
	assert_int_equal(util_parse_uint("65536", 1, 65535, &v), -1);
	assert_int_equal(v, UNTOUCHED_UINT);
}

static void
uint_rejects_non_numbers(void **state)
{
	unsigned long v = UNTOUCHED_UINT;

	(void)state;
	assert_int_equal(util_parse_uint(NULL, 0, 10, &v), -1);
	assert_int_equal(util_parse_uint("", 0, 10, &v), -1);
	assert_int_equal(util_parse_uint("-1", 0, 10, &v), -1);
	assert_int_equal(util_parse_uint("+1", 0, 10, &v), -1);
	assert_int_equal(util_parse_uint(" 1", 0, 10, &v), -1);
	assert_int_equal(util_parse_uint("1 ", 0, 10, &v), -1);
	assert_int_equal(util_parse_uint("1x", 0, 10, &v), -1);
	assert_int_equal(util_parse_uint("0x1", 0, 10, &v), -1);
	assert_int_equal(util_parse_uint("1.0", 0, 10, &v), -1);
	assert_int_equal(v, UNTOUCHED_UINT);
}

static void
uint_full_range_without_overflow(void **state)
{
	char text[32];
	unsigned long v = 0;

	(void)state;
	/* ULONG_MAX itself fits ... */
	snprintf(text, sizeof(text), "%lu", ULONG_MAX);
	assert_int_equal(util_parse_uint(text, 0, ULONG_MAX, &v), 0);
	assert_true(v == ULONG_MAX);
	/* ... one more must not wrap around to a small number */
	assert_int_equal(util_parse_uint("18446744073709551616", 0, ULONG_MAX,
	    &v), -1);
	assert_int_equal(util_parse_uint("99999999999999999999999", 0,
	    ULONG_MAX, &v), -1);
}

static void
uint_limit_checked_per_digit(void **state)
{
	unsigned long v = UNTOUCHED_UINT;

	(void)state;
	/* the max check must allow max itself for every last digit */
	assert_int_equal(util_parse_uint("259", 0, 259, &v), 0);
	assert_int_equal(v, 259);
	assert_int_equal(util_parse_uint("260", 0, 259, &v), -1);
	assert_int_equal(util_parse_uint("250", 0, 259, &v), 0);
	assert_int_equal(v, 250);
}

static void
strlcpy_copies_when_it_fits(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, 'X', sizeof(buf));
	assert_int_equal(util_strlcpy(buf, "abc", sizeof(buf)), 3);
	assert_string_equal(buf, "abc");
	/* exactly n-1 characters fit with the terminator */
	assert_int_equal(util_strlcpy(buf, "1234567", sizeof(buf)), 7);
	assert_string_equal(buf, "1234567");
}

static void
strlcpy_truncates_and_terminates(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, 'X', sizeof(buf));
	/* the return value tells the caller how much was lost */
	assert_int_equal(util_strlcpy(buf, "0123456789", sizeof(buf)), 10);
	assert_string_equal(buf, "0123456");
}

static void
strlcpy_size_one_gives_empty(void **state)
{
	char buf[1] = { 'X' };

	(void)state;
	assert_int_equal(util_strlcpy(buf, "abc", sizeof(buf)), 3);
	assert_int_equal(buf[0], '\0');
}

static void
strlcpy_empty_source(void **state)
{
	char buf[4] = { 'X', 'X', 'X', 'X' };

	(void)state;
	assert_int_equal(util_strlcpy(buf, "", sizeof(buf)), 0);
	assert_string_equal(buf, "");
}

static void
strlcpy_does_not_write_past_n(void **state)
{
	char buf[8];

	(void)state;
	memset(buf, 'X', sizeof(buf));
	/* told the buffer is 4 bytes: bytes 4.. stay untouched */
	util_strlcpy(buf, "abcdefgh", 4);
	assert_memory_equal(buf, "abc\0XXXX", 8);
}

static void
edit_distance_counts_each_kind_of_edit(void **state)
{
	(void)state;
	assert_int_equal(util_edit_distance("", ""), 0);
	assert_int_equal(util_edit_distance("route", "route"), 0);
	assert_int_equal(util_edit_distance("", "log"), 3);
	assert_int_equal(util_edit_distance("log", ""), 3);
	assert_int_equal(util_edit_distance("rout", "route"), 1);	/* insert */
	assert_int_equal(util_edit_distance("routes", "route"), 1);	/* delete */
	assert_int_equal(util_edit_distance("ruote", "route"), 1);	/* swap */
	assert_int_equal(util_edit_distance("rovte", "route"), 1);	/* replace */
	assert_int_equal(util_edit_distance("max-conections",
	    "max-connections"), 1);
	assert_int_equal(util_edit_distance("resovle", "resolve"), 1);
	assert_int_equal(util_edit_distance("resovle", "resolver"), 2);
	assert_int_equal(util_edit_distance("Listen", "listen"), 1);
	assert_int_equal(util_edit_distance("frobnicate", "route"), 6);
	/* symmetric */
	assert_int_equal(util_edit_distance("kitten", "sitting"), 3);
	assert_int_equal(util_edit_distance("sitting", "kitten"), 3);
}

static void
edit_distance_long_words(void **state)
{
	char a[5000], b[UTIL_EDIT_MAX + 2];

	(void)state;
	memset(a, 'a', sizeof(a) - 1);
	a[sizeof(a) - 1] = '\0';
	memset(b, 'a', UTIL_EDIT_MAX);
	b[UTIL_EDIT_MAX] = '\0';
	/* a long a is fine: b sets the room needed */
	assert_int_equal(util_edit_distance(a, b), sizeof(a) - 1 -
	    UTIL_EDIT_MAX);
	b[UTIL_EDIT_MAX] = 'a';
	b[UTIL_EDIT_MAX + 1] = '\0';
	assert_true(util_edit_distance("a", b) == SIZE_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(duration_accepts_each_unit),
		cmocka_unit_test(duration_bare_zero_means_never),
		cmocka_unit_test(duration_zero_with_unit_is_zero),
		cmocka_unit_test(duration_below_one_second),
		cmocka_unit_test(duration_bare_nonzero_number_needs_unit),
		cmocka_unit_test(duration_rejects_unknown_units),
		cmocka_unit_test(duration_rejects_non_numbers),
		cmocka_unit_test(duration_rejects_null),
		cmocka_unit_test(duration_thirty_days_is_the_limit),
		cmocka_unit_test(duration_thirty_days_in_ms_is_allowed),
		cmocka_unit_test(duration_huge_numbers_do_not_overflow),
		cmocka_unit_test(uint_parses_in_range),
		cmocka_unit_test(uint_rejects_out_of_range),
		cmocka_unit_test(uint_rejects_non_numbers),
		cmocka_unit_test(uint_full_range_without_overflow),
		cmocka_unit_test(uint_limit_checked_per_digit),
		cmocka_unit_test(strlcpy_copies_when_it_fits),
		cmocka_unit_test(strlcpy_truncates_and_terminates),
		cmocka_unit_test(strlcpy_size_one_gives_empty),
		cmocka_unit_test(strlcpy_empty_source),
		cmocka_unit_test(strlcpy_does_not_write_past_n),
		cmocka_unit_test(edit_distance_counts_each_kind_of_edit),
		cmocka_unit_test(edit_distance_long_words),
	};

	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
