#include "core/proxy.h"

#include <netinet/in.h>
#include <string.h>

#include "core/util.h"

static const unsigned char v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a,
};

#define V1_MAX 107		/* the v1 spec's longest line, CRLF included */

/* "PROXY TCP4 SRC DST SPORT DPORT\r\n" or "PROXY UNKNOWN...\r\n". */
static enum proxy_status
parse_v1(const unsigned char *buf, size_t len, size_t *used,
    struct proxy_info *info, const char **why)
{
	char line[V1_MAX + 1], *w[7], *save = NULL, *t;
	const unsigned char *crlf = NULL;
	unsigned long sport, dport;
	size_t i, n = len < V1_MAX ? len : V1_MAX;
	int nw = 0, fam;

	for (i = 0; i + 1 < n; i++) {
		if (buf[i] == '\r' && buf[i + 1] == '\n') {
			crlf = buf + i;
			break;
		}
		if (buf[i] < 0x20 || buf[i] > 0x7e) {
			*why = "PROXY v1 header with a control byte";
			return PROXY_BAD;
		}
	}
	if (crlf == NULL) {
		if (len >= V1_MAX) {
			*why = "PROXY v1 header longer than 107 bytes";
			return PROXY_BAD;
		}
		return PROXY_NEED_MORE;
	}
	memcpy(line, buf, (size_t)(crlf - buf));
	line[crlf - buf] = '\0';
	*used = (size_t)(crlf - buf) + 2;
	for (t = strtok_r(line, " ", &save); t != NULL && nw < 7;
	    t = strtok_r(NULL, " ", &save))
		w[nw++] = t;
	memset(info, 0, sizeof(*info));
	if (nw >= 2 && strcmp(w[1], "UNKNOWN") == 0) {
		info->local = 1;
		return PROXY_OK;
	}
	if (nw != 6 || (strcmp(w[1], "TCP4") != 0 &&
	    strcmp(w[1], "TCP6") != 0)) {
		*why = "PROXY v1 header is not TCP4/TCP6 SRC DST SPORT DPORT";
		return PROXY_BAD;
	}
	fam = w[1][3] == '4' ? AF_INET : AF_INET6;
	if (util_parse_uint(w[4], 0, 65535, &sport) == -1 ||
	    util_parse_uint(w[5], 0, 65535, &dport) == -1 ||
	    addr_parse_ip(w[2], (unsigned)sport, &info->src) == -1 ||
	    addr_parse_ip(w[3], (unsigned)dport, &info->dst) == -1 ||
	    info->src.ss.ss_family != fam || info->dst.ss.ss_family != fam) {
		*why = "PROXY v1 header with a bad address or port";
		return PROXY_BAD;
	}
	return PROXY_OK;
}

static enum proxy_status
parse_v2(const unsigned char *buf, size_t len, size_t *used,
    struct proxy_info *info, const char **why)
{
	size_t body;
	const unsigned char *p = buf + 16;
	struct sockaddr_in *s4, *d4;
	struct sockaddr_in6 *s6, *d6;

	if (len < 16)
		return PROXY_NEED_MORE;
	if ((buf[12] & 0xf0) != 0x20 || (buf[12] & 0x0f) > 1) {
		*why = "PROXY v2 header with an unknown version or command";
		return PROXY_BAD;
	}
	body = (size_t)buf[14] << 8 | buf[15];
	if (16 + body > PROXY_HEADER_MAX) {
		*why = "PROXY v2 header too large";
		return PROXY_BAD;
	}
	if (len < 16 + body)
		return PROXY_NEED_MORE;
	*used = 16 + body;
	memset(info, 0, sizeof(*info));
	if ((buf[12] & 0x0f) == 0) {	/* LOCAL: the balancer's own check */
		info->local = 1;
		return PROXY_OK;
	}
	switch (buf[13]) {
	case 0x11:			/* TCP over IPv4 */
		if (body < 12)
			break;
		s4 = (struct sockaddr_in *)&info->src.ss;
		d4 = (struct sockaddr_in *)&info->dst.ss;
		s4->sin_family = d4->sin_family = AF_INET;
		memcpy(&s4->sin_addr, p, 4);
		memcpy(&d4->sin_addr, p + 4, 4);
		memcpy(&s4->sin_port, p + 8, 2);
		memcpy(&d4->sin_port, p + 10, 2);
		info->src.len = info->dst.len = sizeof(*s4);
		return PROXY_OK;
	case 0x21:			/* TCP over IPv6 */
		if (body < 36)
			break;
		s6 = (struct sockaddr_in6 *)&info->src.ss;
		d6 = (struct sockaddr_in6 *)&info->dst.ss;
		s6->sin6_family = d6->sin6_family = AF_INET6;
		memcpy(&s6->sin6_addr, p, 16);
		memcpy(&d6->sin6_addr, p + 16, 16);
		memcpy(&s6->sin6_port, p + 32, 2);
		memcpy(&d6->sin6_port, p + 34, 2);
		info->src.len = info->dst.len = sizeof(*s6);
		return PROXY_OK;
	case 0x00:			/* UNSPEC: no address */
		info->local = 1;
		return PROXY_OK;
	}
	*why = "PROXY v2 header with an unsupported or short address block";
	return PROXY_BAD;
}

enum proxy_status
proxy_parse(const unsigned char *buf, size_t len, size_t *used,
    struct proxy_info *info, const char **why)
{
	size_t n = len < sizeof(v2sig) ? len : sizeof(v2sig);

	*why = "not a PROXY protocol header";
	if (len == 0)
		return PROXY_NEED_MORE;
	if (memcmp(buf, v2sig, n) == 0)
		return n < sizeof(v2sig) ? PROXY_NEED_MORE :
		    parse_v2(buf, len, used, info, why);
	n = len < 6 ? len : 6;
	if (memcmp(buf, "PROXY ", n) != 0)
		return PROXY_BAD;
	return n < 6 ? PROXY_NEED_MORE : parse_v1(buf, len, used, info, why);
}

size_t
proxy_build_v2(const struct addr *src, const struct addr *dst,
    unsigned char *out)
{
	memcpy(out, v2sig, sizeof(v2sig));
	out[12] = 0x21;			/* version 2, PROXY */
	if (src->ss.ss_family == AF_INET && dst->ss.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)&src->ss;
		const struct sockaddr_in *d = (const void *)&dst->ss;

		out[13] = 0x11;
		out[14] = 0;
		out[15] = 12;
		memcpy(out + 16, &s->sin_addr, 4);
		memcpy(out + 20, &d->sin_addr, 4);
		memcpy(out + 24, &s->sin_port, 2);
		memcpy(out + 26, &d->sin_port, 2);
		return 28;
	}
	if (src->ss.ss_family == AF_INET6 && dst->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s = (const void *)&src->ss;
		const struct sockaddr_in6 *d = (const void *)&dst->ss;

		out[13] = 0x21;
		out[14] = 0;
		out[15] = 36;
		memcpy(out + 16, &s->sin6_addr, 16);
		memcpy(out + 32, &d->sin6_addr, 16);
		memcpy(out + 48, &s->sin6_port, 2);
		memcpy(out + 50, &d->sin6_port, 2);
		return 52;
	}
	out[12] = 0x20;			/* LOCAL: families differ */
	out[13] = 0;
	out[14] = out[15] = 0;
	return 16;
}
