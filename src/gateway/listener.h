/*
 * listener: opens the listening sockets that workers accept on, and the
 * control socket's UNIX socket.
 */
#ifndef SSHGATE_LISTENER_H
#define SSHGATE_LISTENER_H

#include <ev.h>
#include <stddef.h>
#include <sys/types.h>

#include "core/addr.h"

struct conf;
struct worker;

/* One listening socket of one worker. */
struct listener {
	int fd;
	struct addr addr;
	int proxy_protocol;		/* expects a PROXY header first */
	ev_io io;			/* the worker's; set by the worker */
	struct worker *w;
};

/*
 * Opens a non-blocking listening socket on a with SO_REUSEPORT, so that
 * every worker can have its own socket on the same address and the
 * kernel spreads new connections among them. IPv6 sockets are v6-only.
 * Returns the fd, or -1 with a reason in err.
 */
int listener_open(const struct addr *a, char *err, size_t errlen);

/*
 * The gateway's sockets: a table of nworkers rows of conf's listen
 * addresses (row w is worker w's), every one its own SO_REUSEPORT
 * socket. Sockets of old (n_old addresses a row) whose address conf
 * keeps are reused, the others are opened. Returns the table (free()),
 * or NULL with the reason in err; on failure nothing this call opened
 * is left open.
 */
struct listener *listener_table(const struct conf *conf, size_t nworkers,
    const struct listener *old, size_t n_old, char *err, size_t errlen);

/* Closes every socket of the n entries of t. */
void listener_table_close(struct listener *t, size_t n);

/* Closes the sockets of t[n] that are not also in old[n_old]. */
void listener_table_close_new(const struct listener *t, size_t n,
    const struct listener *old, size_t n_old);

/* A listening UNIX socket, and where it lives (to remove only it). */
struct unix_listener {
	int fd;
	int dirfd;		/* its directory (O_PATH), held open */
	char name[108];		/* its name in there */
	int bound;		/* a node was made there: dev, ino */
	dev_t dev;
	ino_t ino;
};

/*
 * Opens a non-blocking listening UNIX socket at path, mode 0600, without
 * a path race: the directory is opened once and every step after that
 * happens inside it, none following a symlink at the name. A socket
 * there that no one answers on (its gateway died) is replaced; anything
 * else there is an error.
 * Started as root with uid > 0 (the service user, named user), the socket
 * is made theirs: in a directory that only root may change, it is bound
 * as root and given with fchownat(AT_SYMLINK_NOFOLLOW); anywhere else it
 * is bound with that user's effective ids (gid the only group), so that
 * it is born theirs and nothing is changed by name afterwards. Switching
 * ids is process-wide: call before any thread exists.
 * Returns 0, or -1 with a reason in err (ul then holds nothing).
 */
int listener_open_unix(struct unix_listener *ul, const char *path, long uid,
    long gid, const char *user, char *err, size_t errlen);

/* Closes it, and removes its node if that is still the one bound. */
void listener_close_unix(struct unix_listener *ul);

#endif
