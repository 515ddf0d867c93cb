/* Unit tests for src/route.c: SNI patterns, normalization, the table. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/route.h"

/* --- helpers ------------------------------------------------------------ */

static struct pattern
parse(const char *s)
{
	struct pattern p;
	char err[256] = "";

	if (pattern_parse(s, &p, err, sizeof(err)) != 0)
		fail_msg("'%s' should be a pattern: %s", s, err);
	return p;
}

static void
assert_parse_error(const char *s, const char *want_err)
{
	struct pattern p;
	char err[256] = "";

	if (pattern_parse(s, &p, err, sizeof(err)) != -1) {
		pattern_free(&p);
		fail_msg("'%s' should not be a pattern", s);
	}
	assert_string_equal(err, want_err);
	/* a failed parse leaves nothing to free */
	assert_null(p.name);
}

/* Does pattern text match the SNI? The SNI is normalized first, as the
 * gateway does before routing. */
static int
matches(const char *pattern, const char *sni)
{
	char norm[ROUTE_SNI_MAX + 1];
	struct pattern p = parse(pattern);
	int m;

	if (route_normalize_sni(sni, norm) != 0)
		fail_msg("SNI '%s' should normalize", sni);
	m = pattern_match(&p, norm);
	pattern_free(&p);
	return m;
}

static void
assert_normalizes(const char *in, const char *want)
{
	char out[ROUTE_SNI_MAX + 1];

	if (route_normalize_sni(in, out) != 0)
		fail_msg("SNI '%s' should normalize", in);
	assert_string_equal(out, want);
}

static void
assert_not_sni(const char *in)
{
	char out[ROUTE_SNI_MAX + 1];

	if (route_normalize_sni(in, out) != -1)
		fail_msg("SNI '%s' should be refused", in);
}

/* A name of n characters: "aaa...". */
static char *
long_name(size_t n, const char *suffix)
{
	char *s = malloc(n + strlen(suffix) + 1);

	assert_non_null(s);
	memset(s, 'a', n);
	strcpy(s + n, suffix);
	return s;
}

/*
 * Builds a table the way the config does: every string allocated, so
 * route_table_free has real work and the leak checkers can see it.
 */
static void
table_add(struct route_table *t, const char *pattern, size_t nservers)
{
	struct route *r;
	size_t i;

	t->v = realloc(t->v, (t->n + 1) * sizeof(*t->v));
	assert_non_null(t->v);
	r = &t->v[t->n++];
	memset(r, 0, sizeof(*r));
	r->text = strdup(pattern);
	assert_non_null(r->text);
	r->pat = parse(pattern);
	r->kind = ROUTE_STATIC;
	atomic_init(&r->next, 0);
	if (nservers == 0)
		return;
	r->servers = calloc(nservers, sizeof(*r->servers));
	assert_non_null(r->servers);
	for (i = 0; i < nservers; i++) {
		r->servers[i].host = strdup("127.0.0.1");
		assert_non_null(r->servers[i].host);
		r->servers[i].port = 2200 + (unsigned)i;
	}
	r->nservers = nservers;
}

/* --- pattern_parse ------------------------------------------------------ */

static void
parse_any(void **state)
{
	struct pattern p = parse("*");

	(void)state;
	assert_int_equal(p.kind, PATTERN_ANY);
	assert_null(p.name);
	pattern_free(&p);
}

static void
parse_exact_is_lower_cased(void **state)
{
	struct pattern p = parse("DB7.Example.LOCAL");

	(void)state;
	assert_int_equal(p.kind, PATTERN_EXACT);
	assert_string_equal(p.name, "db7.example.local");
	assert_int_equal(p.namelen, strlen("db7.example.local"));
	pattern_free(&p);
	assert_null(p.name);
}

static void
parse_exact_drops_trailing_dot(void **state)
{
	struct pattern p = parse("db7.example.local.");

	(void)state;
	/* a fully qualified name means the same host */
	assert_string_equal(p.name, "db7.example.local");
	assert_int_equal(p.namelen, strlen("db7.example.local"));
	pattern_free(&p);
}

