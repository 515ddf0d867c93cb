/*
 * passthrough: routes that do not terminate TLS (`route P [alpn LIST]
 * passthrough to ...`), so that a website's HTTPS and sshgate can share
 * one address and port.
 *
 * With any passthrough route in the config, a connection's first bytes
 * are read before TLS starts, without taking them from the socket
 * (MSG_PEEK). SO_RCVLOWAT keeps the socket quiet until what the parser
 * (core/hello.c) needs next has come: the rest of a record header or of
 * a record, so that a ClientHello sent one byte at a time costs two
 * wake-ups per record, not one per byte. Its SNI and ALPN pick the route
 * (route_match_hello). For a route that terminates TLS, or none, the
 * bytes are still unread and OpenSSL's handshake starts on the socket
 * exactly as it does without passthrough routes (so tls-offload's record
 * count is unchanged). For a passthrough route the server is connected
 * (upstream.c: the same failover, destination and access checks), then
 * the two sockets are joined untouched, the ClientHello first, since the
 * kernel still holds it.
 *
 * The relay moves bytes with splice(2), socket -> pipe -> socket, never
 * copying them into the gateway. A direction takes a pipe from the
 * worker's pool when bytes arrive and gives it back once empty, so an
 * idle session holds none. Without a pipe (out of descriptors) or where
 * splice is refused, the session goes on with read/write through relay
 * buffers. As in relay.c, a direction whose pipe or buffer holds bytes
 * does not read its source (backpressure), and each end becomes a
 * half-close (shutdown SHUT_WR) on the other side.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/hello.h"
#include "core/route.h"
#include "core/util.h"
#include "gateway/conn_int.h"
#include "gateway/runtime.h"
#include "gateway/worker.h"

/* Most transfers per direction per event, so one session cannot starve. */
#define ROUNDS_MAX 8
/* Asked of one splice into a pipe: the pipe's room is the real limit. */
#define SPLICE_CHUNK (1 << 20)
/* Woken with nothing new (memory pressure): wait this long, then peek. */
#define HELLO_PAUSE 0.01
/* Seconds between two looks at a half-closed session's finished side. */
#define HALF_CLOSE_CHECK 5.0

#define ALERT_HANDSHAKE_FAILURE 40
#define ALERT_DECODE_ERROR 50

/* What the ClientHello read so far says to do next. */
enum pt_next {
	PT_WAIT = 0,		/* more bytes are needed */
	PT_TLS,			/* a terminated route (or none): start TLS */
	PT_PLAIN_SSH,		/* the client spoke SSH to the TLS port */
	PT_DONE,		/* passthrough under way, or c was closed */
};

/*
 * A fatal alert in the clear, as a server may send before its hello:
 * one try, never waiting. The close then lingers so that it arrives.
 */
static void
send_alert(struct conn *c, unsigned char desc)
{
	const unsigned char rec[7] = { 21, 3, 3, 0, 2, 2, desc };

	(void)send(c->cfd, rec, sizeof(rec), MSG_NOSIGNAL | MSG_DONTWAIT);
	c->flags |= F_TOLD;
}

/* The socket is readable only once n bytes are there (or at its end). */
static void
set_lowat(struct conn *c, int n)
{
	if (n == c->hello_lowat)
		return;
	/* if refused, wake-ups without enough bytes just come sooner */
	if (setsockopt(c->cfd, SOL_SOCKET, SO_RCVLOWAT, &n, sizeof(n)) == 0)
		c->hello_lowat = n;
}

/*
 * Why the client's socket woke the worker without a new byte to peek:
 * NULL for no reason of the client's (memory pressure), else the end.
 */
static const char *
peer_stuck(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP | POLLPRI };

	if (poll(&p, 1, 0) != 1)
		return NULL;
	if (p.revents & (POLLRDHUP | POLLHUP | POLLERR))
		return "client closed inside its ClientHello";
	/* a peek stops at urgent data: no ClientHello can be read past it */
	if (p.revents & POLLPRI)
		return "not a TLS ClientHello: TCP urgent data (MSG_OOB) in it";
	return NULL;
}

/*
 * Waits for need bytes (have are there). Woken without a new byte,
 * which SO_RCVLOWAT allows under memory pressure, at the client's end
 * or with urgent data where the peek stops: the end and urgent data
 * close c, otherwise peeking pauses for a moment.
 */
