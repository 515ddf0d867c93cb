#include "gateway/reqsrv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/util.h"

#define ACCEPT_PAUSE 0.5	/* seconds without accepting when out of fds */

enum client_phase {
	CLIENT_READING = 0,	/* reading the request (request_timeout) */
	CLIENT_WRITING,		/* writing the answer (answer_timeout) */
	CLIENT_DRAINING,	/* answer sent, our side shut: reading to EOF */
};

struct client {
	ev_io io;
	ev_timer timer;
	struct reqsrv *s;
	struct client *next;
	enum client_phase phase;
	int fd;
	char head_buf[REQSRV_HEAD_MAX];
	struct sbuf head;	/* fixed, in head_buf */
	struct sbuf body;	/* growing, up to answer_max */
	size_t off;		/* bytes of head + body sent */
	size_t drained;
	size_t len;		/* bytes of req read */
	char req[];		/* request_max bytes */
};

struct reqsrv {
	struct ev_loop *loop;
	struct reqsrv_def def;
	int fd;
	ev_io io;		/* accepting; stopped when full (unless shed) */
	ev_timer pause;		/* accepting paused: out of fds or memory */
	struct client *clients;
	size_t nclients;
};

/* Accepts again if nothing stops it: a full house or a pause. */
static void
accept_resume(struct reqsrv *s)
{
	if (s->nclients < s->def.clients_max && !ev_is_active(&s->pause))
		ev_io_start(s->loop, &s->io);
}

/* The one end of a client: stops its watchers, closes, frees. */
static void
client_close(struct client *c)
{
	struct reqsrv *s = c->s;
	struct client **pp;

	ev_io_stop(s->loop, &c->io);
	ev_timer_stop(s->loop, &c->timer);
	close(c->fd);
	for (pp = &s->clients; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	s->nclients--;
	sbuf_free(&c->body);
	free(c);
	accept_resume(s);
}

/* Moves to a phase: what to wait for, and that phase's deadline. */
static void
set_phase(struct client *c, enum client_phase phase)
{
	const struct reqsrv_def *d = &c->s->def;
	struct ev_loop *loop = c->s->loop;
	double t = d->request_timeout;

	if (phase == CLIENT_WRITING)
		t = d->answer_timeout;
	else if (phase == CLIENT_DRAINING)
		t = d->drain_timeout;
	c->phase = phase;
	ev_io_stop(loop, &c->io);
	ev_io_set(&c->io, c->fd, phase == CLIENT_WRITING ? EV_WRITE : EV_READ);
	ev_io_start(loop, &c->io);
	if (phase == CLIENT_WRITING && t <= 0)
		return;		/* the request's deadline goes on */
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, t, 0);
	ev_timer_start(loop, &c->timer);
}

