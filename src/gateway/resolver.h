/*
 * resolver: asynchronous DNS inside a worker's libev loop (c-ares), with
 * a bounded per-worker cache that honours TTLs. One resolver per worker
 * and configuration; nothing here blocks or takes a lock.
 */
#ifndef SSHGATE_RESOLVER_H
#define SSHGATE_RESOLVER_H

#include <ev.h>
#include <stddef.h>

#include "core/addr.h"

#define DNS_ADDR_MAX 8		/* addresses kept per answer */

/* How a lookup ended; dns_status_text() words it for the log. */
enum dns_status {
	DNS_OK = 0,		/* addrs[0..n) hold the answer */
	DNS_NXDOMAIN,		/* the name does not exist */
	DNS_NO_ADDRESS,		/* it exists, with no address of the family */
	DNS_SERVFAIL,		/* the servers answered SERVFAIL */
	DNS_REFUSED,		/* the servers answered REFUSED */
	DNS_NOTIMP,		/* the servers answered NOTIMP */
	DNS_BAD_ANSWER,		/* FORMERR, or an answer that does not parse */
	DNS_TIMEOUT,		/* no answer in time */
	DNS_UNREACHABLE,	/* no server answered at all (nothing listening) */
	DNS_BAD_NAME,		/* not a name DNS can be asked about */
	DNS_NO_MEMORY,
	DNS_ERROR,		/* any other failure of the resolver */
};

struct dns_answer {
	enum dns_status status;
	struct addr addrs[DNS_ADDR_MAX];	/* port 0 */
	size_t n;
};

/* The status in words, for the log's detail ("server failure (SERVFAIL)"). */
const char *dns_status_text(enum dns_status s);

struct dns_entry;
struct resolver;

/* A connection waiting for an answer; embedded in the waiter. */
struct dns_wait {
	struct dns_wait *prev, *next;	/* the entry's waiters */
	struct dns_entry *entry;	/* NULL when not waiting */
	int in_delivery;		/* answered, its turn not yet come */
	void (*done)(struct dns_wait *w, const struct dns_answer *ans);
};

/*
 * Creates a resolver on loop. servers: NULL for the system's
 * (/etc/resolv.conf, and /etc/hosts first), or "ADDR:PORT,..." (DNS
 * only). timeout: seconds for a whole lookup. Returns it with one
 * reference, or NULL with a reason in err.
 */
struct resolver *resolver_new(struct ev_loop *loop, const char *servers,
    double timeout, char *err, size_t errlen);
void resolver_ref(struct resolver *r);
/* Drops a reference; the last one frees it (no waiter may be left). */
void resolver_unref(struct resolver *r);

/*
 * Looks up name (address family AF_INET, AF_INET6 or AF_UNSPEC). If the
 * cache holds an answer, fills *ans and returns 1: w->done is not called.
 * Otherwise returns 0 and w->done(w, ans) is called later, exactly once,
 * from the loop — unless resolver_cancel(w) is called first.
 */
int resolver_lookup(struct resolver *r, const char *name, int family,
    struct dns_wait *w, struct dns_answer *ans);

/* Stops waiting; done will not be called. Harmless if not waiting. */
void resolver_cancel(struct dns_wait *w);

/* One-time process setup (c-ares' library state). Returns 0 or -1. */
int resolver_global_init(void);
void resolver_global_cleanup(void);

#endif
