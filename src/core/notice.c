#include "core/notice.h"

#include <stdio.h>
#include <string.h>

#define REASON_MAX 31

/* the longest line: magic, "refused", reason, text, blanks and CRLF */
_Static_assert(sizeof(NOTICE_MAGIC) - 1 + 7 + 1 + REASON_MAX + 1 +
    NOTICE_TEXT_MAX + 2 <= NOTICE_MAX, "NOTICE_MAX too small");

static const char *const kinds[] = {
	[NOTICE_REFUSED] = "refused", [NOTICE_ENDED] = "ended",
};

size_t
notice_format(char *buf, enum notice_kind kind, const char *reason,
    const char *text)
{
	char clean[NOTICE_TEXT_MAX + 1];
	size_t i;
	int n;

	for (i = 0; i < NOTICE_TEXT_MAX && text[i] != '\0'; i++)
		clean[i] = text[i] >= ' ' && text[i] < 0x7f ? text[i] : '?';
	clean[i] = '\0';
	n = snprintf(buf, NOTICE_MAX, NOTICE_MAGIC "%s %.*s %s\r\n",
	    kinds[kind], REASON_MAX, reason, clean);
	return n < 0 ? 0 : (size_t)n < NOTICE_MAX ? (size_t)n : NOTICE_MAX - 1;
}

int
notice_parse(const void *buf, size_t len, enum notice_kind *kind,
    char *reason, char *text)
{
	const char *p = buf, *end, *sp;
	size_t magic = strlen(NOTICE_MAGIC), k, n;

	if (len < magic || len > NOTICE_MAX || memcmp(p, NOTICE_MAGIC,
	    magic) != 0)
		return 0;
	end = p + len;
	if (len < 2 || end[-2] != '\r' || end[-1] != '\n')
		return 0;
	end -= 2;
	p += magic;
	for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		n = strlen(kinds[k]);
		if ((size_t)(end - p) > n && memcmp(p, kinds[k], n) == 0 &&
		    p[n] == ' ')
			break;
	}
	if (k == sizeof(kinds) / sizeof(kinds[0]))
		return 0;
	*kind = (enum notice_kind)k;
	p += strlen(kinds[k]) + 1;
	if ((sp = memchr(p, ' ', (size_t)(end - p))) == NULL ||
	    sp == p || (size_t)(sp - p) > REASON_MAX)
		return 0;
	memcpy(reason, p, (size_t)(sp - p));
	reason[sp - p] = '\0';
	p = sp + 1;
	n = (size_t)(end - p);
	if (n > NOTICE_TEXT_MAX)
		return 0;
	for (k = 0; k < n; k++)
		text[k] = p[k] >= ' ' && p[k] < 0x7f ? p[k] : '?';
	text[n] = '\0';
	return 1;
}
