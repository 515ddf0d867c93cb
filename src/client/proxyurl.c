#include "client/proxyurl.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/addr.h"
#include "core/util.h"

/* Percent-decodes s[0..n) into out[PROXYURL_CRED_MAX + 1]; -1 if bad. */
static int
decode(const char *s, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			if (i + 2 >= n || util_hexval(s[i + 1]) == -1 ||
			    util_hexval(s[i + 2]) == -1)
				return -1;
			c = util_hexval(s[i + 1]) * 16 + util_hexval(s[i + 2]);
			i += 2;
		}
		if (c == '\0' || o == PROXYURL_CRED_MAX)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

static int
name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_';
}

/* HOST, HOST:PORT, [V6] or [V6]:PORT, s[0..n). */
static int
parse_hostport(const char *s, size_t n, struct proxyurl *u, char *err,
    size_t errlen)
{
	const char *colon = NULL, *h = s;
	char port[8];
	size_t hl, i;
	unsigned long p = PROXYURL_DEFAULT_PORT;
	struct addr a;

	if (n > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', n);

		if (rb == NULL)
			goto bad;
		h = s + 1;
		hl = (size_t)(rb - h);
		if (rb + 1 < s + n) {
			if (rb[1] != ':')
				goto bad;
			colon = rb + 1;
		}
	} else {
		colon = memchr(s, ':', n);
		hl = colon != NULL ? (size_t)(colon - s) : n;
		if (colon != NULL && memchr(colon + 1, ':', n - hl - 1) !=
		    NULL) {
			snprintf(err, errlen, "write an IPv6 proxy address in "
			    "brackets: http://[ADDRESS]:PORT");
			return -1;
		}
	}
	if (hl == 0 || hl >= sizeof(u->host))
		goto bad;
	memcpy(u->host, h, hl);
	u->host[hl] = '\0';
	if (h != s) {
		if (addr_parse_ip(u->host, 0, &a) == -1 ||
		    a.ss.ss_family != AF_INET6)
			goto bad;
	} else {
		for (i = 0; i < hl; i++)
			if (!name_char(h[i]))
				goto bad;
	}
	if (colon != NULL) {
		size_t pl = n - (size_t)(colon + 1 - s);

		if (pl == 0 || pl >= sizeof(port))
			goto badport;
		memcpy(port, colon + 1, pl);
		port[pl] = '\0';
		if (util_parse_uint(port, 1, 65535, &p) == -1)
			goto badport;
	}
	u->port = (unsigned)p;
	return 0;
badport:
	snprintf(err, errlen, "the proxy's port must be 1-65535");
	return -1;
bad:
	snprintf(err, errlen, "expected http://[USER:PASS@]HOST[:PORT], HOST "
	    "a name, an IPv4 address or an [IPv6] address in brackets");
	return -1;
}

int
proxyurl_parse(const char *s, struct proxyurl *u, char *err, size_t errlen)
{
	const char *rest = s, *sep, *end, *at, *colon;
	size_t i;

	memset(u, 0, sizeof(*u));
	if ((sep = strstr(s, "://")) != NULL) {
		size_t n = (size_t)(sep - s);

		for (i = 0; i < n; i++)
			if (!name_char(s[i]) && s[i] != '+')
				break;
		if (i < n || n == 0) {
			snprintf(err, errlen, "not a proxy URL: expected "
			    "http://[USER:PASS@]HOST[:PORT]");
			return -1;
		}
		if (n == 5 && strncasecmp(s, "https", 5) == 0) {
			snprintf(err, errlen, "https:// proxies (TLS to the "
			    "proxy) are not supported: give the proxy's "
			    "http:// URL");
			return -1;
		}
		if (n != 4 || strncasecmp(s, "http", 4) != 0) {
			snprintf(err, errlen, "%.*s:// proxies are not "
			    "supported, only http://", (int)(n > 16 ? 16 : n), s);
			return -1;
		}
		rest = sep + 3;
	}
	end = rest + strcspn(rest, "/?#");
	if (end[0] != '\0' && (end[0] != '/' || end[1] != '\0')) {
		snprintf(err, errlen, "a proxy URL ends after HOST[:PORT] (at "
		    "most a '/'); a '/', '?' or '#' in the user name or "
		    "password is written %%2F, %%3F, %%23");
		return -1;
	}
	for (at = NULL, i = 0; rest + i < end; i++)
		if (rest[i] == '@')
			at = rest + i;
	for (i = 0; rest[i] != '\0'; i++)
		if ((unsigned char)rest[i] <= 0x20 || rest[i] == 0x7f) {
			snprintf(err, errlen, "a proxy URL holds no blank or "
			    "control character (percent-encode them)");
			return -1;
		}
	if (at != NULL) {
		colon = memchr(rest, ':', (size_t)(at - rest));
		if (colon == rest || at == rest) {
			snprintf(err, errlen, "the proxy URL's user name is "
			    "empty");
			return -1;
		}
		if (decode(rest, (size_t)((colon != NULL ? colon : at) - rest),
		    u->user) == -1 || (colon != NULL && decode(colon + 1,
		    (size_t)(at - colon - 1), u->pass) == -1)) {
			snprintf(err, errlen, "bad user name or password in the "
			    "proxy URL: a '%%' must start %%XX (two hex digits, "
			    "not %%00), each at most %d bytes",
			    PROXYURL_CRED_MAX);
			memset(u, 0, sizeof(*u));
			return -1;
		}
		if (strchr(u->user, ':') != NULL) {
			snprintf(err, errlen, "the proxy user name may not hold "
			    "':' (Basic authentication cannot carry it)");
			memset(u, 0, sizeof(*u));
			return -1;
		}
		u->has_auth = 1;
		rest = at + 1;
	}
	if (parse_hostport(rest, (size_t)(end - rest), u, err, errlen) == -1) {
		memset(u->pass, 0, sizeof(u->pass));
		return -1;
	}
	return 0;
}

