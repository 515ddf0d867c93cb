/*
 * tlsio: the one place where OpenSSL's results become a status, and a
 * status becomes the events to wait for, for the gateway's libev loop
 * and for the client's poll() alike. No I/O: it reads only the SSL
 * object's state and errno.
 */
#ifndef SSHGATE_TLSIO_H
#define SSHGATE_TLSIO_H

#include <openssl/ssl.h>

enum tls_io {
	TLS_OK = 0,		/* done (n bytes moved, or step complete) */
	TLS_WANT_READ,		/* retry when the socket is readable */
	TLS_WANT_WRITE,		/* retry when the socket is writable */
	TLS_EOF,		/* peer closed: close_notify or plain EOF */
	TLS_FAIL,		/* error: OpenSSL's queue or *sys says what */
};

/*
 * The status of an SSL_* call on ssl that returned rc (1: success, as
 * the *_ex functions and SSL_connect/SSL_accept/SSL_do_handshake do).
 * Call it at once, with errno as the call left it; *sys gets the errno
 * of a system error (0 otherwise). A plain EOF without close_notify is
 * TLS_EOF.
 */
enum tls_io tls_status(SSL *ssl, int rc, int *sys);

/* What to wait for before retrying: rd, wr, or 0 when retrying is moot. */
int tls_want_events(enum tls_io st, int rd, int wr);

/* The first bytes a peer sent, as the TLS layer read them. */
struct tls_first {
	unsigned char b[8];
	size_t n;
};

/*
 * Keeps in f the first bytes read from ssl's socket (its read BIO must
 * be set), until tls_first_unwatch: after a failed handshake, they tell
 * whether the peer spoke SSH instead of TLS. f must outlive the watch.
 */
void tls_first_watch(SSL *ssl, struct tls_first *f);
void tls_first_unwatch(SSL *ssl);
/* 1 if the first bytes are an SSH identification ("SSH-"). */
int tls_first_is_ssh(const struct tls_first *f);

/*
 * The reason of OpenSSL error e: errno text for a system error, the
 * library's reason otherwise, or none when there is nothing to say.
 */
const char *tls_err_reason(unsigned long e, const char *none);

#endif
