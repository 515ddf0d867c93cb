/*
 * procnet: one line of Linux's /proc/net/tcp or /proc/net/tcp6, read as
 * data: the local address and port, the state and the socket's inode.
 * Pure; what reads the files is gateway/owner.c.
 */
#ifndef SSHGATE_PROCNET_H
#define SSHGATE_PROCNET_H

#include <stddef.h>

#define PROCNET_LISTEN 0x0a	/* TCP_LISTEN in the st column */

struct procnet_sock {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char addr[16];		/* 4 or 16 bytes, network order */
	unsigned port;
	unsigned state;
	unsigned long inode;
};

/*
 * Parses one line of /proc/net/tcp (family AF_INET) or tcp6 (AF_INET6).
 * Returns 0, or -1 for the header line or anything malformed.
 */
int procnet_parse(const char *line, int family, struct procnet_sock *out);

#endif
