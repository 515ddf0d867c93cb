#include "core/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

/*
 * Two or more labels of digits only ("127.0.0.300", "10.0.0",
 * "1.2.3.4.5", a trailing dot allowed): meant as an address. As a host
 * name it would match no SNI anyone sends, and no destination either.
 */
static int
looks_like_address(const char *s)
{
	size_t i, n = strlen(s), labels = 1;

	if (n > 1 && s[n - 1] == '.')
		n--;
	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.')
				return 0;
			labels++;
		} else if (s[i] < '0' || s[i] > '9')
			return 0;
	}
	return labels >= 2;
}

static int
target_parse(const char *s, struct access_target *t, char *err, size_t errlen)
{
	memset(t, 0, sizeof(*t));
	if (strcmp(s, "*") == 0) {
		t->kind = TARGET_ANY;
		return 0;
	}
	if (cidr_parse(s, &t->cidr) == 0) {
		t->kind = TARGET_CIDR;
		return 0;
	}
	if (looks_like_address(s)) {
		snprintf(err, errlen, "'%s' looks like an address but is not "
		    "one", s);
		return -1;
	}
	if (pattern_parse(s, &t->pat, err, errlen) == -1)
		return -1;
	t->kind = TARGET_NAME;
	return 0;
}

static int
who_matches(const struct access_rule *r, const struct identity *id)
{
	size_t i;

	switch (r->who) {
	case ACCESS_ANY:
		return 1;
	case ACCESS_USER:
		return id->user != NULL && strcmp(id->user, r->name) == 0;
	case ACCESS_GROUP:
		for (i = 0; i < id->ngroups; i++)
			if (strcmp(id->groups[i], r->name) == 0)
				return 1;
		return 0;
	}
	return 0;
}

enum policy_verdict
policy_decide(const struct policy *p, const struct identity *id,
    const char *sni, const struct addr *dst, const struct access_rule **rule)
{
	size_t i, j;

	*rule = NULL;
	for (i = 0; i < p->n; i++) {
		const struct access_rule *r = &p->rules[i];
		int need_dst = 0;

		if (!who_matches(r, id))
			continue;
		for (j = 0; j < r->ntargets; j++) {
			const struct access_target *t = &r->targets[j];
			int hit = 0;

			switch (t->kind) {
			case TARGET_ANY:
				hit = 1;
				break;
			case TARGET_NAME:
				hit = pattern_match(&t->pat, sni);
				break;
			case TARGET_CIDR:
				if (dst == NULL)
					need_dst = 1;
				else
					hit = cidr_match(&t->cidr, dst);
				break;
			}
			if (hit) {
				*rule = r;
				return r->allow ? POLICY_ALLOW : POLICY_DENY;
			}
		}
		if (need_dst) {
			*rule = r;
			return POLICY_NEED_DST;
		}
	}
	return POLICY_DENY;
}

static char *
join(char **av, int ac)
{
	size_t n = 0;
	int i;
	char *s;

	for (i = 0; i < ac; i++)
		n += strlen(av[i]) + 1;
	if ((s = malloc(n + 1)) == NULL)
		return NULL;
	s[0] = '\0';
	for (i = 0; i < ac; i++) {
		if (i > 0)
			strcat(s, " ");
		strcat(s, av[i]);
	}
	return s;
}

enum policy_parse
policy_parse_rule(char **av, int ac, struct access_rule *r, char *err,
    size_t errlen)
{
	int i = 1, k;

	memset(r, 0, sizeof(*r));
	if (ac < 1 || (strcmp(av[0], "allow") != 0 &&
	    strcmp(av[0], "deny") != 0))
		goto usage;
	r->allow = av[0][0] == 'a';
	if (ac > 2 && strcmp(av[1], "user") == 0)
		r->who = ACCESS_USER;
	else if (ac > 2 && strcmp(av[1], "group") == 0)
		r->who = ACCESS_GROUP;
	else if (ac > 1 && strcmp(av[1], "any") == 0)
		r->who = ACCESS_ANY;
	else
		goto usage;
	if (r->who != ACCESS_ANY) {
		if (av[2][0] == '\0') {
			snprintf(err, errlen, "empty %s name", av[1]);
			return POLICY_BAD;
		}
		if ((r->name = strdup(av[2])) == NULL)
			goto oom;
		i = 3;
	} else
		i = 2;
	if (i >= ac || strcmp(av[i], "to") != 0 || i + 1 >= ac)
		goto usage;
	i++;
	r->targets = calloc((size_t)(ac - i), sizeof(*r->targets));
	if (r->targets == NULL || (r->text = join(av, ac)) == NULL)
		goto oom;
	for (k = i; k < ac; k++) {
		if (target_parse(av[k], &r->targets[r->ntargets], err,
		    errlen) == -1) {
			char why[200];

			util_strlcpy(why, err, sizeof(why));
			snprintf(err, errlen, "target %s", why);
			policy_rule_free(r);
			return POLICY_BAD;
		}
		r->ntargets++;
	}
	return POLICY_PARSED;
usage:
	policy_rule_free(r);
	snprintf(err, errlen, "usage: %s", POLICY_RULE_USAGE);
	return POLICY_USAGE;
oom:
	policy_rule_free(r);
	snprintf(err, errlen, "out of memory");
	return POLICY_BAD;
}

/* Trims blanks at both ends of s[0..n); returns the new length. */
static size_t
trim(const char **s, size_t n)
{
	while (n > 0 && (**s == ' ' || **s == '\t')) {
		(*s)++;
		n--;
	}
	while (n > 0 && ((*s)[n - 1] == ' ' || (*s)[n - 1] == '\t' ||
	    (*s)[n - 1] == '\r' || (*s)[n - 1] == '\n'))
		n--;
	return n;
}

int
policy_parse_pair(const char *line, enum access_who who,
    struct access_rule *r, char *err, size_t errlen)
{
	char name[256], target[300];
	char *av[6];
	const char *a = line, *b, *comma;
	size_t na, nb;

	memset(r, 0, sizeof(*r));
	na = trim(&a, strlen(line));
	if (na == 0 || a[0] == '#')
		return 0;
	if ((comma = memchr(a, ',', na)) == NULL) {
		snprintf(err, errlen, "expected NAME,TARGET");
		return -1;
	}
	b = comma + 1;
	nb = trim(&b, na - (size_t)(b - a));
	na = trim(&a, (size_t)(comma - a));
	if (na == 0 || nb == 0 || na >= sizeof(name) || nb >= sizeof(target)) {
		snprintf(err, errlen, "expected NAME,TARGET");
		return -1;
	}
	memcpy(name, a, na);
	name[na] = '\0';
	memcpy(target, b, nb);
	target[nb] = '\0';
	av[0] = "allow";
	av[1] = who == ACCESS_GROUP ? "group" : "user";
	av[2] = name;
	av[3] = "to";
	av[4] = target;
	return policy_parse_rule(av, 5, r, err, errlen) == POLICY_PARSED ? 1 :
	    -1;
}

void
policy_rule_free(struct access_rule *r)
{
	size_t i;

	for (i = 0; i < r->ntargets; i++)
		pattern_free(&r->targets[i].pat);
	free(r->targets);
	free(r->name);
	free(r->text);
	memset(r, 0, sizeof(*r));
}

void
policy_free(struct policy *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		policy_rule_free(&p->rules[i]);
	free(p->rules);
	p->rules = NULL;
	p->n = 0;
}
