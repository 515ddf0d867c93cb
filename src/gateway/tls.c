#include "gateway/tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "config/file.h"
#include "core/hello.h"
#include "core/util.h"
#include "gateway/tickets.h"

#define TICKET_VERSION 1
#define TICKET_CHAIN 0x01		/* flag: the client's intermediates follow */
#define TICKET_CHAIN_MAX 8		/* intermediates a ticket carries */
#define TICKET_DATA_MAX 16384		/* beyond this a ticket carries no chain */

/* errno of the last SSL_ERROR_SYSCALL on this thread, for tls_error(). */
static _Thread_local int last_errno;

static enum tls_cert_verdict
verdict_of(int err)
{
	switch (err) {
	case X509_V_OK:
		return TLS_CERT_OK;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return TLS_CERT_EXPIRED;
	case X509_V_ERR_CERT_REVOKED:
		return TLS_CERT_REVOKED;
	case X509_V_ERR_CRL_HAS_EXPIRED:
		return TLS_CERT_CRL_EXPIRED;
	default:
		return TLS_CERT_UNTRUSTED;
	}
}

/*
 * With CRLs, every certificate of the chain is checked (a revoked
 * intermediate CA refuses its whole subtree). The leaf's issuer must
 * have a CRL among the `crl` files; a CA higher up is checked against
 * its issuer's CRL when one is given, and passes when none is, since
 * that CA's issuer revokes nothing here.
 */
static int
tolerated(X509_STORE_CTX *x)
{
	if (X509_STORE_CTX_get_error(x) == X509_V_ERR_UNABLE_TO_GET_CRL &&
	    X509_STORE_CTX_get_error_depth(x) > 0) {
		X509_STORE_CTX_set_error(x, X509_V_OK);
		return 1;
	}
	return 0;
}

/* The verdict's reason, naming the CA when the failure is above the leaf. */
static void
verify_why(X509_STORE_CTX *x, char *why, size_t len)
{
	int err = X509_STORE_CTX_get_error(x);
	int depth = X509_STORE_CTX_get_error_depth(x);
	X509 *cur = X509_STORE_CTX_get_current_cert(x);
	char name[96] = "";

	if (depth > 0 && cur != NULL)
		X509_NAME_oneline(X509_get_subject_name(cur), name,
		    sizeof(name));
	if (depth > 0)
		snprintf(why, len, "%s (CA certificate %s)",
		    X509_verify_cert_error_string(err), name);
	else
		snprintf(why, len, "%s", X509_verify_cert_error_string(err));
}

/* OpenSSL's chain verification, step by step: the leaf decides. */
static int
verify_callback(int ok, X509_STORE_CTX *x)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(x,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	const struct tls_hooks *hooks =
	    SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	int err = X509_STORE_CTX_get_error(x);
	X509 *leaf = X509_STORE_CTX_get0_cert(x);
	char why[160];

	if (!ok && tolerated(x))
		return 1;
	if (!ok && err == X509_V_ERR_CRL_HAS_EXPIRED) {
		/*
		 * Not the client's fault: the handshake goes on so that the
		 * refusal can be explained to it in words (a notice), not as
		 * an alert that says its certificate expired.
		 */
		verify_why(x, why, sizeof(why));
		(void)hooks->on_cert(ssl, leaf, TLS_CERT_CRL_EXPIRED, why);
		return 1;
	}
	if (!ok) {
		verify_why(x, why, sizeof(why));
		(void)hooks->on_cert(ssl, leaf, verdict_of(err), why);
		/* the alert a client understands: certificate_expired */
		if (err == X509_V_ERR_CERT_NOT_YET_VALID)
			X509_STORE_CTX_set_error(x, X509_V_ERR_CERT_HAS_EXPIRED);
		return 0;
	}
	if (X509_STORE_CTX_get_error_depth(x) > 0)
		return 1;
	if (hooks->on_cert(ssl, leaf, TLS_CERT_OK, NULL) == -1) {
		X509_STORE_CTX_set_error(x, X509_V_ERR_APPLICATION_VERIFICATION);
		return 0;
	}
	return 1;
}

