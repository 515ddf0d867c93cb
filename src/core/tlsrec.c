#include "core/tlsrec.h"

#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>

#define CT_ALERT 21
#define CT_HANDSHAKE 22
#define CT_APPLICATION_DATA 23
#define HS_KEY_UPDATE 24
#define HS_HEADER 4
#define ALERT_WARNING 1
#define ALERT_FATAL 2
#define INNER_MAX (TLSREC_PLAIN_MAX + 1)	/* content and its type */

#define F_READ_EOF 0x01		/* close_notify received */
#define F_READ_FAILED 0x02	/* a fatal error or alert: read no more */
#define F_WRITE_CLOSED 0x04	/* close_notify or an alert sealed */
#define F_KEY_UPDATE_OWED 0x08	/* the client asked for a KeyUpdate */

struct suite {
	unsigned id;
	size_t hashlen, keylen;
	int gcm;			/* subject to TLSREC_GCM_LIMIT */
	int md, cipher;			/* in algs */
};

static const struct suite suites[] = {
	{ TLSREC_AES_128_GCM_SHA256, 32, 16, 1, 0, 0 },
	{ TLSREC_AES_256_GCM_SHA384, 48, 32, 1, 1, 1 },
	{ TLSREC_CHACHA20_POLY1305_SHA256, 32, 32, 0, 0, 2 },
};

/*
 * The algorithms, fetched once for the process: OpenSSL 3 looks an
 * algorithm up by name each time one is named implicitly, which cost
 * more than the hashing it names (about 20,000 instructions per HMAC).
 * Read-only once fetched, so any thread may use them; never freed.
 */
static struct {
	EVP_MD *md[2];
	EVP_CIPHER *cipher[3];
} algs;
static pthread_once_t algs_once = PTHREAD_ONCE_INIT;

static void
algs_fetch(void)
{
	algs.md[0] = EVP_MD_fetch(NULL, "SHA256", NULL);
	algs.md[1] = EVP_MD_fetch(NULL, "SHA384", NULL);
	algs.cipher[0] = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	algs.cipher[1] = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	algs.cipher[2] = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
}

static const EVP_MD *
suite_md(const struct suite *s)
{
	(void)pthread_once(&algs_once, algs_fetch);
	return algs.md[s->md];
}

static const EVP_CIPHER *
suite_cipher(const struct suite *s)
{
	(void)pthread_once(&algs_once, algs_fetch);
	return algs.cipher[s->cipher];
}

static const struct suite *
suite_find(unsigned id)
{
	size_t i;

	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		if (suites[i].id == id)
			return &suites[i];
	return NULL;
}

/*
 * HMAC(key, msg) of RFC 2104 with md, key at most one block long (a
 * traffic secret is one hash long). Returns 0, or -1.
 */
