/*
 * file: reading the files a config names (configs, includes, pairs files,
 * certificates, keys, CAs, CRLs) without ever waiting on them. A path is
 * opened non-blocking and checked to be a regular file before a byte is
 * read, so a FIFO, a device or a socket named by mistake (or by someone
 * who can write the config's directory) gives an error at once instead
 * of hanging `check` or the reload in open() or read().
 *
 * And opening the log file for appending, often as root in a directory
 * the service user may write (to reopen it after logrotate): never
 * through a symbolic link, never a file with other names, so that the
 * user cannot send root's writes, or the chown that follows, to a file
 * of their choosing.
 */
#ifndef SSHGATE_FILE_H
#define SSHGATE_FILE_H

#include <stddef.h>

/*
 * Reads the whole of path, a regular file of at most max bytes, into a
 * new buffer (NUL-terminated after *len bytes; caller frees *buf).
 * Returns 0, or -1 with a reason in err ("not a regular file",
 * "larger than 16 MiB", or the errno text).
 */
int file_read(const char *path, size_t max, char **buf, size_t *len,
    char *err, size_t errlen);

/*
 * Like file_read, for a file of secrets: also refuses one that its
 * group or others may read, write or execute (mode & 077), with the
 * mode in err. The caller cleanses *buf before freeing it.
 */
int file_read_secret(const char *path, size_t max, char **buf, size_t *len,
    char *err, size_t errlen);

/* What a log path names, for opening it to append. */
enum file_log_kind {
	FILE_LOG_REGULAR = 0,	/* a regular file with one name: may be chowned */
	FILE_LOG_DEVICE,	/* a character device (/dev/null): never chowned */
	FILE_LOG_SYMLINK,	/* refused: it could point anywhere */
	FILE_LOG_LINKED,	/* a regular file with other names: refused */
	FILE_LOG_OTHER,		/* directory, FIFO, socket, block device: refused */
};

/* The kind of a file with this st_mode and st_nlink (of lstat/fstat). */
enum file_log_kind file_log_kind(unsigned mode, unsigned long nlink);

/*
 * Opens path to append log lines (created 0640 if missing; blocking
 * writes). Refuses what file_log_kind refuses. Returns the fd, or -1
 * with a reason in err.
 */
int file_open_log(const char *path, char *err, size_t errlen);

/*
 * Without opening or creating it: would file_open_log accept path, and
 * may this process write it (or create it in its directory)? Returns 0,
 * or -1 with a reason in err.
 */
int file_check_log(const char *path, char *err, size_t errlen);

#endif
