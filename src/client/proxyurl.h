/*
 * proxyurl: which HTTP proxy `sshgate connect` goes through. Parses
 * "http://[USER[:PASS]@]HOST[:PORT][/]" (a URL without a scheme is taken
 * as http://), matches a gateway against a no_proxy list, and shows a
 * URL with its password replaced by "***". Pure: no I/O, no getenv.
 */
#ifndef SSHGATE_PROXYURL_H
#define SSHGATE_PROXYURL_H

#include <stddef.h>

/* The proxy's port when the URL has none: http's own. */
#define PROXYURL_DEFAULT_PORT 80

/* Longest user name or password, after percent-decoding. */
#define PROXYURL_CRED_MAX 255

struct proxyurl {
	char host[256];		/* a name or address, without brackets */
	unsigned port;
	int has_auth;		/* USER[:PASS]@ was given */
	char user[PROXYURL_CRED_MAX + 1];	/* percent-decoded */
	char pass[PROXYURL_CRED_MAX + 1];	/* percent-decoded, "" if none */
};

/*
 * Parses a proxy URL into *u. Returns 0, or -1 with a reason in err that
 * never holds the password.
 */
int proxyurl_parse(const char *s, struct proxyurl *u, char *err,
    size_t errlen);

/*
 * Copies a URL as given into out[outlen] with the password (what lies
 * between the first ':' and the last '@' of USER:PASS@) replaced by
 * "***", and control bytes as \xNN: safe to print. Returns out.
 */
char *proxyurl_redact(const char *s, char *out, size_t outlen);

/*
 * Whether a no_proxy list (entries separated by commas and blanks) names
 * the gateway host (a name, or an address without brackets): "*"; a
 * name that is the host or one of its parent domains, with or without a
 * leading '.', case-insensitively; an IP address or CIDR range that
 * holds the host when the host is an address literal (names are not
 * resolved). Returns 1 if so, else 0.
 */
int proxyurl_no_proxy(const char *list, const char *host);

#endif
