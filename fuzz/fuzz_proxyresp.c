/*
 * libFuzzer target for the parser of a proxy's answer to CONNECT: any
 * bytes give complete, need more or bad, never a read outside them; a
 * complete head's fields lie inside it; the verdict on a prefix holds for
 * the whole (what connect sees as bytes trickle in); header lookups and
 * the message form of any bytes stay in bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/proxyresp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy: ASan sees any read past the bytes received */
	char *buf = malloc(size > 0 ? size : 1), shown[128];
	enum proxyresp_error err, perr;
	struct proxyresp r, pr;
	enum proxyresp_status st, pst;
	const char *v;
	size_t cut, n, pos = 0;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	st = proxyresp_parse(buf, size, &r, &err);
	if (st == PROXYRESP_COMPLETE) {
		if (r.head_len < 16 || r.head_len > size ||
		    r.head_len > PROXYRESP_HEAD_MAX ||
		    memcmp(buf + r.head_len - 4, "\r\n\r\n", 4) != 0 ||
		    memchr(buf, '\0', r.head_len) != NULL ||
		    r.line != buf || r.line_len < 12 ||
		    r.headers != buf + r.line_len + 2 ||
		    r.headers + r.headers_len + 2 != buf + r.head_len ||
		    r.status < 100 || r.status > 599 ||
		    (r.minor_version != 0 && r.minor_version != 1))
			abort();
		while (proxyresp_header(&r, "Proxy-Authenticate", &pos, &v,
		    &n) == 1)
			if (v < r.headers || v + n > r.headers + r.headers_len)
				abort();
		(void)proxyresp_shown(r.line, r.line_len, shown,
		    sizeof(shown));
	} else if (st == PROXYRESP_BAD) {
		if (err == PROXYRESP_E_NONE)
			abort();
	} else if (size >= PROXYRESP_HEAD_MAX)
		abort();	/* a full buffer always gets an answer */
	(void)proxyresp_shown(buf, size, shown, sizeof(shown));
	if (strlen(shown) >= sizeof(shown))
		abort();
	/* a prefix's verdict, where it has one, is the whole's */
	cut = size > 1 ? ((size_t)data[0] << 8 | data[1]) % (size + 1) : 0;
	pst = proxyresp_parse(buf, cut, &pr, &perr);
	if (pst == PROXYRESP_BAD && (st != PROXYRESP_BAD || perr != err))
		abort();
	if (pst == PROXYRESP_COMPLETE && (st != PROXYRESP_COMPLETE ||
	    pr.head_len != r.head_len || pr.status != r.status))
		abort();
	if (st == PROXYRESP_NEED_MORE && pst != PROXYRESP_NEED_MORE)
		abort();
	free(buf);
	return 0;
}
