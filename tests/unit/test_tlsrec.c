/*
 * Unit tests: the TLS 1.3 record layer (tlsrec.c). RFC 8448 section 3
 * vectors; records built here with OpenSSL's own HKDF and AEAD, for
 * what a client may send; and a real OpenSSL client whose server is
 * taken over after the handshake, for each suite.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/tlsrec.h"

static const unsigned suites[] = {
	TLSREC_AES_128_GCM_SHA256, TLSREC_AES_256_GCM_SHA384,
	TLSREC_CHACHA20_POLY1305_SHA256,
};

static size_t
unhex(const char *s, unsigned char *out)
{
	size_t n = 0;
	unsigned v;

	for (; *s != '\0'; s++) {
		if (*s == ' ' || *s == '\n')
			continue;
		assert_int_equal(sscanf(s, "%2x", &v), 1);
		out[n++] = (unsigned char)v;
		s++;
	}
	return n;
}

/* RFC 8448 section 3, "Simple 1-RTT Handshake" (TLS_AES_128_GCM_SHA256). */
#define C_AP_SECRET "9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5"
#define S_AP_SECRET "a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643"
#define S_AP_KEY "9f02283b6c9c07efc26bb9f2ac92e356"
#define S_AP_IV "cf782b88dd83549aadf1e984"
#define C_AP_KEY "17422dda596ed5d9acd890e3c63f5051"
#define C_AP_IV "5b78923dee08579033e523d9"
/* the server's NewSessionTicket (server sequence 0) */
#define NST_RECORD "17030300de3a6b8f90414a97d6959c3487680de5134a2b240e6cffac" \
	"116e95d41d6af8f6b580dcf3d11d63c758db289a015940252f55713e061dc13e078891" \
	"a38efbcf5753ad8ef170ad3c7353d16d9da773b9ca7f2b9fa1b6c0d4a3d03f75e09c30" \
	"ba1e62972ac46f75f7b981be63439b2999ce13064615139891d5e4c5b406f16e3fc181" \
	"a77ca475840025db2f0a77f81b5ab05b94c01346755f69232c86519d86cbeeac87aac3" \
	"47d143f9605d64f650db4d023e70e952ca49fe5137121c74bc2697687e248746d6df35" \
	"3005f3bce18696129c8153556b3b6c6779b37bf15985684f"
#define NST_MESSAGE "040000c90000001efad6aac502000000b22c035d829359ee5ff7af4e" \
	"c900000000262a6494dc486d2c8a34cb33fa90bf1b0070ad3c498883c9367c09a2be78" \
	"5abc55cd226097a3a982117283f82a03a143efd3ff5dd36d64e861be7fd61d2827db27" \
	"9cce145077d454a3664d4e6da4d29ee03725a6a4dafcd0fc67d2aea70529513e3da267" \
	"7fa5906c5b3f7d8f92f228bda40dda721470f9fbf297b5aea617646fac5c03272e9707" \
	"27c621a79141ef5f7de6505e5bfbc388e93343694093934ae4d3570008002a00040000" \
	"0400"
/* 50 bytes 00..31 each way: client sequence 0, server sequence 1 */
#define C_DATA_RECORD "1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa" \
	"66bcab3f2b9819a8a5b46b395bd54a9a20441e2b62974e1f5a6292a2977014bd1e3dea" \
	"e63aeebb21694915e4"
#define S_DATA_RECORD "17030300432e937e11ef4ac740e538ad36005fc4a46932fc3225d05f" \
	"82aa1b36e30efaf97d90e6dffc602dcb501a59a8fcc49c4bf2e5f0a21c0047c2abf332" \
	"540dd032e167c2955d"
/* close_notify: client sequence 1, server sequence 2 */
#define C_ALERT_RECORD "1703030013c9872760655666b74d7ff1153efd6db6d0b0e3"
#define S_ALERT_RECORD "1703030013b58fd67166ebf599d24720cfbe7efa7a8864a9"

static void
rfc8448_keys(void **state)
{
	unsigned char secret[48], key[32], iv[12], want[32];
	size_t keylen;

	(void)state;
	unhex(S_AP_SECRET, secret);
	assert_int_equal(tlsrec_traffic_keys(TLSREC_AES_128_GCM_SHA256, secret,
	    key, &keylen, iv), 0);
	assert_int_equal(keylen, 16);
	assert_memory_equal(key, want, unhex(S_AP_KEY, want));
	assert_memory_equal(iv, want, unhex(S_AP_IV, want));
	unhex(C_AP_SECRET, secret);
	assert_int_equal(tlsrec_traffic_keys(TLSREC_AES_128_GCM_SHA256, secret,
	    key, &keylen, iv), 0);
	assert_memory_equal(key, want, unhex(C_AP_KEY, want));
	assert_memory_equal(iv, want, unhex(C_AP_IV, want));
	assert_int_equal(tlsrec_traffic_keys(0x1304, secret, key, &keylen, iv),
	    -1);
}

