/*
 * Unit tests for src/policy.c: parsing access rules and access-pairs
 * lines, and the first-match decision on user, groups, SNI and
 * destination address.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/policy.h"

#define USAGE "usage: " POLICY_RULE_USAGE
#define PAIR_ERR "expected NAME,TARGET"

/* --- fixture: the policy a test builds, freed whatever happens --------- */

static int
setup(void **state)
{
	struct policy *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -1;
	*state = p;
	return 0;
}

static int
teardown(void **state)
{
	struct policy *p = *state;

	policy_free(p);
	free(p);
	return 0;
}

/* --- helpers ------------------------------------------------------------ */

/* Splits text on single blanks into av (words point into buf). */
static int
split(const char *text, char *buf, size_t len, char **av, int max)
{
	char *s, *save = NULL;
	int ac = 0;

	if (strlen(text) >= len)
		fail_msg("rule '%s' too long for the test buffer", text);
	strcpy(buf, text);
	for (s = strtok_r(buf, " ", &save); s != NULL;
	    s = strtok_r(NULL, " ", &save)) {
		if (ac == max)
			fail_msg("rule '%s' has too many words", text);
		av[ac++] = s;
	}
	return ac;
}

/* Appends the rule given as words ("allow", "user", ...) to p. */
static struct access_rule *
add_av(struct policy *p, char **av, int ac)
{
	struct access_rule *v, r;
	char err[256] = "";

	if (policy_parse_rule(av, ac, &r, err, sizeof(err)) != POLICY_PARSED)
		fail_msg("rule '%s ...' should parse: %s", ac > 0 ? av[0] : "",
		    err);
	v = realloc(p->rules, (p->n + 1) * sizeof(*v));
	if (v == NULL) {
		policy_rule_free(&r);
		fail_msg("out of memory");
	}
	p->rules = v;
	v[p->n] = r;
	return &v[p->n++];
}

/* Appends the rule written as text, words separated by one blank. */
static struct access_rule *
add(struct policy *p, const char *text)
{
	char buf[512], *av[32];
	int ac = split(text, buf, sizeof(buf), av, 32);

	return add_av(p, av, ac);
}

/* Parses text as a rule; requires the error want, and nothing to free. */
static void
assert_rule_error(const char *text, const char *want)
{
	char buf[512], *av[32], err[256] = "";
	struct access_rule r;
	int ac = split(text, buf, sizeof(buf), av, 32);

	if (policy_parse_rule(av, ac, &r, err, sizeof(err)) == POLICY_PARSED) {
		policy_rule_free(&r);
		fail_msg("'%s' should not parse", text);
	}
	if (strcmp(err, want) != 0)
		fail_msg("'%s':\n    got  '%s'\n    want '%s'", text, err,
		    want);
	/* a failed parse leaves nothing allocated */
	assert_null(r.name);
	assert_null(r.targets);
	assert_null(r.text);
	assert_int_equal(r.ntargets, 0);
}

/* Same, for words given one by one (empty or blank-holding words). */
static void
assert_av_error(char **av, int ac, const char *want)
{
	char err[256] = "";
	struct access_rule r;

	if (policy_parse_rule(av, ac, &r, err, sizeof(err)) == POLICY_PARSED) {
		policy_rule_free(&r);
		fail_msg("rule of %d words should not parse", ac);
	}
	assert_string_equal(err, want);
	assert_null(r.name);
	assert_null(r.targets);
	assert_null(r.text);
}

static struct addr
ip(const char *s)
{
	struct addr a;

	if (addr_parse_ip(s, 22, &a) != 0)
		fail_msg("'%s' should be an address", s);
	return a;
}

/*
 * Decides for user (NULL: no usable CN) in the NULL-terminated groups
 * (NULL: none) reaching sni at dst (NULL: not known yet). *index is the
 * deciding rule's index, -1 for none.
 */
static enum policy_verdict
decide(const struct policy *p, const char *user, const char *const *groups,
    const char *sni, const char *dst, int *index)
{
	/* set to garbage: policy_decide must always write it */
	const struct access_rule *rule = (const struct access_rule *)p;
	struct identity id;
	struct addr a;
	enum policy_verdict v;

	id.user = user;
	id.groups = groups;
	id.ngroups = 0;
	while (groups != NULL && groups[id.ngroups] != NULL)
		id.ngroups++;
	if (dst != NULL)
		a = ip(dst);
	v = policy_decide(p, &id, sni, dst != NULL ? &a : NULL, &rule);
	if (rule == NULL)
		*index = -1;
	else if (rule >= p->rules && rule < p->rules + p->n)
		*index = (int)(rule - p->rules);
	else {
		*index = -2;
		fail_msg("*rule points outside the policy");
	}
	return v;
}

static const char *
verdict_name(enum policy_verdict v)
{
	switch (v) {
	case POLICY_ALLOW:
		return "allow";
	case POLICY_DENY:
		return "deny";
	case POLICY_NEED_DST:
		return "need-dst";
	}
	return "?";
}

/* Requires verdict want, decided by rule index (-1: no rule). */
#define assert_decides(p, user, groups, sni, dst, want, want_index) \
	check_decision(p, user, groups, sni, dst, want, want_index, __LINE__)

static void
check_decision(const struct policy *p, const char *user,
    const char *const *groups, const char *sni, const char *dst,
    enum policy_verdict want, int want_index, int line)
{
	int index = -2;
	enum policy_verdict v = decide(p, user, groups, sni, dst, &index);