static void
parse_exact_allows_name_characters(void **state)
{
	struct pattern p = parse("_ssh-1.host_2.example");

	(void)state;
	assert_int_equal(p.kind, PATTERN_EXACT);
	assert_string_equal(p.name, "_ssh-1.host_2.example");
	pattern_free(&p);
}

static void
parse_suffix_keeps_the_dot(void **state)
{
	struct pattern p = parse("*.Example.Local");

	(void)state;
	assert_int_equal(p.kind, PATTERN_SUFFIX);
	/* the dot stays so that "xexample.local" cannot match */
	assert_string_equal(p.name, ".example.local");
	assert_int_equal(p.namelen, strlen(".example.local"));
	pattern_free(&p);
	p = parse("*.example.local.");
	assert_string_equal(p.name, ".example.local");
	pattern_free(&p);
}

static void
parse_cidr_and_literals(void **state)
{
	struct pattern p = parse("10.0.0.0/8");

	(void)state;
	assert_int_equal(p.kind, PATTERN_CIDR);
	assert_int_equal(p.cidr.family, AF_INET);
	assert_int_equal(p.cidr.prefix, 8);
	assert_null(p.name);
	pattern_free(&p);
	/* a bare address is a one-address range */
	p = parse("192.0.2.1");
	assert_int_equal(p.kind, PATTERN_CIDR);
	assert_int_equal(p.cidr.prefix, 32);
	pattern_free(&p);
	p = parse("2001:db8::/32");
	assert_int_equal(p.kind, PATTERN_CIDR);
	assert_int_equal(p.cidr.family, AF_INET6);
	pattern_free(&p);
}

static void
parse_rejects_bad_wildcards(void **state)
{
	(void)state;
	assert_parse_error("*.",
	    "pattern '*.': a wildcard is written *.suffix");
	assert_parse_error("*example.local",
	    "pattern '*example.local': a wildcard is written *.suffix");
	assert_parse_error("**", "pattern '**': a wildcard is written *.suffix");
}

static void
parse_rejects_non_names(void **state)
{
	(void)state;
	assert_parse_error("bad!name", "pattern 'bad!name': not a host name, "
	    "wildcard, address or CIDR");
	assert_parse_error("a b", "pattern 'a b': not a host name, "
	    "wildcard, address or CIDR");
	assert_parse_error("a..b", "pattern 'a..b': not a host name, "
	    "wildcard, address or CIDR");
	/* not a CIDR (prefix too long), and '/' is no name character */
	assert_parse_error("10.0.0.0/33", "pattern '10.0.0.0/33': not a host "
	    "name, wildcard, address or CIDR");
	/* a second '*' is not a wildcard level */
	assert_parse_error("a.*.example", "pattern 'a.*.example': not a host "
	    "name, wildcard, address or CIDR");
}

static void
parse_error_quotes_wildcard_as_written(void **state)
{
	(void)state;
	/*
	 * The message is shown to whoever wrote the config: it must quote
	 * the pattern they wrote, "*." included, not the stored suffix.
	 */
	assert_parse_error("*.ex!ample", "pattern '*.ex!ample': not a host "
	    "name, wildcard, address or CIDR");
	assert_parse_error("*.a..b", "pattern '*.a..b': not a host "
	    "name, wildcard, address or CIDR");
}

static void
parse_rejects_empty_names_and_labels(void **state)
{
	(void)state;
	/* route "" to ...: an empty word is no host name (and never matches) */
	assert_parse_error("", "pattern '': not a host "
	    "name, wildcard, address or CIDR");
	/*
	 * Only ONE trailing dot may be dropped; "a.." still holds an empty
	 * label, which "a..b" shows the parser means to refuse.
	 */
	assert_parse_error("a..", "pattern 'a..': not a host "
	    "name, wildcard, address or CIDR");
	assert_parse_error("*..", "pattern '*..': not a host "
	    "name, wildcard, address or CIDR");
}