static void
rfc8448_records(void **state)
{
	unsigned char cs[32], ss[32], buf[300], want[300], payload[50];
	struct tlsrec t, client;
	struct tlsrec_in in;
	size_t n, m, taken, w;
	int i;

	(void)state;
	for (i = 0; i < 50; i++)
		payload[i] = (unsigned char)i;
	unhex(C_AP_SECRET, cs);
	unhex(S_AP_SECRET, ss);
	/* the server after its ticket: read 0, write 1 */
	assert_int_equal(tlsrec_init(&t, 0x1301, cs, ss, 32, 0, 1), 0);
	n = unhex(C_DATA_RECORD, buf);
	assert_int_equal(tlsrec_open(&t, buf, n, &in), TLSREC_DATA);
	assert_int_equal(in.consumed, 72);
	assert_int_equal(in.len, 50);
	assert_ptr_equal(in.data, buf + 5);
	assert_memory_equal(in.data, payload, 50);
	assert_int_equal(tlsrec_seal(&t, payload, 50, buf, sizeof(buf), &taken,
	    &w), TLSREC_OK);
	assert_int_equal(taken, 50);
	assert_int_equal(w, unhex(S_DATA_RECORD, want));
	assert_memory_equal(buf, want, w);
	assert_int_equal(tlsrec_seal_alert(&t, 0, buf, sizeof(buf), &w),
	    TLSREC_OK);
	assert_int_equal(w, unhex(S_ALERT_RECORD, want));
	assert_memory_equal(buf, want, w);
	n = unhex(C_ALERT_RECORD, buf);
	assert_int_equal(tlsrec_open(&t, buf, n, &in), TLSREC_EOF);
	assert_int_equal(in.consumed, 24);
	tlsrec_free(&t);

	/*
	 * The ticket, read as the client reads the server: decrypted, and
	 * refused as no client may send one to a server.
	 */
	assert_int_equal(tlsrec_init(&client, 0x1301, ss, cs, 32, 0, 0), 0);
	n = unhex(NST_RECORD, buf);
	assert_int_equal(tlsrec_open(&client, buf, n, &in), TLSREC_ERROR);
	assert_int_equal(in.alert, TLSREC_ALERT_UNEXPECTED_MESSAGE);
	assert_int_equal(in.type, 22);
	m = unhex(NST_MESSAGE, want);
	assert_int_equal(in.len, m);
	assert_memory_equal(in.data, want, m);
	tlsrec_free(&client);
}

/* ---- records built here, independently of tlsrec.c ---- */

static const char *
md_name(unsigned suite)
{
	return suite == TLSREC_AES_256_GCM_SHA384 ? "SHA384" : "SHA256";
}

static size_t
hash_len(unsigned suite)
{
	return suite == TLSREC_AES_256_GCM_SHA384 ? 48 : 32;
}

/* HKDF-Expand-Label(secret, label, "", n) through OpenSSL's HKDF. */
static void
expand_label(unsigned suite, const unsigned char *secret, const char *label,
    unsigned char *out, size_t n)
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *k = EVP_KDF_CTX_new(kdf);
	unsigned char info[64];
	size_t i = 0, l = strlen(label);
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY;
	OSSL_PARAM p[5];

	info[i++] = 0;
	info[i++] = (unsigned char)n;
	info[i++] = (unsigned char)(6 + l);
	memcpy(info + i, "tls13 ", 6);
	memcpy(info + i + 6, label, l);
	i += 6 + l;
	info[i++] = 0;
	p[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)md_name(suite), 0);
	p[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)secret, hash_len(suite));
	p[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, i);
	p[3] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	p[4] = OSSL_PARAM_construct_end();
	assert_int_equal(EVP_KDF_derive(k, out, n, p), 1);
	EVP_KDF_CTX_free(k);
	EVP_KDF_free(kdf);
}

/*
 * A record under secret at seq: outer type and version as given,
 * inner plaintext inner[0..n) as given (content, type, padding).
 */
static size_t
raw_seal(unsigned suite, const unsigned char *secret, uint64_t seq,
    unsigned type, unsigned version, const void *inner, size_t n,
    unsigned char *out)
{
	const EVP_CIPHER *c = suite == 0x1301 ? EVP_aes_128_gcm() :
	    suite == 0x1302 ? EVP_aes_256_gcm() : EVP_chacha20_poly1305();
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	unsigned char key[32], iv[12];
	size_t len = n + 16;
	int i, outl;

	expand_label(suite, secret, "key", key, suite == 0x1301 ? 16 : 32);
	expand_label(suite, secret, "iv", iv, 12);
	for (i = 0; i < 8; i++)
		iv[11 - i] ^= (unsigned char)(seq >> (8 * i));
	out[0] = (unsigned char)type;
	out[1] = (unsigned char)(version >> 8);
	out[2] = (unsigned char)version;
	out[3] = (unsigned char)(len >> 8);
	out[4] = (unsigned char)len;
	assert_int_equal(EVP_EncryptInit_ex(ctx, c, NULL, key, iv), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, NULL, &outl, out, 5), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, out + 5, &outl, inner,
	    (int)n), 1);
	assert_int_equal(EVP_EncryptFinal_ex(ctx, out + 5 + n, &outl), 1);
	assert_int_equal(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16,
	    out + 5 + n), 1);
	EVP_CIPHER_CTX_free(ctx);
	return 5 + len;
}

static unsigned char rsec[48], wsec[48];
static unsigned char rec[TLSREC_RECORD_MAX + 64];

static void
fresh(struct tlsrec *t, unsigned suite, uint64_t rseq, uint64_t wseq)
{
	memset(rsec, 0x11, sizeof(rsec));
	memset(wsec, 0x22, sizeof(wsec));
	assert_int_equal(tlsrec_init(t, suite, rsec, wsec, hash_len(suite),
	    rseq, wseq), 0);
}

/* What a fresh server at read sequence 0 makes of one inner plaintext. */
static enum tlsrec_status
inner(unsigned suite, const void *p, size_t n, struct tlsrec_in *in)
{
	struct tlsrec t;
	size_t len;
	enum tlsrec_status st;

	fresh(&t, suite, 0, 0);
	len = raw_seal(suite, rsec, 0, 23, 0x0303, p, n, rec);
	st = tlsrec_open(&t, rec, len, in);
	assert_int_equal(in->consumed, len);
	tlsrec_free(&t);
	return st;
}

#define INNER(s, lit, in) inner((s), (lit), sizeof(lit) - 1, (in))

