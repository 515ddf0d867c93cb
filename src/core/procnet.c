#include "core/procnet.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* n hex digits at *p into *v; advances *p. Returns 0 or -1. */
static int
hex(const char **p, size_t n, unsigned long *v)
{
	size_t i;
	int d;

	*v = 0;
	for (i = 0; i < n; i++) {
		char ch = (*p)[i];

		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (ch >= 'A' && ch <= 'F')
			d = ch - 'A' + 10;
		else if (ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else
			return -1;
		*v = *v << 4 | (unsigned long)d;
	}
	*p += n;
	return 0;
}

static const char *
skip_blanks(const char *p)
{
	while (*p == ' ')
		p++;
	return p;
}

/* Skips one blank-separated field. */
static const char *
skip_field(const char *p)
{
	p = skip_blanks(p);
	while (*p != '\0' && *p != ' ')
		p++;
	return p;
}

int
procnet_parse(const char *line, int family, struct procnet_sock *out)
{
	size_t words = family == AF_INET ? 1 : 4, i;
	const char *p = skip_blanks(line);
	unsigned long v;
	uint32_t w;
	char *end;
	int f;

	memset(out, 0, sizeof(*out));
	out->family = family;
	/* "sl:" */
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != ':')
		return -1;
	p = skip_blanks(p);
	/* local address: 32-bit words printed in host order */
	for (i = 0; i < words; i++) {
		if (hex(&p, 8, &v) == -1)
			return -1;
		w = (uint32_t)v;
		memcpy(out->addr + 4 * i, &w, 4);
	}
	if (*p++ != ':' || hex(&p, 4, &v) == -1)
		return -1;
	out->port = (unsigned)v;
	p = skip_field(p);		/* remote address */
	p = skip_blanks(p);
	if (hex(&p, 2, &v) == -1 || *p != ' ')
		return -1;
	out->state = (unsigned)v;
	/* tx:rx, tr:when, retrnsmt, uid, timeout, then the inode */
	for (f = 0; f < 5; f++)
		p = skip_field(p);
	p = skip_blanks(p);
	if (*p < '0' || *p > '9')
		return -1;
	out->inode = strtoul(p, &end, 10);
	return end == p ? -1 : 0;
}
