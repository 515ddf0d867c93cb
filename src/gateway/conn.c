#include "gateway/conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gateway/conn_int.h"
#include "core/dest.h"
#include "core/ident.h"
#include "gateway/iplimit.h"
#include "core/log.h"
#include "gateway/logsink.h"
#include "core/policy.h"
#include "core/proxy.h"
#include "gateway/resolver.h"
#include "core/route.h"
#include "gateway/runtime.h"
#include "core/stats.h"
#include "core/util.h"
#include "gateway/worker.h"


static void on_client_io(struct ev_loop *, ev_io *, int);
static void on_backend_io(struct ev_loop *, ev_io *, int);
static int on_hello(SSL *, const char *, const char *);
static int on_cert(SSL *, X509 *, enum tls_cert_verdict, const char *);
static void ticket_info(SSL *, const char **, STACK_OF(X509) **);
static int client_ident(struct conn *, X509 *);
static int on_resume(SSL *, const char *, STACK_OF(X509) *);
static void read_proxy(struct conn *);
static int send_proxy(struct conn *);

const struct tls_hooks conn_tls_hooks = {
	on_hello, on_cert, ticket_info, on_resume,
};

static void
log_conn(struct conn *c, enum reason r, const char *detail)
{
	char client[ADDR_TEXT_MAX], dst[ADDR_TEXT_MAX], tls[128];
	char line[LOG_LINE_MAX];
	struct log_record rec;
	ev_tstamp now = ev_time();
	size_t len;

	if (c->rt->sink == NULL)
		return;
	memset(&rec, 0, sizeof(rec));
	addr_format(&c->peer, client, sizeof(client));
	rec.time = now;
	rec.event = "close";
	rec.conn = c->id;
	rec.client = client;
	rec.sni = c->sni;
	rec.result = reason_class_name(reason_class(r));
	rec.reason = reason_token(r);
	rec.duration_ms = (long)((now - c->t_start) * 1000);
	rec.bytes_up = c->bytes_up;
	rec.bytes_down = c->bytes_down;
	rec.route = c->route != NULL ? c->route->text : NULL;
	if (c->dst.len != 0) {
		addr_format(&c->dst, dst, sizeof(dst));
		rec.dst = dst;
	}
	if (c->t_hs != 0) {
		tls_describe(c->ssl, tls, sizeof(tls));
		rec.tls = tls;
		rec.tls_resumed = tls_resumed(c->ssl);
	}
	if (c->ident != NULL) {
		rec.user = c->ident->user_shown;
		rec.groups = c->ident->ngroups > 0 ? c->ident->groups_text :
		    NULL;
		rec.cert_serial = c->ident->serial[0] != '\0' ?
		    c->ident->serial : NULL;
		rec.cert_subject = c->ident->subject;
	}
	rec.handshake_ms = c->handshake_ms;
	rec.connect_ms = c->connect_ms;	/* -1 until connected */
	rec.detail = detail;
	len = log_format(&rec, c->rt->conf->log_json, line, sizeof(line));
	log_sink_write(c->rt->sink, line, len);
}

/*
 * The one exit: stops every watcher, logs the record, frees all.
 * Returns -1 so that callers can "return conn_close(...)".
 */