static void
inner_plaintext(void **state)
{
	static unsigned char big[TLSREC_PLAIN_MAX + 600];
	struct tlsrec_in in;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		unsigned s = suites[i];

		/* zero-length application data, and padding */
		assert_int_equal(INNER(s, "\x17", &in), TLSREC_DATA);
		assert_int_equal(in.len, 0);
		assert_int_equal(INNER(s, "abc\x17\0\0\0\0\0\0\0\0", &in),
		    TLSREC_DATA);
		assert_int_equal(in.len, 3);
		assert_memory_equal(in.data, "abc", 3);
		/* no type at all: all zeros, or nothing */
		assert_int_equal(INNER(s, "\0\0\0", &in), TLSREC_ERROR);
		assert_int_equal(in.alert, 10);
		assert_int_equal(inner(s, "", 0, &in), TLSREC_ERROR);
		assert_int_equal(in.alert, 10);
		/* inner types a client may not send now */
		assert_int_equal(INNER(s, "\x01\x14", &in), TLSREC_ERROR);
		assert_int_equal(in.alert, 10);
		assert_int_equal(in.type, 20);
		assert_int_equal(INNER(s, "\x01\x18", &in), TLSREC_ERROR);
		assert_int_equal(in.alert, 10);
		assert_int_equal(INNER(s, "x\x63", &in), TLSREC_ERROR);
		assert_int_equal(in.alert, 10);
		/* 2^14 bytes of content are the most, with any padding */
		memset(big, 'a', sizeof(big));
		big[TLSREC_PLAIN_MAX] = 23;
		assert_int_equal(inner(s, big, TLSREC_PLAIN_MAX + 1, &in),
		    TLSREC_DATA);
		assert_int_equal(in.len, TLSREC_PLAIN_MAX);
		big[TLSREC_PLAIN_MAX + 1] = 23;
		assert_int_equal(inner(s, big, TLSREC_PLAIN_MAX + 2, &in),
		    TLSREC_ERROR);
		assert_int_equal(in.alert, 22);
		memset(big + 100, 0, sizeof(big) - 100);
		big[99] = 23;
		assert_int_equal(inner(s, big, TLSREC_PLAIN_MAX + 2, &in),
		    TLSREC_ERROR);
		assert_int_equal(in.alert, 22);
		assert_int_equal(inner(s, big, TLSREC_PLAIN_MAX + 1, &in),
		    TLSREC_DATA);
		assert_int_equal(in.len, 99);
	}
}

static void
inner_alerts_and_handshakes(void **state)
{
	struct tlsrec_in in;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		unsigned s = suites[i];

		assert_int_equal(INNER(s, "\x01\x00\x15", &in), TLSREC_EOF);
		assert_int_equal(INNER(s, "\x02\x00\x15", &in), TLSREC_EOF);
		assert_int_equal(INNER(s, "\x01\x5a\x15", &in), TLSREC_CONTROL);
		assert_int_equal(INNER(s, "\x02\x28\x15", &in),
		    TLSREC_PEER_ALERT);
		assert_int_equal(in.alert, 40);
		assert_int_equal(INNER(s, "\x02\x28\x00\x15", &in),
		    TLSREC_ERROR);
		assert_int_equal(in.alert, 50);
		assert_int_equal(INNER(s, "\x02\x15", &in), TLSREC_ERROR);
		assert_int_equal(in.alert, 50);
		/* KeyUpdate: whole, alone, its byte 0 or 1 */
		assert_int_equal(INNER(s, "\x18\0\0\x01\x00\x16", &in),
		    TLSREC_CONTROL);
		assert_int_equal(INNER(s, "\x18\0\0\x01\x02\x16", &in),
		    TLSREC_ERROR);
		assert_int_equal(in.alert, 47);
		assert_int_equal(INNER(s, "\x18\0\0\x02\x00\x00\x16", &in),
		    TLSREC_ERROR);
		assert_int_equal(in.alert, 50);
		assert_int_equal(INNER(s, "\x18\0\0\x00\x16", &in),
		    TLSREC_ERROR);
		assert_int_equal(in.alert, 50);
		assert_int_equal(INNER(s,
		    "\x18\0\0\x01\x00\x18\0\0\x01\x00\x16", &in), TLSREC_ERROR);
		assert_int_equal(in.alert, 10);
		assert_int_equal(INNER(s, "\x18\0\0\x01\x00\x00\x16\0\0", &in),
		    TLSREC_ERROR);
		assert_int_equal(in.alert, 10);
		/* fragments, oversized or empty messages, other messages */
		assert_int_equal(INNER(s, "\x18\0\0\x01\x16", &in),
		    TLSREC_ERROR);
		assert_int_equal(in.alert, 10);
		assert_int_equal(INNER(s, "\x18\0\x16", &in), TLSREC_ERROR);
		assert_int_equal(in.alert, 10);
		assert_int_equal(INNER(s, "\x18\xff\xff\xff\x00\x16", &in),
		    TLSREC_ERROR);
		assert_int_equal(in.alert, 10);
		assert_int_equal(INNER(s, "\x16", &in), TLSREC_ERROR);
		assert_int_equal(in.alert, 10);
		assert_int_equal(INNER(s, "\x04\0\0\x01\x00\x16", &in),
		    TLSREC_ERROR);
		assert_int_equal(in.alert, 10);
		assert_int_equal(INNER(s, "\x0d\0\0\x00\x16", &in),
		    TLSREC_ERROR);
		assert_int_equal(in.alert, 10);
		assert_int_equal(in.type, 22);
	}
}

