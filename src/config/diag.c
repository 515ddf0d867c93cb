#include "config/diag.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MSG_MAX 1024

void
conf_error(struct conf_errors *e, const char *file, int line,
    const char *fmt, ...)
{
	char msg[MSG_MAX];
	va_list ap;
	int n;

	n = line > 0 ? snprintf(msg, sizeof(msg), "%s:%d: ", file, line) :
	    snprintf(msg, sizeof(msg), "%s: ", file);
	if (n < 0 || (size_t)n >= sizeof(msg))	/* a huge name: cut it */
		n = (int)sizeof(msg) - 1;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	conf_error_add(e, msg);
}

void
conf_error_add(struct conf_errors *e, const char *msg)
{
	char **v = realloc(e->msgs, (e->n + 1) * sizeof(*v));

	if (v == NULL)
		return;
	e->msgs = v;
	if ((v[e->n] = strdup(msg)) != NULL)
		e->n++;
}

void
conf_errors_free(struct conf_errors *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->msgs[i]);
	free(e->msgs);
	e->msgs = NULL;
	e->n = 0;
}
