/*
 * handshake: what is decided inside and right after the TLS handshake.
 * The route, from the server name of the ClientHello; the client
 * certificate's verdict and the identity it names; what session tickets
 * carry and when one may resume; the access policy as far as the name
 * decides it; and, on every reload, whether a live session may go on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/ident.h"
#include "core/policy.h"
#include "core/route.h"
#include "core/util.h"
#include "gateway/conn_int.h"
#include "gateway/ctls.h"
#include "gateway/runtime.h"
#include "gateway/worker.h"

static int on_hello(SSL *, const char *, const char *);
static int on_cert(SSL *, X509 *, enum tls_cert_verdict, const char *);
static void ticket_info(SSL *, const char **, STACK_OF(X509) **);
static int on_resume(SSL *, const char *, STACK_OF(X509) *);
static int client_ident(struct conn *, X509 *);

static void on_secret(SSL *, int, const unsigned char *, size_t);

const struct tls_hooks conn_tls_hooks = {
	on_hello, on_cert, ticket_info, on_resume, on_secret,
};

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
enum policy_verdict
handshake_access(struct conn *c, const struct runtime *rt, const struct addr *dst)
{
	const struct access_rule *rule;
	struct identity id;
	enum policy_verdict v;

	if (rt->conf->client_ca == NULL)
		return POLICY_ALLOW;	/* no client certificates: no policy */
	if (c->flags & F_PASSTHROUGH) {
		/* no certificate is seen: nobody, whom only `any` rules match */
		id.user = NULL;
		id.groups = NULL;
		id.ngroups = 0;
	} else if (c->ident == NULL)
		return POLICY_ALLOW;
	else {
		id.user = c->ident->user;
		id.groups = (const char *const *)c->ident->groups;
		id.ngroups = c->ident->ngroups;
	}
	v = policy_decide(&rt->conf->policy, &id, c->sni, dst, &rule);
	if (v == POLICY_DENY)
		rule_detail(c, rule, "denied");
	return v;
}

void
handshake_on_expiry(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct conn *c = container_of(t, struct conn, expiry);
	ev_tstamp left;

	(void)revents;
	CONN_CHECK(c);
	left = (double)c->ident->not_after - ev_now(loop);
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
int
handshake_identity(struct conn *c)
{
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
			return conn_close(c, tls_verdict_reason(v), why);
		if (handshake_access(c, c->rt, NULL) == POLICY_DENY)
			return conn_close(c, R_ACCESS_DENIED, c->detail);
	}
	if (c->rt->conf->expire_sessions && c->ident->not_after != 0) {
		left = (double)c->ident->not_after - ev_now(c->w->loop);
		ev_timer_set(&c->expiry, left > 0 ? left : 0, 0);
		ev_timer_start(c->w->loop, &c->expiry);
	}
	return 0;
}

/* Keeps name as c->sni: a copy of its own, or "" when out of memory. */
static void
set_sni(struct conn *c, const char *name)
{
	if (c->sni != conn_no_sni)
		free(c->sni);
	if ((c->sni = strdup(name)) == NULL)
		c->sni = conn_no_sni;
}

/* The server name of this ClientHello picks the route. */
static int
on_hello(SSL *ssl, const char *name, const char *bad)
{
	struct conn *c = SSL_get_app_data(ssl);
	char sni[ROUTE_SNI_MAX + 1];

	CONN_CHECK(c);
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
	if (route_normalize_sni(name, sni) == -1) {
		util_strlcpy(sni, name, sizeof(sni));	/* for the log */
		set_sni(c, sni);
		util_strlcpy(c->detail, "server name is not a host name or "
		    "address", sizeof(c->detail));
		c->deny = R_NO_ROUTE;
		return SSL_AD_UNRECOGNIZED_NAME;
	}
	set_sni(c, sni);
	if (c->sni == conn_no_sni) {
		c->deny = R_INTERNAL;
		util_strlcpy(c->detail, "out of memory", sizeof(c->detail));
		return SSL_AD_INTERNAL_ERROR;
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

	CONN_CHECK(c);
	*sni = c->sni;
	*chain = c->chain;
	ctls_note_ticket(c);	/* one record under the gateway's key */
}

/* With tls-offload: the secrets the hand-over needs. */
static void
on_secret(SSL *ssl, int server, const unsigned char *secret, size_t len)
{
	struct conn *c = SSL_get_app_data(ssl);

	CONN_CHECK(c);
	ctls_note_secret(c, server, secret, len);
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

	CONN_CHECK(c);
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
	struct conn *c = SSL_get_app_data(ssl);

	CONN_CHECK(c);
	if (c->ident == NULL && client_ident(c, leaf) == -1)
		return -1;
	if (v != TLS_CERT_OK) {
		if (c->deny == R_NONE) {
			c->deny = tls_verdict_reason(v);
			util_strlcpy(c->detail, why, sizeof(c->detail));
		}
		/* refused once the handshake is done, in words */
		return v == TLS_CERT_CRL_EXPIRED ? 0 : -1;
	}
	/* what the SNI alone decides is refused within the handshake */
	if (handshake_access(c, c->rt, NULL) == POLICY_DENY) {
		c->deny = R_ACCESS_DENIED;
		return -1;
	}
	return 0;
}

int
conn_recheck(struct conn *c, const struct runtime *rt)
{
	static const char *const what[] = {
		[TLS_CERT_OK] = "", [TLS_CERT_UNTRUSTED] = "untrusted",
		[TLS_CERT_EXPIRED] = "expired", [TLS_CERT_REVOKED] = "revoked",
		[TLS_CERT_CRL_EXPIRED] = "not checkable (CRL out of date)",
	};
	enum tls_cert_verdict v;
	char why[128];

	if (rt->conf->client_ca == NULL)
		return 0;
	if (c->flags & F_PASSTHROUGH)
		goto policy;	/* no certificate: the rules for nobody */
	if (c->cert == NULL)
		return 0;
	v = tls_cert_recheck(rt->ssl_ctx, c->cert, c->chain, why, sizeof(why));
	if (v != TLS_CERT_OK) {
		snprintf(c->detail, sizeof(c->detail), "reload: client "
		    "certificate %s (%s)", what[v], why);
		return conn_close(c, R_KILLED, c->detail);
	}
policy:
	if (handshake_access(c, rt, c->phase == CONN_RELAY ? &c->dst : NULL) ==
	    POLICY_DENY) {
		char rule[128];

		util_strlcpy(rule, c->detail, sizeof(rule));
		snprintf(c->detail, sizeof(c->detail), "reload: no longer "
		    "allowed: %s", rule);
		return conn_close(c, R_KILLED, c->detail);
	}
	return 0;
}