static enum pt_next
wait_for(struct conn *c, size_t have, size_t need)
{
	const char *why;

	if (have <= c->hello_seen) {
		if ((why = peer_stuck(c->cfd)) != NULL) {
			conn_close(c, R_HANDSHAKE_FAILED, why);
			return PT_DONE;
		}
		c->flags |= F_HELLO_PAUSE;
		ev_timer_set(&c->inspect, HELLO_PAUSE, 0);
		ev_timer_start(c->w->loop, &c->inspect);
		return PT_WAIT;
	}
	c->hello_seen = have;
	set_lowat(c, (int)need);
	return PT_WAIT;
}

/* 1: b starts "SSH-"; 0: it may still (a shorter part of it); -1: not. */
static int
ssh_start(const unsigned char *b, size_t n)
{
	size_t k = n < 4 ? n : 4;

	if (memcmp(b, "SSH-", k) != 0)
		return -1;
	return n >= 4 ? 1 : 0;
}

/* The protocols offered, "h2,http/1.1", for the log; NULL if none. */
static char *
alpn_text(const struct hello *h)
{
	size_t i, n = 0;
	char *s;

	if (h->nalpn == 0)
		return NULL;
	for (i = 0; i < h->nalpn; i++)
		n += strlen(h->alpn[i]) + 1;
	if ((s = malloc(n)) == NULL)
		return NULL;	/* the log goes without it */
	s[0] = '\0';
	for (i = 0; i < h->nalpn; i++) {
		if (i > 0)
			strcat(s, ",");
		strcat(s, h->alpn[i]);
	}
	return s;
}

/*
 * A passthrough route was chosen: the access policy as far as the name
 * decides it (a passthrough client has no certificate: it is judged as
 * nobody, see handshake_access), then the route's servers.
 */
static void
start(struct conn *c, struct route *r, const struct hello *h, const char *sni)
{
	c->route = r;
	c->flags |= F_PASSTHROUGH | F_INSPECTED;	/* no SSH gate: it is TLS */
	if (sni != NULL && (c->sni = strdup(sni)) == NULL)
		c->sni = conn_no_sni;
	c->alpn = alpn_text(h);
	if (handshake_access(c, c->rt, NULL) == POLICY_DENY) {
		send_alert(c, ALERT_HANDSHAKE_FAILURE);
		conn_close(c, R_ACCESS_DENIED, c->detail);
		return;
	}
	(void)upstream_start(c);
}

