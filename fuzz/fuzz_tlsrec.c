/*
 * libFuzzer target: the TLS 1.3 record layer (tlsrec.c) under fixed
 * keys. The first byte picks the suite and one of three uses of the
 * rest:
 *   0  bytes from a client, opened as they come: each call consumes
 *      within what it was given and its plaintext lies inside it;
 *   1  inner plaintexts ([u16 length][bytes], repeated) sealed here
 *      under the server's read key, so that what is checked after
 *      decryption (padding, types, alerts, KeyUpdates) is reached;
 *   2  the bytes sealed by the server (into a buffer as large as the
 *      next byte says), then opened by a client: the same bytes back.
 * Every buffer is allocated at its exact size (1 byte when empty), so
 * that ASan sees a read past its end.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/tlsrec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const unsigned suites[] = {
	TLSREC_AES_128_GCM_SHA256, TLSREC_AES_256_GCM_SHA384,
	TLSREC_CHACHA20_POLY1305_SHA256,
};

/* The client's secret (the server reads with it) and the server's. */
static unsigned char csecret[TLSREC_SECRET_MAX], ssecret[TLSREC_SECRET_MAX];

static size_t
hashlen(unsigned suite)
{
	return suite == TLSREC_AES_256_GCM_SHA384 ? 48 : 32;
}

#define CHECK(x) do { if (!(x)) __builtin_trap(); } while (0)

/* Opens buf[0..n) record by record, as a server reading a socket would. */
static void
open_all(struct tlsrec *t, unsigned char *buf, size_t n)
{
	struct tlsrec_in in;
	enum tlsrec_status st;
	size_t off = 0;

	while (off <= n) {
		st = tlsrec_open(t, buf + off, n - off, &in);
		CHECK(in.consumed <= n - off);
		if (in.data != NULL)
			CHECK(in.data >= buf + off &&
			    in.data + in.len <= buf + off + in.consumed);
		if (st == TLSREC_NEED_MORE)
			CHECK(in.consumed == 0);
		if (in.consumed == 0)
			break;
		off += in.consumed;
	}
}

/* One record of inner plaintext p[0..n) under secret at seq. */
static unsigned char *
seal_inner(unsigned suite, const unsigned char *secret, uint64_t seq,
    const unsigned char *p, size_t n, size_t *len)
{
	unsigned char key[TLSREC_KEY_MAX], iv[TLSREC_IV_LEN], *r;
	EVP_CIPHER_CTX *ctx;
	const EVP_CIPHER *c = suite == TLSREC_AES_128_GCM_SHA256 ?
	    EVP_aes_128_gcm() : suite == TLSREC_AES_256_GCM_SHA384 ?
	    EVP_aes_256_gcm() : EVP_chacha20_poly1305();
	size_t keylen, clen = n + TLSREC_TAG;
	int i, outl;

	CHECK(tlsrec_traffic_keys(suite, secret, key, &keylen, iv) == 0);
	for (i = 0; i < 8; i++)
		iv[TLSREC_IV_LEN - 1 - i] ^= (unsigned char)(seq >> (8 * i));
	*len = TLSREC_HEADER + clen;
	r = malloc(*len);
	CHECK(r != NULL);
	r[0] = 23;
	r[1] = 3;
	r[2] = 3;
	r[3] = (unsigned char)(clen >> 8);
	r[4] = (unsigned char)clen;
	ctx = EVP_CIPHER_CTX_new();
	CHECK(ctx != NULL &&
	    EVP_EncryptInit_ex(ctx, c, NULL, key, iv) == 1 &&
	    EVP_EncryptUpdate(ctx, NULL, &outl, r, TLSREC_HEADER) == 1 &&
	    EVP_EncryptUpdate(ctx, r + TLSREC_HEADER, &outl, p, (int)n) == 1 &&
	    EVP_EncryptFinal_ex(ctx, r + TLSREC_HEADER + n, &outl) == 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TLSREC_TAG,
	    r + TLSREC_HEADER + n) == 1);
	EVP_CIPHER_CTX_free(ctx);
	return r;
}

