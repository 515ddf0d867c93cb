#include "config/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
size_text(size_t max, char *buf, size_t len)
{
	if (max >= (1u << 20) && max % (1u << 20) == 0)
		snprintf(buf, len, "%zu MiB", max >> 20);
	else if (max >= 1024 && max % 1024 == 0)
		snprintf(buf, len, "%zu KiB", max >> 10);
	else
		snprintf(buf, len, "%zu bytes", max);
}

/* file_read, and with secret, file_read_secret's mode check. */
static int
read_whole(const char *path, size_t max, int secret, char **buf, size_t *len,
    char *err, size_t errlen)
{
	struct stat st;
	char *p = NULL, lim[32];
	size_t n = 0;
	ssize_t r;
	int fd;

	*buf = NULL;
	*len = 0;
	/* O_NONBLOCK: opening a FIFO for reading must not wait for a writer */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		goto fail;
	}
	if (secret && (st.st_mode & 077) != 0) {
		snprintf(err, errlen, "mode %04o: %s access to it; it holds "
		    "secret keys and must be mode 0600 (chmod 600 %s)",
		    (unsigned)(st.st_mode & 07777),
		    (st.st_mode & 070) == 0 ? "others have" :
		    (st.st_mode & 07) == 0 ? "its group has" :
		    "its group and others have", path);
		goto fail;
	}
	if ((unsigned long long)st.st_size > max) {
		size_text(max, lim, sizeof(lim));
		snprintf(err, errlen, "larger than %s", lim);
		goto fail;
	}
	if ((p = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* the size may change under us: read what is there, up to st_size */
	while (n < (size_t)st.st_size) {
		r = read(fd, p + n, (size_t)st.st_size - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "%s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	p[n] = '\0';
	*buf = p;
	*len = n;
	return 0;
fail:
	if (p != NULL && secret)
		explicit_bzero(p, n);	/* what was read of it */
	free(p);
	close(fd);
	return -1;
}

int
file_read(const char *path, size_t max, char **buf, size_t *len, char *err,
    size_t errlen)
{
	return read_whole(path, max, 0, buf, len, err, errlen);
}

int
file_read_secret(const char *path, size_t max, char **buf, size_t *len,
    char *err, size_t errlen)
{
	return read_whole(path, max, 1, buf, len, err, errlen);
}

enum file_log_kind
file_log_kind(unsigned mode, unsigned long nlink)
{
	if (S_ISLNK(mode))
		return FILE_LOG_SYMLINK;
	if (S_ISCHR(mode))
		return FILE_LOG_DEVICE;
	if (!S_ISREG(mode))
		return FILE_LOG_OTHER;
	return nlink == 1 ? FILE_LOG_REGULAR : FILE_LOG_LINKED;
}

/* Why a file of this kind is refused, in err; returns -1. */
static int
refusal(const struct stat *st, char *err, size_t errlen)
{
	const char *what = S_ISDIR(st->st_mode) ? "a directory" :
	    S_ISFIFO(st->st_mode) ? "a FIFO" :
	    S_ISSOCK(st->st_mode) ? "a socket" :
	    S_ISBLK(st->st_mode) ? "a block device" : "not a regular file";

	switch (file_log_kind(st->st_mode, st->st_nlink)) {
	case FILE_LOG_SYMLINK:
		snprintf(err, errlen, "a symbolic link (refused: name the "
		    "file itself)");
		break;
	case FILE_LOG_LINKED:
		snprintf(err, errlen, "a file with %lu hard links (refused: "
		    "another of its names could be any file)",
		    (unsigned long)st->st_nlink);
		break;
	default:
		snprintf(err, errlen, "%s, not a regular file or a character "
		    "device", what);
		break;
	}
	return -1;
}

static int
refused(const struct stat *st)
{
	enum file_log_kind k = file_log_kind(st->st_mode, st->st_nlink);

	return k != FILE_LOG_REGULAR && k != FILE_LOG_DEVICE;
}

int
file_open_log(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, flags, e;

	/*
	 * O_NOFOLLOW: a symbolic link put at the path is refused, not
	 * followed. O_NONBLOCK: opening a FIFO must not wait for a reader
	 * (it is refused below).
	 */
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0640);
	if (fd == -1) {
		/* ELOOP, ENXIO, EISDIR: say what is there, not the errno */
		e = errno;
		if (lstat(path, &st) == 0 && refused(&st))
			return refusal(&st, err, errlen);
		snprintf(err, errlen, "%s", strerror(e));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto fail;
	}
	if (refused(&st)) {
		(void)refusal(&st, err, errlen);
		goto fail;
	}
	/* the sink's writer thread may wait; workers never write here */
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

int
file_check_log(const char *path, char *err, size_t errlen)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	struct stat st;

	if (lstat(path, &st) == 0) {
		if (refused(&st))
			return refusal(&st, err, errlen);
		if (access(path, W_OK) == -1) {
			snprintf(err, errlen, "%s", strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	/* missing: serve creates it, if the directory lets it */
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path + 1),
		    path);
	if (access(dir, W_OK | X_OK) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	return 0;
}
