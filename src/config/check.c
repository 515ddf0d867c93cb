/*
 * check: what no single line can say, once the whole config is read:
 * directives that must be there, directives that only make sense
 * together (errors), and what would run but not as written: routes
 * never used, a policy that lets no one through (warnings). Each names
 * the line it is about.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/parse.h"
#include "core/util.h"

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
 * Names of routes (exact names, and wildcards by their ".suffix") to the
 * first route giving each: so that a table of many thousand routes is
 * checked in one pass, not each route against every earlier one.
 */
struct name_index {
	const char **name;	/* NULL: free slot */
	size_t *first;
	size_t mask;		/* slots - 1, a power of two */
};

static int
index_init(struct name_index *x, size_t n)
{
	size_t slots = 16;

	while (slots < 2 * n)
		slots *= 2;
	x->mask = slots - 1;
	x->name = calloc(slots, sizeof(*x->name));
	x->first = calloc(slots, sizeof(*x->first));
	return x->name != NULL && x->first != NULL ? 0 : -1;
}

static size_t
index_slot(const struct name_index *x, const char *name, size_t len)
{
	unsigned h = UTIL_HASH_INIT;
	size_t i, slot;

	for (i = 0; i < len; i++)
		h = util_hash_byte(h, (unsigned char)name[i]);
	for (slot = h & x->mask; x->name[slot] != NULL; slot = (slot + 1) &
	    x->mask)
		if (strlen(x->name[slot]) == len &&
		    memcmp(x->name[slot], name, len) == 0)
			break;
	return slot;
}

/* The first route named name[0..len), or SIZE_MAX. */
static size_t
index_find(const struct name_index *x, const char *name, size_t len)
{
	size_t slot = index_slot(x, name, len);

	return x->name[slot] != NULL ? x->first[slot] : SIZE_MAX;
}

/* Keeps route i under name, unless an earlier route has it. */
static void
index_add(struct name_index *x, const char *name, size_t i)
{
	size_t slot = index_slot(x, name, strlen(name));

	if (x->name[slot] == NULL) {
		x->name[slot] = name;
		x->first[slot] = i;
	}
}

static void
index_free(struct name_index *x)
{
	free(x->name);
	free(x->first);
}

/*
 * The first of routes v[0..k) that covers v[k] (route_covers decides;
 * the indexes only say which routes may): a catch-all, a range, the
 * same exact name, or a wildcard whose suffix ends v[k]'s name at a
 * label. k if none.
 */
static size_t
first_cover(const struct route *v, size_t k, const struct name_index *exact,
    const struct name_index *suffix, const size_t *wide, size_t nwide)
{
	const struct pattern *b = &v[k].pat;
	const char *dot;
	size_t i, best = k;

	for (i = 0; i < nwide && wide[i] < best; i++)
		if (route_covers(&v[wide[i]], &v[k]))
			best = wide[i];
	if (b->kind == PATTERN_EXACT) {
		i = index_find(exact, b->name, b->namelen);
		if (i < best && route_covers(&v[i], &v[k]))
			best = i;
	}
	if (b->kind != PATTERN_EXACT && b->kind != PATTERN_SUFFIX)
		return best;
	/* b's own suffix ("*.a.b" and "*.a.b"), then each shorter one */
	for (dot = b->kind == PATTERN_SUFFIX ? b->name : strchr(b->name, '.');
	    dot != NULL; dot = strchr(dot + 1, '.')) {
		i = index_find(suffix, dot, strlen(dot));
		if (i < best && route_covers(&v[i], &v[k]))
			best = i;
	}
	return best;
}

/*
 * A route after one that takes every name it matches is never used:
 * the first match wins. Said once, naming the first such route.
 */
