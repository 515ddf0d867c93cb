#include "gateway/resolver.h"

#include <ares.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/route.h"
#include "core/util.h"

#define CACHE_MAX 1024		/* entries per resolver */
#define CACHE_BUCKETS 512
#define HOLD_MIN 1.0		/* seconds an answer is kept at least */
#define HOLD_MAX 300.0		/* ... and at most, whatever its TTL */
#define HOLD_NEGATIVE 5.0	/* NXDOMAIN / no address of the family */

/* DNS header response codes (RFC 1035 4.1.1) that c-ares 1.18 hides */
#define RCODE_SERVFAIL 2
#define RCODE_NOTIMP 4
#define RCODE_REFUSED 5
#define QTYPE_A 1
#define QTYPE_AAAA 28

struct dns_entry {
	struct dns_entry *hnext;		/* bucket chain */
	struct dns_entry *older, *newer;	/* age list, for eviction */
	struct resolver *r;
	unsigned hash;
	int family;
	int pending;			/* a query is in flight */
	unsigned rcode;			/* its last error answer (RCODE_*), 0 */
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
static struct dns_entry *find(struct resolver *r, const char *name,
    int family, unsigned h);
static unsigned hash_name(const char *name, int family);

const char *
dns_status_text(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return "answered";
	case DNS_NXDOMAIN:
		return "name not found (NXDOMAIN)";
	case DNS_NO_ADDRESS:
		return "no address of the wanted family";
	case DNS_SERVFAIL:
		return "server failure (SERVFAIL)";
	case DNS_REFUSED:
		return "query refused by the DNS server (REFUSED)";
	case DNS_NOTIMP:
		return "query not implemented by the DNS server (NOTIMP)";
	case DNS_BAD_ANSWER:
		return "malformed answer from the DNS server";
	case DNS_TIMEOUT:
		return "no answer from the DNS servers";
	case DNS_UNREACHABLE:
		return "no DNS server reachable";
	case DNS_BAD_NAME:
		return "not a name DNS can look up";
	case DNS_NO_MEMORY:
		return "out of memory";
	case DNS_ERROR:
		break;
	}
	return "DNS lookup failed";
}

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
	struct sock_watch *s = container_of(io, struct sock_watch, io);
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

/*
 * Why the servers said no. c-ares 1.18 ends a lookup whose every answer
 * was SERVFAIL, REFUSED or NOTIMP with ARES_ECONNREFUSED, the status it
 * also gives when nothing listens (later versions report the rcode).
 * ARES_FLAG_NOCHECKRESP would hand over the rcode, but also stop c-ares
 * from asking the next server after a SERVFAIL: a broken first resolver
 * would fail every lookup. So c-ares keeps its retries and failover, and
 * does its socket calls through the functions below, plain system calls
 * except that each UDP answer's header is looked at on the way in: an
 * error rcode is noted on the cache entries waiting for that question.
 * When c-ares then says ECONNREFUSED, a noted rcode is the cause, and
 * without one no server answered at all. UDP sockets are connected to
 * their server, so only it can be heard; TCP (after a truncated answer)
 * is not looked at: error answers hold no records and are not truncated.
 */

/*
 * Reads the question of a DNS answer: its name (lower case, dotted, into
 * name[ROUTE_SNI_MAX + 1]), type and the answer's rcode. Returns 0, or -1
 * if p is not an answer with one plain question.
 */
static int
answer_question(const unsigned char *p, size_t len, char *name,
    unsigned *qtype, unsigned *rcode)
{
	size_t i = 12, o = 0, l, k;

	if (len < 12 || !(p[2] & 0x80) || p[4] != 0 || p[5] != 1)
		return -1;
	*rcode = p[3] & 0x0f;
	while (i < len && (l = p[i]) != 0) {
		/* > 63: a compression pointer, never first in a message */
		if (l > 63 || l >= len - i || o + l + 1 > ROUTE_SNI_MAX)
			return -1;
		if (o > 0)
			name[o++] = '.';
		for (k = 1; k <= l; k++) {
			unsigned char ch = p[i + k];

			if (ch == '\0' || ch == '.')
				return -1;
			name[o++] = (char)(ch >= 'A' && ch <= 'Z' ?
			    ch - 'A' + 'a' : ch);
		}
		i += 1 + l;
	}
	if (o == 0 || i >= len || len - i < 5)	/* the 0, type, class */
		return -1;
	name[o] = '\0';
	*qtype = (unsigned)p[i + 1] << 8 | p[i + 2];
	return 0;
}

/*
 * Notes rcode on the pending entries that asked name (qtype A or AAAA),
 * or a name that c-ares made of one by appending a search domain.
 */
