/*
 * httpreq: the request head of the metrics endpoint's strict HTTP/1.x
 * responder: "METHOD SP TARGET SP HTTP/1.x CRLF", headers not looked at,
 * then an empty line. Pure: picohttpparser's contract (complete, need
 * more, bad), results point into the caller's buffer, nothing allocated.
 */
#ifndef SSHGATE_HTTPREQ_H
#define SSHGATE_HTTPREQ_H

#include <stddef.h>

/* Most bytes of a request head (request line, headers, empty line). */
#define HTTPREQ_HEAD_MAX 4095

enum httpreq_status {
	HTTPREQ_NEED_MORE = 0,	/* no empty line yet: read more */
	HTTPREQ_COMPLETE,	/* the head is whole and well formed */
	HTTPREQ_BAD,		/* answer with the error's status */
};

enum httpreq_error {
	HTTPREQ_E_NONE = 0,
	HTTPREQ_E_MALFORMED,	/* 400: a NUL byte, or not a request line */
	HTTPREQ_E_TOO_LARGE,	/* 431: no empty line within the limit */
};

struct httpreq {
	const char *method;	/* as sent, any bytes but NUL and SP */
	size_t method_len;
	const char *path;	/* the target up to '?', starts with '/' */
	size_t path_len;
	int minor_version;	/* HTTP/1.0 or HTTP/1.1 */
	size_t head_len;	/* bytes up to and including the empty line */
};

/*
 * Parses the request head at the start of buf[0..len); only the first
 * HTTPREQ_HEAD_MAX bytes are looked at. A NUL byte anywhere in them
 * makes it bad, even after the head: such a client is not speaking
 * HTTP. Returns HTTPREQ_COMPLETE with *req filled (pointers into buf),
 * HTTPREQ_NEED_MORE, or HTTPREQ_BAD with *err set.
 */
enum httpreq_status httpreq_parse(const char *buf, size_t len,
    struct httpreq *req, enum httpreq_error *err);

/* Whether a parsed request's method (or path) is exactly s. */
int httpreq_method_is(const struct httpreq *req, const char *s);
int httpreq_path_is(const struct httpreq *req, const char *s);

/* "400 Bad Request" or "431 Request Header Fields Too Large". */
const char *httpreq_status_line(enum httpreq_error err);

#endif
