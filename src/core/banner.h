/* banner: the SSH-only gate's check of a client's first bytes. Pure. */
#ifndef SSHGATE_BANNER_H
#define SSHGATE_BANNER_H

#include <stddef.h>

enum banner_verdict {
	BANNER_NEED_MORE = 0,	/* a prefix of a valid start: read more */
	BANNER_OK,		/* starts with "SSH-2.0-" or "SSH-1.99-" */
	BANNER_BAD,		/* cannot be SSH: refuse */
};

/* Judges the first len bytes a client sent (buf may hold NULs). */
enum banner_verdict banner_check(const void *buf, size_t len);

#endif
