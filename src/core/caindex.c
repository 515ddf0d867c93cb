#include "core/caindex.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/caname.h"
#include "core/sbuf.h"
#include "core/util.h"

#define NFIELDS 7
#define INDEX_MAX (64u << 20)	/* what caindex_format may build */

static const char header[] =
    "# sshgate CA index, written by `sshgate ca` (man sshgate-ca):\n"
    "# STATUS SERIAL NOT-AFTER REVOKED KIND NAME GROUPS\n";

void
caindex_init(struct caindex *ix)
{
	memset(ix, 0, sizeof(*ix));
}

static void
entry_free(struct caindex_entry *e)
{
	size_t i;

	free(e->name);
	for (i = 0; i < e->ngroups; i++)
		free(e->groups[i]);
	free(e->groups);
}

void
caindex_free(struct caindex *ix)
{
	size_t i;

	for (i = 0; i < ix->n; i++)
		entry_free(&ix->v[i]);
	free(ix->v);
	caindex_init(ix);
}

struct caindex_entry *
caindex_find(const struct caindex *ix, const char *serial)
{
	size_t i;

	for (i = 0; i < ix->n; i++)
		if (strcasecmp(ix->v[i].serial, serial) == 0)
			return &ix->v[i];
	return NULL;
}

/* caindex_add; without check_dup, the caller looks for twice-used serials. */
static int
append(struct caindex *ix, const struct caindex_entry *e, int check_dup)
{
	struct caindex_entry c;
	size_t i;

	if (check_dup && caindex_find(ix, e->serial) != NULL) {
		errno = EEXIST;
		return -1;
	}
	if (ix->n >= CAINDEX_ENTRIES_MAX || e->ngroups > CAINDEX_GROUPS_MAX) {
		errno = E2BIG;
		return -1;
	}
	if (ix->n == ix->cap) {
		size_t cap = ix->cap != 0 ? ix->cap * 2 : 16;
		struct caindex_entry *v = realloc(ix->v, cap * sizeof(*v));

		if (v == NULL)
			return -1;
		ix->v = v;
		ix->cap = cap;
	}
	c = *e;
	for (i = 0; c.serial[i] != '\0'; i++)
		if (c.serial[i] >= 'a' && c.serial[i] <= 'f')
			c.serial[i] = (char)(c.serial[i] - 'a' + 'A');
	c.name = strdup(e->name);
	c.groups = e->ngroups != 0 ? calloc(e->ngroups, sizeof(char *)) : NULL;
	c.ngroups = 0;
	if (c.name == NULL || (e->ngroups != 0 && c.groups == NULL))
		goto nomem;
	for (; c.ngroups < e->ngroups; c.ngroups++)
		if ((c.groups[c.ngroups] = strdup(e->groups[c.ngroups])) ==
		    NULL)
			goto nomem;
	ix->v[ix->n++] = c;
	return 0;
nomem:
	entry_free(&c);
	errno = ENOMEM;
	return -1;
}

int
caindex_add(struct caindex *ix, const struct caindex_entry *e)
{
	return append(ix, e, 1);
}

/* A serial and the line it was read from, to sort. */
struct serial_line {
	const char *serial;
	size_t line;
};

static int
by_serial_then_line(const void *a, const void *b)
{
	const struct serial_line *x = a, *y = b;
	int c = strcmp(x->serial, y->serial);	/* upper-cased by append */

	if (c != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/*
 * The first line (in file order) whose serial an earlier line already
 * has, among ix's entries read from lines line[0..ix->n); 0 if none,
 * (size_t)-1 if memory ran out. Sorting, not a search per line: an index
 * of many thousand certificates is read by every command.
 */
static size_t
first_duplicate(const struct caindex *ix, const size_t *line)
{
	struct serial_line *v;
	size_t i, first = 0;

	if (ix->n < 2)
		return 0;
	if ((v = calloc(ix->n, sizeof(*v))) == NULL)
		return (size_t)-1;
	for (i = 0; i < ix->n; i++) {
		v[i].serial = ix->v[i].serial;
		v[i].line = line[i];
	}
	qsort(v, ix->n, sizeof(*v), by_serial_then_line);
	for (i = 1; i < ix->n; i++)
		if (strcmp(v[i].serial, v[i - 1].serial) == 0 &&
		    (first == 0 || v[i].line < first))
			first = v[i].line;
	free(v);
	return first;
}

void
caindex_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "?");
}

