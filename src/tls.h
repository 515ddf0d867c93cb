/*
 * tls: everything OpenSSL. The server context for a config, and the
 * non-blocking operations mapped to a small status that conn.c turns
 * into watcher changes.
 */
#ifndef SSHGATE_TLS_H
#define SSHGATE_TLS_H

#include <stddef.h>
#include <time.h>
#include <openssl/ssl.h>

#include "config.h"

enum tls_io {
	TLS_OK = 0,		/* done (n bytes moved, or step complete) */
	TLS_WANT_READ,		/* retry when the socket is readable */
	TLS_WANT_WRITE,		/* retry when the socket is writable */
	TLS_EOF,		/* peer closed: close_notify or plain EOF */
	TLS_FAIL,		/* error; tls_error() says what */
};

/* The client certificate's verdict, as the log names it. */
enum tls_cert_verdict {
	TLS_CERT_OK = 0,
	TLS_CERT_UNTRUSTED,
	TLS_CERT_EXPIRED,	/* expired or not yet valid */
	TLS_CERT_REVOKED,
};

struct tls_hooks {
	/*
	 * Called during the handshake with the client's SNI (NULL if
	 * none). Returns 0 to go on, or a TLS alert (SSL_AD_*) to refuse.
	 */
	int (*on_sni)(SSL *ssl, const char *sni);
	/*
	 * Called during the handshake with the client certificate (leaf)
	 * and OpenSSL's verdict on it (why: its reason when not OK). Returns
	 * 0 to go on, -1 to refuse (the client gets the matching alert, or
	 * handshake_failure when the verdict was OK).
	 */
	int (*on_cert)(SSL *ssl, X509 *leaf, enum tls_cert_verdict v,
	    const char *why);
};

/* Who a client certificate names. */
struct tls_ident {
	char *user;		/* subject CN, UTF-8; NULL if none or unusable */
	char *user_shown;	/* for logs: NUL bytes shown as '?' */
	char **groups;		/* every usable subject OU, in order */
	size_t ngroups;
	char *groups_text;	/* "a,b" (',' and '\' escaped), for logs */
	char serial[80];	/* hex */
	char *subject;		/* the whole subject, RFC 2253, for logs */
	time_t not_after;
};

/*
 * Builds the server context for c: every certificate (ECDSA and RSA may
 * be combined), TLS 1.2 minimum, no renegotiation, stateless session
 * tickets. Errors are appended as FILE:LINE of the certificate line.
 * Returns the context (SSL_CTX_free), or NULL.
 */
SSL_CTX *tls_server_ctx(const struct conf *c, const struct tls_hooks *hooks,
    struct conf_errors *errs);

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

/* Fills id from cert. Returns 0, or -1 if out of memory. */
int tls_ident_get(X509 *cert, struct tls_ident *id);
void tls_ident_free(struct tls_ident *id);

/*
 * Checks cert (with the intermediates the client sent, chain, may be
 * NULL) now, as a new handshake would, against the CAs, CRLs and time of
 * ctx: for sessions resumed from a ticket and live sessions on a
 * reload. Without chain (a resumed session), only the leaf's validity
 * times and the CRLs of its issuer are checked: its chain was verified
 * when the session began. Returns the verdict and its reason in why.
 */
enum tls_cert_verdict tls_cert_recheck(SSL_CTX *ctx, X509 *cert,
    STACK_OF(X509) *chain, char *why, size_t whylen);

/* 1 if the last handshake failure was a client without certificate. */
int tls_failed_no_cert(void);

/* "TLSv1.3/TLS_AES_256_GCM_SHA384" for the log. */
void tls_describe(SSL *ssl, char *buf, size_t len);
/* 1 if the handshake resumed an earlier session (a ticket). */
int tls_resumed(SSL *ssl);

/*
 * The reason of OpenSSL error e: errno text for a system error, the
 * library's reason otherwise, or none when there is nothing to say.
 */
const char *tls_err_reason(unsigned long e, const char *none);

/*
 * Says why the last operation on this thread failed (OpenSSL reason or
 * errno text) into buf, and clears the error queue. Returns buf.
 */
const char *tls_error(char *buf, size_t len);

#endif
