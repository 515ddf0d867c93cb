#include "client/sshconfig.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/say.h"
#include "core/addr.h"
#include "client/connect.h"
#include "client/proxyurl.h"
#include "core/route.h"
#include "core/util.h"

/* A ProxyCommand word: every byte may become four ('\'') plus quotes. */
#define WORD_MAX (4 * PATH_MAX + 3)

/* s for a message: control characters and '\' escaped, cut to fit len. */
static const char *
shown(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s != '\0' && o + 5 < len; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '\n')
			o += (size_t)snprintf(buf + o, len - o, "\\n");
		else if (ch == '\\')
			o += (size_t)snprintf(buf + o, len - o, "\\\\");
		else if (ch < 0x20 || ch == 0x7f)
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", ch);
		else
			buf[o++] = (char)ch;
	}
	if (*s != '\0' && len > 4)
		memcpy(buf + (o < len - 4 ? o : len - 4), "...", 4);
	else
		buf[o] = '\0';
	return buf;
}

static int
ascii_alnum(unsigned char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9');
}

int
sshconfig_gateway(const char *s, unsigned default_port, char *host,
    size_t hostlen, unsigned *port, char *err, size_t errlen)
{
	char norm[ROUTE_SNI_MAX + 1], show[512];
	const char *end, *colon;
	unsigned long p = default_port;
	struct addr a;
	size_t n;

	if (s[0] == '[') {		/* [V6] or [V6]:PORT */
		end = strchr(s, ']');
		n = end != NULL ? (size_t)(end - s - 1) : 0;
		colon = end != NULL && end[1] == ':' ? end + 1 : NULL;
		if (end == NULL || n == 0 || n >= hostlen ||
		    (end[1] != '\0' && colon == NULL))
			goto bad;
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (addr_parse_ip(host, 0, &a) == -1 ||
		    a.ss.ss_family != AF_INET6)
			goto bad;
	} else {			/* NAME, V4, with :PORT or not */
		if (addr_parse_ip(s, 0, &a) == 0 && a.ss.ss_family == AF_INET6) {
			snprintf(err, errlen, "'%s': write an IPv6 address in "
			    "brackets: [%s]", s, s);
			return -1;
		}
		colon = strchr(s, ':');
		n = colon != NULL ? (size_t)(colon - s) : strlen(s);
		if (n == 0 || n >= hostlen)
			goto bad;
		memcpy(host, s, n);
		host[n] = '\0';
		/* a leading '-' would make it an option of `sshgate connect` */
		if (addr_parse_ip(host, 0, &a) == -1 && (!ascii_alnum(
		    (unsigned char)host[0]) || route_normalize_sni(host, norm) ==
		    -1))
			goto bad;
	}
	if (colon != NULL && util_parse_uint(colon + 1, 1, 65535, &p) == -1)
		goto bad;
	*port = (unsigned)p;
	return 0;
bad:
	snprintf(err, errlen, "'%s': expected a host name, an IPv4 address or "
	    "an [IPv6] address in brackets, with an optional :PORT (1-65535)",
	    shown(s, show, sizeof(show)));
	return -1;
}

int
sshconfig_pattern_ok(const char *p)
{
	if (*p == '!')
		p++;
	if (*p == '\0')
		return 0;
	for (; *p != '\0'; p++)
		if (!ascii_alnum((unsigned char)*p) &&
		    strchr(".-_:*?", *p) == NULL)
			return 0;
	return 1;
}

int
sshconfig_word(const char *s, char *out, size_t outlen)
{
	const char *p;
	size_t o = 0;
	int plain = 1;

	if (*s == '\0')
		return -1;
	for (p = s; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch < 0x20 || ch == 0x7f)
			return -1;
		/* what no shell and no ssh_config reads as special */
		if (!ascii_alnum(ch) && strchr("/._-+,:@", ch) == NULL)
			plain = 0;
	}
	if (plain)
		return util_strlcpy(out, s, outlen) < outlen ? 0 : -1;
	if (outlen < 3)
		return -1;
	out[o++] = '\'';
	for (p = s; *p != '\0'; p++) {
		const char *w = *p == '\'' ? "'\\''" : *p == '%' ? "%%" : NULL;
		size_t wl = w != NULL ? strlen(w) : 1;

		if (o + wl + 2 > outlen)	/* and the closing quote, NUL */
			return -1;
		if (w != NULL)
			memcpy(out + o, w, wl);
		else
			out[o] = *p;
		o += wl;
	}
	out[o++] = '\'';
	out[o] = '\0';
	return 0;
}

/* An absolute form of path, or NULL (said why). Caller frees. */
static char *
absolute(const char *path)
{
	char *p = realpath(path, NULL);

	if (p == NULL)
		client_say("ssh-config: %s: %s", path, strerror(errno));
	return p;
}

/*
 * --proxy URL as a ProxyCommand word in *out (caller frees): checked as
 * connect will check it, "" kept as '' (no proxy, whatever the
 * environment says). Returns 0, or -1 (said why, never the password).
 */
