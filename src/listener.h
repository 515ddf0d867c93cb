/* listener: opens the listening sockets that workers accept on. */
#ifndef SSHGATE_LISTENER_H
#define SSHGATE_LISTENER_H

#include <stddef.h>

#include "addr.h"

/*
 * Opens a non-blocking listening socket on a with SO_REUSEPORT, so that
 * every worker can have its own socket on the same address and the
 * kernel spreads new connections among them. IPv6 sockets are v6-only.
 * Returns the fd, or -1 with a reason in err.
 */
int listener_open(const struct addr *a, char *err, size_t errlen);

#endif