static void
shadowed_routes(struct parser *p)
{
	const struct route_table *t = &p->c->routes;
	struct name_index exact, suffix;
	size_t *wide, nwide = 0, i, k;

	wide = calloc(t->n + 1, sizeof(*wide));	/* catch-alls and ranges */
	if (wide == NULL || index_init(&exact, t->n) == -1 ||
	    index_init(&suffix, t->n) == -1) {
		conf_oom(p, &(struct conf_at){ p->c->path, 0 });
		goto out;
	}
	for (k = 0; k < t->n; k++) {
		const struct route *r = &t->v[k];

		if (k > 0 && (i = first_cover(t->v, k, &exact, &suffix, wide,
		    nwide)) < k)
			conf_warning(p->errs, r->file, r->line, "route %s: never "
			    "used: route %s at %s:%d matches every name it does",
			    r->text, t->v[i].text, t->v[i].file, t->v[i].line);
		if (r->pat.kind == PATTERN_EXACT)
			index_add(&exact, r->pat.name, k);
		else if (r->pat.kind == PATTERN_SUFFIX)
			index_add(&suffix, r->pat.name, k);
		else
			wide[nwide++] = k;
	}
out:
	free(wide);
	index_free(&exact);
	index_free(&suffix);
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

/* The port of a, as text ("22"). */
static const char *
port_of(const struct addr *a, char *buf, size_t len)
{
	const char *colon;

	addr_format(a, buf, len);
	colon = strrchr(buf, ':');
	return colon != NULL ? colon + 1 : "";
}

/*
 * 1 if connecting to s reaches listener l: the same address, or, for a
 * listener on every address, a loopback or unspecified one on its port.
 */
static int
loops_back(const struct conf_listen *l, const struct addr *s)
{
	char lp[ADDR_TEXT_MAX], sp[ADDR_TEXT_MAX], ip[ADDR_TEXT_MAX];
	struct cidr loop4, loop6;
	struct addr any;

	if (addr_equal(&l->addr, s))
		return 1;
	if (strcmp(port_of(&l->addr, lp, sizeof(lp)),
	    port_of(s, sp, sizeof(sp))) != 0)
		return 0;
	addr_format_ip(&l->addr, ip, sizeof(ip));
	if (addr_parse_ip(ip, 0, &any) == -1 ||
	    (strcmp(ip, "0.0.0.0") != 0 && strcmp(ip, "::") != 0))
		return 0;	/* a listener on one address only */
	addr_format_ip(s, ip, sizeof(ip));
	(void)cidr_parse("127.0.0.0/8", &loop4);
	(void)cidr_parse("::1", &loop6);
	return cidr_match(&loop4, s) || cidr_match(&loop6, s) ||
	    strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0;
}

/*
 * A passthrough route to the gateway's own listener: its ClientHello
 * would be routed to it again, and again, each time with a new
 * connection, until the gateway runs out of them.
 */
static void
passthrough_loops(struct parser *p)
{
	const struct conf *c = p->c;
	char text[ADDR_TEXT_MAX];
	size_t i, j, k;

	for (i = 0; i < c->routes.n; i++) {
		const struct route *r = &c->routes.v[i];

		for (j = 0; r->passthrough && j < r->nservers; j++) {
			if (r->servers[j].addr.len == 0)
				continue;	/* a name: not known here */
			for (k = 0; k < c->nlistens; k++) {
				if (!loops_back(&c->listens[k],
				    &r->servers[j].addr))
					continue;
				addr_format(&r->servers[j].addr, text,
				    sizeof(text));
				conf_error(p->errs, r->file, r->line, "route %s "
				    "passthrough: %s is this gateway's own "
				    "listen at %s:%d: each connection would be "
				    "passed to the gateway again, without end",
				    r->text, text, c->listens[k].file,
				    c->listens[k].line);
				break;
			}
		}
	}
}

/*
 * A passthrough client shows the gateway no certificate: with
 * client-ca it is judged as nobody, so that only `access ... any` rules
 * can match it. Without an allow rule for `any`, each passthrough route
 * refuses every client.
 */
static void
passthrough_unreachable(struct parser *p)
{
	const struct conf *c = p->c;
	size_t i;

	if (c->client_ca == NULL || p->access_bad > 0)
		return;
	for (i = 0; i < c->policy.n; i++)
		if (c->policy.rules[i].allow &&
		    c->policy.rules[i].who == ACCESS_ANY)
			return;
	for (i = 0; i < c->routes.n; i++) {
		const struct route *r = &c->routes.v[i];

		if (r->passthrough)
			conf_warning(p->errs, r->file, r->line, "route %s "
			    "passthrough: a passthrough client shows no "
			    "certificate, so with client-ca only 'access ... "
			    "any' rules apply to it, and none allows: every "
			    "such client will be refused (add 'access allow "
			    "any to %s')", r->text, r->text);
	}
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

/* Keys for tickets that are never issued: probably not what was meant. */
static void
unused_ticket_keys(struct parser *p)
{
	const struct conf *c = p->c;
	const struct conf_at *at = conf_set(p, "tls-tickets");

	if (c->ticket_keys == NULL || c->tls_tickets || at == NULL)
		return;
	conf_warning(p->errs, c->ticket_keys_at.file, c->ticket_keys_at.line,
	    "tls-ticket-keys is unused: no ticket is issued or resumed "
	    "('tls-tickets no' at %s:%d)", at->file, at->line);
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
	if (read) {
		open_relays(p);
		passthrough_loops(p);
	}
	shadowed_routes(p);
	refuses_everyone(p);
	passthrough_unreachable(p);
	needs_client_ca(p);
	unused_ticket_keys(p);
}
