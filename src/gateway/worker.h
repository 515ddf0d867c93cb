/*
 * worker: one thread, one libev loop, its own SO_REUSEPORT listening
 * sockets and every connection it accepted. Nothing on the
 * per-connection path is shared with other workers except atomics.
 *
 * The main thread talks to a worker only through messages: it queues
 * one (worker_reload, worker_call, worker_stop) and wakes the loop
 * (ev_async); the worker takes every queued message, in order, between
 * two events. Reload and call wait for theirs to be done.
 */
#ifndef SSHGATE_WORKER_H
#define SSHGATE_WORKER_H

#include <ev.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "gateway/listener.h"
#include "gateway/resolver.h"
#include "gateway/runtime.h"
#include "core/stats.h"

/*
 * One relay buffer: bytes read from one side, not yet written out. Reads
 * take RELAY_CHUNK (64 KiB: four full TLS records, or one large read of
 * the server, per system call); the room above it holds what sealing
 * RELAY_CHUNK bytes into TLS records adds. Taken only while bytes are in
 * flight: idle sessions hold none.
 */
#define RELAY_CHUNK 65536
#define BUF_SIZE (RELAY_CHUNK + 512)
struct buf {
	struct buf *next;	/* free list */
	size_t off, len;	/* data[off..len) still to write */
	char data[BUF_SIZE];
};

/* Empty pipes a worker keeps for splice (passthrough), at most. */
#define PIPE_POOL_MAX 32

struct gateway;
struct conn;
struct worker_msg;
struct closing;

struct worker {
	unsigned id;
	struct gateway *gw;
	pthread_t thread;
	struct ev_loop *loop;
	ev_async wake;

	/* messages from the main thread, under lock */
	pthread_mutex_t lock;
	pthread_cond_t done;		/* a waited-for message was done */
	struct worker_msg *mq, **mq_tail;
	struct worker_msg *stop;	/* the one stop message, kept here */

	struct runtime *rt;		/* for new connections */
	struct resolver *res;		/* DNS for new lookups, per rt */
	struct listener *ls;
	size_t nls;
	int accepting;			/* listeners started */
	int pause_emfile;		/* accept paused after EMFILE */
	int pause_full;			/* paused at max-connections */
	ev_timer pause_timer;
	int draining;
	ev_timer drain_timer;

	struct conn *conns;		/* live connections, a list */
	size_t nconns;
	struct buf *pool;		/* free buffers */
	size_t npool;
	int pipes[PIPE_POOL_MAX][2];	/* free empty pipes (splice) */
	size_t npipes;
	struct closing *closing;		/* closed sockets read to their end */
	size_t nclosing;
	struct stats stats;		/* written by this worker only */
};

/* State all workers share: only atomics, read on the hot path. */
struct gateway {
	struct worker *workers;
	size_t nworkers;
	atomic_ulong active;		/* connections open, all workers */
	atomic_ulong max_conns;		/* max-connections, or fewer: the fds */
	atomic_ulong pipes;		/* splice pipes open (pooled or held) */
	atomic_ulong pipes_max;		/* ... at most: the fds sessions and
					   the spare leave (ULONG_MAX: any) */
	atomic_ullong next_id;		/* connection ids */
	struct iplimit *limits;		/* per-client-address limits */
};

/*
 * Starts w's thread with rt (a reference is taken) and the listening
 * sockets ls[n] (the worker owns their fds from now on).
 * Returns 0, or -1 with a reason in err.
 */
int worker_start(struct worker *w, struct gateway *gw, unsigned id,
    struct runtime *rt, const struct listener *ls, size_t n, char *err,
    size_t errlen);

/*
 * A resolver for w's loop, set up for rt, to hand over with
 * worker_reload. Returns it, or NULL with a reason in err.
 */
struct resolver *worker_resolver(struct worker *w, const struct runtime *rt,
    char *err, size_t errlen);

/*
 * Hands w a new runtime, its resolver (w owns it from now on) and
 * listening set; blocks until w uses them. Sockets in the old set absent
 * from the new one are closed by w.
 */
void worker_reload(struct worker *w, struct runtime *rt, struct resolver *res,
    const struct listener *ls, size_t n);

/*
 * Runs fn(w, arg) in w's thread, between two events, and waits for it:
 * how the control socket reads or ends w's sessions without a lock.
 */
void worker_call(struct worker *w, void (*fn)(struct worker *, void *),
    void *arg);

/* Asks w to stop accepting and drain; returns at once. */
void worker_stop(struct worker *w);
/* Waits for w's thread to end. */
void worker_join(struct worker *w);
/*
 * Frees what w holds. Only once every worker is joined: a worker may
 * wake the others until its thread ends.
 */
void worker_free(struct worker *w);

/* A relay buffer (empty) from w's pool, or NULL if out of memory. */
struct buf *worker_buf_get(struct worker *w);
/* Gives b back; the pool keeps a few, frees the rest. */
void worker_buf_put(struct worker *w, struct buf *b);

/*
 * An empty pipe for splice(2) (both ends non-blocking, close-on-exec):
 * from w's pool, or a new one while the gateway's pipes stay within
 * pipes_max (the descriptors kept for sessions are not a pipe's).
 * Returns 0, or -1 with errno (EMFILE...).
 */
int worker_pipe_get(struct worker *w, int fd[2]);
/*
 * Gives an empty pipe back and sets fd[] to -1; the pool keeps a few,
 * closes the rest. A pipe still holding bytes must be closed instead.
 */
void worker_pipe_put(struct worker *w, int fd[2]);
/* Closes a pipe (one that may hold bytes) and sets fd[] to -1. */
void worker_pipe_close(struct worker *w, int fd[2]);

/*
 * Closes a client socket the gateway wrote its last words on, without
 * losing them: a socket closed with unread input sends a reset, and a
 * reset can discard what the client had not read yet. So the write side
 * is shut and what the client still sends is read and dropped until its
 * end (at most 2 s, and a bounded number at once), then the socket is
 * closed. Takes fd over.
 */
void worker_linger(struct worker *w, int fd);

/* Called by conn.c when a connection of w has ended and been freed. */
void worker_conn_gone(struct worker *w);

#endif
