#include "resolver.h"

#include <ares.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"
#include "util.h"

#define CACHE_MAX 1024		/* entries per resolver */
#define CACHE_BUCKETS 512
#define HOLD_MIN 1.0		/* seconds an answer is kept at least */
#define HOLD_MAX 300.0		/* ... and at most, whatever its TTL */
#define HOLD_NEGATIVE 5.0	/* NXDOMAIN / no address of the family */

struct dns_entry {
	struct dns_entry *hnext;		/* bucket chain */
	struct dns_entry *older, *newer;	/* age list, for eviction */
	struct resolver *r;
	unsigned hash;
	int family;
	int pending;			/* a query is in flight */
	int delivering;			/* waiters being called: keep it */
	struct dns_wait *delivery;	/* waiters not yet called */
	ev_tstamp expires;
	struct dns_answer ans;
	struct dns_wait *waiters;
	char name[ROUTE_SNI_MAX + 1];
};

struct sock_watch {
	ev_io io;
	struct resolver *r;
	struct sock_watch *next;
};

struct resolver {
	int refs;
	struct ev_loop *loop;
	ares_channel channel;
	ev_timer timer;			/* c-ares' own retransmissions */
	struct sock_watch *socks;
	struct dns_entry *buckets[CACHE_BUCKETS];
	struct dns_entry *oldest, *newest;
	size_t nentries;
	int destroying;
	struct dns_wait *calling;	/* in resolver_lookup: not called back */
};

static void rearm(struct resolver *r);

int
resolver_global_init(void)
{
	return ares_library_init(ARES_LIB_INIT_ALL) == ARES_SUCCESS ? 0 : -1;
}

void
resolver_global_cleanup(void)
{
	ares_library_cleanup();
}