int
conn_close(struct conn *c, enum reason reason, const char *detail)
{
	struct worker *w = c->w;

	ev_io_stop(w->loop, &c->cio);
	ev_io_stop(w->loop, &c->bio);
	ev_timer_stop(w->loop, &c->timer);
	ev_timer_stop(w->loop, &c->inspect);
	ev_timer_stop(w->loop, &c->expiry);
	resolver_cancel(&c->wait);
	resolver_unref(c->res);
	log_conn(c, reason, detail != NULL && *detail != '\0' ? detail : NULL);
	stats_add(&w->stats.closed[reason], 1);
	stats_add(&w->stats.bytes_up, c->bytes_up);
	stats_add(&w->stats.bytes_down, c->bytes_down);
	/*
	 * Whoever ends it, a session whose TLS is intact ends with a
	 * close_notify, so that the client can tell it from a cut.
	 */
	if (c->ssl != NULL && !(c->flags & (F_DOWN_SHUT | F_TLS_FAILED)))
		tls_close_notify_once(c->ssl);
	if (c->ssl != NULL)
		SSL_free(c->ssl);
	if (c->ident != NULL) {
		ident_free(c->ident);
		free(c->ident);
	}
	if (c->ip_counted)
		iplimit_leave(w->gw->limits, &c->peer);
	free(c->pbuf);
	X509_free(c->cert);
	sk_X509_pop_free(c->chain, X509_free);
	close(c->cfd);
	if (c->bfd != -1)
		close(c->bfd);
	if (c->up != NULL)
		worker_buf_put(w, c->up);
	if (c->down != NULL)
		worker_buf_put(w, c->down);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->nconns--;
	runtime_unref(c->rt);
	free(c);
	worker_conn_gone(w);
	return -1;
}

void
conn_kill(struct conn *c, enum reason reason)
{
	conn_close(c, reason, NULL);
}

struct conn *
conn_next(struct conn *c)
{
	return c->next;
}

/* An I/O failure on one side: reported as the side that ended first. */
int
conn_io_fail(struct conn *c, enum reason side, const char *why)
{
	if (c->first_end != R_NONE)
		side = c->first_end;
	util_strlcpy(c->detail, why, sizeof(c->detail));
	return conn_close(c, side, c->detail);
}

void
conn_ended(struct conn *c, enum reason side)
{
	if (c->first_end == R_NONE)
		c->first_end = side;
}

/* Interactive SSH must feel instant; dead peers must be noticed. */
static void
tune_socket(int fd)
{
	int on = 1, idle = 60, intvl = 10, cnt = 6;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
	    sizeof(intvl));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
}

/* The one setter of the phase; it also arms the phase's timer. */
static void
set_phase(struct conn *c, enum conn_phase p)
{
	const struct conf *cf = c->rt->conf;
	double t;

	c->phase = p;
	ev_timer_stop(c->w->loop, &c->timer);
	t = p == CONN_HANDSHAKE ? cf->t_handshake :
	    p == CONN_RESOLVING ? cf->t_dns :
	    p == CONN_CONNECTING ? cf->t_connect : cf->t_idle;
	if (t > 0) {
		ev_timer_set(&c->timer, t, 0);
		ev_timer_start(c->w->loop, &c->timer);
	}
}

static int next_target(struct conn *);

/* Says which rule decided, for the log. */
static void
rule_detail(struct conn *c, const struct access_rule *r, const char *what)
{
	if (r != NULL)
		snprintf(c->detail, sizeof(c->detail), "%s by %s:%d (access "
		    "%s)", what, r->file, r->line, r->text);
	else
		snprintf(c->detail, sizeof(c->detail), "%s: no access rule "
		    "matches", what);
}

/*
 * The access policy for this client, SNI and (if known) destination.
 * Returns the verdict; on deny, c->detail says which rule.
 */
static enum policy_verdict
access_check(struct conn *c, const struct runtime *rt, const struct addr *dst)
{
	const struct access_rule *rule;
	struct identity id;
	enum policy_verdict v;

	if (rt->conf->client_ca == NULL || c->ident == NULL)
		return POLICY_ALLOW;	/* no client certificates: no policy */
	id.user = c->ident->user;
	id.groups = (const char *const *)c->ident->groups;
	id.ngroups = c->ident->ngroups;
	v = policy_decide(&rt->conf->policy, &id, c->sni, dst, &rule);
	if (v == POLICY_DENY)
		rule_detail(c, rule, "denied");
	return v;
}