static void
outer_checks(void **state)
{
	unsigned char ccs[] = { 20, 3, 3, 0, 1, 1 };
	unsigned char hs[] = { 22, 3, 3, 0, 4, 24, 0, 0, 0 };
	unsigned char big[] = { 23, 3, 3, 0x41, 0x01 };
	unsigned char tiny[] = { 23, 3, 3, 0, 15 };
	struct tlsrec t;
	struct tlsrec_in in;
	size_t len;

	(void)state;
	fresh(&t, 0x1301, 0, 0);
	assert_int_equal(tlsrec_open(&t, ccs, sizeof(ccs), &in), TLSREC_ERROR);
	assert_int_equal(in.alert, 10);
	/* once failed, always failed */
	len = raw_seal(0x1301, rsec, 0, 23, 0x0303, "a\x17", 2, rec);
	assert_int_equal(tlsrec_open(&t, rec, len, &in), TLSREC_ERROR);
	tlsrec_free(&t);
	fresh(&t, 0x1301, 0, 0);
	assert_int_equal(tlsrec_open(&t, hs, 3, &in), TLSREC_NEED_MORE);
	assert_int_equal(tlsrec_open(&t, hs, sizeof(hs), &in), TLSREC_ERROR);
	assert_int_equal(in.alert, 10);
	tlsrec_free(&t);
	/* 2^14 + 257 is refused from the header alone */
	fresh(&t, 0x1301, 0, 0);
	assert_int_equal(tlsrec_open(&t, big, sizeof(big), &in), TLSREC_ERROR);
	assert_int_equal(in.alert, 22);
	tlsrec_free(&t);
	memset(rec, 0, 40);
	memcpy(rec, tiny, 5);
	fresh(&t, 0x1301, 0, 0);
	assert_int_equal(tlsrec_open(&t, rec, 20, &in), TLSREC_ERROR);
	assert_int_equal(in.alert, 20);
	assert_int_equal(in.consumed, 20);
	tlsrec_free(&t);
	/* the legacy version is not read, but is authenticated */
	fresh(&t, 0x1303, 0, 0);
	len = raw_seal(0x1303, rsec, 0, 23, 0x0301, "v\x17", 2, rec);
	assert_int_equal(tlsrec_open(&t, rec, len, &in), TLSREC_DATA);
	len = raw_seal(0x1303, rsec, 1, 23, 0x0303, "v\x17", 2, rec);
	rec[2] = 4;
	assert_int_equal(tlsrec_open(&t, rec, len, &in), TLSREC_ERROR);
	assert_int_equal(in.alert, 20);
	tlsrec_free(&t);
	/* a replayed record (its sequence number is past) */
	fresh(&t, 0x1302, 0, 0);
	len = raw_seal(0x1302, rsec, 0, 23, 0x0303, "r\x17", 2, rec);
	memcpy(rec + 100, rec, len);
	assert_int_equal(tlsrec_open(&t, rec, len, &in), TLSREC_DATA);
	assert_int_equal(tlsrec_open(&t, rec + 100, len, &in), TLSREC_ERROR);
	assert_int_equal(in.alert, 20);
	tlsrec_free(&t);
}

static void
after_close_notify(void **state)
{
	struct tlsrec t;
	struct tlsrec_in in;
	size_t len, w;

	(void)state;
	fresh(&t, 0x1301, 0, 0);
	len = raw_seal(0x1301, rsec, 0, 23, 0x0303, "\x01\x00\x15", 3, rec);
	len += raw_seal(0x1301, rsec, 1, 23, 0x0303, "late\x17", 5, rec + len);
	assert_int_equal(tlsrec_open(&t, rec, len, &in), TLSREC_EOF);
	assert_int_equal(in.consumed, 24);
	/* what follows is ignored (RFC 8446 6.1), whole */
	assert_int_equal(tlsrec_open(&t, rec + 24, len - 24, &in), TLSREC_EOF);
	assert_int_equal(in.consumed, len - 24);
	/* half-close: writing goes on */
	assert_int_equal(tlsrec_seal(&t, (const unsigned char *)"x", 1, rec,
	    sizeof(rec), &len, &w), TLSREC_OK);
	tlsrec_free(&t);
}

/* The client's view of t: its read secret is t's write secret. */
static void
mirror(struct tlsrec *c, unsigned suite, uint64_t rseq)
{
	assert_int_equal(tlsrec_init(c, suite, wsec, rsec, hash_len(suite),
	    rseq, 0), 0);
}

static void
sequence_ends(void **state)
{
	struct tlsrec t, c;
	struct tlsrec_in in;
	size_t len, taken, w;
	unsigned char out[200];

	(void)state;
	fresh(&t, 0x1303, UINT64_MAX - 1, UINT64_MAX - 2);
	len = raw_seal(0x1303, rsec, UINT64_MAX - 1, 23, 0x0303, "a\x17", 2,
	    rec);
	assert_int_equal(tlsrec_open(&t, rec, len, &in), TLSREC_DATA);
	len = raw_seal(0x1303, rsec, UINT64_MAX, 23, 0x0303, "b\x17", 2, rec);
	assert_int_equal(tlsrec_open(&t, rec, len, &in), TLSREC_ERROR);
	assert_int_equal(in.alert, 80);
	/* writes: UINT64_MAX - 2 and - 1 are sealed, then no more */
	mirror(&c, 0x1303, UINT64_MAX - 2);
	assert_int_equal(tlsrec_seal(&t, (const unsigned char *)"0123", 4, out,
	    sizeof(out), &taken, &w), TLSREC_OK);
	assert_int_equal(tlsrec_open(&c, out, w, &in), TLSREC_DATA);
	assert_int_equal(tlsrec_seal(&t, (const unsigned char *)"0123", 4, out,
	    sizeof(out), &taken, &w), TLSREC_OK);
	assert_int_equal(tlsrec_open(&c, out, w, &in), TLSREC_DATA);
	assert_memory_equal(in.data, "0123", 4);
	assert_int_equal(tlsrec_seal(&t, (const unsigned char *)"0123", 4, out,
	    sizeof(out), &taken, &w), TLSREC_E_SEQ);
	assert_int_equal(w, 0);
	assert_int_equal(tlsrec_seal_alert(&t, 0, out, sizeof(out), &w),
	    TLSREC_E_SEQ);
	/* a KeyUpdate could have saved it, and must come before the end */
	assert_int_equal(tlsrec_seal_key_update(&t, 0, out, sizeof(out), &w),
	    TLSREC_E_SEQ);
	tlsrec_free(&t);
	tlsrec_free(&c);
}