static void
note_rcode(struct resolver *r, char *name, unsigned qtype, unsigned rcode)
{
	const int fams[2] = { AF_UNSPEC,
	    qtype == QTYPE_A ? AF_INET : AF_INET6 };
	struct dns_entry *e;
	char *dot;
	size_t i;

	if (qtype != QTYPE_A && qtype != QTYPE_AAAA)
		return;
	for (;;) {
		for (i = 0; i < 2; i++) {
			e = find(r, name, fams[i], hash_name(name, fams[i]));
			if (e != NULL && e->pending)
				e->rcode = rcode;
		}
		if ((dot = strrchr(name, '.')) == NULL)
			return;
		*dot = '\0';
	}
}

static ares_socket_t
sock_open(int domain, int type, int protocol, void *data)
{
	int fd, on = 1;

	(void)data;
	/* c-ares leaves the options of sockets it did not make to us */
	fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
	if (fd == -1)
		return ARES_SOCKET_BAD;
	if (type == SOCK_STREAM)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on,
		    sizeof(on));
	return fd;
}

static int
sock_close(ares_socket_t fd, void *data)
{
	(void)data;
	return close(fd);
}

static int
sock_connect(ares_socket_t fd, const struct sockaddr *sa, ares_socklen_t len,
    void *data)
{
	(void)data;
	return connect(fd, sa, len);
}

static ares_ssize_t
sock_recvfrom(ares_socket_t fd, void *buf, size_t len, int flags,
    struct sockaddr *from, ares_socklen_t *fromlen, void *data)
{
	char name[ROUTE_SNI_MAX + 1];
	unsigned qtype, rcode;
	int type = 0;
	socklen_t tlen = sizeof(type);
	ssize_t n = recvfrom(fd, buf, len, flags, from, fromlen);

	/* the socket's type only for an error answer: that is rare */
	if (n > 0 && answer_question(buf, (size_t)n, name, &qtype, &rcode) ==
	    0 && (rcode == RCODE_SERVFAIL || rcode == RCODE_NOTIMP ||
	    rcode == RCODE_REFUSED) &&
	    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == 0 &&
	    type == SOCK_DGRAM)
		note_rcode(data, name, qtype, rcode);
	return n;
}

static ares_ssize_t
sock_sendv(ares_socket_t fd, const struct iovec *iov, int n, void *data)
{
	struct msghdr m;

	(void)data;
	memset(&m, 0, sizeof(m));
	m.msg_iov = (struct iovec *)iov;	/* sendmsg only reads it */
	m.msg_iovlen = (size_t)n;
	/* TCP to a server that went away must not raise SIGPIPE */
	return sendmsg(fd, &m, MSG_NOSIGNAL);
}

static const struct ares_socket_functions sock_funcs = {
	sock_open, sock_close, sock_connect, sock_recvfrom, sock_sendv,
};

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
	ares_set_socket_functions(r->channel, &sock_funcs, r);
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
	unsigned h = UTIL_HASH_INIT ^ (unsigned)family;
	unsigned char ch;

	/* DNS names are case-insensitive: so is the cache */
	for (; *name != '\0'; name++) {
		ch = (unsigned char)*name;
		if (ch >= 'A' && ch <= 'Z')
			ch = (unsigned char)(ch - 'A' + 'a');
		h = util_hash_byte(h, ch);
	}
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
		    strcasecmp(e->name, name) == 0)
			return e;
	return NULL;
}

/* A failed lookup's c-ares status (and noted rcode) as ours. */
static enum dns_status
dns_status_of(int status, unsigned rcode)
{
	switch (status) {
	case ARES_SUCCESS:
	case ARES_ENODATA:
		return DNS_NO_ADDRESS;
	case ARES_ENOTFOUND:
		return DNS_NXDOMAIN;
	case ARES_ETIMEOUT:
		return DNS_TIMEOUT;
	case ARES_ECONNREFUSED:	/* the rcode noted by sock_recvfrom() */
		return rcode == RCODE_SERVFAIL ? DNS_SERVFAIL :
		    rcode == RCODE_REFUSED ? DNS_REFUSED :
		    rcode == RCODE_NOTIMP ? DNS_NOTIMP : DNS_UNREACHABLE;
	case ARES_ESERVFAIL:
		return DNS_SERVFAIL;
	case ARES_EREFUSED:
		return DNS_REFUSED;
	case ARES_ENOTIMP:
		return DNS_NOTIMP;
	case ARES_EFORMERR:
	case ARES_EBADRESP:
		return DNS_BAD_ANSWER;
	case ARES_EBADNAME:
		return DNS_BAD_NAME;
	case ARES_ENOMEM:
		return DNS_NO_MEMORY;
	default:
		return DNS_ERROR;
	}
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
		a->status = DNS_OK;
		e->expires = now + (ttl < HOLD_MIN ? HOLD_MIN :
		    ttl > HOLD_MAX ? HOLD_MAX : ttl);
		return;
	}
	a->status = dns_status_of(status, e->rcode);
	/* a name that is not there stays so a while; failures are retried */
	e->expires = now + (a->status == DNS_NXDOMAIN ||
	    a->status == DNS_NO_ADDRESS ? HOLD_NEGATIVE : 0);
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
			ans->status = DNS_NO_MEMORY;
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
		e->rcode = 0;
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