/* Starts connecting to one address. Returns 0, or -1 if it failed now. */
static int
connect_start(struct conn *c, const struct addr *a)
{
	char dst[ADDR_TEXT_MAX];
	int fd;

	c->dst = *a;
	addr_format(a, dst, sizeof(dst));
	/* decided before any byte goes anywhere */
	if (access_check(c, c->rt, a) != POLICY_ALLOW) {
		c->fail = R_ACCESS_DENIED;
		return -1;
	}
	fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (fd == -1) {
		snprintf(c->detail, sizeof(c->detail), "%s: socket: %s", dst,
		    strerror(errno));
		c->fail = R_CONNECT_FAILED;
		return -1;
	}
	tune_socket(fd);
	if (connect(fd, (const struct sockaddr *)&a->ss, a->len) == -1 &&
	    errno != EINPROGRESS) {
		snprintf(c->detail, sizeof(c->detail), "%s: %s", dst,
		    strerror(errno));
		c->fail = R_CONNECT_FAILED;
		close(fd);
		return -1;
	}
	c->bfd = fd;
	c->bio_events = 0;
	c->t_conn = ev_now(c->w->loop);
	set_phase(c, CONN_CONNECTING);
	relay_update_watchers(c);
	return 0;
}

/*
 * Takes a DNS answer (or a literal) as the addresses to try, with port.
 * For routes whose destination the client chose, drops every address
 * the destination policy refuses.
 */
static void
set_candidates(struct conn *c, const struct addr *addrs, size_t n,
    unsigned port)
{
	char why[160];
	size_t i;

	c->ncands = c->cand_i = 0;
	for (i = 0; i < n && c->ncands < DNS_ADDR_MAX; i++) {
		struct addr a = addrs[i];

		addr_set_port(&a, port);
		if (c->route->kind != ROUTE_STATIC &&
		    dest_check(&c->rt->conf->dest, &a, why,
		    sizeof(why)) != DEST_OK) {
			c->dst = a;
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
	struct conn *c = (struct conn *)((char *)wt -
	    offsetof(struct conn, wait));

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
	(void)next_target(c);
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
	set_phase(c, CONN_RESOLVING);
	relay_update_watchers(c);
	return 1;
}

/*
 * Tries the next address: of the current answer, else of the route's
 * next server. Returns 0 while something is under way, or -1 when
 * nothing is left (c closed with the last failure's reason).
 */
static int
next_target(struct conn *c)
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
			c->cands[0] = s->addr;
			c->ncands = 1;
			c->cand_i = 0;
			continue;
		}
		c->ncands = c->cand_i = 0;
		if (lookup(c, s->host, s->port))
			return 0;
	}
	return conn_close(c, c->fail, c->detail);
}

/* The first destination of a route, once the handshake named it. */
static int
route_start(struct conn *c)
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
	return next_target(c);
}

/* Gives up on the server being connected; tries the next one. */
static int
connect_failed(struct conn *c)
{
	ev_io_stop(c->w->loop, &c->bio);
	c->bio_events = 0;
	close(c->bfd);
	c->bfd = -1;
	return next_target(c);
}

static void
connected(struct conn *c)
{
	ev_tstamp now = ev_now(c->w->loop);

	c->connect_ms = (long)((now - c->t_conn) * 1000);
	c->last_active = now;
	set_phase(c, CONN_RELAY);
	/* rules naming addresses, of a reload that came while connecting */
	if (c->rt != c->w->rt && conn_recheck(c, c->w->rt) == -1)
		return;
	if (c->route->send_proxy && send_proxy(c) == -1)
		return;
	if (relay_flush_up(c) == -1 || relay_pump_up(c) == -1 ||
	    relay_pump_down(c) == -1)
		return;
	(void)relay_settle(c);
}

static void
on_expiry(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn *c = t->data;
	ev_tstamp left = (double)c->ident->not_after - ev_now(loop);

	(void)revents;
	if (left > 1) {		/* long waits are armed in steps */
		ev_timer_set(t, left, 0);
		ev_timer_start(loop, t);
		return;
	}
	conn_close(c, R_CERT_EXPIRED, "client certificate expired during "
	    "the session");
}

/*
 * After the handshake, with client-ca: who the client is. A resumed
 * session skipped verification, so its certificate is verified again
 * here, with the intermediates its ticket carried, against the current
 * CAs, CRLs and time. Then the access policy as far as the SNI decides
 * it, and the expiry timer. -1 if c was closed.
 */
