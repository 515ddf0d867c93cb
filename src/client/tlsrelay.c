#include "client/tlsrelay.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>
#include <openssl/err.h>

#include "client/say.h"
#include "core/notice.h"
#include "core/tlsio.h"

#define RELAY_BUF 16384
#define UNEXPLAINED (-2)	/* relay_pass: TLS failed before any byte */

struct pipe_buf {
	char data[RELAY_BUF];
	size_t off, len;
};

static int
set_nonblock(int fd, int *saved)
{
	int fl = fcntl(fd, F_GETFL);

	*saved = fl;
	return fl == -1 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* What the relay waits for, and what has ended. */
struct relay {
	SSL *ssl;
	int fd;
	struct pipe_buf up, down;	/* stdin -> gateway, gateway -> stdout */
	int in_eof, sent_close, tls_eof, got_bytes;
	int noticed;			/* the gateway said why it ends */
	short sock_events;		/* what the TLS ops wait for */
	int out_blocked;
};

/*
 * Before explaining a failure that came before any server byte: the
 * gateway's TLS alert may still be unread behind a failed write (TLS
 * 1.3 refuses a client certificate after the client's handshake is
 * done). Read it, so that the error queue names it.
 */
static void
surface_alert(SSL *ssl, int fd)
{
	unsigned long e = ERR_peek_error();
	struct pollfd p = { fd, POLLIN, 0 };
	size_t n;
	char c;
	int i, sys;

	if (ERR_GET_LIB(e) == ERR_LIB_SSL &&
	    ERR_GET_REASON(e) > SSL_AD_REASON_OFFSET)
		return;		/* already an alert */
	for (i = 0; i < 10 && poll(&p, 1, 100) >= 0; i++) {
		ERR_clear_error();
		if (tls_status(ssl, SSL_read_ex(ssl, &c, 1, &n), &sys) !=
		    TLS_WANT_READ)
			return;
	}
}

/*
 * If the record the gateway sent is its notice of why it ends the
 * connection (core/notice.h), tells the user in one line and returns 1:
 * the bytes are not the server's and do not go to ssh.
 */
static int
said_notice(const void *buf, size_t len)
{
	char reason[32], text[NOTICE_TEXT_MAX + 1];
	enum notice_kind kind;

	if (notice_parse(buf, len, &kind, reason, text) != 1)
		return 0;
	if (kind == NOTICE_REFUSED)
		client_say("gateway refused: %s", text);
	else
		client_say("session ended by the gateway: %s", text);
	return 1;
}

/*
 * One pass of every operation that may progress: 0, -1 on a failure
 * told, or UNEXPLAINED.
 */
static int
relay_pass(struct relay *r, int *progress)
{
	enum tls_io st;
	ssize_t n;
	size_t k;
	int rc, sys;

	r->sock_events = 0;
	/* stdin -> TLS */
	if (r->up.len == 0 && !r->in_eof) {
		n = read(STDIN_FILENO, r->up.data, sizeof(r->up.data));
		if (n > 0) {
			r->up.off = 0;
			r->up.len = (size_t)n;
			*progress = 1;
		} else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			r->in_eof = 1;
			*progress = 1;
		}
	}
	while (r->up.off < r->up.len) {
		ERR_clear_error();
		st = tls_status(r->ssl, SSL_write_ex(r->ssl, r->up.data +
		    r->up.off, r->up.len - r->up.off, &k), &sys);
		if (st == TLS_OK) {
			r->up.off += k;
			*progress = 1;
			continue;
		}
		if ((rc = tls_want_events(st, POLLIN, POLLOUT)) != 0) {
			r->sock_events |= (short)rc;
			break;
		}
		if (r->got_bytes) {
			client_say("connection to the gateway lost");
			return -1;
		}
		surface_alert(r->ssl, r->fd);
		return UNEXPLAINED;
	}
	if (r->up.off == r->up.len)
		r->up.off = r->up.len = 0;
	/* stdin ended: tell the gateway, keep reading its side */
	if (r->in_eof && r->up.len == 0 && !r->sent_close && !r->tls_eof) {
		ERR_clear_error();
		rc = SSL_shutdown(r->ssl);
		if (rc >= 0) {
			r->sent_close = 1;
			*progress = 1;
		} else if ((rc = tls_want_events(tls_status(r->ssl, rc, &sys),
		    POLLIN, POLLOUT)) != 0)
			r->sock_events |= (short)rc;
		else
			r->sent_close = 1;	/* gone: reading will say */
	}
	/* TLS -> stdout */
	if (r->down.len == 0 && !r->tls_eof) {
		ERR_clear_error();
		st = tls_status(r->ssl, SSL_read_ex(r->ssl, r->down.data,
		    sizeof(r->down.data), &k), &sys);
		if (st == TLS_OK && said_notice(r->down.data, k)) {
			r->noticed = 1;		/* the gateway's last words */
			*progress = 1;
		} else if (st == TLS_OK) {
			r->down.off = 0;
			r->down.len = k;
			r->got_bytes = 1;
			*progress = 1;
		} else {
			if ((rc = tls_want_events(st, POLLIN, POLLOUT)) != 0)
				r->sock_events |= (short)rc;
			else if (!r->got_bytes && !r->noticed) {
				surface_alert(r->ssl, r->fd);
				return UNEXPLAINED;
			}
			else {
				r->tls_eof = 1;	/* close_notify, EOF or reset */
				*progress = 1;
			}
		}
	}
	while (r->down.off < r->down.len) {
		n = write(STDOUT_FILENO, r->down.data + r->down.off,
		    r->down.len - r->down.off);
		if (n > 0) {
			r->down.off += (size_t)n;
			*progress = 1;
			continue;
		}
		if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
			r->out_blocked = 1;
			break;
		}
		return -1;	/* stdout closed: ssh is gone */
	}
	if (r->down.off == r->down.len) {
		r->down.off = r->down.len = 0;
		r->out_blocked = 0;
	}
	return 0;
}

