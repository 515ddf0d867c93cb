/* lex: splits one config line into words. Pure. */
#ifndef SSHGATE_LEX_H
#define SSHGATE_LEX_H

/* Most words one directive may have. */
#define LEX_MAX_WORDS 64

/*
 * Splits line in place into at most max words: blanks separate words,
 * '#' outside quotes starts a comment, "double quotes" hold blanks and
 * '#', and inside them \" and \\ stand for " and \.
 * Returns the number of words (0 for a blank or comment line), or -1
 * with *err set to a static reason.
 */
int lex_line(char *line, char **words, int max, const char **err);

#endif
