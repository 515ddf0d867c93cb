/* Unit tests for ticketkeys.c: the tls-ticket-keys file format. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "core/ticketkeys.h"

struct errs {
	int n;
	int line[8];
	char msg[8][200];
};

static void
collect(void *arg, int line, const char *msg)
{
	struct errs *e = arg;

	if (e->n < 8) {
		e->line[e->n] = line;
		snprintf(e->msg[e->n], sizeof(e->msg[0]), "%s", msg);
	}
	e->n++;
}

/* The text of a key whose 80 bytes are all b + their index. */
static void
key_text(unsigned char b, char *out)
{
	unsigned char raw[TICKETKEY_LEN];
	size_t i;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (unsigned char)(b + i);
	assert_int_equal(ticketkeys_format(raw, out, TICKETKEY_TEXT_LEN + 1),
	    0);
}

static int
parse(const char *text, struct ticketkeys *k, struct errs *e)
{
	memset(e, 0, sizeof(*e));
	return ticketkeys_parse(text, strlen(text), k, collect, e);
}

static void
format_is_base64(void **state)
{
	unsigned char raw[TICKETKEY_LEN];
	char out[TICKETKEY_TEXT_LEN + 1];

	(void)state;
	memset(raw, 0, sizeof(raw));
	assert_int_equal(ticketkeys_format(raw, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), TICKETKEY_TEXT_LEN);
	assert_string_equal(out + 100, "AAAAAAA=");
	memset(raw, 0xff, sizeof(raw));
	assert_int_equal(ticketkeys_format(raw, out, sizeof(out)), 0);
	assert_string_equal(out + 100, "//////8=");
	assert_int_equal(ticketkeys_format(raw, out, TICKETKEY_TEXT_LEN), -1);
}

static void
keys_in_order_with_comments(void **state)
{
	char a[TICKETKEY_TEXT_LEN + 1], b[TICKETKEY_TEXT_LEN + 1], text[512];
	struct ticketkeys k;
	struct errs e;

	(void)state;
	key_text(1, a);
	key_text(100, b);
	snprintf(text, sizeof(text), "# rotated 2026-11-30\n\n  %s \r\n"
	    "\t# older\n%s", a, b);
	assert_int_equal(parse(text, &k, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(k.n, 2);
	assert_int_equal(k.v[0].name[0], 1);
	assert_int_equal(k.v[0].name[15], 16);
	assert_int_equal(k.v[0].aes[0], 17);
	assert_int_equal(k.v[0].hmac[31], 80);
	assert_int_equal(k.v[1].name[0], 100);
	ticketkeys_clear(&k);
	assert_int_equal(k.n, 0);
	assert_int_equal(k.v[0].aes[0], 0);
}

static void
empty_file_is_an_error(void **state)
{
	struct ticketkeys k;
	struct errs e;

	(void)state;
	assert_int_equal(parse("", &k, &e), -1);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.line[0], 0);
	assert_non_null(strstr(e.msg[0], "no key"));
	assert_int_equal(parse("# nothing\n\n", &k, &e), -1);
	assert_int_equal(k.n, 0);
}

static void
every_bad_line_at_its_line(void **state)
{
	char a[TICKETKEY_TEXT_LEN + 1], bad[TICKETKEY_TEXT_LEN + 1];
	char text[1024];
	struct ticketkeys k;
	struct errs e;

	(void)state;
	key_text(1, a);
	memcpy(bad, a, sizeof(bad));
	bad[10] = '*';
	snprintf(text, sizeof(text), "%s\nshort\n%s\n%s\n", a, bad, a);
	assert_int_equal(parse(text, &k, &e), -1);
	assert_int_equal(e.n, 3);
	assert_int_equal(e.line[0], 2);
	assert_non_null(strstr(e.msg[0], "got 5 characters"));
	assert_int_equal(e.line[1], 3);
	assert_non_null(strstr(e.msg[1], "column 11: '*'"));
	assert_int_equal(e.line[2], 4);
	assert_non_null(strstr(e.msg[2], "repeats the key at line 1"));
	ticketkeys_clear(&k);
}

static void
padding_is_strict(void **state)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	char a[TICKETKEY_TEXT_LEN + 1], text[256];
	struct ticketkeys k;
	struct errs e;

	(void)state;
	key_text(0, a);
	/* no '=' */
	memcpy(text, a, TICKETKEY_TEXT_LEN);
	text[TICKETKEY_TEXT_LEN - 1] = 'A';
	text[TICKETKEY_TEXT_LEN] = '\0';
	assert_int_equal(parse(text, &k, &e), -1);
	assert_non_null(strstr(e.msg[0], "expected '='"));
	/* bits past the 80th byte: another text for the same bytes */
	memcpy(text, a, sizeof(a));
	text[TICKETKEY_TEXT_LEN - 2] = alphabet[(strchr(alphabet,
	    text[TICKETKEY_TEXT_LEN - 2]) - alphabet) ^ 1];
	assert_int_equal(parse(text, &k, &e), -1);
	assert_non_null(strstr(e.msg[0], "bits beyond"));
	/* an '=' inside, and a NUL */
	memcpy(text, a, sizeof(a));
	text[0] = '=';
	assert_int_equal(parse(text, &k, &e), -1);
	memcpy(text, a, sizeof(a));
	text[5] = '\0';
	assert_int_equal(ticketkeys_parse(text, TICKETKEY_TEXT_LEN, &k, collect,
	    &e), -1);
	ticketkeys_clear(&k);
}

static void
at_most_max_keys(void **state)
{
	static char text[(TICKETKEYS_MAX + 1) * (TICKETKEY_TEXT_LEN + 1) + 1];
	char a[TICKETKEY_TEXT_LEN + 1];
	struct ticketkeys k;
	struct errs e;
	size_t at = 0;
	int i;

	(void)state;
	for (i = 0; i <= TICKETKEYS_MAX; i++) {
		key_text((unsigned char)(i * 3), a);
		at += (size_t)snprintf(text + at, sizeof(text) - at, "%s\n", a);
	}
	assert_int_equal(parse(text, &k, &e), -1);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.line[0], TICKETKEYS_MAX + 1);
	assert_non_null(strstr(e.msg[0], "more than 64 keys"));
	assert_int_equal(k.n, TICKETKEYS_MAX);
	ticketkeys_clear(&k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(format_is_base64),
		cmocka_unit_test(keys_in_order_with_comments),
		cmocka_unit_test(empty_file_is_an_error),
		cmocka_unit_test(every_bad_line_at_its_line),
		cmocka_unit_test(padding_is_strict),
		cmocka_unit_test(at_most_max_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
