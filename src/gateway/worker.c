#include "gateway/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/util.h"
#include "gateway/conn.h"
#include "gateway/logsink.h"

#define POOL_MAX 16		/* free relay buffers a worker keeps */
#define ACCEPT_BATCH 32		/* accepts per wake-up, for fairness */
#define ACCEPT_PAUSE 0.5	/* seconds without accept after EMFILE */
#define LINGER_SECONDS 2.0	/* a closed client has this long to end */
#define LINGER_MAX 1024		/* sockets lingering at once, a worker */

/* A client socket closed on our side, read until the client's end. */
struct closing {
	ev_io io;
	ev_timer timer;
	struct worker *w;
	struct closing *prev, *next;
};

/* One message from the main thread; reload and call wait for done. */
struct worker_msg {
	struct worker_msg *next;
	enum {
		WORKER_MSG_RELOAD = 0,
		WORKER_MSG_CALL,
		WORKER_MSG_STOP,
	} kind;
	struct runtime *rt;		/* RELOAD: a reference, taken over */
	struct resolver *res;		/* RELOAD: taken over */
	const struct listener *ls;	/* RELOAD */
	size_t nls;
	void (*fn)(struct worker *, void *);	/* CALL */
	void *arg;
	int queued;			/* STOP: already in the queue */
	int done;			/* set by the worker, under lock */
};

struct buf *
worker_buf_get(struct worker *w)
{
	struct buf *b = w->pool;

	if (b != NULL) {
		w->pool = b->next;
		w->npool--;
	} else if ((b = malloc(sizeof(*b))) == NULL)
		return NULL;
	b->off = b->len = 0;
	return b;
}

void
worker_buf_put(struct worker *w, struct buf *b)
{
	if (w->npool >= POOL_MAX) {
		free(b);
		return;
	}
	b->next = w->pool;
	w->pool = b;
	w->npool++;
}

#define PIPE_BYTES (256 * 1024)

int
worker_pipe_get(struct worker *w, int fd[2])
{
	if (w->npipes > 0) {
		w->npipes--;
		fd[0] = w->pipes[w->npipes][0];
		fd[1] = w->pipes[w->npipes][1];
		return 0;
	}
	if (atomic_fetch_add(&w->gw->pipes, 1) >=
	    atomic_load(&w->gw->pipes_max)) {
		atomic_fetch_sub(&w->gw->pipes, 1);
		errno = EMFILE;
		return -1;
	}
	if (pipe2(fd, O_NONBLOCK | O_CLOEXEC) == -1) {
		atomic_fetch_sub(&w->gw->pipes, 1);
		return -1;
	}
	/* room for more than one read: fewer system calls a byte; a
	   refusal (the per-user pipe budget) leaves the default */
	(void)fcntl(fd[1], F_SETPIPE_SZ, PIPE_BYTES);
	return 0;
}

void
worker_pipe_put(struct worker *w, int fd[2])
{
	if (w->npipes < PIPE_POOL_MAX) {
		w->pipes[w->npipes][0] = fd[0];
		w->pipes[w->npipes][1] = fd[1];
		w->npipes++;
		fd[0] = fd[1] = -1;
	} else
		worker_pipe_close(w, fd);
}

void
worker_pipe_close(struct worker *w, int fd[2])
{
	close(fd[0]);
	close(fd[1]);
	fd[0] = fd[1] = -1;
	atomic_fetch_sub(&w->gw->pipes, 1);
}

/* Starts or stops accepting to match the worker's state. */
static void
listeners_update(struct worker *w)
{
	int on = !w->draining && !w->pause_emfile && !w->pause_full;
	size_t i;

	if (on == w->accepting)
		return;
	log_debug("worker %u: %s accepting%s", w->id, on ? "resumes" :
	    "stops", w->pause_full ? " (max-connections)" :
	    w->pause_emfile ? " (out of file descriptors)" : "");
	for (i = 0; i < w->nls; i++) {
		if (on)
			ev_io_start(w->loop, &w->ls[i].io);
		else
			ev_io_stop(w->loop, &w->ls[i].io);
	}
	w->accepting = on;
}

