/*
 * tls: everything OpenSSL. The server context for a config, and the
 * non-blocking operations mapped to a small status that conn.c turns
 * into watcher changes.
 */
#ifndef SSHGATE_TLS_H
#define SSHGATE_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

#include "config.h"

enum tls_io {
	TLS_OK = 0,		/* done (n bytes moved, or step complete) */
	TLS_WANT_READ,		/* retry when the socket is readable */
	TLS_WANT_WRITE,		/* retry when the socket is writable */
	TLS_EOF,		/* peer closed: close_notify or plain EOF */
	TLS_FAIL,		/* error; tls_error() says what */
};

struct tls_hooks {
	/*
	 * Called during the handshake with the client's SNI (NULL if
	 * none). Returns 0 to go on, or a TLS alert (SSL_AD_*) to refuse.
	 */
	int (*on_sni)(SSL *ssl, const char *sni);
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

/* "TLSv1.3/TLS_AES_256_GCM_SHA384" for the log. */
void tls_describe(SSL *ssl, char *buf, size_t len);
/* 1 if the handshake resumed an earlier session (a ticket). */
int tls_resumed(SSL *ssl);

/*
 * Says why the last operation on this thread failed (OpenSSL reason or
 * errno text) into buf, and clears the error queue. Returns buf.
 */
const char *tls_error(char *buf, size_t len);

#endif
