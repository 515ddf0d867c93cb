/*
 * Unit tests for src/config/diag.c: errors and warnings kept with where
 * they are about, sorted by file (in the order files were read) and
 * line, stably, and printed with warnings marked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/diag.h"

/* What conf_errors_print writes, as one string (caller frees). */
static char *
printed(const struct conf_errors *e)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	conf_errors_print(f, e);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void
empty_list_is_zeroed_struct(void **state)
{
	struct conf_errors e = { NULL, 0 };
	char *out;

	(void)state;
	assert_int_equal(conf_errors_nwarnings(&e), 0);
	assert_null(conf_errors_where(&e, 0));
	conf_errors_sort(&e, NULL, 0);
	out = printed(&e);
	assert_string_equal(out, "");
	free(out);
	conf_errors_free(&e);
	assert_null(e.msgs);
	assert_int_equal(e.n, 0);
}

static void
error_keeps_file_and_line(void **state)
{
	struct conf_errors e = { NULL, 0 };
	const struct conf_where *w;

	(void)state;
	conf_error(&e, "a.conf", 7, "bad %s", "thing");
	conf_error_add(&e, "listen 127.0.0.1:1: in use");
	assert_int_equal(e.n, 2);
	w = conf_errors_where(&e, 0);
	assert_non_null(w);
	assert_string_equal(w->file, "a.conf");
	assert_int_equal(w->line, 7);
	assert_int_equal(w->head, strlen("a.conf:7: "));
	w = conf_errors_where(&e, 1);
	assert_null(w->file);
	assert_null(conf_errors_where(&e, 2));
	conf_errors_free(&e);
}

static void
warnings_do_not_count_as_errors(void **state)
{
	struct conf_errors e = { NULL, 0 };
	char *out;

	(void)state;
	conf_warning(&e, "a.conf", 3, "route %s: never used", "x");
	assert_int_equal(e.n, 0);
	assert_non_null(e.msgs);	/* the block exists, with no error */
	assert_int_equal(conf_errors_nwarnings(&e), 1);
	out = printed(&e);
	assert_string_equal(out, "a.conf:3: warning: route x: never used\n");
	free(out);
	conf_errors_free(&e);
}

static void
sort_by_file_read_order_then_line(void **state)
{
	char *files[] = { "main.conf", "inc.conf", "pairs.acl" };
	struct conf_errors e = { NULL, 0 };
	char *out;

	(void)state;
	/* found in the order a load finds them: parse, checks, TLS, runtime */
	conf_error(&e, "inc.conf", 2, "b");
	conf_error(&e, "main.conf", 9, "c");
	conf_error(&e, "pairs.acl", 1, "d");
	conf_error(&e, "main.conf", 0, "a");
	conf_error_add(&e, "z");
	conf_error(&e, "main.conf", 3, "b3");
	conf_error(&e, "inc.conf", 1, "a1");
	conf_errors_sort(&e, files, 3);
	out = printed(&e);
	assert_string_equal(out,
	    "main.conf: a\n"
	    "main.conf:3: b3\n"
	    "main.conf:9: c\n"
	    "inc.conf:1: a1\n"
	    "inc.conf:2: b\n"
	    "pairs.acl:1: d\n"
	    "z\n");
	free(out);
	conf_errors_free(&e);
}

static void
sort_is_stable_on_one_line(void **state)
{
	char *files[] = { "m.conf" };
	struct conf_errors e = { NULL, 0 };

	(void)state;
	conf_error(&e, "m.conf", 4, "first");
	conf_error(&e, "m.conf", 2, "x");
	conf_error(&e, "m.conf", 4, "second");
	conf_error(&e, "m.conf", 4, "third");
	conf_errors_sort(&e, files, 1);
	assert_string_equal(e.msgs[0], "m.conf:2: x");
	assert_string_equal(e.msgs[1], "m.conf:4: first");
	assert_string_equal(e.msgs[2], "m.conf:4: second");
	assert_string_equal(e.msgs[3], "m.conf:4: third");
	assert_int_equal(conf_errors_where(&e, 1)->line, 4);
	conf_errors_free(&e);
}

static void
files_not_read_come_after_in_order_named(void **state)
{
	char *files[] = { "m.conf" };
	struct conf_errors e = { NULL, 0 };

	(void)state;
	conf_error(&e, "zz.conf", 1, "named first");
	conf_error(&e, "aa.conf", 1, "named second");
	conf_error(&e, "m.conf", 5, "read");
	conf_error(&e, "zz.conf", 0, "again");
	conf_errors_sort(&e, files, 1);
	assert_string_equal(e.msgs[0], "m.conf:5: read");
	assert_string_equal(e.msgs[1], "zz.conf: again");
	assert_string_equal(e.msgs[2], "zz.conf:1: named first");
	assert_string_equal(e.msgs[3], "aa.conf:1: named second");
	conf_errors_free(&e);
}

static void
warnings_merge_with_errors_when_sorted(void **state)
{
	char *files[] = { "m.conf", "i.conf" };
	struct conf_errors e = { NULL, 0 };
	char *out;

	(void)state;
	conf_warning(&e, "i.conf", 2, "w-i2");
	conf_error(&e, "i.conf", 2, "e-i2");
	conf_warning(&e, "m.conf", 1, "w-m1");
	conf_error(&e, "m.conf", 8, "e-m8");
	out = printed(&e);	/* unsorted: errors, then warnings */
	assert_string_equal(out,
	    "i.conf:2: e-i2\n"
	    "m.conf:8: e-m8\n"
	    "i.conf:2: warning: w-i2\n"
	    "m.conf:1: warning: w-m1\n");
	free(out);
	conf_errors_sort(&e, files, 2);
	out = printed(&e);
	assert_string_equal(out,
	    "m.conf:1: warning: w-m1\n"
	    "m.conf:8: e-m8\n"
	    "i.conf:2: e-i2\n"
	    "i.conf:2: warning: w-i2\n");
	free(out);
	/* an error added after sorting: back to errors first */
	conf_error(&e, "m.conf", 2, "late");
	out = printed(&e);
	assert_int_equal(strncmp(out, "m.conf:8: e-m8\n", 15), 0);
	free(out);
	conf_errors_free(&e);
}

static void
many_errors_sort_in_order(void **state)
{
	char *files[] = { "m.conf" };
	struct conf_errors e = { NULL, 0 };
	char want[32];
	int i;

	(void)state;
	for (i = 2000; i > 0; i--)
		conf_error(&e, "m.conf", i, "line %d", i);
	conf_errors_sort(&e, files, 1);
	assert_int_equal(e.n, 2000);
	for (i = 1; i <= 2000; i++) {
		snprintf(want, sizeof(want), "m.conf:%d: line %d", i, i);
		assert_string_equal(e.msgs[i - 1], want);
	}
	conf_errors_free(&e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(empty_list_is_zeroed_struct),
		cmocka_unit_test(error_keeps_file_and_line),
		cmocka_unit_test(warnings_do_not_count_as_errors),
		cmocka_unit_test(sort_by_file_read_order_then_line),
		cmocka_unit_test(sort_is_stable_on_one_line),
		cmocka_unit_test(files_not_read_come_after_in_order_named),
		cmocka_unit_test(warnings_merge_with_errors_when_sorted),
		cmocka_unit_test(many_errors_sort_in_order),
	};

	return cmocka_run_group_tests_name("diag", tests, NULL, NULL);
}
