/* reason: the log's reason tokens and their results. Pure. */
#include "conn.h"

static const struct {
	const char *token;
	const char *result;
} reasons[] = {
	[R_CLIENT_CLOSED] = { "client-closed", "ok" },
	[R_SERVER_CLOSED] = { "server-closed", "ok" },
	[R_IDLE_TIMEOUT] = { "idle-timeout", "ok" },
	[R_KILLED] = { "killed", "ok" },
	[R_SHUTDOWN] = { "shutdown", "ok" },
	[R_NO_SNI] = { "no-sni", "denied" },
	[R_NO_ROUTE] = { "no-route", "denied" },
	[R_NOT_SSH] = { "not-ssh", "denied" },
	[R_INSPECT_TIMEOUT] = { "inspect-timeout", "denied" },
	[R_DESTINATION_DENIED] = { "destination-denied", "denied" },
	[R_ACCESS_DENIED] = { "access-denied", "denied" },
	[R_NO_CLIENT_CERT] = { "no-client-cert", "denied" },
	[R_CERT_UNTRUSTED] = { "cert-untrusted", "denied" },
	[R_CERT_EXPIRED] = { "cert-expired", "denied" },
	[R_CERT_REVOKED] = { "cert-revoked", "denied" },
	[R_TOO_MANY] = { "too-many", "denied" },
	[R_RATE_LIMITED] = { "rate-limited", "denied" },
	[R_HANDSHAKE_FAILED] = { "handshake-failed", "error" },
	[R_HANDSHAKE_TIMEOUT] = { "handshake-timeout", "error" },
	[R_CONNECT_FAILED] = { "connect-failed", "error" },
	[R_CONNECT_TIMEOUT] = { "connect-timeout", "error" },
	[R_DNS_FAILED] = { "dns-failed", "error" },
	[R_INTERNAL] = { "internal", "error" },
	[R_NONE] = { "internal", "error" },
};

const char *
conn_reason_token(enum conn_reason r)
{
	return reasons[r].token;
}

const char *
conn_reason_result(enum conn_reason r)
{
	return reasons[r].result;
}

