#include "core/dest.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>


struct special {
	const char *text;
	const char *what;
};

/*
 * Ranges a client-chosen destination never reaches unless the operator
 * names them. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are matched
 * as their IPv4 address by cidr_match, so the IPv4 entries cover them.
 */
static const struct special specials[] = {
	{ "127.0.0.0/8", "loopback" },
	{ "::1/128", "loopback" },
	{ "169.254.0.0/16", "link-local" },
	{ "fe80::/10", "link-local" },
	{ "0.0.0.0/8", "unspecified" },
	{ "::/128", "unspecified" },
	{ "255.255.255.255/32", "broadcast" },
	{ "224.0.0.0/4", "multicast" },
	{ "ff00::/8", "multicast" },
};

int
cidr_within(const struct cidr *inner, const struct cidr *outer)
{
	unsigned full, rest;

	if (inner->family != outer->family || inner->prefix < outer->prefix)
		return 0;
	full = outer->prefix / 8;
	rest = outer->prefix % 8;
	if (memcmp(inner->bytes, outer->bytes, full) != 0)
		return 0;
	return rest == 0 || ((inner->bytes[full] ^ outer->bytes[full]) &
	    (unsigned char)(0xff00u >> rest)) == 0;
}

/* The address as a host range (/32, /128; mapped IPv4 as IPv4). */
static void
host_cidr(const struct addr *a, struct cidr *out)
{
	const unsigned char *v4 = addr_v4(a);

	memset(out, 0, sizeof(*out));
	if (v4 != NULL) {
		out->family = AF_INET;
		memcpy(out->bytes, v4, 4);
		out->prefix = 32;
	} else if (a->ss.ss_family == AF_INET6) {
		out->family = AF_INET6;
		addr_key16(a, out->bytes);
		out->prefix = 128;
	}
}

/* Is a inside an allow entry that itself lies inside range? */
static int
named(const struct dest_policy *p, const struct addr *a,
    const struct cidr *range)
{
	size_t i;

	for (i = 0; i < p->nallow; i++)
		if (cidr_within(&p->allow[i], range) &&
		    cidr_match(&p->allow[i], a))
			return 1;
	return 0;
}

enum dest_verdict
dest_check(const struct dest_policy *p, const struct addr *a, char *why,
    size_t whylen)
{
	char ip[ADDR_TEXT_MAX];
	struct cidr range, host;
	size_t i;

	addr_format_ip(a, ip, sizeof(ip));
	for (i = 0; i < p->ndeny; i++) {
		if (cidr_match(&p->deny[i], a)) {
			snprintf(why, whylen, "%s is in deny-destination", ip);
			return DEST_DENIED;
		}
	}
	for (i = 0; i < sizeof(specials) / sizeof(specials[0]); i++) {
		(void)cidr_parse(specials[i].text, &range);
		if (cidr_match(&range, a) && !named(p, a, &range)) {
			snprintf(why, whylen, "%s is %s (name it in "
			    "allow-destination to allow it)", ip,
			    specials[i].what);
			return DEST_SPECIAL;
		}
	}
	host_cidr(a, &host);
	for (i = 0; i < p->nown; i++) {
		struct cidr own;

		host_cidr(&p->own[i], &own);
		if (own.family == host.family && memcmp(own.bytes, host.bytes,
		    sizeof(own.bytes)) == 0 && !named(p, a, &own)) {
			snprintf(why, whylen, "%s is the gateway's own "
			    "address", ip);
			return DEST_OWN;
		}
	}
	for (i = 0; i < p->nallow; i++)
		if (cidr_match(&p->allow[i], a))
			return DEST_OK;
	snprintf(why, whylen, "%s is not in allow-destination", ip);
	return DEST_NOT_ALLOWED;
}
