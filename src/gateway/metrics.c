/*
 * metrics: the Prometheus endpoint's HTTP/1.x answers. A reqsrv on the
 * main thread's loop serves the scrapers (see reqsrv.h): 16 at once (the
 * next ones are accepted and closed at once), 5 s from accept for the
 * request and the answer together, a slow client cut without an answer;
 * after the answer, 2 s to see its EOF. Here are only the answers.
 */
#include "gateway/metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "core/httpreq.h"
#include "core/sbuf.h"
#include "gateway/listener.h"
#include "gateway/reqsrv.h"

#define REQUEST_TIMEOUT 5.0	/* seconds to send them, and take the answer */
#define CLIENTS_MAX 16		/* scrapers served at once */
#define DRAIN_TIMEOUT 2.0	/* seconds, after the answer, to see its EOF */

struct metrics {
	struct addr addr;
	int fd;
	struct reqsrv *srv;
	metrics_snapshot_fn *snapshot;
	void *arg;
};

/* The parser's word on the bytes read so far. */
static enum reqsrv_status
parse(const char *buf, size_t len)
{
	enum httpreq_error err;
	struct httpreq r;

	switch (httpreq_parse(buf, len, &r, &err)) {
	case HTTPREQ_NEED_MORE:	/* it says bad before the buffer fills */
		return REQSRV_NEED_MORE;
	case HTTPREQ_COMPLETE:
		return REQSRV_COMPLETE;
	case HTTPREQ_BAD:
		break;
	}
	return REQSRV_BAD;
}

/* The head of a whole response; its body (body_len bytes) goes after. */
static void
response_head(struct sbuf *head, const char *status, const char *extra,
    const char *type, size_t body_len)
{
	sbuf_printf(head, "HTTP/1.1 %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n%sConnection: close\r\n\r\n", status, type,
	    body_len, extra);
}

static int
error_page(struct sbuf *head, struct sbuf *body, const char *status,
    const char *extra)
{
	sbuf_printf(body, "%s\n", status);
	response_head(head, status, extra, "text/plain; charset=utf-8",
	    body->len);
	return 0;
}

/*
 * Answers a request head: GET or HEAD /metrics with the text exposition,
 * any other path 404, any other method 405, a malformed or huge one 400
 * or 431. A request cut short by the client's EOF gets no answer.
 */
static int
answer(void *arg, const char *buf, size_t len, enum reqsrv_status st,
    struct sbuf *head, struct sbuf *body)
{
	struct metrics *m = arg;
	struct stats_snapshot snap;
	enum httpreq_error err;
	struct httpreq r;
	char *text;
	size_t n;

	if (st == REQSRV_NEED_MORE)
		return -1;
	if (httpreq_parse(buf, len, &r, &err) != HTTPREQ_COMPLETE)
		return error_page(head, body, httpreq_status_line(err), "");
	if (!httpreq_method_is(&r, "GET") && !httpreq_method_is(&r, "HEAD"))
		return error_page(head, body, "405 Method Not Allowed",
		    "Allow: GET, HEAD\r\n");
	if (!httpreq_path_is(&r, "/metrics"))
		return error_page(head, body, "404 Not Found", "");
	memset(&snap, 0, sizeof(snap));
	m->snapshot(m->arg, &snap);
	if ((text = malloc(STATS_TEXT_MAX)) == NULL ||
	    (n = stats_format(&snap, text, STATS_TEXT_MAX)) == 0) {
		free(text);
		return error_page(head, body, "500 Internal Server Error", "");
	}
	if (!httpreq_method_is(&r, "HEAD"))
		sbuf_add(body, text, n);
	free(text);
	response_head(head, "200 OK", "",
	    "text/plain; version=0.0.4; charset=utf-8", body->len);
	return 0;
}

struct metrics *
metrics_start(struct ev_loop *loop, const struct addr *a,
    metrics_snapshot_fn *snapshot, void *arg, char *err, size_t errlen)
{
	struct metrics *m = calloc(1, sizeof(*m));
	struct reqsrv_def def = {
		.clients_max = CLIENTS_MAX,
		.shed = 1,
		.request_max = HTTPREQ_HEAD_MAX,
		.request_timeout = REQUEST_TIMEOUT,
		.answer_timeout = 0,	/* the request's 5 s go on */
		.answer_max = STATS_TEXT_MAX,
		.drain_timeout = DRAIN_TIMEOUT,
		.drain_max = SIZE_MAX,	/* bounded by the deadline alone */
		.parse = parse,
		.answer = answer,
	};

	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((m->fd = listener_open(a, err, errlen)) == -1) {
		free(m);
		return NULL;
	}
	m->addr = *a;
	m->snapshot = snapshot;
	m->arg = arg;
	def.arg = m;
	if ((m->srv = reqsrv_start(loop, m->fd, &def)) == NULL) {
		snprintf(err, errlen, "out of memory");
		close(m->fd);
		free(m);
		return NULL;
	}
	return m;
}

void
metrics_stop(struct metrics *m)
{
	if (m == NULL)
		return;
	reqsrv_stop(m->srv);
	close(m->fd);
	free(m);
}

const struct addr *
metrics_addr(const struct metrics *m)
{
	return &m->addr;
}
