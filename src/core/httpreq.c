#include "core/httpreq.h"

#include <string.h>

enum httpreq_status
httpreq_parse(const char *buf, size_t len, struct httpreq *req,
    enum httpreq_error *err)
{
	const char *end, *eol, *sp1, *sp2, *q;

	if (len > HTTPREQ_HEAD_MAX)
		len = HTTPREQ_HEAD_MAX;
	if (memchr(buf, '\0', len) != NULL) {
		*err = HTTPREQ_E_MALFORMED;
		return HTTPREQ_BAD;
	}
	if ((end = memmem(buf, len, "\r\n\r\n", 4)) == NULL) {
		if (len < HTTPREQ_HEAD_MAX)
			return HTTPREQ_NEED_MORE;
		*err = HTTPREQ_E_TOO_LARGE;
		return HTTPREQ_BAD;
	}
	/* the first CRLF ends the request line; it is at or before end */
	eol = memmem(buf, (size_t)(end - buf) + 2, "\r\n", 2);
	sp1 = memchr(buf, ' ', (size_t)(eol - buf));
	sp2 = sp1 != NULL ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) :
	    NULL;
	/* sp1 < eol, so sp1[1] is inside the head (at worst eol's CR) */
	if (sp1 == NULL || sp2 == NULL || eol - sp2 - 1 != 8 ||
	    memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1') || sp1[1] != '/') {
		*err = HTTPREQ_E_MALFORMED;
		return HTTPREQ_BAD;
	}
	req->method = buf;
	req->method_len = (size_t)(sp1 - buf);
	req->path = sp1 + 1;
	req->path_len = (size_t)(sp2 - sp1 - 1);
	if ((q = memchr(req->path, '?', req->path_len)) != NULL)
		req->path_len = (size_t)(q - req->path);
	req->minor_version = sp2[8] - '0';
	req->head_len = (size_t)(end - buf) + 4;
	*err = HTTPREQ_E_NONE;
	return HTTPREQ_COMPLETE;
}

static int
span_is(const char *p, size_t len, const char *s)
{
	return strlen(s) == len && memcmp(p, s, len) == 0;
}

int
httpreq_method_is(const struct httpreq *req, const char *s)
{
	return span_is(req->method, req->method_len, s);
}

int
httpreq_path_is(const struct httpreq *req, const char *s)
{
	return span_is(req->path, req->path_len, s);
}

const char *
httpreq_status_line(enum httpreq_error err)
{
	return err == HTTPREQ_E_TOO_LARGE ?
	    "431 Request Header Fields Too Large" : "400 Bad Request";
}
