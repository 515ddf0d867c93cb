#include "core/banner.h"

#include <stdint.h>
#include <string.h>

/*
 * RFC 4253 4.2: the client sends its identification string first.
 * "SSH-1.99-" is a server-side compatibility form, still accepted since
 * some clients echo it.
 */
static const char *const accepted[] = { "SSH-2.0-", "SSH-1.99-" };

enum banner_verdict
banner_check(const void *buf, size_t len)
{
	size_t i;
	int maybe = 0;

	for (i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		size_t n = strlen(accepted[i]);

		if (len >= n) {
			if (memcmp(buf, accepted[i], n) == 0)
				return BANNER_OK;
		} else if (memcmp(buf, accepted[i], len) == 0)
			maybe = 1;
	}
	return maybe ? BANNER_NEED_MORE : BANNER_BAD;
}

#define SSH_MSG_DISCONNECT 1
#define SSH_DISCONNECT_PROTOCOL_ERROR 2
#define VERSION_LINE "SSH-2.0-sshgate\r\n"

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

size_t
banner_disconnect(unsigned char *buf, size_t len, const char *why)
{
	size_t vlen = strlen(VERSION_LINE), wlen = strlen(why);
	size_t payload = 1 + 4 + 4 + wlen + 4, pad, plen, total;
	unsigned char *p;

	/* padding: at least 4 bytes, the packet a multiple of 8 */
	pad = 8 - (4 + 1 + payload) % 8;
	if (pad < 4)
		pad += 8;
	plen = 1 + payload + pad;
	total = vlen + 4 + plen;
	if (wlen > 4096 || total > len)
		return 0;
	memcpy(buf, VERSION_LINE, vlen);
	p = buf + vlen;
	put32(p, (uint32_t)plen);
	p[4] = (unsigned char)pad;
	p += 5;
	*p++ = SSH_MSG_DISCONNECT;
	put32(p, SSH_DISCONNECT_PROTOCOL_ERROR);
	put32(p + 4, (uint32_t)wlen);
	memcpy(p + 8, why, wlen);
	put32(p + 8 + wlen, 0);		/* language tag: none */
	memset(p + 12 + wlen, 0, pad);
	return total;
}
