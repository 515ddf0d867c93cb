/*
 * read: the files of one config. Every file is read whole with
 * file_read (regular files only: a FIFO named by mistake must not hang
 * the reader), split into lines here, once for configs and pairs files
 * alike, within a budget of files and bytes for the whole load.
 */
#include <glob.h>
#include <stdlib.h>
#include <string.h>

#include "config/file.h"
#include "config/parse.h"
#include "core/lex.h"

#define INCLUDE_DEPTH_MAX 8
#define LINE_MAX_LEN 4096
#define CONF_SIZE_MAX (16u << 20)	/* no config is this large: a mistake */
/* what one load may read in all, includes and pairs files together */
#define CONF_FILES_MAX 256
#define CONF_TOTAL_MAX (64L << 20)

char *
conf_relative_to(const char *file, const char *path)
{
	const char *slash = strrchr(file, '/');
	size_t dlen;
	char *out;

	if (path[0] == '/' || slash == NULL)
		return strdup(path);
	dlen = (size_t)(slash - file) + 1;
	out = malloc(dlen + strlen(path) + 1);
	if (out != NULL) {
		memcpy(out, file, dlen);
		strcpy(out + dlen, path);
	}
	return out;
}

/*
 * Like conf_relative_to, for a glob: the including file's directory is
 * escaped, so that a '*' or '[' in it is not taken as a pattern.
 */
static char *
glob_relative_to(const char *file, const char *pattern)
{
	const char *slash = strrchr(file, '/');
	size_t i, k = 0, dlen;
	char *out;

	if (pattern[0] == '/' || slash == NULL)
		return strdup(pattern);
	dlen = (size_t)(slash - file) + 1;
	if ((out = malloc(2 * dlen + strlen(pattern) + 1)) == NULL)
		return NULL;
	for (i = 0; i < dlen; i++) {
		if (strchr("*?[\\", file[i]) != NULL)
			out[k++] = '\\';
		out[k++] = file[i];
	}
	strcpy(out + k, pattern);
	return out;
}

/*
 * Keeps path's name for error messages, and where it was named (from,
 * NULL for the main file); returns the name, or NULL.
 */
static char *
keep_name(struct parser *p, const char *path, const struct conf_at *from)
{
	struct conf_at *at;
	char **files, *name;

	files = realloc(p->c->files, (p->c->nfiles + 1) * sizeof(*files));
	if (files == NULL)
		return NULL;
	p->c->files = files;
	at = realloc(p->c->files_from, (p->c->nfiles + 1) * sizeof(*at));
	if (at == NULL)
		return NULL;
	p->c->files_from = at;
	if ((name = strdup(path)) == NULL)
		return NULL;
	at[p->c->nfiles].file = from != NULL ? from->file : NULL;
	at[p->c->nfiles].line = from != NULL ? from->line : 0;
	files[p->c->nfiles++] = name;
	return name;
}

int
conf_read_lines(struct parser *p, const char *path,
    const struct conf_at *from, const char *what, const char *prefix,
    conf_line_fn *fn, void *arg)
{
	const struct conf_at whole = { path, 0 };
	char *buf, *name, *s, *nl, why[128];
	size_t len, left, n;
	int line = 0;

	if (p->budget_spent)
		return -1;
	if (p->nread >= CONF_FILES_MAX || p->bytes_read > CONF_TOTAL_MAX) {
		p->budget_spent = 1;
		if (from == NULL)
			from = &whole;
		conf_error(p->errs, from->file, from->line, "%s: more than %d "
		    "files or %ld MiB read for one config (an include loop?); "
		    "reading stops here", what, CONF_FILES_MAX,
		    CONF_TOTAL_MAX >> 20);
		return -1;
	}
	p->nread++;
	if (file_read(path, CONF_SIZE_MAX, &buf, &len, why,
	    sizeof(why)) == -1) {
		if (from != NULL)
			conf_error(p->errs, from->file, from->line, "%s: cannot "
			    "read %s: %s", what, path, why);
		else
			conf_error(p->errs, path, 0, "cannot read: %s", why);
		return -1;
	}
	p->bytes_read += (long)len;
	if ((name = keep_name(p, path, from)) == NULL) {
		free(buf);
		return conf_oom(p, &whole);
	}
	for (s = buf, left = len; left > 0; s = nl + 1) {
		line++;
		nl = memchr(s, '\n', left);
		n = nl != NULL ? (size_t)(nl - s) : left;
		left -= nl != NULL ? n + 1 : n;
		if (n > LINE_MAX_LEN)
			conf_error(p->errs, name, line, "%sline longer than %d "
			    "characters", prefix, LINE_MAX_LEN);
		else if (memchr(s, '\0', n) != NULL)
			conf_error(p->errs, name, line, "%sNUL byte in line",
			    prefix);
		else {
			s[n] = '\0';
			fn(p, name, line, s, n, arg);
		}
		if (nl == NULL)
			break;
	}
	free(buf);
	return 0;
}

/* One line of a config file: words, then the directive. */
static void
config_line(struct parser *p, const char *file, int line, char *text,
    size_t len, void *arg)
{
	char *words[LEX_MAX_WORDS];
	const char *err;
	int n;

	(void)len;
	(void)arg;
	n = lex_line(text, words, LEX_MAX_WORDS, &err);
	if (n == -1)
		conf_error(p->errs, file, line, "%s", err);
	else if (n > 0)
		conf_directive(p, file, line, words, n);
}

int
conf_read_file(struct parser *p, const char *path, const struct conf_at *from)
{
	int rc;

	p->depth++;
	rc = conf_read_lines(p, path, from, "include", "", config_line, NULL);
	p->depth--;
	return rc;
}

/* include FILE-or-GLOB */
int
conf_kw_include(struct parser *p, const struct keyword *k,
    const struct conf_at *at, char **av, int ac)
{
	char *pattern, *plain;
	glob_t g;
	size_t i;
	int rc, bad = 0;

	(void)k;
	(void)ac;
	if (p->depth >= INCLUDE_DEPTH_MAX) {
		conf_error(p->errs, at->file, at->line, "include: nested more "
		    "than %d deep (an include loop?)", INCLUDE_DEPTH_MAX);
		return -1;
	}
	if ((pattern = glob_relative_to(at->file, av[1])) == NULL)
		return conf_oom(p, at);
	/* no GLOB_ERR: a missing or unreadable directory matches nothing */
	rc = glob(pattern, 0, NULL, &g);
	if (rc == GLOB_NOMATCH && strpbrk(av[1], "*?[") == NULL) {
		/* a plain file name must exist; a glob may match nothing */
		plain = conf_relative_to(at->file, av[1]);
		bad = plain != NULL ? conf_read_file(p, plain, at) :
		    conf_oom(p, at);
		free(plain);
	} else if (rc != 0 && rc != GLOB_NOMATCH) {
		conf_error(p->errs, at->file, at->line, "include: cannot "
		    "expand '%s'%s", pattern, rc == GLOB_NOSPACE ? ": out of "
		    "memory" : "");
		bad = -1;
	} else {
		for (i = 0; rc == 0 && i < g.gl_pathc; i++)
			if (conf_read_file(p, g.gl_pathv[i], at) == -1)
				bad = -1;
	}
	if (rc == 0 || rc == GLOB_NOMATCH)
		globfree(&g);
	free(pattern);
	return bad;
}
