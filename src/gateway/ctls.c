#include "gateway/ctls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "core/tlsrec.h"
#include "core/util.h"
#include "gateway/conn_int.h"
#include "gateway/runtime.h"
#include "gateway/tls.h"
#include "gateway/worker.h"

/* What a TLS 1.3 handshake leaves for the hand-over; wiped after. */
struct ctls_keys {
	unsigned char client[TLSREC_SECRET_MAX], server[TLSREC_SECRET_MAX];
	size_t clen, slen;
	uint64_t tickets;	/* records the gateway sent under its key */
};

/* A session on the record layer. */
struct ctls_rec {
	struct tlsrec rec;
	struct buf *in;		/* client bytes: data[off, len) not opened */
	unsigned char *pt;	/* plaintext of the record opened last (in in) */
	size_t ptlen;		/* ... not yet taken */
	struct buf *out;	/* sealed: data[off, len) not yet written */
	const char *why;	/* what failed, in words */
	int err;		/* ... or the socket's errno */
	unsigned eof : 1;	/* the client's close_notify or FIN */
	unsigned closed : 1;	/* close_notify or an alert was sealed */
	unsigned failed : 1;
};

static void
keys_free(struct ctls_keys *k)
{
	if (k != NULL) {
		OPENSSL_cleanse(k, sizeof(*k));
		free(k);
	}
}

void
ctls_note_secret(struct conn *c, int server, const unsigned char *s,
    size_t len)
{
	if (len > TLSREC_SECRET_MAX)
		return;
	if (c->keys == NULL && (c->keys = calloc(1, sizeof(*c->keys))) == NULL)
		return;		/* no hand-over: OpenSSL keeps the session */
	memcpy(server ? c->keys->server : c->keys->client, s, len);
	*(server ? &c->keys->slen : &c->keys->clen) = len;
}

void
ctls_note_ticket(struct conn *c)
{
	if (c->keys != NULL)
		c->keys->tickets++;
}

int
ctls_offload(struct conn *c)
{
	const SSL_CIPHER *ci = SSL_get_current_cipher(c->ssl);
	struct ctls_keys *k = c->keys;
	struct ctls_rec *o;
	int rc = 0;

	c->keys = NULL;
	/*
	 * Only when every record OpenSSL read is accounted for: it reads
	 * one record at a time (no read-ahead), so after the client's
	 * Finished nothing is taken from the socket; the gateway's records
	 * under its application key are the tickets.
	 */
	if (k == NULL || !c->rt->conf->tls_offload || ci == NULL ||
	    SSL_version(c->ssl) != TLS1_3_VERSION || k->clen == 0 ||
	    k->clen != k->slen || SSL_has_pending(c->ssl))
		goto out;
	if ((o = calloc(1, sizeof(*o))) == NULL) {
		rc = -1;
		goto out;
	}
	if (tlsrec_init(&o->rec, SSL_CIPHER_get_protocol_id(ci), k->client,
	    k->server, k->clen, 0, k->tickets) == -1) {
		tlsrec_free(&o->rec);
		free(o);
		goto out;	/* a suite it does not know: OpenSSL goes on */
	}
	SSL_free(c->ssl);
	c->ssl = NULL;
	c->off = o;
	stats_add(&c->w->stats.tls_offloaded, 1);
out:
	keys_free(k);
	return rc;
}

static enum tls_io
fail(struct ctls_rec *o, const char *why, int err)
{
	o->failed = 1;
	o->why = why;
	o->err = err;
	return TLS_FAIL;
}

/* A buffer for b, or NULL when out of memory. */
static struct buf *
buf_take(struct conn *c, struct buf **b)
{
	if (*b == NULL && (*b = worker_buf_get(c->w)) != NULL)
		(*b)->off = (*b)->len = 0;
	return *b;
}

static void
buf_drop(struct conn *c, struct buf **b)
{
	if (*b != NULL) {
		worker_buf_put(c->w, *b);
		*b = NULL;
	}
}

