#include "client/httpproxy.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "client/dial.h"
#include "client/say.h"
#include "core/addr.h"
#include "core/proxyresp.h"

/* The request: two authorities, the credentials in base64, the rest. */
#define REQUEST_MAX 2048

/* The peers as messages name them: "proxy HOST:PORT", "HOST:PORT". */
struct names {
	char proxy[300];
	char gw[300];
	double timeout;
};

/* The first non-empty of two variables (lowercase first, as curl). */
static const char *
env_pair(const char *lower, const char *upper, const char **name)
{
	const char *v = getenv(lower);

	*name = lower;
	if (v == NULL || *v == '\0') {
		v = getenv(upper);
		*name = upper;
	}
	return v != NULL && *v != '\0' ? v : NULL;
}

int
httpproxy_choose(const char *arg, const char *gw_host, struct proxyurl *u)
{
	const char *url = arg, *src = "--proxy", *np, *npname;
	char err[256], shown[300];

	if (url == NULL && (url = env_pair("https_proxy", "HTTPS_PROXY",
	    &src)) == NULL)
		return 0;
	if (*url == '\0')
		return 0;		/* --proxy "": none */
	if (proxyurl_parse(url, u, err, sizeof(err)) == -1) {
		client_say("connect: %s '%s': %s", src, proxyurl_redact(url,
		    shown, sizeof(shown)), err);
		return -1;
	}
	np = env_pair("no_proxy", "NO_PROXY", &npname);
	if (np != NULL && proxyurl_no_proxy(np, gw_host)) {
		OPENSSL_cleanse(u, sizeof(*u));
		return 0;
	}
	return 1;
}

/* "HOST:PORT", "[V6]:PORT". */
static void
authority(char *out, size_t len, const char *host, unsigned port)
{
	snprintf(out, len, strchr(host, ':') != NULL ? "[%s]:%u" : "%s:%u",
	    host, port);
}

/* What may be written into a request line: a name or an address. */
static int
host_ok(const char *h)
{
	struct addr a;

	if (addr_parse_ip(h, 0, &a) == 0)
		return 1;
	for (; *h != '\0'; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		    (*h >= '0' && *h <= '9') || *h == '.' || *h == '-' ||
		    *h == '_'))
			return 0;
	return 1;
}

/* Waits for events on fd until the deadline: 1 ready, 0 timed out. */
static int
wait_fd(int fd, short events, double deadline)
{
	struct pollfd p = { fd, events, 0 };
	int left, rc;

	do {
		if ((left = dial_left_ms(deadline)) <= 0)
			return 0;
	} while ((rc = poll(&p, 1, left)) == -1 && errno == EINTR);
	return rc != 0;
}

/* The request, credentials included. Returns its length, or 0. */
static size_t
make_request(char *buf, size_t size, const struct proxyurl *u,
    const char *gw)
{
	unsigned char cred[2 * PROXYURL_CRED_MAX + 2];
	unsigned char b64[4 * ((sizeof(cred) + 2) / 3) + 1];
	int n, k;

	n = snprintf(buf, size, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: sshgate/%s\r\n", gw, gw, SSHGATE_VERSION);
	if (n < 0 || (size_t)n >= size)
		return 0;
	if (u->has_auth) {
		k = snprintf((char *)cred, sizeof(cred), "%s:%s", u->user,
		    u->pass);
		EVP_EncodeBlock(b64, cred, k);
		n += snprintf(buf + n, size - (size_t)n, "Proxy-Authorization: "
		    "Basic %s\r\n", b64);
		OPENSSL_cleanse(cred, sizeof(cred));
		OPENSSL_cleanse(b64, sizeof(b64));
		if ((size_t)n >= size)
			return 0;
	}
	n += snprintf(buf + n, size - (size_t)n, "\r\n");
	return (size_t)n < size ? (size_t)n : 0;
}

static int
send_request(int fd, const struct proxyurl *u, const struct names *nm,
    double deadline)
{
	char buf[REQUEST_MAX];
	size_t len = make_request(buf, sizeof(buf), u, nm->gw), off = 0;
	ssize_t n;
	int rc = 0;

	if (len == 0) {		/* cannot be: names and credentials are bounded */
		client_say("%s: the CONNECT request is too long", nm->proxy);
		return -1;
	}
	while (off < len) {
		n = send(fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
		} else if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(fd, POLLOUT, deadline))
				continue;
			client_say("%s: cannot send CONNECT within %gs", nm->proxy,
			    nm->timeout);
			rc = -1;
			break;
		} else {
			client_say("%s: cannot send CONNECT: %s", nm->proxy,
			    strerror(errno));
			rc = -1;
			break;
		}
	}
	OPENSSL_cleanse(buf, sizeof(buf));
	return rc;
}

/* Reads and drops n bytes that a peek has shown are there. */
static int
consume(int fd, size_t n)
{
	char sink[512];
	ssize_t k;

	while (n > 0) {
		k = recv(fd, sink, n < sizeof(sink) ? n : sizeof(sink),
		    MSG_DONTWAIT);
		if (k <= 0 && !(k == -1 && errno == EINTR))
			return -1;
		if (k > 0)
			n -= (size_t)k;
	}
	return 0;
}

