/* Unit tests: the CA index, parsed and formatted (caindex.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "core/caindex.h"

#define SERIAL_A "5C1F0000000000000000000000000001"
#define SERIAL_B "0E7A0000000000000000000000000002"

static const char good[] =
    "# a comment\n"
    "\n"
    "V " SERIAL_A " 2027-11-30T12:00:00Z - client alice ops,dev\n"
    "R " SERIAL_B "  2027-11-30T12:00:00Z\t2026-11-30T13:05:00Z client bob dev\r\n"
    "V 4A 2030-01-01T00:00:00Z - gateway gw.example.com -\n"
    "V 4B 2030-01-01T00:00:00Z - client Alice%20Smith %2D,a%25b";

static void
test_parse(void **state)
{
	struct caindex ix;
	char err[200];

	(void)state;
	assert_int_equal(caindex_parse(&ix, good, strlen(good), err,
	    sizeof(err)), 0);
	assert_int_equal(ix.n, 4);
	assert_int_equal(ix.v[0].revoked, 0);
	assert_string_equal(ix.v[0].serial, SERIAL_A);
	assert_int_equal(ix.v[0].not_after, 1827576000);
	assert_int_equal(ix.v[0].revoked_at, 0);
	assert_int_equal(ix.v[0].kind, CAINDEX_CLIENT);
	assert_string_equal(ix.v[0].name, "alice");
	assert_int_equal(ix.v[0].ngroups, 2);
	assert_string_equal(ix.v[0].groups[0], "ops");
	assert_string_equal(ix.v[0].groups[1], "dev");
	assert_int_equal(ix.v[1].revoked, 1);
	assert_int_equal(ix.v[1].revoked_at, 1796043900);
	assert_int_equal(ix.v[2].kind, CAINDEX_GATEWAY);
	assert_int_equal(ix.v[2].ngroups, 0);
	assert_string_equal(ix.v[3].name, "Alice Smith");
	assert_string_equal(ix.v[3].groups[0], "-");
	assert_string_equal(ix.v[3].groups[1], "a%b");
	assert_ptr_equal(caindex_find(&ix, "5c1f0000000000000000000000000001"),
	    &ix.v[0]);
	assert_null(caindex_find(&ix, "5C1F"));
	caindex_free(&ix);
}

/* format(parse(x)) parses to the same, and formats to the same text. */
static void
test_round_trip(void **state)
{
	struct caindex ix, ix2;
	char err[200], *text, *text2;
	size_t i, j;

	(void)state;
	assert_int_equal(caindex_parse(&ix, good, strlen(good), err,
	    sizeof(err)), 0);
	text = caindex_format(&ix);
	assert_non_null(text);
	assert_non_null(strstr(text, "# STATUS SERIAL NOT-AFTER REVOKED KIND "
	    "NAME GROUPS\n"));
	assert_non_null(strstr(text, "client  Alice%20Smith %2D,a%25b\n"));
	assert_int_equal(caindex_parse(&ix2, text, strlen(text), err,
	    sizeof(err)), 0);
	assert_int_equal(ix2.n, ix.n);
	for (i = 0; i < ix.n; i++) {
		assert_string_equal(ix.v[i].serial, ix2.v[i].serial);
		assert_string_equal(ix.v[i].name, ix2.v[i].name);
		assert_int_equal(ix.v[i].not_after, ix2.v[i].not_after);
		assert_int_equal(ix.v[i].revoked_at, ix2.v[i].revoked_at);
		assert_int_equal(ix.v[i].ngroups, ix2.v[i].ngroups);
		for (j = 0; j < ix.v[i].ngroups; j++)
			assert_string_equal(ix.v[i].groups[j],
			    ix2.v[i].groups[j]);
	}
	text2 = caindex_format(&ix2);
	assert_string_equal(text, text2);
	free(text);
	free(text2);
	caindex_free(&ix);
	caindex_free(&ix2);
}

static void
test_add(void **state)
{
	const char *groups[] = { "ops" };
	struct caindex_entry e;
	struct caindex ix;
	char *text;

	(void)state;
	caindex_init(&ix);
	memset(&e, 0, sizeof(e));
	strcpy(e.serial, "abc1");
	e.not_after = 0;
	e.name = (char *)"x y";
	e.groups = (char **)groups;
	e.ngroups = 1;
	assert_int_equal(caindex_add(&ix, &e), 0);
	assert_string_equal(ix.v[0].serial, "ABC1");
	assert_int_equal(caindex_add(&ix, &e), -1);
	text = caindex_format(&ix);
	assert_non_null(strstr(text, "V ABC1 1970-01-01T00:00:00Z -"));
	assert_non_null(strstr(text, " client  x%20y ops\n"));
	free(text);
	caindex_free(&ix);
}

