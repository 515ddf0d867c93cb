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
#include "gateway/ctls.h"
#include "core/dest.h"
#include "core/ident.h"
#include "gateway/iplimit.h"
#include "core/banner.h"
#include "core/log.h"
#include "core/policy.h"
#include "core/proxy.h"
#include "gateway/resolver.h"
#include "core/route.h"
#include "gateway/runtime.h"
#include "core/stats.h"
#include "core/util.h"
#include "gateway/worker.h"


char conn_no_sni[] = "";

static void on_client_io(struct ev_loop *, ev_io *, int);
static void on_backend_io(struct ev_loop *, ev_io *, int);
static void read_proxy(struct conn *);

/*
 * The one exit: stops every watcher, logs the record, frees all.
 * Returns -1 so that callers can "return conn_close(...)".
 */
int
conn_close(struct conn *c, enum reason reason, const char *detail)
{
	struct worker *w = c->w;
	int said;

	CONN_CHECK(c);
	ev_io_stop(w->loop, &c->cio);
	ev_io_stop(w->loop, &c->bio);
	ev_timer_stop(w->loop, &c->timer);
	ev_timer_stop(w->loop, &c->inspect);
	ev_timer_stop(w->loop, &c->expiry);
	resolver_cancel(&c->wait);
	resolver_unref(c->res);
	conn_log_record(c, 0, reason, detail != NULL && *detail != '\0' ? detail :
	    NULL);
	log_debug("conn %llu: %s%s%s", (unsigned long long)c->id,
	    reason_token(reason), detail != NULL && *detail != '\0' ? ": " :
	    "", detail != NULL ? detail : "");
	stats_add(&w->stats.closed[reason], 1);
	stats_add(&w->stats.bytes_up, c->bytes_up);
	stats_add(&w->stats.bytes_down, c->bytes_down);
	said = conn_last_words(c, reason, detail) || reason == R_PLAIN_SSH ||
	    (c->flags & F_TOLD);
	ctls_free(c);
	passthrough_free(c);
	if (c->ident != NULL) {
		ident_free(c->ident);
		free(c->ident);
	}
	if (c->ip_counted)
		iplimit_leave(w->gw->limits, &c->peer);
	free(c->pbuf);
	free(c->cands);
	if (c->sni != conn_no_sni)
		free(c->sni);
	X509_free(c->cert);
	sk_X509_pop_free(c->chain, X509_free);
	if (said)	/* so that a reset does not swallow the last words */
		worker_linger(w, c->cfd);
	else
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
	c->magic = CONN_DEAD;	/* a late callback fails loudly */
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
void
conn_tune_socket(int fd)
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
void
conn_set_phase(struct conn *c, enum conn_phase p)
{
	const struct conf *cf = c->rt->conf;
	enum conn_phase was = c->phase;
	double t;

	c->phase = p;
	/* reading the ClientHello is the handshake's start: one deadline */
	if (was == CONN_HELLO && p == CONN_HANDSHAKE)
		return;
	ev_timer_stop(c->w->loop, &c->timer);
	/* the handshake timeout also covers a PROXY header that never comes */
	t = p == CONN_PROXY || p == CONN_HELLO || p == CONN_HANDSHAKE ?
	    cf->t_handshake :
	    p == CONN_RESOLVING ? cf->t_dns :
	    p == CONN_CONNECTING ? cf->t_connect : cf->t_idle;
	if (t > 0) {
		ev_timer_set(&c->timer, t, 0);
		ev_timer_start(c->w->loop, &c->timer);
	}
}

int
conn_behind_reload(const struct conn *c)
{
	return c->rt != c->w->rt;
}

static void
handshake_done(struct conn *c)
{
	ev_tstamp took = ev_now(c->w->loop) - c->t_start;

	tls_first_unwatch(c->ssl);
	c->flags |= F_HANDSHAKEN;
	tls_names(c->ssl, &c->tls_version, &c->tls_cipher);
	if (tls_resumed(c->ssl))
		c->flags |= F_RESUMED;
	c->handshake_ms = (long)(took * 1000);
	stats_handshake(&c->w->stats, took);
	if (c->route == NULL) {		/* the SNI hook always runs; be sure */
		conn_close(c, c->deny != R_NONE ? c->deny : R_NO_SNI, NULL);
		return;
	}
	if (c->deny != R_NONE) {	/* let through to be refused in words */
		conn_close(c, c->deny, c->detail);
		return;
	}
	if (c->rt->conf->client_ca != NULL && handshake_identity(c) == -1)
		return;
	/* a reload came during the handshake: its CRLs and rules apply */
	if (conn_behind_reload(c) && conn_recheck(c, c->w->rt) == -1)
		return;
	if (ctls_offload(c) == -1) {
		conn_close(c, R_INTERNAL, "out of memory");
		return;
	}
	if (c->rt->conf->ssh_only) {
		if (c->rt->conf->t_inspect > 0) {	/* 0: wait for ever */
			ev_timer_set(&c->inspect, c->rt->conf->t_inspect, 0);
			ev_timer_start(c->w->loop, &c->inspect);
		}
	} else
		c->flags |= F_INSPECTED;
	if (upstream_start(c) == -1)
		return;
	/* the client's first bytes may have come with its last flight */
	if (relay_pump_up(c) == -1)
		return;
	(void)relay_settle(c);
}

/*
 * A client that spoke SSH to the TLS port (plain ssh, no ProxyCommand):
 * it gets an SSH version line and a disconnect message, which ssh
 * prints, saying what to do.
 */
void
conn_plain_ssh(struct conn *c)
{
	static const char why[] = "this port speaks TLS, not SSH: connect "
	    "with ssh -o ProxyCommand='sshgate connect GATEWAY[:PORT] %h' "
	    "(or the recipe's openssl s_client ProxyCommand)";
	unsigned char out[512];
	size_t n = banner_disconnect(out, sizeof(out), why);

	if (n > 0)
		(void)send(c->cfd, out, n, MSG_NOSIGNAL | MSG_DONTWAIT);
	c->flags |= F_TLS_FAILED;
	conn_close(c, R_PLAIN_SSH, "the client spoke SSH to the TLS port");
}

static void
do_handshake(struct conn *c)
{
	enum tls_io st = tls_handshake(c->ssl);
	char why[128];

	switch (st) {
	case TLS_OK:
		handshake_done(c);
		return;
	case TLS_WANT_READ:
	case TLS_WANT_WRITE:
		c->hs_need = tls_want_events(st, EV_READ, EV_WRITE);
		break;
	case TLS_EOF:
	case TLS_FAIL:
		if (tls_first_is_ssh(&c->first)) {
			conn_plain_ssh(c);
			return;
		}
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

void
conn_describe(struct conn *c, struct conn_info *out)
{
	memset(out, 0, sizeof(*out));
	out->id = c->id;
	addr_format(&c->peer, out->client, sizeof(out->client));
	util_strlcpy(out->sni, c->sni, sizeof(out->sni));
	if (c->flags & F_DST)
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
	out->phase = c->phase == CONN_PROXY ? "proxy-header" :
	    c->phase == CONN_HELLO ? "client-hello" :
	    c->phase == CONN_HANDSHAKE ? "handshake" :
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

static void
on_client_io(struct ev_loop *loop, ev_io *io, int revents)
{
	struct conn *c = container_of(io, struct conn, cio);
	int had_down;

	(void)loop;
	CONN_CHECK(c);
	had_down = c->down != NULL;
	if (c->phase == CONN_PROXY) {
		read_proxy(c);
		return;
	}
	if (c->phase == CONN_HELLO) {
		passthrough_hello(c);
		return;
	}
	if (c->phase == CONN_HANDSHAKE) {
		do_handshake(c);
		return;
	}
	if (c->flags & F_PASSTHROUGH) {
		passthrough_io(c, 1, revents);
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
	struct conn *c = container_of(io, struct conn, bio);
	socklen_t len = sizeof(int);
	char dst[ADDR_TEXT_MAX];
	int had_up, err = 0;

	(void)loop;
	CONN_CHECK(c);
	had_up = c->up != NULL;
	if (c->phase == CONN_CONNECTING) {
		if (getsockopt(c->bfd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
			err = errno;
		if (err != 0) {
			addr_format(&c->dst, dst, sizeof(dst));
			snprintf(c->detail, sizeof(c->detail), "%s: %s", dst,
			    strerror(err));
			c->fail = R_CONNECT_FAILED;
			(void)upstream_failed(c);
			return;
		}
		upstream_connected(c);
		return;
	}
	if (c->flags & F_PASSTHROUGH) {
		passthrough_io(c, 0, revents);
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
	struct conn *c = container_of(t, struct conn, timer);
	char dst[ADDR_TEXT_MAX];
	ev_tstamp left;

	(void)revents;
	CONN_CHECK(c);
	switch (c->phase) {
	case CONN_HELLO:
		snprintf(c->detail, sizeof(c->detail), "no whole ClientHello "
		    "within %gs", c->rt->conf->t_handshake);
		conn_close(c, R_HANDSHAKE_TIMEOUT, c->detail);
		return;
	case CONN_PROXY:
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
		(void)upstream_next(c);
		return;
	case CONN_CONNECTING:
		addr_format(&c->dst, dst, sizeof(dst));
		snprintf(c->detail, sizeof(c->detail), "%s: no answer within "
		    "%gs", dst, c->rt->conf->t_connect);
		c->fail = R_CONNECT_TIMEOUT;
		(void)upstream_failed(c);
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
	struct conn *c = container_of(t, struct conn, inspect);

	(void)loop;
	(void)revents;
	CONN_CHECK(c);
	if (c->phase == CONN_HELLO) {	/* the pause before peeking again */
		passthrough_hello(c);
		return;
	}
	conn_close(c, R_INSPECT_TIMEOUT, NULL);
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

void
conn_start_tls(struct conn *c)
{
	if ((c->ssl = tls_new(c->rt->ssl_ctx, c->cfd, c)) == NULL) {
		conn_close(c, R_INTERNAL, "cannot create a TLS session");
		return;
	}
	tls_first_watch(c->ssl, &c->first);
	do_handshake(c);	/* the ClientHello is most often here already */
}

/*
 * After the PROXY header (or without one): limits, then TLS, or first
 * the ClientHello when passthrough routes may take it.
 */
static void
begin_tls(struct conn *c)
{
	if (check_limits(c) == -1)
		return;
	if (c->rt->conf->has_passthrough) {
		conn_set_phase(c, CONN_HELLO);
		passthrough_hello(c);	/* most often the ClientHello is here */
		return;
	}
	conn_start_tls(c);
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
	conn_set_phase(c, CONN_HANDSHAKE);
	begin_tls(c);
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
	c->magic = CONN_MAGIC;
	c->w = w;
	c->rt = runtime_ref(w->rt);
	c->id = atomic_fetch_add_explicit(&w->gw->next_id, 1,
	    memory_order_relaxed) + 1;
	c->peer = *peer;
	c->sni = conn_no_sni;
	c->cfd = fd;
	c->bfd = -1;
	c->sp_up.fd[0] = c->sp_up.fd[1] = -1;
	c->sp_down.fd[0] = c->sp_down.fd[1] = -1;
	c->hello_lowat = 1;
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
	ev_init(&c->expiry, handshake_on_expiry);
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	if (proxy) {
		conn_set_phase(c, CONN_PROXY);
		relay_update_watchers(c);
		return;
	}
	conn_set_phase(c, CONN_HANDSHAKE);
	begin_tls(c);
}
