/*
 * diag: the lists of errors and warnings. Callers read the errors as
 * msgs[0..n) of struct conf_errors, initialised { NULL, 0 }; everything
 * else (where each error is about, the warnings, whether it is sorted)
 * is kept in one block that msgs points into, its flexible array.
 */
#include "config/diag.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

#define MSG_MAX 1024

/* Messages and where each is about. */
struct diag_list {
	char **text;
	struct conf_where *where;
	size_t n;
};

struct diag {
	struct conf_where *where;	/* [n] of the errors */
	struct diag_list warnings;
	int sorted;			/* conf_errors_sort ran since the last add */
	char *msgs[];			/* the errors: conf_errors.msgs */
};

static struct diag *
diag_of(const struct conf_errors *e)
{
	return e->msgs != NULL ? container_of(e->msgs, struct diag, msgs) :
	    NULL;
}

/* The block, made on the first message. NULL if out of memory. */
static struct diag *
diag_get(struct conf_errors *e)
{
	struct diag *d = diag_of(e);

	if (d == NULL) {
		if ((d = calloc(1, sizeof(*d) + sizeof(char *))) == NULL)
			return NULL;
		e->msgs = d->msgs;
		e->n = 0;
	}
	return d;
}

/* A where for file:line (file copied); -1 if out of memory. */
static int
where_set(struct conf_where *w, const char *file, int line, size_t head)
{
	memset(w, 0, sizeof(*w));
	if (file != NULL && (w->file = strdup(file)) == NULL)
		return -1;
	w->line = file != NULL ? line : 0;
	w->head = head;
	return 0;
}

/* Appends an error; nothing is appended if memory runs out. */
static void
add_error(struct conf_errors *e, const char *text, const char *file, int line,
    size_t head)
{
	struct diag *d = diag_get(e), *nd;
	struct conf_where *w, nw;
	char *copy;

	if (d == NULL)
		return;
	if (where_set(&nw, file, line, head) == -1)
		return;
	if ((copy = strdup(text)) == NULL ||
	    (w = realloc(d->where, (e->n + 1) * sizeof(*w))) == NULL)
		goto fail;
	d->where = w;
	/* room for n + 1 messages, and one more so that the block is never empty */
	if ((nd = realloc(d, sizeof(*d) + (e->n + 2) * sizeof(char *))) ==
	    NULL)
		goto fail;
	e->msgs = nd->msgs;
	nd->msgs[e->n] = copy;
	nd->where[e->n] = nw;
	nd->sorted = 0;
	e->n++;
	return;
fail:
	free(copy);
	free(nw.file);
}

static void
add_warning(struct conf_errors *e, const char *text, const char *file,
    int line, size_t head)
{
	struct diag *d = diag_get(e);
	struct diag_list *l;
	struct conf_where *w, nw;
	char **v, *copy;

	if (d == NULL)
		return;
	l = &d->warnings;
	if (where_set(&nw, file, line, head) == -1)
		return;
	if ((copy = strdup(text)) == NULL ||
	    (v = realloc(l->text, (l->n + 1) * sizeof(*v))) == NULL)
		goto fail;
	l->text = v;
	if ((w = realloc(l->where, (l->n + 1) * sizeof(*w))) == NULL)
		goto fail;
	l->where = w;
	v[l->n] = copy;
	w[l->n] = nw;
	l->n++;
	d->sorted = 0;
	return;
fail:
	free(copy);
	free(nw.file);
}

/* "FILE:LINE: " + the formatted text into msg; returns the head length. */
static size_t
format(char *msg, size_t len, const char *file, int line, const char *fmt,
    va_list ap)
{
	int n;

	n = line > 0 ? snprintf(msg, len, "%s:%d: ", file, line) :
	    snprintf(msg, len, "%s: ", file);
	if (n < 0 || (size_t)n >= len)	/* a huge name: cut it */
		n = (int)len - 1;
	vsnprintf(msg + n, len - (size_t)n, fmt, ap);
	return (size_t)n;
}

void
conf_error(struct conf_errors *e, const char *file, int line,
    const char *fmt, ...)
{
	char msg[MSG_MAX];
	size_t head;
	va_list ap;

	va_start(ap, fmt);
	head = format(msg, sizeof(msg), file, line, fmt, ap);
	va_end(ap);
	add_error(e, msg, file, line, head);
}

void
conf_error_add(struct conf_errors *e, const char *msg)
{
	add_error(e, msg, NULL, 0, 0);
}

void
conf_warning(struct conf_errors *e, const char *file, int line,
    const char *fmt, ...)
{
	char msg[MSG_MAX];
	size_t head;
	va_list ap;

	va_start(ap, fmt);
	head = format(msg, sizeof(msg), file, line, fmt, ap);
	va_end(ap);
	add_warning(e, msg, file, line, head);
}

size_t
conf_errors_nwarnings(const struct conf_errors *e)
{
	const struct diag *d = diag_of(e);

	return d != NULL ? d->warnings.n : 0;
}

const struct conf_where *
conf_errors_where(const struct conf_errors *e, size_t i)
{
	const struct diag *d = diag_of(e);

	return d != NULL && i < e->n ? &d->where[i] : NULL;
}

/* --- sorting -------------------------------------------------------------- */

