#include "tls.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <openssl/err.h>

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

static void
ssl_errors(struct conf_errors *errs, const char *file, int line,
    const char *what, const char *path)
{
	unsigned long e = ERR_get_error();
	const char *reason = e != 0 ? ERR_reason_error_string(e) : NULL;

	if (e != 0 && ERR_SYSTEM_ERROR(e))
		reason = strerror(ERR_GET_REASON(e));
	if (reason == NULL)
		reason = "unknown error";
	conf_error(errs, file, line, "certificate: %s %s: %s", what, path,
	    reason);
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
tls_describe(SSL *ssl, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", SSL_get_version(ssl),
	    SSL_get_cipher_name(ssl));
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