/* Parses "YYYY-MM-DDTHH:MM:SSZ". Returns 0, or -1. */
static int
parse_time(const char *s, time_t *t)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	struct tm tm;
	int v[6], i, k = 0;

	if (strlen(s) != sizeof(shape) - 1)
		return -1;
	memset(v, 0, sizeof(v));
	for (i = 0; shape[i] != '\0'; i++) {
		if (shape[i] != 'd') {
			if (s[i] != shape[i])
				return -1;
			if (i > 0 && shape[i - 1] == 'd')
				k++;
			continue;
		}
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v[k] = v[k] * 10 + (s[i] - '0');
	}
	if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > 31 ||
	    v[3] > 23 || v[4] > 59 || v[5] > 60)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = v[0] - 1900;
	tm.tm_mon = v[1] - 1;
	tm.tm_mday = v[2];
	tm.tm_hour = v[3];
	tm.tm_min = v[4];
	tm.tm_sec = v[5];
	*t = timegm(&tm);
	return *t == (time_t)-1 ? -1 : 0;
}

/*
 * Decodes one NAME or group (n bytes at s, %XX escapes) into a new
 * string and checks it. Returns it, or NULL with *why set.
 */
static char *
decode_name(const char *s, size_t n, const char **why)
{
	char *out = malloc(n + 1);
	size_t i, o = 0;
	int hi, lo;

	if (out == NULL) {
		*why = "out of memory";
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 >= n) {
			*why = "a '%' not followed by two hex digits";
			free(out);
			return NULL;
		}
		hi = util_hexval((unsigned char)s[i + 1]);
		lo = util_hexval((unsigned char)s[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
			*why = "a '%' not followed by two hex digits (or %00)";
			free(out);
			return NULL;
		}
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = '\0';
	if ((*why = caname_check(out)) != NULL) {
		free(out);
		return NULL;
	}
	return out;
}

/* Splits a line (NUL-terminated, modified) into blank-separated fields. */
static size_t
split(char *line, char **f, size_t max)
{
	size_t n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return n;
		if (n == max)
			return max + 1;
		f[n++] = p;
		while (*p != '\0' && *p != ' ' && *p != '\t')
			p++;
		if (*p != '\0')
			*p++ = '\0';
	}
}

/* One line's entry, into ix. Returns 0, or -1 with why in err. */
static int
parse_line(struct caindex *ix, char *line, char *err, size_t errlen)
{
	struct caindex_entry e;
	char *f[NFIELDS], *g, *comma;
	char *groups[CAINDEX_GROUPS_MAX];
	const char *why = NULL;
	size_t n = split(line, f, NFIELDS), i;
	int rc = -1;

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); goto out; } while (0)
	memset(&e, 0, sizeof(e));
	e.groups = groups;
	if (n != NFIELDS)
		FAIL("expected 7 fields: STATUS SERIAL NOT-AFTER REVOKED KIND "
		    "NAME GROUPS");
	if (strcmp(f[0], "V") == 0)
		e.revoked = 0;
	else if (strcmp(f[0], "R") == 0)
		e.revoked = 1;
	else
		FAIL("STATUS is not V or R");
	n = strlen(f[1]);
	for (i = 0; i < n; i++)
		if (util_hexval((unsigned char)f[1][i]) < 0)
			break;
	if (n == 0 || n > CAINDEX_SERIAL_MAX || i < n)
		FAIL("SERIAL is not 1 to 64 hex digits");
	memcpy(e.serial, f[1], n + 1);
	if (parse_time(f[2], &e.not_after) == -1)
		FAIL("NOT-AFTER is not a time like 2027-11-30T12:00:00Z");
	if (strcmp(f[3], "-") == 0) {
		if (e.revoked)
			FAIL("a revoked certificate (R) needs its REVOKED time");
	} else if (!e.revoked)
		FAIL("a valid certificate (V) has \"-\" as REVOKED");
	else if (parse_time(f[3], &e.revoked_at) == -1)
		FAIL("REVOKED is not \"-\" or a time like 2027-11-30T12:00:00Z");
	if (strcmp(f[4], "client") == 0)
		e.kind = CAINDEX_CLIENT;
	else if (strcmp(f[4], "gateway") == 0)
		e.kind = CAINDEX_GATEWAY;
	else
		FAIL("KIND is not client or gateway");
	if ((e.name = decode_name(f[5], strlen(f[5]), &why)) == NULL)
		FAIL("NAME %s", why);
	for (g = f[6]; strcmp(f[6], "-") != 0; g = comma + 1) {
		comma = strchr(g, ',');
		if (e.ngroups == CAINDEX_GROUPS_MAX)
			FAIL("more than %d groups", CAINDEX_GROUPS_MAX);
		groups[e.ngroups] = decode_name(g, comma != NULL ?
		    (size_t)(comma - g) : strlen(g), &why);
		if (groups[e.ngroups] == NULL)
			FAIL("group %zu in GROUPS %s", e.ngroups + 1, why);
		e.ngroups++;
		if (comma == NULL)
			break;
	}
	if (append(ix, &e, 0) == -1)	/* twice-used serials: caindex_parse */
		FAIL("%s", errno == E2BIG ? "more certificates than an index "
		    "may hold" : "out of memory");
