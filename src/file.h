/*
 * file: reading the files a config names (configs, includes, pairs files,
 * certificates, keys, CAs, CRLs) without ever waiting on them. A path is
 * opened non-blocking and checked to be a regular file before a byte is
 * read, so a FIFO, a device or a socket named by mistake (or by someone
 * who can write the config's directory) gives an error at once instead
 * of hanging `check` or the reload in open() or read().
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

#endif
