/*
 * conn_int: what the files of one connection share, private to them:
 * conn.c (the lifecycle: accept, PROXY header, handshake, timers, the
 * one exit), handshake.c (route, certificate, tickets, policy),
 * upstream.c (from a route to a connected server), relay.c (moving
 * bytes) and passthrough.c (routes that do not terminate TLS).
 */
#ifndef SSHGATE_CONN_INT_H
#define SSHGATE_CONN_INT_H

#include <ev.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "core/addr.h"
#include "gateway/conn.h"
#include "core/ident.h"
#include "core/policy.h"
#include "gateway/resolver.h"
#include "gateway/tls.h"

struct runtime;
struct route;
struct worker;
struct buf;
struct ctls_rec;
struct ctls_keys;

enum conn_phase {
	CONN_PROXY = 0,		/* reading the PROXY header (proxy-protocol) */
	CONN_HELLO,		/* with passthrough routes: reading the
				   ClientHello without taking it (peek) */
	CONN_HANDSHAKE,		/* TLS handshake; the SNI hook picks the route */
	CONN_RESOLVING,		/* waiting for DNS (a name to connect to) */
	CONN_CONNECTING,	/* connect() to one address in progress */
	CONN_RELAY,		/* server connected: bytes flow */
};

/* Direction and gate state, beside the phase. */
#define F_INSPECTED	0x01	/* client bytes may flow (gate passed or off) */
#define F_UP_EOF	0x02	/* client finished sending */
#define F_UP_SHUT	0x04	/* ... and the server got SHUT_WR */
#define F_DOWN_EOF	0x08	/* server finished sending */
#define F_DOWN_SHUT	0x10	/* ... and the client got close_notify */
#define F_TLS_FAILED	0x20	/* the client's TLS or socket failed: no
				   close_notify when c ends */
/* What has happened, named: */
#define F_HANDSHAKEN	0x40	/* the TLS handshake completed */
#define F_DST		0x80	/* dst holds the destination chosen */
#define F_OPENED	0x100	/* the "open" record was written */
#define F_RESUMED	0x200	/* the TLS session was resumed */
#define F_PASSTHROUGH	0x400	/* a passthrough route: TLS not terminated */
#define F_NOSPLICE	0x800	/* passthrough relayed by read/write */
#define F_HELLO_PAUSE	0x1000	/* CONN_HELLO: woken without new bytes, a
				   pause (c->inspect) before peeking again */
#define F_TOLD		0x2000	/* the client got an alert: linger on close */

/* In debug builds every callback checks that its conn is alive. */
#define CONN_MAGIC	0x636f6e6eu	/* "conn" */
#define CONN_DEAD	0xdeadc0deu
#ifdef NDEBUG
#define CONN_CHECK(c)	((void)0)
#else
#include <assert.h>
#define CONN_CHECK(c)	assert((c)->magic == CONN_MAGIC)
#endif

struct conn {
	unsigned magic;			/* CONN_MAGIC while alive */
	struct conn *prev, *next;	/* the worker's list */
	struct worker *w;
	struct runtime *rt;		/* a reference */
	uint64_t id;
	enum conn_phase phase;
	unsigned flags;
	int cfd, bfd;
	SSL *ssl;			/* until the hand-over (ctls.c) */
	struct ctls_rec *off;		/* after it: the record layer */
	struct ctls_keys *keys;		/* during a TLS 1.3 handshake */
	const char *tls_version, *tls_cipher;	/* OpenSSL's static names */
	ev_io cio, bio;			/* client, backend */
	int cio_events, bio_events;	/* what each watcher waits for now */
	int hs_need, rd_need, wr_need;	/* what TLS ops wait for */
	ev_timer timer;			/* handshake, connect, then idle (with
					   idle 0: the half-close check) */
	ev_timer inspect;		/* the SSH-only gate's deadline; in
					   CONN_HELLO, a pause before peeking */
	struct buf *up, *down;		/* bytes in flight, or NULL */
	struct route *route;
	size_t srv_first, srv_tried;	/* static routes: servers tried */
	struct addr *cands;		/* while connecting: [DNS_ADDR_MAX] */
	size_t ncands, cand_i;
	unsigned lookup_port;		/* port for the answer's addresses */
	struct resolver *res;		/* while resolving: a reference */
	struct dns_wait wait;
	enum reason fail;		/* why the last attempt failed */
	struct addr peer, dst;
	enum reason deny;		/* set by the SNI hook */
	enum reason first_end;	/* the side that finished first */
	ev_tstamp t_start, t_conn, last_active;
	long handshake_ms, connect_ms;	/* -1: not (yet) done */
	uint64_t bytes_up, bytes_down;
	struct ident *ident;		/* with client-ca: who the cert names */
	X509 *cert;			/* ... the certificate and chain, kept */
	STACK_OF(X509) *chain;		/*     for checks on reload */
	ev_timer expiry;		/* when the certificate expires */
	int ip_counted;			/* counted in the per-address limits */
	unsigned char *pbuf;		/* CONN_PROXY: the header so far */
	size_t plen;
	struct addr local;		/* the address the client reached */
	struct tls_first first;		/* its first bytes: SSH instead of TLS? */
	char *sni;			/* normalized; conn_no_sni: none */
	size_t hello_seen;		/* CONN_HELLO: bytes peeked last time */
	int hello_lowat;		/* ... SO_RCVLOWAT set (1: the default) */
	char *alpn;			/* passthrough: protocols offered, "a,b" */
	struct splice_pipe {		/* passthrough: a pipe from the worker's
					   pool while bytes are in it */
		int fd[2];		/* -1: none held */
		size_t len;		/* bytes in it */
	} sp_up, sp_down;
	char detail[160];
};

