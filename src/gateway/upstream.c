/*
 * upstream: from a route to a connected server. The candidates of the
 * route (literals, DNS answers) in turn, each checked by the destination
 * policy (client-chosen routes) and the access policy (rules naming
 * addresses) before a connect() starts; failures move on to the next
 * address, then the next server; the last failure is what is logged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/dest.h"
#include "core/proxy.h"
#include "core/util.h"
#include "gateway/conn_int.h"
#include "gateway/runtime.h"
#include "gateway/worker.h"

static int send_proxy(struct conn *);

/* Starts connecting to one address. Returns 0, or -1 if it failed now. */
static int
connect_start(struct conn *c, const struct addr *a)
{
	char dst[ADDR_TEXT_MAX];
	int fd;

	c->dst = *a;
	c->flags |= F_DST;
	addr_format(a, dst, sizeof(dst));
	/* decided before any byte goes anywhere */
	if (handshake_access(c, c->rt, a) != POLICY_ALLOW) {
		c->fail = R_ACCESS_DENIED;
		return -1;
	}
	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		util_errno(c->detail, sizeof(c->detail), "%s: socket", dst);
		c->fail = R_CONNECT_FAILED;
		return -1;
	}
	conn_tune_socket(fd);
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == -1 &&
	    errno != EINPROGRESS) {
		util_errno(c->detail, sizeof(c->detail), "%s", dst);
		c->fail = R_CONNECT_FAILED;
		close(fd);
		return -1;
	}
	c->bfd = fd;
	c->bio_events = 0;
	c->t_conn = ev_now(c->w->loop);
	conn_set_phase(c, CONN_CONNECTING);
	relay_update_watchers(c);
	return 0;
}

/*
 * Takes a DNS answer (or a literal) as the addresses to try, with port.
 * For routes whose destination the client chose, drops every address
 * the destination policy refuses.
 */
/*
 * Room for the addresses to try, taken while connecting only (an idle
 * session keeps none). Returns 0, or -1 (out of memory: c->fail says).
 */
static int
candidates_room(struct conn *c)
{
	c->ncands = c->cand_i = 0;
	if (c->cands == NULL &&
	    (c->cands = malloc(DNS_ADDR_MAX * sizeof(*c->cands))) == NULL) {
		c->fail = R_INTERNAL;
		util_strlcpy(c->detail, "out of memory", sizeof(c->detail));
		return -1;
	}
	return 0;
}

static void
set_candidates(struct conn *c, const struct addr *addrs, size_t n,
    unsigned port)
{
	char why[160];
	size_t i;

	if (candidates_room(c) == -1)
		return;
	for (i = 0; i < n && c->ncands < DNS_ADDR_MAX; i++) {
		struct addr a = addrs[i];

		addr_set_port(&a, port);
		if (c->route->kind != ROUTE_STATIC &&
		    dest_check(&c->rt->conf->dest, &a, why,
		    sizeof(why)) != DEST_OK) {
			c->dst = a;
			c->flags |= F_DST;
			c->fail = R_DESTINATION_DENIED;
			util_strlcpy(c->detail, why, sizeof(c->detail));
			continue;
		}
		c->cands[c->ncands++] = a;
	}
}

static void
on_dns(struct dns_wait *wt, const struct dns_answer *ans)
{
	struct conn *c = container_of(wt, struct conn, wait);

	CONN_CHECK(c);
	stats_add(&c->w->stats.dns[ans->status == DNS_OK ? STATS_DNS_OK :
	    ans->status == DNS_TIMEOUT ? STATS_DNS_TIMEOUT :
	    STATS_DNS_FAILED], 1);
	if (ans->status != DNS_OK) {
		util_strlcpy(c->detail, dns_status_text(ans->status),
		    sizeof(c->detail));
		c->fail = R_DNS_FAILED;
	} else
		set_candidates(c, ans->addrs, ans->n, c->lookup_port);
	/* ans is the resolver's: done with it before letting go */
	resolver_unref(c->res);
	c->res = NULL;
	(void)upstream_next(c);
}

/*
 * Looks name up for port. Returns 0 if answered at once (from the cache:
 * candidates set, or c->fail says why not), or 1 if now waiting in
 * CONN_RESOLVING for on_dns().
 */
