/*
 * check: what no single line can say, once the whole config is read:
 * directives that must be there, directives that only make sense
 * together (errors), and what would run but not as written: routes
 * never used, a policy that lets no one through (warnings). Each names the line it is about.
 */
#include "config/parse.h"

/*
 * A route whose destination the client picks (resolve, direct) with
 * no allow-destination would relay anywhere the gateway can reach.
 */
static void
open_relays(struct parser *p)
{
	const struct conf *c = p->c;
	size_t i;

	if (c->dest.nallow > 0)
		return;
	for (i = 0; i < c->routes.n; i++) {
		const struct route *r = &c->routes.v[i];

		if (r->kind != ROUTE_STATIC)
			conf_error(p->errs, r->file, r->line, "route %s %s: no "
			    "allow-destination is given, so this route would "
			    "be an open relay; list the networks it may reach",
			    r->text, r->kind == ROUTE_DIRECT ? "direct" :
			    "resolve");
	}
}

/*
 * A route after one that takes every name it matches is never used:
 * the first match wins. Said once, naming the first such route.
 */
static void
shadowed_routes(struct parser *p)
{
	const struct route_table *t = &p->c->routes;
	size_t i, k;

	for (k = 1; k < t->n; k++) {
		for (i = 0; i < k; i++)
			if (route_covers(&t->v[i], &t->v[k]))
				break;
		if (i < k)
			conf_warning(p->errs, t->v[k].file, t->v[k].line, "route "
			    "%s: never used: route %s at %s:%d matches every "
			    "name it does", t->v[k].text, t->v[i].text,
			    t->v[i].file, t->v[i].line);
	}
}

/*
 * With client-ca, a client no rule allows is refused: without an allow
 * rule (none written, pairs files of comments only, or deny rules only)
 * the gateway refuses everyone. Not said when a rule was in error: that
 * is said already.
 */
static void
refuses_everyone(struct parser *p)
{
	const struct conf *c = p->c;
	size_t i;

	if (c->client_ca == NULL || p->access_bad > 0 || p->pairs.n > 0)
		return;		/* every pairs line is an allow rule */
	for (i = 0; i < c->policy.n; i++)
		if (c->policy.rules[i].allow)
			return;
	conf_warning(p->errs, c->client_ca_at.file, c->client_ca_at.line,
	    "no access rule allows anyone: every client will be refused "
	    "(add 'access allow any to *' to let every certificate holder "
	    "through)");
}

/* What applies to client certificates needs client-ca. */
static void
needs_client_ca(struct parser *p)
{
	const struct conf_at *at;

	if (p->c->client_ca != NULL)
		return;
	if (p->c->ncrls > 0)
		conf_error(p->errs, p->c->crls[0].file, p->c->crls[0].line,
		    "crl needs 'client-ca': it applies to client certificates");
	if ((at = conf_set(p, "expire-sessions")) != NULL)
		conf_error(p->errs, at->file, at->line, "expire-sessions needs "
		    "'client-ca': it applies to client certificates");
	if (p->first_access.file != NULL)
		conf_error(p->errs, p->first_access.file, p->first_access.line,
		    "access rules need 'client-ca': without client "
		    "certificates there is no user or group to match");
}

void
conf_check(struct parser *p, int read)
{
	size_t i;

	/* a missing directive, unless it was there but wrong */
	for (i = 0; read && i < conf_nkeywords; i++)
		if ((conf_keywords[i].flags & KW_REQUIRED) &&
		    p->seen[i].file == NULL)
			conf_error(p->errs, p->c->path, 0, "no '%s' directive: "
			    "%s", conf_keywords[i].name,
			    conf_keywords[i].missing);
	if (read)
		open_relays(p);
	shadowed_routes(p);
	refuses_everyone(p);
	needs_client_ca(p);
}
