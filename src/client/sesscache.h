/*
 * sesscache: `sshgate connect`'s TLS session cache, so that repeated
 * invocations resume instead of doing full handshakes. One file under
 * $XDG_CACHE_HOME/sshgate/ (mode 0600), bounded, shared by concurrent
 * invocations under a lock.
 */
#ifndef SSHGATE_SESSCACHE_H
#define SSHGATE_SESSCACHE_H

#include <openssl/ssl.h>

/*
 * The cache key (64 hex digits + NUL into out) for everything that must
 * match for a session to be reused: gateway, port, target, and the trust
 * and identity settings (a session made with --insecure is never used by
 * a verifying run).
 */
void sesscache_key(char out[65], const char *host, unsigned port,
    const char *target, const char *ca, const char *cert, const char *key,
    int insecure);

/* A resumable session for key, or NULL. Caller frees. */
SSL_SESSION *sesscache_load(const char *key, SSL_CTX *ctx);

/* Remembers sess under key; failures are silent (it is only a cache). */
void sesscache_store(const char *key, SSL_SESSION *sess);

/* Forgets key's session (it was refused). */
void sesscache_forget(const char *key);

#endif
