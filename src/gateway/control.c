/*
 * control: the UNIX socket behind `sshgate ctl` (admin/ctl.c is the client).
 * One request per connection: a line "sessions [--json]", "kill ID",
 * "kill-user NAME", "reload" or "stats", words quoted (ctlproto.h); the
 * answer is "ok" or "error" on its first line, then the text. The socket
 * is 0600: only its owner (root or the service user) may talk to it.
 *
 * The clients live on the main thread's loop, non-blocking, each with a
 * deadline, so that a slow or silent one never holds up the signals, the
 * metrics endpoint or another ctl client. Only running a command blocks:
 * worker_call() waits for each worker to answer between two events.
 *
 *   accept --> CLIENT_READING --request whole, or refused--> CLIENT_WRITING
 *                   | 5 s: a last word, close                     | all sent:
 *                   v                                             | shutdown
 *              client_close <-- EOF, 256 KiB, 2 s -- CLIENT_DRAINING <-+
 *                   ^                                  (reply: 10 s)
 */
#include "gateway/control.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "gateway/conn.h"
#include "core/ctlproto.h"
#include "gateway/listener.h"
#include "core/log.h"
#include "core/sbuf.h"
#include "core/util.h"
#include "gateway/worker.h"

#define REPLY_MAX (64 << 20)	/* a sessions list of ~200k rows */
#define CLIENTS_MAX 16		/* at once; the next ones wait in the backlog */
#define REQUEST_TIMEOUT 5.0	/* seconds for the whole request */
#define REPLY_TIMEOUT 10.0	/* seconds for the client to take the reply */
#define DRAIN_TIMEOUT 2.0	/* seconds, after the reply, to see its EOF */
#define DRAIN_MAX (256 << 10)	/* bytes discarded after the reply */
#define ACCEPT_PAUSE 0.5	/* seconds without accepting when out of fds */

enum client_phase {
	CLIENT_READING = 0,	/* reading the request (REQUEST_TIMEOUT) */
	CLIENT_WRITING,		/* writing the reply (REPLY_TIMEOUT) */
	CLIENT_DRAINING,	/* reply sent, our side shut: reading to EOF */
};

struct client {
	ev_io io;
	ev_timer timer;
	struct control *ctl;
	struct client *next;
	enum client_phase phase;
	int fd;
	char req[CTL_REQUEST_MAX];
	size_t len;
	char status[8];		/* "ok\n" or "error\n", then the body */
	struct sbuf body;
	size_t off;		/* bytes of status + body sent */
	size_t drained;
};

struct control {
	struct ev_loop *loop;
	struct unix_listener ul;
	ev_io io;		/* accepting; stopped at CLIENTS_MAX */
	ev_timer pause;		/* accepting paused: out of fds or memory */
	char path[108];
	const struct control_ops *ops;
	struct client *clients;
	size_t nclients;
};

/* A text cell: "-" when empty, blanks and controls shown as '?'. */
static const char *
cell(const char *s, char *buf, size_t len)
{
	size_t i;

	if (*s == '\0')
		return "-";
	util_strlcpy(buf, s, len);
	for (i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] <= ' ' || buf[i] == 0x7f)
			buf[i] = '?';
	return buf;
}

struct list_arg {
	struct sbuf *b;
	int json;
	size_t n;
};