static int
hmac(const EVP_MD *md, const unsigned char *key, size_t klen,
    const unsigned char *msg, size_t mlen, unsigned char *out)
{
	unsigned char pad[128], inner[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx;
	unsigned n = 0, m = 0;
	int bs, rc = -1;
	size_t i;

	if (md == NULL || (bs = EVP_MD_get_block_size(md)) <= 0 ||
	    (size_t)bs > sizeof(pad) || klen > (size_t)bs ||
	    (ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	memset(pad, 0x36, (size_t)bs);
	for (i = 0; i < klen; i++)
		pad[i] ^= key[i];
	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, pad, (size_t)bs) != 1 ||
	    EVP_DigestUpdate(ctx, msg, mlen) != 1 ||
	    EVP_DigestFinal_ex(ctx, inner, &n) != 1)
		goto out;
	memset(pad, 0x5c, (size_t)bs);
	for (i = 0; i < klen; i++)
		pad[i] ^= key[i];
	if (EVP_DigestInit_ex(ctx, md, NULL) == 1 &&
	    EVP_DigestUpdate(ctx, pad, (size_t)bs) == 1 &&
	    EVP_DigestUpdate(ctx, inner, n) == 1 &&
	    EVP_DigestFinal_ex(ctx, out, &m) == 1 && m == n)
		rc = 0;
out:
	OPENSSL_cleanse(pad, sizeof(pad));
	OPENSSL_cleanse(inner, sizeof(inner));
	EVP_MD_CTX_free(ctx);
	return rc;
}

/*
 * HKDF-Expand-Label(secret, label, "", outlen) of RFC 8446 7.1. Every
 * length asked for here is at most Hash.length, so HKDF-Expand is one
 * HMAC block: T(1) = HMAC(secret, HkdfLabel || 0x01).
 */
static int
expand_label(const struct suite *s, const unsigned char *secret,
    const char *label, unsigned char *out, size_t outlen)
{
	unsigned char info[2 + 1 + 6 + 16 + 1 + 1];
	unsigned char block[EVP_MAX_MD_SIZE];
	size_t n = strlen(label), i = 0;
	int rc = -1;

	if (n > 16 || outlen > s->hashlen)
		return -1;
	info[i++] = (unsigned char)(outlen >> 8);
	info[i++] = (unsigned char)outlen;
	info[i++] = (unsigned char)(6 + n);
	memcpy(info + i, "tls13 ", 6);
	i += 6;
	memcpy(info + i, label, n);
	i += n;
	info[i++] = 0;			/* empty context */
	info[i++] = 1;			/* HKDF-Expand block counter */
	if (hmac(suite_md(s), secret, s->hashlen, info, i, block) == 0) {
		memcpy(out, block, outlen);
		rc = 0;
	}
	OPENSSL_cleanse(block, sizeof(block));
	return rc;
}

int
tlsrec_traffic_keys(unsigned suite, const unsigned char *secret,
    unsigned char *key, size_t *keylen, unsigned char iv[TLSREC_IV_LEN])
{
	const struct suite *s = suite_find(suite);

	if (s == NULL || expand_label(s, secret, "key", key, s->keylen) == -1 ||
	    expand_label(s, secret, "iv", iv, TLSREC_IV_LEN) == -1)
		return -1;
	*keylen = s->keylen;
	return 0;
}

int
tlsrec_next_secret(unsigned suite, const unsigned char *secret,
    unsigned char *next)
{
	unsigned char tmp[TLSREC_SECRET_MAX];
	const struct suite *s = suite_find(suite);
	int rc;

	if (s == NULL)
		return -1;
	/* through tmp: next may be secret itself */
	rc = expand_label(s, secret, "traffic upd", tmp, s->hashlen);
	if (rc == 0)
		memcpy(next, tmp, s->hashlen);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return rc;
}

/* Keys ctx (its cipher already set) and iv from secret. */
static int
set_key(const struct suite *s, EVP_CIPHER_CTX *ctx, const unsigned char *secret,
    unsigned char *iv, int enc)
{
	unsigned char key[TLSREC_KEY_MAX];
	size_t keylen;
	int rc = -1;

	if (tlsrec_traffic_keys(s->id, secret, key, &keylen, iv) == 0 &&
	    EVP_CipherInit_ex(ctx, NULL, NULL, key, NULL, enc) == 1)
		rc = 0;
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

/* The next secret of one direction, and its key: a KeyUpdate. */
static int
update_key(struct tlsrec *t, EVP_CIPHER_CTX *ctx, unsigned char *secret,
    unsigned char *iv, int enc)
{
	const struct suite *s = suite_find(t->suite);

	if (s == NULL || tlsrec_next_secret(s->id, secret, secret) == -1)
		return -1;
	return set_key(s, ctx, secret, iv, enc);
}

void
tlsrec_free(struct tlsrec *t)
{
	EVP_CIPHER_CTX_free(t->rctx);	/* wipes its key schedule */
	EVP_CIPHER_CTX_free(t->wctx);
	OPENSSL_cleanse(t, sizeof(*t));
}

int
tlsrec_init(struct tlsrec *t, unsigned suite,
    const unsigned char *read_secret, const unsigned char *write_secret,
    size_t secret_len, uint64_t read_seq, uint64_t write_seq)
{
	const struct suite *s = suite_find(suite);

	memset(t, 0, sizeof(*t));
	if (s == NULL || secret_len != s->hashlen)
		return -1;
	t->suite = (uint16_t)suite;
	t->hashlen = (uint8_t)s->hashlen;
	t->rseq = read_seq;
	t->wseq = write_seq;
	memcpy(t->rsecret, read_secret, s->hashlen);
	memcpy(t->wsecret, write_secret, s->hashlen);
	t->rctx = EVP_CIPHER_CTX_new();
	t->wctx = EVP_CIPHER_CTX_new();
	if (t->rctx == NULL || t->wctx == NULL ||
	    EVP_CipherInit_ex(t->rctx, suite_cipher(s), NULL, NULL, NULL, 0) != 1 ||
	    EVP_CipherInit_ex(t->wctx, suite_cipher(s), NULL, NULL, NULL, 1) != 1 ||
	    set_key(s, t->rctx, t->rsecret, t->riv, 0) == -1 ||
	    set_key(s, t->wctx, t->wsecret, t->wiv, 1) == -1) {
		tlsrec_free(t);
		return -1;
	}
	return 0;
}

/* The per-record nonce: iv XOR the sequence number, left-padded. */
static void
nonce(const unsigned char *iv, uint64_t seq, unsigned char *out)
{
	int i;

	memcpy(out, iv, TLSREC_IV_LEN);
	for (i = 0; i < 8; i++)
		out[TLSREC_IV_LEN - 1 - i] ^= (unsigned char)(seq >> (8 * i));
}

/*
 * Decrypts p[0..n) in place and checks tag against hdr (the additional
 * data). Returns 0, -1 if the tag is wrong, -2 if OpenSSL failed.
 */
static int
aead_open(struct tlsrec *t, const unsigned char *hdr, unsigned char *p,
    size_t n, unsigned char *tag)
{
	unsigned char iv[TLSREC_IV_LEN];
	int outl = 0, fin = 0;

	nonce(t->riv, t->rseq, iv);
	if (EVP_CipherInit_ex(t->rctx, NULL, NULL, NULL, iv, 0) != 1 ||
	    EVP_CipherUpdate(t->rctx, NULL, &outl, hdr, TLSREC_HEADER) != 1 ||
	    EVP_CipherUpdate(t->rctx, p, &outl, p, (int)n) != 1 ||
	    (size_t)outl != n ||
	    EVP_CIPHER_CTX_ctrl(t->rctx, EVP_CTRL_AEAD_SET_TAG, TLSREC_TAG,
	    tag) != 1)
		return -2;
	if (EVP_CipherFinal_ex(t->rctx, p + n, &fin) != 1)
		return -1;
	return fin == 0 ? 0 : -2;
}

/*
 * Seals content in[0..n) of inner type into one record at out (which
 * has room for n + TLSREC_OVERHEAD bytes). Returns 0 or -1.
 */
static int
seal_record(struct tlsrec *t, unsigned type, const unsigned char *in,
    size_t n, unsigned char *out)
{
	unsigned char iv[TLSREC_IV_LEN], ct = (unsigned char)type;
	size_t len = n + 1 + TLSREC_TAG;
	unsigned char *body = out + TLSREC_HEADER;
	int outl = 0;

	out[0] = CT_APPLICATION_DATA;
	out[1] = 3;
	out[2] = 3;
	out[3] = (unsigned char)(len >> 8);
	out[4] = (unsigned char)len;
	nonce(t->wiv, t->wseq, iv);
	if (EVP_CipherInit_ex(t->wctx, NULL, NULL, NULL, iv, 1) != 1 ||
	    EVP_CipherUpdate(t->wctx, NULL, &outl, out, TLSREC_HEADER) != 1 ||
	    (n > 0 && (EVP_CipherUpdate(t->wctx, body, &outl, in, (int)n) != 1 ||
	    (size_t)outl != n)) ||
	    /* the type byte goes through the same stream: no copy of in */
	    EVP_CipherUpdate(t->wctx, body + n, &outl, &ct, 1) != 1 ||
	    outl != 1 ||
	    EVP_CipherFinal_ex(t->wctx, body + n + 1, &outl) != 1 || outl != 0 ||
	    EVP_CIPHER_CTX_ctrl(t->wctx, EVP_CTRL_AEAD_GET_TAG, TLSREC_TAG,
	    body + n + 1) != 1)
		return -1;
	t->wseq++;
	return 0;
}

static enum tlsrec_status
fail(struct tlsrec *t, struct tlsrec_in *in, int alert)
{
	t->flags |= F_READ_FAILED;
	in->alert = alert;
	return TLSREC_ERROR;
}

/* A handshake record's content: one whole KeyUpdate and nothing else. */
static enum tlsrec_status
open_handshake(struct tlsrec *t, const unsigned char *p, size_t n,
    struct tlsrec_in *in)
{
	size_t mlen;

	/*
	 * A message that does not end in this record (a fragment) or is
	 * followed by more (two KeyUpdates) is refused: a KeyUpdate must
	 * end its record, and no other message is taken after the
	 * handshake (NewSessionTicket comes only from a server, and
	 * post-handshake authentication is never asked for).
	 */
	if (n < HS_HEADER || p[0] != HS_KEY_UPDATE)
		return fail(t, in, TLSREC_ALERT_UNEXPECTED_MESSAGE);
	mlen = (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
	if (mlen != 1) {
		/* a body that the record holds whole is merely malformed */
		return fail(t, in, mlen <= n - HS_HEADER ?
		    TLSREC_ALERT_DECODE_ERROR :
		    TLSREC_ALERT_UNEXPECTED_MESSAGE);
	}
	if (n != HS_HEADER + 1)
		return fail(t, in, TLSREC_ALERT_UNEXPECTED_MESSAGE);
	if (p[4] > 1)
		return fail(t, in, TLSREC_ALERT_ILLEGAL_PARAMETER);
	if (update_key(t, t->rctx, t->rsecret, t->riv, 0) == -1)
		return fail(t, in, TLSREC_ALERT_INTERNAL_ERROR);
	t->rseq = 0;
	/* once close_notify is sent no KeyUpdate can follow (RFC 8446 4.6.3) */
	if (p[4] == 1 && !(t->flags & F_WRITE_CLOSED))
		t->flags |= F_KEY_UPDATE_OWED;
	return TLSREC_CONTROL;
}

static enum tlsrec_status
open_alert(struct tlsrec *t, const unsigned char *p, size_t n,
    struct tlsrec_in *in)
{
	/* one alert per record, never split or coalesced (RFC 8446 5.1) */
	if (n != 2)
		return fail(t, in, TLSREC_ALERT_DECODE_ERROR);
	/* TLS 1.3 alerts are fatal by their kind; the level is not read */
	in->alert = p[1];
	if (p[1] == TLSREC_ALERT_CLOSE_NOTIFY) {
		t->flags |= F_READ_EOF;
		return TLSREC_EOF;
	}
	if (p[1] == TLSREC_ALERT_USER_CANCELED)
		return TLSREC_CONTROL;	/* a close_notify should follow */
	t->flags |= F_READ_FAILED;
	return TLSREC_PEER_ALERT;
}

enum tlsrec_status
tlsrec_open(struct tlsrec *t, unsigned char *buf, size_t len,
    struct tlsrec_in *in)
{
	unsigned char *body;
	size_t clen, n;
	int rc;

	in->consumed = 0;
	in->data = NULL;
	in->len = 0;
	in->type = -1;
	in->alert = TLSREC_ALERT_INTERNAL_ERROR;
	if (t->rctx == NULL || (t->flags & F_READ_FAILED))
		return TLSREC_ERROR;
	if (t->flags & F_READ_EOF) {
		in->consumed = len;	/* ignored, as RFC 8446 6.1 says */
		in->alert = TLSREC_ALERT_CLOSE_NOTIFY;
		return TLSREC_EOF;
	}
	/* what the header says is checked as soon as it is there */
	if (len < TLSREC_HEADER)
		return TLSREC_NEED_MORE;
	if (buf[0] != CT_APPLICATION_DATA)
		return fail(t, in, TLSREC_ALERT_UNEXPECTED_MESSAGE);
	/* legacy_record_version is ignored (RFC 8446 5.1); the tag covers it */
	clen = (size_t)buf[3] << 8 | buf[4];
	if (clen > TLSREC_CIPHER_MAX)
		return fail(t, in, TLSREC_ALERT_RECORD_OVERFLOW);
	if (len - TLSREC_HEADER < clen)
		return TLSREC_NEED_MORE;
	in->consumed = TLSREC_HEADER + clen;
	if (clen < TLSREC_TAG)
		return fail(t, in, TLSREC_ALERT_BAD_RECORD_MAC);
	if (t->rseq == UINT64_MAX)
		return fail(t, in, TLSREC_ALERT_INTERNAL_ERROR);
	body = buf + TLSREC_HEADER;
	n = clen - TLSREC_TAG;
	rc = aead_open(t, buf, body, n, body + n);
	if (rc == -1)
		return fail(t, in, TLSREC_ALERT_BAD_RECORD_MAC);
	if (rc != 0)
		return fail(t, in, TLSREC_ALERT_INTERNAL_ERROR);
	t->rseq++;
	if (n > INNER_MAX)
		return fail(t, in, TLSREC_ALERT_RECORD_OVERFLOW);
	/* the type is the last non-zero byte; zeros after it are padding */
	while (n > 0 && body[n - 1] == 0)
		n--;
	if (n == 0)
		return fail(t, in, TLSREC_ALERT_UNEXPECTED_MESSAGE);
	in->type = body[n - 1];
	in->data = body;
	in->len = n - 1;
	switch (in->type) {
	case CT_APPLICATION_DATA:
		return TLSREC_DATA;
	case CT_ALERT:
		return open_alert(t, body, in->len, in);
	case CT_HANDSHAKE:
		return open_handshake(t, body, in->len, in);
	default:
		/* change_cipher_spec, heartbeat, anything unknown */
		return fail(t, in, TLSREC_ALERT_UNEXPECTED_MESSAGE);
	}
}

/* Whether the write side may seal one more record of any kind. */
static enum tlsrec_err
write_ok(const struct tlsrec *t)
{
	if (t->wctx == NULL)
		return TLSREC_E_ARG;
	if (t->flags & F_WRITE_CLOSED)
		return TLSREC_E_CLOSED;
	/* 2^64 - 1 is never used, as in OpenSSL (the next would wrap) */
	if (t->wseq == UINT64_MAX)
		return TLSREC_E_SEQ;
	return TLSREC_OK;
}

enum tlsrec_err
tlsrec_seal(struct tlsrec *t, const unsigned char *in, size_t len,
    unsigned char *out, size_t cap, size_t *taken, size_t *written)
{
	const struct suite *s = suite_find(t->suite);
	enum tlsrec_err e = TLSREC_OK;
	size_t off = 0, w = 0, n;

	*taken = 0;
	*written = 0;
	if (len == 0)
		return TLSREC_OK;
	if (s == NULL)
		return TLSREC_E_ARG;
	while (off < len) {
		if ((e = write_ok(t)) != TLSREC_OK)
			break;
		if (t->flags & F_KEY_UPDATE_OWED) {
			e = TLSREC_E_KEY_UPDATE_OWED;
			break;
		}
		if (s->gcm && t->wseq >= TLSREC_GCM_LIMIT) {
			e = TLSREC_E_KEY_LIMIT;
			break;
		}
		if (cap - w <= TLSREC_OVERHEAD) {
			e = TLSREC_E_ROOM;
			break;
		}
		n = len - off;
		if (n > TLSREC_PLAIN_MAX)
			n = TLSREC_PLAIN_MAX;
		if (n > cap - w - TLSREC_OVERHEAD)
			n = cap - w - TLSREC_OVERHEAD;
		if (seal_record(t, CT_APPLICATION_DATA, in + off, n, out + w) ==
		    -1) {
			e = TLSREC_E_CRYPTO;
			break;
		}
		off += n;
		w += n + TLSREC_OVERHEAD;
	}
	*taken = off;
	*written = w;
	return off > 0 ? TLSREC_OK : e;
}

enum tlsrec_err
tlsrec_seal_alert(struct tlsrec *t, unsigned desc, unsigned char *out,
    size_t cap, size_t *written)
{
	unsigned char a[2];
	enum tlsrec_err e;

	*written = 0;
	if (desc > 255)
		return TLSREC_E_ARG;
	if ((e = write_ok(t)) != TLSREC_OK)
		return e;
	if (cap < TLSREC_ALERT_SIZE)
		return TLSREC_E_ROOM;
	a[0] = desc == TLSREC_ALERT_CLOSE_NOTIFY ? ALERT_WARNING : ALERT_FATAL;
	a[1] = (unsigned char)desc;
	if (seal_record(t, CT_ALERT, a, sizeof(a), out) == -1)
		return TLSREC_E_CRYPTO;
	t->flags |= F_WRITE_CLOSED;
	t->flags &= (uint8_t)~F_KEY_UPDATE_OWED;
	if (desc != TLSREC_ALERT_CLOSE_NOTIFY)
		t->flags |= F_READ_FAILED;
	*written = TLSREC_ALERT_SIZE;
	return TLSREC_OK;
}

enum tlsrec_err
tlsrec_seal_key_update(struct tlsrec *t, int request, unsigned char *out,
    size_t cap, size_t *written)
{
	unsigned char m[HS_HEADER + 1] = { HS_KEY_UPDATE, 0, 0, 1, 0 };
	enum tlsrec_err e;

	*written = 0;
	if ((e = write_ok(t)) != TLSREC_OK)
		return e;
	if (cap < TLSREC_KEY_UPDATE_SIZE)
		return TLSREC_E_ROOM;
	m[4] = request ? 1 : 0;
	if (seal_record(t, CT_HANDSHAKE, m, sizeof(m), out) == -1)
		return TLSREC_E_CRYPTO;
	/*
	 * The record is out; should the new key fail, nothing may be
	 * sealed after it under the old one.
	 */
	if (update_key(t, t->wctx, t->wsecret, t->wiv, 1) == -1) {
		t->flags |= F_WRITE_CLOSED;
		return TLSREC_E_CRYPTO;
	}
	t->wseq = 0;
	t->flags &= (uint8_t)~F_KEY_UPDATE_OWED;
	*written = TLSREC_KEY_UPDATE_SIZE;
	return TLSREC_OK;
}

int
tlsrec_key_update_owed(const struct tlsrec *t)
{
	return (t->flags & F_KEY_UPDATE_OWED) != 0;
}

int
tlsrec_key_update_due(const struct tlsrec *t)
{
	return t->wseq >= TLSREC_KEY_UPDATE_DUE;
}
