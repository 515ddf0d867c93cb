#include "core/lex.h"

#include <stddef.h>

static int
blank(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n';
}

int
lex_line(char *line, char **words, int max, const char **err)
{
	char *r = line, *w;
	int n = 0;

	for (;;) {
		while (blank(*r))
			r++;
		if (*r == '\0' || *r == '#')
			return n;
		if (n == max) {
			*err = "too many words on one line";
			return -1;
		}
		words[n++] = w = r;
		/* copy the word onto itself, dropping quotes and escapes */
		while (*r != '\0' && !blank(*r) && *r != '#') {
			if (*r != '"') {
				*w++ = *r++;
				continue;
			}
			r++;
			while (*r != '"') {
				if (*r == '\0' || *r == '\n') {
					*err = "unterminated quote";
					return -1;
				}
				if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
					r++;
				*w++ = *r++;
			}
			r++;
		}
		if (*r == '#') {	/* comment right after a word */
			*w = '\0';
			return n;
		}
		if (*r != '\0')
			r++;
		*w = '\0';
	}
}
