/*
 * log: the per-connection audit record (formatting is pure) and where
 * records go; plus the daemon's own messages on stderr.
 */
#ifndef SSHGATE_LOG_H
#define SSHGATE_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

/*
 * Each value is cut after LOG_VALUE_MAX bytes (ending in "..."), so that
 * a record, escaped, always fits in LOG_LINE_MAX.
 */
#define LOG_VALUE_MAX 512
#define LOG_LINE_MAX 65536	/* 12 values * 512 * 6 (\u0001) < this */

/* One record; NULL strings and negative numbers are "not known". */
struct log_record {
	double time;		/* seconds since the epoch */
	const char *event;	/* "close" */
	uint64_t conn;
	const char *client;
	const char *sni;	/* always present; "" when none */
	const char *result;
	const char *reason;
	long duration_ms;
	uint64_t bytes_up, bytes_down;
	const char *user, *groups, *route, *dst, *tls, *cert_serial;
	const char *cert_subject;
	int tls_resumed;	/* 1: the TLS session was resumed */
	long handshake_ms, connect_ms;
	const char *detail;	/* free text: what exactly failed */
};

/*
 * Formats r as one line ending in '\n' into buf (len >= 64): text is
 * "TIMESTAMP key=value ...", json one object. Values that could break a
 * line or be mistaken for another key are quoted and escaped.
 * Returns the length written.
 */
size_t log_format(const struct log_record *r, int json, char *buf,
    size_t len);

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
