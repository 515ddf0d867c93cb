/*
 * ctls: the client's side of a session after the TLS handshake. A TLS
 * 1.3 session is handed, with its traffic secrets and record sequence
 * numbers, to the record layer (core/tlsrec.c) and its SSL object is
 * freed (`tls-offload yes`, the default): a session then holds about
 * 2.5 KiB of TLS state instead of OpenSSL's 10, and large writes go out
 * as several records in one system call. TLS 1.2 sessions, and all with
 * `tls-offload no`, stay with OpenSSL. Callers see one interface.
 *
 * Sealed bytes the socket did not take wait in a relay buffer (only
 * then); so do client bytes read but not yet opened.
 */
#ifndef SSHGATE_CTLS_H
#define SSHGATE_CTLS_H

#include <stddef.h>

#include "core/tlsio.h"

struct conn;

/*
 * The secrets OpenSSL gives during a TLS 1.3 handshake (tls_hooks'
 * on_secret), and the tickets it sends after it: what the hand-over
 * needs. Kept in c->keys until then, wiped after.
 */
void ctls_note_secret(struct conn *c, int server, const unsigned char *s,
    size_t len);
void ctls_note_ticket(struct conn *c);

/*
 * Right after the handshake: hands a TLS 1.3 session to the record
 * layer and frees its SSL object, when the configuration allows it and
 * OpenSSL holds nothing unread. Returns 0, or -1 if out of memory (c
 * is not closed; it stays with OpenSSL).
 */
int ctls_offload(struct conn *c);

/*
 * Reads up to len plaintext bytes (*n). TLS_EOF: the client closed
 * (close_notify, or the connection's end between records).
 */
enum tls_io ctls_read(struct conn *c, void *buf, size_t len, size_t *n);
/*
 * Writes up to len bytes (*n taken: sealed, or written by OpenSSL).
 * Sealed bytes left over are written by later calls and by ctls_flush.
 */
enum tls_io ctls_write(struct conn *c, const void *buf, size_t len,
    size_t *n);
/* Writes what is left sealed: TLS_OK once nothing is. */
enum tls_io ctls_flush(struct conn *c);
/*
 * 1 if client bytes already read wait to be taken (a whole record, or
 * plaintext): the socket will not say so.
 */
int ctls_buffered(const struct conn *c);
/* 1 if sealed bytes wait for the socket. */
int ctls_pending(const struct conn *c);
/* Sends close_notify (after what waits); reading may go on. */
enum tls_io ctls_close_notify(struct conn *c);
/*
 * Last words before a close: line (a notice; NULL for none) in a record
 * of its own, then close_notify, one non-blocking try, only if the
 * handshake completed and the TLS did not fail.
 */
void ctls_last_words(struct conn *c, const char *line, size_t len);
/* Why the last call failed, in words, into buf. */
const char *ctls_error(struct conn *c, char *buf, size_t len);
/* Frees the SSL object or the record layer, and keys left. */
void ctls_free(struct conn *c);

#endif