static void
key_limits(void **state)
{
	struct tlsrec t, c;
	struct tlsrec_in in;
	size_t taken, w;
	unsigned char out[200];

	(void)state;
	fresh(&t, 0x1301, 0, TLSREC_KEY_UPDATE_DUE - 1);
	assert_false(tlsrec_key_update_due(&t));
	assert_int_equal(tlsrec_seal(&t, (const unsigned char *)"d", 1, out,
	    sizeof(out), &taken, &w), TLSREC_OK);
	assert_true(tlsrec_key_update_due(&t));
	tlsrec_free(&t);
	/* AES-GCM stops at 2^24.5 until a KeyUpdate; ChaCha20 does not */
	fresh(&t, 0x1302, 0, TLSREC_GCM_LIMIT);
	mirror(&c, 0x1302, TLSREC_GCM_LIMIT);
	assert_int_equal(tlsrec_seal(&t, (const unsigned char *)"d", 1, out,
	    sizeof(out), &taken, &w), TLSREC_E_KEY_LIMIT);
	assert_int_equal(tlsrec_seal_key_update(&t, 0, out, sizeof(out), &w),
	    TLSREC_OK);
	assert_int_equal(w, TLSREC_KEY_UPDATE_SIZE);
	assert_false(tlsrec_key_update_due(&t));
	assert_int_equal(tlsrec_open(&c, out, w, &in), TLSREC_CONTROL);
	assert_false(tlsrec_key_update_owed(&c));
	assert_int_equal(tlsrec_seal(&t, (const unsigned char *)"d", 1, out,
	    sizeof(out), &taken, &w), TLSREC_OK);
	assert_int_equal(tlsrec_open(&c, out, w, &in), TLSREC_DATA);
	tlsrec_free(&t);
	tlsrec_free(&c);
	fresh(&t, 0x1303, 0, TLSREC_GCM_LIMIT);
	assert_int_equal(tlsrec_seal(&t, (const unsigned char *)"d", 1, out,
	    sizeof(out), &taken, &w), TLSREC_OK);
	tlsrec_free(&t);
}

static void
key_update_owed(void **state)
{
	struct tlsrec t, c;
	struct tlsrec_in in;
	size_t taken, w, i;
	unsigned char out[200];

	(void)state;
	for (i = 0; i < 3; i++) {
		fresh(&t, suites[i], 0, 5);
		mirror(&c, suites[i], 5);
		/* the client's request, as its own tlsrec would seal it */
		assert_int_equal(tlsrec_seal_key_update(&c, 1, out,
		    sizeof(out), &w), TLSREC_OK);
		assert_int_equal(tlsrec_open(&t, out, w, &in), TLSREC_CONTROL);
		assert_true(tlsrec_key_update_owed(&t));
		assert_int_equal(t.rseq, 0);
		assert_int_equal(tlsrec_seal(&t, (const unsigned char *)"d", 1,
		    out, sizeof(out), &taken, &w), TLSREC_E_KEY_UPDATE_OWED);
		assert_int_equal(tlsrec_seal_key_update(&t, 0, out,
		    sizeof(out), &w), TLSREC_OK);
		assert_false(tlsrec_key_update_owed(&t));
		assert_int_equal(tlsrec_open(&c, out, w, &in), TLSREC_CONTROL);
		assert_false(tlsrec_key_update_owed(&c));
		assert_int_equal(tlsrec_seal(&t, (const unsigned char *)"d", 1,
		    out, sizeof(out), &taken, &w), TLSREC_OK);
		assert_int_equal(tlsrec_open(&c, out, w, &in), TLSREC_DATA);
		assert_int_equal(tlsrec_seal(&c, (const unsigned char *)"u", 1,
		    out, sizeof(out), &taken, &w), TLSREC_OK);
		assert_int_equal(tlsrec_open(&t, out, w, &in), TLSREC_DATA);
		/* after close_notify a request is moot */
		assert_int_equal(tlsrec_seal_alert(&t, 0, out, sizeof(out),
		    &w), TLSREC_OK);
		assert_int_equal(tlsrec_seal_key_update(&c, 1, out,
		    sizeof(out), &w), TLSREC_OK);
		assert_int_equal(tlsrec_open(&t, out, w, &in), TLSREC_CONTROL);
		assert_false(tlsrec_key_update_owed(&t));
		assert_int_equal(tlsrec_seal(&t, (const unsigned char *)"d", 1,
		    out, sizeof(out), &taken, &w), TLSREC_E_CLOSED);
		tlsrec_free(&t);
		tlsrec_free(&c);
	}
}