static int
client_identity(struct conn *c)
{
	static const enum reason of[] = {
		[TLS_CERT_OK] = R_NONE, [TLS_CERT_UNTRUSTED] = R_CERT_UNTRUSTED,
		[TLS_CERT_EXPIRED] = R_CERT_EXPIRED,
		[TLS_CERT_REVOKED] = R_CERT_REVOKED,
	};
	X509 *cert = SSL_get1_peer_certificate(c->ssl);
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(c->ssl);
	enum tls_cert_verdict v;
	char why[160];
	double left;

	if (cert == NULL)
		return conn_close(c, R_NO_CLIENT_CERT, NULL);
	c->cert = cert;
	/* resumed: on_resume took the intermediates from the ticket */
	if (!tls_resumed(c->ssl) && chain != NULL &&
	    (c->chain = X509_chain_up_ref(chain)) == NULL)
		return conn_close(c, R_INTERNAL, "out of memory");
	if (c->ident == NULL) {		/* resumed: no verify callback ran */
		if (client_ident(c, cert) == -1)
			return conn_close(c, c->deny, c->detail);
		v = tls_cert_recheck(c->rt->ssl_ctx, cert, c->chain, why,
		    sizeof(why));
		if (v != TLS_CERT_OK)
			return conn_close(c, of[v], why);
		if (access_check(c, c->rt, NULL) == POLICY_DENY)
			return conn_close(c, R_ACCESS_DENIED, c->detail);
	}
	if (c->rt->conf->expire_sessions && c->ident->not_after != 0) {
		left = (double)c->ident->not_after - ev_now(c->w->loop);
		ev_timer_set(&c->expiry, left > 0 ? left : 0, 0);
		ev_timer_start(c->w->loop, &c->expiry);
	}
	return 0;
}

static void
handshake_done(struct conn *c)
{
	c->t_hs = ev_now(c->w->loop);
	c->handshake_ms = (long)((c->t_hs - c->t_start) * 1000);
	stats_handshake(&c->w->stats, c->t_hs - c->t_start);
	if (c->route == NULL) {		/* the SNI hook always runs; be sure */
		conn_close(c, c->deny != R_NONE ? c->deny : R_NO_SNI, NULL);
		return;
	}
	if (c->rt->conf->client_ca != NULL && client_identity(c) == -1)
		return;
	/* a reload came during the handshake: its CRLs and rules apply */
	if (c->rt != c->w->rt && conn_recheck(c, c->w->rt) == -1)
		return;
	if (c->rt->conf->ssh_only) {
		if (c->rt->conf->t_inspect > 0) {	/* 0: wait for ever */
			ev_timer_set(&c->inspect, c->rt->conf->t_inspect, 0);
			ev_timer_start(c->w->loop, &c->inspect);
		}
	} else
		c->flags |= F_INSPECTED;
	if (route_start(c) == -1)
		return;
	/* the client's first bytes may have come with its last flight */
	if (relay_pump_up(c) == -1)
		return;
	(void)relay_settle(c);
}

static void
do_handshake(struct conn *c)
{
	char why[128];

	switch (tls_handshake(c->ssl)) {
	case TLS_OK:
		handshake_done(c);
		return;
	case TLS_WANT_READ:
		c->hs_need = EV_READ;
		break;
	case TLS_WANT_WRITE:
		c->hs_need = EV_WRITE;
		break;
	case TLS_EOF:
	case TLS_FAIL:
		if (c->deny == R_NONE && tls_failed_no_cert())
			c->deny = R_NO_CLIENT_CERT;
		tls_error(why, sizeof(why));
		if (c->deny != R_NONE)
			conn_close(c, c->deny, c->detail);
		else
			conn_close(c, R_HANDSHAKE_FAILED, why);
		return;
	}
	relay_update_watchers(c);
}