#undef FAIL
	rc = 0;
out:
	free(e.name);
	for (i = 0; i < e.ngroups; i++)
		free(groups[i]);
	return rc;
}

/*
 * Says which of two errors comes first in the file: a serial used twice
 * (first_duplicate of what was read) or, at line bad (0 if none), what
 * err already holds. Returns 0 if there is neither, else -1.
 */
static int
first_error(const struct caindex *ix, const size_t *line, size_t bad,
    char *err, size_t errlen)
{
	size_t dup = first_duplicate(ix, line);

	if (dup == (size_t)-1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (dup != 0 && (bad == 0 || dup < bad)) {
		snprintf(err, errlen, "%zu: SERIAL is already in the index",
		    dup);
		return -1;
	}
	return bad != 0 ? -1 : 0;
}

int
caindex_parse(struct caindex *ix, const char *text, size_t len, char *err,
    size_t errlen)
{
	char line[CAINDEX_LINE_MAX + 1], why[200];
	const char *p = text, *end = text + len, *nl;
	size_t n, lineno = 0, bad = 0, cap = 0, *lines = NULL;

	caindex_init(ix);
	if (memchr(text, '\0', len) != NULL) {
		snprintf(err, errlen, "holds a NUL byte: not an index");
		return -1;
	}
	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (size_t)((nl != NULL ? nl : end) - p);
		if (n > CAINDEX_LINE_MAX) {
			snprintf(err, errlen, "%zu: longer than %u bytes",
			    lineno, CAINDEX_LINE_MAX);
			bad = lineno;
			break;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p += n + (nl != NULL);
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (line[strspn(line, " \t")] == '\0' || line[0] == '#')
			continue;
		if (ix->n == cap) {
			size_t *v = realloc(lines, (cap != 0 ? cap * 2 : 64) *
			    sizeof(*lines));

			if (v == NULL) {
				snprintf(err, errlen, "%zu: out of memory",
				    lineno);
				bad = lineno;
				break;
			}
			lines = v;
			cap = cap != 0 ? cap * 2 : 64;
		}
		if (parse_line(ix, line, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%zu: %s", lineno, why);
			bad = lineno;
			break;
		}
		lines[ix->n - 1] = lineno;
	}
	if (first_error(ix, lines, bad, err, errlen) == -1) {
		free(lines);
		caindex_free(ix);
		return -1;
	}
	free(lines);
	return 0;
}

/* One NAME or group, with blanks, '%' and a lone "-" escaped. */
static void
encode_name(struct sbuf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	if (strcmp(s, "-") == 0) {
		sbuf_str(b, "%2D");
		return;
	}
	for (; *p != '\0'; p++) {
		if (*p <= ' ' || *p == '%' || *p == ',' || *p == 0x7f)
			sbuf_printf(b, "%%%02X", *p);
		else
			sbuf_add(b, p, 1);
	}
}

char *
caindex_format(const struct caindex *ix)
{
	const struct caindex_entry *e;
	char t1[32], t2[32];
	struct sbuf b;
	size_t i, j;

	sbuf_growing(&b, INDEX_MAX);
	sbuf_str(&b, header);
	for (i = 0; i < ix->n; i++) {
		e = &ix->v[i];
		caindex_time(e->not_after, t1, sizeof(t1));
		if (e->revoked)
			caindex_time(e->revoked_at, t2, sizeof(t2));
		else
			snprintf(t2, sizeof(t2), "-");
		sbuf_printf(&b, "%c %s %s %-20s %-7s ", e->revoked ? 'R' :
		    'V', e->serial, t1, t2, e->kind == CAINDEX_GATEWAY ?
		    "gateway" : "client");
		encode_name(&b, e->name);
		sbuf_str(&b, " ");
		for (j = 0; j < e->ngroups; j++) {
			if (j > 0)
				sbuf_str(&b, ",");
			encode_name(&b, e->groups[j]);
		}
		if (e->ngroups == 0)
			sbuf_str(&b, "-");
		sbuf_str(&b, "\n");
	}
	sbuf_add(&b, "", 1);
	if (b.failed) {
		sbuf_free(&b);
		return NULL;
	}
	return b.p;
}
