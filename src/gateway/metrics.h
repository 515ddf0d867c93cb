/*
 * metrics: a small, strict HTTP/1.x responder for Prometheus on the main
 * thread's loop: GET /metrics gets the text exposition; any other path
 * 404, any other method 405, a malformed, huge or slow request is cut.
 */
#ifndef SSHGATE_METRICS_H
#define SSHGATE_METRICS_H

#include <ev.h>
#include <stddef.h>

#include "core/addr.h"
#include "core/stats.h"

struct metrics;

/* Fills a snapshot of every counter when a scrape comes. */
typedef void metrics_snapshot_fn(void *arg, struct stats_snapshot *out);

/*
 * Listens on a (on loop). Returns the endpoint (metrics_stop), or NULL
 * with a reason in err.
 */
struct metrics *metrics_start(struct ev_loop *loop, const struct addr *a,
    metrics_snapshot_fn *snapshot, void *arg, char *err, size_t errlen);

/* Closes the endpoint and every client of it. */
void metrics_stop(struct metrics *m);

/* Where it listens. */
const struct addr *metrics_addr(const struct metrics *m);

#endif