static void
seal_sizes(void **state)
{
	static unsigned char data[65536], out[TLSREC_SEAL_SIZE(65536)];
	struct tlsrec t, c;
	struct tlsrec_in in;
	size_t taken, w, off, got;
	int recs;

	(void)state;
	assert_int_equal(TLSREC_SEAL_SIZE(0), 0);
	assert_int_equal(TLSREC_SEAL_SIZE(1), 23);
	assert_int_equal(TLSREC_SEAL_SIZE(16384), 16406);
	assert_int_equal(TLSREC_SEAL_SIZE(16385), 16385 + 44);
	assert_int_equal(TLSREC_SEAL_SIZE(65536), 65624);
	for (off = 0; off < sizeof(data); off++)
		data[off] = (unsigned char)(off * 7);
	fresh(&t, 0x1301, 0, 0);
	mirror(&c, 0x1301, 0);
	assert_int_equal(tlsrec_seal(&t, data, sizeof(data), out, sizeof(out),
	    &taken, &w), TLSREC_OK);
	assert_int_equal(taken, sizeof(data));
	assert_int_equal(w, sizeof(out));
	for (off = 0, got = 0, recs = 0; off < w; off += in.consumed, recs++) {
		assert_int_equal(tlsrec_open(&c, out + off, w - off, &in),
		    TLSREC_DATA);
		assert_int_equal(in.len, 16384);
		assert_memory_equal(in.data, data + got, in.len);
		got += in.len;
	}
	assert_int_equal(recs, 4);
	/* a short buffer takes what fits, the last record smaller */
	assert_int_equal(tlsrec_seal(&t, data, sizeof(data), out, 20000,
	    &taken, &w), TLSREC_OK);
	assert_int_equal(taken, 20000 - 2 * TLSREC_OVERHEAD);
	assert_int_equal(w, 20000);
	assert_int_equal(tlsrec_open(&c, out, w, &in), TLSREC_DATA);
	assert_int_equal(tlsrec_open(&c, out + in.consumed, w - in.consumed,
	    &in), TLSREC_DATA);
	assert_int_equal(in.len, 20000 - 16384 - 2 * TLSREC_OVERHEAD);
	assert_int_equal(tlsrec_seal(&t, data, 10, out, TLSREC_OVERHEAD,
	    &taken, &w), TLSREC_E_ROOM);
	assert_int_equal(tlsrec_seal(&t, data, 10, out, TLSREC_OVERHEAD + 1,
	    &taken, &w), TLSREC_OK);
	assert_int_equal(taken, 1);
	assert_int_equal(tlsrec_seal(&t, data, 0, out, 0, &taken, &w),
	    TLSREC_OK);
	assert_int_equal(w, 0);
	assert_int_equal(tlsrec_seal_alert(&t, 0, out, 23, &w), TLSREC_E_ROOM);
	assert_int_equal(tlsrec_seal_key_update(&t, 0, out, 26, &w),
	    TLSREC_E_ROOM);
	/* a fatal alert ends both directions */
	assert_int_equal(tlsrec_seal_alert(&t, 20, out, 24, &w), TLSREC_OK);
	assert_int_equal(tlsrec_seal(&t, data, 1, out, 100, &taken, &w),
	    TLSREC_E_CLOSED);
	assert_int_equal(tlsrec_open(&t, out, 24, &in), TLSREC_ERROR);
	tlsrec_free(&t);
	tlsrec_free(&c);
}

static void
init_refusals(void **state)
{
	struct tlsrec t;
	struct tlsrec_in in;
	size_t taken, w;

	(void)state;
	memset(rsec, 1, sizeof(rsec));
	assert_int_equal(tlsrec_init(&t, 0x1304, rsec, rsec, 32, 0, 0), -1);
	assert_null(t.rctx);
	tlsrec_free(&t);
	assert_int_equal(tlsrec_init(&t, 0x1301, rsec, rsec, 48, 0, 0), -1);
	assert_int_equal(tlsrec_init(&t, 0x1302, rsec, rsec, 32, 0, 0), -1);
	/* a cleared one refuses everything */
	assert_int_equal(tlsrec_open(&t, rec, 30, &in), TLSREC_ERROR);
	assert_int_equal(tlsrec_seal(&t, rec, 1, rec + 100, 100, &taken, &w),
	    TLSREC_E_ARG);
	assert_int_equal(tlsrec_init(&t, 0x1302, rsec, rsec, 48, 0, 0), 0);
	tlsrec_free(&t);
	assert_null(t.wctx);
	assert_int_equal(t.rsecret[0], 0);
}

/* ---- a real OpenSSL client; the server taken over after its handshake ---- */

#define TICKETS 3

struct peer {
	SSL_CTX *cctx, *sctx;
	SSL *c, *s;
	BIO *c2s, *s2c;			/* what each side writes */
	unsigned char csecret[48], ssecret[48];
	size_t slen;
	int made, got;			/* tickets made by the server, read */
};

static struct peer *cur;		/* for OpenSSL's callbacks */

static void
keylog(const SSL *ssl, const char *line)
{
	const char *hex = strrchr(line, ' ');

	(void)ssl;
	if (strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24) == 0)
		cur->slen = unhex(hex + 1, cur->csecret);
	else if (strncmp(line, "SERVER_TRAFFIC_SECRET_0 ", 24) == 0)
		cur->slen = unhex(hex + 1, cur->ssecret);
}

static int
ticket_made(SSL *ssl, void *arg)
{
	(void)ssl;
	(void)arg;
	cur->made++;
	return 1;
}

static int
ticket_got(SSL *ssl, SSL_SESSION *sess)
{
	(void)ssl;
	(void)sess;
	cur->got++;
	return 0;
}

static BIO *
mem_bio(void)
{
	BIO *b = BIO_new(BIO_s_mem());

	BIO_set_mem_eof_return(b, -1);	/* empty: try again, not EOF */
	return b;
}

/*
 * A TLS 1.3 handshake over memory between an OpenSSL client and server
 * (suite only, TICKETS tickets), then t takes over the server with the
 * secrets the keylog gave and the server's sequence numbers, and the
 * server's SSL is freed.
 */
static void
takeover(struct peer *p, const char *suite, struct tlsrec *t)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	int rc, rs = 0, i;

	memset(p, 0, sizeof(*p));
	cur = p;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN",
	    MBSTRING_ASC, (const unsigned char *)"tlsrec", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	X509_sign(x, k, EVP_sha256());
	p->sctx = SSL_CTX_new(TLS_server_method());
	p->cctx = SSL_CTX_new(TLS_client_method());
	assert_int_equal(SSL_CTX_use_certificate(p->sctx, x), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(p->sctx, k), 1);
	X509_free(x);
	EVP_PKEY_free(k);
	SSL_CTX_set_min_proto_version(p->sctx, TLS1_3_VERSION);
	SSL_CTX_set_min_proto_version(p->cctx, TLS1_3_VERSION);
	assert_int_equal(SSL_CTX_set_ciphersuites(p->sctx, suite), 1);
	assert_int_equal(SSL_CTX_set_ciphersuites(p->cctx, suite), 1);
	SSL_CTX_set_keylog_callback(p->sctx, keylog);
	SSL_CTX_set_num_tickets(p->sctx, TICKETS);
	SSL_CTX_set_session_ticket_cb(p->sctx, ticket_made, NULL, NULL);
	SSL_CTX_set_session_cache_mode(p->cctx, SSL_SESS_CACHE_CLIENT);
	SSL_CTX_sess_set_new_cb(p->cctx, ticket_got);
	p->c = SSL_new(p->cctx);
	p->s = SSL_new(p->sctx);
	p->c2s = mem_bio();
	p->s2c = mem_bio();
	BIO_up_ref(p->c2s);
	BIO_up_ref(p->s2c);
	SSL_set_bio(p->c, p->s2c, p->c2s);
	BIO_up_ref(p->c2s);
	BIO_up_ref(p->s2c);
	SSL_set_bio(p->s, p->c2s, p->s2c);
	SSL_set_connect_state(p->c);
	SSL_set_accept_state(p->s);
	for (i = 0, rc = 0; i < 20 && (rc != 1 || rs != 1); i++) {
		if (rc != 1)
			rc = SSL_do_handshake(p->c);
		if (rs != 1)
			rs = SSL_do_handshake(p->s);
	}
	assert_int_equal(rc, 1);
	assert_int_equal(rs, 1);
	/* the server's tickets are its only records under its new key */
	assert_int_equal(p->made, TICKETS);
	assert_int_equal(BIO_ctrl_pending(p->c2s), 0);
	assert_int_equal(tlsrec_init(t,
	    SSL_CIPHER_get_protocol_id(SSL_get_current_cipher(p->s)),
	    p->csecret, p->ssecret, p->slen, 0, (uint64_t)p->made), 0);
	SSL_free(p->s);
	p->s = NULL;
}