/* The same rules without a handshake: for rechecks. */
static int
recheck_callback(int ok, X509_STORE_CTX *x)
{
	return ok || tolerated(x);
}

static void
client_auth(SSL_CTX *ctx, const struct conf *c, struct lifetimes *life,
    struct conf_errors *errs)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	size_t i;

	if (tls_load_cas(ctx, c, life, errs) == -1)
		return;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_callback);
	SSL_CTX_set_verify_depth(ctx, 8);
	for (i = 0; i < c->ncrls; i++)
		(void)tls_load_crl(store, &c->crls[i], life, errs);
	if (c->ncrls > 0)
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK |
		    X509_V_FLAG_CRL_CHECK_ALL);
}

/* The ClientHello's server name, before anything else is decided. */
static int
client_hello_callback(SSL *ssl, int *alert, void *arg)
{
	const struct tls_hooks *hooks = arg;
	char name[HELLO_SNI_MAX + 1];
	const unsigned char *p;
	const char *bad = NULL;
	size_t len;
	int a, r = 0;

	if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p,
	    &len) == 1)
		r = hello_sni_ext(p, len, name, &bad);
	a = hooks->on_hello(ssl, r == 1 ? name : NULL, r == -1 ? bad : NULL);
	if (a != 0) {
		*alert = a;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

/*
 * OpenSSL's key log, the one way it gives out a TLS 1.3 session's
 * application traffic secrets: "LABEL CLIENT_RANDOM SECRET", in hex.
 * Only those two are taken, for the record layer (tls-offload); nothing
 * is written anywhere.
 */
static void
keylog(const SSL *ssl, const char *line)
{
	static const char client[] = "CLIENT_TRAFFIC_SECRET_0 ";
	static const char server[] = "SERVER_TRAFFIC_SECRET_0 ";
	const struct tls_hooks *hooks =
	    SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	unsigned char secret[64];
	const char *p, *hex;
	size_t n = 0;
	int is_server, hi, lo;

	if (strncmp(line, client, sizeof(client) - 1) == 0)
		is_server = 0;
	else if (strncmp(line, server, sizeof(server) - 1) == 0)
		is_server = 1;
	else
		return;
	if ((hex = strchr(line + sizeof(client) - 1, ' ')) == NULL)
		return;
	for (p = hex + 1; p[0] != '\0' && p[1] != '\0' &&
	    n < sizeof(secret); p += 2) {
		if ((hi = OPENSSL_hexchar2int((unsigned char)p[0])) < 0 ||
		    (lo = OPENSSL_hexchar2int((unsigned char)p[1])) < 0)
			break;
		secret[n++] = (unsigned char)(hi << 4 | lo);
	}
	if (*p == '\0' && n > 0)
		hooks->on_secret((SSL *)(uintptr_t)ssl, is_server, secret, n);
	OPENSSL_cleanse(secret, sizeof(secret));
}

/*
 * Session tickets carry, inside their encryption, what a resumption
 * must be checked against: the server name the session was routed by
 * (a ticket resumes only under the same name, in TLS 1.2 as in 1.3)
 * and the intermediates the client sent (a resumed session is verified
 * again, whole, against the CAs and CRLs of the day). Layout: version,
 * flags, name length, name; with TICKET_CHAIN: count, then each
 * certificate as a 2-byte length and its DER.
 */
static int
ticket_generate(SSL *ssl, void *arg)
{
	const struct tls_hooks *hooks = arg;
	STACK_OF(X509) *chain = NULL;
	unsigned char *buf, *p;
	const char *sni = "";
	size_t len, n, i;
	int der, rc;

	hooks->ticket_info(ssl, &sni, &chain);
	if (chain == NULL && !SSL_session_reused(ssl))
		chain = SSL_get_peer_cert_chain(ssl);
	n = strlen(sni);
	if (n > HELLO_SNI_MAX || (buf = malloc(TICKET_DATA_MAX)) == NULL)
		return 0;
	buf[0] = TICKET_VERSION;
	buf[1] = 0;
	buf[2] = (unsigned char)n;
	memcpy(buf + 3, sni, n);
	len = 3 + n;
	if (chain != NULL && sk_X509_num(chain) <= TICKET_CHAIN_MAX) {
		size_t at = len;

		buf[1] = TICKET_CHAIN;
		buf[len++] = (unsigned char)sk_X509_num(chain);
		for (i = 0; i < (size_t)sk_X509_num(chain); i++) {
			X509 *x = sk_X509_value(chain, (int)i);

			der = i2d_X509(x, NULL);
			if (der <= 0 || (size_t)der + 2 > TICKET_DATA_MAX - len) {
				/* too large to carry: no resumption then */
				buf[1] = 0;
				len = at;
				break;
			}
			buf[len++] = (unsigned char)(der >> 8);
			buf[len++] = (unsigned char)der;
			p = buf + len;
			(void)i2d_X509(x, &p);
			len += (size_t)der;
		}
	}
	rc = SSL_SESSION_set1_ticket_appdata(SSL_get0_session(ssl), buf, len);
	free(buf);
	return rc;
}

/* Reads a ticket's data back. Returns 0, or -1 if it is not ours. */
static int
ticket_parse(const unsigned char *p, size_t len, char *sni,
    STACK_OF(X509) **chain)
{
	size_t n, i, count, dl;
	const unsigned char *d;
	unsigned flags;
	X509 *x;

	*chain = NULL;
	if (len < 3 || p[0] != TICKET_VERSION || (n = p[2]) > len - 3 ||
	    memchr(p + 3, '\0', n) != NULL)
		return -1;
	flags = p[1];
	memcpy(sni, p + 3, n);
	sni[n] = '\0';
	p += 3 + n;
	len -= 3 + n;
	if (!(flags & TICKET_CHAIN))
		return len == 0 ? 0 : -1;
	if (len < 1 || (count = p[0]) > TICKET_CHAIN_MAX ||
	    (*chain = sk_X509_new_null()) == NULL)
		return -1;
	p++;
	len--;
	for (i = 0; i < count; i++) {
		if (len < 2 || (dl = (size_t)p[0] << 8 | p[1]) > len - 2)
			goto bad;
		d = p + 2;
		if ((x = d2i_X509(NULL, &d, (long)dl)) == NULL ||
		    d != p + 2 + dl || sk_X509_push(*chain, x) == 0) {
			X509_free(x);
			goto bad;
		}
		p += 2 + dl;
		len -= 2 + dl;
	}
	if (len == 0)
		return 0;
bad:
	ERR_clear_error();
	sk_X509_pop_free(*chain, X509_free);
	*chain = NULL;
	return -1;
}

static SSL_TICKET_RETURN
ticket_decrypted(SSL *ssl, SSL_SESSION *sess, const unsigned char *keyname,
    size_t keyname_len, SSL_TICKET_STATUS status, void *arg)
{
	const struct tls_hooks *hooks = arg;
	char sni[HELLO_SNI_MAX + 1];
	STACK_OF(X509) *chain;
	void *data = NULL;
	size_t len = 0;

	(void)keyname;
	(void)keyname_len;
	switch (status) {
	case SSL_TICKET_SUCCESS:
	case SSL_TICKET_SUCCESS_RENEW:
		break;
	case SSL_TICKET_EMPTY:
	case SSL_TICKET_NO_DECRYPT:
		return SSL_TICKET_RETURN_IGNORE_RENEW;
	default:
		return SSL_TICKET_RETURN_ABORT;
	}
	if (SSL_SESSION_get0_ticket_appdata(sess, &data, &len) != 1 ||
	    ticket_parse(data, len, sni, &chain) == -1)
		return SSL_TICKET_RETURN_IGNORE_RENEW;
	if (hooks->on_resume(ssl, sni, chain) == -1) {
		sk_X509_pop_free(chain, X509_free);
		return SSL_TICKET_RETURN_IGNORE_RENEW;
	}
	return status == SSL_TICKET_SUCCESS_RENEW ?
	    SSL_TICKET_RETURN_USE_RENEW : SSL_TICKET_RETURN_USE;
}

/* The TLS versions and ciphers of the config, each error at its line. */
static void
cipher_policy(SSL_CTX *ctx, const struct conf *c, struct conf_errors *errs)
{
	const char *list = c->ciphers != NULL ? c->ciphers :
	    TLS_SAFE_CIPHERS;
	const char *suites = c->ciphersuites != NULL ? c->ciphersuites :
	    TLS_SAFE_CIPHERSUITES;

	SSL_CTX_set_min_proto_version(ctx, c->tls_min == 13 ? TLS1_3_VERSION :
	    TLS1_2_VERSION);
	if (SSL_CTX_set_cipher_list(ctx, list) != 1)
		conf_error(errs, c->ciphers_at.file, c->ciphers_at.line,
		    "ciphers: no cipher OpenSSL knows in '%s'", list);
	if (SSL_CTX_set_ciphersuites(ctx, suites) != 1)
		conf_error(errs, c->ciphersuites_at.file,
		    c->ciphersuites_at.line, "ciphersuites: not a list of "
		    "TLS 1.3 suites: '%s'", suites);
	ERR_clear_error();
}

SSL_CTX *
tls_server_ctx(const struct conf *c, const struct tls_hooks *hooks,
    struct lifetimes *life, struct conf_errors *errs)
{
	static const unsigned char sid_ctx[] = "sshgate";
	SSL_CTX *ctx;
	size_t i, before = errs->n;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		conf_error(errs, c->path, 0, "cannot create a TLS context: %s",
		    tls_err_reason(ERR_get_error(), "unknown error"));
		return NULL;
	}
	cipher_policy(ctx, c, errs);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF |
	    SSL_OP_NO_COMPRESSION);
	/*
	 * NO_AUTO_CHAIN: the chain sent is the certificate file's, as
	 * loaded; else OpenSSL would build one from the client CAs on
	 * every handshake where the file has no intermediates.
	 */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_NO_AUTO_CHAIN);
	SSL_CTX_set_default_passwd_cb(ctx, tls_no_passphrase);
	/*
	 * Resumption by stateless tickets only: no server-side cache, so
	 * no lock shared by the workers on the handshake path.
	 */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	if (c->tls_tickets)
		SSL_CTX_set_num_tickets(ctx, 1);
	else {			/* no resumption: less work per handshake */
		SSL_CTX_set_num_tickets(ctx, 0);
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	}
	SSL_CTX_set_session_ticket_cb(ctx, ticket_generate, ticket_decrypted,
	    (void *)(uintptr_t)hooks);
	/* shared keys (tls-ticket-keys), checked even with tls-tickets no */
	(void)tickets_setup(ctx, c, errs);
	SSL_CTX_set_client_hello_cb(ctx, client_hello_callback,
	    (void *)(uintptr_t)hooks);
	if (c->tls_offload && hooks->on_secret != NULL)
		SSL_CTX_set_keylog_callback(ctx, keylog);
	SSL_CTX_set_app_data(ctx, (void *)(uintptr_t)hooks);
	if (c->client_ca != NULL)
		client_auth(ctx, c, life, errs);
	for (i = 0; i < c->ncerts; i++)
		tls_load_certificate(ctx, &c->certs[i], life, errs);
	if (errs->n != before) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