static enum pt_next
peek_hello(struct conn *c)
{
	unsigned char buf[HELLO_RAW_MAX];
	const char *protos[HELLO_ALPN_MAX];
	char sni[ROUTE_SNI_MAX + 1];
	const char *why = NULL;
	struct route *r;
	struct hello h;
	ssize_t n;
	size_t i;

	c->flags &= ~F_HELLO_PAUSE;
	n = recv(c->cfd, buf, sizeof(buf), MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return PT_WAIT;
	if (n <= 0) {
		c->flags |= F_TLS_FAILED;
		if (n == 0)
			conn_close(c, R_HANDSHAKE_FAILED, c->hello_seen > 0 ?
			    "client closed inside its ClientHello" :
			    "client closed before sending anything");
		else {
			util_errno(c->detail, sizeof(c->detail), "reading the "
			    "ClientHello");
			conn_close(c, R_HANDSHAKE_FAILED, c->detail);
		}
		return PT_DONE;
	}
	switch (hello_parse(buf, (size_t)n, &h, &why)) {
	case HELLO_NEED_MORE:
		return wait_for(c, (size_t)n, h.len);
	case HELLO_BAD:
		switch (ssh_start(buf, (size_t)n)) {
		case 1:
			set_lowat(c, 1);
			return PT_PLAIN_SSH;
		case 0:
			return wait_for(c, (size_t)n, 4);
		}
		snprintf(c->detail, sizeof(c->detail), "not a TLS ClientHello: "
		    "%s", why);
		if (buf[0] == 22)	/* it looked like TLS: say so in TLS */
			send_alert(c, ALERT_DECODE_ERROR);
		conn_close(c, R_HANDSHAKE_FAILED, c->detail);
		return PT_DONE;
	case HELLO_OK:
		break;
	}
	set_lowat(c, 1);
	/* a name that is no host name: refused in the handshake, as ever */
	if (h.has_sni && route_normalize_sni(h.sni, sni) == -1)
		return PT_TLS;
	for (i = 0; i < h.nalpn; i++)
		protos[i] = h.alpn[i];
	r = route_match_hello(&c->rt->conf->routes, h.has_sni ? sni : NULL,
	    protos, h.nalpn);
	if (r == NULL || !r->passthrough)
		return PT_TLS;
	start(c, r, &h, h.has_sni ? sni : NULL);
	return PT_DONE;
}

void
passthrough_hello(struct conn *c)
{
	switch (peek_hello(c)) {
	case PT_WAIT:
		relay_update_watchers(c);
		return;
	case PT_TLS:			/* as without passthrough routes */
		conn_set_phase(c, CONN_HANDSHAKE);
		conn_start_tls(c);
		return;
	case PT_PLAIN_SSH:
		conn_plain_ssh(c);
		return;
	case PT_DONE:
		return;
	}
}

/* n bytes of a direction reached their destination. */
static void
counted(struct conn *c, int up, size_t n)
{
	if (up) {
		c->bytes_up += n;
		stats_add(&c->w->stats.pt_up, n);
	} else {
		c->bytes_down += n;
		stats_add(&c->w->stats.pt_down, n);
	}
	c->last_active = ev_now(c->w->loop);
}

/* read/write through a relay buffer: where splice cannot be had. */
static int
copy(struct conn *c, int up)
{
	struct buf **b = up ? &c->up : &c->down;
	int src = up ? c->cfd : c->bfd, dst = up ? c->bfd : c->cfd;
	unsigned eof = up ? F_UP_EOF : F_DOWN_EOF;
	enum reason from = up ? R_CLIENT_CLOSED : R_SERVER_CLOSED;
	enum reason to = up ? R_SERVER_CLOSED : R_CLIENT_CLOSED;
	ssize_t n;
	int rounds;

	for (rounds = 0; rounds < ROUNDS_MAX; rounds++) {
		if (*b != NULL) {
			n = send(dst, (*b)->data + (*b)->off,
			    (*b)->len - (*b)->off, MSG_NOSIGNAL);
			if (n > 0) {
				(*b)->off += (size_t)n;
				counted(c, up, (size_t)n);
				if ((*b)->off == (*b)->len) {
					worker_buf_put(c->w, *b);
					*b = NULL;
				}
				continue;
			}
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;
			return conn_io_fail(c, to, strerror(errno));
		}
		if (c->flags & eof)
			break;
		if ((*b = worker_buf_get(c->w)) == NULL)
			return conn_close(c, R_INTERNAL, "out of memory");
		n = read(src, (*b)->data, RELAY_CHUNK);
		if (n > 0) {
			(*b)->len = (size_t)n;
			continue;
		}
		worker_buf_put(c->w, *b);
		*b = NULL;
		if (n == 0) {
			c->flags |= eof;
			conn_ended(c, from);
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		return conn_io_fail(c, from, strerror(errno));
	}
	return 0;
}

/* 1 if the next byte fd would give is TCP urgent data. */
static int
at_urgent_mark(int fd)
{
	int at = 0;

	return ioctl(fd, SIOCATMARK, &at) == 0 && at != 0;
}

/*
 * One direction: what its source has, through its pipe, to its
 * destination. Returns -1 if c was closed.
 */
static int
move(struct conn *c, int up)
{
	struct splice_pipe *p = up ? &c->sp_up : &c->sp_down;
	int src = up ? c->cfd : c->bfd, dst = up ? c->bfd : c->cfd;
	unsigned eof = up ? F_UP_EOF : F_DOWN_EOF;
	enum reason from = up ? R_CLIENT_CLOSED : R_SERVER_CLOSED;
	enum reason to = up ? R_SERVER_CLOSED : R_CLIENT_CLOSED;
	ssize_t n;
	int rounds, took = 0;

	if (c->phase != CONN_RELAY)
		return 0;
	for (rounds = 0; rounds < ROUNDS_MAX; rounds++) {
		if (p->len > 0) {
			n = splice(p->fd[0], NULL, dst, NULL, p->len,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n > 0) {
				p->len -= (size_t)n;
				counted(c, up, (size_t)n);
				continue;
			}
			if (n == -1 && errno == EINTR)
				continue;
			if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			return conn_io_fail(c, to, strerror(errno));
		}
		if (c->flags & (eof | F_NOSPLICE))
			break;
		if (p->fd[0] == -1 && worker_pipe_get(c->w, p->fd) == -1) {
			c->flags |= F_NOSPLICE;	/* no pipe to be had */
			break;
		}
		n = splice(src, NULL, p->fd[1], NULL, SPLICE_CHUNK,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n > 0) {
			p->len = (size_t)n;
			took = 1;
			continue;
		}
		if (n == 0) {
			c->flags |= eof;
			conn_ended(c, from);
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			/*
			 * splice stops short of TCP urgent data (MSG_OOB) for
			 * ever while the socket stays readable; read() passes
			 * it as for any session (without SO_OOBINLINE the
			 * byte is not part of the stream)
			 */
			if (!took && at_urgent_mark(src))
				c->flags |= F_NOSPLICE;
			break;
		}
		if (errno == EINVAL || errno == ENOSYS) {
			c->flags |= F_NOSPLICE;	/* not for these sockets */
			break;
		}
		return conn_io_fail(c, from, strerror(errno));
	}
	if (p->len == 0 && p->fd[0] != -1)
		worker_pipe_put(c->w, p->fd);
	if ((c->flags & F_NOSPLICE) && p->len == 0)
		return copy(c, up);
	return 0;
}

/*
 * Half-closes finished directions, ends c when both are done, updates
 * the watchers. -1 if c was closed.
 */
static int
settle(struct conn *c)
{
	if ((c->flags & (F_UP_EOF | F_UP_SHUT)) == F_UP_EOF &&
	    c->sp_up.len == 0 && c->up == NULL) {
		(void)shutdown(c->bfd, SHUT_WR);
		c->flags |= F_UP_SHUT;
	}
	if ((c->flags & (F_DOWN_EOF | F_DOWN_SHUT)) == F_DOWN_EOF &&
	    c->sp_down.len == 0 && c->down == NULL) {
		(void)shutdown(c->cfd, SHUT_WR);
		c->flags |= F_DOWN_SHUT;
	}
	if ((c->flags & (F_UP_SHUT | F_DOWN_SHUT)) == (F_UP_SHUT | F_DOWN_SHUT))
		return conn_close(c, c->first_end, NULL);
	/* as in relay_settle: a vanished peer of a finished side is seen */
	if ((c->flags & (F_UP_EOF | F_DOWN_EOF)) != 0 &&
	    c->rt->conf->t_idle == 0 && !ev_is_active(&c->timer)) {
		ev_timer_set(&c->timer, HALF_CLOSE_CHECK, HALF_CLOSE_CHECK);
		ev_timer_start(c->w->loop, &c->timer);
	}
	relay_update_watchers(c);
	return 0;
}

void
passthrough_relay(struct conn *c)
{
	stats_add(&c->w->stats.passthrough, 1);
	if (move(c, 1) == -1 || move(c, 0) == -1)
		return;
	(void)settle(c);
}

void
passthrough_io(struct conn *c, int client, int revents)
{
	/* the client's socket: readable feeds up, writable drains down */
	if ((revents & EV_WRITE) && move(c, !client) == -1)
		return;
	if ((revents & EV_READ) && move(c, client) == -1)
		return;
	(void)settle(c);
}

void
passthrough_events(const struct conn *c, int *ce, int *be)
{
	*ce = *be = 0;
	if (c->phase == CONN_CONNECTING)
		*be = EV_WRITE;
	if (c->phase != CONN_RELAY)
		return;
	if (!(c->flags & F_UP_EOF) && c->sp_up.len == 0 && c->up == NULL)
		*ce |= EV_READ;
	if (c->sp_down.len > 0 || c->down != NULL)
		*ce |= EV_WRITE;
	if (!(c->flags & F_DOWN_EOF) && c->sp_down.len == 0 && c->down == NULL)
		*be |= EV_READ;
	if (c->sp_up.len > 0 || c->up != NULL)
		*be |= EV_WRITE;
}

/* A pipe with bytes in it is closed; an empty one goes back. */
static void
pipe_drop(struct conn *c, struct splice_pipe *p)
{
	if (p->fd[0] == -1)
		return;
	if (p->len == 0) {
		worker_pipe_put(c->w, p->fd);
		return;
	}
	worker_pipe_close(c->w, p->fd);
}

void
passthrough_free(struct conn *c)
{
	pipe_drop(c, &c->sp_up);
	pipe_drop(c, &c->sp_down);
	free(c->alpn);
	c->alpn = NULL;
}
