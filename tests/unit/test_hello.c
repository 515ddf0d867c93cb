/* Unit tests: the ClientHello parser (hello.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "core/hello.h"

/* A ClientHello being built: handshake body, then records around it. */
struct msg {
	unsigned char b[100000];
	size_t n;
};

static void
put(struct msg *m, const void *p, size_t n)
{
	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void
u8(struct msg *m, unsigned v)
{
	unsigned char c = (unsigned char)v;

	put(m, &c, 1);
}

static void
u16(struct msg *m, unsigned v)
{
	u8(m, v >> 8);
	u8(m, v & 0xff);
}

static void
ext_sni(struct msg *m, const char *name, size_t len)
{
	u16(m, 0);
	u16(m, (unsigned)len + 5);
	u16(m, (unsigned)len + 3);
	u8(m, 0);
	u16(m, (unsigned)len);
	put(m, name, len);
}

static void
ext_alpn(struct msg *m, const char *const *protos, size_t n)
{
	size_t i, total = 0;

	for (i = 0; i < n; i++)
		total += 1 + strlen(protos[i]);
	u16(m, 16);
	u16(m, (unsigned)total + 2);
	u16(m, (unsigned)total);
	for (i = 0; i < n; i++) {
		u8(m, (unsigned)strlen(protos[i]));
		put(m, protos[i], strlen(protos[i]));
	}
}

/*
 * A ClientHello with the given extensions block (NULL: none), framed in
 * records of at most rec bytes each.
 */
static void
client_hello(struct msg *out, const struct msg *exts, size_t rec)
{
	struct msg body = { .n = 0 }, hs = { .n = 0 };
	unsigned char random[32] = { 0 };
	size_t off;

	u16(&body, 0x0303);
	put(&body, random, sizeof(random));
	u8(&body, 0);			/* session id */
	u16(&body, 2);
	u16(&body, 0x1301);		/* TLS_AES_128_GCM_SHA256 */
	u8(&body, 1);
	u8(&body, 0);			/* null compression */
	if (exts != NULL) {
		u16(&body, (unsigned)exts->n);
		put(&body, exts->b, exts->n);
	}
	u8(&hs, 1);
	u8(&hs, (unsigned)(body.n >> 16));
	u16(&hs, (unsigned)(body.n & 0xffff));
	put(&hs, body.b, body.n);
	out->n = 0;
	for (off = 0; off < hs.n; off += rec) {
		size_t k = hs.n - off < rec ? hs.n - off : rec;

		u8(out, 22);
		u16(out, 0x0301);
		u16(out, (unsigned)k);
		put(out, hs.b + off, k);
	}
}

static void
sni_and_alpn(struct msg *m, size_t rec)
{
	static const char *const protos[] = { "h2", "http/1.1" };
	struct msg e = { .n = 0 };

	ext_sni(&e, "Web.Example.COM", 15);
	ext_alpn(&e, protos, 2);
	client_hello(m, &e, rec);
}

static void
whole_hello(void **state)
{
	struct msg m;
	struct hello h;
	const char *why = NULL;

	(void)state;
	sni_and_alpn(&m, 16384);
	assert_int_equal(hello_parse(m.b, m.n, &h, &why), HELLO_OK);
	assert_true(h.has_sni);
	assert_string_equal(h.sni, "Web.Example.COM");
	assert_int_equal(h.nalpn, 2);
	assert_string_equal(h.alpn[0], "h2");
	assert_string_equal(h.alpn[1], "http/1.1");
	assert_int_equal(h.len, m.n);
}

/* Every prefix needs more; the whole is complete; nothing more is read. */
static void
every_split_needs_more(void **state)
{
	struct msg m;
	struct hello h;
	const char *why = NULL;
	size_t rec[] = { 16384, 7, 1 }, r, i;

	(void)state;
	for (r = 0; r < sizeof(rec) / sizeof(rec[0]); r++) {
		sni_and_alpn(&m, rec[r]);
		for (i = 0; i < m.n; i++) {
			assert_int_equal(hello_parse(m.b, i, &h, &why),
			    HELLO_NEED_MORE);
			/* what it says it needs is more, and no more than it takes */
			assert_true(h.len > i && h.len <= m.n);
		}
		assert_int_equal(hello_parse(m.b, m.n, &h, &why), HELLO_OK);
		assert_string_equal(h.sni, "Web.Example.COM");
		assert_int_equal(h.len, m.n);
		/* bytes after it (the client's next records) are not taken */
		m.b[m.n++] = 20;
		assert_int_equal(hello_parse(m.b, m.n, &h, &why), HELLO_OK);
		assert_int_equal(h.len, m.n - 1);
	}
}

static void
no_extensions_no_sni(void **state)
{
	struct msg m;
	struct hello h;
	const char *why = NULL;

	(void)state;
	client_hello(&m, NULL, 16384);
	assert_int_equal(hello_parse(m.b, m.n, &h, &why), HELLO_OK);
	assert_false(h.has_sni);
	assert_int_equal(h.nalpn, 0);
}

static void
expect_bad(const unsigned char *b, size_t n, const char *reason)
{
	struct hello h;
	const char *why = NULL;

	assert_int_equal(hello_parse(b, n, &h, &why), HELLO_BAD);
	assert_non_null(why);
	if (strstr(why, reason) == NULL)
		fail_msg("reason '%s' does not say '%s'", why, reason);
}

static void
not_tls(void **state)
{
	static const unsigned char ssh[] = "SSH-2.0-OpenSSH_9.2\r\n";
	static const unsigned char v2[] = { 0x80, 0x2e, 0x01, 0x03, 0x01 };
	static const unsigned char http[] = "GET / HTTP/1.1\r\n";
	static const unsigned char alert[] = { 21, 3, 3, 0, 2, 2, 40 };
	static const unsigned char badver[] = { 22, 9 };

	(void)state;
	expect_bad(ssh, sizeof(ssh) - 1, "not a TLS handshake");
	expect_bad(v2, sizeof(v2), "SSLv2");
	expect_bad(http, sizeof(http) - 1, "not a TLS");
	expect_bad(alert, sizeof(alert), "not a TLS");
	expect_bad(badver, sizeof(badver), "version");
}

static void
bad_server_names(void **state)
{
	struct msg e = { .n = 0 }, m;
	char big[300];

	(void)state;
	ext_sni(&e, "a\0b", 3);
	client_hello(&m, &e, 16384);
	expect_bad(m.b, m.n, "NUL");
	e.n = 0;
	memset(big, 'a', sizeof(big));
	ext_sni(&e, big, 256);
	client_hello(&m, &e, 16384);
	expect_bad(m.b, m.n, "longer than 255");
	e.n = 0;
	ext_sni(&e, "", 0);
	client_hello(&m, &e, 16384);
	expect_bad(m.b, m.n, "empty");
	e.n = 0;
	ext_sni(&e, "a.example", 9);
	ext_sni(&e, "b.example", 9);
	client_hello(&m, &e, 16384);
	expect_bad(m.b, m.n, "two server_name");
}

static void
lengths_that_lie(void **state)
{
	struct msg e = { .n = 0 }, m;
	size_t i;

	(void)state;
	ext_sni(&e, "a.example", 9);
	client_hello(&m, &e, 16384);
	/* every one-byte change of a length field is refused or read whole */
	for (i = 0; i < m.n; i++) {
		struct msg t = m;
		struct hello h;
		const char *why = NULL;
		enum hello_status st;

		t.b[i] ^= 0xff;
		st = hello_parse(t.b, t.n, &h, &why);
		assert_true(st == HELLO_OK || st == HELLO_BAD ||
		    st == HELLO_NEED_MORE);
		if (st == HELLO_OK)
			assert_true(h.len <= t.n);
	}
	/* a record length of zero, or over 2^14 */
	m.b[3] = 0;
	m.b[4] = 0;
	expect_bad(m.b, m.n, "record length");
	m.b[3] = 0x40;
	m.b[4] = 0x01;
	expect_bad(m.b, m.n, "record length");
}

static void
too_large(void **state)
{
	struct msg e = { .n = 0 }, m;
	static char pad[36000];

	(void)state;
	u16(&e, 21);			/* padding extension */
	u16(&e, sizeof(pad));
	put(&e, pad, sizeof(pad));
	client_hello(&m, &e, 16384);
	expect_bad(m.b, m.n, "too large");
}

/* Waiting for the hinted length reaches the end in few steps. */
static void
need_more_hints(void **state)
{
	struct msg m;
	struct hello h;
	const char *why = NULL;
	size_t have = 0, steps = 0;

	(void)state;
	sni_and_alpn(&m, 7);
	while (hello_parse(m.b, have, &h, &why) == HELLO_NEED_MORE) {
		assert_true(h.len > have);
		have = h.len;
		steps++;
	}
	assert_int_equal(have, m.n);
	/* two steps per record: its header, then its body */
	assert_int_equal(steps, 2 * ((m.n + 11) / 12));
	/* one-byte records: more records than a peer may send first */
	{
		static struct msg e, big;
		static char pad[12000];

		e.n = 0;
		u16(&e, 21);
		u16(&e, sizeof(pad));
		put(&e, pad, sizeof(pad));
		client_hello(&big, &e, 1);
		expect_bad(big.b, big.n, "too many records");
		/* the same in about 200 records is still a ClientHello */
		client_hello(&big, &e, 12100 / 200);
		assert_int_equal(hello_parse(big.b, big.n, &h, &why),
		    HELLO_OK);
	}
}

static void
not_a_client_hello(void **state)
{
	struct msg m;

	(void)state;
	client_hello(&m, NULL, 16384);
	m.b[5] = 2;			/* ServerHello */
	expect_bad(m.b, m.n, "not a ClientHello");
}

static void
alpn_bounds(void **state)
{
	static const char *const many[] = { "a", "b", "c", "d", "e", "f", "g",
	    "h", "i", "j" };
	char out[HELLO_ALPN_MAX][HELLO_PROTO_MAX + 1];
	struct msg e = { .n = 0 };
	const char *why = NULL;

	(void)state;
	ext_alpn(&e, many, 10);
	assert_int_equal(hello_alpn_ext(e.b + 4, e.n - 4, out, &why),
	    HELLO_ALPN_MAX);
	assert_string_equal(out[7], "h");
	/* an empty protocol name is malformed */
	e.b[6] = 0;
	assert_int_equal(hello_alpn_ext(e.b + 4, e.n - 4, out, &why), -1);
}

static void
sni_ext_alone(void **state)
{
	static const unsigned char other_type[] = { 0, 6, 1, 0, 3, 'a', 'b',
	    'c' };
	static const unsigned char short_list[] = { 0, 9, 0, 0, 3, 'a' };
	char out[HELLO_SNI_MAX + 1];
	const char *why = NULL;

	(void)state;
	assert_int_equal(hello_sni_ext(other_type, sizeof(other_type), out,
	    &why), 0);
	assert_int_equal(hello_sni_ext(short_list, sizeof(short_list), out,
	    &why), -1);
	assert_int_equal(hello_sni_ext(short_list, 1, out, &why), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(whole_hello),
		cmocka_unit_test(every_split_needs_more),
		cmocka_unit_test(no_extensions_no_sni),
		cmocka_unit_test(not_tls),
		cmocka_unit_test(bad_server_names),
		cmocka_unit_test(lengths_that_lie),
		cmocka_unit_test(too_large),
		cmocka_unit_test(not_a_client_hello),
		cmocka_unit_test(need_more_hints),
		cmocka_unit_test(alpn_bounds),
		cmocka_unit_test(sni_ext_alone),
	};

	return cmocka_run_group_tests_name("hello", tests, NULL, NULL);
}
