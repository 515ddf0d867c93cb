/*
 * relay: moving bytes between the client (TLS) and the server (plain
 * TCP), with one bounded buffer per direction, backpressure, the SSH-only
 * gate and half-close.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/banner.h"
#include "gateway/conn_int.h"
#include "gateway/ctls.h"
#include "gateway/runtime.h"
#include "gateway/worker.h"

/* Most reads per direction per event, so one session cannot starve. */
#define ROUNDS_MAX 8
/* Seconds between two looks at a half-closed session's finished side. */
#define HALF_CLOSE_CHECK 5.0

static void
watch(struct conn *c, ev_io *io, int fd, int *cur, int want)
{
	if (want == *cur)
		return;
	ev_io_stop(c->w->loop, io);
	*cur = want;
	if (want != 0) {
		ev_io_set(io, fd, want);
		ev_io_start(c->w->loop, io);
	}
}

static int
client_reading(const struct conn *c)
{
	return c->phase > CONN_HANDSHAKE && !(c->flags & F_UP_EOF) &&
	    (c->up == NULL || !(c->flags & F_INSPECTED));
}

static int
client_writing(const struct conn *c)
{
	return c->down != NULL || ctls_pending(c) ||
	    ((c->flags & F_DOWN_EOF) && !(c->flags & F_DOWN_SHUT));
}

/* Maps what each side waits for onto its watcher: the one place. */
void
relay_update_watchers(struct conn *c)
{
	int ce = 0, be = 0;

	if (c->phase == CONN_PROXY)
		ce = EV_READ;
	else if (c->phase == CONN_HELLO)
		ce = c->flags & F_HELLO_PAUSE ? 0 : EV_READ;
	else if (c->flags & F_PASSTHROUGH)	/* both sides plain TCP */
		passthrough_events(c, &ce, &be);
	else {
		if (c->phase == CONN_HANDSHAKE)
			ce = c->hs_need;
		else {
			if (client_reading(c))
				ce |= c->rd_need;
			if (client_writing(c))
				ce |= c->wr_need;
		}
		if (c->phase == CONN_CONNECTING)
			be = EV_WRITE;
		else if (c->phase == CONN_RELAY) {
			if (!(c->flags & F_DOWN_EOF) && c->down == NULL)
				be |= EV_READ;
			if (c->up != NULL && (c->flags & F_INSPECTED))
				be |= EV_WRITE;
		}
	}
	watch(c, &c->cio, c->cfd, &c->cio_events, ce);
	if (c->bfd != -1)
		watch(c, &c->bio, c->bfd, &c->bio_events, be);
	/*
	 * Records the TLS layer read ahead of what was taken: the socket
	 * will not tell. Fed after the watchers are set, as restarting a
	 * watcher drops what was fed to it.
	 */
	if ((ce & EV_READ) && (c->rd_need & EV_READ) && ctls_buffered(c))
		ev_feed_event(c->w->loop, &c->cio, EV_READ);
}

/* Writes held client bytes to the server. Returns -1 if c was closed. */
int
relay_flush_up(struct conn *c)
{
	struct buf *b = c->up;
	ssize_t n;

	if (b == NULL || c->phase != CONN_RELAY || !(c->flags & F_INSPECTED))
		return 0;
	while (b->off < b->len) {
		n = send(c->bfd, b->data + b->off, b->len - b->off,
		    MSG_NOSIGNAL);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return conn_io_fail(c, R_SERVER_CLOSED, strerror(errno));
		}
		b->off += (size_t)n;
		c->bytes_up += (uint64_t)n;
	}
	c->up = NULL;
	worker_buf_put(c->w, b);
	return 0;
}