/* Whether s[0..n) could be a scheme, as proxyurl_parse reads one. */
static int
scheme_chars(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!name_char(s[i]) && s[i] != '+')
			return 0;
	return n > 0;
}

char *
proxyurl_redact(const char *s, char *out, size_t outlen)
{
	const char *start = strstr(s, "://"), *at = strrchr(s, '@'), *colon;
	size_t o = 0;

	/*
	 * A "://" ends a scheme only if what comes before it can be one: in
	 * "alice:pw@proxy/x://y" the credentials start the string.
	 */
	start = start != NULL && scheme_chars(s, (size_t)(start - s)) ?
	    start + 3 : s;
	colon = at != NULL && at > start ?
	    memchr(start, ':', (size_t)(at - start)) : NULL;
	if (outlen == 0)
		return out;
	for (; *s != '\0' && o + 5 < outlen; s++) {
		unsigned char c = (unsigned char)*s;

		if (colon != NULL && s == colon + 1) {
			o += (size_t)snprintf(out + o, outlen - o, "***");
			s = at - 1;
		} else if (c < 0x20 || c == 0x7f || c == '\\')
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o < outlen ? o : outlen - 1] = '\0';
	return out;
}

/* Whether host is name or below it: "a.b.example" under "example". */
static int
under_domain(const char *host, size_t hl, const char *name, size_t nl)
{
	if (nl == 0 || nl > hl || strncasecmp(host + hl - nl, name, nl) != 0)
		return 0;
	return nl == hl || host[hl - nl - 1] == '.';
}

int
proxyurl_no_proxy(const char *list, const char *host)
{
	char e[256];
	const char *p = list;
	size_t n, k, hl = strlen(host);
	struct addr ha;
	struct cidr c;
	int host_is_ip = addr_parse_ip(host, 0, &ha) == 0;

	if (hl > 0 && host[hl - 1] == '.')
		hl--;
	while (*p != '\0') {
		p += strspn(p, ", \t");
		n = strcspn(p, ", \t");
		if (n == 0)
			break;
		if (n >= sizeof(e)) {
			p += n;
			continue;
		}
		memcpy(e, p, n);
		e[n] = '\0';
		p += n;
		if (strcmp(e, "*") == 0)
			return 1;
		if (e[0] == '[' && n > 2 && e[n - 1] == ']') {
			memmove(e, e + 1, n - 2);
			e[n - 2] = '\0';
		}
		if (cidr_parse(e, &c) == 0) {
			if (host_is_ip && cidr_match(&c, &ha))
				return 1;
			continue;
		}
		if (host_is_ip)
			continue;	/* a name never matches an address */
		k = e[0] == '.';	/* ".example" is "example" */
		n = strlen(e);
		if (n > k && e[n - 1] == '.')
			n--;
		if (under_domain(host, hl, e + k, n - k))
			return 1;
	}
	return 0;
}