	if (v != want || index != want_index)
		fail_msg("line %d: user %s%s%s, sni %s, dst %s:\n"
		    "    got  %s by rule %d\n    want %s by rule %d", line,
		    user != NULL ? "'" : "", user != NULL ? user : "NULL",
		    user != NULL ? "'" : "", sni, dst != NULL ? dst : "NULL",
		    verdict_name(v), index, verdict_name(want), want_index);
}

static const char *const NO_GROUPS[] = { NULL };

/* --- policy_parse_rule -------------------------------------------------- */

static void
parse_user_rule(void **state)
{
	struct policy *p = *state;
	struct access_rule *r;

	r = add(p, "allow user alice to db7.example.local 10.0.0.7 *");
	assert_int_equal(r->allow, 1);
	assert_int_equal(r->who, ACCESS_USER);
	assert_string_equal(r->name, "alice");
	assert_int_equal(r->ntargets, 3);
	assert_int_equal(r->targets[0].kind, TARGET_NAME);
	assert_int_equal(r->targets[1].kind, TARGET_CIDR);
	assert_int_equal(r->targets[2].kind, TARGET_ANY);
	/* the rule as written, for logs and explain */
	assert_string_equal(r->text,
	    "allow user alice to db7.example.local 10.0.0.7 *");
	/* where it was written is the caller's business */
	assert_null(r->file);
	assert_int_equal(r->line, 0);
}

static void
parse_group_and_any_rules(void **state)
{
	struct policy *p = *state;
	struct access_rule *r;

	r = add(p, "deny group contractors to *");
	assert_int_equal(r->allow, 0);
	assert_int_equal(r->who, ACCESS_GROUP);
	assert_string_equal(r->name, "contractors");
	assert_string_equal(r->text, "deny group contractors to *");
	r = add(p, "allow any to status.example.local");
	assert_int_equal(r->allow, 1);
	assert_int_equal(r->who, ACCESS_ANY);
	assert_null(r->name);
	assert_int_equal(r->ntargets, 1);
	assert_string_equal(r->text, "allow any to status.example.local");
}

static void
parse_target_kinds(void **state)
{
	struct policy *p = *state;
	struct access_rule *r;

	r = add(p, "allow any to DB7.Example.Local *.dev.example.local "
	    "10.1.2.3 10.0.0.0/8 fd00::/8 ::1 *");
	assert_int_equal(r->ntargets, 7);
	/* names are kept lower case, as the SNI is normalized */
	assert_int_equal(r->targets[0].kind, TARGET_NAME);
	assert_int_equal(r->targets[0].pat.kind, PATTERN_EXACT);
	assert_string_equal(r->targets[0].pat.name, "db7.example.local");
	assert_int_equal(r->targets[1].kind, TARGET_NAME);
	assert_int_equal(r->targets[1].pat.kind, PATTERN_SUFFIX);
	assert_string_equal(r->targets[1].pat.name, ".dev.example.local");
	/* a bare address is a host range */
	assert_int_equal(r->targets[2].kind, TARGET_CIDR);
	assert_int_equal(r->targets[2].cidr.family, AF_INET);
	assert_int_equal(r->targets[2].cidr.prefix, 32);
	assert_int_equal(r->targets[3].kind, TARGET_CIDR);
	assert_int_equal(r->targets[3].cidr.prefix, 8);
	assert_int_equal(r->targets[4].kind, TARGET_CIDR);
	assert_int_equal(r->targets[4].cidr.family, AF_INET6);
	assert_int_equal(r->targets[4].cidr.prefix, 8);
	assert_int_equal(r->targets[5].kind, TARGET_CIDR);
	assert_int_equal(r->targets[5].cidr.prefix, 128);
	assert_int_equal(r->targets[6].kind, TARGET_ANY);
	/* the text is the rule as written, not as normalized */
	assert_string_equal(r->text, "allow any to DB7.Example.Local "
	    "*.dev.example.local 10.1.2.3 10.0.0.0/8 fd00::/8 ::1 *");
}

static void
parse_usage_errors(void **state)
{
	char *none[1] = { NULL };

	(void)state;
	assert_av_error(none, 0, USAGE);
	/* bad verb: the keywords are lower case */
	assert_rule_error("permit user alice to *", USAGE);
	assert_rule_error("Allow user alice to *", USAGE);
	assert_rule_error("allow", USAGE);
	/* bad who */
	assert_rule_error("allow users alice to *", USAGE);
	assert_rule_error("allow someone to *", USAGE);
	assert_rule_error("allow to *", USAGE);
	assert_rule_error("allow user", USAGE);
	assert_rule_error("allow group", USAGE);
	/* missing "to" */
	assert_rule_error("allow user alice", USAGE);
	assert_rule_error("allow user alice *", USAGE);
	assert_rule_error("allow user alice bob to *", USAGE);
	assert_rule_error("allow any", USAGE);
	assert_rule_error("allow any *", USAGE);
	assert_rule_error("allow any TO *", USAGE);
	/* missing targets */
	assert_rule_error("allow user alice to", USAGE);
	assert_rule_error("deny group ops to", USAGE);
	assert_rule_error("allow any to", USAGE);
}

static void
parse_empty_name(void **state)
{
	char *user[] = { "allow", "user", "", "to", "*" };
	char *group[] = { "deny", "group", "", "to", "*" };

	(void)state;
	assert_av_error(user, 5, "empty user name");
	assert_av_error(group, 5, "empty group name");
}

