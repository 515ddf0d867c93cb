/*
 * routes: the directives that say where connections go: route (static
 * servers, direct, resolve), resolver, and the destination ranges
 * client-chosen routes may reach.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config/parse.h"
#include "core/util.h"

/* The servers of a static route: av[first..] = HOST:PORT... [send-proxy] */
static int
route_servers(struct parser *p, const struct conf_at *at, struct route *r,
    char **av, int ac, int first)
{
	char err[256], host[256];
	int i;

	if ((r->servers = calloc((size_t)(ac - first), sizeof(*r->servers))) ==
	    NULL)
		return conf_oom(p, at);
	for (i = first; i < ac; i++) {
		struct route_server *s = &r->servers[r->nservers];

		if (strcmp(av[i], "send-proxy") == 0) {
			if (i != ac - 1 || r->nservers == 0) {
				conf_error(p->errs, at->file, at->line, "route "
				    "%s: send-proxy goes after the servers",
				    av[1]);
				return -1;
			}
			r->send_proxy = 1;
			continue;
		}
		if (addr_split(av[i], host, sizeof(host), &s->port, err,
		    sizeof(err)) == -1) {
			conf_error(p->errs, at->file, at->line, "route %s: %s",
			    av[1], err);
			return -1;
		}
		if ((s->host = strdup(host)) == NULL)
			return conf_oom(p, at);
		r->nservers++;
		/* literals now; names are resolved when connecting */
		(void)addr_parse_ip(host, s->port, &s->addr);
	}
	return 0;
}

/*
 * The ALPN list of a passthrough route: "h2,http/1.1". Each name as a
 * ClientHello carries it (1-64 bytes of letters, digits and -_./+ : no
 * blank, comma or quote), at most ROUTE_ALPN_MAX of them.
 */
#define ROUTE_ALPN_MAX 16
static int
alpn_char_ok(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9') || strchr("-_./+", ch) != NULL;
}

static int
route_alpn(struct parser *p, const struct conf_at *at, struct route *r,
    const char *pat, const char *list)
{
	const char *s = list, *e;
	size_t n, i;

	if ((r->alpn = calloc(ROUTE_ALPN_MAX, sizeof(*r->alpn))) == NULL)
		return conf_oom(p, at);
	for (;;) {
		e = strchr(s, ',');
		n = e != NULL ? (size_t)(e - s) : strlen(s);
		for (i = 0; i < n; i++)
			if (!alpn_char_ok((unsigned char)s[i]))
				break;
		if (n == 0 || n > 64 || i < n) {
			conf_error(p->errs, at->file, at->line, "route %s alpn: "
			    "'%s' is not a list of protocol names (such as "
			    "h2,http/1.1: 1-64 letters, digits or -_./+ each, "
			    "separated by commas)", pat, list);
			return -1;
		}
		if (r->nalpn == ROUTE_ALPN_MAX) {
			conf_error(p->errs, at->file, at->line, "route %s alpn: "
			    "more than %d protocols", pat, ROUTE_ALPN_MAX);
			return -1;
		}
		if ((r->alpn[r->nalpn] = strndup(s, n)) == NULL)
			return conf_oom(p, at);
		r->nalpn++;
		if (e == NULL)
			return 0;
		s = e + 1;
	}
}

/*
 * route PATTERN [alpn LIST] passthrough to HOST:PORT... [send-proxy]:
 * where the servers start (av[first]), or 0 if it is not that shape.
 */
static int
passthrough_shape(char **av, int ac)
{
	int i = 2;

	if (strcmp(av[i], "alpn") == 0)
		i += 2;
	if (i + 2 < ac && strcmp(av[i], "passthrough") == 0 &&
	    strcmp(av[i + 1], "to") == 0)
		return i + 2;
	return 0;
}

