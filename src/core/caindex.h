/*
 * caindex: the index of a CA directory (DIR/index.txt), what `sshgate
 * ca` issued and revoked, one certificate a line, for people as much as
 * for the program:
 *
 *   # STATUS SERIAL NOT-AFTER REVOKED KIND NAME GROUPS
 *   V 5C1F...  2027-11-30T12:00:00Z -                    client alice ops,dev
 *   R 0E7A...  2027-11-30T12:00:00Z 2026-11-30T13:05:00Z client bob   dev
 *
 * STATUS V (valid) or R (revoked); SERIAL hex; times UTC; REVOKED "-"
 * while valid; KIND client or gateway; NAME the CN; GROUPS the OUs
 * joined by commas, "-" for none. In NAME and each group a blank, '%'
 * and a lone "-" are written %XX. The file may have been edited (or
 * tampered with): parsing checks every field and says FILE:LINE. Pure;
 * fuzzed.
 */
#ifndef SSHGATE_CAINDEX_H
#define SSHGATE_CAINDEX_H

#include <stddef.h>
#include <time.h>

#define CAINDEX_SERIAL_MAX 64	/* hex digits */
#define CAINDEX_GROUPS_MAX 64
#define CAINDEX_LINE_MAX 8192
#define CAINDEX_ENTRIES_MAX 100000

enum caindex_kind {
	CAINDEX_CLIENT = 0,
	CAINDEX_GATEWAY,
};

struct caindex_entry {
	int revoked;
	char serial[CAINDEX_SERIAL_MAX + 1];	/* upper-case hex */
	time_t not_after;
	time_t revoked_at;			/* 0 while valid */
	enum caindex_kind kind;
	char *name;
	char **groups;
	size_t ngroups;
};

struct caindex {
	struct caindex_entry *v;
	size_t n, cap;
};

void caindex_init(struct caindex *ix);
void caindex_free(struct caindex *ix);

/*
 * Parses an index's text (len bytes; NUL bytes are an error). Returns 0
 * with ix filled (caller frees), or -1 with "LINE: reason" in err and ix
 * empty.
 */
int caindex_parse(struct caindex *ix, const char *text, size_t len,
    char *err, size_t errlen);

/*
 * Appends a copy of e (its strings copied; serial upper-cased). Returns
 * 0, or -1 if memory ran out, the serial is already there, or the index
 * is full (errno EEXIST, ENOMEM or E2BIG).
 */
int caindex_add(struct caindex *ix, const struct caindex_entry *e);

/* The entry with this serial (hex, any case), or NULL. */
struct caindex_entry *caindex_find(const struct caindex *ix,
    const char *serial);

/* The whole index as text, with its header. Caller frees; NULL: no memory. */
char *caindex_format(const struct caindex *ix);

/* "2027-11-30T12:00:00Z" into buf (at least 21 bytes). */
void caindex_time(time_t t, char *buf, size_t len);

#endif
