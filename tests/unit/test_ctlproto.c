/* Unit tests for src/ctlproto.c: the ctl request line and its quoting. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/ctlproto.h"

static struct ctl_request req;
static enum ctl_error err;
static size_t used;

/*
 * Parses a heap copy of exactly len bytes, not terminated, so that the
 * sanitizers catch any read past what was received.
 */
static enum ctl_status
parse_n(const char *text, size_t len)
{
	char *copy = malloc(len > 0 ? len : 1);
	enum ctl_status st;

	assert_non_null(copy);
	memcpy(copy, text, len);
	used = 0;
	err = CTL_E_NONE;
	st = ctl_parse(copy, len, &used, &req, &err);
	free(copy);
	if (st == CTL_COMPLETE) {
		assert_int_equal(err, CTL_E_NONE);
		assert_true(used > 0 && used <= len);
		assert_int_equal(text[used - 1], '\n');
	} else if (st == CTL_BAD)
		assert_int_not_equal(err, CTL_E_NONE);
	return st;
}

static enum ctl_status
parse(const char *text)
{
	return parse_n(text, strlen(text));
}

static void
old_unquoted_requests_still_work(void **state)
{
	(void)state;
	assert_int_equal(parse("sessions\n"), CTL_COMPLETE);
	assert_int_equal(req.cmd, CTL_CMD_SESSIONS);
	assert_false(req.json);
	assert_int_equal(parse("sessions --json\n"), CTL_COMPLETE);
	assert_true(req.json);
	assert_int_equal(parse("kill 42\n"), CTL_COMPLETE);
	assert_int_equal(req.cmd, CTL_CMD_KILL);
	assert_int_equal(req.id, 42);
	assert_int_equal(parse("\tkill-user  alice \r\n"), CTL_COMPLETE);
	assert_int_equal(req.cmd, CTL_CMD_KILL_USER);
	assert_string_equal(req.arg, "alice");
	assert_int_equal(parse("reload\n"), CTL_COMPLETE);
	assert_int_equal(req.cmd, CTL_CMD_RELOAD);
	assert_int_equal(parse("stats\r\n"), CTL_COMPLETE);
	assert_int_equal(req.cmd, CTL_CMD_STATS);
	/* what follows the newline is not part of the request */
	assert_int_equal(parse("stats\nreload\n"), CTL_COMPLETE);
	assert_int_equal(used, 6);
	assert_int_equal(req.cmd, CTL_CMD_STATS);
}

static void
quoted_words(void **state)
{
	(void)state;
	assert_int_equal(parse("\"kill-user\" \"John Smith\"\n"),
	    CTL_COMPLETE);
	assert_int_equal(req.cmd, CTL_CMD_KILL_USER);
	assert_string_equal(req.arg, "John Smith");
	assert_int_equal(parse("kill-user \"a \\\"b\\\" \\\\c\"\n"),
	    CTL_COMPLETE);
	assert_string_equal(req.arg, "a \"b\" \\c");
	/* as in the config: a backslash before anything else is itself */
	assert_int_equal(parse("kill-user \"a\\b\\\"\" c\\d\n"), CTL_BAD);
	assert_int_equal(parse("kill-user \"a\\b\\\\\"\n"), CTL_COMPLETE);
	assert_string_equal(req.arg, "a\\b\\");
	assert_int_equal(parse("kill-user x\\\"y\n"), CTL_BAD);
	assert_int_equal(err, CTL_E_QUOTE);
	/* quoted parts join the bare parts around them */
	assert_int_equal(parse("kill-user Jo\"hn Sm\"ith\n"), CTL_COMPLETE);
	assert_string_equal(req.arg, "John Smith");
	assert_int_equal(parse("kill-user \"\"\n"), CTL_COMPLETE);
	assert_string_equal(req.arg, "");
	assert_int_equal(parse("\"sessions\" \"--json\"\n"), CTL_COMPLETE);
	assert_true(req.json);
	assert_int_equal(parse("kill \"7\"\n"), CTL_COMPLETE);
	assert_int_equal(req.id, 7);
}