/* The server name of this ClientHello picks the route. */
static int
on_hello(SSL *ssl, const char *name, const char *bad)
{
	struct conn *c = SSL_get_app_data(ssl);

	c->route = NULL;	/* a second ClientHello decides anew */
	if (bad != NULL) {
		util_strlcpy(c->detail, bad, sizeof(c->detail));
		c->deny = R_HANDSHAKE_FAILED;
		return SSL_AD_DECODE_ERROR;
	}
	if (name == NULL) {
		c->deny = R_NO_SNI;
		return SSL_AD_UNRECOGNIZED_NAME;
	}
	if (route_normalize_sni(name, c->sni) == -1) {
		util_strlcpy(c->sni, name, sizeof(c->sni));
		util_strlcpy(c->detail, "server name is not a host name or "
		    "address", sizeof(c->detail));
		c->deny = R_NO_ROUTE;
		return SSL_AD_UNRECOGNIZED_NAME;
	}
	c->route = route_match(&c->rt->conf->routes, c->sni);
	if (c->route == NULL) {
		c->deny = R_NO_ROUTE;
		return SSL_AD_UNRECOGNIZED_NAME;
	}
	return 0;
}

/* What this session's tickets carry: its name and the client's CAs. */
static void
ticket_info(SSL *ssl, const char **sni, STACK_OF(X509) **chain)
{
	struct conn *c = SSL_get_app_data(ssl);

	*sni = c->sni;
	*chain = c->chain;
}

/*
 * A ticket is offered: it resumes only under the name it was issued
 * for, and, with client certificates, only if it carries the client's
 * intermediates, so that the resumed session can be verified whole.
 */
static int
on_resume(SSL *ssl, const char *sni, STACK_OF(X509) *chain)
{
	struct conn *c = SSL_get_app_data(ssl);

	if (strcmp(sni, c->sni) != 0)
		return -1;
	if (c->rt->conf->client_ca != NULL && chain == NULL)
		return -1;
	sk_X509_pop_free(c->chain, X509_free);	/* an earlier offer's */
	c->chain = chain;
	return 0;
}

/*
 * Reads who cert names into c->ident, for the log even when refused.
 * Returns 0, or -1 with c->deny and c->detail set.
 */
static int
client_ident(struct conn *c, X509 *cert)
{
	if ((c->ident = calloc(1, sizeof(*c->ident))) == NULL) {
		c->deny = R_INTERNAL;
		util_strlcpy(c->detail, "out of memory", sizeof(c->detail));
		return -1;
	}
	switch (ident_get(cert, c->ident)) {
	case IDENT_OK:
		return 0;
	case IDENT_TOO_LARGE:
		c->deny = R_CERT_UNTRUSTED;
		snprintf(c->detail, sizeof(c->detail), "client certificate "
		    "subject too large (a CN or OU over %d bytes, or more "
		    "than %d OUs)", IDENT_VALUE_MAX, IDENT_GROUPS_MAX);
		return -1;
	case IDENT_NO_MEMORY:
		break;
	}
	free(c->ident);
	c->ident = NULL;
	c->deny = R_INTERNAL;
	util_strlcpy(c->detail, "out of memory", sizeof(c->detail));
	return -1;
}

/* The verify callback's view of the client certificate (leaf). */
static int
on_cert(SSL *ssl, X509 *leaf, enum tls_cert_verdict v, const char *why)
{
	static const enum reason of[] = {
		[TLS_CERT_OK] = R_NONE, [TLS_CERT_UNTRUSTED] = R_CERT_UNTRUSTED,
		[TLS_CERT_EXPIRED] = R_CERT_EXPIRED,
		[TLS_CERT_REVOKED] = R_CERT_REVOKED,
	};
	struct conn *c = SSL_get_app_data(ssl);

	if (c->ident == NULL && client_ident(c, leaf) == -1)
		return -1;
	if (v != TLS_CERT_OK) {
		if (c->deny == R_NONE) {
			c->deny = of[v];
			util_strlcpy(c->detail, why, sizeof(c->detail));
		}
		return -1;
	}
	/* what the SNI alone decides is refused within the handshake */
	if (access_check(c, c->rt, NULL) == POLICY_DENY) {
		c->deny = R_ACCESS_DENIED;
		return -1;
	}
	return 0;
}

