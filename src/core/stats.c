#include "core/stats.h"

#include <stdio.h>

#include "core/sbuf.h"

const double stats_hs_bounds[STATS_HS_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
};

void
stats_handshake(struct stats *s, double secs)
{
	size_t i;

	for (i = 0; i < STATS_HS_BUCKETS && secs > stats_hs_bounds[i]; i++)
		;
	stats_add(&s->hs[i], 1);
	stats_add(&s->hs_count, 1);
	stats_add(&s->hs_sum_us, (unsigned long long)(secs * 1e6));
}

void
stats_sum(struct stats_snapshot *out, const struct stats *s)
{
	size_t i;

	for (i = 0; i <= R_NONE; i++)
		out->closed[i] += atomic_load_explicit(&s->closed[i],
		    memory_order_relaxed);
	out->bytes_up += atomic_load_explicit(&s->bytes_up,
	    memory_order_relaxed);
	out->bytes_down += atomic_load_explicit(&s->bytes_down,
	    memory_order_relaxed);
	for (i = 0; i <= STATS_HS_BUCKETS; i++)
		out->hs[i] += atomic_load_explicit(&s->hs[i],
		    memory_order_relaxed);
	out->hs_count += atomic_load_explicit(&s->hs_count,
	    memory_order_relaxed);
	out->hs_sum_us += atomic_load_explicit(&s->hs_sum_us,
	    memory_order_relaxed);
	for (i = 0; i < STATS_DNS_N; i++)
		out->dns[i] += atomic_load_explicit(&s->dns[i],
		    memory_order_relaxed);
	out->tls_offloaded += atomic_load_explicit(&s->tls_offloaded,
	    memory_order_relaxed);
	out->passthrough += atomic_load_explicit(&s->passthrough,
	    memory_order_relaxed);
	out->pt_up += atomic_load_explicit(&s->pt_up, memory_order_relaxed);
	out->pt_down += atomic_load_explicit(&s->pt_down,
	    memory_order_relaxed);
}

/* A label value, escaped as the exposition format wants. */
static void
label(struct sbuf *o, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			sbuf_printf(o, "\\%c", *v);
		else if (*v == '\n')
			sbuf_str(o, "\\n");
		else
			sbuf_add(o, v, 1);
	}
}

/* When the CRLs and certificates run out, as Unix times. */
static void
lifetimes(struct sbuf *o, const struct stats_snapshot *s)
{
	size_t i;
	int crl;

	for (crl = 1; crl >= 0; crl--) {
		sbuf_str(o, crl ? "# HELP sshgate_crl_next_update_timestamp_"
		    "seconds When each CRL file must be renewed (its earliest "
		    "nextUpdate).\n# TYPE sshgate_crl_next_update_timestamp_"
		    "seconds gauge\n" : "# HELP sshgate_certificate_expiry_"
		    "timestamp_seconds When the earliest certificate of each "
		    "file expires.\n# TYPE sshgate_certificate_expiry_"
		    "timestamp_seconds gauge\n");
		for (i = 0; i < s->nlife; i++) {
			const struct lifetime *l = &s->life[i];

			if ((l->role == LIFE_CRL) != crl)
				continue;
			sbuf_str(o, crl ? "sshgate_crl_next_update_timestamp_"
			    "seconds{file=\"" : "sshgate_certificate_expiry_"
			    "timestamp_seconds{file=\"");
			label(o, l->file);
			if (!crl)
				sbuf_printf(o, "\",role=\"%s",
				    lifetime_role_name(l->role));
			sbuf_printf(o, "\"} %lld\n", (long long)l->when);
		}
	}
}

