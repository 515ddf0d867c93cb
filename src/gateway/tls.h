/*
 * tls: everything OpenSSL on the gateway side. The server context for a
 * config (certificates, client CAs and CRLs read without waiting on
 * them, cipher policy, session tickets), and the non-blocking operations
 * mapped to a small status that the relay turns into watcher changes.
 */
#ifndef SSHGATE_TLS_H
#define SSHGATE_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

#include "config/config.h"
#include "core/lifetime.h"
#include "core/reason.h"
#include "core/tlsio.h"

/* The client certificate's verdict, as the log names it. */
enum tls_cert_verdict {
	TLS_CERT_OK = 0,
	TLS_CERT_UNTRUSTED,
	TLS_CERT_EXPIRED,	/* expired or not yet valid */
	TLS_CERT_REVOKED,
	TLS_CERT_CRL_EXPIRED,	/* a CRL needed to check it is out of date */
};

/* The safe defaults of `ciphers` and `ciphersuites`: ECDHE + AEAD only. */
#define TLS_SAFE_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define TLS_SAFE_CIPHERSUITES \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:" \
	"TLS_CHACHA20_POLY1305_SHA256"

struct tls_hooks {
	/*
	 * Called first in every handshake with the server name the client
	 * sent in this ClientHello (NULL if none; bad: why the extension
	 * is malformed, else NULL). Returns 0 to go on, or a TLS alert
	 * (SSL_AD_*) to refuse.
	 */
	int (*on_hello)(SSL *ssl, const char *sni, const char *bad);
	/*
	 * Called during the handshake with the client certificate (leaf)
	 * and OpenSSL's verdict on it (why: its reason when not OK). Returns
	 * 0 to go on, -1 to refuse (the client gets the matching alert, or
	 * handshake_failure when the verdict was OK).
	 */
	int (*on_cert)(SSL *ssl, X509 *leaf, enum tls_cert_verdict v,
	    const char *why);
	/*
	 * A session ticket is being made: what it must carry. *sni: the
	 * name the session was routed by; *chain: the client's
	 * intermediates kept from an earlier ticket (NULL: the ones of this
	 * handshake are used).
	 */
	void (*ticket_info)(SSL *ssl, const char **sni, STACK_OF(X509) **chain);
	/*
	 * A ticket was decrypted: sni is the name it was issued for; chain
	 * the client's intermediates it carries (NULL if it carries none).
	 * Returns 0 to resume (the hook owns chain from then on), or -1 for
	 * a full handshake instead (chain is freed here).
	 */
	int (*on_resume)(SSL *ssl, const char *sni, STACK_OF(X509) *chain);
	/*
	 * With tls-offload: a TLS 1.3 application traffic secret of this
	 * handshake, the client's (server 0) or the gateway's (server 1),
	 * len bytes (the suite's hash length). NULL to leave them.
	 */
	void (*on_secret)(SSL *ssl, int server, const unsigned char *secret,
	    size_t len);
};

/*
 * Builds the server context for c: every certificate (ECDSA and RSA may
 * be combined), the TLS versions and ciphers of c, no renegotiation,
 * stateless session tickets bound to the server name (under the keys of
 * tls-ticket-keys when given: gateway/tickets.h). Files are read
 * with file_read (regular files only); when their certificates and CRLs
 * run out goes into life. Errors are appended as FILE:LINE of the
 * directive. Returns the context (SSL_CTX_free), or NULL.
 */
SSL_CTX *tls_server_ctx(const struct conf *c, const struct tls_hooks *hooks,
    struct lifetimes *life, struct conf_errors *errs);

/*
 * tlsload.c: the files of a config into ctx. Each error is appended at
 * the line of its directive. tls_load_cas: the client-ca bundle (store
 * and the names sent in the certificate request); tls_load_crl: one crl
 * file (PEM, one or more, or DER); tls_load_certificate: one certificate
 * line (chain and key, which must match). Each also notes in life when
 * what it loaded runs out. Returns 0 or -1 where int.
 */
int tls_load_cas(SSL_CTX *ctx, const struct conf *c, struct lifetimes *life,
    struct conf_errors *errs);
int tls_load_crl(X509_STORE *store, const struct conf_path *cp,
    struct lifetimes *life, struct conf_errors *errs);
void tls_load_certificate(SSL_CTX *ctx, const struct conf_cert *ct,
    struct lifetimes *life, struct conf_errors *errs);
/* OpenSSL's passphrase callback: there is none (a daemon never asks). */
int tls_no_passphrase(char *buf, int size, int rwflag, void *u);

/* A server-side SSL on fd with app as its app data, or NULL. */
SSL *tls_new(SSL_CTX *ctx, int fd, void *app);

enum tls_io tls_handshake(SSL *ssl);
enum tls_io tls_read(SSL *ssl, void *buf, size_t len, size_t *n);
enum tls_io tls_write(SSL *ssl, const void *buf, size_t len, size_t *n);
/* Sends close_notify; reading may go on afterwards. */
enum tls_io tls_close_notify(SSL *ssl);
/*
 * For a connection about to be closed: one try at sending close_notify
 * (or finishing one under way), never waiting, and only if the handshake
 * completed. Failures are dropped with their errors.
 */
void tls_close_notify_once(SSL *ssl);

/* The log's reason for a verdict other than TLS_CERT_OK. */
enum reason tls_verdict_reason(enum tls_cert_verdict v);

/*
 * Checks cert, with the intermediates the client sent (chain, may be
 * NULL), now, as a new handshake would: against the CAs, CRLs (of the
 * whole chain) and time of ctx. For sessions resumed from a ticket and
 * for live sessions on a reload. Returns the verdict and its reason in
 * why.
 */
enum tls_cert_verdict tls_cert_recheck(SSL_CTX *ctx, X509 *cert,
    STACK_OF(X509) *chain, char *why, size_t whylen);

/* 1 if the last handshake failure was a client without certificate. */
int tls_failed_no_cert(void);

/*
 * One non-blocking attempt to send buf in a record of its own, for the
 * last words before close_notify; nothing if it cannot go at once.
 */
void tls_write_once(SSL *ssl, const void *buf, size_t len);

/*
 * The version and cipher names for the log ("TLSv1.3",
 * "TLS_AES_128_GCM_SHA256"): OpenSSL's static strings, which outlive ssl.
 */
void tls_names(SSL *ssl, const char **version, const char **cipher);
/* 1 if the handshake resumed an earlier session (a ticket). */
int tls_resumed(SSL *ssl);

/*
 * Says why the last operation on this thread failed (OpenSSL reason or
 * errno text) into buf, and clears the error queue. Returns buf.
 */
const char *tls_error(char *buf, size_t len);

#endif
