/*
 * sbuf: the one way text is built here. Into a caller's fixed buffer
 * (bounded: what does not fit is counted in len but never written), or
 * into a growing one (up to a limit; it stops growing when memory runs
 * out). Either way `failed` says whether all of it is there. Pure.
 */
#ifndef SSHGATE_SBUF_H
#define SSHGATE_SBUF_H

#include <stddef.h>

struct sbuf {
	char *p;
	size_t len;		/* bytes added (fixed: even those not written) */
	size_t cap;		/* room in p */
	size_t max;		/* growing: the most it may hold; 0: fixed */
	int failed;		/* something did not fit */
};

/* How sbuf_quoted escapes a string. */
enum sbuf_quote {
	SBUF_JSON,		/* standard escapes; valid UTF-8 kept, else U+FFFD */
	SBUF_C,			/* C-like escapes; bytes >= 0x80 as \xHH */
};

void sbuf_fixed(struct sbuf *b, char *buf, size_t cap);
void sbuf_growing(struct sbuf *b, size_t max);
/* Frees a growing buffer's memory (fixed: nothing). */
void sbuf_free(struct sbuf *b);

void sbuf_add(struct sbuf *b, const void *s, size_t n);
void sbuf_str(struct sbuf *b, const char *s);
void sbuf_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * s in double quotes, escaped for mode: quotes, backslashes and control
 * bytes always; after max bytes of s the rest is left out as "...".
 */
void sbuf_quoted(struct sbuf *b, const char *s, size_t max,
    enum sbuf_quote mode);

#endif
