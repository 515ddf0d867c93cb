#include "client/say.h"

#include <stdarg.h>
#include <stdio.h>

void
client_say(const char *fmt, ...)
{
	va_list ap;

	fputs("sshgate: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
