/*
 * owner: one gateway per address. SO_REUSEPORT lets any process of the
 * same user bind an address:port another process already listens on,
 * and the kernel then splits new connections between them: a second
 * gateway started by mistake would silently take half of the clients.
 * So after binding, the gateway looks for any other process's listening
 * socket on the same port at an overlapping address, and refuses.
 */
#ifndef SSHGATE_OWNER_H
#define SSHGATE_OWNER_H

#include <stddef.h>

#include "core/addr.h"

/*
 * Call with this process's socket on a bound and listening. Returns 0 if
 * no other process listens there, or -1 with err naming the address and,
 * where it can be known, the other process ("pid 1234, sshgate"). what
 * says what the address is for ("listen", "metrics").
 */
int owner_check(const struct addr *a, const char *what, char *err,
    size_t errlen);

#endif