SSL *
tls_new(SSL_CTX *ctx, int fd, void *app)
{
	SSL *ssl = SSL_new(ctx);

	if (ssl == NULL)
		return NULL;
	if (SSL_set_fd(ssl, fd) != 1) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_app_data(ssl, app);
	SSL_set_accept_state(ssl);
	return ssl;
}

/* OpenSSL's result as a status; a system error's errno is kept. */
static enum tls_io
status(SSL *ssl, int rc)
{
	int sys;
	enum tls_io st = tls_status(ssl, rc, &sys);

	if (st == TLS_FAIL)
		last_errno = sys;
	return st;
}

enum tls_io
tls_handshake(SSL *ssl)
{
	ERR_clear_error();
	errno = 0;
	return status(ssl, SSL_do_handshake(ssl));
}

enum tls_io
tls_read(SSL *ssl, void *buf, size_t len, size_t *n)
{
	int rc;

	ERR_clear_error();
	errno = 0;
	rc = SSL_read_ex(ssl, buf, len, n);
	return rc == 1 ? TLS_OK : status(ssl, rc);
}

enum tls_io
tls_write(SSL *ssl, const void *buf, size_t len, size_t *n)
{
	int rc;

	ERR_clear_error();
	errno = 0;
	rc = SSL_write_ex(ssl, buf, len, n);
	return rc == 1 ? TLS_OK : status(ssl, rc);
}