static void release_slot(struct worker *);

static void
on_accept(struct ev_loop *loop, ev_io *io, int revents)
{
	struct listener *l = container_of(io, struct listener, io);
	struct worker *w = l->w;
	struct gateway *gw = w->gw;
	unsigned long max = atomic_load(&gw->max_conns);
	struct addr peer;
	int i, fd, err;

	(void)loop;
	(void)revents;
	for (i = 0; i < ACCEPT_BATCH; i++) {
		if (atomic_fetch_add(&gw->active, 1) >= max) {
			/* full: leave the rest in the backlog */
			w->pause_full = 1;
			listeners_update(w);
			release_slot(w);
			return;
		}
		peer.len = sizeof(peer.ss);
		fd = accept4(l->fd, (struct sockaddr *)&peer.ss, &peer.len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd != -1) {
			conn_start(w, fd, &peer, l->proxy_protocol);
			continue;
		}
		err = errno;
		release_slot(w);
		switch (err) {
		case EINTR:
		case ECONNABORTED:
		case EPROTO:
			continue;
		case EMFILE:
		case ENFILE:
		case ENOBUFS:
		case ENOMEM:
			/* retrying now would spin: wait for fds to free up */
			errno = err;
			log_warn("accept: pausing new connections for %gs",
			    ACCEPT_PAUSE);
			w->pause_emfile = 1;
			ev_timer_set(&w->pause_timer, ACCEPT_PAUSE, 0);
			ev_timer_start(w->loop, &w->pause_timer);
			listeners_update(w);
			return;
		case EAGAIN:
		default:
			return;
		}
	}
}

static void
on_pause_end(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = container_of(t, struct worker, pause_timer);

	(void)loop;
	(void)revents;
	w->pause_emfile = 0;
	listeners_update(w);
}

static void
resume_if_room(struct worker *w)
{
	if (w->pause_full &&
	    atomic_load(&w->gw->active) < atomic_load(&w->gw->max_conns)) {
		w->pause_full = 0;
		listeners_update(w);
	}
}

/*
 * Gives back one slot of max-connections: every release, of a session or
 * of a reservation that did not become one, goes here, so that a worker
 * paused at the limit is always woken when room appears.
 */
static void
release_slot(struct worker *w)
{
	struct gateway *gw = w->gw;
	size_t i;

	if (atomic_fetch_sub(&gw->active, 1) < atomic_load(&gw->max_conns))
		return;
	/* we were full: every paused worker may accept again */
	for (i = 0; i < gw->nworkers; i++) {
		if (&gw->workers[i] == w)
			resume_if_room(w);
		else
			ev_async_send(gw->workers[i].loop,
			    &gw->workers[i].wake);
	}
}

static void
closing_end(struct closing *l)
{
	struct worker *w = l->w;

	ev_io_stop(w->loop, &l->io);
	ev_timer_stop(w->loop, &l->timer);
	close(l->io.fd);
	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		w->closing = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	w->nclosing--;
	free(l);
}

