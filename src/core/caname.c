#include "core/caname.h"

#include <stdio.h>
#include <string.h>

#include "core/util.h"

/* Length of the UTF-8 sequence at s (n bytes left), or 0 if invalid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	/* C1 controls (U+0080..U+009F) are control characters too */
	if (cp >= 0x80 && cp <= 0x9f)
		return 0;
	return len;
}

const char *
caname_check(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i, l;

	if (n == 0)
		return "is empty";
	if (n > CANAME_MAX)
		return "is longer than 64 bytes";
	if (p[0] == ' ' || p[n - 1] == ' ')
		return "begins or ends with a blank";
	for (i = 0; i < n; i += l) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return "holds a control character";
		if (p[i] == ',')
			return "holds a comma (pairs files and the log use "
			    "it between names)";
		if (p[i] == '"' || p[i] == '\\')
			return "holds a quote or backslash (a config file "
			    "could not name it)";
		if ((l = utf8_len(p + i, n - i)) == 0)
			return "is not valid UTF-8 (or holds a control "
			    "character)";
	}
	return NULL;
}

const char *
caname_check_user(const char *s)
{
	const char *why = caname_check(s);

	if (why == NULL && strchr(s, '/') != NULL)
		why = "holds a slash (the user's files are named after it)";
	return why;
}

const char *
caname_check_dns(const char *s)
{
	size_t n = strlen(s), label = 0, i;

	if (n == 0)
		return "is empty";
	if (n > CANAME_DNS_MAX)
		return "is longer than 253 bytes";
	if (strncmp(s, "*.", 2) == 0) {
		s += 2;
		n -= 2;
		if (n == 0)
			return "has nothing after \"*.\"";
	}
	for (i = 0; i <= n; i++) {
		char ch = s[i];

		if (ch == '.' || ch == '\0') {
			if (label == 0)
				return "has an empty label";
			if (s[i - 1] == '-')
				return "has a label ending with '-'";
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '-'))
			return "holds a character other than letters, digits, "
			    "'-' and '.' (a leading \"*.\" aside)";
		if (ch == '-' && label == 0)
			return "has a label beginning with '-'";
		if (++label > 63)
			return "has a label longer than 63 bytes";
	}
	return NULL;
}

int
caname_period(const struct caname_period *p, const char *days,
    const char *hours, long *secs, char *err, size_t errlen)
{
	unsigned long v;

	if (days != NULL && hours != NULL) {
		snprintf(err, errlen, "give --days or --hours, not both");
		return -1;
	}
	if (hours != NULL && !p->hours_ok) {
		snprintf(err, errlen, "--hours is not an option here");
		return -1;
	}
	if (days != NULL) {
		if (util_parse_uint(days, 1, (unsigned long)p->max_days,
		    &v) == -1) {
			snprintf(err, errlen, "--days must be a whole number "
			    "from 1 to %ld, not \"%s\"", p->max_days, days);
			return -1;
		}
		*secs = (long)v * 86400;
		return 0;
	}
	if (hours != NULL) {
		if (util_parse_uint(hours, 1, (unsigned long)p->max_days * 24,
		    &v) == -1) {
			snprintf(err, errlen, "--hours must be a whole number "
			    "from 1 to %ld, not \"%s\"", p->max_days * 24,
			    hours);
			return -1;
		}
		*secs = (long)v * 3600;
		return 0;
	}
	*secs = p->def;
	return 0;
}
