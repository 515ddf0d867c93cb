/*
 * tlsrelay: the relay of `sshgate connect` once the handshake is done:
 * stdin to the gateway over TLS, the gateway to stdout, with half-close
 * both ways, the gateway's notice (why it refused or ended a session)
 * said on stderr instead of given to ssh.
 */
#ifndef SSHGATE_TLSRELAY_H
#define SSHGATE_TLSRELAY_H

#include <openssl/ssl.h>

#define TLSRELAY_UNEXPLAINED 2	/* failed before any server byte */

/*
 * Relays until both sides are done. Returns 0 (the gateway closed after
 * server bytes), 1 (a failure, already told on stderr), or
 * TLSRELAY_UNEXPLAINED: TLS failed before the server sent anything, and
 * the error queue (the gateway's alert read) is the caller's to explain.
 */
int tlsrelay_run(SSL *ssl, int fd);

#endif
