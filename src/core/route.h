/*
 * route: SNI patterns and the ordered route table. Pure: no I/O; the
 * rotating start index is the only shared mutable state (an atomic).
 */
#ifndef SSHGATE_ROUTE_H
#define SSHGATE_ROUTE_H

#include <stdatomic.h>
#include <stddef.h>

#include "core/addr.h"

/* Longest SNI host name accepted (RFC 1035 limit). */
#define ROUTE_SNI_MAX 255

enum pattern_kind {
	PATTERN_ANY = 0,	/* "*": anything */
	PATTERN_EXACT,		/* "db7.example.local", case-insensitive */
	PATTERN_SUFFIX,		/* "*.example.local": one or more labels */
	PATTERN_CIDR,		/* "10.0.0.0/8", "::1": an SNI that is a literal */
};

struct pattern {
	enum pattern_kind kind;
	char *name;		/* EXACT: lower-case name; SUFFIX: ".example.local" */
	size_t namelen;
	struct cidr cidr;
};

enum route_kind {
	ROUTE_STATIC = 0,	/* route P to HOST:PORT... */
	ROUTE_DIRECT,		/* route P direct: the SNI literal is the host */
	ROUTE_RESOLVE,		/* route P resolve: the SNI name is resolved */
};

struct route_server {
	char *host;		/* as written, for logs */
	unsigned port;
	struct addr addr;	/* a literal HOST; names: len 0, resolved at connect */
};

struct route {
	char *text;		/* the pattern as written, for logs */
	struct pattern pat;
	enum route_kind kind;
	struct route_server *servers;	/* ROUTE_STATIC */
	size_t nservers;
	unsigned port;			/* ROUTE_DIRECT, ROUTE_RESOLVE */
	int send_proxy;			/* a PROXY v2 header to the server */
	int passthrough;		/* ROUTE_STATIC only: TLS not
					   terminated, bytes relayed untouched */
	char **alpn;			/* passthrough: the client must offer
					   one of these (none: any or no ALPN) */
	size_t nalpn;
	atomic_uint next;		/* rotating start among servers */
	const char *file;		/* where it was written */
	int line;
};

struct route_table {
	struct route *v;
	size_t n;
};

/*
 * Parses a pattern into p (p->name is allocated: free with pattern_free).
 * Returns 0, or -1 with a reason in err.
 */
int pattern_parse(const char *s, struct pattern *p, char *err, size_t errlen);
void pattern_free(struct pattern *p);

/*
 * Returns 1 if the normalized SNI matches. A CIDR pattern matches only an
 * SNI that is an address literal; a name pattern never matches a literal.
 */
int pattern_match(const struct pattern *p, const char *sni);

/*
 * Returns 1 if a matches every SNI that b matches (a covers b: "*"
 * covers anything, *.example.local covers db.example.local and
 * *.a.example.local, 10.0.0.0/8 covers 10.1.0.0/16, a pattern covers
 * itself); else 0. Family for family: an IPv4 range is not said to
 * cover the IPv4-mapped IPv6 range it also matches.
 */
int pattern_covers(const struct pattern *a, const struct pattern *b);

/*
 * Returns 1 if route a, before route b in the table, takes every
 * ClientHello that b would: then b is never used. As pattern_covers; a
 * direct route only covers what is an address literal anyway; a route
 * with an ALPN list covers only routes whose list is within it; and a
 * terminated route never covers a passthrough `*`, which also takes
 * ClientHellos without a name.
 */
int route_covers(const struct route *a, const struct route *b);

/*
 * Normalizes a client's SNI into out[ROUTE_SNI_MAX + 1]: lower case, one
 * trailing dot removed. Accepts letters, digits, '-', '_', '.' and, for
 * IPv6 literals, ':'. Returns 0, or -1 if the name is empty, too long or
 * holds any other byte.
 */
int route_normalize_sni(const char *in, char *out);

/*
 * Returns the first route that terminates TLS matching the normalized
 * SNI, or NULL. A direct route matches only an SNI that is an address
 * literal. Passthrough routes are skipped: this is the choice made
 * inside the TLS handshake, once route_match_hello chose TLS.
 */
struct route *route_match(const struct route_table *t, const char *sni);

/*
 * Returns the first route, of either mode, matching a ClientHello read
 * before TLS: its normalized SNI (NULL: it sent none) and the ALPN
 * protocols it offers (nalpn of them). A passthrough route with an ALPN
 * list needs one of them offered; without a name only a passthrough `*`
 * matches (terminated routes refuse a ClientHello without a name).
 * NULL: none matches.
 */
struct route *route_match_hello(const struct route_table *t, const char *sni,
    const char *const *alpn, size_t nalpn);

/* 1 if one of the offered protocols is in r's ALPN list, or r has none. */
int route_alpn_match(const struct route *r, const char *const *alpn,
    size_t nalpn);

/*
 * Returns the server index a new connection starts with: rotates over
 * the servers so that load spreads. Safe from any thread.
 */
size_t route_first_server(struct route *r);

/* Frees everything the table holds (not the table itself). */
void route_table_free(struct route_table *t);

#endif
