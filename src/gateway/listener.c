#include "gateway/listener.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "config/config.h"
#include "core/util.h"
#include "gateway/conn.h"
#include "gateway/owner.h"

#define LISTEN_BACKLOG 1024

int
listener_open(const struct addr *a, char *err, size_t errlen)
{
	char text[ADDR_TEXT_MAX];
	int fd, on = 1;

	addr_format(a, text, sizeof(text));
	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		util_errno(err, errlen, "listen %s: socket", text);
		return -1;
	}
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1 ||
	    (a->ss.ss_family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6,
	    IPV6_V6ONLY, &on, sizeof(on)) == -1)) {
		util_errno(err, errlen, "listen %s: setsockopt", text);
		close(fd);
		return -1;
	}
	conn_tune_socket(fd);	/* accepted sockets inherit the options */
	if (bind(fd, (const struct sockaddr *)&a->ss, a->len) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1) {
		util_errno(err, errlen, "listen %s", text);
		close(fd);
		return -1;
	}
	return fd;
}

struct listener *
listener_table(const struct conf *conf, size_t nworkers,
    const struct listener *old, size_t n_old, char *err, size_t errlen)
{
	size_t na = conf->nlistens, w, i, j;
	struct listener *t = calloc(nworkers * na, sizeof(*t));

	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < nworkers * na; i++)
		t[i].fd = -1;
	for (w = 0; w < nworkers; w++) {
		for (i = 0; i < na; i++) {
			struct listener *l = &t[w * na + i];

			l->addr = conf->listens[i].addr;
			l->proxy_protocol = conf->listens[i].proxy_protocol;
			for (j = 0; j < n_old; j++)
				if (addr_equal(&old[w * n_old + j].addr,
				    &l->addr))
					l->fd = old[w * n_old + j].fd;
			if (l->fd != -1)
				continue;
			if ((l->fd = listener_open(&l->addr, err, errlen)) ==
			    -1 || (w == 0 && owner_check(&l->addr, "listen",
			    err, errlen) == -1)) {
				listener_table_close_new(t, nworkers * na, old,
				    nworkers * n_old);
				free(t);
				return NULL;
			}
		}
	}
	return t;
}

void
listener_table_close(struct listener *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].fd != -1)
			close(t[i].fd);
}

void
listener_table_close_new(const struct listener *t, size_t n,
    const struct listener *old, size_t n_old)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < n_old; k++)
			if (old[k].fd == t[i].fd)
				break;
		if (k == n_old && t[i].fd != -1)
			close(t[i].fd);
	}
}

/* Effective ids to come back to after binding as the service user. */
struct saved_ids {
	gid_t egid;
	gid_t *groups;
	int ngroups;
};

/* Takes uid and gid as effective ids, gid as the only group. 0 or -1. */
static int
ids_become(long uid, long gid, struct saved_ids *sv)
{
	gid_t g = (gid_t)gid;
	int n, e;

	sv->egid = getegid();
	if ((n = getgroups(0, NULL)) == -1)
		return -1;
	if ((sv->groups = calloc((size_t)n + 1, sizeof(gid_t))) == NULL)
		return -1;
	if ((sv->ngroups = getgroups(n, sv->groups)) == -1)
		goto fail;
	if (setgroups(1, &g) == -1)
		goto fail;
	if (setegid(g) == -1 || seteuid((uid_t)uid) == -1) {
		e = errno;
		/* root taking back its own ids cannot be refused */
		if (setegid(sv->egid) == -1 ||
		    setgroups((size_t)sv->ngroups, sv->groups) == -1)
			abort();
		errno = e;
		goto fail;
	}
	return 0;
fail:
	e = errno;
	free(sv->groups);
	errno = e;
	return -1;
}

/* Back to root's ids. 0, or -1: then the process must not go on. */
static int
ids_restore(struct saved_ids *sv)
{
	int rc = 0;

	if (seteuid(0) == -1 || setegid(sv->egid) == -1 ||
	    setgroups((size_t)sv->ngroups, sv->groups) == -1)
		rc = -1;
	free(sv->groups);
	return rc;
}

/*
 * Makes name free in the current directory (that of dirfd): nothing is
 * there, or a socket no one answers on, which is removed. as says who
 * acts in messages (" as user NAME", or ""). Returns 0, or -1 with a
 * reason in err.
 */
static int
clear_stale(int dirfd, const char *name, const char *path, const char *as,
    char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct stat st;
	int probe, rc;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return 0;
		util_errno(err, errlen, "%s: looking%s", path, as);
		return -1;
	}
	if (!S_ISSOCK(st.st_mode)) {	/* a symlink too: never followed */
		snprintf(err, errlen, "%s: exists and is not a socket", path);
		return -1;
	}
	/* non-blocking: a live gateway with a full backlog says EAGAIN */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, name, strlen(name));
	if ((probe = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		util_errno(err, errlen, "%s: socket", path);
		return -1;
	}
	rc = connect(probe, (struct sockaddr *)&sun, sizeof(sun));
	if (rc == -1 && errno == EAGAIN)
		rc = 0;		/* someone listens, and is busy */
	if (rc == -1 && errno != ECONNREFUSED && errno != ENOENT) {
		util_errno(err, errlen, "%s: probing the socket there%s",
		    path, as);
		close(probe);
		return -1;
	}
	close(probe);
	if (rc == 0) {
		snprintf(err, errlen, "%s: another gateway is using it", path);
		return -1;
	}
	if (unlinkat(dirfd, name, 0) == -1 && errno != ENOENT) {
		util_errno(err, errlen, "%s: cannot remove the old socket%s",
		    path, as);
		return -1;
	}
	return 0;
}

