/* util: small pure parsers shared by the config and the command line. */
#ifndef SSHGATE_UTIL_H
#define SSHGATE_UTIL_H

#include <stddef.h>

/* The struct that holds member m at p: for libev watchers and waits. */
#define container_of(p, type, m) \
	((type *)(void *)((char *)(p) - offsetof(type, m)))

/*
 * Parses a duration: "0", or a whole number followed by ms, s, m or h
 * ("500ms", "5s", "2m", "1h"). Stores seconds in *secs.
 * Returns 0, or -1 if the text is not a duration or exceeds 30 days.
 */
int util_parse_duration(const char *s, double *secs);

/*
 * Parses a decimal whole number in [min, max] with nothing after it.
 * Returns 0, or -1 if it is not one.
 */
int util_parse_uint(const char *s, unsigned long min, unsigned long max,
    unsigned long *out);

/* FNV-1a, a byte at a time: start from UTIL_HASH_INIT. */
#define UTIL_HASH_INIT 2166136261u
static inline unsigned
util_hash_byte(unsigned h, unsigned char ch)
{
	return (h ^ ch) * 16777619u;
}

/*
 * Formats a reason into err (size len), then ": " and the text of errno
 * as it was when called: the error-buffer twin of log_warn().
 */
void util_errno(char *err, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * The optimal string alignment distance between a and b: how many
 * characters inserted, deleted, replaced, or swapped with the next one,
 * turn a into b ("resovle" -> "resolve" is 1). b is at most
 * UTIL_EDIT_MAX bytes; a longer b gives SIZE_MAX.
 */
#define UTIL_EDIT_MAX 64
size_t util_edit_distance(const char *a, const char *b);

/* Copies src into dst (size n > 0), always terminated; returns strlen(src). */
size_t util_strlcpy(char *dst, const char *src, size_t n);

/* The value of hex digit c (either case), or -1. */
int util_hexval(int c);

#endif