void
conn_describe(struct conn *c, struct conn_info *out)
{
	memset(out, 0, sizeof(*out));
	out->id = c->id;
	addr_format(&c->peer, out->client, sizeof(out->client));
	util_strlcpy(out->sni, c->sni, sizeof(out->sni));
	if (c->dst.len != 0)
		addr_format(&c->dst, out->dst, sizeof(out->dst));
	if (c->ident != NULL) {
		if (c->ident->user_shown != NULL)
			util_strlcpy(out->user, c->ident->user_shown,
			    sizeof(out->user));
		util_strlcpy(out->groups, c->ident->groups_text,
		    sizeof(out->groups));
	}
	out->age = ev_now(c->w->loop) - c->t_start;
	out->bytes_up = c->bytes_up;
	out->bytes_down = c->bytes_down;
	out->worker = c->w->id;
	out->phase = c->phase == CONN_HANDSHAKE ? "handshake" :
	    c->phase == CONN_RESOLVING ? "resolving" :
	    c->phase == CONN_CONNECTING ? "connecting" : "relay";
}

const char *
conn_user(const struct conn *c)
{
	return c->ident != NULL ? c->ident->user : NULL;
}

uint64_t
conn_id(const struct conn *c)
{
	return c->id;
}

void
conn_kill_why(struct conn *c, enum reason reason, const char *why)
{
	conn_close(c, reason, why);
}

int
conn_recheck(struct conn *c, const struct runtime *rt)
{
	static const char *const what[] = {
		[TLS_CERT_OK] = "", [TLS_CERT_UNTRUSTED] = "untrusted",
		[TLS_CERT_EXPIRED] = "expired", [TLS_CERT_REVOKED] = "revoked",
	};
	enum tls_cert_verdict v;
	char why[128];

	if (c->cert == NULL || rt->conf->client_ca == NULL)
		return 0;
	v = tls_cert_recheck(rt->ssl_ctx, c->cert, c->chain, why, sizeof(why));
	if (v != TLS_CERT_OK) {
		snprintf(c->detail, sizeof(c->detail), "reload: client "
		    "certificate %s (%s)", what[v], why);
		return conn_close(c, R_KILLED, c->detail);
	}
	if (access_check(c, rt, c->phase == CONN_RELAY ? &c->dst : NULL) ==
	    POLICY_DENY) {
		char rule[128];

		util_strlcpy(rule, c->detail, sizeof(rule));
		snprintf(c->detail, sizeof(c->detail), "reload: no longer "
		    "allowed: %s", rule);
		return conn_close(c, R_KILLED, c->detail);
	}
	return 0;
}

static void
on_client_io(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = io->data;
	int had_down = c->down != NULL;

	(void)loop;
	if (c->proxy_wait) {
		read_proxy(c);
		return;
	}
	if (c->phase == CONN_HANDSHAKE) {
		do_handshake(c);
		return;
	}
	if ((revents & c->wr_need) && relay_flush_down(c) == -1)
		return;
	if ((revents & c->rd_need) && relay_pump_up(c) == -1)
		return;
	if (had_down && c->down == NULL && relay_pump_down(c) == -1)
		return;
	(void)relay_settle(c);
}