int
listener_open_unix(struct unix_listener *ul, const char *path, long uid,
    long gid, const char *user, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	struct saved_ids sv;
	struct stat dst, st;
	const char *slash = strrchr(path, '/'), *name;
	char dir[sizeof(sun.sun_path)], who[64], as[80];
	int cwd = -1, as_user = 0, give = 0, rc;
	mode_t old;

	memset(ul, 0, sizeof(*ul));
	ul->fd = ul->dirfd = -1;
	name = slash != NULL ? slash + 1 : path;
	if (*name == '\0' || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		snprintf(err, errlen, "%s: not a file name", path);
		return -1;
	}
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if (slash == NULL)
		util_strlcpy(dir, ".", sizeof(dir));
	else if (slash == path)
		util_strlcpy(dir, "/", sizeof(dir));
	else
		util_strlcpy(dir, path, (size_t)(slash - path) + 1);
	util_strlcpy(ul->name, name, sizeof(ul->name));
	if (user != NULL)
		snprintf(who, sizeof(who), "user %s", user);
	else
		snprintf(who, sizeof(who), "uid %ld", uid);
	as[0] = '\0';
	/* every step below happens in this directory, by name in it */
	if ((ul->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fstat(ul->dirfd, &dst) == -1 ||
	    (cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fchdir(ul->dirfd) == -1) {
		util_errno(err, errlen, "%s: %s", path, dir);
		goto fail;
	}
	if (geteuid() == 0 && uid > 0) {
		/* only root may change it: no one can swap the name under us */
		if (dst.st_uid == 0 && (dst.st_mode & (S_IWGRP | S_IWOTH)) == 0)
			give = 1;
		else
			as_user = 1;
	}
	if (as_user && ids_become(uid, gid, &sv) == -1) {
		util_errno(err, errlen, "%s: cannot act as %s", path, who);
		goto fail;
	}
	if (as_user)
		snprintf(as, sizeof(as), " as %s", who);
	if (as_user && faccessat(AT_FDCWD, ".", W_OK | X_OK, AT_EACCESS) == -1) {
		util_errno(err, errlen, "%s: %s cannot create it in %s", path,
		    who, dir);
		rc = -1;
	} else
		rc = clear_stale(ul->dirfd, name, path, as, err, errlen);
	if (rc == 0) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		memcpy(sun.sun_path, name, strlen(name));
		ul->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, 0);
		old = umask(0177);	/* born 0600: never open to others */
		if (ul->fd == -1 || bind(ul->fd, (struct sockaddr *)&sun,
		    sizeof(sun)) == -1) {
			if (as_user && (errno == EACCES || errno == EPERM))
				util_errno(err, errlen, "%s: %s cannot create it "
				    "in %s", path, who, dir);
			else
				util_errno(err, errlen, "%s", path);
			rc = -1;
		} else if (fstatat(ul->dirfd, name, &st,
		    AT_SYMLINK_NOFOLLOW) == -1) {
			util_errno(err, errlen, "%s", path);
			rc = -1;
		} else {
			ul->bound = 1;
			ul->dev = st.st_dev;
			ul->ino = st.st_ino;
		}
		umask(old);
	}
	if (as_user && ids_restore(&sv) == -1) {
		util_errno(err, errlen, "%s: cannot return to root", path);
		goto fail;
	}
	if (rc == -1)
		goto fail;
	if (listen(ul->fd, 16) == -1) {
		util_errno(err, errlen, "%s: listen", path);
		goto fail;
	}
	if (give && fchownat(ul->dirfd, name, (uid_t)uid, (gid_t)gid,
	    AT_SYMLINK_NOFOLLOW) == -1) {
		util_errno(err, errlen, "%s: chown", path);
		goto fail;
	}
	if (fchdir(cwd) == -1) {
		util_errno(err, errlen, "%s: back to the working directory",
		    path);
		goto fail;
	}
	close(cwd);
	return 0;
fail:
	if (cwd != -1) {
		if (fchdir(cwd) == -1) {
			/* err keeps the first failure, the one to tell */
		}
		close(cwd);
	}
	listener_close_unix(ul);	/* removes the node only if bound */
	return -1;
}

void
listener_close_unix(struct unix_listener *ul)
{
	struct stat st;

	if (ul->fd != -1)
		close(ul->fd);
	/* the name may have been replaced since: remove only our node */
	if (ul->dirfd != -1 && ul->bound &&
	    fstatat(ul->dirfd, ul->name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISSOCK(st.st_mode) && st.st_dev == ul->dev &&
	    st.st_ino == ul->ino)
		(void)unlinkat(ul->dirfd, ul->name, 0);
	if (ul->dirfd != -1)
		close(ul->dirfd);
	ul->fd = ul->dirfd = -1;
	ul->bound = 0;
}