static int
lookup(struct conn *c, const char *name, unsigned port)
{
	struct dns_answer ans;

	c->lookup_port = port;
	c->wait.done = on_dns;
	if (resolver_lookup(c->w->res, name, c->rt->conf->resolve_family,
	    &c->wait, &ans)) {
		stats_add(&c->w->stats.dns[STATS_DNS_CACHED], 1);
		if (ans.status != DNS_OK) {
			util_strlcpy(c->detail, dns_status_text(ans.status),
			    sizeof(c->detail));
			c->fail = R_DNS_FAILED;
		} else
			set_candidates(c, ans.addrs, ans.n, port);
		return 0;
	}
	c->res = c->w->res;
	resolver_ref(c->res);
	conn_set_phase(c, CONN_RESOLVING);
	relay_update_watchers(c);
	return 1;
}

/*
 * Tries the next address: of the current answer, else of the route's
 * next server. Returns 0 while something is under way, or -1 when
 * nothing is left (c closed with the last failure's reason).
 */
int
upstream_next(struct conn *c)
{
	const struct route *r = c->route;

	const struct route_server *s;

	for (;;) {
		while (c->cand_i < c->ncands)
			if (connect_start(c, &c->cands[c->cand_i++]) == 0)
				return 0;
		if (r->kind != ROUTE_STATIC || c->srv_tried == r->nservers)
			break;
		s = &r->servers[(c->srv_first + c->srv_tried++) %
		    r->nservers];
		if (s->addr.len != 0) {		/* a literal */
			if (candidates_room(c) == -1)
				break;
			c->cands[0] = s->addr;
			c->ncands = 1;
			continue;
		}
		c->ncands = c->cand_i = 0;
		if (lookup(c, s->host, s->port))
			return 0;
	}
	return conn_close(c, c->fail, c->detail);
}

/* The first destination of a route, once the handshake named it. */
int
upstream_start(struct conn *c)
{
	struct addr a;

	c->fail = R_CONNECT_FAILED;
	switch (c->route->kind) {
	case ROUTE_STATIC:
		c->srv_first = route_first_server(c->route);
		break;
	case ROUTE_DIRECT:		/* route_match saw a literal */
		if (addr_parse_ip(c->sni, 0, &a) == 0)
			set_candidates(c, &a, 1, c->route->port);
		break;
	case ROUTE_RESOLVE:
		if (lookup(c, c->sni, c->route->port))
			return 0;
		break;
	}
	return upstream_next(c);
}

/* Gives up on the server being connected; tries the next one. */
int
upstream_failed(struct conn *c)
{
	ev_io_stop(c->w->loop, &c->bio);
	c->bio_events = 0;
	close(c->bfd);
	c->bfd = -1;
	return upstream_next(c);
}

void
upstream_connected(struct conn *c)
{
	ev_tstamp now = ev_now(c->w->loop);

	c->connect_ms = (long)((now - c->t_conn) * 1000);
	c->last_active = now;
	free(c->cands);		/* nothing else will be tried */
	c->cands = NULL;
	c->ncands = c->cand_i = 0;
	conn_set_phase(c, CONN_RELAY);
	/* rules naming addresses, of a reload that came while connecting */
	if (conn_behind_reload(c) && conn_recheck(c, c->w->rt) == -1)
		return;
	if (c->route->send_proxy && send_proxy(c) == -1)
		return;
	conn_log_open(c);
	if (c->flags & F_PASSTHROUGH) {
		passthrough_relay(c);
		return;
	}
	if (relay_flush_up(c) == -1 || relay_pump_up(c) == -1 ||
	    relay_pump_down(c) == -1)
		return;
	(void)relay_settle(c);
}

/* With `send-proxy`: tells the server who the client is, first. */
static int
send_proxy(struct conn *c)
{
	unsigned char hdr[64];
	size_t n;

	if (c->local.len == 0) {	/* not from a PROXY header: ask */
		c->local.len = sizeof(c->local.ss);
		if (getsockname(c->cfd, &c->local.ss.sa, &c->local.len) == -1)
			c->local.len = 0;
	}
	n = proxy_build_v2(&c->peer, &c->local, hdr);
	if (send(c->bfd, hdr, n, MSG_NOSIGNAL) != (ssize_t)n)
		return conn_close(c, R_CONNECT_FAILED, "cannot send the PROXY "
		    "header to the server");
	return 0;
}