/* Writes held server bytes to the client. Returns -1 if c was closed. */
int
relay_flush_down(struct conn *c)
{
	struct buf *b = c->down;
	enum tls_io st;
	char why[128];
	size_t n;

	if (b == NULL) {	/* sealed bytes may still wait */
		st = ctls_flush(c);
		if (st == TLS_OK)
			return 0;
		if (st == TLS_WANT_WRITE) {
			c->wr_need = EV_WRITE;
			return 0;
		}
		c->flags |= F_TLS_FAILED;
		return conn_io_fail(c, R_CLIENT_CLOSED,
		    ctls_error(c, why, sizeof(why)));
	}
	while (b->off < b->len) {
		st = ctls_write(c, b->data + b->off, b->len - b->off, &n);
		switch (st) {
		case TLS_OK:
			b->off += n;
			c->bytes_down += n;
			break;
		case TLS_WANT_READ:
		case TLS_WANT_WRITE:
			c->wr_need = tls_want_events(st, EV_READ, EV_WRITE);
			return 0;
		case TLS_EOF:
		case TLS_FAIL:
			c->flags |= F_TLS_FAILED;
			return conn_io_fail(c, R_CLIENT_CLOSED,
			    ctls_error(c, why, sizeof(why)));
		}
	}
	c->down = NULL;
	worker_buf_put(c->w, b);
	return 0;
}

/* Passes the gate's verdict on the bytes held so far. */
static int
inspect(struct conn *c)
{
	switch (banner_check(c->up->data, c->up->len)) {
	case BANNER_OK:
		c->flags |= F_INSPECTED;
		ev_timer_stop(c->w->loop, &c->inspect);
		conn_log_open(c);
		return 0;
	case BANNER_NEED_MORE:
		return 0;
	case BANNER_BAD:
		break;
	}
	return conn_close(c, R_NOT_SSH, "first bytes are not an SSH "
	    "identification string");
}

/* 1 if c->up can take more client bytes: none in flight, room left. */
static int
up_has_room(const struct conn *c)
{
	return c->up == NULL || (c->up->off == 0 && c->up->len < RELAY_CHUNK);
}

/*
 * Reads the client into c->up, record after record until it would block
 * or the buffer is full, then writes the lot to the server at once.
 * Returns -1 if c was closed.
 */
int
relay_pump_up(struct conn *c)
{
	enum tls_io st;
	char why[128];
	size_t n;
	int rounds;

	for (rounds = 0; c->phase > CONN_HANDSHAKE &&
	    !(c->flags & F_UP_EOF) && up_has_room(c); rounds++) {
		if (rounds == ROUNDS_MAX) {	/* come back next iteration */
			ev_feed_event(c->w->loop, &c->cio, c->rd_need);
			break;
		}
		if (c->up == NULL && (c->up = worker_buf_get(c->w)) == NULL)
			return conn_close(c, R_INTERNAL, "out of memory");
		st = ctls_read(c, c->up->data + c->up->len,
		    RELAY_CHUNK - c->up->len, &n);
		switch (st) {
		case TLS_OK:
			c->up->len += n;
			c->last_active = ev_now(c->w->loop);
			if (!(c->flags & F_INSPECTED) && inspect(c) == -1)
				return -1;
			continue;
		case TLS_WANT_READ:
		case TLS_WANT_WRITE:
			c->rd_need = tls_want_events(st, EV_READ, EV_WRITE);
			break;
		case TLS_EOF:
			c->flags |= F_UP_EOF;
			conn_ended(c, R_CLIENT_CLOSED);
			if (!(c->flags & F_INSPECTED)) {
				if (c->up->len != 0)
					return conn_close(c, R_NOT_SSH,
					    "client closed inside the first "
					    "bytes");
				return conn_close(c, R_CLIENT_CLOSED,
				    "client closed before sending anything");
			}
			break;
		case TLS_FAIL:
			c->flags |= F_TLS_FAILED;
			return conn_io_fail(c, R_CLIENT_CLOSED,
			    ctls_error(c, why, sizeof(why)));
		}
		break;
	}
	if (c->up != NULL && c->up->len == 0) {
		worker_buf_put(c->w, c->up);
		c->up = NULL;
	}
	return relay_flush_up(c);
}

