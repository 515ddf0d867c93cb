#include "gateway/metrics.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/httpreq.h"
#include "gateway/listener.h"

#define REQUEST_TIMEOUT 5.0	/* seconds to send them */
#define CLIENTS_MAX 16		/* scrapers served at once */

struct client {
	ev_io io;
	ev_timer timer;
	struct metrics *m;
	struct client *next;
	int fd;
	char req[HTTPREQ_HEAD_MAX];
	size_t len;
	char *resp;		/* being written */
	size_t resp_len, resp_off;
};

struct metrics {
	struct ev_loop *loop;
	struct addr addr;
	int fd;
	ev_io io;
	metrics_snapshot_fn *snapshot;
	void *arg;
	struct client *clients;
	size_t nclients;
};

static void
client_close(struct client *c)
{
	struct metrics *m = c->m;
	struct client **pp;

	ev_io_stop(m->loop, &c->io);
	ev_timer_stop(m->loop, &c->timer);
	close(c->fd);
	for (pp = &m->clients; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	m->nclients--;
	free(c->resp);
	free(c);
}

/* After the answer: discard what the client still sends, until EOF. */
static void
on_drain(struct ev_loop *loop, ev_io *io, int revents)
{
	struct client *c = io->data;
	char sink[4096];
	ssize_t n;

	(void)loop;
	(void)revents;
	while ((n = recv(c->fd, sink, sizeof(sink), 0)) > 0)
		;
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		client_close(c);
}

static void
on_write(struct ev_loop *loop, ev_io *io, int revents)
{
	struct client *c = io->data;
	ssize_t n;

	(void)loop;
	(void)revents;
	while (c->resp_off < c->resp_len) {
		n = send(c->fd, c->resp + c->resp_off,
		    c->resp_len - c->resp_off, MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			break;
		c->resp_off += (size_t)n;
	}
	if (c->resp_off < c->resp_len) {
		client_close(c);
		return;
	}
	/*
	 * One request per connection. Closing with unread request bytes
	 * would reset the connection and lose the answer: end our side,
	 * then read until the client closes (bounded by the timer).
	 */
	(void)shutdown(c->fd, SHUT_WR);
	ev_io_stop(loop, &c->io);
	ev_io_init(&c->io, on_drain, c->fd, EV_READ);
	c->io.data = c;
	ev_io_start(loop, &c->io);
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, 2.0, 0);
	ev_timer_start(loop, &c->timer);
}

/* Queues a whole response and starts writing it. */
static void
respond(struct client *c, const char *status, const char *extra,
    const char *type, const char *body, size_t body_len)
{
	char head[256];
	int hn;

	hn = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", status, type,
	    body_len, extra);
	if (hn < 0 || (size_t)hn >= sizeof(head) ||
	    (c->resp = malloc((size_t)hn + body_len)) == NULL) {
		client_close(c);
		return;
	}
	memcpy(c->resp, head, (size_t)hn);
	memcpy(c->resp + hn, body, body_len);
	c->resp_len = (size_t)hn + body_len;
	ev_io_stop(c->m->loop, &c->io);
	ev_io_init(&c->io, on_write, c->fd, EV_WRITE);
	c->io.data = c;
	ev_io_start(c->m->loop, &c->io);
	on_write(c->m->loop, &c->io, EV_WRITE);
}

static void
error_page(struct client *c, const char *status, const char *extra)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "%s\n", status);

	respond(c, status, extra, "text/plain; charset=utf-8", body,
	    (size_t)n);
}

/* The request head is whole and well formed: answer it. */
static void
handle(struct client *c, const struct httpreq *r)
{
	struct stats_snapshot snap;
	char *body;
	size_t n;

	if (!httpreq_method_is(r, "GET") && !httpreq_method_is(r, "HEAD")) {
		error_page(c, "405 Method Not Allowed", "Allow: GET, HEAD\r\n");
		return;
	}
	if (!httpreq_path_is(r, "/metrics")) {
		error_page(c, "404 Not Found", "");
		return;
	}
	memset(&snap, 0, sizeof(snap));
	c->m->snapshot(c->m->arg, &snap);
	if ((body = malloc(STATS_TEXT_MAX)) == NULL ||
	    (n = stats_format(&snap, body, STATS_TEXT_MAX)) == 0) {
		free(body);
		error_page(c, "500 Internal Server Error", "");
		return;
	}
	respond(c, "200 OK", "", "text/plain; version=0.0.4; charset=utf-8",
	    body, httpreq_method_is(r, "HEAD") ? 0 : n);
	free(body);
}

static void
on_read(struct ev_loop *loop, ev_io *io, int revents)
{
	struct client *c = io->data;
	enum httpreq_error err;
	struct httpreq r;
	ssize_t n;

	(void)loop;
	(void)revents;
	n = recv(c->fd, c->req + c->len, sizeof(c->req) - c->len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_close(c);
		return;
	}
	c->len += (size_t)n;
	switch (httpreq_parse(c->req, c->len, &r, &err)) {
	case HTTPREQ_NEED_MORE:	/* the parser says bad before the buffer fills */
		return;
	case HTTPREQ_COMPLETE:
		handle(c, &r);
		return;
	case HTTPREQ_BAD:
		error_page(c, httpreq_status_line(err), "");
		return;
	}
}

static void
on_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	client_close(t->data);	/* too slow: cut, no answer */
}

static void
on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
	struct metrics *m = io->data;
	struct client *c;
	int fd;

	(void)revents;
	while ((fd = accept4(m->fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		if (m->nclients >= CLIENTS_MAX ||
		    (c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->m = m;
		c->next = m->clients;
		m->clients = c;
		m->nclients++;
		ev_io_init(&c->io, on_read, fd, EV_READ);
		c->io.data = c;
		ev_io_start(loop, &c->io);
		ev_timer_init(&c->timer, on_timeout, REQUEST_TIMEOUT, 0);
		c->timer.data = c;
		ev_timer_start(loop, &c->timer);
	}
}

struct metrics *
metrics_start(struct ev_loop *loop, const struct addr *a,
    metrics_snapshot_fn *snapshot, void *arg, char *err, size_t errlen)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((m->fd = listener_open(a, err, errlen)) == -1) {
		free(m);
		return NULL;
	}
	m->loop = loop;
	m->addr = *a;
	m->snapshot = snapshot;
	m->arg = arg;
	ev_io_init(&m->io, on_accept, m->fd, EV_READ);
	m->io.data = m;
	ev_io_start(loop, &m->io);
	return m;
}

void
metrics_stop(struct metrics *m)
{
	if (m == NULL)
		return;
	while (m->clients != NULL)
		client_close(m->clients);
	ev_io_stop(m->loop, &m->io);
	close(m->fd);
	free(m);
}

const struct addr *
metrics_addr(const struct metrics *m)
{
	return &m->addr;
}
