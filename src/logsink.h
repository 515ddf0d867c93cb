/*
 * logsink: where log lines go (stderr, stdout, syslog, a file), and the
 * daemon's own messages on stderr.
 */
#ifndef SSHGATE_LOGSINK_H
#define SSHGATE_LOGSINK_H

#include <stddef.h>

#include "config.h"

struct log_sink;

/*
 * Opens where records go; a file with file_open_log() (no symbolic
 * link, no hard-linked file; a character device is fine). Returns the
 * sink (close with log_sink_close), or NULL with a reason in err.
 */
struct log_sink *log_sink_open(enum log_target to, const char *path,
    int facility, char *err, size_t errlen);

/* Writes one formatted line with a single write(2); thread-safe. */
void log_sink_write(struct log_sink *s, const char *line, size_t len);
void log_sink_close(struct log_sink *s);

/*
 * As root: gives a log file to the user the gateway runs as. Only a
 * regular file with one name; never a device.
 */
void log_sink_chown(struct log_sink *s, unsigned uid, unsigned gid);

/*
 * Reopens every open log file by its path (after logrotate moved it),
 * under the same file descriptors, with the rules of log_sink_open.
 * Returns 0, or -1 if one failed (it keeps writing to the old file; the
 * error is logged).
 */
int log_reopen_all(void);

/* The daemon's own messages, to stderr: "sshgate: LEVEL: message". */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
