/*
 * asuser: what the service user will be able to open once serve has
 * dropped root for it, asked of the kernel: a child process drops to
 * that user exactly as serve does (setgroups to its one group, setgid,
 * setuid) and tries each path, then reports back through a pipe. No
 * guess from mode bits, owners or ACLs: the answer is the one a reload
 * would get.
 */
#ifndef SSHGATE_ASUSER_H
#define SSHGATE_ASUSER_H

#include <stddef.h>

enum asuser_want {
	ASUSER_READ = 0,	/* open(O_RDONLY | O_NONBLOCK) succeeds */
	ASUSER_SEARCH,		/* a directory it may look up names in (X_OK) */
	ASUSER_WRITE,		/* a file it may write (W_OK) */
};

struct asuser_try {
	const char *path;
	enum asuser_want want;
	int err;		/* out: 0, or the errno the user would get */
};

/*
 * Tries each of v[n] as uid:gid (root only: call before dropping root,
 * and with no lock held that the child could need; the child only makes
 * system calls). Returns 0 with v[i].err set, or -1 with a reason in err
 * when the child could not be run or could not become the user.
 */
int asuser_try(unsigned uid, unsigned gid, struct asuser_try *v, size_t n,
    char *err, size_t errlen);

#endif