static int
proxy_word(const char *url, char **out)
{
	struct proxyurl u;
	char err[256], show[600];

	if (proxyurl_parse(url, &u, err, sizeof(err)) == -1 && *url != '\0') {
		client_say("ssh-config: --proxy '%s': %s", proxyurl_redact(url,
		    show, sizeof(show)), err);
		return -1;
	}
	memset(&u, 0, sizeof(u));
	if ((*out = malloc(WORD_MAX)) == NULL) {
		client_say("ssh-config: out of memory");
		return -1;
	}
	if (*url == '\0') {
		util_strlcpy(*out, "''", WORD_MAX);
		return 0;
	}
	if (sshconfig_word(url, *out, WORD_MAX) == -1) {
		client_say("ssh-config: --proxy '%s' cannot be written into an "
		    "ssh_config line", proxyurl_redact(url, show, sizeof(show)));
		return -1;
	}
	return 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: %s\n", SSHCONFIG_USAGE);
	return 2;
}

int
sshconfig_main(int argc, char **argv)
{
	static const char *const flags[3] = { "--ca", "--cert", "--key" };
	const char *gw = NULL, *proxy = NULL, *files[3] = { NULL, NULL, NULL };
	char self[PATH_MAX], host[256], gwtext[300], err[768], show[1024];
	char *abs[3] = { NULL, NULL, NULL }, *words[6] = { NULL };
	unsigned port;
	int i, k, first = -1, rc = 1;
	ssize_t n;

	for (i = 1; i < argc; i++) {
		for (k = 0; k < 3; k++)
			if (strcmp(argv[i], flags[k]) == 0 && i + 1 < argc)
				break;
		if (k < 3)
			files[k] = argv[++i];
		else if (strcmp(argv[i], "--gateway") == 0 && i + 1 < argc)
			gw = argv[++i];
		else if (strcmp(argv[i], "--proxy") == 0 && i + 1 < argc)
			proxy = argv[++i];
		else if (argv[i][0] == '-') {
			client_say("ssh-config: unknown or incomplete option '%s'",
			    argv[i]);
			return usage();
		} else {
			if (first == -1)
				first = i;
			continue;
		}
		if (first != -1) {
			client_say("ssh-config: options go before the patterns");
			return usage();
		}
	}
	if (gw == NULL || first == -1)
		return usage();
	if (sshconfig_gateway(gw, CONNECT_DEFAULT_PORT, host, sizeof(host),
	    &port, err, sizeof(err)) == -1) {
		client_say("ssh-config: --gateway %s", err);
		return 2;
	}
	for (i = first; i < argc; i++) {
		if (!sshconfig_pattern_ok(argv[i])) {
			client_say("ssh-config: pattern '%s' refused: ssh_config "
			    "would misread it (a pattern is letters, digits, "
			    "'.', '-', '_', ':', '*', '?', after an optional "
			    "'!')", shown(argv[i], show, sizeof(show)));
			return 2;
		}
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1) {
		client_say("ssh-config: cannot find my own path: %s", strerror(errno));
		return 1;
	}
	self[n] = '\0';
	snprintf(gwtext, sizeof(gwtext), strchr(host, ':') != NULL ?
	    "[%s]:%u" : "%s:%u", host, port);
	/* every word first: on any error, nothing is printed */
	for (k = 0; k < 5; k++) {
		const char *v = k == 0 ? self : k == 4 ? gwtext : NULL;

		if (k >= 1 && k <= 3 && files[k - 1] != NULL &&
		    (v = abs[k - 1] = absolute(files[k - 1])) == NULL)
			goto out;
		if (v == NULL)
			continue;
		if ((words[k] = malloc(WORD_MAX)) == NULL) {
			client_say("ssh-config: out of memory");
			goto out;
		}
		if (sshconfig_word(v, words[k], WORD_MAX) == -1) {
			client_say("ssh-config: '%s' cannot be written into an "
			    "ssh_config line", shown(v, show, sizeof(show)));
			rc = k == 0 ? 1 : 2;
			goto out;
		}
	}
	if (proxy != NULL && proxy_word(proxy, &words[5]) == -1) {
		rc = 2;
		goto out;
	}
	printf("Host");
	for (i = first; i < argc; i++)
		printf(" %s", argv[i]);
	printf("\n    ProxyCommand %s connect", words[0]);
	for (k = 0; k < 3; k++)
		if (words[k + 1] != NULL)
			printf(" %s %s", flags[k], words[k + 1]);
	if (words[5] != NULL)
		printf(" --proxy %s", words[5]);
	printf(" %s %%h\n", words[4]);
	rc = fflush(stdout) == 0 ? 0 : 1;
out:
	for (k = 0; k < 3; k++)
		free(abs[k]);
	for (k = 0; k < 6; k++)
		free(words[k]);
	return rc;
}
