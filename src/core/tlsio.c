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
