/*
 * config: sshgate.conf (and its includes and pairs files) as a struct
 * conf. Only those files are read here: certificates, listen sockets,
 * users and host names are checked by whoever turns the conf into a
 * running gateway (gateway/runtime.c), which reports errors the same
 * way, as FILE:LINE: message (diag.h).
 */
#ifndef SSHGATE_CONFIG_H
#define SSHGATE_CONFIG_H

#include <stddef.h>

#include "config/diag.h"
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

struct conf_path {
	char *path;
	const char *file;	/* where it was given */
	int line;
};

struct conf {
	char *path;			/* the main file */
	char **files;			/* every file read; FILE of errors */
	struct conf_at *files_from;	/* [nfiles]: the line naming each
					   (file NULL: the main file) */
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
	int has_passthrough;		/* a passthrough route: ClientHellos
					   are read before TLS starts */
	char *resolvers;		/* "ADDR:PORT,..."; NULL: system */
	int resolve_family;		/* AF_INET (default), AF_INET6, AF_UNSPEC */
	struct dest_policy dest;	/* own[] is filled by the runtime */
	struct conf_at *allow_at, *deny_at;	/* of dest.allow[i], deny[i] */
	char *client_ca;		/* NULL: no client certificates */
	struct conf_at client_ca_at;
	struct conf_path *crls;
	size_t ncrls;
	int expire_sessions;		/* default 1 */
	int tls_tickets;		/* default 1: resumption tickets */
	char *ticket_keys;		/* tls-ticket-keys FILE; NULL: keys of
					   this process, new at each reload */
	struct conf_at ticket_keys_at;
	int tls_offload;		/* default 1: TLS 1.3 records by tlsrec */
	char *run_user, *run_group;	/* user NAME [group NAME]; NULL: stay */
	struct conf_at user_at;
	unsigned run_uid, run_gid;	/* filled by the runtime */
	char *control;			/* control's absolute path, or NULL */
	struct conf_at control_at;
	int metrics;			/* metrics ADDR:PORT given */
	struct addr metrics_addr;
	struct policy policy;		/* access, then access-pairs rules */
	enum log_target log_to;
	char *log_path;			/* LOG_TO_FILE */
	struct conf_at log_at;		/* where 'log' was given, for errors */
	int log_facility;		/* LOG_TO_SYSLOG, syslog.h value */
	int log_json;
	char *ciphers;			/* TLS 1.2 cipher list; NULL: defaults */
	char *ciphersuites;		/* TLS 1.3 suites; NULL: defaults */
	struct conf_at ciphers_at, ciphersuites_at;
	int tls_min;			/* 12 (TLS 1.2, default) or 13 */
};

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