static void
list_worker(struct worker *w, void *argp)
{
	struct list_arg *a = argp;
	struct conn_info in;
	struct conn *c;
	char c1[256], c2[512], c3[256];

	for (c = w->conns; c != NULL; c = conn_next(c)) {
		conn_describe(c, &in);
		if (a->json) {
			sbuf_printf(a->b, "%s{\"id\":%llu,\"client\":", a->n > 0 ?
			    ",\n " : "", (unsigned long long)in.id);
			sbuf_quoted(a->b, in.client, SIZE_MAX, SBUF_JSON);
			sbuf_printf(a->b, ",\"user\":");
			sbuf_quoted(a->b, in.user, SIZE_MAX, SBUF_JSON);
			sbuf_printf(a->b, ",\"groups\":");
			sbuf_quoted(a->b, in.groups, SIZE_MAX, SBUF_JSON);
			sbuf_printf(a->b, ",\"sni\":");
			sbuf_quoted(a->b, in.sni, SIZE_MAX, SBUF_JSON);
			sbuf_printf(a->b, ",\"dst\":");
			sbuf_quoted(a->b, in.dst, SIZE_MAX, SBUF_JSON);
			sbuf_printf(a->b, ",\"phase\":\"%s\",\"age_s\":%.1f,"
			    "\"bytes_up\":%llu,\"bytes_down\":%llu,"
			    "\"worker\":%u}", in.phase, in.age,
			    (unsigned long long)in.bytes_up,
			    (unsigned long long)in.bytes_down, in.worker);
		} else
			sbuf_printf(a->b, "%-8llu %-22s %-12s %-16s %-28s %-22s "
			    "%7.0fs %10llu %10llu %u\n",
			    (unsigned long long)in.id, in.client,
			    cell(in.user, c1, sizeof(c1)),
			    cell(in.groups, c2, sizeof(c2)),
			    cell(in.sni, c3, sizeof(c3)),
			    in.dst[0] != '\0' ? in.dst : "-", in.age,
			    (unsigned long long)in.bytes_up,
			    (unsigned long long)in.bytes_down, in.worker);
		a->n++;
	}
}

/* How a user name is shown: bare if it reads back so, else quoted. */
static const char *
shown_name(const char *name, char *buf, size_t len)
{
	if (ctl_word_is_bare(name) || ctl_quote(name, buf, len) == 0)
		return name;
	return buf;
}

struct kill_arg {
	unsigned long long id;	/* or 0 */
	const char *user;	/* or NULL */
	size_t n;
};

static void
kill_worker(struct worker *w, void *argp)
{
	struct kill_arg *a = argp;
	struct conn *c, *next;
	const char *u;
	char shown[2 * CTL_REQUEST_MAX + 3], why[32 + sizeof(shown)];

	for (c = w->conns; c != NULL; c = next) {
		next = conn_next(c);
		u = conn_user(c);
		if (a->user != NULL ? u == NULL || strcmp(u, a->user) != 0 :
		    conn_id(c) != a->id)
			continue;
		if (a->user != NULL)
			snprintf(why, sizeof(why), "sshgate ctl kill-user %s",
			    shown_name(a->user, shown, sizeof(shown)));
		else
			snprintf(why, sizeof(why), "sshgate ctl kill %llu",
			    a->id);
		conn_kill_why(c, R_KILLED, why);
		a->n++;
	}
}

/* Runs a parsed request; the answer's text goes to out, *ok says which. */
static void
run(struct control *ctl, const struct ctl_request *r, struct sbuf *out,
    int *ok)
{
	const struct control_ops *ops = ctl->ops;
	struct gateway *gw = ops->gw;
	size_t i;

	*ok = 1;
	switch (r->cmd) {
	case CTL_CMD_SESSIONS: {
		struct list_arg a = { out, r->json, 0 };

		if (a.json)
			sbuf_printf(out, "[");
		else
			sbuf_printf(out, "%-8s %-22s %-12s %-16s %-28s %-22s %8s "
			    "%10s %10s %s\n", "ID", "CLIENT", "USER", "GROUPS",
			    "SNI", "DST", "AGE", "UP", "DOWN", "WORKER");
		for (i = 0; i < gw->nworkers; i++)
			worker_call(&gw->workers[i], list_worker, &a);
		if (a.json)
			sbuf_printf(out, "]\n");
		break;
	}
	case CTL_CMD_KILL:
	case CTL_CMD_KILL_USER: {
		struct kill_arg a = { r->id, NULL, 0 };
		char shown[2 * CTL_REQUEST_MAX + 3];

		if (r->cmd == CTL_CMD_KILL_USER)
			a.user = r->arg;
		for (i = 0; i < gw->nworkers; i++)
			worker_call(&gw->workers[i], kill_worker, &a);
		if (a.n == 0) {
			*ok = 0;
			if (a.user != NULL)
				sbuf_printf(out, "no session of user %s\n",
				    shown_name(a.user, shown, sizeof(shown)));
			else
				sbuf_printf(out, "no session with id %llu\n",
				    r->id);
		} else
			sbuf_printf(out, "killed %zu session%s\n", a.n,
			    a.n == 1 ? "" : "s");
		break;
	}
	case CTL_CMD_RELOAD: {
		struct conf_errors errs = { NULL, 0 };

		if (ops->reload(ops->arg, &errs) == 0)
			sbuf_printf(out, "reloaded\n");
		else {
			*ok = 0;
			for (i = 0; i < errs.n; i++)
				sbuf_printf(out, "%s\n", errs.msgs[i]);
			sbuf_printf(out, "reload failed: the running "
			    "configuration stays\n");
		}
		conf_errors_free(&errs);
		break;
	}
	case CTL_CMD_STATS: {
		struct stats_snapshot s;
		char *body = malloc(STATS_TEXT_MAX);
		size_t len;

		memset(&s, 0, sizeof(s));
		ops->snapshot(ops->arg, &s);
		if (body != NULL && (len = stats_format(&s, body,
		    STATS_TEXT_MAX)) > 0)
			sbuf_add(out, body, len);
		else
			*ok = 0;
		free(body);
		break;
	}
	}
}