enum tls_io
tls_close_notify(SSL *ssl)
{
	int rc;

	ERR_clear_error();
	errno = 0;
	rc = SSL_shutdown(ssl);
	if (rc >= 0)		/* 0: sent, peer's not yet seen; 1: both */
		return TLS_OK;
	return status(ssl, rc);
}

void
tls_close_notify_once(SSL *ssl)
{
	/* after a fatal error OpenSSL is back "in init": skipped too */
	if (!SSL_is_init_finished(ssl))
		return;
	(void)SSL_shutdown(ssl);
	ERR_clear_error();
}

void
tls_write_once(SSL *ssl, const void *buf, size_t len)
{
	size_t n;

	if (!SSL_is_init_finished(ssl))
		return;
	ERR_clear_error();
	(void)SSL_write_ex(ssl, buf, len, &n);
	ERR_clear_error();
}

void
tls_names(SSL *ssl, const char **version, const char **cipher)
{
	*version = SSL_get_version(ssl);
	*cipher = SSL_get_cipher_name(ssl);
	if (*cipher == NULL)
		*cipher = "(NONE)";
}

enum reason
tls_verdict_reason(enum tls_cert_verdict v)
{
	switch (v) {
	case TLS_CERT_OK:
		break;
	case TLS_CERT_UNTRUSTED:
		return R_CERT_UNTRUSTED;
	case TLS_CERT_EXPIRED:
		return R_CERT_EXPIRED;
	case TLS_CERT_REVOKED:
		return R_CERT_REVOKED;
	case TLS_CERT_CRL_EXPIRED:
		return R_CRL_EXPIRED;
	}
	return R_NONE;
}

