#include "core/sbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
sbuf_fixed(struct sbuf *b, char *buf, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->p = buf;
	b->cap = cap;
}

void
sbuf_growing(struct sbuf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

void
sbuf_free(struct sbuf *b)
{
	if (b->max != 0)
		free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Makes room for n more bytes. Returns 0, or -1 (then failed). */
static int
room(struct sbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->len <= b->cap && b->cap - b->len >= n)
		return 0;
	if (b->max == 0 || n > b->max - b->len) {
		b->failed = 1;
		return -1;
	}
	cap = b->cap * 2 + n + 256;
	if (cap > b->max)
		cap = b->max;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->failed = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void
sbuf_add(struct sbuf *b, const void *s, size_t n)
{
	size_t k;

	if (n == 0)		/* a new growing buffer has no memory yet */
		return;
	if (room(b, n) == 0) {
		memcpy(b->p + b->len, s, n);
		b->len += n;
		return;
	}
	if (b->max == 0 && b->len < b->cap) {	/* fixed: what fits */
		k = b->cap - b->len < n ? b->cap - b->len : n;
		memcpy(b->p + b->len, s, k);
	}
	if (b->max == 0)
		b->len += n;
}

void
sbuf_str(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

void
sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	char small[256], *big;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->failed = 1;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		sbuf_add(b, small, (size_t)n);
		return;
	}
	if ((big = malloc((size_t)n + 1)) == NULL) {
		b->failed = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sbuf_add(b, big, (size_t)n);
	free(big);
}

/* Length of the valid UTF-8 sequence at s (>= 0x80), or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07u;
	else
		return 0;
	/* a NUL fails the continuation test: nothing past it is read */
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void
sbuf_quoted(struct sbuf *b, const char *s, size_t max, enum sbuf_quote mode)
{
	const char *start = s;
	char esc[8];
	size_t n;

	sbuf_add(b, "\"", 1);
	while (*s != '\0') {
		unsigned char ch = (unsigned char)*s;

		if ((size_t)(s - start) >= max) {
			sbuf_add(b, "...", 3);
			break;
		}
		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			sbuf_add(b, esc, 2);
		} else if (ch == '\n')
			sbuf_add(b, "\\n", 2);
		else if (ch == '\t')
			sbuf_add(b, "\\t", 2);
		else if (ch < 0x20 || ch == 0x7f) {
			snprintf(esc, sizeof(esc), mode == SBUF_JSON ?
			    "\\u%04x" : "\\x%02x", ch);
			sbuf_str(b, esc);
		} else if (ch < 0x80)
			sbuf_add(b, s, 1);
		else if (mode == SBUF_JSON) {
			if ((n = utf8_len((const unsigned char *)s)) != 0) {
				sbuf_add(b, s, n);
				s += n;
				continue;
			}
			sbuf_add(b, "\\ufffd", 6);
		} else {
			snprintf(esc, sizeof(esc), "\\x%02x", ch);
			sbuf_str(b, esc);
		}
		s++;
	}
	sbuf_add(b, "\"", 1);
}
