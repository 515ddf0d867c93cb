/*
 * reqsrv: a request/answer server on the main thread's loop, one request
 * per connection: the metrics endpoint and the control socket. It accepts
 * clients on a listening socket (a bounded number at once, pausing when
 * out of fds), reads each request with a deadline until the protocol's
 * pure parser says whole or bad, has the protocol build the answer, writes
 * it without blocking and with a deadline, then shuts its side and
 * discards what the client still sends before closing, since closing with
 * unread bytes would reset the connection and lose the answer. A slow or
 * silent client holds up nothing.
 *
 *   accept --> READING --whole, bad, or ended early--> WRITING
 *                 | request deadline (the last         | all sent:
 *                 | word), EOF at once, error          | shutdown(SHUT_WR)
 *                 v                                    v
 *            client_close <--- EOF, drain_max, --- DRAINING
 *                 ^            deadline, error
 *                 +----------- answer deadline, error --- WRITING
 */
#ifndef SSHGATE_REQSRV_H
#define SSHGATE_REQSRV_H

#include <ev.h>
#include <stddef.h>

#include "core/sbuf.h"

/* Most bytes of an answer's head. */
#define REQSRV_HEAD_MAX 256

/* What a parser says of the bytes read so far (picohttpparser's contract). */
enum reqsrv_status {
	REQSRV_NEED_MORE = 0,	/* nothing wrong yet: read more */
	REQSRV_COMPLETE,	/* a whole, valid request */
	REQSRV_BAD,		/* answer with the error */
};

/*
 * Judges req[0..len), the bytes read so far. Pure. Must not say
 * REQSRV_NEED_MORE once len reaches the def's request_max.
 */
typedef enum reqsrv_status reqsrv_parse_fn(const char *req, size_t len);

/*
 * Builds the answer to req[0..len): head (at most REQSRV_HEAD_MAX bytes,
 * a status line or HTTP headers) is sent first, then body (growing, up to
 * the def's answer_max). st is the parser's word on those bytes, or
 * REQSRV_NEED_MORE when the client ended its request unfinished. Returns
 * 0 to send the answer, or -1 to close without one. An answer that did
 * not fit whole (head or body failed) is never sent: the client is closed.
 */
typedef int reqsrv_answer_fn(void *arg, const char *req, size_t len,
    enum reqsrv_status st, struct sbuf *head, struct sbuf *body);

/* A server: its limits and deadlines (seconds), and its protocol. */
struct reqsrv_def {
	size_t clients_max;	/* served at once */
	int shed;		/* when full: accept the next ones and close
				   them at once (0: they wait in the backlog) */
	size_t request_max;	/* bytes of a request */
	double request_timeout;	/* from accept, for the whole request */
	double answer_timeout;	/* for the client to take the answer; 0: the
				   request's deadline covers the answer too */
	size_t answer_max;	/* bytes of an answer's body */
	double drain_timeout;	/* after the answer, to see the client's EOF */
	size_t drain_max;	/* bytes discarded after the answer */
	const char *late;	/* said when the request deadline passes, if
				   the socket takes it at once; or NULL */
	reqsrv_parse_fn *parse;
	reqsrv_answer_fn *answer;
	void *arg;		/* answer's */
};

struct reqsrv;

/*
 * Serves the listening socket fd (non-blocking) on loop, as def says
 * (copied; def->late must outlive the server). The caller keeps fd and
 * closes it after reqsrv_stop. Returns the server, or NULL when out of
 * memory.
 */
struct reqsrv *reqsrv_start(struct ev_loop *loop, int fd,
    const struct reqsrv_def *def);

/* Closes every client, stops accepting and frees s (NULL: nothing). */
void reqsrv_stop(struct reqsrv *s);

#endif