static void
on_sock(struct ev_loop *loop, ev_io *io, int revents)
{
	struct sock_watch *s = (struct sock_watch *)io;
	struct resolver *r = s->r;
	int fd = io->fd;

	(void)loop;
	/* a callback may drop the last other reference: not inside c-ares */
	resolver_ref(r);
	ares_process_fd(r->channel,
	    (revents & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (revents & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	rearm(r);
	resolver_unref(r);
}

/* c-ares says which sockets it wants watched, and for what. */
static void
sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	struct sock_watch **pp, *s;
	int ev = (readable ? EV_READ : 0) | (writable ? EV_WRITE : 0);

	for (pp = &r->socks; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->io.fd == fd)
			break;
	s = *pp;
	if (s != NULL) {
		ev_io_stop(r->loop, &s->io);
		if (ev == 0) {
			*pp = s->next;
			free(s);
			return;
		}
	} else {
		if (ev == 0 || (s = calloc(1, sizeof(*s))) == NULL)
			return;	/* c-ares times the query out */
		s->r = r;
		s->next = r->socks;
		r->socks = s;
		ev_init(&s->io, on_sock);
	}
	ev_io_set(&s->io, fd, ev);
	ev_io_start(r->loop, &s->io);
}

static void
on_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct resolver *r = t->data;

	(void)loop;
	(void)revents;
	resolver_ref(r);
	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	rearm(r);
	resolver_unref(r);
}

/* Arms the timer for c-ares' next retransmission or timeout. */
static void
rearm(struct resolver *r)
{
	struct timeval tv, *tvp;

	ev_timer_stop(r->loop, &r->timer);
	tvp = ares_timeout(r->channel, NULL, &tv);
	if (tvp == NULL)
		return;		/* nothing in flight */
	ev_timer_set(&r->timer, (double)tvp->tv_sec +
	    (double)tvp->tv_usec / 1e6 + 0.001, 0);
	ev_timer_start(r->loop, &r->timer);
}

struct resolver *
resolver_new(struct ev_loop *loop, const char *servers, double timeout,
    char *err, size_t errlen)
{
	struct ares_options o;
	struct resolver *r = calloc(1, sizeof(*r));
	int rc, mask;

	if (r == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->refs = 1;
	r->loop = loop;
	memset(&o, 0, sizeof(o));
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = r;
	o.lookups = servers != NULL ? "b" : "fb";
	mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_LOOKUPS;
	if (timeout > 0) {	/* else c-ares' own retries and timeouts */
		o.tries = 2;	/* two tries share the whole timeout */
		o.timeout = (int)(timeout * 1000 / o.tries);
		if (o.timeout < 100)
			o.timeout = 100;
		mask |= ARES_OPT_TRIES | ARES_OPT_TIMEOUTMS;
	}
	if ((rc = ares_init_options(&r->channel, &o, mask)) != ARES_SUCCESS) {
		snprintf(err, errlen, "DNS resolver: %s", ares_strerror(rc));
		free(r);
		return NULL;
	}
	if (servers != NULL &&
	    (rc = ares_set_servers_ports_csv(r->channel, servers)) !=
	    ARES_SUCCESS) {
		snprintf(err, errlen, "DNS servers '%s': %s", servers,
		    ares_strerror(rc));
		ares_destroy(r->channel);
		free(r);
		return NULL;
	}
	ev_init(&r->timer, on_timer);
	r->timer.data = r;
	return r;
}

static unsigned
hash_name(const char *name, int family)
{
	unsigned h = 2166136261u ^ (unsigned)family;

	for (; *name != '\0'; name++)
		h = (h ^ (unsigned char)*name) * 16777619u;
	return h;
}

static void
age_unlink(struct resolver *r, struct dns_entry *e)
{
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		r->oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		r->newest = e->older;
	e->older = e->newer = NULL;
}

static void
age_push(struct resolver *r, struct dns_entry *e)
{
	e->older = r->newest;
	e->newer = NULL;
	if (r->newest != NULL)
		r->newest->newer = e;
	else
		r->oldest = e;
	r->newest = e;
}

static void
entry_free(struct resolver *r, struct dns_entry *e)
{
	struct dns_entry **pp = &r->buckets[e->hash % CACHE_BUCKETS];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	age_unlink(r, e);
	r->nentries--;
	free(e);
}

/* Makes room: drops the oldest answers that no query holds. */
static void
evict(struct resolver *r)
{
	struct dns_entry *e = r->oldest, *next;

	while (e != NULL && r->nentries >= CACHE_MAX) {
		next = e->newer;
		if (!e->pending && !e->delivering)
			entry_free(r, e);
		e = next;
	}
}

static struct dns_entry *
find(struct resolver *r, const char *name, int family, unsigned h)
{
	struct dns_entry *e;

	for (e = r->buckets[h % CACHE_BUCKETS]; e != NULL; e = e->hnext)
		if (e->hash == h && e->family == family &&
		    strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

static void
fill_answer(struct dns_entry *e, int status, struct ares_addrinfo *res)
{
	struct ares_addrinfo_node *n;
	struct dns_answer *a = &e->ans;
	ev_tstamp now = ev_now(e->r->loop);
	int ttl = -1;
	size_t i;

	memset(a, 0, sizeof(*a));
	if (status == ARES_SUCCESS && res != NULL) {
		for (n = res->nodes; n != NULL && a->n < DNS_ADDR_MAX;
		    n = n->ai_next) {
			struct addr x;

			if (n->ai_addrlen > sizeof(x.ss) ||
			    (n->ai_family != AF_INET &&
			    n->ai_family != AF_INET6))
				continue;
			memset(&x, 0, sizeof(x));
			memcpy(&x.ss, n->ai_addr, n->ai_addrlen);
			x.len = n->ai_addrlen;
			for (i = 0; i < a->n; i++)	/* no duplicates */
				if (addr_equal(&a->addrs[i], &x))
					break;
			if (i < a->n)
				continue;
			a->addrs[a->n++] = x;
			if (ttl == -1 || n->ai_ttl < ttl)
				ttl = n->ai_ttl;
		}
	}
	if (a->n > 0) {
		a->ok = 1;
		e->expires = now + (ttl < HOLD_MIN ? HOLD_MIN :
		    ttl > HOLD_MAX ? HOLD_MAX : ttl);
		return;
	}
	switch (status) {
	case ARES_SUCCESS:
	case ARES_ENODATA:
		a->error = "no address of the wanted family";
		e->expires = now + HOLD_NEGATIVE;
		break;
	case ARES_ENOTFOUND:
		a->error = "name not found (NXDOMAIN)";
		e->expires = now + HOLD_NEGATIVE;
		break;
	case ARES_ETIMEOUT:
		a->error = "no answer from the DNS servers";
		e->expires = now;	/* ask again next time */
		break;
	case ARES_ECONNREFUSED:
		a->error = "no DNS server reachable";
		e->expires = now;
		break;
	case ARES_ESERVFAIL:
		a->error = "server failure (SERVFAIL)";
		e->expires = now;
		break;
	case ARES_EREFUSED:
		a->error = "query refused by the DNS server";
		e->expires = now;
		break;
	default:
		a->error = ares_strerror(status);
		e->expires = now;
		break;
	}
}

static void
on_answer(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct dns_entry *e = arg;
	struct resolver *r = e->r;
	struct dns_wait *w;

	(void)timeouts;
	if (status == ARES_EDESTRUCTION || r->destroying) {
		if (res != NULL)
			ares_freeaddrinfo(res);
		entry_free(r, e);
		return;
	}
	fill_answer(e, status, res);
	if (res != NULL)
		ares_freeaddrinfo(res);
	e->pending = 0;
	/*
	 * Each waiter may end its connection or start other lookups (which
	 * may evict entries, or wait on this one again): take the list as it
	 * is now, and keep e from eviction until every waiter has its answer.
	 */
	e->delivery = e->waiters;
	e->waiters = NULL;
	for (w = e->delivery; w != NULL; w = w->next)
		w->in_delivery = 1;
	e->delivering = 1;
	while ((w = e->delivery) != NULL) {
		e->delivery = w->next;
		if (w->next != NULL)
			w->next->prev = NULL;
		w->prev = w->next = NULL;
		w->entry = NULL;
		w->in_delivery = 0;
		if (w != r->calling)
			w->done(w, &e->ans);
	}
	e->delivering = 0;
}

int
resolver_lookup(struct resolver *r, const char *name, int family,
    struct dns_wait *w, struct dns_answer *ans)
{
	struct ares_addrinfo_hints hints;
	unsigned h = hash_name(name, family);
	struct dns_entry *e = find(r, name, family, h);

	if (e != NULL && !e->pending && e->expires > ev_now(r->loop)) {
		*ans = e->ans;
		return 1;
	}
	if (e == NULL) {
		evict(r);
		if ((e = calloc(1, sizeof(*e))) == NULL) {
			memset(ans, 0, sizeof(*ans));
			ans->error = "out of memory";
			return 1;
		}
		util_strlcpy(e->name, name, sizeof(e->name));
		e->r = r;
		e->hash = h;
		e->family = family;
		e->hnext = r->buckets[h % CACHE_BUCKETS];
		r->buckets[h % CACHE_BUCKETS] = e;
		r->nentries++;
	} else
		age_unlink(r, e);
	age_push(r, e);
	w->entry = e;
	w->in_delivery = 0;
	w->prev = NULL;
	w->next = e->waiters;
	if (e->waiters != NULL)
		e->waiters->prev = w;
	e->waiters = w;
	if (!e->pending) {
		e->pending = 1;
		memset(&hints, 0, sizeof(hints));
		hints.ai_family = family;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = ARES_AI_NOSORT;
		/* may answer at once (numeric, /etc/hosts): after linking */
		r->calling = w;
		ares_getaddrinfo(r->channel, e->name, NULL, &hints, on_answer,
		    e);
		r->calling = NULL;
		rearm(r);
	}
	if (w->entry == NULL) {		/* answered within the call */
		*ans = e->ans;
		return 1;
	}
	return 0;
}

void
resolver_cancel(struct dns_wait *w)
{
	struct dns_entry *e = w->entry;

	if (e == NULL)
		return;
	if (w->prev != NULL)
		w->prev->next = w->next;
	else if (w->in_delivery)
		e->delivery = w->next;
	else
		e->waiters = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	w->entry = NULL;
	w->in_delivery = 0;
}

void
resolver_ref(struct resolver *r)
{
	r->refs++;
}

void
resolver_unref(struct resolver *r)
{
	struct sock_watch *s;
	struct dns_entry *e;

	if (r == NULL || --r->refs > 0)
		return;
	r->destroying = 1;
	ev_timer_stop(r->loop, &r->timer);
	ares_destroy(r->channel);	/* pending entries are freed here */
	while ((s = r->socks) != NULL) {
		r->socks = s->next;
		ev_io_stop(r->loop, &s->io);
		free(s);
	}
	while ((e = r->oldest) != NULL)
		entry_free(r, e);
	free(r);
}