/* The SNI of a connection that sent none (or could not keep it). */
extern char conn_no_sni[];

/*
 * The one exit: stops every watcher, logs the record, frees all.
 * Returns -1 so that callers can "return conn_close(...)".
 */
int conn_close(struct conn *c, enum reason reason, const char *detail);
/* An I/O failure on one side: reported as the side that ended first. */
int conn_io_fail(struct conn *c, enum reason side, const char *why);
/* Notes which side finished sending first. */
void conn_ended(struct conn *c, enum reason side);
/*
 * record.c. conn_log_record: c's audit record, "open" (r unused) or
 * "close" with its reason. conn_log_open: the "open" record, once the
 * session relays both ways (the server connected, the client's first
 * bytes passed the SSH gate). conn_last_words: a client whose TLS is up
 * gets the notice of why the gateway ends it, then close_notify; returns
 * 1 if it was told something.
 */
void conn_log_record(struct conn *c, int open, enum reason r,
    const char *detail);
void conn_log_open(struct conn *c);
int conn_last_words(struct conn *c, enum reason r, const char *detail);
/* The one setter of the phase; it also arms the phase's timer. */
void conn_set_phase(struct conn *c, enum conn_phase p);
/* Starts the TLS handshake on the client socket (CONN_HANDSHAKE). */
void conn_start_tls(struct conn *c);
/* Tells a client that spoke SSH to the TLS port what to do; ends c. */
void conn_plain_ssh(struct conn *c);
/* 1 if a reload came after c began: the new rules apply to it too. */
int conn_behind_reload(const struct conn *c);

/*
 * handshake.c. handshake_identity: after the handshake, with client-ca,
 * who the client is (resumed sessions verified again) and the expiry
 * timer; -1 if c was closed. handshake_access: the access policy for c
 * under rt at dst (NULL: not known yet); on deny c->detail names the rule.
 */
int handshake_identity(struct conn *c);
enum policy_verdict handshake_access(struct conn *c, const struct runtime *rt,
    const struct addr *dst);
void handshake_on_expiry(struct ev_loop *loop, ev_timer *t, int revents);

/*
 * upstream.c. Each returns -1 if it closed c. upstream_start: the first
 * destination of c's route; upstream_next: the next candidate;
 * upstream_failed: gives up on the server being connected, tries the
 * next; upstream_connected: the server answered, relaying begins.
 */
int upstream_start(struct conn *c);
int upstream_next(struct conn *c);
int upstream_failed(struct conn *c);
void upstream_connected(struct conn *c);

/*
 * relay.c. Each returns -1 if it closed c (c is then freed), else 0.
 * relay_update_watchers maps what each side waits for onto its watcher.
 */
void relay_update_watchers(struct conn *c);
int relay_flush_up(struct conn *c);	/* held client bytes -> server */
int relay_flush_down(struct conn *c);	/* held server bytes -> client */
int relay_pump_up(struct conn *c);	/* read the client (and gate it) */
int relay_pump_down(struct conn *c);	/* read the server */
/*
 * Half-closes finished directions; ends c when both are done. With no
 * idle timeout, a half-closed session gets c->timer as a periodic check
 * (relay_check_finished).
 */
int relay_settle(struct conn *c);
/* Ends c if the peer of a finished direction has gone away. */
int relay_check_finished(struct conn *c);

/*
 * passthrough.c. passthrough_hello: in CONN_HELLO, peeks at what the
 * client sent and goes on: waits for more, starts TLS (conn_start_tls)
 * or passthrough, or ends c; passthrough_relay: the server connected,
 * bytes flow; passthrough_io: a watcher of c fired in CONN_RELAY (client
 * is 1 for the client's); passthrough_events: what each side waits for
 * (relay_update_watchers applies it); passthrough_free: pipes and
 * buffers, from conn_close.
 */
void passthrough_hello(struct conn *c);
void passthrough_relay(struct conn *c);
void passthrough_io(struct conn *c, int client, int revents);
void passthrough_events(const struct conn *c, int *ce, int *be);
void passthrough_free(struct conn *c);

#endif
