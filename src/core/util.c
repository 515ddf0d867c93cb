#include "core/util.h"

#include <errno.h>
#include <stdarg.h>
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