static void
peer_free(struct peer *p)
{
	SSL_free(p->c);
	BIO_free(p->c2s);
	BIO_free(p->s2c);
	SSL_CTX_free(p->cctx);
	SSL_CTX_free(p->sctx);
}

static void
client_write(struct peer *p, const void *d, size_t n)
{
	assert_int_equal(SSL_write(p->c, d, (int)n), (int)n);
}

/* What the client sent, taken from its socket; caller frees. */
static unsigned char *
sent(struct peer *p, size_t *n)
{
	size_t len = BIO_ctrl_pending(p->c2s);
	unsigned char *b = malloc(len + 1);

	*n = len;
	if (len > 0)
		assert_int_equal(BIO_read(p->c2s, b, (int)len), (int)len);
	return b;
}

/*
 * Opens all the client sent: data into out (up to cap), KeyUpdates
 * counted in *controls. Returns the last status.
 */
static enum tlsrec_status
server_read(struct peer *p, struct tlsrec *t, unsigned char *out, size_t cap,
    size_t *got, int *controls)
{
	enum tlsrec_status st = TLSREC_NEED_MORE;
	struct tlsrec_in in;
	size_t n, off = 0;
	unsigned char *b = sent(p, &n);

	*got = 0;
	while (off < n) {
		st = tlsrec_open(t, b + off, n - off, &in);
		if (st == TLSREC_DATA) {
			assert_true(*got + in.len <= cap);
			memcpy(out + *got, in.data, in.len);
			*got += in.len;
		} else if (st == TLSREC_CONTROL) {
			(*controls)++;
		} else {
			break;
		}
		off += in.consumed;
	}
	free(b);
	return st;
}

/* Sends out what t seals of d; ku >= 0 seals a KeyUpdate first. */
static void
server_write(struct peer *p, struct tlsrec *t, int ku, const void *d,
    size_t n)
{
	size_t cap = TLSREC_SEAL_SIZE(n) + TLSREC_KEY_UPDATE_SIZE, w, taken;
	size_t off = 0;
	unsigned char *out = malloc(cap);

	if (ku >= 0) {
		assert_int_equal(tlsrec_seal_key_update(t, ku, out, cap, &w),
		    TLSREC_OK);
		off = w;
	}
	assert_int_equal(tlsrec_seal(t, d, n, out + off, cap - off, &taken,
	    &w), TLSREC_OK);
	assert_int_equal(taken, n);
	assert_int_equal(BIO_write(p->s2c, out, (int)(off + w)),
	    (int)(off + w));
	free(out);
}

static size_t
client_read(struct peer *p, unsigned char *out, size_t cap)
{
	size_t got = 0;
	int n;

	while (got < cap && (n = SSL_read(p->c, out + got,
	    (int)(cap - got))) > 0)
		got += (size_t)n;
	return got;
}

#define MB (1024 * 1024)