static void
parse_length_limit(void **state)
{
	char *ok = long_name(ROUTE_SNI_MAX, "");
	char *too_long = long_name(ROUTE_SNI_MAX + 1, "");
	struct pattern p;
	char err[256];

	(void)state;
	p = parse(ok);
	assert_int_equal(p.namelen, ROUTE_SNI_MAX);
	pattern_free(&p);
	assert_int_equal(pattern_parse(too_long, &p, err, sizeof(err)), -1);
	/* only the first 40 characters are quoted back */
	assert_string_equal(err, "pattern 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "...' is too long");
	free(ok);
	free(too_long);
}

static void
pattern_free_twice_is_safe(void **state)
{
	struct pattern p = parse("a.example");

	(void)state;
	pattern_free(&p);
	pattern_free(&p);
	assert_null(p.name);
}

/* --- pattern_match ------------------------------------------------------ */

static void
match_any_matches_everything(void **state)
{
	(void)state;
	assert_true(matches("*", "a.example"));
	assert_true(matches("*", "localhost"));
	/* "*" is the catch-all: literals too */
	assert_true(matches("*", "10.1.2.3"));
	assert_true(matches("*", "::1"));
}

static void
match_exact_is_case_insensitive(void **state)
{
	(void)state;
	assert_true(matches("db7.example.local", "db7.example.local"));
	assert_true(matches("DB7.example.local", "db7.EXAMPLE.local"));
	assert_true(matches("db7.example.local", "db7.example.local."));
	assert_false(matches("db7.example.local", "db8.example.local"));
	assert_false(matches("db7.example.local", "x.db7.example.local"));
	assert_false(matches("db7.example.local", "db7.example"));
}

static void
match_suffix_needs_one_or_more_labels(void **state)
{
	(void)state;
	assert_true(matches("*.example.local", "a.example.local"));
	assert_true(matches("*.example.local", "a.b.c.example.local"));
	assert_true(matches("*.Example.Local", "DB7.example.LOCAL"));
	/* the bare domain has no label in front */
	assert_false(matches("*.example.local", "example.local"));
	/* the dot belongs to the suffix: no partial labels */
	assert_false(matches("*.example.local", "xexample.local"));
	assert_false(matches("*.example.local", "a.example.local.evil"));
	assert_false(matches("*.example.local", "a.other.local"));
}

static void
match_suffix_needs_a_non_empty_label(void **state)
{
	struct pattern p = parse("*.example.local");

	(void)state;
	/* normalization lets these through; the suffix must not */
	assert_false(pattern_match(&p, ".example.local"));
	assert_false(pattern_match(&p, "..example.local"));
	assert_false(pattern_match(&p, "a..example.local"));
	pattern_free(&p);
}

static void
match_cidr_only_literals(void **state)
{
	(void)state;
	assert_true(matches("10.0.0.0/8", "10.1.2.3"));
	assert_false(matches("10.0.0.0/8", "11.1.2.3"));
	assert_true(matches("192.0.2.1", "192.0.2.1"));
	assert_true(matches("2001:db8::/32", "2001:DB8::1"));
	assert_false(matches("2001:db8::/32", "2001:db9::1"));
	/* a name is never an address, whatever it looks like */
	assert_false(matches("10.0.0.0/8", "10.example"));
	assert_false(matches("0.0.0.0/0", "localhost"));
}

static void
match_cidr_v4_covers_mapped_v6_sni(void **state)
{
	(void)state;
	assert_true(matches("10.0.0.0/8", "::ffff:10.1.2.3"));
	assert_false(matches("10.0.0.0/8", "::ffff:11.1.2.3"));
}

static void
match_names_never_match_literals(void **state)
{
	struct pattern p = parse("*.0.0.1");

	(void)state;
	/* "127.0.0.1" ends in ".0.0.1" but is an address, not a name */
	assert_int_equal(p.kind, PATTERN_SUFFIX);
	assert_false(pattern_match(&p, "127.0.0.1"));
	assert_true(pattern_match(&p, "x.0.0.1"));
	pattern_free(&p);
	p = parse("*.1");
	assert_false(pattern_match(&p, "::1"));
	assert_false(pattern_match(&p, "10.0.0.1"));
	pattern_free(&p);
}

/* --- route_normalize_sni ------------------------------------------------ */

static void
normalize_lower_cases(void **state)
{
	(void)state;
	assert_normalizes("DB7.Example.LOCAL", "db7.example.local");
	assert_normalizes("already.lower", "already.lower");
	assert_normalizes("_ssh-1.x", "_ssh-1.x");
}

static void
normalize_drops_one_trailing_dot(void **state)
{
	(void)state;
	assert_normalizes("host.example.", "host.example");
	/* only one: a second would leave an empty label */
	assert_not_sni("host.example..");
	assert_not_sni(".");
	assert_not_sni(".host.example");
	assert_not_sni("a..b");
}

static void
normalize_accepts_literals(void **state)
{
	(void)state;
	assert_normalizes("10.1.2.3", "10.1.2.3");
	assert_normalizes("::1", "::1");
	assert_normalizes("2001:DB8::A", "2001:db8::a");
	assert_normalizes("::FFFF:10.1.2.3", "::ffff:10.1.2.3");
}

static void
normalize_rejects_empty(void **state)
{
	(void)state;
	assert_not_sni("");
}

static void
normalize_rejects_bad_bytes(void **state)
{
	static const char *const bad[] = {
		"a b", "a/b", "a\tb", "a*b", "a%b", "a@b", "a\\b", "a\"b",
		"caf\xc3\xa9.example", "a\x7f", "a\x01" "b", "a\nb",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_not_sni(bad[i]);
}

static void
normalize_colon_only_in_v6_literal(void **state)
{
	(void)state;
	/* a ':' that is not part of an address: a port, or garbage */
	assert_not_sni("host:22");
	assert_not_sni("a:b");
	assert_not_sni(":::");
	assert_not_sni("10.1.2.3:22");
	/* scoped addresses are not valid SNIs ('%' is refused) */
	assert_not_sni("fe80::1%eth0");
}

static void
normalize_length_limit(void **state)
{
	char out[ROUTE_SNI_MAX + 1];
	char *max = long_name(ROUTE_SNI_MAX, "");
	char *max_dot = long_name(ROUTE_SNI_MAX, ".");
	char *over = long_name(ROUTE_SNI_MAX + 1, "");

	(void)state;
	assert_int_equal(route_normalize_sni(max, out), 0);
	assert_int_equal(strlen(out), ROUTE_SNI_MAX);
	/* the trailing dot does not count against the limit */
	assert_int_equal(route_normalize_sni(max_dot, out), 0);
	assert_int_equal(strlen(out), ROUTE_SNI_MAX);
	assert_int_equal(route_normalize_sni(over, out), -1);
	free(max);
	free(max_dot);
	free(over);
}

/* --- route_match -------------------------------------------------------- */

static void
route_match_direct_only_for_literals(void **state)
{
	struct route_table t = { NULL, 0 };

	(void)state;
	table_add(&t, "*", 0);
	t.v[0].kind = ROUTE_DIRECT;
	table_add(&t, "*.internal", 0);
	t.v[1].kind = ROUTE_RESOLVE;
	/* a name falls through the direct route to the next one */
	assert_ptr_equal(route_match(&t, "10.1.2.3"), &t.v[0]);
	assert_ptr_equal(route_match(&t, "::1"), &t.v[0]);
	assert_ptr_equal(route_match(&t, "db7.internal"), &t.v[1]);
	assert_null(route_match(&t, "db7.example"));
	route_table_free(&t);
}

static void
route_match_first_match_wins(void **state)
{
	struct route_table t = { NULL, 0 };

	(void)state;
	table_add(&t, "db7.example.local", 1);
	table_add(&t, "*.example.local", 1);
	table_add(&t, "10.0.0.0/8", 1);
	table_add(&t, "*", 1);
	assert_ptr_equal(route_match(&t, "db7.example.local"), &t.v[0]);
	/* db7 also matches the wildcard below: order decides */
	assert_ptr_equal(route_match(&t, "db8.example.local"), &t.v[1]);
	assert_ptr_equal(route_match(&t, "10.9.9.9"), &t.v[2]);
	assert_ptr_equal(route_match(&t, "elsewhere"), &t.v[3]);
	assert_ptr_equal(route_match(&t, "11.0.0.1"), &t.v[3]);
	route_table_free(&t);
}

static void
route_match_catch_all_first_shadows_rest(void **state)
{
	struct route_table t = { NULL, 0 };

	(void)state;
	table_add(&t, "*", 1);
	table_add(&t, "db7.example.local", 1);
	assert_ptr_equal(route_match(&t, "db7.example.local"), &t.v[0]);
	route_table_free(&t);
}

static void
route_match_no_match_is_null(void **state)
{
	struct route_table t = { NULL, 0 };

	(void)state;
	assert_null(route_match(&t, "anything"));
	table_add(&t, "*.example.local", 1);
	table_add(&t, "10.0.0.0/8", 1);
	assert_null(route_match(&t, "example.local"));
	assert_null(route_match(&t, "192.0.2.1"));
	route_table_free(&t);
}

/* --- pattern_covers, route_covers --------------------------------------- */

/* Does pattern text a cover pattern text b? */
static int
covers(const char *a, const char *b)
{
	struct pattern pa = parse(a), pb = parse(b);
	int c = pattern_covers(&pa, &pb);

	pattern_free(&pa);
	pattern_free(&pb);
	return c;
}

static void
covers_any_covers_everything(void **state)
{
	(void)state;
	assert_true(covers("*", "*"));
	assert_true(covers("*", "db.example.local"));
	assert_true(covers("*", "*.example.local"));
	assert_true(covers("*", "10.0.0.0/8"));
	assert_true(covers("*", "::1"));
	/* and nothing else covers it */
	assert_false(covers("*.example.local", "*"));
	assert_false(covers("0.0.0.0/0", "*"));
	assert_false(covers("db.example.local", "*"));
}

static void
covers_wildcards_and_names(void **state)
{
	(void)state;
	assert_true(covers("*.example.local", "db.example.local"));
	assert_true(covers("*.example.local", "a.b.example.local"));
	assert_true(covers("*.example.local", "*.a.example.local"));
	assert_true(covers("*.example.local", "*.example.local"));
	assert_true(covers("*.Example.Local", "DB.example.local."));
	assert_true(covers("db.example.local", "DB.EXAMPLE.LOCAL"));
	/* the bare suffix is not under its wildcard */
	assert_false(covers("*.example.local", "example.local"));
	assert_false(covers("*.example.local", "*.xexample.local"));
	assert_false(covers("*.example.local", "dbexample.local"));
	assert_false(covers("*.a.example.local", "*.example.local"));
	assert_false(covers("*.a.example.local", "db.example.local"));
	assert_false(covers("db.example.local", "*.example.local"));
	assert_false(covers("db.example.local", "db2.example.local"));
	/* names and literals never meet */
	assert_false(covers("*.example.local", "10.0.0.1"));
	assert_false(covers("10.0.0.0/8", "db.example.local"));
}

static void
covers_ranges_inside_ranges(void **state)
{
	(void)state;
	assert_true(covers("10.0.0.0/8", "10.1.0.0/16"));
	assert_true(covers("10.0.0.0/8", "10.255.1.2"));
	assert_true(covers("10.0.0.0/8", "10.0.0.0/8"));
	assert_true(covers("0.0.0.0/0", "192.0.2.0/24"));
	assert_true(covers("10.0.0.0/9", "10.127.0.0/16"));
	assert_false(covers("10.0.0.0/9", "10.128.0.0/16"));
	assert_false(covers("10.1.0.0/16", "10.0.0.0/8"));
	assert_false(covers("10.0.0.0/8", "11.0.0.0/8"));
	assert_true(covers("fd00::/8", "fd00:10::/64"));
	assert_true(covers("::/0", "::1"));
	assert_false(covers("fd00:10::/64", "fd00::/8"));
	/* one family does not cover the other */
	assert_false(covers("0.0.0.0/0", "::1"));
	assert_false(covers("::/0", "10.0.0.1"));
}

static void
covers_direct_routes_take_only_literals(void **state)
{
	struct route_table t = { NULL, 0 };

	(void)state;
	table_add(&t, "*", 0);			/* 0: direct */
	t.v[0].kind = ROUTE_DIRECT;
	table_add(&t, "db.example.local", 1);	/* 1 */
	table_add(&t, "10.1.0.0/16", 1);		/* 2 */
	table_add(&t, "*", 0);			/* 3: direct */
	t.v[3].kind = ROUTE_DIRECT;
	table_add(&t, "*", 1);			/* 4 */
	table_add(&t, "10.0.0.0/8", 0);		/* 5: direct */
	t.v[5].kind = ROUTE_DIRECT;
	/* names pass a direct route by: the static name route is used */
	assert_false(route_covers(&t.v[0], &t.v[1]));
	assert_false(route_covers(&t.v[0], &t.v[4]));
	/* literals are taken by it */
	assert_true(route_covers(&t.v[0], &t.v[2]));
	assert_true(route_covers(&t.v[0], &t.v[3]));
	assert_true(route_covers(&t.v[0], &t.v[5]));
	assert_false(route_covers(&t.v[5], &t.v[0]));
	/* a static catch-all takes everything */
	assert_true(route_covers(&t.v[4], &t.v[0]));
	assert_true(route_covers(&t.v[4], &t.v[1]));
	assert_true(route_covers(&t.v[2], &t.v[2]));
	/* the first match decides, as route_match says */
	assert_ptr_equal(route_match(&t, "10.1.2.3"), &t.v[0]);
	assert_ptr_equal(route_match(&t, "db.example.local"), &t.v[1]);
	route_table_free(&t);
}

/* --- passthrough routes and ALPN ---------------------------------------- */

/* Makes t->v[i] a passthrough route offering the comma list alpn ("" none). */
static void
make_passthrough(struct route_table *t, size_t i, const char *alpn)
{
	struct route *r = &t->v[i];
	char *list = strdup(alpn), *p, *save = NULL;

	assert_non_null(list);
	r->passthrough = 1;
	r->alpn = calloc(8, sizeof(*r->alpn));
	assert_non_null(r->alpn);
	for (p = strtok_r(list, ",", &save); p != NULL;
	    p = strtok_r(NULL, ",", &save)) {
		r->alpn[r->nalpn] = strdup(p);
		assert_non_null(r->alpn[r->nalpn++]);
	}
	free(list);
}

static void
hello_match_alpn_narrows(void **state)
{
	static const char *const browser[] = { "h2", "http/1.1" };
	static const char *const other[] = { "imap" };
	struct route_table t = { NULL, 0 };

	(void)state;
	table_add(&t, "*", 1);			/* 0: browsers, passthrough */
	make_passthrough(&t, 0, "h2,http/1.1");
	table_add(&t, "ssh.example.com", 1);	/* 1: terminated */
	table_add(&t, "*.example.com", 1);	/* 2: passthrough, any ALPN */
	make_passthrough(&t, 2, "");
	assert_ptr_equal(route_match_hello(&t, "ssh.example.com", browser, 2),
	    &t.v[0]);
	assert_ptr_equal(route_match_hello(&t, "ssh.example.com", NULL, 0),
	    &t.v[1]);
	assert_ptr_equal(route_match_hello(&t, "ssh.example.com", other, 1),
	    &t.v[1]);
	assert_ptr_equal(route_match_hello(&t, "www.example.com", other, 1),
	    &t.v[2]);
	assert_null(route_match_hello(&t, "www.example.org", other, 1));
	/* one protocol of the list offered is enough, the second too */
	assert_ptr_equal(route_match_hello(&t, "x.example.org", browser + 1, 1),
	    &t.v[0]);
	/* inside the handshake only terminated routes are chosen */
	assert_null(route_match(&t, "www.example.com"));
	assert_ptr_equal(route_match(&t, "ssh.example.com"), &t.v[1]);
	route_table_free(&t);
}

static void
hello_match_without_a_name(void **state)
{
	static const char *const browser[] = { "h2" };
	struct route_table t = { NULL, 0 };

	(void)state;
	table_add(&t, "*", 1);			/* 0: terminated catch-all */
	table_add(&t, "*.example.com", 1);	/* 1: passthrough */
	make_passthrough(&t, 1, "");
	/* no name: neither a terminated * nor a named passthrough */
	assert_null(route_match_hello(&t, NULL, browser, 1));
	table_add(&t, "*", 1);			/* 2: passthrough fallback */
	make_passthrough(&t, 2, "");
	assert_ptr_equal(route_match_hello(&t, NULL, browser, 1), &t.v[2]);
	assert_ptr_equal(route_match_hello(&t, NULL, NULL, 0), &t.v[2]);
	/* a name takes the terminated catch-all first */
	assert_ptr_equal(route_match_hello(&t, "www.example.com", NULL, 0),
	    &t.v[0]);
	route_table_free(&t);
}

static void
covers_passthrough_and_alpn(void **state)
{
	struct route_table t = { NULL, 0 };

	(void)state;
	table_add(&t, "*", 1);			/* 0: terminated */
	table_add(&t, "*", 1);			/* 1: passthrough, any */
	make_passthrough(&t, 1, "");
	table_add(&t, "*", 1);			/* 2: passthrough h2,http/1.1 */
	make_passthrough(&t, 2, "h2,http/1.1");
	table_add(&t, "*", 1);			/* 3: passthrough h2 */
	make_passthrough(&t, 3, "h2");
	table_add(&t, "www.example.com", 1);	/* 4: passthrough */
	make_passthrough(&t, 4, "");
	/* a terminated * leaves the nameless ClientHellos to a passthrough * */
	assert_false(route_covers(&t.v[0], &t.v[1]));
	assert_true(route_covers(&t.v[0], &t.v[4]));
	assert_true(route_covers(&t.v[1], &t.v[0]));
	assert_true(route_covers(&t.v[1], &t.v[2]));
	/* an ALPN list covers only lists within it */
	assert_true(route_covers(&t.v[2], &t.v[3]));
	assert_false(route_covers(&t.v[3], &t.v[2]));
	assert_false(route_covers(&t.v[2], &t.v[1]));
	assert_false(route_covers(&t.v[2], &t.v[0]));
	assert_false(route_covers(&t.v[2], &t.v[4]));
	route_table_free(&t);
}

/* --- route_first_server ------------------------------------------------- */

static void
first_server_rotates(void **state)
{
	struct route_table t = { NULL, 0 };
	struct route *r;

	(void)state;
	table_add(&t, "*", 3);
	r = &t.v[0];
	/* each new connection starts one server further along */
	assert_int_equal(route_first_server(r), 0);
	assert_int_equal(route_first_server(r), 1);
	assert_int_equal(route_first_server(r), 2);
	assert_int_equal(route_first_server(r), 0);
	assert_int_equal(route_first_server(r), 1);
	route_table_free(&t);
}

static void
first_server_single_is_always_zero(void **state)
{
	struct route_table t = { NULL, 0 };
	int i;

	(void)state;
	table_add(&t, "*", 1);
	for (i = 0; i < 5; i++)
		assert_int_equal(route_first_server(&t.v[0]), 0);
	/* nothing to rotate: the counter is left alone */
	assert_int_equal(atomic_load(&t.v[0].next), 0);
	route_table_free(&t);
}

static void
first_server_no_servers_is_zero(void **state)
{
	struct route r;

	(void)state;
	memset(&r, 0, sizeof(r));
	atomic_init(&r.next, 0);
	assert_int_equal(route_first_server(&r), 0);
}

#define SPREAD_THREADS 4
#define SPREAD_CALLS 30000
#define SPREAD_SERVERS 3

struct spread {
	struct route *r;
	size_t counts[SPREAD_SERVERS];
};

static void *
spread_worker(void *arg)
{
	struct spread *s = arg;
	int i;

	for (i = 0; i < SPREAD_CALLS; i++) {
		size_t k = route_first_server(s->r);

		if (k < SPREAD_SERVERS)
			s->counts[k]++;
	}
	return NULL;
}

static void
first_server_spreads_evenly_across_threads(void **state)
{
	struct route_table t = { NULL, 0 };
	struct spread s[SPREAD_THREADS];
	pthread_t tid[SPREAD_THREADS];
	size_t total[SPREAD_SERVERS] = { 0 };
	int i, k;

	(void)state;
	table_add(&t, "*", SPREAD_SERVERS);
	memset(s, 0, sizeof(s));
	for (i = 0; i < SPREAD_THREADS; i++) {
		s[i].r = &t.v[0];
		assert_int_equal(pthread_create(&tid[i], NULL, spread_worker,
		    &s[i]), 0);
	}
	for (i = 0; i < SPREAD_THREADS; i++)
		assert_int_equal(pthread_join(tid[i], NULL), 0);
	for (i = 0; i < SPREAD_THREADS; i++)
		for (k = 0; k < SPREAD_SERVERS; k++)
			total[k] += s[i].counts[k];
	/* an atomic counter hands out every number once: an exact split */
	for (k = 0; k < SPREAD_SERVERS; k++)
		assert_int_equal(total[k],
		    SPREAD_THREADS * SPREAD_CALLS / SPREAD_SERVERS);
	route_table_free(&t);
}

/* --- route_table_free --------------------------------------------------- */

static void
table_free_releases_everything(void **state)
{
	struct route_table t = { NULL, 0 };

	(void)state;
	/* the leak checkers (ASan, valgrind) verify nothing is left */
	table_add(&t, "db7.example.local", 2);
	table_add(&t, "*.example.local", 3);
	table_add(&t, "10.0.0.0/8", 1);
	table_add(&t, "*", 0);
	route_table_free(&t);
	assert_null(t.v);
	assert_int_equal(t.n, 0);
}

static void
table_free_empty_and_twice(void **state)
{
	struct route_table t = { NULL, 0 };

	(void)state;
	route_table_free(&t);
	table_add(&t, "*", 1);
	route_table_free(&t);
	/* a second free (e.g. on an error path) must not double-free */
	route_table_free(&t);
	assert_null(t.v);
	assert_int_equal(t.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_any),
		cmocka_unit_test(parse_exact_is_lower_cased),
		cmocka_unit_test(parse_exact_drops_trailing_dot),
		cmocka_unit_test(parse_exact_allows_name_characters),
		cmocka_unit_test(parse_suffix_keeps_the_dot),
		cmocka_unit_test(parse_cidr_and_literals),
		cmocka_unit_test(parse_rejects_bad_wildcards),
		cmocka_unit_test(parse_rejects_non_names),
		cmocka_unit_test(parse_error_quotes_wildcard_as_written),
		cmocka_unit_test(parse_rejects_empty_names_and_labels),
		cmocka_unit_test(parse_length_limit),
		cmocka_unit_test(pattern_free_twice_is_safe),
		cmocka_unit_test(match_any_matches_everything),
		cmocka_unit_test(match_exact_is_case_insensitive),
		cmocka_unit_test(match_suffix_needs_one_or_more_labels),
		cmocka_unit_test(match_suffix_needs_a_non_empty_label),
		cmocka_unit_test(match_cidr_only_literals),
		cmocka_unit_test(match_cidr_v4_covers_mapped_v6_sni),
		cmocka_unit_test(match_names_never_match_literals),
		cmocka_unit_test(normalize_lower_cases),
		cmocka_unit_test(normalize_drops_one_trailing_dot),
		cmocka_unit_test(normalize_accepts_literals),
		cmocka_unit_test(normalize_rejects_empty),
		cmocka_unit_test(normalize_rejects_bad_bytes),
		cmocka_unit_test(normalize_colon_only_in_v6_literal),
		cmocka_unit_test(normalize_length_limit),
		cmocka_unit_test(route_match_first_match_wins),
		cmocka_unit_test(route_match_direct_only_for_literals),
		cmocka_unit_test(route_match_catch_all_first_shadows_rest),
		cmocka_unit_test(route_match_no_match_is_null),
		cmocka_unit_test(covers_any_covers_everything),
		cmocka_unit_test(covers_wildcards_and_names),
		cmocka_unit_test(covers_ranges_inside_ranges),
		cmocka_unit_test(covers_direct_routes_take_only_literals),
		cmocka_unit_test(first_server_rotates),
		cmocka_unit_test(first_server_single_is_always_zero),
		cmocka_unit_test(first_server_no_servers_is_zero),
		cmocka_unit_test(first_server_spreads_evenly_across_threads),
		cmocka_unit_test(table_free_releases_everything),
		cmocka_unit_test(hello_match_alpn_narrows),
		cmocka_unit_test(hello_match_without_a_name),
		cmocka_unit_test(covers_passthrough_and_alpn),
		cmocka_unit_test(table_free_empty_and_twice),
	};

	return cmocka_run_group_tests_name("route", tests, NULL, NULL);
}
