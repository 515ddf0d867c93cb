#include "admin/casign.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "core/sbuf.h"

#define SERIAL_BYTES 16

/* err gets what, then OpenSSL's reason if it has one. */
static void
ssl_error(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	snprintf(err, errlen, "%s%s%s", what, r != NULL ? ": " : "",
	    r != NULL ? r : "");
	ERR_clear_error();
}

EVP_PKEY *
casign_new_key(const char *kind)
{
	if (strcmp(kind, "ecdsa") == 0)
		return EVP_EC_gen("P-256");
	if (strcmp(kind, "ed25519") == 0)
		return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (strcmp(kind, "rsa") == 0)
		return EVP_RSA_gen(3072);
	return NULL;
}

/* Ed25519 signs the message itself: no digest. */
static const EVP_MD *
digest_for(EVP_PKEY *key)
{
	return EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 ? NULL : EVP_sha256();
}

time_t
casign_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* Adds extension nid = value (OpenSSL's config syntax). Returns 0 or -1. */
static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok = ext != NULL && X509_add_ext(x, ext, -1) == 1;

	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static int
add_name(X509_NAME *n, const char *field, const char *value)
{
	return X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
	    (const unsigned char *)value, -1, -1, 0) == 1 ? 0 : -1;
}

/* Validity from now - CASIGN_BACKDATE to now + secs. Returns 0 or -1. */
static int
set_validity(X509 *x, time_t now, long secs)
{
	return X509_time_adj_ex(X509_getm_notBefore(x), 0, -CASIGN_BACKDATE,
	    &now) != NULL && X509_time_adj_ex(X509_getm_notAfter(x), 0, secs,
	    &now) != NULL ? 0 : -1;
}

/* A random positive serial of SERIAL_BYTES, its first hex digit 4-7. */
static int
set_serial(X509 *x, char *hex)
{
	unsigned char b[SERIAL_BYTES];
	BIGNUM *bn;
	char *h;
	int ok;

	if (RAND_bytes(b, sizeof(b)) != 1)
		return -1;
	b[0] = (unsigned char)((b[0] & 0x3f) | 0x40);
	if ((bn = BN_bin2bn(b, sizeof(b), NULL)) == NULL)
		return -1;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
	    (h = BN_bn2hex(bn)) != NULL;
	if (ok) {
		snprintf(hex, CAINDEX_SERIAL_MAX + 1, "%s", h);
		OPENSSL_free(h);
	}
	BN_free(bn);
	return ok ? 0 : -1;
}

X509 *
casign_ca(EVP_PKEY *key, const char *name, long secs, char *err,
    size_t errlen)
{
	X509 *x = X509_new();
	X509V3_CTX ctx;
	char serial[CAINDEX_SERIAL_MAX + 1];

	if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    set_serial(x, serial) == -1 || set_validity(x, time(NULL),
	    secs) == -1 || add_name(X509_get_subject_name(x), "CN",
	    name) == -1 || X509_set_issuer_name(x,
	    X509_get_subject_name(x)) != 1 || X509_set_pubkey(x, key) != 1)
		goto fail;
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE") ||
	    add_ext(x, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    add_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
	    add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always"))
		goto fail;
	if (X509_sign(x, key, digest_for(key)) <= 0)
		goto fail;
	return x;
fail:
	ssl_error(err, errlen, "cannot make the CA certificate");
	X509_free(x);
	return NULL;
}

