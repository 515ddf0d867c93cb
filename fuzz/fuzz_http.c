/*
 * libFuzzer target for the metrics endpoint's request parser: any bytes
 * give complete, need more or bad, never a read outside them; and the
 * verdict on a prefix holds for the whole (what the endpoint sees as
 * bytes trickle in).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/httpreq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy: ASan sees any read past the bytes received */
	char *buf = malloc(size > 0 ? size : 1);
	enum httpreq_error err, perr;
	struct httpreq r, pr;
	enum httpreq_status st, pst;
	size_t cut;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	st = httpreq_parse(buf, size, &r, &err);
	if (st == HTTPREQ_COMPLETE) {
		if (r.head_len < 4 || r.head_len > size ||
		    r.head_len > HTTPREQ_HEAD_MAX ||
		    memcmp(buf + r.head_len - 4, "\r\n\r\n", 4) != 0 ||
		    r.method != buf || r.path != buf + r.method_len + 1 ||
		    r.path + r.path_len > buf + r.head_len ||
		    r.path[0] != '/' || memchr(r.path, '?', r.path_len) ||
		    memchr(r.method, ' ', r.method_len) ||
		    (r.minor_version != 0 && r.minor_version != 1))
			abort();
		(void)httpreq_method_is(&r, "GET");
		(void)httpreq_path_is(&r, "/metrics");
	} else if (st == HTTPREQ_BAD) {
		if (err != HTTPREQ_E_MALFORMED && err != HTTPREQ_E_TOO_LARGE)
			abort();
	} else if (size >= HTTPREQ_HEAD_MAX)
		abort();	/* a full buffer always gets an answer */
	/* a prefix's verdict, where it has one, is the whole's */
	cut = size > 1 ? ((size_t)data[0] << 8 | data[1]) % (size + 1) : 0;
	pst = httpreq_parse(buf, cut, &pr, &perr);
	if (pst == HTTPREQ_BAD && (st != HTTPREQ_BAD || perr != err))
		abort();
	if (pst == HTTPREQ_COMPLETE && st == HTTPREQ_COMPLETE &&
	    (pr.head_len != r.head_len || pr.path_len != r.path_len))
		abort();
	if (pst == HTTPREQ_COMPLETE && st == HTTPREQ_BAD &&
	    memchr(buf, '\0', size < HTTPREQ_HEAD_MAX ? size :
	    HTTPREQ_HEAD_MAX) == NULL)
		abort();	/* only a later NUL may spoil a whole head */
	if (st == HTTPREQ_NEED_MORE && pst != HTTPREQ_NEED_MORE)
		abort();
	free(buf);
	return 0;
}