/* A CN is hostile input: every byte but NUL, CR and LF is data. */
static void
any_byte_but_nul_cr_lf_is_data(void **state)
{
	char name[256], line[CTL_REQUEST_MAX];
	size_t i, n = 0, q;

	(void)state;
	for (i = 1; i < 256; i++)
		if (i != '\r' && i != '\n')
			name[n++] = (char)i;
	name[n] = '\0';
	memcpy(line, "\"kill-user\" ", 12);
	q = ctl_quote(name, line + 12, sizeof(line) - 13);
	assert_true(q > n + 2 && 12 + q + 1 <= sizeof(line));
	line[12 + q] = '\n';
	assert_int_equal(parse_n(line, 12 + q + 1), CTL_COMPLETE);
	assert_int_equal(req.cmd, CTL_CMD_KILL_USER);
	assert_string_equal(req.arg, name);
	assert_int_equal(parse_n("kill-user a\0b\n", 14), CTL_BAD);
	assert_int_equal(err, CTL_E_BYTE);
	assert_int_equal(parse("kill-user \"a\rb\"\n"), CTL_BAD);
	assert_int_equal(err, CTL_E_BYTE);
}

static void
unknown_commands_and_arguments(void **state)
{
	static const char *const bad[] = {
		"\n", " \t\r\n", "frobnicate\n", "sessions --xml\n",
		"sessions --json x\n", "kill\n", "kill 1 2\n", "kill-user\n",
		"kill-user John Smith\n", "reload now\n", "stats x\n",
		"STATS\n", "\"stats \"\n", "kill-userkill-userkill-user x\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i]), CTL_BAD);
		assert_int_equal(err, CTL_E_UNKNOWN);
	}
	assert_non_null(strstr(ctl_strerror(err), "unknown command; use:"));
	assert_int_equal(parse("kill abc\n"), CTL_BAD);
	assert_int_equal(err, CTL_E_ID);
	assert_string_equal(req.arg, "abc");
	assert_int_equal(parse("kill 0\n"), CTL_BAD);
	assert_int_equal(err, CTL_E_ID);
	assert_int_equal(parse("kill -1\n"), CTL_BAD);
	assert_int_equal(parse("kill 18446744073709551615\n"), CTL_COMPLETE);
	assert_int_equal(req.id, ~0ULL);
	assert_int_equal(parse("kill 18446744073709551616\n"), CTL_BAD);
	assert_int_equal(err, CTL_E_ID);
}

static void
partial_requests_need_more(void **state)
{
	static const char line[] = "\"kill-user\" \"John \\\"J\\\" Smith\"\r\n";
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(line) - 1; i++)
		assert_int_equal(parse_n(line, i), CTL_NEED_MORE);
	assert_int_equal(parse_n(line, i), CTL_COMPLETE);
	assert_string_equal(req.arg, "John \"J\" Smith");
	/* bad bytes are bad at once, before the newline */
	assert_int_equal(parse_n("ki\0", 3), CTL_BAD);
	assert_int_equal(parse_n("stats\rx", 7), CTL_BAD);
	assert_int_equal(parse_n("stats\r", 6), CTL_NEED_MORE);
}

static void
requests_are_bounded(void **state)
{
	char *big = malloc(CTL_REQUEST_MAX + 10);

	(void)state;
	assert_non_null(big);
	memset(big, 'x', CTL_REQUEST_MAX + 10);
	memcpy(big, "kill-user ", 10);
	assert_int_equal(parse_n(big, CTL_REQUEST_MAX - 1), CTL_NEED_MORE);
	assert_int_equal(parse_n(big, CTL_REQUEST_MAX), CTL_BAD);
	assert_int_equal(err, CTL_E_TOO_LONG);
	assert_string_equal(ctl_strerror(err),
	    "request longer than 1024 bytes");
	/* the longest request: newline at the last byte allowed */
	big[CTL_REQUEST_MAX - 1] = '\n';
	assert_int_equal(parse_n(big, CTL_REQUEST_MAX + 10), CTL_COMPLETE);
	assert_int_equal(used, CTL_REQUEST_MAX);
	assert_int_equal(strlen(req.arg), CTL_REQUEST_MAX - 11);
	/* one byte more is too long, even with a CR before the newline */
	big[CTL_REQUEST_MAX - 1] = '\r';
	big[CTL_REQUEST_MAX] = '\n';
	assert_int_equal(parse_n(big, CTL_REQUEST_MAX + 10), CTL_BAD);
	assert_int_equal(err, CTL_E_TOO_LONG);
	free(big);
}

