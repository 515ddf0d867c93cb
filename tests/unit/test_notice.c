/* Unit tests: the gateway's notice line (notice.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/notice.h"

static void
round_trip(void **state)
{
	char buf[NOTICE_MAX], reason[32], text[NOTICE_TEXT_MAX + 1];
	enum notice_kind k;
	size_t n;

	(void)state;
	n = notice_format(buf, NOTICE_REFUSED, "access-denied",
	    "access denied for alice to 10.0.0.7");
	assert_string_equal(buf, "sshgate-notice refused access-denied access "
	    "denied for alice to 10.0.0.7\r\n");
	assert_int_equal(n, strlen(buf));
	assert_int_equal(notice_parse(buf, n, &k, reason, text), 1);
	assert_int_equal(k, NOTICE_REFUSED);
	assert_string_equal(reason, "access-denied");
	assert_string_equal(text, "access denied for alice to 10.0.0.7");
}

static void
hostile_text_is_cleaned_and_cut(void **state)
{
	char buf[NOTICE_MAX], reason[32], text[NOTICE_TEXT_MAX + 1];
	char big[1000];
	enum notice_kind k;
	size_t n;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[3] = '\n';
	big[4] = '\x1b';
	n = notice_format(buf, NOTICE_ENDED, "killed", big);
	assert_true(n < NOTICE_MAX);
	assert_int_equal(notice_parse(buf, n, &k, reason, text), 1);
	assert_int_equal(k, NOTICE_ENDED);
	assert_int_equal(strlen(text), NOTICE_TEXT_MAX);
	assert_memory_equal(text, "xxx??x", 6);
}

static void
not_notices(void **state)
{
	char reason[32], text[NOTICE_TEXT_MAX + 1];
	enum notice_kind k;
	static const char *const bad[] = {
		"SSH-2.0-OpenSSH_9.2\r\n",
		"sshgate-notice refused access-denied no crlf",
		"sshgate-notice closed killed x\r\n",
		"sshgate-notice refused  x\r\n",
		"sshgate-notice refused\r\n",
		"sshgate-notic",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(notice_parse(bad[i], strlen(bad[i]), &k,
		    reason, text), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(hostile_text_is_cleaned_and_cut),
		cmocka_unit_test(not_notices),
	};

	return cmocka_run_group_tests_name("notice", tests, NULL, NULL);
}
