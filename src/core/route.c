#include "core/route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int
name_char_ok(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	    ch == '-' || ch == '_' || ch == '.';
}

static void
lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* A literal SNI: an IPv4 or IPv6 address as text. */
static int
is_literal(const char *s, struct addr *a)
{
	return addr_parse_ip(s, 0, a) == 0;
}

/*
 * A host name as sshgate accepts it: labels of letters, digits, '-' and
 * '_' (already lower case), separated by single dots, none empty.
 */
static int
host_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!name_char_ok((unsigned char)s[i]) ||
		    (s[i] == '.' && s[i + 1] == '.'))
			return 0;
	return 1;
}

int
pattern_parse(const char *s, struct pattern *p, char *err, size_t errlen)
{
	const char *name = s;
	size_t n = strlen(s);

	memset(p, 0, sizeof(*p));
	if (strcmp(s, "*") == 0) {
		p->kind = PATTERN_ANY;
		return 0;
	}
	if (cidr_parse(s, &p->cidr) == 0) {
		p->kind = PATTERN_CIDR;
		return 0;
	}
	if (n > ROUTE_SNI_MAX) {
		snprintf(err, errlen, "pattern '%.40s...' is too long", s);
		return -1;
	}
	if (s[0] == '*') {
		if (s[1] != '.' || s[2] == '\0') {
			snprintf(err, errlen,
			    "pattern '%s': a wildcard is written *.suffix", s);
			return -1;
		}
		p->kind = PATTERN_SUFFIX;
		name++;		/* keep the dot: ".example.local" */
		n--;
	} else
		p->kind = PATTERN_EXACT;
	if ((p->name = strdup(name)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	lower(p->name);
	if (n > 1 && p->name[n - 1] == '.')	/* the root's dot */
		p->name[--n] = '\0';
	if (p->kind == PATTERN_SUFFIX ? !host_name_ok(p->name + 1, n - 1) :
	    !host_name_ok(p->name, n)) {
		snprintf(err, errlen, "pattern '%s': not a host name, "
		    "wildcard, address or CIDR", s);
		pattern_free(p);
		return -1;
	}
	p->namelen = n;
	return 0;
}

void
pattern_free(struct pattern *p)
{
	free(p->name);
	p->name = NULL;
}

int
pattern_match(const struct pattern *p, const char *sni)
{
	struct addr a;
	size_t n;

	switch (p->kind) {
	case PATTERN_ANY:
		return 1;
	case PATTERN_CIDR:
		return is_literal(sni, &a) && cidr_match(&p->cidr, &a);
	case PATTERN_EXACT:
		return strcmp(sni, p->name) == 0 && !is_literal(sni, &a);
	case PATTERN_SUFFIX:
		n = strlen(sni);
		/* at least one character of label before the suffix */
		return n > p->namelen &&
		    memcmp(sni + n - p->namelen, p->name, p->namelen) == 0 &&
		    sni[n - p->namelen - 1] != '.' && !is_literal(sni, &a);
	}
	return 0;
}

/* Does range a hold every address of range b (the same family)? */
static int
cidr_covers(const struct cidr *a, const struct cidr *b)
{
	unsigned full = a->prefix / 8, rest = a->prefix % 8;

	if (a->family != b->family || a->prefix > b->prefix)
		return 0;
	if (memcmp(a->bytes, b->bytes, full) != 0)
		return 0;
	return rest == 0 || ((a->bytes[full] ^ b->bytes[full]) &
	    (unsigned char)(0xff00u >> rest)) == 0;
}

int
pattern_covers(const struct pattern *a, const struct pattern *b)
{
	switch (a->kind) {
	case PATTERN_ANY:
		return 1;
	case PATTERN_CIDR:
		return b->kind == PATTERN_CIDR && cidr_covers(&a->cidr, &b->cidr);
	case PATTERN_EXACT:
		return b->kind == PATTERN_EXACT && strcmp(a->name, b->name) == 0;
	case PATTERN_SUFFIX:
		/* b's one name, or every name under b's suffix */
		if (b->kind == PATTERN_EXACT)
			return pattern_match(a, b->name);
		return b->kind == PATTERN_SUFFIX && b->namelen >= a->namelen &&
		    memcmp(b->name + b->namelen - a->namelen, a->name,
		    a->namelen) == 0;
	}
	return 0;
}

/* 1 if every protocol of b's list is in a's (b has a list). */
static int
alpn_within(const struct route *a, const struct route *b)
{
	size_t i, j;

	for (i = 0; i < b->nalpn; i++) {
		for (j = 0; j < a->nalpn; j++)
			if (strcmp(a->alpn[j], b->alpn[i]) == 0)
				break;
		if (j == a->nalpn)
			return 0;
	}
	return b->nalpn > 0;
}

int
route_covers(const struct route *a, const struct route *b)
{
	/* a direct route lets names pass: it covers literals only */
	if (a->kind == ROUTE_DIRECT && b->kind != ROUTE_DIRECT &&
	    b->pat.kind != PATTERN_CIDR)
		return 0;
	/* a ClientHello without a name: only a passthrough * takes it */
	if (!a->passthrough && b->passthrough && b->pat.kind == PATTERN_ANY)
		return 0;
	if (a->nalpn > 0 && !alpn_within(a, b))
		return 0;
	return pattern_covers(&a->pat, &b->pat);
}

int
route_normalize_sni(const char *in, char *out)
{
	size_t i, n = strlen(in);
	int colon = 0;

	if (n > 1 && in[n - 1] == '.')
		n--;
	if (n == 0 || n > ROUTE_SNI_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a');
		if (ch == ':')
			colon = 1;
		else if (!name_char_ok(ch))
			return -1;
		out[i] = (char)ch;
	}
	out[n] = '\0';
	if (colon) {		/* ':' only ever in an IPv6 literal */
		struct addr a;

		return addr_parse_ip(out, 0, &a) == 0 ? 0 : -1;
	}
	return host_name_ok(out, n) ? 0 : -1;
}

int
route_alpn_match(const struct route *r, const char *const *alpn,
    size_t nalpn)
{
	size_t i, j;

	if (r->nalpn == 0)
		return 1;
	for (i = 0; i < nalpn; i++)
		for (j = 0; j < r->nalpn; j++)
			if (strcmp(alpn[i], r->alpn[j]) == 0)
				return 1;
	return 0;
}

/* The first route matching; passthrough ones only if hello is 1. */
static struct route *
first_match(const struct route_table *t, const char *sni, int hello,
    const char *const *alpn, size_t nalpn)
{
	struct addr a;
	size_t i;
	int literal = -1;

	for (i = 0; i < t->n; i++) {
		if (t->v[i].passthrough && (!hello ||
		    !route_alpn_match(&t->v[i], alpn, nalpn)))
			continue;
		if (sni == NULL) {	/* no name: a passthrough * only */
			if (t->v[i].passthrough &&
			    t->v[i].pat.kind == PATTERN_ANY)
				return &t->v[i];
			continue;
		}
		if (!pattern_match(&t->v[i].pat, sni))
			continue;
		if (t->v[i].kind == ROUTE_DIRECT) {
			/* only a literal names a destination by itself */
			if (literal == -1)
				literal = is_literal(sni, &a);
			if (!literal)
				continue;
		}
		return &t->v[i];
	}
	return NULL;
}

struct route *
route_match(const struct route_table *t, const char *sni)
{
	return first_match(t, sni, 0, NULL, 0);
}

struct route *
route_match_hello(const struct route_table *t, const char *sni,
    const char *const *alpn, size_t nalpn)
{
	return first_match(t, sni, 1, alpn, nalpn);
}

size_t
route_first_server(struct route *r)
{
	if (r->nservers <= 1)
		return 0;
	return atomic_fetch_add_explicit(&r->next, 1, memory_order_relaxed) %
	    r->nservers;
}

void
route_table_free(struct route_table *t)
{
	size_t i, j;

	for (i = 0; i < t->n; i++) {
		struct route *r = &t->v[i];

		for (j = 0; j < r->nservers; j++)
			free(r->servers[j].host);
		for (j = 0; j < r->nalpn; j++)
			free(r->alpn[j]);
		free(r->alpn);
		free(r->servers);
		free(r->text);
		pattern_free(&r->pat);
	}
	free(t->v);
	t->v = NULL;
	t->n = 0;
}
