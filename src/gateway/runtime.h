/*
 * runtime: one loaded configuration with everything built from it (the
 * TLS context, the gateway's own addresses, the service user's ids, the
 * log sink). Shared by all workers and by
 * every connection accepted under it; reference-counted so that a
 * reload never pulls it from under a live session.
 */
#ifndef SSHGATE_RUNTIME_H
#define SSHGATE_RUNTIME_H

#include <stdatomic.h>
#include <openssl/ssl.h>

#include "config/config.h"
#include "gateway/logsink.h"
#include "gateway/tls.h"

struct runtime {
	atomic_uint refs;
	struct conf *conf;
	SSL_CTX *ssl_ctx;
	struct log_sink *sink;	/* NULL when loaded only to check */
	struct lifetimes life;	/* when its certificates and CRLs run out */
};

/* Who loads a config, which says what else is checked or opened. */
enum runtime_mode {
	RUNTIME_SERVE = 0,	/* serve, at start and on reload: opens the log */
	RUNTIME_CHECK,		/* check: opens nothing; also what only the next
				   start or reload would hit */
	RUNTIME_EXPLAIN,	/* explain: opens nothing */
};

/*
 * Loads path whole: parses it, lists this host's addresses, looks up
 * the service user, builds the TLS context (reading certificates, CAs
 * and CRLs), and (RUNTIME_SERVE) opens the log. Server host names are not
 * resolved here: that happens when a client connects. Returns a runtime with
 * one reference, or NULL with every error appended to errs; either way
 * errs (errors and warnings) is left sorted by file and line.
 */
struct runtime *runtime_load(const char *path, const struct tls_hooks *hooks,
    enum runtime_mode mode, struct conf_errors *errs);

/*
 * Warns (one line each, through say) of what runs out within 14 days.
 * Returns how many warnings it said.
 */
size_t runtime_lifetime_warnings(const struct runtime *rt, time_t now,
    void (*say)(const char *line));

struct runtime *runtime_ref(struct runtime *rt);
void runtime_unref(struct runtime *rt);

#endif
