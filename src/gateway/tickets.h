/*
 * tickets: TLS session ticket keys shared by several gateways
 * (tls-ticket-keys FILE). Without the directive a server context keeps
 * OpenSSL's own random keys, new for every start and reload. With it,
 * the context encrypts new tickets under the file's first key and
 * decrypts tickets under any of its keys, so that a ticket issued by
 * one gateway resumes on another that reads the same file; a ticket
 * under a key no longer in the file gets a full handshake. The keys
 * live as long as the context and are cleansed with it.
 */
#ifndef SSHGATE_TICKETS_H
#define SSHGATE_TICKETS_H

#include <openssl/ssl.h>

#include "config/config.h"

/*
 * With c->ticket_keys: reads the file (a regular file of mode 0600 at
 * most), parses it (core/ticketkeys) and installs its keys in ctx.
 * Errors are appended: a key line's as KEYFILE:LINE, the others at the
 * directive's line. Without it: nothing. Returns 0, or -1.
 */
int tickets_setup(SSL_CTX *ctx, const struct conf *c,
    struct conf_errors *errs);

/*
 * Writes a new key line (random, TICKETKEY_TEXT_LEN characters and a
 * NUL) into out. Returns 0, or -1 if the random generator failed or
 * outlen is too small.
 */
int tickets_new_key(char *out, size_t outlen);

#endif