/* "DNS:a,IP:192.0.2.1" for a gateway's names; -1 on a bad name. */
static int
san_text(const struct casign_leaf *l, struct sbuf *b, char *err,
    size_t errlen)
{
	unsigned char a[16];
	size_t i;

	for (i = 0; i < l->nsans; i++) {
		const char *s = l->sans[i];

		if (i > 0)
			sbuf_str(b, ",");
		if (inet_pton(AF_INET, s, a) == 1 ||
		    inet_pton(AF_INET6, s, a) == 1)
			sbuf_printf(b, "IP:%s", s);
		else
			sbuf_printf(b, "DNS:%s", s);
	}
	sbuf_add(b, "", 1);
	if (b->failed) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

X509 *
casign_leaf(X509 *ca, EVP_PKEY *cakey, const struct casign_leaf *l,
    char *serial, char *err, size_t errlen)
{
	time_t now = time(NULL), ca_end;
	X509 *x = X509_new();
	X509V3_CTX ctx;
	struct sbuf san;
	char when[32];
	size_t i;

	sbuf_growing(&san, 65536);
	ca_end = casign_time(X509_get0_notAfter(ca));
	if (ca_end != 0 && now + l->secs > ca_end) {
		caindex_time(ca_end, when, sizeof(when));
		snprintf(err, errlen, "the CA certificate expires at %s, "
		    "before this certificate would: ask for a shorter "
		    "lifetime", when);
		goto out;
	}
	if (x == NULL || X509_set_version(x, X509_VERSION_3) != 1 ||
	    set_serial(x, serial) == -1 || set_validity(x, now, l->secs) ||
	    add_name(X509_get_subject_name(x), "CN", l->name) == -1 ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1 ||
	    X509_set_pubkey(x, l->pub) != 1)
		goto fail;
	for (i = 0; i < l->ngroups; i++)
		if (add_name(X509_get_subject_name(x), "OU",
		    l->groups[i]) == -1)
			goto fail;
	X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
	if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE") ||
	    add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature") ||
	    add_ext(x, &ctx, NID_ext_key_usage, l->kind == CAINDEX_GATEWAY ?
	    "serverAuth" : "clientAuth") ||
	    add_ext(x, &ctx, NID_subject_key_identifier, "hash") ||
	    add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always"))
		goto fail;
	if (l->kind == CAINDEX_GATEWAY) {
		if (san_text(l, &san, err, errlen) == -1)
			goto out;
		if (add_ext(x, &ctx, NID_subject_alt_name, san.p))
			goto fail;
	}
	if (X509_sign(x, cakey, digest_for(cakey)) <= 0)
		goto fail;
	sbuf_free(&san);
	return x;
fail:
	ssl_error(err, errlen, "cannot make the certificate");
out:
	sbuf_free(&san);
	X509_free(x);
	return NULL;
}

/* prev's CRL number plus one, or 1. NULL: no memory. */
static ASN1_INTEGER *
next_number(const X509_CRL *prev)
{
	ASN1_INTEGER *n = NULL, *out;
	BIGNUM *bn;

	if (prev != NULL)
		n = X509_CRL_get_ext_d2i(prev, NID_crl_number, NULL, NULL);
	bn = n != NULL ? ASN1_INTEGER_to_BN(n, NULL) : BN_new();
	ASN1_INTEGER_free(n);
	if (bn == NULL || BN_add_word(bn, 1) != 1) {
		BN_free(bn);
		return NULL;
	}
	out = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	return out;
}

/* Adds one revoked entry. Returns 0 or -1. */
static int
add_revoked(X509_CRL *crl, const struct caindex_entry *e)
{
	X509_REVOKED *r = X509_REVOKED_new();
	ASN1_INTEGER *sn = NULL;
	ASN1_TIME *t = NULL;
	BIGNUM *bn = NULL;
	int ok;

	ok = r != NULL && BN_hex2bn(&bn, e->serial) != 0 &&
	    (sn = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
	    (t = ASN1_TIME_set(NULL, e->revoked_at)) != NULL &&
	    X509_REVOKED_set_serialNumber(r, sn) == 1 &&
	    X509_REVOKED_set_revocationDate(r, t) == 1 &&
	    X509_CRL_add0_revoked(crl, r) == 1;
	BN_free(bn);
	ASN1_INTEGER_free(sn);
	ASN1_TIME_free(t);
	if (!ok)
		X509_REVOKED_free(r);
	return ok ? 0 : -1;
}

X509_CRL *
casign_crl(X509 *ca, EVP_PKEY *cakey, const struct caindex *ix,
    const X509_CRL *prev, long secs, char *err, size_t errlen)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *last = NULL, *next = NULL;
	ASN1_INTEGER *num = NULL;
	X509_EXTENSION *aki = NULL;
	X509V3_CTX ctx;
	time_t now = time(NULL);
	size_t i;
	int ok;

	ok = crl != NULL && X509_CRL_set_version(crl, X509_CRL_VERSION_2) &&
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) &&
	    (last = ASN1_TIME_set(NULL, now)) != NULL &&
	    (next = ASN1_TIME_adj(NULL, now, 0, secs)) != NULL &&
	    X509_CRL_set1_lastUpdate(crl, last) &&
	    X509_CRL_set1_nextUpdate(crl, next);
	for (i = 0; ok && i < ix->n; i++)
		if (ix->v[i].revoked && add_revoked(crl, &ix->v[i]) == -1)
			ok = 0;
	if (ok) {
		X509V3_set_ctx(&ctx, ca, NULL, NULL, crl, 0);
		ok = X509_CRL_sort(crl) &&
		    (num = next_number(prev)) != NULL &&
		    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) &&
		    (aki = X509V3_EXT_conf_nid(NULL, &ctx,
		    NID_authority_key_identifier, "keyid:always")) != NULL &&
		    X509_CRL_add_ext(crl, aki, -1) &&
		    X509_CRL_sign(crl, cakey, digest_for(cakey)) > 0;
	}
	ASN1_TIME_free(last);
	ASN1_TIME_free(next);
	ASN1_INTEGER_free(num);
	X509_EXTENSION_free(aki);
	if (!ok) {
		ssl_error(err, errlen, "cannot make the CRL");
		X509_CRL_free(crl);
		return NULL;
	}
	return crl;
}