enum tls_io
ctls_flush(struct conn *c)
{
	struct ctls_rec *o = c->off;
	struct buf *b;
	ssize_t k;

	if (o == NULL || (b = o->out) == NULL)
		return TLS_OK;
	if (o->failed)
		return TLS_FAIL;
	while (b->off < b->len) {
		k = send(c->cfd, b->data + b->off, b->len - b->off,
		    MSG_NOSIGNAL);
		if (k >= 0) {
			b->off += (size_t)k;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return TLS_WANT_WRITE;
		return fail(o, NULL, errno);
	}
	buf_drop(c, &o->out);
	return TLS_OK;
}

int
ctls_buffered(const struct conn *c)
{
	const struct ctls_rec *o = c->off;
	const unsigned char *h;
	size_t have;

	if (o == NULL)
		return c->ssl != NULL && SSL_pending(c->ssl) > 0;
	if (o->ptlen > 0 || o->failed)
		return 1;
	if (o->in == NULL || o->eof)
		return 0;
	have = o->in->len - o->in->off;
	h = (const unsigned char *)o->in->data + o->in->off;
	return have >= TLSREC_HEADER &&
	    have >= TLSREC_HEADER + ((size_t)h[3] << 8 | h[4]);
}

int
ctls_pending(const struct conn *c)
{
	return c->off != NULL && c->off->out != NULL;
}

/* Room for n more sealed bytes after what waits, or -1. */
static int
out_room(struct conn *c, size_t n)
{
	struct ctls_rec *o = c->off;

	if (buf_take(c, &o->out) == NULL)
		return -1;
	if (o->out->off > 0 && o->out->off == o->out->len)
		o->out->off = o->out->len = 0;
	return BUF_SIZE - o->out->len >= n ? 0 : -1;
}

/* Seals a KeyUpdate after what waits: owed to the client, or due. */
static int
key_update(struct conn *c)
{
	struct ctls_rec *o = c->off;
	size_t w;

	if (out_room(c, TLSREC_KEY_UPDATE_SIZE) == -1 ||
	    tlsrec_seal_key_update(&o->rec, 0, (unsigned char *)o->out->data +
	    o->out->len, BUF_SIZE - o->out->len, &w) != TLSREC_OK)
		return -1;
	o->out->len += w;
	return 0;
}

/* Ends the session's TLS with a fatal alert, one try at sending it. */
static enum tls_io
alert(struct conn *c, unsigned desc, const char *why)
{
	struct ctls_rec *o = c->off;
	size_t w;

	if (!o->closed && out_room(c, TLSREC_ALERT_SIZE) == 0 &&
	    tlsrec_seal_alert(&o->rec, desc, (unsigned char *)o->out->data +
	    o->out->len, BUF_SIZE - o->out->len, &w) == TLSREC_OK) {
		o->out->len += w;
		(void)ctls_flush(c);
	}
	o->closed = 1;
	return fail(o, why, 0);
}

static const char *
alert_why(unsigned desc)
{
	switch (desc) {
	case TLSREC_ALERT_BAD_RECORD_MAC:
		return "bad record MAC";
	case TLSREC_ALERT_RECORD_OVERFLOW:
		return "record overflow";
	case TLSREC_ALERT_UNEXPECTED_MESSAGE:
		return "unexpected message";
	case TLSREC_ALERT_DECODE_ERROR:
		return "decode error";
	case TLSREC_ALERT_ILLEGAL_PARAMETER:
		return "illegal parameter";
	default:
		return "TLS record error";
	}
}

/* Opens what was read, into o->pt. 1: something to give or EOF; 0: read
 * more; -1: failed. */
static int
open_next(struct conn *c)
{
	struct ctls_rec *o = c->off;
	struct tlsrec_in r;
	struct buf *b = o->in;

	while (b != NULL && b->off < b->len) {
		switch (tlsrec_open(&o->rec, (unsigned char *)b->data + b->off,
		    b->len - b->off, &r)) {
		case TLSREC_DATA:
			b->off += r.consumed;
			if (r.len == 0)
				continue;
			o->pt = r.data;
			o->ptlen = r.len;
			return 1;
		case TLSREC_CONTROL:
			b->off += r.consumed;
			if (tlsrec_key_update_owed(&o->rec) &&
			    (key_update(c) == -1 ||
			    ctls_flush(c) == TLS_FAIL)) {
				(void)fail(o, "cannot answer a KeyUpdate", 0);
				return -1;
			}
			continue;
		case TLSREC_NEED_MORE:
			return 0;
		case TLSREC_EOF:
			b->off = b->len;
			o->eof = 1;
			return 1;
		case TLSREC_PEER_ALERT:
			(void)fail(o, "the client sent a fatal alert", 0);
			return -1;
		case TLSREC_ERROR:
			(void)alert(c, (unsigned)r.alert, alert_why(
			    (unsigned)r.alert));
			return -1;
		}
	}
	return 0;
}

enum tls_io
ctls_read(struct conn *c, void *buf, size_t len, size_t *n)
{
	struct ctls_rec *o = c->off;
	unsigned char *dst = buf;
	struct buf *b;
	ssize_t got;
	size_t k;
	int r;

	if (o == NULL)
		return tls_read(c->ssl, buf, len, n);
	*n = 0;
	if (o->failed)
		return TLS_FAIL;
	while (*n < len) {
		if (o->ptlen > 0) {
			k = o->ptlen < len - *n ? o->ptlen : len - *n;
			memcpy(dst + *n, o->pt, k);
			o->pt += k;
			o->ptlen -= k;
			*n += k;
			continue;
		}
		if (o->eof)
			break;
		if ((r = open_next(c)) == -1)
			return TLS_FAIL;
		if (r == 1)
			continue;
		if (*n > 0)
			break;	/* the caller comes back for more */
		if ((b = buf_take(c, &o->in)) == NULL)
			return fail(o, "out of memory", 0);
		if (b->off > 0) {	/* keep the part of a record at the front */
			memmove(b->data, b->data + b->off, b->len - b->off);
			b->len -= b->off;
			b->off = 0;
		}
		got = recv(c->cfd, b->data + b->len, BUF_SIZE - b->len, 0);
		if (got > 0) {
			b->len += (size_t)got;
			continue;
		}
		if (got == 0) {
			if (b->len > b->off)
				return fail(o, "connection closed inside a "
				    "record", 0);
			o->eof = 1;	/* a FIN without close_notify */
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return fail(o, NULL, errno);
		break;
	}
	if (o->in != NULL && o->in->off == o->in->len && o->ptlen == 0)
		buf_drop(c, &o->in);
	if (*n > 0)
		return TLS_OK;
	return o->eof ? TLS_EOF : TLS_WANT_READ;
}

enum tls_io
ctls_write(struct conn *c, const void *buf, size_t len, size_t *n)
{
	struct ctls_rec *o = c->off;
	enum tlsrec_err e;
	enum tls_io st;
	size_t w;

	if (o == NULL)
		return tls_write(c->ssl, buf, len, n);
	*n = 0;
	if ((st = ctls_flush(c)) != TLS_OK)
		return st;
	if ((tlsrec_key_update_owed(&o->rec) ||
	    tlsrec_key_update_due(&o->rec)) && key_update(c) == -1)
		return fail(o, "cannot seal a KeyUpdate", 0);
	if (out_room(c, TLSREC_OVERHEAD + 1) == -1)
		return fail(o, "out of memory", 0);
	e = tlsrec_seal(&o->rec, buf, len, (unsigned char *)o->out->data +
	    o->out->len, BUF_SIZE - o->out->len, n, &w);
	if (e != TLSREC_OK)
		return fail(o, e == TLSREC_E_CLOSED ? "the gateway closed" :
		    "cannot seal a record", 0);
	o->out->len += w;
	return ctls_flush(c) == TLS_FAIL ? TLS_FAIL : TLS_OK;
}

enum tls_io
ctls_close_notify(struct conn *c)
{
	struct ctls_rec *o = c->off;
	enum tls_io st;
	size_t w;

	if (o == NULL)
		return tls_close_notify(c->ssl);
	if ((st = ctls_flush(c)) != TLS_OK || o->closed)
		return st;
	if (out_room(c, TLSREC_ALERT_SIZE) == -1 ||
	    tlsrec_seal_alert(&o->rec, TLSREC_ALERT_CLOSE_NOTIFY,
	    (unsigned char *)o->out->data + o->out->len,
	    BUF_SIZE - o->out->len, &w) != TLSREC_OK)
		return fail(o, "cannot seal close_notify", 0);
	o->out->len += w;
	o->closed = 1;
	return ctls_flush(c);
}

void
ctls_last_words(struct conn *c, const char *line, size_t len)
{
	struct ctls_rec *o = c->off;
	size_t taken, w;

	if (c->flags & (F_DOWN_SHUT | F_TLS_FAILED))
		return;
	if (o == NULL) {
		if (c->ssl == NULL)
			return;
		if (line != NULL && c->down == NULL &&
		    (c->flags & F_HANDSHAKEN))
			tls_write_once(c->ssl, line, len);
		tls_close_notify_once(c->ssl);
		return;
	}
	if (o->failed || o->closed)
		return;
	if (line != NULL && out_room(c, TLSREC_SEAL_SIZE(len) +
	    TLSREC_ALERT_SIZE) == 0 && tlsrec_seal(&o->rec,
	    (const unsigned char *)line, len, (unsigned char *)o->out->data +
	    o->out->len, BUF_SIZE - o->out->len, &taken, &w) == TLSREC_OK)
		o->out->len += w;
	if (out_room(c, TLSREC_ALERT_SIZE) == 0 && tlsrec_seal_alert(&o->rec,
	    TLSREC_ALERT_CLOSE_NOTIFY, (unsigned char *)o->out->data +
	    o->out->len, BUF_SIZE - o->out->len, &w) == TLSREC_OK)
		o->out->len += w;
	o->closed = 1;
	(void)ctls_flush(c);
}

const char *
ctls_error(struct conn *c, char *buf, size_t len)
{
	struct ctls_rec *o = c->off;

	if (o == NULL)
		return tls_error(buf, len);
	util_strlcpy(buf, o->why != NULL ? o->why : o->err != 0 ?
	    strerror(o->err) : "connection closed", len);
	return buf;
}

void
ctls_free(struct conn *c)
{
	struct ctls_rec *o = c->off;

	if (o != NULL) {
		tlsrec_free(&o->rec);
		buf_drop(c, &o->in);
		buf_drop(c, &o->out);
		free(o);
		c->off = NULL;
	}
	if (c->ssl != NULL) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	keys_free(c->keys);
	c->keys = NULL;
}