static void
on_backend_io(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = io->data;
	int had_up = c->up != NULL, err = 0;
	socklen_t len = sizeof(err);
	char dst[ADDR_TEXT_MAX];

	(void)loop;
	if (c->phase == CONN_CONNECTING) {
		if (getsockopt(c->bfd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			addr_format(&c->dst, dst, sizeof(dst));
			snprintf(c->detail, sizeof(c->detail), "%s: %s", dst,
			    strerror(err));
			c->fail = R_CONNECT_FAILED;
			(void)connect_failed(c);
			return;
		}
		connected(c);
		return;
	}
	if ((revents & EV_WRITE) && relay_flush_up(c) == -1)
		return;
	if (had_up && c->up == NULL && relay_pump_up(c) == -1)
		return;
	if ((revents & EV_READ) && relay_pump_down(c) == -1)
		return;
	(void)relay_settle(c);
}

static void
on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn *c = t->data;
	char dst[ADDR_TEXT_MAX];
	ev_tstamp left;

	(void)revents;
	switch (c->phase) {
	case CONN_HANDSHAKE:
		conn_close(c, R_HANDSHAKE_TIMEOUT, NULL);
		return;
	case CONN_RESOLVING:
		resolver_cancel(&c->wait);
		resolver_unref(c->res);
		c->res = NULL;
		snprintf(c->detail, sizeof(c->detail), "no DNS answer within "
		    "%gs", c->rt->conf->t_dns);
		stats_add(&c->w->stats.dns[STATS_DNS_TIMEOUT], 1);
		c->fail = R_DNS_FAILED;
		(void)next_target(c);
		return;
	case CONN_CONNECTING:
		addr_format(&c->dst, dst, sizeof(dst));
		snprintf(c->detail, sizeof(c->detail), "%s: no answer within "
		    "%gs", dst, c->rt->conf->t_connect);
		c->fail = R_CONNECT_TIMEOUT;
		(void)connect_failed(c);
		return;
	case CONN_RELAY:
		if (c->rt->conf->t_idle == 0) {	/* relay_settle's check */
			(void)relay_check_finished(c);
			return;
		}
		left = c->last_active + c->rt->conf->t_idle - ev_now(loop);
		if (left > 0.001) {
			ev_timer_set(t, left, 0);
			ev_timer_start(loop, t);
			return;
		}
		conn_close(c, R_IDLE_TIMEOUT, NULL);
		return;
	}
}

static void
on_inspect_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)revents;
	conn_close(t->data, R_INSPECT_TIMEOUT, NULL);
}

/* Per-client-address limits, before any TLS work. -1 if c was closed. */
static int
check_limits(struct conn *c)
{
	const struct conf *cf = c->rt->conf;
	char ip[ADDR_TEXT_MAX];

	if (cf->max_per_ip == 0 && cf->rate_n == 0)
		return 0;
	addr_format_ip(&c->peer, ip, sizeof(ip));
	switch (iplimit_enter(c->w->gw->limits, &c->peer, cf->max_per_ip,
	    cf->rate_n, cf->rate_secs, ev_now(c->w->loop))) {
	case IPLIMIT_OK:
		c->ip_counted = 1;
		return 0;
	case IPLIMIT_TOO_MANY:
		snprintf(c->detail, sizeof(c->detail), "%s already has %lu "
		    "connections open (max-connections-per-ip)", ip,
		    cf->max_per_ip);
		return conn_close(c, R_TOO_MANY, c->detail);
	case IPLIMIT_RATE:
		snprintf(c->detail, sizeof(c->detail), "%s made more than %lu "
		    "new connections in %gs (rate-limit-per-ip)", ip,
		    cf->rate_n, cf->rate_secs);
		return conn_close(c, R_RATE_LIMITED, c->detail);
	}
	return 0;
}

/* After the PROXY header (or without one): limits, then TLS. */
static void
begin_tls(struct conn *c)
{
	if (check_limits(c) == -1)
		return;
	if ((c->ssl = tls_new(c->rt->ssl_ctx, c->cfd, c)) == NULL) {
		conn_close(c, R_INTERNAL, "cannot create a TLS session");
		return;
	}
	relay_update_watchers(c);
}

/*
 * Reads the PROXY header of a `listen ... proxy-protocol` connection
 * without taking a byte of the TLS stream behind it: it peeks, and takes
 * only bytes known to be header.
 */
