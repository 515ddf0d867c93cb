#include "core/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define DURATION_MAX_SECS (30.0 * 24 * 3600)

int
util_parse_uint(const char *s, unsigned long min, unsigned long max,
    unsigned long *out)
{
	unsigned long v = 0;

	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (unsigned long)(*s - '0')) / 10)
			return -1;	/* would exceed max: also stops overflow */
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v < min)
		return -1;
	*out = v;
	return 0;
}

int
util_parse_duration(const char *s, double *secs)
{
	unsigned long long v = 0;
	const char *p = s;
	double unit;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	while (*p >= '0' && *p <= '9') {
		if (v > 100000000000ULL)	/* far past 30 days in ms */
			return -1;
		v = v * 10 + (unsigned long)(*p - '0');
		p++;
	}
	if (strcmp(p, "ms") == 0)
		unit = 0.001;
	else if (strcmp(p, "s") == 0)
		unit = 1;
	else if (strcmp(p, "m") == 0)
		unit = 60;
	else if (strcmp(p, "h") == 0)
		unit = 3600;
	else if (*p == '\0' && v == 0)
		unit = 0;	/* a bare "0" means never */
	else
		return -1;
	if ((double)v * unit > DURATION_MAX_SECS)
		return -1;
	*secs = (double)v * unit;
	return 0;
}

size_t
util_strlcpy(char *dst, const char *src, size_t n)
{
	size_t len = strlen(src);
	size_t k = len < n - 1 ? len : n - 1;

	memcpy(dst, src, k);
	dst[k] = '\0';
	return len;
}

void
util_errno(char *err, size_t len, const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
	n = strlen(err);
	if (n + 1 < len)
		snprintf(err + n, len - n, ": %s", strerror(e));
}

static size_t
min3(size_t a, size_t b, size_t c)
{
	size_t m = a < b ? a : b;

	return m < c ? m : c;
}

size_t
util_edit_distance(const char *a, const char *b)
{
	/* three rows: this one, the one before, and the one before that */
	size_t d[3][UTIL_EDIT_MAX + 1], la = strlen(a), lb = strlen(b), i, j;
	size_t *cur, *prev, *pprev;

	if (lb > UTIL_EDIT_MAX)
		return SIZE_MAX;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++) {
		cur = d[i % 3];
		prev = d[(i - 1) % 3];
		pprev = d[(i + 1) % 3];		/* row i - 2, when i > 1 */
		cur[0] = i;
		for (j = 1; j <= lb; j++) {
			cur[j] = min3(prev[j] + 1, cur[j - 1] + 1,
			    prev[j - 1] + (a[i - 1] != b[j - 1]));
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && pprev[j - 2] + 1 < cur[j])
				cur[j] = pprev[j - 2] + 1;
		}
	}
	return d[la % 3][lb];
}

int
util_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