int
tlsrelay_run(SSL *ssl, int fd)
{
	struct relay *r = calloc(1, sizeof(*r));
	struct pollfd p[3];
	int rc = 0, progress, in_fl, out_fl;

	if (r == NULL)
		return 1;
	r->ssl = ssl;
	r->fd = fd;
	(void)set_nonblock(STDIN_FILENO, &in_fl);
	(void)set_nonblock(STDOUT_FILENO, &out_fl);
	for (;;) {
		progress = 0;
		if ((rc = relay_pass(r, &progress)) != 0)
			break;
		if (r->tls_eof && r->down.len == 0)
			break;		/* the gateway closed: we are done */
		if (progress)
			continue;
		p[0].fd = r->in_eof || r->up.len > 0 ? -1 : STDIN_FILENO;
		p[0].events = POLLIN;
		p[1].fd = r->out_blocked ? STDOUT_FILENO : -1;
		p[1].events = POLLOUT;
		/* no TLS op waits on the socket (stdout is full): leave it */
		p[2].fd = r->sock_events != 0 ? fd : -1;
		p[2].events = r->sock_events;
		if (poll(p, 3, -1) == -1 && errno != EINTR) {
			rc = -1;
			break;
		}
	}
	if (in_fl != -1)
		(void)fcntl(STDIN_FILENO, F_SETFL, in_fl);
	if (out_fl != -1)
		(void)fcntl(STDOUT_FILENO, F_SETFL, out_fl);
	if (rc == 0 && r->noticed)
		rc = -1;	/* told already: an error all the same */
	else if (rc == 0 && !r->got_bytes)
		rc = UNEXPLAINED;
	free(r);
	return rc == UNEXPLAINED ? TLSRELAY_UNEXPLAINED : rc < 0 ? 1 : 0;
}