/* The answer to a request the parser refused. */
static void
refuse(const struct ctl_request *r, enum ctl_error err, struct sbuf *out)
{
	if (err == CTL_E_ID)
		sbuf_printf(out, "kill: '%s' is not a session id\n", r->arg);
	else
		sbuf_printf(out, "%s\n", ctl_strerror(err));
}

/* Accepts again if nothing stops it: a full house or a pause. */
static void
accept_resume(struct control *ctl)
{
	if (ctl->nclients < CLIENTS_MAX && !ev_is_active(&ctl->pause))
		ev_io_start(ctl->loop, &ctl->io);
}

/* The one end of a client: stops its watchers, closes, frees. */
static void
client_close(struct client *c)
{
	struct control *ctl = c->ctl;
	struct client **pp;

	ev_io_stop(ctl->loop, &c->io);
	ev_timer_stop(ctl->loop, &c->timer);
	close(c->fd);
	for (pp = &ctl->clients; *pp != c; pp = &(*pp)->next)
		;
	*pp = c->next;
	ctl->nclients--;
	sbuf_free(&c->body);
	free(c);
	accept_resume(ctl);
}

/* Moves to a phase: what to wait for, and that phase's deadline. */
static void
set_phase(struct client *c, enum client_phase phase)
{
	static const double timeout[] = {
		[CLIENT_READING] = REQUEST_TIMEOUT,
		[CLIENT_WRITING] = REPLY_TIMEOUT,
		[CLIENT_DRAINING] = DRAIN_TIMEOUT,
	};
	struct ev_loop *loop = c->ctl->loop;

	c->phase = phase;
	ev_io_stop(loop, &c->io);
	ev_io_set(&c->io, c->fd, phase == CLIENT_WRITING ? EV_WRITE : EV_READ);
	ev_io_start(loop, &c->io);
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, timeout[phase], 0);
	ev_timer_start(loop, &c->timer);
}