static void
on_closing_read(struct ev_loop *loop, ev_io *io, int revents)
{
	struct closing *l = container_of(io, struct closing, io);
	char sink[4096];
	ssize_t n;
	int i;

	(void)loop;
	(void)revents;
	for (i = 0; i < 16; i++) {
		if ((n = recv(io->fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		break;		/* the client's end, or its reset */
	}
	if (i < 16)
		closing_end(l);
}

static void
on_closing_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	closing_end(container_of(t, struct closing, timer));
}

void
worker_linger(struct worker *w, int fd)
{
	struct closing *l;

	if (w->nclosing >= LINGER_MAX || w->draining ||
	    shutdown(fd, SHUT_WR) == -1 ||
	    (l = calloc(1, sizeof(*l))) == NULL) {
		close(fd);
		return;
	}
	l->w = w;
	ev_io_init(&l->io, on_closing_read, fd, EV_READ);
	ev_timer_init(&l->timer, on_closing_timeout, LINGER_SECONDS, 0);
	ev_io_start(w->loop, &l->io);
	ev_timer_start(w->loop, &l->timer);
	l->next = w->closing;
	if (l->next != NULL)
		l->next->prev = l;
	w->closing = l;
	w->nclosing++;
}

void
worker_conn_gone(struct worker *w)
{
	release_slot(w);
	if (w->draining && w->nconns == 0)
		ev_break(w->loop, EVBREAK_ALL);
}

/* Installs a new listening set; reuses the watchers of kept sockets. */
static void
set_listeners(struct worker *w, const struct listener *ls, size_t n)
{
	struct listener *nl = calloc(n > 0 ? n : 1, sizeof(*nl));
	size_t i, j;

	if (nl == NULL) {
		log_errx("worker %u: out of memory on reload; keeping the "
		    "old listeners", w->id);
		return;
	}
	for (i = 0; i < w->nls; i++)
		ev_io_stop(w->loop, &w->ls[i].io);
	for (i = 0; i < w->nls; i++) {
		for (j = 0; j < n; j++)
			if (ls[j].fd == w->ls[i].fd)
				break;
		if (j == n)
			close(w->ls[i].fd);	/* address gone */
	}
	for (i = 0; i < n; i++) {
		nl[i].fd = ls[i].fd;
		nl[i].addr = ls[i].addr;
		nl[i].proxy_protocol = ls[i].proxy_protocol;
		nl[i].w = w;
		ev_io_init(&nl[i].io, on_accept, nl[i].fd, EV_READ);
	}
	free(w->ls);
	w->ls = nl;
	w->nls = n;
	w->accepting = 0;
	listeners_update(w);
}

static void
close_listeners(struct worker *w)
{
	size_t i;

	for (i = 0; i < w->nls; i++) {
		ev_io_stop(w->loop, &w->ls[i].io);
		close(w->ls[i].fd);
	}
	w->nls = 0;
	w->accepting = 0;
}

static void
on_drain_end(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct worker *w = container_of(t, struct worker, drain_timer);

	(void)revents;
	while (w->conns != NULL)
		conn_kill(w->conns, R_SHUTDOWN);
	ev_break(loop, EVBREAK_ALL);
}

static void
begin_drain(struct worker *w)
{
	w->draining = 1;
	close_listeners(w);
	if (w->nconns == 0) {
		ev_break(w->loop, EVBREAK_ALL);
		return;
	}
	if (w->rt->conf->t_drain > 0) {
		ev_timer_set(&w->drain_timer, w->rt->conf->t_drain, 0);
		ev_timer_start(w->loop, &w->drain_timer);
	}
}

/* Revocation and policy changes reach live sessions. */
static void
recheck_all(struct worker *w)
{
	struct conn *c = w->conns, *next;

	for (; c != NULL; c = next) {
		next = conn_next(c);
		(void)conn_recheck(c, w->rt);
	}
}

/* Carries out one message, in the worker's thread. */
static void
deliver(struct worker *w, struct worker_msg *m)
{
	switch (m->kind) {
	case WORKER_MSG_RELOAD:
		runtime_unref(w->rt);
		w->rt = m->rt;
		m->rt = NULL;
		/* lookups under way keep the old one alive */
		resolver_unref(w->res);
		w->res = m->res;
		m->res = NULL;
		recheck_all(w);
		if (!w->draining)
			set_listeners(w, m->ls, m->nls);
		break;
	case WORKER_MSG_CALL:
		m->fn(w, m->arg);
		break;
	case WORKER_MSG_STOP:
		if (!w->draining)
			begin_drain(w);
		break;
	}
}

/* Takes every queued message, in order, between two events. */
static void
on_wake(struct ev_loop *loop, ev_async *a, int revents)
{
	struct worker *w = container_of(a, struct worker, wake);
	struct worker_msg *m, *next;

	(void)loop;
	(void)revents;
	pthread_mutex_lock(&w->lock);
	m = w->mq;
	w->mq = NULL;
	w->mq_tail = &w->mq;
	pthread_mutex_unlock(&w->lock);
	for (; m != NULL; m = next) {
		next = m->next;
		deliver(w, m);
		/* once done, a waiting poster may free m: not touched again */
		pthread_mutex_lock(&w->lock);
		m->queued = 0;
		m->done = 1;
		pthread_cond_broadcast(&w->done);
		pthread_mutex_unlock(&w->lock);
	}
	resume_if_room(w);
}

/* Queues m for w and wakes w; with wait, returns once m is done. */
static void
post(struct worker *w, struct worker_msg *m, int wait)
{
	pthread_mutex_lock(&w->lock);
	m->next = NULL;
	m->done = 0;
	*w->mq_tail = m;
	w->mq_tail = &m->next;
	ev_async_send(w->loop, &w->wake);
	while (wait && !m->done)
		pthread_cond_wait(&w->done, &w->lock);
	pthread_mutex_unlock(&w->lock);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;

	ev_run(w->loop, 0);
	return NULL;
}

struct resolver *
worker_resolver(struct worker *w, const struct runtime *rt, char *err,
    size_t errlen)
{
	return resolver_new(w->loop, rt->conf->resolvers, rt->conf->t_dns, err,
	    errlen);
}

int
worker_start(struct worker *w, struct gateway *gw, unsigned id,
    struct runtime *rt, const struct listener *ls, size_t n, char *err,
    size_t errlen)
{
	int rc;

	w->id = id;
	w->gw = gw;
	if ((w->loop = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK)) == NULL) {
		snprintf(err, errlen, "cannot create an event loop");
		return -1;
	}
	if ((w->res = worker_resolver(w, rt, err, errlen)) == NULL) {
		ev_loop_destroy(w->loop);
		w->loop = NULL;
		return -1;
	}
	if ((w->stop = calloc(1, sizeof(*w->stop))) == NULL) {
		snprintf(err, errlen, "out of memory");
		resolver_unref(w->res);
		ev_loop_destroy(w->loop);
		w->loop = NULL;
		return -1;
	}
	w->stop->kind = WORKER_MSG_STOP;
	w->mq = NULL;
	w->mq_tail = &w->mq;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->done, NULL);
	ev_async_init(&w->wake, on_wake);
	ev_async_start(w->loop, &w->wake);
	ev_init(&w->pause_timer, on_pause_end);
	ev_init(&w->drain_timer, on_drain_end);
	w->rt = runtime_ref(rt);
	set_listeners(w, ls, n);
	if ((rc = pthread_create(&w->thread, NULL, worker_main, w)) != 0) {
		snprintf(err, errlen, "cannot start a thread: %s",
		    strerror(rc));
		return -1;
	}
	return 0;
}

