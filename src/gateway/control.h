/* control: the control socket behind `sshgate ctl` (the gateway side). */
#ifndef SSHGATE_CONTROL_H
#define SSHGATE_CONTROL_H

#include <ev.h>
#include <stddef.h>

#include "config/config.h"
#include "core/stats.h"

struct gateway;

struct control_ops {
	void *arg;
	struct gateway *gw;
	/* Reloads; returns 0, or -1 with the errors appended to errs. */
	int (*reload)(void *arg, struct conf_errors *errs);
	void (*snapshot)(void *arg, struct stats_snapshot *out);
};

struct control;

/*
 * Listens on the UNIX socket path, made 0600 and, when running as root
 * with uid > 0, owned by that user (named user, for messages), without
 * a path race (listener_open_unix). Call before any thread exists: it may
 * switch effective ids for a moment. Returns it, or NULL with err.
 */
struct control *control_start(struct ev_loop *loop, const char *path,
    long uid, long gid, const char *user, const struct control_ops *ops,
    char *err, size_t errlen);
void control_stop(struct control *ctl);
const char *control_path(const struct control *ctl);


#endif
