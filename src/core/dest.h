/*
 * dest: destination safety for routes whose destination the client
 * chooses (resolve, direct). Pure: the gateway's own addresses are
 * given by the caller.
 */
#ifndef SSHGATE_DEST_H
#define SSHGATE_DEST_H

#include <stddef.h>

#include "core/addr.h"

struct dest_policy {
	struct cidr *allow;		/* allow-destination, in order */
	size_t nallow;
	struct cidr *deny;		/* deny-destination: always wins */
	size_t ndeny;
	struct addr *own;		/* the gateway's own addresses */
	size_t nown;
};

enum dest_verdict {
	DEST_OK = 0,
	DEST_DENIED,		/* in a deny-destination range */
	DEST_NOT_ALLOWED,	/* in no allow-destination range */
	DEST_SPECIAL,		/* loopback, link-local, ... not named */
	DEST_OWN,		/* one of the gateway's own addresses */
};

/*
 * Judges a destination address (port ignored). Special ranges and own
 * addresses pass only if an allow entry lying inside that range (own:
 * a host entry for exactly that address) contains the address; a
 * catch-all such as 0.0.0.0/0 does not count. Writes a short reason
 * ("127.0.0.1 is loopback") into why when the verdict is not DEST_OK.
 */
enum dest_verdict dest_check(const struct dest_policy *p, const struct addr *a,
    char *why, size_t whylen);

/* Returns 1 if inner lies entirely inside outer (same family). */
int cidr_within(const struct cidr *inner, const struct cidr *outer);

#endif