static void
parse_bad_target(void **state)
{
	(void)state;
	assert_rule_error("allow any to bad!name", "target pattern "
	    "'bad!name': not a host name, wildcard, address or CIDR");
	assert_rule_error("allow user alice to *example", "target "
	    "pattern '*example': a wildcard is written *.suffix");
	assert_rule_error("allow user alice to *.", "target "
	    "pattern '*.': a wildcard is written *.suffix");
	assert_rule_error("allow any to a..example.local", "target "
	    "pattern 'a..example.local': not a host name, wildcard, address "
	    "or CIDR");
	/* a prefix too long is not a CIDR, and not a name either */
	assert_rule_error("allow any to 10.0.0.0/33", "target "
	    "pattern '10.0.0.0/33': not a host name, wildcard, address or "
	    "CIDR");
	/* a bad target after good ones: all of it is freed (valgrind) */
	assert_rule_error("deny group ops to db.example.local *.x.local "
	    "10.0.0.0/8 bad_name! *", "target pattern 'bad_name!': "
	    "not a host name, wildcard, address or CIDR");
}

static void
parse_target_that_looks_like_an_address(void **state)
{
	(void)state;
	assert_rule_error("allow any to 127.0.0.300", "target '127.0.0.300' "
	    "looks like an address but is not one");
	assert_rule_error("allow user alice to 10.0.0", "target '10.0.0' "
	    "looks like an address but is not one");
	assert_rule_error("allow user alice to 1.2.3.4.5", "target "
	    "'1.2.3.4.5' looks like an address but is not one");
	assert_rule_error("allow user alice to 10.0.0.1 192.168.1", "target "
	    "'192.168.1' looks like an address but is not one");
	assert_rule_error("allow user alice to 10.0.0.1.", "target "
	    "'10.0.0.1.' looks like an address but is not one");
}

static void
parse_names_with_digits_stay_names(void **state)
{
	struct policy *p = *state;
	struct access_rule *r;

	/* a label with a letter, a single label, a wildcard: names */
	r = add(p, "allow any to 10.0.0.db 1a.2.3.4 server7 12345 *.10.0 "
	    "10-0-0-1.example.local");
	assert_int_equal(r->ntargets, 6);
	assert_int_equal(r->targets[0].kind, TARGET_NAME);
	assert_int_equal(r->targets[1].kind, TARGET_NAME);
	assert_int_equal(r->targets[2].kind, TARGET_NAME);
	assert_int_equal(r->targets[3].kind, TARGET_NAME);
	assert_int_equal(r->targets[4].kind, TARGET_NAME);
	assert_int_equal(r->targets[5].kind, TARGET_NAME);
	/* and real addresses stay addresses */
	r = add(p, "allow any to 10.0.0.1 0.0.0.0/0");
	assert_int_equal(r->targets[0].kind, TARGET_CIDR);
	assert_int_equal(r->targets[1].kind, TARGET_CIDR);
}

static void
rule_free_clears(void **state)
{
	struct policy *p = *state;
	struct access_rule r;

	(void)add(p, "allow user alice to a.example.local *.b.example.local");
	(void)add(p, "deny any to *");
	r = p->rules[0];
	p->rules[0] = p->rules[1];
	p->n = 1;
	policy_rule_free(&r);
	assert_null(r.name);
	assert_null(r.targets);
	assert_null(r.text);
	assert_int_equal(r.ntargets, 0);
	/* twice is harmless */
	policy_rule_free(&r);
	policy_free(p);
	assert_null(p->rules);
	assert_int_equal(p->n, 0);
	policy_free(p);
}

/* --- who matches -------------------------------------------------------- */

static void
user_rule_matches_that_user(void **state)
{
	struct policy *p = *state;
	static const char *const ops[] = { "ops", NULL };
	static const char *const named_alice[] = { "alice", NULL };

	add(p, "allow user alice to *");
	assert_decides(p, "alice", NO_GROUPS, "db.example.local", NULL,
	    POLICY_ALLOW, 0);
	assert_decides(p, "bob", NO_GROUPS, "db.example.local", NULL,
	    POLICY_DENY, -1);
	/* a user rule is not a group rule */
	assert_decides(p, "bob", named_alice,
	    "db.example.local", NULL, POLICY_DENY, -1);
	assert_decides(p, "alice", ops, "db.example.local", "10.0.0.1",
	    POLICY_ALLOW, 0);
}

static void
group_rule_matches_any_ou(void **state)
{
	struct policy *p = *state;
	static const char *const two[] = { "dev", "dba", NULL };
	static const char *const one[] = { "dev", NULL };

	add(p, "allow group dba to db.example.local");
	/* a certificate with two OUs: the second one matches */
	assert_decides(p, "carol", two, "db.example.local", NULL,
	    POLICY_ALLOW, 0);
	assert_decides(p, "dave", one, "db.example.local", NULL,
	    POLICY_DENY, -1);
	assert_decides(p, "erin", NO_GROUPS, "db.example.local", NULL,
	    POLICY_DENY, -1);
	assert_decides(p, "erin", NULL, "db.example.local", NULL,
	    POLICY_DENY, -1);
	/* a group rule is not a user rule */
	assert_decides(p, "dba", NO_GROUPS, "db.example.local", NULL,
	    POLICY_DENY, -1);
	/* without a usable CN, the OUs still count */
	assert_decides(p, NULL, two, "db.example.local", NULL,
	    POLICY_ALLOW, 0);
}

static void
any_rule_matches_everyone(void **state)
{
	struct policy *p = *state;
	static const char *const g[] = { "ops", NULL };

	add(p, "allow any to *");
	assert_decides(p, "alice", NO_GROUPS, "a.example.local", NULL,
	    POLICY_ALLOW, 0);
	assert_decides(p, "bob", g, "a.example.local", "192.0.2.1",
	    POLICY_ALLOW, 0);
	assert_decides(p, NULL, NULL, "a.example.local", NULL,
	    POLICY_ALLOW, 0);
}

