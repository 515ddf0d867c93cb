#include "core/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "core/util.h"

int
addr_parse_ip(const char *s, unsigned port, struct addr *out)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&out->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->ss;

	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((unsigned short)port);
		out->len = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, s, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((unsigned short)port);
		out->len = sizeof(*sin6);
		return 0;
	}
	return -1;
}

int
addr_split(const char *s, char *host, size_t hostlen, unsigned *port,
    char *err, size_t errlen)
{
	const char *colon, *hend;
	const char *hbeg = s;
	unsigned long p;
	size_t n;

	if (s[0] == '[') {
		hend = strchr(s, ']');
		if (hend == NULL || hend[1] != ':') {
			snprintf(err, errlen, "'%s': expected [IPV6]:PORT", s);
			return -1;
		}
		hbeg = s + 1;
		colon = hend + 1;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL) {
			snprintf(err, errlen, "'%s': missing :PORT", s);
			return -1;
		}
		if (strchr(s, ':') != colon) {
			snprintf(err, errlen,
			    "'%s': write IPv6 addresses as [ADDR]:PORT", s);
			return -1;
		}
		hend = colon;
	}
	n = (size_t)(hend - hbeg);
	if (n == 0 || n >= hostlen) {
		snprintf(err, errlen, "'%s': %s host", s,
		    n == 0 ? "empty" : "too long");
		return -1;
	}
	if (util_parse_uint(colon + 1, 1, 65535, &p) == -1) {
		snprintf(err, errlen, "'%s': port must be 1-65535", s);
		return -1;
	}
	memcpy(host, hbeg, n);
	host[n] = '\0';
	*port = (unsigned)p;
	return 0;
}

void
addr_set_port(struct addr *a, unsigned port)
{
	if (a->ss.ss_family == AF_INET)
		((struct sockaddr_in *)&a->ss)->sin_port =
		    htons((unsigned short)port);
	else if (a->ss.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&a->ss)->sin6_port =
		    htons((unsigned short)port);
}

void
addr_format_ip(const struct addr *a, char *buf, size_t len)
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;

	if (a->ss.ss_family == AF_INET)
		inet_ntop(AF_INET, &sin->sin_addr, buf, (socklen_t)len);
	else if (a->ss.ss_family == AF_INET6)
		inet_ntop(AF_INET6, &sin6->sin6_addr, buf, (socklen_t)len);
	else
		util_strlcpy(buf, "?", len);
}

void
addr_format(const struct addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned port;

	addr_format_ip(a, ip, sizeof(ip));
	if (a->ss.ss_family == AF_INET6) {
		port = ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
		snprintf(buf, len, "[%s]:%u", ip, port);
	} else {
		port = ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
		snprintf(buf, len, "%s:%u", ip, port);
	}
}

int
addr_equal(const struct addr *a, const struct addr *b)
{
	const struct sockaddr_in *a4 = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in *b4 = (const struct sockaddr_in *)&b->ss;
	const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)&a->ss;
	const struct sockaddr_in6 *b6 = (const struct sockaddr_in6 *)&b->ss;

	if (a->ss.ss_family != b->ss.ss_family)
		return 0;
	if (a->ss.ss_family == AF_INET)
		return a4->sin_port == b4->sin_port &&
		    a4->sin_addr.s_addr == b4->sin_addr.s_addr;
	if (a->ss.ss_family == AF_INET6)
		return a6->sin6_port == b6->sin6_port &&
		    memcmp(&a6->sin6_addr, &b6->sin6_addr, 16) == 0;
	return 0;
}

int
cidr_parse(const char *s, struct cidr *out)
{
	char ip[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	size_t n = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned long prefix;
	unsigned maxp, i;

	if (n == 0 || n >= sizeof(ip))
		return -1;
	memcpy(ip, s, n);
	ip[n] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, ip, out->bytes) == 1) {
		out->family = AF_INET;
		maxp = 32;
	} else if (inet_pton(AF_INET6, ip, out->bytes) == 1) {
		out->family = AF_INET6;
		maxp = 128;
	} else
		return -1;
	prefix = maxp;
	if (slash != NULL &&
	    util_parse_uint(slash + 1, 0, maxp, &prefix) == -1)
		return -1;
	out->prefix = (unsigned)prefix;
	for (i = out->prefix; i < maxp; i++)	/* zero the host bits */
		out->bytes[i / 8] &= (unsigned char)~(0x80u >> (i % 8));
	return 0;
}

/* The 12 bytes that make an IPv6 address an IPv4-mapped one. */
static const unsigned char v4mapped[12] =
    { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static const unsigned char *
v6_bytes(const struct addr *a)
{
	return a->ss.ss_family == AF_INET6 ? (const unsigned char *)
	    &((const struct sockaddr_in6 *)&a->ss)->sin6_addr : NULL;
}

const unsigned char *
addr_v4(const struct addr *a)
{
	const unsigned char *p = v6_bytes(a);

	if (a->ss.ss_family == AF_INET)
		return (const unsigned char *)
		    &((const struct sockaddr_in *)&a->ss)->sin_addr;
	if (p != NULL && memcmp(p, v4mapped, sizeof(v4mapped)) == 0)
		return p + sizeof(v4mapped);
	return NULL;
}

void
addr_key16(const struct addr *a, unsigned char out[16])
{
	const unsigned char *p = v6_bytes(a);

	memset(out, 0, 16);
	if (p != NULL)
		memcpy(out, p, 16);
	else if (a->ss.ss_family == AF_INET) {
		memcpy(out, v4mapped, sizeof(v4mapped));
		memcpy(out + sizeof(v4mapped), addr_v4(a), 4);
	}
}

int
cidr_match(const struct cidr *c, const struct addr *a)
{
	const unsigned char *p;
	unsigned full, rest;

	/* an IPv4 range matches IPv4 and IPv4-mapped IPv6 addresses */
	p = c->family == AF_INET ? addr_v4(a) : v6_bytes(a);
	if (p == NULL)
		return 0;
	full = c->prefix / 8;
	rest = c->prefix % 8;
	if (memcmp(p, c->bytes, full) != 0)
		return 0;
	if (rest != 0 &&
	    ((p[full] ^ c->bytes[full]) & (unsigned char)(0xff00u >> rest)) != 0)
		return 0;
	return 1;
}