/* Reads the server and writes to the client. -1 if c was closed. */
int
relay_pump_down(struct conn *c)
{
	struct buf *b;
	ssize_t n;
	int rounds;

	for (rounds = 0; rounds < ROUNDS_MAX && c->phase == CONN_RELAY &&
	    !(c->flags & F_DOWN_EOF) && c->down == NULL; rounds++) {
		if ((b = worker_buf_get(c->w)) == NULL)
			return conn_close(c, R_INTERNAL, "out of memory");
		n = read(c->bfd, b->data, RELAY_CHUNK);
		if (n > 0) {
			b->len = (size_t)n;
			c->down = b;
			c->last_active = ev_now(c->w->loop);
			if (relay_flush_down(c) == -1)
				return -1;
			if (n < RELAY_CHUNK)	/* drained: wait for more */
				break;
			continue;
		}
		worker_buf_put(c->w, b);
		if (n == 0) {
			c->flags |= F_DOWN_EOF;
			conn_ended(c, R_SERVER_CLOSED);
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		return conn_io_fail(c, R_SERVER_CLOSED, strerror(errno));
	}
	return 0;
}

/*
 * Turns a finished direction into a half-close on the other side, ends
 * c when both are done, and updates the watchers. -1 if c was closed.
 */
int
relay_settle(struct conn *c)
{
	enum tls_io st;
	char why[128];

	if (c->phase == CONN_RELAY) {
		if ((c->flags & (F_UP_EOF | F_UP_SHUT)) == F_UP_EOF &&
		    c->up == NULL) {
			(void)shutdown(c->bfd, SHUT_WR);
			c->flags |= F_UP_SHUT;
		}
		if ((c->flags & (F_DOWN_EOF | F_DOWN_SHUT)) == F_DOWN_EOF &&
		    c->down == NULL) {
			st = ctls_close_notify(c);
			switch (st) {
			case TLS_OK:
				c->flags |= F_DOWN_SHUT;
				break;
			case TLS_WANT_READ:
			case TLS_WANT_WRITE:
				c->wr_need = tls_want_events(st, EV_READ,
				    EV_WRITE);
				break;
			case TLS_EOF:
			case TLS_FAIL:
				c->flags |= F_TLS_FAILED;
				return conn_io_fail(c, R_SERVER_CLOSED,
				    ctls_error(c, why, sizeof(why)));
			}
		}
		if ((c->flags & (F_UP_SHUT | F_DOWN_SHUT)) ==
		    (F_UP_SHUT | F_DOWN_SHUT))
			return conn_close(c, c->first_end, NULL);
		/*
		 * A finished side is not read any more: without an idle
		 * timeout to end the session, its peer vanishing would go
		 * unnoticed for ever. c->timer, unused in RELAY then, looks.
		 */
		if ((c->flags & (F_UP_EOF | F_DOWN_EOF)) != 0 &&
		    c->rt->conf->t_idle == 0 && !ev_is_active(&c->timer)) {
			ev_timer_set(&c->timer, HALF_CLOSE_CHECK,
			    HALF_CLOSE_CHECK);
			ev_timer_start(c->w->loop, &c->timer);
		}
	}
	relay_update_watchers(c);
	return 0;
}

/*
 * 1 if fd's peer is gone: a reset, or TCP keepalive giving up (it is on
 * for both sides), puts the socket in CLOSE, which poll() shows as
 * POLLHUP even after the error itself was read. Says why in why.
 */
static int
peer_gone(int fd, char *why, size_t len)
{
	struct pollfd p;
	socklen_t elen = sizeof(int);
	int err = 0;

	p.fd = fd;
	p.events = 0;		/* POLLERR and POLLHUP come anyway */
	p.revents = 0;
	if (poll(&p, 1, 0) != 1 || !(p.revents & (POLLERR | POLLHUP)))
		return 0;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
		err = errno;
	/* Linux reports a reset after the peer's FIN as EPIPE */
	snprintf(why, len, "%s after half-close", err == 0 ?
	    "connection lost" : strerror(err == EPIPE ? ECONNRESET : err));
	return 1;
}

int
relay_check_finished(struct conn *c)
{
	if ((c->flags & F_UP_EOF) && peer_gone(c->cfd, c->detail,
	    sizeof(c->detail))) {
		c->flags |= F_TLS_FAILED;
		return conn_close(c, R_CLIENT_CLOSED, c->detail);
	}
	if ((c->flags & F_DOWN_EOF) && peer_gone(c->bfd, c->detail,
	    sizeof(c->detail)))
		return conn_close(c, R_SERVER_CLOSED, c->detail);
	return 0;
}