static void
no_rule_is_deny(void **state)
{
	struct policy *p = *state;

	/* no rule at all: deny (decide() starts *rule as non-NULL) */
	assert_decides(p, "alice", NO_GROUPS, "a.example.local", NULL,
	    POLICY_DENY, -1);
	assert_decides(p, "alice", NO_GROUPS, "a.example.local", "10.0.0.1",
	    POLICY_DENY, -1);
	/* rules, none matching: deny, and no rule is blamed */
	add(p, "allow user bob to *");
	add(p, "allow group ops to *");
	add(p, "allow any to b.example.local");
	add(p, "deny user alice to c.example.local");
	assert_decides(p, "alice", NO_GROUPS, "a.example.local", NULL,
	    POLICY_DENY, -1);
	assert_decides(p, "alice", NO_GROUPS, "a.example.local", "10.0.0.1",
	    POLICY_DENY, -1);
}

static void
deny_before_allow_order_decides(void **state)
{
	struct policy *p = *state;
	static const char *const ops[] = { "ops", NULL };

	add(p, "deny user mallory to *");
	add(p, "allow group ops to *");
	/* mallory is in ops, but the deny comes first */
	assert_decides(p, "mallory", ops, "db.example.local", NULL,
	    POLICY_DENY, 0);
	assert_decides(p, "alice", ops, "db.example.local", NULL,
	    POLICY_ALLOW, 1);
	policy_free(p);
	/* the other way round, the allow wins */
	add(p, "allow group ops to *");
	add(p, "deny user mallory to *");
	assert_decides(p, "mallory", ops, "db.example.local", NULL,
	    POLICY_ALLOW, 0);
	assert_decides(p, "mallory", NO_GROUPS, "db.example.local", NULL,
	    POLICY_DENY, 1);
}

static void
first_matching_target_decides(void **state)
{
	struct policy *p = *state;

	add(p, "deny any to secret.example.local");
	add(p, "allow user alice to secret.example.local public.example.local");
	add(p, "allow any to *.example.local");
	assert_decides(p, "alice", NO_GROUPS, "secret.example.local", NULL,
	    POLICY_DENY, 0);
	assert_decides(p, "alice", NO_GROUPS, "public.example.local", NULL,
	    POLICY_ALLOW, 1);
	/* who matched but no target: the walk goes on */
	assert_decides(p, "alice", NO_GROUPS, "other.example.local", NULL,
	    POLICY_ALLOW, 2);
	assert_decides(p, "bob", NO_GROUPS, "public.example.local", NULL,
	    POLICY_ALLOW, 2);
	assert_decides(p, "bob", NO_GROUPS, "other.example.org", NULL,
	    POLICY_DENY, -1);
}

/* --- odd identities ----------------------------------------------------- */

static void
unusable_cn_never_matches_a_user_rule(void **state)
{
	struct policy *p = *state;
	static const char *const null_group[] = { "(null)", NULL };
	struct access_rule *r;

	/* "" cannot be written in a rule: build it by hand */
	r = add(p, "allow user placeholder to *");
	free(r->name);
	r->name = strdup("");
	assert_non_null(r->name);
	add(p, "allow user (null) to *");
	add(p, "allow user NULL to *");
	assert_decides(p, NULL, NO_GROUPS, "a.example.local", NULL,
	    POLICY_DENY, -1);
	assert_decides(p, NULL, NULL, "a.example.local", "10.0.0.1",
	    POLICY_DENY, -1);
	/* a group named like them does not make the user match either */
	assert_decides(p, NULL, null_group,
	    "a.example.local", NULL, POLICY_DENY, -1);
	/* the rules do work for those literal names */
	assert_decides(p, "", NO_GROUPS, "a.example.local", NULL,
	    POLICY_ALLOW, 0);
	assert_decides(p, "(null)", NO_GROUPS, "a.example.local", NULL,
	    POLICY_ALLOW, 1);
}

static void
user_names_compared_exactly(void **state)
{
	struct policy *p = *state;
	char *trailing[] = { "allow", "user", "bob ", "to", "*" };

	add(p, "allow user alice to *");
	assert_decides(p, "alice", NO_GROUPS, "a.example.local", NULL,
	    POLICY_ALLOW, 0);
	assert_decides(p, "Alice", NO_GROUPS, "a.example.local", NULL,
	    POLICY_DENY, -1);
	assert_decides(p, "ALICE", NO_GROUPS, "a.example.local", NULL,
	    POLICY_DENY, -1);
	assert_decides(p, "alice ", NO_GROUPS, "a.example.local", NULL,
	    POLICY_DENY, -1);
	assert_decides(p, " alice", NO_GROUPS, "a.example.local", NULL,
	    POLICY_DENY, -1);
	assert_decides(p, "alic", NO_GROUPS, "a.example.local", NULL,
	    POLICY_DENY, -1);
	assert_decides(p, "alicex", NO_GROUPS, "a.example.local", NULL,
	    POLICY_DENY, -1);
	/* a rule name with a blank (quoted in the config) is kept as is */
	add_av(p, trailing, 5);
	assert_decides(p, "bob", NO_GROUPS, "a.example.local", NULL,
	    POLICY_DENY, -1);
	assert_decides(p, "bob ", NO_GROUPS, "a.example.local", NULL,
	    POLICY_ALLOW, 1);
}