size_t
stats_format(const struct stats_snapshot *s, char *buf, size_t len)
{
	static const char *const dns[] = { "ok", "failed", "timeout",
	    "cached" };
	unsigned long long by_result[RESULT_N] = { 0 }, cum = 0;
	struct sbuf o;
	size_t i, r;

	sbuf_fixed(&o, buf, len);
	for (i = 0; i < R_NONE; i++)
		by_result[reason_class(i)] += s->closed[i];
	sbuf_printf(&o, "# HELP sshgate_connections_total Connections ended, by "
	    "result.\n# TYPE sshgate_connections_total counter\n");
	for (r = 0; r < RESULT_N; r++)
		sbuf_printf(&o, "sshgate_connections_total{result=\"%s\"} %llu\n",
		    reason_class_name(r), by_result[r]);
	sbuf_printf(&o, "# HELP sshgate_closed_total Connections ended, by reason.\n"
	    "# TYPE sshgate_closed_total counter\n");
	for (i = 0; i < R_NONE; i++)
		sbuf_printf(&o, "sshgate_closed_total{reason=\"%s\"} %llu\n",
		    reason_token(i), s->closed[i]);
	sbuf_printf(&o, "# HELP sshgate_denied_total Connections refused, by reason."
	    "\n# TYPE sshgate_denied_total counter\n");
	for (i = 0; i < R_NONE; i++)
		if (reason_class(i) == RESULT_DENIED)
			sbuf_printf(&o, "sshgate_denied_total{reason=\"%s\"} %llu\n",
			    reason_token(i), s->closed[i]);
	sbuf_printf(&o, "# HELP sshgate_sessions_active Connections open now.\n"
	    "# TYPE sshgate_sessions_active gauge\n"
	    "sshgate_sessions_active %llu\n", s->active);
	sbuf_printf(&o, "# HELP sshgate_sessions_max Connections accepted at "
	    "most: max-connections, or fewer if the file descriptor limit "
	    "cannot hold them.\n# TYPE sshgate_sessions_max gauge\n"
	    "sshgate_sessions_max %llu\n", s->max_active);
	sbuf_printf(&o, "# HELP sshgate_bytes_total Bytes relayed (up: client to "
	    "server).\n# TYPE sshgate_bytes_total counter\n"
	    "sshgate_bytes_total{direction=\"up\"} %llu\n"
	    "sshgate_bytes_total{direction=\"down\"} %llu\n", s->bytes_up,
	    s->bytes_down);
	sbuf_printf(&o, "# HELP sshgate_tls_offloaded_total TLS 1.3 sessions "
	    "whose records the gateway carried itself after the handshake "
	    "(tls-offload).\n# TYPE sshgate_tls_offloaded_total counter\n"
	    "sshgate_tls_offloaded_total %llu\n", s->tls_offloaded);
	sbuf_printf(&o, "# HELP sshgate_passthrough_total Sessions relayed "
	    "without terminating TLS (passthrough routes).\n"
	    "# TYPE sshgate_passthrough_total counter\n"
	    "sshgate_passthrough_total %llu\n", s->passthrough);
	sbuf_printf(&o, "# HELP sshgate_passthrough_bytes_total Bytes of "
	    "passthrough sessions (also in sshgate_bytes_total).\n"
	    "# TYPE sshgate_passthrough_bytes_total counter\n"
	    "sshgate_passthrough_bytes_total{direction=\"up\"} %llu\n"
	    "sshgate_passthrough_bytes_total{direction=\"down\"} %llu\n",
	    s->pt_up, s->pt_down);
	sbuf_printf(&o, "# HELP sshgate_handshake_seconds TLS handshake duration.\n"
	    "# TYPE sshgate_handshake_seconds histogram\n");
	for (i = 0; i < STATS_HS_BUCKETS; i++) {
		cum += s->hs[i];
		sbuf_printf(&o, "sshgate_handshake_seconds_bucket{le=\"%g\"} %llu\n",
		    stats_hs_bounds[i], cum);
	}
	cum += s->hs[STATS_HS_BUCKETS];
	sbuf_printf(&o, "sshgate_handshake_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "sshgate_handshake_seconds_sum %.6f\n"
	    "sshgate_handshake_seconds_count %llu\n", cum,
	    (double)s->hs_sum_us / 1e6, s->hs_count);
	sbuf_printf(&o, "# HELP sshgate_dns_queries_total DNS lookups, by result.\n"
	    "# TYPE sshgate_dns_queries_total counter\n");
	for (i = 0; i < STATS_DNS_N; i++)
		sbuf_printf(&o, "sshgate_dns_queries_total{result=\"%s\"} %llu\n",
		    dns[i], s->dns[i]);
	sbuf_printf(&o, "# HELP sshgate_reloads_total Configuration reloads.\n"
	    "# TYPE sshgate_reloads_total counter\n"
	    "sshgate_reloads_total{result=\"ok\"} %llu\n"
	    "sshgate_reloads_total{result=\"failed\"} %llu\n", s->reloads_ok,
	    s->reloads_failed);
	sbuf_printf(&o, "# HELP sshgate_log_records_dropped_total Log records dropped "
	    "because their sink did not keep up (its queue was full).\n"
	    "# TYPE sshgate_log_records_dropped_total counter\n"
	    "sshgate_log_records_dropped_total %llu\n", s->log_dropped);
	sbuf_printf(&o, "# HELP sshgate_log_write_errors_total Log records that could "
	    "not be written (disk full, I/O error).\n"
	    "# TYPE sshgate_log_write_errors_total counter\n"
	    "sshgate_log_write_errors_total %llu\n", s->log_write_errors);
	lifetimes(&o, s);
	sbuf_printf(&o, "# HELP sshgate_workers Worker threads.\n"
	    "# TYPE sshgate_workers gauge\nsshgate_workers %llu\n", s->workers);
	sbuf_printf(&o, "# HELP sshgate_build_info The running version.\n"
	    "# TYPE sshgate_build_info gauge\n"
	    "sshgate_build_info{version=\"%s\"} 1\n", s->version);
	return o.failed || o.len >= len ? 0 : o.len;
}