/*
 * Files not in the read list, in the order messages first name them;
 * and the last file ranked (messages come in runs about one file).
 */
struct extra_files {
	const char **names;
	size_t n;
	const char *last;
	size_t last_rank;
};

static size_t
rank_lookup(const char *file, char *const *files, size_t nfiles,
    struct extra_files *x)
{
	const char **v;
	size_t i;

	for (i = 0; i < nfiles; i++)
		if (strcmp(files[i], file) == 0)
			return i;
	for (i = 0; i < x->n; i++)
		if (strcmp(x->names[i], file) == 0)
			return nfiles + i;
	if ((v = realloc(x->names, (x->n + 1) * sizeof(*v))) == NULL)
		return SIZE_MAX - 1;	/* out of memory: after the others */
	x->names = v;
	v[x->n] = file;
	return nfiles + x->n++;
}

/* The rank of file: its place in files[], or after them. */
static size_t
rank_of(const char *file, char *const *files, size_t nfiles,
    struct extra_files *x)
{
	if (file == NULL)
		return SIZE_MAX;
	if (x->last == NULL || strcmp(x->last, file) != 0) {
		x->last_rank = rank_lookup(file, files, nfiles, x);
		x->last = file;
	}
	return x->last_rank;
}

/* One message's sort key: where it is about, then when it was found. */
struct key {
	size_t rank;
	int line;
	size_t seq;
};

static int
key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	if (x->rank != y->rank)
		return x->rank < y->rank ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts one list (v and w, n long) by its keys; stable. */
static void
sort_list(char **v, struct conf_where *w, size_t n, char *const *files,
    size_t nfiles, struct extra_files *x)
{
	struct conf_where *w2 = NULL;
	struct key *k = NULL;
	char **v2 = NULL;
	size_t i;

	for (i = 0; i < n; i++)
		w[i].rank = rank_of(w[i].file, files, nfiles, x);
	if (n < 2)
		return;
	if ((k = calloc(n, sizeof(*k))) == NULL ||
	    (v2 = calloc(n, sizeof(*v2))) == NULL ||
	    (w2 = calloc(n, sizeof(*w2))) == NULL)
		goto out;	/* out of memory: left in the order found */
	for (i = 0; i < n; i++) {
		k[i].rank = w[i].rank;
		k[i].line = w[i].line;
		k[i].seq = i;
	}
	qsort(k, n, sizeof(*k), key_cmp);
	for (i = 0; i < n; i++) {
		v2[i] = v[k[i].seq];
		w2[i] = w[k[i].seq];
	}
	memcpy(v, v2, n * sizeof(*v));
	memcpy(w, w2, n * sizeof(*w));
out:
	free(k);
	free(v2);
	free(w2);
}

void
conf_errors_sort(struct conf_errors *e, char *const *files, size_t nfiles)
{
	struct extra_files x = { NULL, 0, NULL, 0 };
	struct diag *d = diag_of(e);
	size_t i;

	if (d == NULL)
		return;
	/* files not read are ranked as errors, then warnings, name them */
	for (i = 0; i < e->n; i++)
		(void)rank_of(d->where[i].file, files, nfiles, &x);
	for (i = 0; i < d->warnings.n; i++)
		(void)rank_of(d->warnings.where[i].file, files, nfiles, &x);
	sort_list(e->msgs, d->where, e->n, files, nfiles, &x);
	sort_list(d->warnings.text, d->warnings.where, d->warnings.n, files,
	    nfiles, &x);
	free(x.names);
	d->sorted = 1;
}

/* --- reporting ------------------------------------------------------------ */

/* Does where a come before where b (a warning after an error on a tie)? */
static int
before(const struct conf_where *a, const struct conf_where *b)
{
	return a->rank != b->rank ? a->rank < b->rank : a->line <= b->line;
}

void
conf_errors_walk(const struct conf_errors *e, conf_diag_fn *fn, void *arg)
{
	const struct diag *d = diag_of(e);
	const struct diag_list *l;
	size_t i = 0, k = 0;

	if (d == NULL)
		return;
	l = &d->warnings;
	while (i < e->n || k < l->n) {
		if (i < e->n && (k == l->n || !d->sorted ||
		    before(&d->where[i], &l->where[k]))) {
			fn(arg, 0, e->msgs[i], &d->where[i]);
			i++;
		} else {
			fn(arg, 1, l->text[k], &l->where[k]);
			k++;
		}
	}
}

static void
print_one(void *arg, int warning, const char *text, const struct conf_where *w)
{
	FILE *f = arg;

	if (warning)
		fprintf(f, "%.*swarning: %s\n", (int)w->head, text,
		    text + w->head);
	else
		fprintf(f, "%s\n", text);
}

void
conf_errors_print(FILE *f, const struct conf_errors *e)
{
	conf_errors_walk(e, print_one, f);
}

static void
free_list(char **v, struct conf_where *w, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i]);
		free(w[i].file);
	}
}

void
conf_errors_free(struct conf_errors *e)
{
	struct diag *d = diag_of(e);

	if (d != NULL) {
		free_list(e->msgs, d->where, e->n);
		free(d->where);
		free_list(d->warnings.text, d->warnings.where, d->warnings.n);
		free(d->warnings.text);
		free(d->warnings.where);
		free(d);
	}
	e->msgs = NULL;
	e->n = 0;
}
