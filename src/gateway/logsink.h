/*
 * logsink: where log lines go, without ever making their writer wait.
 *
 * Each sink (stderr, stdout, syslog, a file) has a bounded queue
 * (logq.h) and its own writer thread, which alone does the I/O and may
 * block. A line that does not fit is dropped and counted; a write that
 * fails (disk full, I/O error) is counted with its errno; the main thread
 * turns both into daemon warnings (log_report). A sink is shared by
 * everyone who opens the same destination (reference-counted), so a
 * destination has one queue and one writer: lines never interleave.
 *
 * The daemon's own messages ("sshgate: ...") go to stderr: once serving
 * (log_daemon_start) through the stderr sink's queue, shared with
 * `log stderr` records; before, and after log_shutdown, directly.
 *
 * Threads: log_sink_write, log_sink_close, log_info/warn/err and
 * log_counters from any thread; everything else from the main thread.
 */
#ifndef SSHGATE_LOGSINK_H
#define SSHGATE_LOGSINK_H

#include <stddef.h>

#include "config/config.h"

#define LOG_QUEUE_BYTES (1u << 20)	/* per buffer; two per sink */

struct log_sink;

/*
 * Opens where records go, or takes one more reference on the sink that
 * already goes there. Files are opened with file_open_log() (no
 * symbolic link, no hard-linked file; a character device is fine).
 * Returns the sink (release with log_sink_close), or NULL with a reason
 * in err.
 */
struct log_sink *log_sink_open(enum log_target to, const char *path,
    int facility, char *err, size_t errlen);

/*
 * Queues one formatted line (ending in '\n'), whole. Never waits for
 * I/O: if the queue is full the line is dropped and counted.
 */
void log_sink_write(struct log_sink *s, const char *line, size_t len);

/*
 * Releases a reference. The last one closes the sink: its writer writes
 * what is queued, then ends; the caller never waits for it (the main
 * thread reaps it, in log_report or log_shutdown).
 */
void log_sink_close(struct log_sink *s);

/*
 * As root: gives a log file to the user the gateway runs as, so that it
 * can reopen it after dropping root. Only a regular file with one name;
 * never a device. Returns 0 (also when there is nothing to give), or -1
 * with errno.
 */
int log_sink_chown(struct log_sink *s, unsigned uid, unsigned gid);

/*
 * Reopens every log file by its path (after logrotate moved it), under
 * the same file descriptors, with the rules of log_sink_open. Returns 0,
 * or -1 if one failed: that sink keeps writing to the old file, and the
 * error is logged.
 */
int log_reopen_all(void);

/*
 * From now on daemon messages go through the stderr sink's queue. Returns
 * 0, or -1 with a reason in err (they stay direct).
 */
int log_daemon_start(char *err, size_t errlen);

/*
 * Warns (one daemon warning per sink and cause) about lines dropped or
 * not written since the last report, and reaps closed sinks. For the
 * main thread's timer.
 */
void log_report(void);

/*
 * At the end: waits up to secs for every sink to write what it holds,
 * reports, stops queueing daemon messages and reaps the writers. A
 * writer stuck on a dead sink is left behind (the process may exit);
 * daemon messages then stay silent if that sink is stderr. Returns 0, or
 * -1 if a writer is stuck.
 */
int log_shutdown(double secs);

/* Lines dropped (queue full) and lines not written (I/O error), ever. */
void log_counters(unsigned long long *dropped,
    unsigned long long *write_errors);

/* The daemon's own messages, to stderr: "sshgate: LEVEL: message". */
/*
 * The daemon's own messages, "sshgate: LEVEL: message", on stderr (queued
 * once serving, so they never wait for it either). As in relayd's log.c:
 * log_warn and log_err append ": " and strerror(errno) themselves,
 * log_warnx and log_errx do not; log_debug says nothing unless debugging
 * was turned on (serve -d).
 */
void log_set_debug(int on);
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