void
worker_reload(struct worker *w, struct runtime *rt, struct resolver *res,
    const struct listener *ls, size_t n)
{
	struct worker_msg m = { .kind = WORKER_MSG_RELOAD };

	m.rt = runtime_ref(rt);
	m.res = res;
	m.ls = ls;
	m.nls = n;
	post(w, &m, 1);
}

void
worker_call(struct worker *w, void (*fn)(struct worker *, void *), void *arg)
{
	struct worker_msg m = { .kind = WORKER_MSG_CALL };

	m.fn = fn;
	m.arg = arg;
	post(w, &m, 1);
}

void
worker_stop(struct worker *w)
{
	int queued;

	/* stopping twice is stopping once: one message, never freed early */
	pthread_mutex_lock(&w->lock);
	queued = w->stop->queued;
	w->stop->queued = 1;
	pthread_mutex_unlock(&w->lock);
	if (!queued)
		post(w, w->stop, 0);
}

void
worker_join(struct worker *w)
{
	pthread_join(w->thread, NULL);
}

void
worker_free(struct worker *w)
{
	struct buf *b;

	close_listeners(w);
	free(w->ls);
	while (w->closing != NULL)
		closing_end(w->closing);
	while ((b = w->pool) != NULL) {
		w->pool = b->next;
		free(b);
	}
	while (w->npipes > 0) {
		w->npipes--;
		worker_pipe_close(w, w->pipes[w->npipes]);
	}
	ev_async_stop(w->loop, &w->wake);
	resolver_unref(w->res);		/* its watchers are on the loop */
	ev_loop_destroy(w->loop);
	runtime_unref(w->rt);
	free(w->stop);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->done);
}
