#include "core/tlsio.h"

#include <errno.h>
#include <string.h>
#include <openssl/err.h>

enum tls_io
tls_status(SSL *ssl, int rc, int *sys)
{
	int err = errno;

	*sys = 0;
	if (rc == 1)
		return TLS_OK;
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
		*sys = err;
		if (ERR_peek_error() == 0 && err == 0)
			return TLS_EOF;	/* EOF with no close_notify */
		return TLS_FAIL;
	default:
		return TLS_FAIL;
	}
}

int
tls_want_events(enum tls_io st, int rd, int wr)
{
	switch (st) {
	case TLS_WANT_READ:
		return rd;
	case TLS_WANT_WRITE:
		return wr;
	case TLS_OK:
	case TLS_EOF:
	case TLS_FAIL:
		break;
	}
	return 0;
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

static long
first_bytes(BIO *bio, int oper, const char *argp, size_t len, int argi,
    long argl, int ret, size_t *processed)
{
	struct tls_first *f = (struct tls_first *)BIO_get_callback_arg(bio);
	size_t n;

	(void)len;
	(void)argi;
	(void)argl;
	if (oper == (BIO_CB_READ | BIO_CB_RETURN) && ret > 0 && f != NULL &&
	    processed != NULL && f->n < sizeof(f->b)) {
		n = *processed < sizeof(f->b) - f->n ? *processed :
		    sizeof(f->b) - f->n;
		memcpy(f->b + f->n, argp, n);
		f->n += n;
	}
	return ret;
}

void
tls_first_watch(SSL *ssl, struct tls_first *f)
{
	BIO *bio = SSL_get_rbio(ssl);

	f->n = 0;
	if (bio == NULL)
		return;
	BIO_set_callback_arg(bio, (char *)f);
	BIO_set_callback_ex(bio, first_bytes);
}

void
tls_first_unwatch(SSL *ssl)
{
	BIO *bio = SSL_get_rbio(ssl);

	if (bio != NULL) {
		BIO_set_callback_ex(bio, NULL);
		BIO_set_callback_arg(bio, NULL);
	}
}

int
tls_first_is_ssh(const struct tls_first *f)
{
	return f->n >= 4 && memcmp(f->b, "SSH-", 4) == 0;
}
