/*
 * diag: the FILE:LINE error list every config check appends to (the
 * parser, the TLS loader, the runtime), reported all at once.
 */
#ifndef SSHGATE_DIAG_H
#define SSHGATE_DIAG_H

#include <stddef.h>

/* Where a directive was given. */
struct conf_at {
	const char *file;
	int line;		/* 0: the file as a whole */
};

/* Errors collected while loading, each "FILE:LINE: message". */
struct conf_errors {
	char **msgs;
	size_t n;
};

/* Appends one formatted error (line 0: "FILE: message"). */
void conf_error(struct conf_errors *e, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Appends a message as it is. */
void conf_error_add(struct conf_errors *e, const char *msg);
void conf_errors_free(struct conf_errors *e);

#endif