enum tls_cert_verdict
tls_cert_recheck(SSL_CTX *ctx, X509 *cert, STACK_OF(X509) *chain, char *why,
    size_t whylen)
{
	X509_STORE_CTX *x = X509_STORE_CTX_new();
	int err = X509_V_ERR_OUT_OF_MEM;

	/* the full check, as in a handshake */
	if (x != NULL && X509_STORE_CTX_init(x, SSL_CTX_get_cert_store(ctx),
	    cert, chain) == 1) {
		X509_STORE_CTX_set_purpose(x, X509_PURPOSE_SSL_CLIENT);
		X509_STORE_CTX_set_verify_cb(x, recheck_callback);
		if (X509_verify_cert(x) == 1)
			err = X509_V_OK;
		else {
			err = X509_STORE_CTX_get_error(x);
			verify_why(x, why, whylen);
		}
	} else
		util_strlcpy(why, X509_verify_cert_error_string(err), whylen);
	X509_STORE_CTX_free(x);
	ERR_clear_error();
	if (err == X509_V_OK)
		util_strlcpy(why, X509_verify_cert_error_string(err), whylen);
	return verdict_of(err);
}

int
tls_failed_no_cert(void)
{
	unsigned long e = ERR_peek_error();

	return e != 0 && ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE;
}

int
tls_resumed(SSL *ssl)
{
	return SSL_session_reused(ssl) == 1;
}

const char *
tls_error(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (e != 0) {
		const char *r = ERR_reason_error_string(e);

		util_strlcpy(buf, r != NULL ? r : "TLS error", len);
	} else if (last_errno != 0)
		util_strlcpy(buf, strerror(last_errno), len);
	else
		util_strlcpy(buf, "connection closed", len);
	ERR_clear_error();
	last_errno = 0;
	return buf;
}