static void
group_names_compared_exactly(void **state)
{
	struct policy *p = *state;
	static const char *const near[] = { "Ops", "OPS", "ops ", "op",
	    "opsx", NULL };
	static const char *const second[] = { "Ops", "ops", NULL };

	add(p, "allow group ops to *");
	assert_decides(p, "x", near, "a.example.local", NULL, POLICY_DENY, -1);
	assert_decides(p, "x", second,
	    "a.example.local", NULL, POLICY_ALLOW, 0);
}

static void
comma_in_cn_never_matches_the_part_before(void **state)
{
	struct policy *p = *state;
	static const char *const comma_ou[] = { "ops,admins", NULL };

	add(p, "allow user alice to *");
	add(p, "allow group ops to *");
	assert_decides(p, "alice,OU=admins", NO_GROUPS, "a.example.local",
	    NULL, POLICY_DENY, -1);
	assert_decides(p, "alice,", NO_GROUPS, "a.example.local", NULL,
	    POLICY_DENY, -1);
	assert_decides(p, "alice,10.0.0.1", NO_GROUPS, "a.example.local",
	    "10.0.0.1", POLICY_DENY, -1);
	/* nor an OU with a comma the group before it */
	assert_decides(p, "bob", comma_ou,
	    "a.example.local", NULL, POLICY_DENY, -1);
}

/* --- name targets against the SNI --------------------------------------- */

static void
exact_name_target(void **state)
{
	struct policy *p = *state;

	add(p, "allow any to db7.example.local");
	assert_decides(p, "a", NO_GROUPS, "db7.example.local", NULL,
	    POLICY_ALLOW, 0);
	assert_decides(p, "a", NO_GROUPS, "db7.example.local", "10.0.0.1",
	    POLICY_ALLOW, 0);
	assert_decides(p, "a", NO_GROUPS, "db7.example.local.evil.com", NULL,
	    POLICY_DENY, -1);
	assert_decides(p, "a", NO_GROUPS, "xdb7.example.local", NULL,
	    POLICY_DENY, -1);
	assert_decides(p, "a", NO_GROUPS, "x.db7.example.local", NULL,
	    POLICY_DENY, -1);
	assert_decides(p, "a", NO_GROUPS, "db7.example", NULL,
	    POLICY_DENY, -1);
}

static void
name_target_is_case_insensitive(void **state)
{
	struct policy *p = *state;

	/* the SNI arrives normalized (lower case); the rule may not be */
	add(p, "allow any to DB7.Example.LOCAL");
	add(p, "allow any to *.Dev.Example.Local");
	assert_decides(p, "a", NO_GROUPS, "db7.example.local", NULL,
	    POLICY_ALLOW, 0);
	assert_decides(p, "a", NO_GROUPS, "web.dev.example.local", NULL,
	    POLICY_ALLOW, 1);
}

static void
wildcard_target(void **state)
{
	struct policy *p = *state;

	add(p, "allow any to *.example.local");
	/* one label or more */
	assert_decides(p, "a", NO_GROUPS, "db.example.local", NULL,
	    POLICY_ALLOW, 0);
	assert_decides(p, "a", NO_GROUPS, "a.b.c.example.local", NULL,
	    POLICY_ALLOW, 0);
	/* not the bare suffix */
	assert_decides(p, "a", NO_GROUPS, "example.local", NULL,
	    POLICY_DENY, -1);
	/* a label that only ends like the suffix is not under it */
	assert_decides(p, "a", NO_GROUPS, "notexample.local", NULL,
	    POLICY_DENY, -1);
	assert_decides(p, "a", NO_GROUPS, "db.example.local.org", NULL,
	    POLICY_DENY, -1);
	assert_decides(p, "a", NO_GROUPS, "local", NULL, POLICY_DENY, -1);
}

static void
name_target_never_matches_an_address_sni(void **state)
{
	struct policy *p = *state;

	add(p, "allow any to *.example.local db7");
	/* a literal SNI is a destination, not a name */
	assert_decides(p, "a", NO_GROUPS, "10.0.0.1", NULL, POLICY_DENY, -1);
	assert_decides(p, "a", NO_GROUPS, "10.0.0.1", "10.0.0.1",
	    POLICY_DENY, -1);
	assert_decides(p, "a", NO_GROUPS, "db7", NULL, POLICY_ALLOW, 0);
}

/* --- address targets against the destination --------------------------- */

static void
cidr_target_ipv4(void **state)
{
	struct policy *p = *state;

	add(p, "allow any to 192.168.0.0/16");
	assert_decides(p, "a", NO_GROUPS, "db.example.local", "192.168.5.6",
	    POLICY_ALLOW, 0);
	assert_decides(p, "a", NO_GROUPS, "db.example.local", "192.168.0.0",
	    POLICY_ALLOW, 0);
	assert_decides(p, "a", NO_GROUPS, "db.example.local",
	    "192.168.255.255", POLICY_ALLOW, 0);
	assert_decides(p, "a", NO_GROUPS, "db.example.local", "192.169.0.1",
	    POLICY_DENY, -1);
	assert_decides(p, "a", NO_GROUPS, "db.example.local", "10.0.0.1",
	    POLICY_DENY, -1);
	/* an IPv6 destination never lies in an IPv4 range */
	assert_decides(p, "a", NO_GROUPS, "db.example.local", "fd00::1",
	    POLICY_DENY, -1);
	/* the SNI does not count for an address target */
	assert_decides(p, "a", NO_GROUPS, "192.168.5.6", "10.0.0.1",
	    POLICY_DENY, -1);
}

