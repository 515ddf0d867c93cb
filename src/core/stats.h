/*
 * stats: counters a worker keeps for the metrics. Each worker writes only
 * its own (relaxed atomic adds, no lock, no sharing); the metrics
 * endpoint sums them when scraped.
 */
#ifndef SSHGATE_STATS_H
#define SSHGATE_STATS_H

#include <stdatomic.h>
#include <stddef.h>

#include "core/lifetime.h"
#include "core/reason.h"

/* Room for the whole Prometheus text of a snapshot. */
#define STATS_TEXT_MAX 65536

/* Upper bounds (seconds) of the handshake duration histogram. */
#define STATS_HS_BUCKETS 12
extern const double stats_hs_bounds[STATS_HS_BUCKETS];

enum stats_dns {
	STATS_DNS_OK = 0,
	STATS_DNS_FAILED,	/* NXDOMAIN, no address, SERVFAIL, ... */
	STATS_DNS_TIMEOUT,
	STATS_DNS_CACHED,	/* answered from the cache */
	STATS_DNS_N,
};

struct stats {
	atomic_ullong closed[R_NONE + 1];	/* by reason */
	atomic_ullong bytes_up, bytes_down;
	atomic_ullong hs[STATS_HS_BUCKETS + 1];	/* last: +Inf */
	atomic_ullong hs_count, hs_sum_us;
	atomic_ullong dns[STATS_DNS_N];
	atomic_ullong tls_offloaded;	/* TLS 1.3 sessions on tlsrec */
	atomic_ullong passthrough;	/* passthrough sessions relayed */
	atomic_ullong pt_up, pt_down;	/* ... their bytes (also in bytes_*) */
};

/* The plain sums of every worker's counters, and gateway-wide values. */
struct stats_snapshot {
	unsigned long long closed[R_NONE + 1];
	unsigned long long bytes_up, bytes_down;
	unsigned long long hs[STATS_HS_BUCKETS + 1];
	unsigned long long hs_count, hs_sum_us;
	unsigned long long dns[STATS_DNS_N];
	unsigned long long tls_offloaded;
	unsigned long long passthrough, pt_up, pt_down;
	unsigned long long active, max_active, reloads_ok, reloads_failed;
	unsigned long long workers;
	unsigned long long log_dropped, log_write_errors;	/* lines */
	const char *version;
	const struct lifetime *life;	/* certificates and CRLs: when they run out */
	size_t nlife;
};

static inline void
stats_add(atomic_ullong *c, unsigned long long n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

void stats_handshake(struct stats *s, double secs);
void stats_sum(struct stats_snapshot *out, const struct stats *s);

/*
 * Formats the snapshot as Prometheus text exposition into buf. Returns
 * the length, or 0 if buf is too small. Pure.
 */
size_t stats_format(const struct stats_snapshot *s, char *buf, size_t len);

#endif