static void
interop(const char *suite)
{
	unsigned char *big = malloc(MB), *got = malloc(MB), *raw;
	struct peer p;
	struct tlsrec t;
	struct tlsrec_in in;
	size_t n, len, i;
	int controls = 0;

	for (i = 0; i < MB; i++)
		big[i] = (unsigned char)(i * 31 + i / 4096);
	takeover(&p, suite, &t);
	/* client to tlsrec, tlsrec to client (after the tickets) */
	client_write(&p, "hello", 5);
	assert_int_equal(server_read(&p, &t, got, MB, &n, &controls),
	    TLSREC_DATA);
	assert_int_equal(n, 5);
	assert_memory_equal(got, "hello", 5);
	server_write(&p, &t, -1, "world", 5);
	assert_int_equal(client_read(&p, got, 5), 5);
	assert_memory_equal(got, "world", 5);
	assert_int_equal(p.got, TICKETS);
	/* several records in one buffer; an empty SSL_write sends none */
	client_write(&p, "one", 3);
	client_write(&p, "two", 3);
	client_write(&p, "three", 5);
	assert_int_equal(server_read(&p, &t, got, MB, &n, &controls),
	    TLSREC_DATA);
	assert_int_equal(n, 11);
	assert_memory_equal(got, "onetwothree", 11);
	/* a record fed one byte at a time */
	client_write(&p, "partial", 7);
	raw = sent(&p, &len);
	for (i = 0; i < len; i++) {
		assert_int_equal(tlsrec_open(&t, raw, i, &in),
		    TLSREC_NEED_MORE);
		assert_int_equal(in.consumed, 0);
	}
	assert_int_equal(tlsrec_open(&t, raw, len, &in), TLSREC_DATA);
	assert_int_equal(in.consumed, len);
	assert_memory_equal(in.data, "partial", 7);
	free(raw);
	/* the client's KeyUpdate, asking for ours: owed before data */
	assert_int_equal(SSL_key_update(p.c, SSL_KEY_UPDATE_REQUESTED), 1);
	client_write(&p, "ku1", 3);
	assert_int_equal(server_read(&p, &t, got, MB, &n, &controls),
	    TLSREC_DATA);
	assert_int_equal(controls, 1);
	assert_memory_equal(got, "ku1", 3);
	assert_true(tlsrec_key_update_owed(&t));
	assert_int_equal(tlsrec_seal(&t, big, 1, got, 100, &len, &n),
	    TLSREC_E_KEY_UPDATE_OWED);
	server_write(&p, &t, 0, "re1", 3);
	assert_false(tlsrec_key_update_owed(&t));
	assert_int_equal(client_read(&p, got, 3), 3);
	assert_memory_equal(got, "re1", 3);
	/* not asking for ours */
	assert_int_equal(SSL_key_update(p.c, SSL_KEY_UPDATE_NOT_REQUESTED), 1);
	client_write(&p, "ku2", 3);
	assert_int_equal(server_read(&p, &t, got, MB, &n, &controls),
	    TLSREC_DATA);
	assert_int_equal(controls, 2);
	assert_false(tlsrec_key_update_owed(&t));
	/* ours, asking for the client's: it answers before its data */
	server_write(&p, &t, 1, "ku3", 3);
	assert_int_equal(client_read(&p, got, 3), 3);
	assert_memory_equal(got, "ku3", 3);
	assert_int_equal(SSL_get_key_update_type(p.c),
	    SSL_KEY_UPDATE_NOT_REQUESTED);
	client_write(&p, "re3", 3);
	assert_int_equal(server_read(&p, &t, got, MB, &n, &controls),
	    TLSREC_DATA);
	assert_int_equal(controls, 3);
	assert_memory_equal(got, "re3", 3);
	assert_int_equal(t.rseq, 1);
	/* 1 MB each way, in one SSL_write and one seal */
	client_write(&p, big, MB);
	assert_int_equal(server_read(&p, &t, got, MB, &n, &controls),
	    TLSREC_DATA);
	assert_int_equal(n, MB);
	assert_memory_equal(got, big, MB);
	server_write(&p, &t, -1, big, MB);
	memset(got, 0, MB);
	assert_int_equal(client_read(&p, got, MB), MB);
	assert_memory_equal(got, big, MB);
	/* our close_notify: the client reads EOF, and may still write */
	assert_int_equal(tlsrec_seal_alert(&t, 0, got, 100, &n), TLSREC_OK);
	assert_int_equal(BIO_write(p.s2c, got, (int)n), (int)n);
	assert_int_equal(SSL_read(p.c, got, 10), 0);
	assert_int_equal(SSL_get_error(p.c, 0), SSL_ERROR_ZERO_RETURN);
	client_write(&p, "late", 4);
	assert_int_equal(server_read(&p, &t, got, MB, &n, &controls),
	    TLSREC_DATA);
	assert_memory_equal(got, "late", 4);
	/* the client's close_notify is EOF here */
	assert_int_equal(SSL_shutdown(p.c), 1);
	assert_int_equal(server_read(&p, &t, got, MB, &n, &controls),
	    TLSREC_EOF);
	tlsrec_free(&t);
	peer_free(&p);
	free(big);
	free(got);
}

static void
openssl_client_aes128(void **state)
{
	(void)state;
	interop("TLS_AES_128_GCM_SHA256");
}

static void
openssl_client_aes256(void **state)
{
	(void)state;
	interop("TLS_AES_256_GCM_SHA384");
}

static void
openssl_client_chacha20(void **state)
{
	(void)state;
	interop("TLS_CHACHA20_POLY1305_SHA256");
}

/* A flipped ciphertext byte: bad_record_mac, and the client hears it. */
static void
openssl_client_tampered(void **state)
{
	static const char *const names[] = { "TLS_AES_128_GCM_SHA256",
	    "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256" };
	unsigned char out[64], *raw;
	struct peer p;
	struct tlsrec t;
	struct tlsrec_in in;
	size_t len, w, i;

	(void)state;
	for (i = 0; i < 3; i++) {
		takeover(&p, names[i], &t);
		client_write(&p, "secret", 6);
		raw = sent(&p, &len);
		raw[8] ^= 0x01;
		assert_int_equal(tlsrec_open(&t, raw, len, &in), TLSREC_ERROR);
		assert_int_equal(in.alert, TLSREC_ALERT_BAD_RECORD_MAC);
		assert_int_equal(in.consumed, len);
		free(raw);
		assert_int_equal(tlsrec_seal_alert(&t, in.alert, out,
		    sizeof(out), &w), TLSREC_OK);
		assert_int_equal(BIO_write(p.s2c, out, (int)w), (int)w);
		assert_true(SSL_read(p.c, out, sizeof(out)) <= 0);
		assert_int_equal(SSL_get_error(p.c, -1), SSL_ERROR_SSL);
		assert_int_equal(ERR_GET_REASON(ERR_peek_last_error()),
		    SSL_R_SSLV3_ALERT_BAD_RECORD_MAC);
		ERR_clear_error();
		tlsrec_free(&t);
		peer_free(&p);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rfc8448_keys),
		cmocka_unit_test(rfc8448_records),
		cmocka_unit_test(inner_plaintext),
		cmocka_unit_test(inner_alerts_and_handshakes),
		cmocka_unit_test(outer_checks),
		cmocka_unit_test(after_close_notify),
		cmocka_unit_test(sequence_ends),
		cmocka_unit_test(key_limits),
		cmocka_unit_test(key_update_owed),
		cmocka_unit_test(seal_sizes),
		cmocka_unit_test(init_refusals),
		cmocka_unit_test(openssl_client_aes128),
		cmocka_unit_test(openssl_client_aes256),
		cmocka_unit_test(openssl_client_chacha20),
		cmocka_unit_test(openssl_client_tampered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
