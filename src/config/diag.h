/*
 * diag: the FILE:LINE errors and warnings every config check appends to
 * (the parser, the TLS loader, the runtime), reported all at once. Each
 * message keeps where it is about as data, so that the list can be put
 * in file and line order however it was found.
 */
#ifndef SSHGATE_DIAG_H
#define SSHGATE_DIAG_H

#include <stddef.h>
#include <stdio.h>

/* Where a directive was given. */
struct conf_at {
	const char *file;
	int line;		/* 0: the file as a whole */
};

/* Where one message is about, kept beside it. */
struct conf_where {
	char *file;		/* a copy; NULL: no file (conf_error_add) */
	int line;
	size_t head;		/* bytes of "FILE:LINE: " before the text */
	size_t rank;		/* the file's order, set by conf_errors_sort */
};

/*
 * What loading found: errors, each "FILE:LINE: message" (a config with
 * one is refused), and warnings (a config with only warnings is used).
 * msgs and n are the errors, as callers read them; where each is about
 * and the warnings live behind msgs, in diag.c's block, so that
 * { NULL, 0 } is still an empty list.
 */
struct conf_errors {
	char **msgs;
	size_t n;
};

/* Appends one formatted error (line 0: "FILE: message"). */
void conf_error(struct conf_errors *e, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Appends a message as it is, about no file: it sorts last. */
void conf_error_add(struct conf_errors *e, const char *msg);
/* Appends one formatted warning, like conf_error. */
void conf_warning(struct conf_errors *e, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * Puts errors and warnings in order: by file, in the order of files[]
 * (the order they were read; files not in it after those, in the order
 * they first appear), then by line (0, the file as a whole, first); a
 * message about no file last. Stable: messages about one line keep the
 * order they were found in.
 */
void conf_errors_sort(struct conf_errors *e, char *const *files,
    size_t nfiles);

/* How many warnings; where error i is about (i < n). */
size_t conf_errors_nwarnings(const struct conf_errors *e);
const struct conf_where *conf_errors_where(const struct conf_errors *e,
    size_t i);

/*
 * Calls fn for every error (warning 0) and warning (1), text as kept:
 * sorted, the two lists merged in that order (an error first on a tie);
 * else the errors first.
 */
typedef void conf_diag_fn(void *arg, int warning, const char *text,
    const struct conf_where *w);
void conf_errors_walk(const struct conf_errors *e, conf_diag_fn *fn,
    void *arg);

/*
 * Prints them so to f, one a line: errors as they are, warnings as
 * "FILE:LINE: warning: message".
 */
void conf_errors_print(FILE *f, const struct conf_errors *e);

void conf_errors_free(struct conf_errors *e);

#endif