/* Whether some Proxy-Authenticate offers Basic; *first: the first scheme. */
static int
offers_basic(const struct proxyresp *r, const char **first, size_t *flen)
{
	const char *v;
	size_t n, pos = 0;
	int basic = 0;

	*first = NULL;
	*flen = 0;
	while (proxyresp_header(r, "Proxy-Authenticate", &pos, &v, &n)) {
		size_t k = 0;

		while (k < n && v[k] != ' ' && v[k] != '\t' && v[k] != ',')
			k++;		/* the scheme: the value's first token */
		if (*first == NULL) {
			*first = v;
			*flen = k;
		}
		if (k == 5 && strncasecmp(v, "Basic", 5) == 0)
			basic = 1;
	}
	return basic;
}

/* Says why a proxy that did not open the tunnel refused. */
static void
say_refusal(const struct proxyresp *r, const struct proxyurl *u,
    const struct names *nm)
{
	char st[160], line[200], who[100];
	const char *scheme;
	size_t slen;

	proxyresp_shown(r->line + 9, r->line_len - 9, st, sizeof(st));
	switch (r->status) {
	case 401:	/* what tinyproxy says to wrong credentials */
	case 407:
		if (!offers_basic(r, &scheme, &slen) && scheme != NULL)
			client_say("%s wants %s authentication (%s): sshgate "
			    "connect only does Basic", nm->proxy,
			    proxyresp_shown(scheme, slen, who, 40), st);
		else if (!u->has_auth)
			client_say("%s wants credentials (%s): give them in the "
			    "proxy URL, http://USER:PASSWORD@%s", nm->proxy, st,
			    nm->proxy + 6);
		else
			client_say("%s refused the credentials of user '%s' (%s)",
			    nm->proxy, proxyresp_shown(u->user, strlen(u->user),
			    who, sizeof(who)), st);
		break;
	case 403:
		client_say("%s refuses to connect to the gateway %s (%s)",
		    nm->proxy, nm->gw, st);
		break;
	case 502:
	case 503:
	case 504:
		client_say("%s could not reach the gateway %s (%s)", nm->proxy,
		    nm->gw, st);
		break;
	default:
		client_say("%s answered CONNECT %s with '%s'", nm->proxy, nm->gw,
		    proxyresp_shown(r->line, r->line_len, line, sizeof(line)));
	}
}

/* The proxy's answer; 0 when the tunnel is open, else -1 (said why). */
static int
read_answer(int fd, const struct proxyurl *u, const struct names *nm,
    double deadline)
{
	char head[PROXYRESP_HEAD_MAX], shown[100];
	enum proxyresp_status st = PROXYRESP_NEED_MORE;
	enum proxyresp_error err;
	struct proxyresp r;
	size_t len = 0;
	ssize_t n;

	/*
	 * Peek, then take only the head: what follows it is the gateway's
	 * and stays in the socket for TLS.
	 */
	while (st == PROXYRESP_NEED_MORE) {
		if (!wait_fd(fd, POLLIN, deadline)) {
			client_say("%s: no answer to CONNECT within %gs",
			    nm->proxy, nm->timeout);
			return -1;
		}
		n = recv(fd, head + len, sizeof(head) - len, MSG_PEEK);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (n <= 0) {
			client_say("%s closed the connection %s CONNECT%s%s",
			    nm->proxy, len == 0 ? "without answering" :
			    "in the middle of its answer to", n == 0 ? "" : ": ",
			    n == 0 ? "" : strerror(errno));
			return -1;
		}
		st = proxyresp_parse(head, len + (size_t)n, &r, &err);
		if (consume(fd, st == PROXYRESP_COMPLETE ? r.head_len - len :
		    (size_t)n) == -1) {
			client_say("%s: connection lost", nm->proxy);
			return -1;
		}
		len += (size_t)n;
	}
	if (st == PROXYRESP_BAD && err == PROXYRESP_E_NOT_HTTP) {
		for (n = 0; (size_t)n < len && head[n] != '\r' &&
		    head[n] != '\n'; n++)
			;		/* its first line */
		client_say("%s is not an HTTP proxy: it answered CONNECT with "
		    "'%s'", nm->proxy, proxyresp_shown(head, (size_t)n, shown,
		    60));
		return -1;
	}
	if (st == PROXYRESP_BAD) {
		client_say("%s sent a malformed answer to CONNECT: %s", nm->proxy,
		    proxyresp_error_text(err));
		return -1;
	}
	if (r.status >= 200 && r.status <= 299)
		return 0;
	say_refusal(&r, u, nm);
	return -1;
}

int
httpproxy_open(const struct proxyurl *u, const char *gw_host,
    unsigned gw_port, double deadline, double timeout)
{
	struct names nm;
	char shown[300];
	int fd;

	if (!host_ok(gw_host)) {
		client_say("connect: cannot ask a proxy for '%s': not a host "
		    "name or address", proxyresp_shown(gw_host, strlen(gw_host),
		    shown, sizeof(shown)));
		return -1;
	}
	snprintf(nm.proxy, sizeof(nm.proxy), "proxy ");
	authority(nm.proxy + 6, sizeof(nm.proxy) - 6, u->host, u->port);
	authority(nm.gw, sizeof(nm.gw), gw_host, gw_port);
	nm.timeout = timeout;
	if ((fd = dial_tcp(u->host, u->port, "proxy ", deadline)) == -1)
		return -1;
	if (send_request(fd, u, &nm, deadline) == -1 ||
	    read_answer(fd, u, &nm, deadline) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}
