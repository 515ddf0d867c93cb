/*
 * proxy: the PROXY protocol (v1 text, v2 binary) that L4 load balancers
 * put before a connection's first byte to carry the client's address;
 * parsing for `listen ... proxy-protocol`, building v2 for
 * `route ... send-proxy`. Pure.
 */
#ifndef SSHGATE_PROXY_H
#define SSHGATE_PROXY_H

#include <stddef.h>

#include "core/addr.h"

/* Longest header accepted (v1: 107; v2 with TLVs, bounded here). */
#define PROXY_HEADER_MAX 1024

enum proxy_status {
	PROXY_NEED_MORE = 0,	/* a valid start: read more */
	PROXY_OK,		/* *used bytes are the header */
	PROXY_BAD,		/* not a valid header: refuse */
};

struct proxy_info {
	int local;		/* v2 LOCAL / v1 UNKNOWN: no address carried */
	struct addr src, dst;
};

/*
 * Parses the header at the start of buf[0..len). On PROXY_OK, *used is
 * its length and info holds the addresses. On PROXY_BAD, why says what.
 */
enum proxy_status proxy_parse(const unsigned char *buf, size_t len,
    size_t *used, struct proxy_info *info, const char **why);

/*
 * Builds a v2 PROXY header for a TCP connection from src to dst (same
 * family; else LOCAL) into out (at least 52 bytes). Returns its length.
 */
size_t proxy_build_v2(const struct addr *src, const struct addr *dst,
    unsigned char *out);

#endif
