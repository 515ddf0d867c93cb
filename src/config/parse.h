/*
 * parse: what the parts of config/ share while reading one config: the
 * parser's state, the keyword table's shape, and the helpers they call.
 * Private to config/ (read.c, keywords.c, check.c, config.c).
 */
#ifndef SSHGATE_PARSE_H
#define SSHGATE_PARSE_H

#include <stddef.h>

#include "config/config.h"

#define CONF_KEYWORDS_MAX 48	/* room in the parser's per-keyword state */
#define CONF_TIMEOUTS 6		/* handshake inspect connect idle dns drain */

enum kw_flags {
	KW_ONCE = 0x1,		/* a second one is an error naming the first */
	KW_REQUIRED = 0x2,	/* a config without one is an error */
};

struct parser;
struct keyword;

/* A keyword's parser: av[0] is the keyword, ac the words with it. */
typedef int kw_parse_fn(struct parser *p, const struct keyword *k,
    const struct conf_at *at, char **av, int ac);

/* One word of a keyword that takes one of a few (yes/no, ipv4/ipv6/any). */
struct kw_choice {
	const char *word;
	int value;
};

struct keyword {
	const char *name;
	int min, max;			/* words after the keyword */
	unsigned flags;			/* enum kw_flags */
	kw_parse_fn *parse;
	size_t off;			/* simple kinds: the field of struct conf */
	unsigned long lo, hi;		/* numbers: the range */
	const struct kw_choice *choices;	/* choices: NULL-terminated */
	const char *missing;		/* KW_REQUIRED: why none is wrong */
};

struct parser {
	struct conf *c;
	struct conf_errors *errs;
	int depth;			/* includes being read */
	/* [keyword index]: the first line naming it, even if wrong ... */
	struct conf_at seen[CONF_KEYWORDS_MAX];
	/* ... and the first that was taken (KW_ONCE) */
	struct conf_at set[CONF_KEYWORDS_MAX];
	struct conf_at timeouts[CONF_TIMEOUTS];	/* each kind is KW_ONCE */
	struct conf_at first_access;	/* access or access-pairs */
	struct policy pairs;		/* access-pairs rules, put last */
	size_t access_bad;		/* access or pairs lines in error */
	int nread;			/* files read, against the budget */
	long bytes_read;
	int budget_spent;		/* said once; nothing more is read */
	int resolver_system;
};

/* keywords.c: the table, and one directive (words from the lexer). */
extern const struct keyword conf_keywords[];
extern const size_t conf_nkeywords;
void conf_directive(struct parser *p, const char *file, int line, char **av,
    int ac);
/*
 * The keyword an unknown word most likely meant: ours for another
 * proxy's word (HAProxy's bind is listen), or the nearest keyword at
 * most 2 edits away (max-conections: max-connections); NULL if none.
 */
const char *conf_suggest(const char *word);
/* Where KW_ONCE keyword kw was taken, or NULL. */
const struct conf_at *conf_set(const struct parser *p, const char *kw);
/* Appends "out of memory" at at; returns -1. */
int conf_oom(struct parser *p, const struct conf_at *at);
/*
 * Returns base (of n elements of size sz) grown by one zeroed element,
 * or NULL with base untouched. The caller stores the new base.
 */
void *conf_grow(void *base, size_t n, size_t sz);

/* routes.c, access.c: the parsers of those directives. */
kw_parse_fn kw_route, kw_resolver, kw_destination;
kw_parse_fn kw_client_ca, kw_crl, kw_access, kw_access_pairs;

/* read.c: files, includes and lines. */
typedef void conf_line_fn(struct parser *p, const char *file, int line,
    char *text, size_t len, void *arg);
/*
 * Reads path: counts it against the budget of every file and byte one
 * load may read (includes can fan out), keeps its name for the errors,
 * and calls fn for each line (without its '\n'; a line too long or
 * holding a NUL byte is reported, after prefix, and skipped). from names
 * the directive that asked for it (NULL for the main file), what is its
 * keyword. Returns 0, or -1 if the file could not be read.
 */
int conf_read_lines(struct parser *p, const char *path,
    const struct conf_at *from, const char *what, const char *prefix,
    conf_line_fn *fn, void *arg);
/* Reads a config file (the main one: from is NULL). 0 or -1 as above. */
int conf_read_file(struct parser *p, const char *path,
    const struct conf_at *from);
/* path as named in file: relative to file's directory. Caller frees. */
char *conf_relative_to(const char *file, const char *path);
kw_parse_fn conf_kw_include;

/*
 * check.c: what the lines cannot say alone, once all are read (read: 0
 * when the main file could not be read, so that nothing is "missing").
 */
void conf_check(struct parser *p, int read);

#endif