static void
test_bad_lines(void **state)
{
	static const struct {
		const char *line, *why;
	} bad[] = {
		{ "V 1A 2027-11-30T12:00:00Z - client alice", "expected 7" },
		{ "V 1A 2027-11-30T12:00:00Z - client alice ops x", "expected 7" },
		{ "X 1A 2027-11-30T12:00:00Z - client alice ops", "STATUS" },
		{ "V 1G 2027-11-30T12:00:00Z - client alice ops", "SERIAL" },
		{ "V 11111111111111111111111111111111111111111111111111111111111111111 2027-11-30T12:00:00Z - client a b", "SERIAL" },
		{ "V 1A 2027-13-30T12:00:00Z - client alice ops", "NOT-AFTER" },
		{ "V 1A 2027-11-30 - client alice ops", "NOT-AFTER" },
		{ "V 1A 2027-11-30T12:00:00Z 2026-11-30T12:00:00Z client alice ops", "\"-\" as REVOKED" },
		{ "R 1A 2027-11-30T12:00:00Z - client alice ops", "needs its REVOKED" },
		{ "R 1A 2027-11-30T12:00:00Z junk client alice ops", "REVOKED" },
		{ "V 1A 2027-11-30T12:00:00Z - admin alice ops", "KIND" },
		{ "V 1A 2027-11-30T12:00:00Z - client al%2Cice ops", "NAME holds a comma" },
		{ "V 1A 2027-11-30T12:00:00Z - client al%0Aice ops", "NAME holds a control" },
		{ "V 1A 2027-11-30T12:00:00Z - client al%00ice ops", "NAME a '%'" },
		{ "V 1A 2027-11-30T12:00:00Z - client alice% ops", "NAME a '%'" },
		{ "V 1A 2027-11-30T12:00:00Z - client alice ops,,dev", "group 2 in GROUPS is empty" },
		{ "V 1A 2027-11-30T12:00:00Z - client alice ops,", "group 2 in GROUPS is empty" },
		{ "V 1A 2027-11-30T12:00:00Z - client alice o%01", "group 1 in GROUPS holds a control" },
	};
	struct caindex ix;
	char err[200], text[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		snprintf(text, sizeof(text), "# header\n%s\n", bad[i].line);
		assert_int_equal(caindex_parse(&ix, text, strlen(text), err,
		    sizeof(err)), -1);
		if (strncmp(err, "2: ", 3) != 0 || strstr(err, bad[i].why) ==
		    NULL)
			fail_msg("%s: got \"%s\", want \"2: ...%s...\"",
			    bad[i].line, err, bad[i].why);
		assert_int_equal(ix.n, 0);
	}
}

static void
test_bad_files(void **state)
{
	static const char dup[] =
	    "V 1A 2027-11-30T12:00:00Z - client alice ops\n"
	    "V 1a 2027-11-30T12:00:00Z - client bob ops\n";
	static const char nul[] = "V 1A 2027-11-30T12:00:00Z - client a\0 b\n";
	struct caindex ix;
	char err[200], *big;

	(void)state;
	assert_int_equal(caindex_parse(&ix, dup, strlen(dup), err,
	    sizeof(err)), -1);
	assert_string_equal(err, "2: SERIAL is already in the index");
	assert_int_equal(caindex_parse(&ix, nul, sizeof(nul) - 1, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "NUL"));
	big = malloc(CAINDEX_LINE_MAX + 10);
	memset(big, '#', CAINDEX_LINE_MAX + 9);
	big[CAINDEX_LINE_MAX + 9] = '\0';
	assert_int_equal(caindex_parse(&ix, big, strlen(big), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "1: longer than"));
	free(big);
	assert_int_equal(caindex_parse(&ix, "", 0, err, sizeof(err)), 0);
	assert_int_equal(ix.n, 0);
	caindex_free(&ix);
}

/* The index of a CA that issued for years: CAINDEX_ENTRIES_MAX lines. */
static char *
many_lines(size_t n, size_t dup_of, size_t dup_at)
{
	size_t i, k, len = 0;
	char *text = malloc(n * 80 + 1);

	assert_non_null(text);
	for (i = 0; i < n; i++) {
		/* serials spread like random ones, not in order */
		k = i == dup_at ? dup_of : (i * 2654435761u) % 4294967291u;
		len += (size_t)sprintf(text + len, "V 4%031zX "
		    "2027-11-30T12:00:00Z - client user%zu ops\n", k, i % 200);
	}
	return text;
}

static void
test_big_index_parses_fast(void **state)
{
	struct caindex ix;
	char err[200], *text;
	clock_t t0;
	double secs;

	(void)state;
	text = many_lines(CAINDEX_ENTRIES_MAX, 0, CAINDEX_ENTRIES_MAX);
	t0 = clock();
	assert_int_equal(caindex_parse(&ix, text, strlen(text), err,
	    sizeof(err)), 0);
	secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
	assert_int_equal(ix.n, CAINDEX_ENTRIES_MAX);
	caindex_free(&ix);
	free(text);
	/* every command reads it whole: not in time quadratic in its size */
	if (secs > 5)
		fail_msg("%d entries parsed in %.1f s", CAINDEX_ENTRIES_MAX,
		    secs);
	/* a serial twice, far apart, is still found, at its second line */
	text = many_lines(50000, ((size_t)7 * 2654435761u) % 4294967291u,
	    40000);
	assert_int_equal(caindex_parse(&ix, text, strlen(text), err,
	    sizeof(err)), -1);
	assert_string_equal(err, "40001: SERIAL is already in the index");
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_add),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_big_index_parses_fast),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