static void
single_address_target(void **state)
{
	struct policy *p = *state;

	add(p, "allow user alice to 192.168.0.10");
	assert_decides(p, "alice", NO_GROUPS, "h", "192.168.0.10",
	    POLICY_ALLOW, 0);
	assert_decides(p, "alice", NO_GROUPS, "h", "192.168.0.11",
	    POLICY_DENY, -1);
	assert_decides(p, "alice", NO_GROUPS, "h", "192.168.0.9",
	    POLICY_DENY, -1);
	/* the same address written as IPv4-mapped IPv6 */
	assert_decides(p, "alice", NO_GROUPS, "h", "::ffff:192.168.0.10",
	    POLICY_ALLOW, 0);
	assert_decides(p, "alice", NO_GROUPS, "h", "::ffff:192.168.0.11",
	    POLICY_DENY, -1);
	/* IPv4-compatible (::a.b.c.d) is not IPv4-mapped */
	assert_decides(p, "alice", NO_GROUPS, "h", "::192.168.0.10",
	    POLICY_DENY, -1);
}

static void
cidr_target_ipv6(void **state)
{
	struct policy *p = *state;

	add(p, "allow any to fd00:1::/32");
	add(p, "allow any to 2001:db8::7");
	assert_decides(p, "a", NO_GROUPS, "h", "fd00:1::5", POLICY_ALLOW, 0);
	assert_decides(p, "a", NO_GROUPS, "h", "fd00:1:ffff::1",
	    POLICY_ALLOW, 0);
	assert_decides(p, "a", NO_GROUPS, "h", "fd00:2::1", POLICY_DENY, -1);
	assert_decides(p, "a", NO_GROUPS, "h", "2001:db8::7", POLICY_ALLOW, 1);
	assert_decides(p, "a", NO_GROUPS, "h", "2001:db8::8", POLICY_DENY, -1);
	/* an IPv4 destination never lies in an IPv6 range */
	assert_decides(p, "a", NO_GROUPS, "h", "10.0.0.1", POLICY_DENY, -1);
}

static void
mapped_destination_against_ipv4_cidr(void **state)
{
	struct policy *p = *state;

	add(p, "deny any to 10.0.0.0/8");
	add(p, "allow any to *");
	/* a mapped address does not slip past an IPv4 deny */
	assert_decides(p, "a", NO_GROUPS, "h", "::ffff:10.1.2.3",
	    POLICY_DENY, 0);
	assert_decides(p, "a", NO_GROUPS, "h", "10.1.2.3", POLICY_DENY, 0);
	assert_decides(p, "a", NO_GROUPS, "h", "::ffff:11.1.2.3",
	    POLICY_ALLOW, 1);
}

static void
star_target_matches_anything(void **state)
{
	struct policy *p = *state;

	add(p, "allow user alice to *");
	assert_decides(p, "alice", NO_GROUPS, "a.example.local", NULL,
	    POLICY_ALLOW, 0);
	assert_decides(p, "alice", NO_GROUPS, "10.0.0.1", NULL,
	    POLICY_ALLOW, 0);
	assert_decides(p, "alice", NO_GROUPS, "a.example.local", "fd00::1",
	    POLICY_ALLOW, 0);
	assert_decides(p, "alice", NO_GROUPS, "a.example.local",
	    "203.0.113.9", POLICY_ALLOW, 0);
}

/* --- the destination is not known yet ----------------------------------- */

static void
address_rule_needs_destination(void **state)
{
	struct policy *p = *state;

	add(p, "allow user alice to 10.0.0.0/8");
	assert_decides(p, "alice", NO_GROUPS, "db.example.local", NULL,
	    POLICY_NEED_DST, 0);
	assert_decides(p, "alice", NO_GROUPS, "db.example.local", "10.9.9.9",
	    POLICY_ALLOW, 0);
	assert_decides(p, "alice", NO_GROUPS, "db.example.local", "11.0.0.1",
	    POLICY_DENY, -1);
	/* not alice's rule: no need to wait for the address */
	assert_decides(p, "bob", NO_GROUPS, "db.example.local", NULL,
	    POLICY_DENY, -1);
}

static void
deny_address_rule_stops_the_walk(void **state)
{
	struct policy *p = *state;

	add(p, "deny any to 10.0.0.0/8");
	add(p, "allow any to *");
	/* the later allow must wait: the deny may yet decide */
	assert_decides(p, "a", NO_GROUPS, "db.example.local", NULL,
	    POLICY_NEED_DST, 0);
	assert_decides(p, "a", NO_GROUPS, "db.example.local", "10.1.1.1",
	    POLICY_DENY, 0);
	assert_decides(p, "a", NO_GROUPS, "db.example.local", "192.0.2.1",
	    POLICY_ALLOW, 1);
}

static void
address_rule_of_someone_else_does_not_wait(void **state)
{
	struct policy *p = *state;
	static const char *const dev[] = { "dev", NULL };

	add(p, "allow user bob to 10.0.0.0/8");
	add(p, "deny group dev to 10.0.0.0/8");
	add(p, "allow user alice to db.example.local");
	assert_decides(p, "alice", NO_GROUPS, "db.example.local", NULL,
	    POLICY_ALLOW, 2);
	assert_decides(p, "alice", dev,
	    "db.example.local", NULL, POLICY_NEED_DST, 1);
}

