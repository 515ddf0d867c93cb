/*
 * config: reads sshgate.conf (and its includes) into a struct conf.
 * It opens only the config files themselves: certificates, listen
 * sockets and host names are checked by whoever turns the conf into a
 * running gateway (runtime.c), which reports errors the same way.
 */
#ifndef SSHGATE_CONFIG_H
#define SSHGATE_CONFIG_H

#include <stddef.h>

#include "core/addr.h"
#include "core/dest.h"
#include "core/policy.h"
#include "core/route.h"

enum log_target {
	LOG_TO_STDERR = 0,
	LOG_TO_STDOUT,
	LOG_TO_SYSLOG,
	LOG_TO_FILE,
};

struct conf_listen {
	struct addr addr;
	int proxy_protocol;	/* a PROXY v1/v2 header comes first */
	const char *file;
	int line;
};

struct conf_cert {
	char *cert;		/* path, made absolute or relative to cwd */
	char *key;		/* NULL: the key is in the cert file */
	const char *file;
	int line;
};

/* Where a directive was given. */
struct conf_at {
	const char *file;
	int line;
};

struct conf_path {
	char *path;
	const char *file;	/* where it was given */
	int line;
};

struct conf {
	char *path;			/* the main file */
	char **files;			/* every file read; FILE of errors */
	size_t nfiles;
	struct conf_listen *listens;
	size_t nlistens;
	struct conf_cert *certs;
	size_t ncerts;
	int ssh_only;			/* default 1 */
	double t_handshake, t_inspect, t_connect, t_idle, t_dns, t_drain;
	unsigned long max_conns;	/* default 10000 */
	unsigned long workers;		/* 0: online CPUs */
	unsigned long max_per_ip;	/* 0: no limit */
	unsigned long rate_n;		/* new connections per rate_secs; 0: off */
	double rate_secs;
	struct route_table routes;
	char *resolvers;		/* "ADDR:PORT,..."; NULL: system */
	int resolve_family;		/* AF_INET (default), AF_INET6, AF_UNSPEC */
	struct dest_policy dest;	/* own[] is filled by the runtime */
	struct conf_at *allow_at, *deny_at;	/* of dest.allow[i], deny[i] */
	char *client_ca;		/* NULL: no client certificates */
	const char *client_ca_file;
	int client_ca_line;
	struct conf_path *crls;
	size_t ncrls;
	int expire_sessions;		/* default 1 */
	char *run_user, *run_group;	/* user NAME [group NAME]; NULL: stay */
	const char *user_file;
	int user_line;
	unsigned run_uid, run_gid;	/* filled by the runtime */
	char *control;			/* control PATH, or NULL */
	int metrics;			/* metrics ADDR:PORT given */
	struct addr metrics_addr;
	struct policy policy;		/* access, then access-pairs rules */
	enum log_target log_to;
	char *log_path;			/* LOG_TO_FILE */
	const char *log_file;		/* where 'log' was given, for errors */
	int log_line;
	int log_facility;		/* LOG_TO_SYSLOG, syslog.h value */
	int log_json;
	char *ciphers;			/* TLS 1.2 cipher list; NULL: defaults */
	char *ciphersuites;		/* TLS 1.3 suites; NULL: defaults */
	struct conf_at ciphers_at, ciphersuites_at;
	int tls_min;			/* 12 (TLS 1.2, default) or 13 */
};

/* Errors collected while loading, each "FILE:LINE: message". */
struct conf_errors {
	char **msgs;
	size_t n;
};

/* Appends one formatted error. */
void conf_error(struct conf_errors *e, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void conf_errors_free(struct conf_errors *e);
/* Appends a message as it is. */
void conf_error_add(struct conf_errors *e, const char *msg);

/*
 * Reads path and its includes. Returns the conf (caller frees with
 * conf_free), or NULL with every problem found appended to errs.
 */
struct conf *conf_load(const char *path, struct conf_errors *errs);
void conf_free(struct conf *c);

/*
 * Like conf_load, but returns what could be parsed even when errors were
 * appended (so that later checks can report theirs too); such a conf is
 * for reporting only. Returns NULL only if out of memory.
 */
struct conf *conf_parse(const char *path, struct conf_errors *errs);

#endif
