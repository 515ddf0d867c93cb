#include "core/reason.h"

static const struct {
	const char *token;
	enum reason_class class;
} reasons[] = {
	[R_CLIENT_CLOSED] = { "client-closed", RESULT_OK },
	[R_SERVER_CLOSED] = { "server-closed", RESULT_OK },
	[R_IDLE_TIMEOUT] = { "idle-timeout", RESULT_OK },
	[R_KILLED] = { "killed", RESULT_OK },
	[R_SHUTDOWN] = { "shutdown", RESULT_OK },
	[R_NO_SNI] = { "no-sni", RESULT_DENIED },
	[R_NO_ROUTE] = { "no-route", RESULT_DENIED },
	[R_NOT_SSH] = { "not-ssh", RESULT_DENIED },
	[R_INSPECT_TIMEOUT] = { "inspect-timeout", RESULT_DENIED },
	[R_DESTINATION_DENIED] = { "destination-denied", RESULT_DENIED },
	[R_ACCESS_DENIED] = { "access-denied", RESULT_DENIED },
	[R_NO_CLIENT_CERT] = { "no-client-cert", RESULT_DENIED },
	[R_CERT_UNTRUSTED] = { "cert-untrusted", RESULT_DENIED },
	[R_CERT_EXPIRED] = { "cert-expired", RESULT_DENIED },
	[R_CERT_REVOKED] = { "cert-revoked", RESULT_DENIED },
	[R_CRL_EXPIRED] = { "crl-expired", RESULT_DENIED },
	[R_PLAIN_SSH] = { "plain-ssh", RESULT_DENIED },
	[R_TOO_MANY] = { "too-many", RESULT_DENIED },
	[R_RATE_LIMITED] = { "rate-limited", RESULT_DENIED },
	[R_HANDSHAKE_FAILED] = { "handshake-failed", RESULT_ERROR },
	[R_HANDSHAKE_TIMEOUT] = { "handshake-timeout", RESULT_ERROR },
	[R_CONNECT_FAILED] = { "connect-failed", RESULT_ERROR },
	[R_CONNECT_TIMEOUT] = { "connect-timeout", RESULT_ERROR },
	[R_DNS_FAILED] = { "dns-failed", RESULT_ERROR },
	[R_INTERNAL] = { "internal", RESULT_ERROR },
	[R_NONE] = { "internal", RESULT_ERROR },
};

const char *
reason_token(enum reason r)
{
	return reasons[r].token;
}

enum reason_class
reason_class(enum reason r)
{
	return reasons[r].class;
}

const char *
reason_class_name(enum reason_class c)
{
	static const char *const names[] = {
		[RESULT_OK] = "ok", [RESULT_DENIED] = "denied",
		[RESULT_ERROR] = "error",
	};

	return names[c];
}
