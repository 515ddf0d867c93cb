#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "util.h"

/* errno of the last SSL_ERROR_SYSCALL on this thread, for tls_error(). */
static _Thread_local int last_errno;

static int
sni_callback(SSL *ssl, int *alert, void *arg)
{
	const struct tls_hooks *hooks = arg;
	int a;

	a = hooks->on_sni(ssl, SSL_get_servername(ssl,
	    TLSEXT_NAMETYPE_host_name));
	if (a != 0) {
		*alert = a;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

const char *
tls_err_reason(unsigned long e, const char *none)
{
	const char *r;

	if (e == 0)
		return none;
	if (ERR_SYSTEM_ERROR(e))
		return strerror(ERR_GET_REASON(e));
	r = ERR_reason_error_string(e);
	return r != NULL ? r : none;
}

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
	default:
		return TLS_CERT_UNTRUSTED;
	}
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

	if (!ok) {
		(void)hooks->on_cert(ssl, leaf, verdict_of(err),
		    X509_verify_cert_error_string(err));
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

/* Loads a CRL, PEM or DER, into store. Returns 0 or -1. */
static int
load_crl(X509_STORE *store, const char *path)
{
	X509_LOOKUP *lk = X509_STORE_add_lookup(store, X509_LOOKUP_file());

	if (lk == NULL)
		return -1;
	if (X509_load_crl_file(lk, path, X509_FILETYPE_PEM) >= 1)
		return 0;
	ERR_clear_error();
	return X509_load_crl_file(lk, path, X509_FILETYPE_ASN1) >= 1 ? 0 : -1;
}

static void
client_auth(SSL_CTX *ctx, const struct conf *c, struct conf_errors *errs)
{
	STACK_OF(X509_NAME) *names;
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	const char *reason;
	size_t i;

	if (SSL_CTX_load_verify_locations(ctx, c->client_ca, NULL) != 1 ||
	    (names = SSL_load_client_CA_file(c->client_ca)) == NULL) {
		reason = tls_err_reason(ERR_get_error(),
		    "no certificate in it");
		conf_error(errs, c->client_ca_file, c->client_ca_line,
		    "client-ca: cannot load %s: %s", c->client_ca, reason);
		ERR_clear_error();
		return;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
	    SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_callback);
	SSL_CTX_set_verify_depth(ctx, 8);
	for (i = 0; i < c->ncrls; i++) {
		if (load_crl(store, c->crls[i].path) == -1) {
			unsigned long e = ERR_get_error();

			reason = e != 0 && ERR_SYSTEM_ERROR(e) ?
			    strerror(ERR_GET_REASON(e)) : "not a CRL (PEM or "
			    "DER)";
			conf_error(errs, c->crls[i].file, c->crls[i].line,
			    "crl: cannot load %s: %s", c->crls[i].path,
			    reason);
			ERR_clear_error();
		}
	}
	if (c->ncrls > 0)
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
}

static void
ssl_errors(struct conf_errors *errs, const char *file, int line,
    const char *what, const char *path)
{
	conf_error(errs, file, line, "certificate: %s %s: %s", what, path,
	    tls_err_reason(ERR_get_error(), "unknown error"));
	ERR_clear_error();
}

SSL_CTX *
tls_server_ctx(const struct conf *c, const struct tls_hooks *hooks,
    struct conf_errors *errs)
{
	static const unsigned char sid_ctx[] = "sshgate";
	SSL_CTX *ctx;
	size_t i, before = errs->n;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		ssl_errors(errs, c->path, 0, "cannot create context", "");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_IGNORE_UNEXPECTED_EOF |
	    SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS |
	    SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	/*
	 * Resumption by stateless tickets only: no server-side cache, so
	 * no lock shared by the workers on the handshake path.
	 */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_tlsext_servername_callback(ctx, sni_callback);
	SSL_CTX_set_tlsext_servername_arg(ctx, (void *)(uintptr_t)hooks);
	SSL_CTX_set_app_data(ctx, (void *)(uintptr_t)hooks);
	if (c->client_ca != NULL)
		client_auth(ctx, c, errs);

	for (i = 0; i < c->ncerts; i++) {
		const struct conf_cert *ct = &c->certs[i];
		const char *key = ct->key != NULL ? ct->key : ct->cert;

		if (SSL_CTX_use_certificate_chain_file(ctx, ct->cert) != 1) {
			ssl_errors(errs, ct->file, ct->line, "cannot load",
			    ct->cert);
			continue;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, key,
		    SSL_FILETYPE_PEM) != 1) {
			ssl_errors(errs, ct->file, ct->line,
			    "cannot load private key from", key);
			continue;
		}
		if (SSL_CTX_check_private_key(ctx) != 1)
			ssl_errors(errs, ct->file, ct->line,
			    "key does not match", ct->cert);
	}
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

/* The one place OpenSSL's results become statuses. */
static enum tls_io
status(SSL *ssl, int rc)
{
	switch (SSL_get_error(ssl, rc)) {
	case SSL_ERROR_NONE:
		return TLS_OK;
	case SSL_ERROR_WANT_READ:
		return TLS_WANT_READ;
	case SSL_ERROR_WANT_WRITE:
		return TLS_WANT_WRITE;
	case SSL_ERROR_ZERO_RETURN:
		return TLS_EOF;
	case SSL_ERROR_SYSCALL:
		last_errno = errno;
		if (ERR_peek_error() == 0 && errno == 0)
			return TLS_EOF;	/* EOF with no close_notify */
		return TLS_FAIL;
	default:
		last_errno = 0;
		return TLS_FAIL;
	}
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
tls_describe(SSL *ssl, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl));
}

/* The entry's text as UTF-8 (caller frees), or NULL. *len: its length. */
static char *
entry_utf8(X509_NAME_ENTRY *e, int *len)
{
	unsigned char *u = NULL;
	char *s;

	*len = ASN1_STRING_to_UTF8(&u, X509_NAME_ENTRY_get_data(e));
	if (*len < 0)
		return NULL;
	if ((s = malloc((size_t)*len + 1)) != NULL) {
		memcpy(s, u, (size_t)*len);
		s[*len] = '\0';
	}
	OPENSSL_free(u);
	return s;
}

int
tls_ident_get(X509 *cert, struct tls_ident *id)
{
	X509_NAME *subj = X509_get_subject_name(cert);
	const ASN1_TIME *na = X509_get0_notAfter(cert);
	BIGNUM *bn;
	char *hex, *s, **v;
	size_t i, k, tl = 1;
	struct tm tm;
	int pos = -1, len;

	memset(id, 0, sizeof(*id));
	/* the user: the first CN; one with a NUL byte can match nothing */
	if ((pos = X509_NAME_get_index_by_NID(subj, NID_commonName, -1)) >= 0 &&
	    (s = entry_utf8(X509_NAME_get_entry(subj, pos), &len)) != NULL) {
		if ((id->user_shown = strdup(s)) == NULL) {
			free(s);
			goto oom;
		}
		for (k = 0; k < (size_t)len; k++)
			if (id->user_shown[k] == '\0')
				id->user_shown[k] = '?';
		if (memchr(s, '\0', (size_t)len) == NULL && len > 0)
			id->user = s;
		else
			free(s);
	}
	/* the groups: every OU, in order */
	for (pos = -1; (pos = X509_NAME_get_index_by_NID(subj,
	    NID_organizationalUnitName, pos)) >= 0;) {
		if ((s = entry_utf8(X509_NAME_get_entry(subj, pos), &len)) ==
		    NULL)
			continue;
		if (len == 0 || memchr(s, '\0', (size_t)len) != NULL) {
			free(s);
			continue;
		}
		if ((v = realloc(id->groups, (id->ngroups + 1) *
		    sizeof(*v))) == NULL) {
			free(s);
			goto oom;
		}
		id->groups = v;
		v[id->ngroups++] = s;
		tl += 2 * (size_t)len + 1;
	}
	if ((id->groups_text = malloc(tl)) == NULL)
		goto oom;
	for (i = 0, k = 0; i < id->ngroups; i++) {
		if (i > 0)
			id->groups_text[k++] = ',';
		for (s = id->groups[i]; *s != '\0'; s++) {
			if (*s == ',' || *s == '\\')
				id->groups_text[k++] = '\\';
			id->groups_text[k++] = *s;
		}
	}
	id->groups_text[k] = '\0';
	{
		BIO *b = BIO_new(BIO_s_mem());
		char *p;
		long n;

		if (b != NULL && X509_NAME_print_ex(b, subj, 0,
		    XN_FLAG_RFC2253 & ~XN_FLAG_DN_REV & ~ASN1_STRFLGS_ESC_MSB) >= 0 &&
		    (n = BIO_get_mem_data(b, &p)) >= 0 &&
		    (id->subject = malloc((size_t)n + 1)) != NULL) {
			memcpy(id->subject, p, (size_t)n);
			id->subject[n] = '\0';
		}
		BIO_free(b);
	}
	if ((bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL)) !=
	    NULL && (hex = BN_bn2hex(bn)) != NULL) {
		util_strlcpy(id->serial, hex, sizeof(id->serial));
		OPENSSL_free(hex);
	}
	BN_free(bn);
	if (na != NULL && ASN1_TIME_to_tm(na, &tm) == 1)
		id->not_after = timegm(&tm);
	return 0;
oom:
	tls_ident_free(id);
	return -1;
}