/* Writes what the socket takes of the reply; at its end, shuts our side. */
static void
client_write(struct client *c)
{
	size_t slen = strlen(c->status), total = slen + c->body.len;
	struct msghdr msg;
	struct iovec iov[2];
	ssize_t n;

	while (c->off < total) {
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		if (c->off < slen) {
			iov[0].iov_base = c->status + c->off;
			iov[0].iov_len = slen - c->off;
			iov[1].iov_base = c->body.p;
			iov[1].iov_len = c->body.len;
			msg.msg_iovlen = c->body.len > 0 ? 2 : 1;
		} else {
			iov[0].iov_base = c->body.p + (c->off - slen);
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
	 * One request per connection. Closing with unread bytes would make
	 * the client's read fail with ECONNRESET: end our side, then discard
	 * what it still sends until its EOF (bounded in bytes and time).
	 */
	(void)shutdown(c->fd, SHUT_WR);
	set_phase(c, CLIENT_DRAINING);
}

/* Starts sending the answer: "ok" or "error", then body (taken over). */
static void
client_reply(struct client *c, int ok, struct sbuf *body)
{
	if (body->failed) {	/* out of memory, or past REPLY_MAX */
		sbuf_free(body);
		sbuf_growing(body, REPLY_MAX);
		sbuf_str(body, "reply too large\n");
		ok = 0;
	}
	util_strlcpy(c->status, ok ? "ok\n" : "error\n", sizeof(c->status));
	c->body = *body;
	c->off = 0;
	set_phase(c, CLIENT_WRITING);
	client_write(c);
}

static void
client_read(struct client *c)
{
	struct ctl_request req;
	struct sbuf body;
	enum ctl_error err;
	size_t used;
	ssize_t n;
	int ok = 0;

	sbuf_growing(&body, REPLY_MAX);
	n = recv(c->fd, c->req + c->len, sizeof(c->req) - c->len, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == -1 || (n == 0 && c->len == 0)) {
		client_close(c);
		return;
	}
	if (n == 0) {
		sbuf_printf(&body, "request ends without a newline\n");
		client_reply(c, 0, &body);
		return;
	}
	c->len += (size_t)n;
	switch (ctl_parse(c->req, c->len, &used, &req, &err)) {
	case CTL_NEED_MORE:	/* the parser says bad before the buffer fills */
		return;
	case CTL_BAD:
		refuse(&req, err, &body);
		break;
	case CTL_COMPLETE:
		run(c->ctl, &req, &body, &ok);
		break;
	}
	client_reply(c, ok, &body);
}

static void
client_drain(struct client *c)
{
	char sink[4096];
	ssize_t n;

	while ((n = recv(c->fd, sink, sizeof(sink), 0)) > 0) {
		c->drained += (size_t)n;
		if (c->drained > DRAIN_MAX) {
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
	struct client *c = io->data;

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
	struct client *c = t->data;
	char late[64];
	int n;

	(void)loop;
	(void)revents;
	/* a last word for a person typing, if the socket takes it now */
	n = snprintf(late, sizeof(late), "error\nno whole request within "
	    "%gs\n", REQUEST_TIMEOUT);
	if (c->phase == CLIENT_READING && n > 0 && (size_t)n < sizeof(late))
		(void)send(c->fd, late, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	client_close(c);
}

static void
on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
	struct control *ctl = io->data;
	struct client *c;
	int fd;

	(void)revents;
	while (ctl->nclients < CLIENTS_MAX) {
		if ((fd = accept4(ctl->ul.fd, NULL, NULL, SOCK_NONBLOCK |
		    SOCK_CLOEXEC)) == -1) {
			/* out of fds or memory: pause rather than spin */
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				ev_io_stop(loop, &ctl->io);
				ev_timer_start(loop, &ctl->pause);
			}
			return;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->ctl = ctl;
		c->next = ctl->clients;
		ctl->clients = c;
		ctl->nclients++;
		ev_io_init(&c->io, on_client, fd, EV_READ);
		c->io.data = c;
		ev_timer_init(&c->timer, on_client_timeout, REQUEST_TIMEOUT, 0);
		c->timer.data = c;
		set_phase(c, CLIENT_READING);
	}
	ev_io_stop(loop, &ctl->io);	/* full: the next ones wait */
}

static void
on_pause_end(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	accept_resume(t->data);
}

struct control *
control_start(struct ev_loop *loop, const char *path, long uid, long gid,
    const char *user, const struct control_ops *ops, char *err,
    size_t errlen)
{
	struct control *ctl = calloc(1, sizeof(*ctl));
	char why[512];

	if (ctl == NULL) {
		snprintf(err, errlen, "control %s: out of memory", path);
		return NULL;
	}
	if (listener_open_unix(&ctl->ul, path, uid, gid, user, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "control %s", why);
		free(ctl);
		return NULL;
	}
	ctl->loop = loop;
	ctl->ops = ops;
	util_strlcpy(ctl->path, path, sizeof(ctl->path));
	ev_io_init(&ctl->io, on_accept, ctl->ul.fd, EV_READ);
	ctl->io.data = ctl;
	ev_timer_init(&ctl->pause, on_pause_end, ACCEPT_PAUSE, 0);
	ctl->pause.data = ctl;
	ev_io_start(loop, &ctl->io);
	return ctl;
}

void
control_stop(struct control *ctl)
{
	if (ctl == NULL)
		return;
	while (ctl->clients != NULL)
		client_close(ctl->clients);
	ev_io_stop(ctl->loop, &ctl->io);
	ev_timer_stop(ctl->loop, &ctl->pause);
	listener_close_unix(&ctl->ul);
	free(ctl);
}

const char *
control_path(const struct control *ctl)
{
	return ctl->path;
}