static void
name_target_decides_without_destination(void **state)
{
	struct policy *p = *state;

	/* addresses first or names first: a matching name decides now */
	add(p, "allow user alice to 10.0.0.0/8 db.example.local");
	add(p, "allow user bob to *.example.local fd00::/8");
	assert_decides(p, "alice", NO_GROUPS, "db.example.local", NULL,
	    POLICY_ALLOW, 0);
	assert_decides(p, "bob", NO_GROUPS, "web.example.local", NULL,
	    POLICY_ALLOW, 1);
	/* a name not matching: the addresses decide, later */
	assert_decides(p, "alice", NO_GROUPS, "web.example.local", NULL,
	    POLICY_NEED_DST, 0);
	assert_decides(p, "bob", NO_GROUPS, "web.example.org", NULL,
	    POLICY_NEED_DST, 1);
	/* and then: in range, or on to the next rules (none here) */
	assert_decides(p, "alice", NO_GROUPS, "web.example.local", "10.0.0.1",
	    POLICY_ALLOW, 0);
	assert_decides(p, "alice", NO_GROUPS, "web.example.local",
	    "192.0.2.1", POLICY_DENY, -1);
	assert_decides(p, "bob", NO_GROUPS, "web.example.org", "fd00::2",
	    POLICY_ALLOW, 1);
}

static void
star_target_decides_without_destination(void **state)
{
	struct policy *p = *state;

	add(p, "deny user alice to 10.0.0.0/8 *");
	assert_decides(p, "alice", NO_GROUPS, "db.example.local", NULL,
	    POLICY_DENY, 0);
}

static void
name_only_rule_never_needs_destination(void **state)
{
	struct policy *p = *state;

	add(p, "deny any to secret.example.local");
	add(p, "allow any to *.example.local");
	assert_decides(p, "a", NO_GROUPS, "db.example.local", NULL,
	    POLICY_ALLOW, 1);
	assert_decides(p, "a", NO_GROUPS, "db.example.org", NULL,
	    POLICY_DENY, -1);
}

/* --- policy_parse_pair -------------------------------------------------- */

/* Parses a pair line that must give a rule; the caller frees it. */
static void
parse_pair_ok(const char *line, enum access_who who, struct access_rule *r)
{
	char err[256] = "";
	int rc = policy_parse_pair(line, who, r, err, sizeof(err));

	if (rc != 1)
		fail_msg("pair '%s': want 1, got %d (%s)", line, rc, err);
}

static void
assert_pair_skipped(const char *line)
{
	struct access_rule r;
	char err[256] = "";
	int rc = policy_parse_pair(line, ACCESS_USER, &r, err, sizeof(err));

	if (rc != 0)
		fail_msg("pair '%s': want 0 (skipped), got %d (%s)", line, rc,
		    err);
	assert_null(r.name);
	assert_null(r.targets);
	assert_null(r.text);
}

static void
assert_pair_error(const char *line, enum access_who who, const char *want)
{
	struct access_rule r;
	char err[256] = "";
	int rc = policy_parse_pair(line, who, &r, err, sizeof(err));

	if (rc != -1) {
		if (rc == 1)
			policy_rule_free(&r);
		fail_msg("pair '%s': want -1, got %d", line, rc);
	}
	if (strcmp(err, want) != 0)
		fail_msg("pair '%s':\n    got  '%s'\n    want '%s'", line, err,
		    want);
	assert_null(r.name);
	assert_null(r.targets);
	assert_null(r.text);
}

static void
pair_user_address(void **state)
{
	struct policy *p = *state;
	struct access_rule r;

	parse_pair_ok("alice,192.168.0.10", ACCESS_USER, &r);
	assert_int_equal(r.allow, 1);
	assert_int_equal(r.who, ACCESS_USER);
	assert_string_equal(r.name, "alice");
	assert_int_equal(r.ntargets, 1);
	assert_int_equal(r.targets[0].kind, TARGET_CIDR);
	assert_int_equal(r.targets[0].cidr.prefix, 32);
	assert_string_equal(r.text, "allow user alice to 192.168.0.10");
	assert_null(r.file);
	assert_int_equal(r.line, 0);
	/* and it decides like the rule it reads as */
	p->rules = malloc(sizeof(r));
	assert_non_null(p->rules);
	p->rules[0] = r;
	p->n = 1;
	assert_decides(p, "alice", NO_GROUPS, "h", NULL, POLICY_NEED_DST, 0);
	assert_decides(p, "alice", NO_GROUPS, "h", "192.168.0.10",
	    POLICY_ALLOW, 0);
	assert_decides(p, "alice", NO_GROUPS, "h", "192.168.0.11",
	    POLICY_DENY, -1);
	assert_decides(p, "bob", NO_GROUPS, "h", "192.168.0.10",
	    POLICY_DENY, -1);
}

static void
pair_group_name(void **state)
{
	struct access_rule r;

	(void)state;
	parse_pair_ok("dev,*.web.example.local", ACCESS_GROUP, &r);
	assert_int_equal(r.allow, 1);
	assert_int_equal(r.who, ACCESS_GROUP);
	assert_string_equal(r.name, "dev");
	assert_int_equal(r.targets[0].kind, TARGET_NAME);
	assert_int_equal(r.targets[0].pat.kind, PATTERN_SUFFIX);
	assert_string_equal(r.text, "allow group dev to *.web.example.local");
	policy_rule_free(&r);
}

static void
pair_blanks_around_parts(void **state)
{
	struct access_rule r;

	(void)state;
	parse_pair_ok(" \talice \t, \t192.168.0.10\t \n", ACCESS_USER, &r);
	assert_string_equal(r.name, "alice");
	assert_string_equal(r.text, "allow user alice to 192.168.0.10");
	policy_rule_free(&r);
	parse_pair_ok("bob , db.example.local", ACCESS_USER, &r);
	assert_string_equal(r.name, "bob");
	assert_string_equal(r.text, "allow user bob to db.example.local");
	policy_rule_free(&r);
}

