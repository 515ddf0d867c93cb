/*
 * reason: how a connection ended, as the audit log, the metrics and the
 * client notices name it: one token per reason, each in one class
 * (the log's `result`). Pure.
 */
#ifndef SSHGATE_REASON_H
#define SSHGATE_REASON_H

enum reason {
	/* ok */
	R_CLIENT_CLOSED = 0,
	R_SERVER_CLOSED,
	R_IDLE_TIMEOUT,
	R_KILLED,
	R_SHUTDOWN,
	/* denied */
	R_NO_SNI,
	R_NO_ROUTE,
	R_NOT_SSH,
	R_INSPECT_TIMEOUT,
	R_DESTINATION_DENIED,
	R_ACCESS_DENIED,
	R_NO_CLIENT_CERT,
	R_CERT_UNTRUSTED,
	R_CERT_EXPIRED,
	R_CERT_REVOKED,
	R_CRL_EXPIRED,		/* the CRL for the client's CA is out of date */
	R_PLAIN_SSH,		/* SSH sent to the TLS port */
	R_TOO_MANY,
	R_RATE_LIMITED,
	/* error */
	R_HANDSHAKE_FAILED,
	R_HANDSHAKE_TIMEOUT,
	R_CONNECT_FAILED,
	R_CONNECT_TIMEOUT,
	R_DNS_FAILED,
	R_INTERNAL,
	R_NONE,			/* not decided yet (logged as internal) */
};

enum reason_class {
	RESULT_OK = 0,
	RESULT_DENIED,
	RESULT_ERROR,
	RESULT_N,
};

/* The log token of r ("no-route"). */
const char *reason_token(enum reason r);
/* The class of r, and the name of a class ("ok", "denied", "error"). */
enum reason_class reason_class(enum reason r);
const char *reason_class_name(enum reason_class c);

#endif
