/*
 * proxyresp: the head of an HTTP proxy's answer to CONNECT, strictly:
 * "HTTP/1.x SP DDD [SP REASON] CRLF", header lines, an empty line.
 * Pure: picohttpparser's contract (complete, need more, bad), results
 * point into the caller's buffer, nothing allocated. Bytes after the
 * empty line are not the proxy's: they are never looked at.
 */
#ifndef SSHGATE_PROXYRESP_H
#define SSHGATE_PROXYRESP_H

#include <stddef.h>

/* Most bytes of a response head (status line, headers, empty line). */
#define PROXYRESP_HEAD_MAX 8192

enum proxyresp_status {
	PROXYRESP_NEED_MORE = 0,	/* no empty line yet: read more */
	PROXYRESP_COMPLETE,		/* the head is whole and well formed */
	PROXYRESP_BAD,			/* not an HTTP/1.x response head */
};

enum proxyresp_error {
	PROXYRESP_E_NONE = 0,
	PROXYRESP_E_NOT_HTTP,		/* does not start "HTTP/1.0 " or "HTTP/1.1 " */
	PROXYRESP_E_STATUS_LINE,	/* a malformed status line */
	PROXYRESP_E_HEADER,		/* a malformed header line, or a NUL byte */
	PROXYRESP_E_TOO_LARGE,		/* no empty line within the limit */
};

struct proxyresp {
	int minor_version;	/* HTTP/1.0 or HTTP/1.1 */
	int status;		/* 100..599 */
	const char *line;	/* the status line, without its CRLF */
	size_t line_len;
	const char *headers;	/* the header lines, each with its CRLF */
	size_t headers_len;
	size_t head_len;	/* bytes up to and including the empty line */
};

/*
 * Parses the response head at the start of buf[0..len); only the first
 * PROXYRESP_HEAD_MAX bytes are looked at. Says bad as soon as the bytes
 * seen cannot start a response (so a peer that is not an HTTP proxy is
 * told at once, not after a timeout). Returns PROXYRESP_COMPLETE with *r
 * filled (pointers into buf), PROXYRESP_NEED_MORE, or PROXYRESP_BAD with
 * *err set.
 */
enum proxyresp_status proxyresp_parse(const char *buf, size_t len,
    struct proxyresp *r, enum proxyresp_error *err);

/*
 * The value of the next header called name (case-insensitive) of a
 * parsed head, from offset *pos of its header lines (0 the first time;
 * advanced past the header found), leading and trailing blanks removed:
 * *val points into the head. Returns 1 if found, else 0.
 */
int proxyresp_header(const struct proxyresp *r, const char *name,
    size_t *pos, const char **val, size_t *len);

/*
 * Copies s[0..len) into out[outlen] for a one-line message: printable
 * ASCII as it is, other bytes as \xNN, cut with "..." to fit. Returns out.
 */
char *proxyresp_shown(const char *s, size_t len, char *out, size_t outlen);

/* What went wrong, in a few words ("not an HTTP response"). */
const char *proxyresp_error_text(enum proxyresp_error err);

#endif