int
kw_route(struct parser *p, const struct keyword *k, const struct conf_at *at,
    char **av, int ac)
{
	enum route_kind kind;
	unsigned long port = 22;
	struct route *r;
	char err[256];
	int first = 3, pass = 0;

	(void)k;
	if (ac >= 5 && (pass = passthrough_shape(av, ac)) > 0) {
		kind = ROUTE_STATIC;
		first = pass;
	} else if (strcmp(av[2], "alpn") == 0) {
		conf_error(p->errs, at->file, at->line, "route %s alpn: an ALPN "
		    "list goes with passthrough: route PATTERN alpn "
		    "PROTO[,PROTO...] passthrough to HOST:PORT...", av[1]);
		return -1;
	} else if (strcmp(av[2], "to") == 0 && ac >= 4)
		kind = ROUTE_STATIC;
	else if ((strcmp(av[2], "direct") == 0 ||
	    strcmp(av[2], "resolve") == 0) && (ac == 3 ||
	    (ac == 5 && strcmp(av[3], "port") == 0))) {
		kind = av[2][0] == 'd' ? ROUTE_DIRECT : ROUTE_RESOLVE;
		if (ac == 5 && util_parse_uint(av[4], 1, 65535, &port) == -1) {
			conf_error(p->errs, at->file, at->line, "route %s %s: "
			    "port must be 1-65535, got '%s'", av[1], av[2],
			    av[4]);
			return -1;
		}
	} else {
		conf_error(p->errs, at->file, at->line, "usage: route PATTERN "
		    "to HOST:PORT... | route PATTERN resolve [port N] | route "
		    "PATTERN direct [port N] | route PATTERN [alpn "
		    "PROTO[,PROTO...]] passthrough to HOST:PORT...");
		return -1;
	}
	if ((r = conf_grow(p->c->routes.v, p->c->routes.n, sizeof(*r))) ==
	    NULL)
		return conf_oom(p, at);
	p->c->routes.v = r;
	r += p->c->routes.n++;
	r->file = at->file;
	r->line = at->line;
	r->kind = kind;
	r->port = (unsigned)port;
	if ((r->text = strdup(av[1])) == NULL)
		return conf_oom(p, at);
	if (pattern_parse(av[1], &r->pat, err, sizeof(err)) == -1) {
		conf_error(p->errs, at->file, at->line, "route: %s", err);
		/* no pattern: not a route that could shadow others */
		free(r->text);
		p->c->routes.n--;
		return -1;
	}
	if (kind == ROUTE_DIRECT && (r->pat.kind == PATTERN_EXACT ||
	    r->pat.kind == PATTERN_SUFFIX)) {
		conf_error(p->errs, at->file, at->line, "route %s direct: a "
		    "direct route takes an address, a CIDR or *, not a name",
		    av[1]);
		return -1;
	}
	if (pass > 0) {
		r->passthrough = 1;
		p->c->has_passthrough = 1;
		if (pass == 6 && route_alpn(p, at, r, av[1], av[3]) == -1)
			return -1;
	}
	return kind == ROUTE_STATIC ? route_servers(p, at, r, av, ac, first) :
	    0;
}

/* resolver ADDR[:PORT] | resolver system: kept as "ADDR:PORT,..." */
int
kw_resolver(struct parser *p, const struct keyword *k,
    const struct conf_at *at, char **av, int ac)
{
	char host[256], err[256], entry[300], *csv;
	unsigned port = 53;
	struct addr a;
	size_t have;

	(void)k;
	(void)ac;
	if (strcmp(av[1], "system") == 0) {
		if (p->c->resolvers != NULL) {
			conf_error(p->errs, at->file, at->line, "resolver system: "
			    "cannot be mixed with resolver addresses");
			return -1;
		}
		p->resolver_system = 1;
		return 0;
	}
	if (p->resolver_system) {
		conf_error(p->errs, at->file, at->line, "resolver %s: cannot be "
		    "mixed with 'resolver system'", av[1]);
		return -1;
	}
	/* "ADDR", "V4:PORT", "[V6]:PORT", or a bare IPv6 address */
	if (addr_parse_ip(av[1], 53, &a) == 0)
		util_strlcpy(host, av[1], sizeof(host));
	else if (addr_split(av[1], host, sizeof(host), &port, err,
	    sizeof(err)) == -1 || addr_parse_ip(host, port, &a) == -1) {
		conf_error(p->errs, at->file, at->line, "resolver: '%s' is not an "
		    "address (ADDR, ADDR:PORT, [IPV6]:PORT) or 'system'", av[1]);
		return -1;
	}
	snprintf(entry, sizeof(entry), a.ss.ss_family == AF_INET6 ?
	    "[%s]:%u" : "%s:%u", host, port);
	have = p->c->resolvers != NULL ? strlen(p->c->resolvers) : 0;
	if ((csv = realloc(p->c->resolvers, have + strlen(entry) + 2)) == NULL)
		return conf_oom(p, at);
	if (have > 0)
		csv[have++] = ',';
	strcpy(csv + have, entry);
	p->c->resolvers = csv;
	return 0;
}

/* One range for allow-destination (allow) or deny-destination. */
static int
add_destination(struct parser *p, const struct conf_at *at, int allow,
    const struct cidr *c)
{
	struct dest_policy *d = &p->c->dest;
	size_t n = allow ? d->nallow : d->ndeny;
	struct conf_at *where;
	struct cidr *v;

	if ((v = conf_grow(allow ? d->allow : d->deny, n, sizeof(*v))) == NULL)
		return conf_oom(p, at);
	if (allow)
		d->allow = v;
	else
		d->deny = v;
	if ((where = conf_grow(allow ? p->c->allow_at : p->c->deny_at, n,
	    sizeof(*where))) == NULL)
		return conf_oom(p, at);
	where[n] = *at;
	v[n] = *c;
	if (allow) {
		p->c->allow_at = where;
		d->nallow++;
	} else {
		p->c->deny_at = where;
		d->ndeny++;
	}
	return 0;
}

/* allow-destination / deny-destination CIDR... */
int
kw_destination(struct parser *p, const struct keyword *k,
    const struct conf_at *at, char **av, int ac)
{
	int allow = strcmp(k->name, "allow-destination") == 0, i, bad = 0;
	struct cidr c;

	for (i = 1; i < ac; i++) {
		if (cidr_parse(av[i], &c) == -1) {
			conf_error(p->errs, at->file, at->line, "%s: '%s' is not "
			    "an address or CIDR", av[0], av[i]);
			bad = -1;
		} else if (add_destination(p, at, allow, &c) == -1)
			return -1;
	}
	return bad;
}