static void
quoting(void **state)
{
	char out[32];

	(void)state;
	assert_int_equal(ctl_quote("John Smith", out, sizeof(out)), 12);
	assert_string_equal(out, "\"John Smith\"");
	assert_int_equal(ctl_quote("a\"b\\c", out, sizeof(out)), 9);
	assert_string_equal(out, "\"a\\\"b\\\\c\"");
	assert_int_equal(ctl_quote("", out, sizeof(out)), 2);
	assert_string_equal(out, "\"\"");
	/* like snprintf: the whole length, what fits, terminated */
	assert_int_equal(ctl_quote("abcdef", out, 4), 8);
	assert_string_equal(out, "\"ab");
	assert_int_equal(ctl_quote("abc", NULL, 0), 5);
	assert_int_equal(ctl_quote("a\nb", out, sizeof(out)), 0);
	assert_int_equal(ctl_quote("a\rb", out, sizeof(out)), 0);
	assert_true(ctl_word_is_bare("alice"));
	assert_true(ctl_word_is_bare("a\\b"));
	assert_false(ctl_word_is_bare("John Smith"));
	assert_false(ctl_word_is_bare("a\"b"));
	assert_false(ctl_word_is_bare("a\tb"));
	assert_false(ctl_word_is_bare(""));
}

static size_t
sock_path(const char *cwd, const char *conf, const char *path, char *out)
{
	return ctl_socket_path(cwd, conf, path, out, 256);
}

static void
socket_path_is_absolute_and_relative_to_the_config(void **state)
{
	char out[256];

	(void)state;
	/* no path: the default */
	assert_int_equal(sock_path("/w", "/etc/sshgate/gw.conf", NULL, out),
	    strlen(CTL_DEFAULT_PATH));
	assert_string_equal(out, "/run/sshgate/control");
	/* absolute: as it is */
	sock_path("/w", "/etc/sshgate/gw.conf", "/run/x.sock", out);
	assert_string_equal(out, "/run/x.sock");
	/* relative: to the config's directory ... */
	sock_path("/w", "/etc/sshgate/gw.conf", "ctl.sock", out);
	assert_string_equal(out, "/etc/sshgate/ctl.sock");
	sock_path("/w", "/gw.conf", "ctl.sock", out);
	assert_string_equal(out, "/ctl.sock");
	/* ... made absolute when the config was named relatively */
	sock_path("/w", "etc/gw.conf", "run/ctl.sock", out);
	assert_string_equal(out, "/w/etc/run/ctl.sock");
	sock_path("/w/", "gw.conf", "ctl.sock", out);
	assert_string_equal(out, "/w/ctl.sock");
	sock_path("/", "gw.conf", "ctl.sock", out);
	assert_string_equal(out, "/ctl.sock");
	/* no config: the working directory (ctl's $SSHGATE_CONTROL) */
	sock_path("/home/op", NULL, "gw.sock", out);
	assert_string_equal(out, "/home/op/gw.sock");
}

static void
socket_path_length_is_the_whole_path(void **state)
{
	char dir[200], out[256], small[16];
	size_t n;

	(void)state;
	/* 100 characters as written, under a long directory: too long */
	memset(dir, 'd', 60);
	strcpy(dir + 60, "/gw.conf");
	dir[0] = '/';
	n = sock_path("/w", dir, "ccccccccccccccccccccccccccccccccccccccccccc"
	    "ccccccccccccccccccccccccccccccccccccccccccccccccccccccccc", out);
	assert_int_equal(n, 61 + 100);
	assert_true(n > CTL_PATH_MAX);
	/* cut to fit, but the length is the whole one */
	n = ctl_socket_path("/w", "/etc/sshgate/gw.conf", "ctl.sock", small,
	    sizeof(small));
	assert_int_equal(n, strlen("/etc/sshgate/ctl.sock"));
	assert_int_equal(strlen(small), sizeof(small) - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(old_unquoted_requests_still_work),
		cmocka_unit_test(quoted_words),
		cmocka_unit_test(any_byte_but_nul_cr_lf_is_data),
		cmocka_unit_test(unknown_commands_and_arguments),
		cmocka_unit_test(partial_requests_need_more),
		cmocka_unit_test(requests_are_bounded),
		cmocka_unit_test(quoting),
		cmocka_unit_test(socket_path_is_absolute_and_relative_to_the_config),
		cmocka_unit_test(socket_path_length_is_the_whole_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