/* Writes what the socket takes of the answer; at its end, shuts our side. */
static void
client_write(struct client *c)
{
	size_t hlen = c->head.len, total = hlen + c->body.len;
	struct msghdr msg;
	struct iovec iov[2];
	ssize_t n;

	while (c->off < total) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		if (c->off < hlen) {
			iov[0].iov_base = c->head.p + c->off;
			iov[0].iov_len = hlen - c->off;
			iov[1].iov_base = c->body.p;
			iov[1].iov_len = c->body.len;
			msg.msg_iovlen = c->body.len > 0 ? 2 : 1;
		} else {
			iov[0].iov_base = c->body.p + (c->off - hlen);
			iov[0].iov_len = total - c->off;
			msg.msg_iovlen = 1;
		}
		if ((n = sendmsg(c->fd, &msg, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				client_close(c);
			return;
		}
		c->off += (size_t)n;
	}
	/*
	 * One request per connection. Closing with unread bytes would reset
	 * the connection and lose the answer: end our side, then discard
	 * what the client still sends until its EOF (bounded in bytes and
	 * time).
	 */
	(void)shutdown(c->fd, SHUT_WR);
	set_phase(c, CLIENT_DRAINING);
}

static void
client_read(struct client *c)
{
	const struct reqsrv_def *d = &c->s->def;
	enum reqsrv_status st = REQSRV_NEED_MORE;
	ssize_t n;

	n = recv(c->fd, c->req + c->len, d->request_max - c->len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1 || (n == 0 && c->len == 0)) {
		client_close(c);
		return;
	}
	if (n > 0) {
		c->len += (size_t)n;
		st = d->parse(c->req, c->len);
		if (st == REQSRV_NEED_MORE) {
			/* a full buffer must never read 0 bytes as an EOF */
			if (c->len == d->request_max)
				client_close(c);
			return;
		}
	}	/* else an EOF in the middle: the protocol says what then */
	if (d->answer(d->arg, c->req, c->len, st, &c->head, &c->body) == -1 ||
	    c->head.failed || c->body.failed) {
		client_close(c);
		return;
	}
	c->off = 0;
	set_phase(c, CLIENT_WRITING);
	client_write(c);
}

static void
client_drain(struct client *c)
{
	char sink[4096];
	ssize_t n;

	while ((n = recv(c->fd, sink, sizeof(sink), 0)) > 0) {
		c->drained += (size_t)n;
		if (c->drained > c->s->def.drain_max) {
			client_close(c);
			return;
		}
	}
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		client_close(c);
}

static void
on_client(struct ev_loop *loop, ev_io *io, int revents)
{
	struct client *c = container_of(io, struct client, io);

	(void)loop;
	(void)revents;
	switch (c->phase) {
	case CLIENT_READING:
		client_read(c);
		break;
	case CLIENT_WRITING:
		client_write(c);
		break;
	case CLIENT_DRAINING:
		client_drain(c);
		break;
	}
}

static void
on_client_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct client *c = container_of(t, struct client, timer);
	const char *late = c->s->def.late;

	(void)loop;
	(void)revents;
	/* a last word for a person typing, if the socket takes it now */
	if (c->phase == CLIENT_READING && late != NULL)
		(void)send(c->fd, late, strlen(late), MSG_DONTWAIT |
		    MSG_NOSIGNAL);
	client_close(c);
}

static void
on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
	struct reqsrv *s = container_of(io, struct reqsrv, io);
	struct client *c;
	int fd;

	(void)revents;
	while (s->nclients < s->def.clients_max || s->def.shed) {
		if ((fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC)) == -1) {
			/* out of fds or memory: pause rather than spin */
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				ev_io_stop(loop, &s->io);
				/* a timer that fired keeps no time left: set it */
				ev_timer_set(&s->pause, ACCEPT_PAUSE, 0);
				ev_timer_start(loop, &s->pause);
			}
			return;
		}
		if (s->nclients >= s->def.clients_max ||
		    (c = calloc(1, sizeof(*c) + s->def.request_max)) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->s = s;
		c->next = s->clients;
		s->clients = c;
		s->nclients++;
		sbuf_fixed(&c->head, c->head_buf, sizeof(c->head_buf));
		sbuf_growing(&c->body, s->def.answer_max);
		ev_io_init(&c->io, on_client, fd, EV_READ);
		ev_timer_init(&c->timer, on_client_timeout,
		    s->def.request_timeout, 0);
		set_phase(c, CLIENT_READING);
	}
	ev_io_stop(loop, &s->io);	/* full: the next ones wait */
}

static void
on_pause_end(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	accept_resume(container_of(t, struct reqsrv, pause));
}

struct reqsrv *
reqsrv_start(struct ev_loop *loop, int fd, const struct reqsrv_def *def)
{
	struct reqsrv *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->loop = loop;
	s->def = *def;
	s->fd = fd;
	ev_io_init(&s->io, on_accept, fd, EV_READ);
	ev_init(&s->pause, on_pause_end);
	ev_io_start(loop, &s->io);
	return s;
}

void
reqsrv_stop(struct reqsrv *s)
{
	if (s == NULL)
		return;
	while (s->clients != NULL)
		client_close(s->clients);
	ev_io_stop(s->loop, &s->io);
	ev_timer_stop(s->loop, &s->pause);
	free(s);
}