static void
read_proxy(struct conn *c)
{
	unsigned char tmp[PROXY_HEADER_MAX];
	struct proxy_info info;
	const char *why;
	size_t used = 0;
	ssize_t n;

	if (c->plen > 0)
		memcpy(tmp, c->pbuf, c->plen);
	n = recv(c->cfd, tmp + c->plen, sizeof(tmp) - c->plen, MSG_PEEK);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conn_close(c, R_HANDSHAKE_FAILED, n == 0 ? "closed before "
		    "its PROXY protocol header" : strerror(errno));
		return;
	}
	switch (proxy_parse(tmp, c->plen + (size_t)n, &used, &info, &why)) {
	case PROXY_BAD:
		snprintf(c->detail, sizeof(c->detail), "PROXY protocol: %s",
		    why);
		conn_close(c, R_HANDSHAKE_FAILED, c->detail);
		return;
	case PROXY_NEED_MORE:
		if (c->plen + (size_t)n == sizeof(tmp)) {
			conn_close(c, R_HANDSHAKE_FAILED, "PROXY protocol: "
			    "header too large");
			return;
		}
		used = c->plen + (size_t)n;	/* all of it is header */
		break;
	case PROXY_OK:
		break;
	}
	/* take exactly the header's bytes that were only peeked */
	if (recv(c->cfd, tmp + c->plen, used - c->plen, 0) !=
	    (ssize_t)(used - c->plen)) {
		conn_close(c, R_HANDSHAKE_FAILED, "PROXY protocol: read error");
		return;
	}
	if (c->pbuf == NULL && (c->pbuf = malloc(PROXY_HEADER_MAX)) == NULL) {
		conn_close(c, R_INTERNAL, "out of memory");
		return;
	}
	memcpy(c->pbuf, tmp, used);
	c->plen = used;
	if (used == 0 || proxy_parse(tmp, used, &used, &info, &why) !=
	    PROXY_OK)
		return;		/* more to come */
	if (!info.local) {	/* the balancer's client is the client */
		c->peer = info.src;
		c->local = info.dst;
	}
	free(c->pbuf);
	c->pbuf = NULL;
	c->proxy_wait = 0;
	begin_tls(c);
}

/* With `send-proxy`: tells the server who the client is, first. */
static int
send_proxy(struct conn *c)
{
	unsigned char hdr[64];
	size_t n = proxy_build_v2(&c->peer, &c->local, hdr);

	if (send(c->bfd, hdr, n, MSG_NOSIGNAL) != (ssize_t)n)
		return conn_close(c, R_CONNECT_FAILED, "cannot send the PROXY "
		    "header to the server");
	return 0;
}

void
conn_start(struct worker *w, int fd, const struct addr *peer, int proxy)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (c == NULL) {
		log_errx("out of memory: dropping a connection");
		close(fd);
		worker_conn_gone(w);
		return;
	}
	c->w = w;
	c->rt = runtime_ref(w->rt);
	c->id = atomic_fetch_add_explicit(&w->gw->next_id, 1,
	    memory_order_relaxed) + 1;
	c->peer = *peer;
	c->cfd = fd;
	c->bfd = -1;
	c->deny = R_NONE;
	c->first_end = R_NONE;
	c->hs_need = c->rd_need = EV_READ;
	c->handshake_ms = c->connect_ms = -1;
	c->wr_need = EV_WRITE;
	c->t_start = ev_now(w->loop);
	ev_init(&c->cio, on_client_io);
	ev_init(&c->bio, on_backend_io);
	ev_init(&c->timer, on_timer);
	ev_init(&c->inspect, on_inspect_timeout);
	ev_init(&c->expiry, on_expiry);
	c->cio.data = c->bio.data = c->timer.data = c->inspect.data = c;
	c->expiry.data = c;
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	c->local.len = sizeof(c->local.ss);
	if (getsockname(fd, (struct sockaddr *)&c->local.ss, &c->local.len)
	    == -1)
		c->local.len = 0;
	tune_socket(fd);
	/* the handshake timeout covers a PROXY header that never comes */
	set_phase(c, CONN_HANDSHAKE);
	if (proxy) {
		c->proxy_wait = 1;
		relay_update_watchers(c);
		return;
	}
	begin_tls(c);
}
