/*
 * access: the directives about who may connect: client-ca, crl, and the
 * access policy (access rules, then the pairs files of the HAProxy
 * recipe after them).
 */
#include <stdlib.h>
#include <string.h>

#include "config/parse.h"

int
kw_client_ca(struct parser *p, const struct keyword *k,
    const struct conf_at *at, char **av, int ac)
{
	(void)k;
	(void)ac;
	if ((p->c->client_ca = conf_relative_to(at->file, av[1])) == NULL)
		return conf_oom(p, at);
	p->c->client_ca_at = *at;
	return 0;
}

int
kw_crl(struct parser *p, const struct keyword *k, const struct conf_at *at,
    char **av, int ac)
{
	struct conf_path *cp;

	(void)k;
	(void)ac;
	if ((cp = conf_grow(p->c->crls, p->c->ncrls, sizeof(*cp))) == NULL)
		return conf_oom(p, at);
	p->c->crls = cp;
	cp += p->c->ncrls++;
	cp->file = at->file;
	cp->line = at->line;
	if ((cp->path = conf_relative_to(at->file, av[1])) == NULL)
		return conf_oom(p, at);
	return 0;
}

/* Appends an empty rule to pol; the caller fills it and counts it. */
static struct access_rule *
add_rule(struct parser *p, struct policy *pol, const struct conf_at *at)
{
	struct access_rule *r = conf_grow(pol->rules, pol->n, sizeof(*r));

	if (r == NULL) {
		conf_oom(p, at);
		return NULL;
	}
	pol->rules = r;
	return &r[pol->n];
}

int
kw_access(struct parser *p, const struct keyword *k, const struct conf_at *at,
    char **av, int ac)
{
	struct access_rule *r;
	char err[300];

	(void)k;
	if (p->first_access.file == NULL)
		p->first_access = *at;
	if ((r = add_rule(p, &p->c->policy, at)) == NULL) {
		p->access_bad++;
		return -1;
	}
	switch (policy_parse_rule(av + 1, ac - 1, r, err, sizeof(err))) {
	case POLICY_PARSED:
		break;
	case POLICY_USAGE:
		conf_error(p->errs, at->file, at->line, "%s", err);
		p->access_bad++;
		return -1;
	case POLICY_BAD:
		conf_error(p->errs, at->file, at->line, "access: %s", err);
		p->access_bad++;
		return -1;
	}
	r->file = at->file;
	r->line = at->line;
	p->c->policy.n++;
	return 0;
}

struct pairs_read {
	enum access_who who;
	int bad;
};

/* One "NAME,TARGET" line of a pairs file. */
static void
pair_line(struct parser *p, const char *file, int line, char *text,
    size_t len, void *arg)
{
	const struct conf_at at = { file, line };
	struct pairs_read *pr = arg;
	struct access_rule *r;
	char err[300];
	int rc;

	(void)len;
	if ((r = add_rule(p, &p->pairs, &at)) == NULL) {
		pr->bad = -1;
		p->access_bad++;
		return;
	}
	if ((rc = policy_parse_pair(text, pr->who, r, err, sizeof(err))) ==
	    -1) {
		conf_error(p->errs, file, line, "access-pairs: %s", err);
		pr->bad = -1;
		p->access_bad++;
	} else if (rc == 1) {
		r->file = file;
		r->line = line;
		p->pairs.n++;
	}
}

/* access-pairs user|group FILE: the recipe's "NAME,TARGET" lines. */
int
kw_access_pairs(struct parser *p, const struct keyword *k,
    const struct conf_at *at, char **av, int ac)
{
	struct pairs_read pr = { ACCESS_USER, 0 };
	char *path;

	(void)k;
	(void)ac;
	if (p->first_access.file == NULL)
		p->first_access = *at;
	if (strcmp(av[1], "user") == 0)
		pr.who = ACCESS_USER;
	else if (strcmp(av[1], "group") == 0)
		pr.who = ACCESS_GROUP;
	else {
		conf_error(p->errs, at->file, at->line,
		    "usage: access-pairs user|group FILE");
		return -1;
	}
	if ((path = conf_relative_to(at->file, av[2])) == NULL)
		return conf_oom(p, at);
	if (conf_read_lines(p, path, at, "access-pairs", "access-pairs: ",
	    pair_line, &pr) == -1)
		pr.bad = -1;
	free(path);
	return pr.bad;
}
