/*
 * banner: SSH's first bytes. The SSH-only gate's check of a client's,
 * and what the gateway answers a plain SSH client that came to its TLS
 * port: a version line and an SSH_MSG_DISCONNECT whose text the client
 * shows. Pure.
 */
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

/*
 * Writes into buf (len bytes) an SSH identification line and an
 * unencrypted SSH_MSG_DISCONNECT packet carrying why (RFC 4253 4.2, 6,
 * 11.1), which SSH clients print ("Received disconnect from ...").
 * Returns the length, or 0 if buf is too small.
 */
size_t banner_disconnect(unsigned char *buf, size_t len, const char *why);

#endif