static void
pair_crlf_line_ending(void **state)
{
	struct access_rule r;

	(void)state;
	parse_pair_ok("alice,db.example.local\r\n", ACCESS_USER, &r);
	assert_string_equal(r.name, "alice");
	assert_int_equal(r.targets[0].kind, TARGET_NAME);
	assert_string_equal(r.targets[0].pat.name, "db.example.local");
	assert_string_equal(r.text, "allow user alice to db.example.local");
	policy_rule_free(&r);
	parse_pair_ok("alice , 10.0.0.0/8 \r\n", ACCESS_USER, &r);
	assert_string_equal(r.text, "allow user alice to 10.0.0.0/8");
	policy_rule_free(&r);
	parse_pair_ok("alice,fd00::1\n", ACCESS_USER, &r);
	assert_string_equal(r.text, "allow user alice to fd00::1");
	policy_rule_free(&r);
}

static void
pair_comments_and_blank_lines(void **state)
{
	(void)state;
	assert_pair_skipped("# comment");
	assert_pair_skipped("# alice,192.168.0.10\n");
	assert_pair_skipped("  \t# indented comment\r\n");
	assert_pair_skipped("#");
	assert_pair_skipped("");
	assert_pair_skipped("\n");
	assert_pair_skipped("\r\n");
	assert_pair_skipped(" \t \r\n");
}

static void
pair_malformed(void **state)
{
	(void)state;
	assert_pair_error("alice", ACCESS_USER, PAIR_ERR);
	assert_pair_error("alice 192.168.0.10\n", ACCESS_USER, PAIR_ERR);
	assert_pair_error(",x", ACCESS_USER, PAIR_ERR);
	assert_pair_error("x,", ACCESS_USER, PAIR_ERR);
	assert_pair_error("x,\r\n", ACCESS_USER, PAIR_ERR);
	assert_pair_error(" , ", ACCESS_USER, PAIR_ERR);
	assert_pair_error(",", ACCESS_GROUP, PAIR_ERR);
	assert_pair_error("  ,db.example.local", ACCESS_GROUP, PAIR_ERR);
	assert_pair_error("dev,  \n", ACCESS_GROUP, PAIR_ERR);
}

static void
pair_bad_target(void **state)
{
	(void)state;
	assert_pair_error("alice,bad!name", ACCESS_USER, "target "
	    "pattern 'bad!name': not a host name, wildcard, address or CIDR");
	/* one target a line: a second comma is part of the target */
	assert_pair_error("alice,10.0.0.1,10.0.0.2", ACCESS_USER,
	    "target pattern '10.0.0.1,10.0.0.2': not a host name, wildcard, "
	    "address or CIDR");
	assert_pair_error("alice,db.example.local # note", ACCESS_USER,
	    "target pattern 'db.example.local # note': not a host "
	    "name, wildcard, address or CIDR");
	/* the recipe's file with a typo in an address: not a host name */
	assert_pair_error("carol,127.0.0.300", ACCESS_USER, "target "
	    "'127.0.0.300' looks like an address but is not one");
	assert_pair_error("carol , 10.0.1 ", ACCESS_USER, "target '10.0.1' "
	    "looks like an address but is not one");
}

static void
pair_name_too_long(void **state)
{
	char line[400];

	(void)state;
	/* 256 characters of name do not fit: an error, not a cut name */
	memset(line, 'a', 256);
	strcpy(line + 256, ",10.0.0.1");
	assert_pair_error(line, ACCESS_USER, PAIR_ERR);
	/* 255 do */
	memmove(line, line + 1, strlen(line));
	{
		struct access_rule r;

		parse_pair_ok(line, ACCESS_USER, &r);
		assert_int_equal(strlen(r.name), 255);
		policy_rule_free(&r);
	}
}

int
main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(parse_user_rule),
		T(parse_group_and_any_rules),
		T(parse_target_kinds),
		T(parse_usage_errors),
		T(parse_empty_name),
		T(parse_bad_target),
		T(parse_target_that_looks_like_an_address),
		T(parse_names_with_digits_stay_names),
		T(rule_free_clears),
		T(user_rule_matches_that_user),
		T(group_rule_matches_any_ou),
		T(any_rule_matches_everyone),
		T(no_rule_is_deny),
		T(deny_before_allow_order_decides),
		T(first_matching_target_decides),
		T(unusable_cn_never_matches_a_user_rule),
		T(user_names_compared_exactly),
		T(group_names_compared_exactly),
		T(comma_in_cn_never_matches_the_part_before),
		T(exact_name_target),
		T(name_target_is_case_insensitive),
		T(wildcard_target),
		T(name_target_never_matches_an_address_sni),
		T(cidr_target_ipv4),
		T(single_address_target),
		T(cidr_target_ipv6),
		T(mapped_destination_against_ipv4_cidr),
		T(star_target_matches_anything),
		T(address_rule_needs_destination),
		T(deny_address_rule_stops_the_walk),
		T(address_rule_of_someone_else_does_not_wait),
		T(name_target_decides_without_destination),
		T(star_target_decides_without_destination),
		T(name_only_rule_never_needs_destination),
		T(pair_user_address),
		T(pair_group_name),
		T(pair_blanks_around_parts),
		T(pair_crlf_line_ending),
		T(pair_comments_and_blank_lines),
		T(pair_malformed),
		T(pair_bad_target),
		T(pair_name_too_long),
	};
#undef T

	return cmocka_run_group_tests_name("policy", tests, NULL, NULL);
}
