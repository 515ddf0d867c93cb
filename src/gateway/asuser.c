#include "gateway/asuser.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/util.h"

/* Writes all of buf; the child's only output. */
static int
write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t w;

	while (len > 0) {
		if ((w = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * The child: becomes the user and says so (0, or -1 and the errno),
 * then the errno of each try (0: it works).
 */
static void
child(int fd, unsigned uid, unsigned gid, const struct asuser_try *v,
    size_t n)
{
	gid_t g = (gid_t)gid;
	size_t i;
	int e, f;

	if (setgroups(1, &g) == -1 || setgid(g) == -1 ||
	    setuid((uid_t)uid) == -1) {
		e = errno;
		(void)write_all(fd, &(int){ -1 }, sizeof(int));
		(void)write_all(fd, &e, sizeof(e));
		_exit(1);
	}
	(void)write_all(fd, &(int){ 0 }, sizeof(int));
	for (i = 0; i < n; i++) {
		e = 0;
		switch (v[i].want) {
		case ASUSER_READ:
			f = open(v[i].path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
			    O_CLOEXEC);
			if (f == -1)
				e = errno;
			else
				close(f);
			break;
		case ASUSER_SEARCH:
			if (access(v[i].path, X_OK) == -1)
				e = errno;
			break;
		case ASUSER_WRITE:
			if (access(v[i].path, W_OK) == -1)
				e = errno;
			break;
		}
		if (write_all(fd, &e, sizeof(e)) == -1)
			_exit(1);
	}
	_exit(0);
}

/* Reads exactly len bytes; -1 on an early end or error. */
static int
read_all(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t r;

	while (len > 0) {
		if ((r = read(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			return -1;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int
asuser_try(unsigned uid, unsigned gid, struct asuser_try *v, size_t n,
    char *err, size_t errlen)
{
	int fds[2], status, became, e = 0, rc = 0;
	size_t i;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) == -1) {
		util_errno(err, errlen, "pipe");
		return -1;
	}
	if ((pid = fork()) == -1) {
		util_errno(err, errlen, "fork");
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		child(fds[1], uid, gid, v, n);
	}
	close(fds[1]);
	/* read while the child writes: the pipe may hold fewer answers */
	if (read_all(fds[0], &became, sizeof(became)) == -1 ||
	    (became == -1 && read_all(fds[0], &e, sizeof(e)) == -1)) {
		snprintf(err, errlen, "the child that tries files as uid %u "
		    "ended early", uid);
		rc = -1;
	} else if (became == -1) {
		errno = e;
		util_errno(err, errlen, "cannot become uid %u gid %u", uid, gid);
		rc = -1;
	}
	for (i = 0; rc == 0 && i < n; i++)
		if (read_all(fds[0], &v[i].err, sizeof(v[i].err)) == -1) {
			snprintf(err, errlen, "the child that tries files as "
			    "uid %u ended early", uid);
			rc = -1;
		}
	close(fds[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	return rc;
}
