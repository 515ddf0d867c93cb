/* Unit tests for src/banner.c: the SSH-only gate's first-bytes check. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/banner.h"

/*
 * Checks exactly len bytes copied to a heap buffer of that size, so
 * the sanitizers catch any read past what the client actually sent.
 */
static enum banner_verdict
check(const void *bytes, size_t len)
{
	enum banner_verdict v;
	char *buf = malloc(len > 0 ? len : 1);

	assert_non_null(buf);
	memcpy(buf, bytes, len);
	v = banner_check(buf, len);
	free(buf);
	return v;
}

static enum banner_verdict
check_str(const char *s)
{
	return check(s, strlen(s));
}

static void
ssh2_banner_ok(void **state)
{
	(void)state;
	assert_int_equal(check_str("SSH-2.0-OpenSSH_9.6\r\n"), BANNER_OK);
	assert_int_equal(check_str("SSH-2.0-PuTTY_Release_0.80\r\n"),
	    BANNER_OK);
}

static void
ssh199_banner_ok(void **state)
{
	(void)state;
	assert_int_equal(check_str("SSH-1.99-OpenSSH_3.9p1\r\n"), BANNER_OK);
}

static void
exact_prefix_is_enough(void **state)
{
	(void)state;
	/* the version and software name follow later: not our business */
	assert_int_equal(check_str("SSH-2.0-"), BANNER_OK);
	assert_int_equal(check_str("SSH-1.99-"), BANNER_OK);
}

static void
bytes_after_prefix_do_not_matter(void **state)
{
	(void)state;
	/* the gate only decides SSH or not; the server parses the rest */
	assert_int_equal(check("SSH-2.0-\0\xff\x01", 11), BANNER_OK);
	assert_int_equal(check("SSH-1.99-\n", 10), BANNER_OK);
}

static void
every_prefix_needs_more(void **state)
{
	static const char *const full[] = { "SSH-2.0-", "SSH-1.99-" };
	size_t i, len;

	(void)state;
	/* a client's first segment may be cut anywhere: wait, don't refuse */
	for (i = 0; i < sizeof(full) / sizeof(full[0]); i++)
		for (len = 1; len < strlen(full[i]); len++)
			if (check(full[i], len) != BANNER_NEED_MORE)
				fail_msg("'%.*s' should need more", (int)len,
				    full[i]);
}

static void
shared_prefix_needs_more(void **state)
{
	(void)state;
	/* "SSH-" could still become either accepted form */
	assert_int_equal(check_str("SSH-"), BANNER_NEED_MORE);
	/* "SSH-1.9" can only be SSH-1.99-, still possible */
	assert_int_equal(check_str("SSH-1.9"), BANNER_NEED_MORE);
	assert_int_equal(check_str("SSH-2."), BANNER_NEED_MORE);
}

static void
nothing_read_yet_needs_more(void **state)
{
	(void)state;
	assert_int_equal(check("", 0), BANNER_NEED_MORE);
}

static void
only_len_bytes_are_judged(void **state)
{
	(void)state;
	/* the buffer holds a full banner but only 4 bytes were received */
	assert_int_equal(banner_check("SSH-2.0-x", 4), BANNER_NEED_MORE);
	/* and the bytes after len are not looked at either way */
	assert_int_equal(banner_check("SSHX", 3), BANNER_NEED_MORE);
}

static void
other_protocols_are_bad(void **state)
{
	(void)state;
	assert_int_equal(check_str("GET / HTTP/1.1\r\n"), BANNER_BAD);
	assert_int_equal(check_str("\x16\x03\x01"), BANNER_BAD);
	assert_int_equal(check_str("HELO example\r\n"), BANNER_BAD);
	/* one wrong first byte is enough to refuse at once */
	assert_int_equal(check_str("X"), BANNER_BAD);
}

static void
other_ssh_versions_are_bad(void **state)
{
	(void)state;
	assert_int_equal(check_str("SSH-1.5-OldClient\r\n"), BANNER_BAD);
	assert_int_equal(check_str("SSH-1.0-"), BANNER_BAD);
	assert_int_equal(check_str("SSH-3.0-"), BANNER_BAD);
	assert_int_equal(check_str("SSH-2.1-"), BANNER_BAD);
	/* a version without its trailing '-' */
	assert_int_equal(check_str("SSH-2.0 "), BANNER_BAD);
	assert_int_equal(check_str("SSH-1.99 "), BANNER_BAD);
	/* a prefix that has left both accepted forms behind */
	assert_int_equal(check_str("SSH-2.1"), BANNER_BAD);
	assert_int_equal(check_str("SSH-1.8"), BANNER_BAD);
}

static void
match_is_case_sensitive(void **state)
{
	(void)state;
	/* RFC 4253: the identification string is exactly "SSH-" */
	assert_int_equal(check_str("ssh-2.0-OpenSSH\r\n"), BANNER_BAD);
	assert_int_equal(check_str("Ssh-2.0-"), BANNER_BAD);
}

static void
leading_bytes_are_bad(void **state)
{
	(void)state;
	/* the gate accepts no pre-banner lines or blanks */
	assert_int_equal(check_str(" SSH-2.0-"), BANNER_BAD);
	assert_int_equal(check_str("\r\nSSH-2.0-"), BANNER_BAD);
}

static void
nul_bytes_are_bad(void **state)
{
	(void)state;
	/* comparisons are on bytes, not C strings: NUL cannot sneak past */
	assert_int_equal(check("\0", 1), BANNER_BAD);
	assert_int_equal(check("\0SSH-2.0-", 9), BANNER_BAD);
	assert_int_equal(check("SSH-\0", 5), BANNER_BAD);
	assert_int_equal(check("SSH-2.0\0", 8), BANNER_BAD);
	assert_int_equal(check("SSH-1.99\0", 9), BANNER_BAD);
	assert_int_equal(check("S\0H-2.0-", 8), BANNER_BAD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ssh2_banner_ok),
		cmocka_unit_test(ssh199_banner_ok),
		cmocka_unit_test(exact_prefix_is_enough),
		cmocka_unit_test(bytes_after_prefix_do_not_matter),
		cmocka_unit_test(every_prefix_needs_more),
		cmocka_unit_test(shared_prefix_needs_more),
		cmocka_unit_test(nothing_read_yet_needs_more),
		cmocka_unit_test(only_len_bytes_are_judged),
		cmocka_unit_test(other_protocols_are_bad),
		cmocka_unit_test(other_ssh_versions_are_bad),
		cmocka_unit_test(match_is_case_sensitive),
		cmocka_unit_test(leading_bytes_are_bad),
		cmocka_unit_test(nul_bytes_are_bad),
	};

	return cmocka_run_group_tests_name("banner", tests, NULL, NULL);
}