/*
 * Whether an EC key is on P-256, P-384 or P-521, named (not explicit
 * parameters): the curves TLS clients and the gateway sign with. Weak or
 * odd ones (secp112r1, explicit parameters) are not certified.
 */
static int
ec_curve_ok(EVP_PKEY *pub)
{
	char group[80], enc[32];
	size_t n;
	int nid;

	if (EVP_PKEY_get_group_name(pub, group, sizeof(group), &n) != 1)
		return 0;
	if (EVP_PKEY_get_utf8_string_param(pub, OSSL_PKEY_PARAM_EC_ENCODING,
	    enc, sizeof(enc), &n) == 1 &&
	    strcmp(enc, OSSL_PKEY_EC_ENCODING_GROUP) != 0)
		return 0;
	if ((nid = OBJ_txt2nid(group)) == NID_undef)
		nid = EC_curve_nist2nid(group);
	return nid == NID_X9_62_prime256v1 || nid == NID_secp384r1 ||
	    nid == NID_secp521r1;
}

EVP_PKEY *
casign_csr_key(const char *path, const char *text, size_t len,
    char *subject, size_t sublen, char *err, size_t errlen)
{
	BIO *b = BIO_new_mem_buf(text, (int)len);
	X509_REQ *req = b != NULL ? PEM_read_bio_X509_REQ(b, NULL, NULL,
	    NULL) : NULL;
	EVP_PKEY *pub = NULL;
	int id;

	BIO_free(b);
	if (req == NULL) {
		ERR_clear_error();
		snprintf(err, errlen, "%s holds no PEM certificate request "
		    "(made with 'sshgate ca request')", path);
		return NULL;
	}
	if ((pub = X509_REQ_get0_pubkey(req)) == NULL) {
		ERR_clear_error();
		snprintf(err, errlen, "%s: the request's public key is "
		    "unreadable", path);
		goto out;
	}
	if (X509_REQ_verify(req, pub) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "%s: the request's signature does not "
		    "verify (altered, or not signed by its own key)", path);
		pub = NULL;
		goto out;
	}
	id = EVP_PKEY_get_base_id(pub);
	if (!((id == EVP_PKEY_EC && ec_curve_ok(pub)) ||
	    id == EVP_PKEY_ED25519 ||
	    (id == EVP_PKEY_RSA && EVP_PKEY_get_bits(pub) >= 2048))) {
		ERR_clear_error();
		snprintf(err, errlen, "%s: the request's key is not ECDSA "
		    "(P-256, P-384 or P-521), Ed25519 or RSA of 2048 bits or "
		    "more", path);
		pub = NULL;
		goto out;
	}
	if (subject != NULL && sublen > 0) {
		subject[0] = '\0';
		b = BIO_new(BIO_s_mem());
		if (b != NULL && X509_NAME_print_ex(b,
		    X509_REQ_get_subject_name(req), 0, XN_FLAG_RFC2253) >= 0) {
			int n = BIO_read(b, subject, (int)sublen - 1);

			subject[n > 0 ? n : 0] = '\0';
		}
		BIO_free(b);
	}
	EVP_PKEY_up_ref(pub);
out:
	X509_REQ_free(req);
	return pub;
}

X509_REQ *
casign_request(EVP_PKEY *key, const char *name)
{
	X509_REQ *req = X509_REQ_new();

	if (req == NULL || X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 ||
	    add_name(X509_REQ_get_subject_name(req), "CN", name) == -1 ||
	    X509_REQ_set_pubkey(req, key) != 1 ||
	    X509_REQ_sign(req, key, digest_for(key)) <= 0) {
		X509_REQ_free(req);
		return NULL;
	}
	return req;
}