static void
inner_records(struct tlsrec *t, unsigned suite, const uint8_t *p, size_t n)
{
	unsigned char secret[TLSREC_SECRET_MAX], *r;
	struct tlsrec_in in;
	enum tlsrec_status st;
	uint64_t seq = 0;
	size_t len, rlen;

	memcpy(secret, csecret, sizeof(secret));
	while (n >= 2) {
		len = (size_t)p[0] << 8 | p[1];
		p += 2;
		n -= 2;
		if (len > n)
			len = n;
		if (len > 65535 - TLSREC_TAG)	/* what a header can say */
			len = 65535 - TLSREC_TAG;
		r = seal_inner(suite, secret, seq++, p, len, &rlen);
		st = tlsrec_open(t, r, rlen, &in);
		CHECK(in.consumed == rlen || st == TLSREC_ERROR ||
		    st == TLSREC_PEER_ALERT);
		if (st == TLSREC_DATA)
			CHECK(in.len < len && in.data == r + TLSREC_HEADER &&
			    memcmp(in.data, p, in.len) == 0);
		free(r);
		/* a KeyUpdate taken: the client's next records use its next key */
		if (st == TLSREC_CONTROL && in.type == 22) {
			CHECK(tlsrec_next_secret(suite, secret, secret) == 0);
			seq = 0;
		}
		if (st != TLSREC_DATA && st != TLSREC_CONTROL)
			break;
		p += len;
		n -= len;
	}
}

static void
round_trip(struct tlsrec *t, unsigned suite, const uint8_t *p, size_t n)
{
	struct tlsrec c;
	struct tlsrec_in in;
	unsigned char *out, *got;
	size_t cap, taken, w, off, have = 0, done = 0;
	enum tlsrec_err e;

	if (n == 0)
		return;
	/* a buffer that takes all, or one of 1..256 times 64 bytes */
	cap = p[0] == 0 ? TLSREC_SEAL_SIZE(n - 1) : (size_t)p[0] * 64;
	p++;
	n--;
	CHECK(tlsrec_init(&c, suite, ssecret, csecret, hashlen(suite), 0,
	    0) == 0);
	out = malloc(cap > 0 ? cap : 1);
	got = malloc(n > 0 ? n : 1);
	CHECK(out != NULL && got != NULL);
	while (done < n) {
		e = tlsrec_seal(t, p + done, n - done, out, cap, &taken, &w);
		CHECK(e == TLSREC_OK && taken > 0 && taken <= n - done &&
		    w <= cap && w <= TLSREC_SEAL_SIZE(taken));
		if (cap >= TLSREC_SEAL_SIZE(n - done))
			CHECK(taken == n - done && w == TLSREC_SEAL_SIZE(taken));
		for (off = 0; off < w; off += in.consumed) {
			CHECK(tlsrec_open(&c, out + off, w - off, &in) ==
			    TLSREC_DATA);
			CHECK(have + in.len <= n);
			memcpy(got + have, in.data, in.len);
			have += in.len;
		}
		done += taken;
		/* now and then a KeyUpdate between two batches */
		if ((done & 1) && tlsrec_seal_key_update(t, done & 2 ? 1 : 0,
		    out, cap, &w) == TLSREC_OK) {
			CHECK(tlsrec_open(&c, out, w, &in) == TLSREC_CONTROL);
			if (tlsrec_key_update_owed(&c)) {
				CHECK(tlsrec_seal_key_update(&c, 0, out, cap,
				    &w) == TLSREC_OK);
				CHECK(tlsrec_open(t, out, w, &in) ==
				    TLSREC_CONTROL);
			}
		}
	}
	CHECK(have == n && memcmp(got, p, n) == 0);
	if (tlsrec_seal_alert(t, 0, out, cap, &w) == TLSREC_OK)
		CHECK(tlsrec_open(&c, out, w, &in) == TLSREC_EOF);
	tlsrec_free(&c);
	free(out);
	free(got);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tlsrec t;
	unsigned char *buf;
	unsigned suite;

	if (size < 1)
		return 0;
	memset(csecret, 0x5a, sizeof(csecret));
	memset(ssecret, 0xa5, sizeof(ssecret));
	suite = suites[(data[0] / 3) % 3];
	CHECK(tlsrec_init(&t, suite, csecret, ssecret, hashlen(suite), 0,
	    0) == 0);
	switch (data[0] % 3) {
	case 0:
		buf = malloc(size > 1 ? size - 1 : 1);
		CHECK(buf != NULL);
		memcpy(buf, data + 1, size - 1);
		open_all(&t, buf, size - 1);
		free(buf);
		break;
	case 1:
		inner_records(&t, suite, data + 1, size - 1);
		break;
	default:
		round_trip(&t, suite, data + 1, size - 1);
		break;
	}
	tlsrec_free(&t);
	return 0;
}