void
tls_ident_free(struct tls_ident *id)
{
	size_t i;

	for (i = 0; i < id->ngroups; i++)
		free(id->groups[i]);
	free(id->groups);
	free(id->groups_text);
	free(id->user);
	free(id->user_shown);
	free(id->subject);
	memset(id, 0, sizeof(*id));
}

/*
 * Without the intermediates (a resumed session keeps only the leaf), the
 * chain was verified when the session began, under the same CAs: what
 * can have changed since is time, and a CRL listing the leaf.
 */
static int
leaf_check(SSL_CTX *ctx, X509 *cert)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	STACK_OF(X509_OBJECT) *objs;
	X509_REVOKED *rev;
	int i, err = X509_V_OK;

	if (X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0)
		return X509_V_ERR_CERT_HAS_EXPIRED;
	if (X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0)
		return X509_V_ERR_CERT_NOT_YET_VALID;
	X509_STORE_lock(store);
	objs = X509_STORE_get0_objects(store);
	for (i = 0; err == X509_V_OK && i < sk_X509_OBJECT_num(objs); i++) {
		X509_OBJECT *o = sk_X509_OBJECT_value(objs, i);
		X509_CRL *crl;

		if (X509_OBJECT_get_type(o) != X509_LU_CRL)
			continue;
		crl = X509_OBJECT_get0_X509_CRL(o);
		if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
		    X509_get_issuer_name(cert)) == 0 &&
		    X509_CRL_get0_by_cert(crl, &rev, cert) == 1)
			err = X509_V_ERR_CERT_REVOKED;
	}
	X509_STORE_unlock(store);
	return err;
}

enum tls_cert_verdict
tls_cert_recheck(SSL_CTX *ctx, X509 *cert, STACK_OF(X509) *chain, char *why,
    size_t whylen)
{
	X509_STORE_CTX *x;
	int err = X509_V_ERR_OUT_OF_MEM;

	if (chain == NULL) {
		err = leaf_check(ctx, cert);
		util_strlcpy(why, X509_verify_cert_error_string(err), whylen);
		return verdict_of(err);
	}
	x = X509_STORE_CTX_new();
	/* the full check, as in a handshake, but without the callback */
	if (x != NULL && X509_STORE_CTX_init(x, SSL_CTX_get_cert_store(ctx),
	    cert, chain) == 1) {
		X509_STORE_CTX_set_purpose(x, X509_PURPOSE_SSL_CLIENT);
		err = X509_verify_cert(x) == 1 ? X509_V_OK :
		    X509_STORE_CTX_get_error(x);
	}
	X509_STORE_CTX_free(x);
	ERR_clear_error();
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
