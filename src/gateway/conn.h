/*
 * conn: one client connection, from accept to its log record.
 *
 *            accept
 *              |  on a proxy-protocol listener: CONN_PROXY until its
 *              |  PROXY header is read (a bad one, or none in time,
 *              v  goes to conn_close)
 *       CONN_HELLO: with passthrough routes only, the ClientHello peeked;
 *              |    a passthrough route goes to CONN_CONNECTING, then a
 *              v    spliced CONN_RELAY (passthrough.c)
 *     +----------------+  no SNI / no route / TLS error / timeout
 *     | CONN_HANDSHAKE |-------------------------------------------+
 *     +----------------+                                           |
 *              | handshake done, route known                       |
 *              | (inspect timer starts, ssh-only)                  |
 *              +--- a name to resolve ---> CONN_RESOLVING          |
 *              |                            | answer / failure --->+
 *              v                            v                      |
 *     +----------------+  refused / timeout: next address, next    |
 *     | CONN_CONNECTING|  server; none left           ------------>+
 *     +----------------+                                           |
 *              | connected                                         |
 *              v                                                   v
 *     +----------------+  both directions ended, idle,       +-----------+
 *     |   CONN_RELAY   |  not-ssh, inspect-timeout, error -->| conn_close|
 *     +----------------+                                     +-----------+
 *
 * Which side has finished sending is kept in flags, not phases: each
 * direction ends on its own (EOF / close_notify becomes a half-close on
 * the other side), and the connection ends when both have.
 *
 * The SSH-only gate runs beside CONNECTING and RELAY: client bytes are
 * held until they start with "SSH-2.0-" / "SSH-1.99-", while server
 * bytes flow to the client at once.
 */
#ifndef SSHGATE_CONN_H
#define SSHGATE_CONN_H

#include <stdint.h>

#include "core/addr.h"
#include "core/reason.h"
#include "gateway/tls.h"

struct worker;
struct conn;

/* What every TLS context calls (handshake.c: route, certificate, tickets). */
extern const struct tls_hooks conn_tls_hooks;

/*
 * Takes an accepted socket fd (non-blocking) from peer and starts its
 * TLS handshake under w's current runtime (after reading a PROXY
 * protocol header first, if proxy). On failure fd is closed (and a
 * record logged, unless there was no memory for the connection at all);
 * the caller has nothing to undo.
 */
void conn_start(struct worker *w, int fd, const struct addr *peer,
    int proxy);

/* Ends c now with reason (used for drain's end). Frees c. */
void conn_kill(struct conn *c, enum reason reason);

struct runtime;
/*
 * On a reload: checks c's client certificate against rt's CAs and CRLs
 * and c against rt's access policy; closes c (reason killed, with why)
 * if it is no longer allowed. Returns -1 if c was closed, else 0.
 */
int conn_recheck(struct conn *c, const struct runtime *rt);

/* What `sshgate ctl sessions` shows of one connection. */
struct conn_info {
	uint64_t id;
	char client[ADDR_TEXT_MAX], dst[ADDR_TEXT_MAX];
	char sni[256], user[256], groups[512];
	double age;
	uint64_t bytes_up, bytes_down;
	unsigned worker;
	const char *phase;
};

/* From c's worker thread only. */
void conn_describe(struct conn *c, struct conn_info *out);
const char *conn_user(const struct conn *c);	/* NULL: none */
uint64_t conn_id(const struct conn *c);
/* Ends c now with reason and why in its record. Frees c. */
void conn_kill_why(struct conn *c, enum reason reason, const char *why);

/* The next connection in w's list. */
struct conn *conn_next(struct conn *c);

/*
 * Socket options for both sides of a session: no delay, keepalive (60 s
 * idle, then 6 probes 10 s apart). Set on listeners, whose accepted
 * sockets inherit them, and on each server socket.
 */
void conn_tune_socket(int fd);

#endif
