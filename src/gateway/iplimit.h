/*
 * iplimit: per-client-address limits shared by all workers: open
 * connections (max-connections-per-ip) and new connections per time
 * (rate-limit-per-ip, a token bucket). Striped locks: workers contend
 * only when two clients hash to the same stripe.
 */
#ifndef SSHGATE_IPLIMIT_H
#define SSHGATE_IPLIMIT_H

#include <stddef.h>

#include "core/addr.h"

enum iplimit_verdict {
	IPLIMIT_OK = 0,
	IPLIMIT_TOO_MANY,	/* max open connections reached */
	IPLIMIT_RATE,		/* too many new connections lately */
};

struct iplimit;

struct iplimit *iplimit_new(void);
void iplimit_free(struct iplimit *t);

/*
 * A new connection from a (port ignored) at time now (seconds): max is
 * the open-connection limit (0: none), rate_n per rate_secs the bucket
 * (rate_n 0: none). On IPLIMIT_OK the connection counts as open until
 * iplimit_leave.
 */
enum iplimit_verdict iplimit_enter(struct iplimit *t, const struct addr *a,
    unsigned long max, unsigned long rate_n, double rate_secs, double now);
void iplimit_leave(struct iplimit *t, const struct addr *a);

/* Addresses remembered now (bounded: idle ones are dropped). */
size_t iplimit_count(struct iplimit *t);

#endif
