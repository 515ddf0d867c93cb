/*
 * log: the per-connection audit record, formatted as one line. Pure.
 * Where lines go (sinks, the daemon's own messages): logsink.h.
 */
#ifndef SSHGATE_LOG_H
#define SSHGATE_LOG_H

#include <stddef.h>
#include <stdint.h>

/*
 * Each value is cut after LOG_VALUE_MAX bytes (ending in "..."), so that
 * a record, escaped, always fits in LOG_LINE_MAX.
 */
#define LOG_VALUE_MAX 512
/* at most 16 string values of 512 bytes escaped as \u0001 (6 each), with keys */
#define LOG_LINE_MAX 65536

/* One record; NULL strings and negative numbers are "not known". */
struct log_record {
	double time;		/* seconds since the epoch */
	const char *event;	/* "open" or "close" */
	uint64_t conn;
	const char *client;
	const char *sni;	/* always present; "" when none */
	const char *result;
	const char *reason;
	long duration_ms;
	uint64_t bytes_up, bytes_down;
	int no_counts;		/* 1: no byte counts yet (an "open" record) */
	const char *user, *groups, *route, *dst, *tls, *cert_serial;
	const char *cert_subject;
	const char *mode;	/* "passthrough" (TLS not terminated), or NULL */
	const char *alpn;	/* passthrough: the protocols offered, "a,b" */
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

#endif
