#include "core/proxyresp.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* RFC 9110 tchar: the bytes of a header name. */
static int
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || (c != '\0' &&
	    strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Reason phrase and header value bytes: HTAB, SP, VCHAR, obs-text. */
static int
is_text(unsigned char c)
{
	return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int
all_text(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!is_text((unsigned char)p[i]))
			return 0;
	return 1;
}

/*
 * What the first len bytes can still become: 0 while they are a prefix
 * of "HTTP/1.0 " or "HTTP/1.1 ", with every LF after a CR and every CR
 * before an LF (the last byte may be a lone CR), and no NUL; else the
 * error.
 */
static enum proxyresp_error
prefix_error(const char *buf, size_t len)
{
	static const char v[] = "HTTP/1.";
	size_t i, n = len < 7 ? len : 7;

	if (memcmp(buf, v, n) != 0 || (len > 7 && buf[7] != '0' &&
	    buf[7] != '1') || (len > 8 && buf[8] != ' '))
		return PROXYRESP_E_NOT_HTTP;
	for (i = 0; i < len; i++) {
		if (buf[i] == '\0')
			return PROXYRESP_E_HEADER;
		if (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r'))
			return PROXYRESP_E_HEADER;
		if (buf[i] == '\r' && i + 1 < len && buf[i + 1] != '\n')
			return PROXYRESP_E_HEADER;
	}
	return PROXYRESP_E_NONE;
}

static enum proxyresp_status
bad(enum proxyresp_error *err, enum proxyresp_error e)
{
	*err = e;
	return PROXYRESP_BAD;
}

enum proxyresp_status
proxyresp_parse(const char *buf, size_t len, struct proxyresp *r,
    enum proxyresp_error *err)
{
	const char *end, *eol, *p, *colon;
	size_t head_len, line_len, k;
	enum proxyresp_error e;
	int prev_header = 0;

	if (len > PROXYRESP_HEAD_MAX)
		len = PROXYRESP_HEAD_MAX;
	/* "HTTP/1.1 200 OK\r\n\r\n": the first CRLFCRLF ends the head */
	end = memmem(buf, len, "\r\n\r\n", 4);
	head_len = end != NULL ? (size_t)(end - buf) + 4 : len;
	if ((e = prefix_error(buf, head_len)) != PROXYRESP_E_NONE)
		return bad(err, e);
	if (end == NULL) {
		if (len < PROXYRESP_HEAD_MAX)
			return PROXYRESP_NEED_MORE;
		return bad(err, PROXYRESP_E_TOO_LARGE);
	}
	/* the status line ends at the first CRLF, at or before end */
	eol = memmem(buf, head_len, "\r\n", 2);
	line_len = (size_t)(eol - buf);
	if (line_len < 12 || buf[9] < '1' || buf[9] > '5' ||
	    buf[10] < '0' || buf[10] > '9' || buf[11] < '0' || buf[11] > '9' ||
	    (line_len > 12 && (buf[12] != ' ' ||
	    !all_text(buf + 13, line_len - 13))))
		return bad(err, PROXYRESP_E_STATUS_LINE);
	/* header lines: NAME ":" TEXT, or a continuation (obs-fold) */
	for (p = eol + 2; p < end + 2; p = eol + 2) {
		eol = memmem(p, (size_t)(end + 2 - p), "\r\n", 2);
		k = (size_t)(eol - p);
		if (p[0] == ' ' || p[0] == '\t') {
			if (!prev_header || !all_text(p, k))
				return bad(err, PROXYRESP_E_HEADER);
			continue;
		}
		colon = memchr(p, ':', k);
		if (colon == NULL || colon == p ||
		    !all_text(colon + 1, k - (size_t)(colon + 1 - p)))
			return bad(err, PROXYRESP_E_HEADER);
		for (; p < colon; p++)
			if (!is_tchar((unsigned char)*p))
				return bad(err, PROXYRESP_E_HEADER);
		prev_header = 1;
	}
	r->minor_version = buf[7] - '0';
	r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 +
	    (buf[11] - '0');
	r->line = buf;
	r->line_len = line_len;
	r->headers = buf + line_len + 2;
	r->headers_len = head_len - line_len - 4;
	r->head_len = head_len;
	*err = PROXYRESP_E_NONE;
	return PROXYRESP_COMPLETE;
}

static int
blank(char c)
{
	return c == ' ' || c == '\t';
}

int
proxyresp_header(const struct proxyresp *r, const char *name,
    size_t *pos, const char **val, size_t *len)
{
	const char *end = r->headers + r->headers_len;
	const char *p = r->headers + (*pos < r->headers_len ? *pos :
	    r->headers_len);
	const char *eol, *v, *ve;
	size_t n = strlen(name);

	for (; p < end; p = eol + 2) {
		eol = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (eol == NULL)
			return 0;	/* not from proxyresp_parse */
		if ((size_t)(eol - p) <= n || p[n] != ':' ||
		    strncasecmp(p, name, n) != 0)
			continue;
		for (v = p + n + 1; v < eol && blank(*v); v++)
			;
		for (ve = eol; ve > v && blank(ve[-1]); ve--)
			;
		*val = v;
		*len = (size_t)(ve - v);
		*pos = (size_t)(eol + 2 - r->headers);
		return 1;
	}
	return 0;
}

char *
proxyresp_shown(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0, need = 1;

	for (i = 0; i < len; i++)
		need += (unsigned char)s[i] >= 0x20 &&
		    (unsigned char)s[i] < 0x7f && s[i] != '\\' ? 1 : 4;
	if (outlen < 4) {
		if (outlen > 0)
			out[0] = '\0';
		return out;
	}
	/* each step leaves room for "..." and NUL while bytes remain */
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t w = c >= 0x20 && c < 0x7f && c != '\\' ? 1 : 4;

		if (need > outlen && o + w + (i + 1 < len ? 4 : 1) > outlen) {
			memcpy(out + o, "...", 4);
			return out;
		}
		if (w == 1)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}

const char *
proxyresp_error_text(enum proxyresp_error err)
{
	switch (err) {
	case PROXYRESP_E_NOT_HTTP:
		return "not an HTTP/1.x response";
	case PROXYRESP_E_STATUS_LINE:
		return "a malformed status line";
	case PROXYRESP_E_HEADER:
		return "a malformed header";
	case PROXYRESP_E_TOO_LARGE:
		return "no end of the header within 8192 bytes";
	default:
		return "no error";
	}
}
