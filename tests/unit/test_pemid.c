/* Unit tests: certificate and key from PEM text, mistakes in words (pemid.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/pemid.h"

/* Two self-signed certificates with their keys, as PEM text. */
static char *cert1, *key1, *cert2, *key2, *enc1;

static char *
bio_text(BIO *b)
{
	char *p, *s;
	long n = BIO_get_mem_data(b, &p);

	s = malloc((size_t)n + 1);
	memcpy(s, p, (size_t)n);
	s[n] = '\0';
	BIO_free(b);
	return s;
}

static void
make(const char *cn, char **cert, char **key, char **enc)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	BIO *b;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_set_pubkey(x, k);
	X509_sign(x, k, EVP_sha256());
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, x);
	*cert = bio_text(b);
	b = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
	*key = bio_text(b);
	if (enc != NULL) {
		b = BIO_new(BIO_s_mem());
		PEM_write_bio_PKCS8PrivateKey(b, k, EVP_aes_128_cbc(), NULL, 0,
		    NULL, (void *)"s3cret");
		*enc = bio_text(b);
	}
	X509_free(x);
	EVP_PKEY_free(k);
}

static int
setup(void **state)
{
	(void)state;
	make("one", &cert1, &key1, &enc1);
	make("two", &cert2, &key2, NULL);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	free(cert1);
	free(key1);
	free(cert2);
	free(key2);
	free(enc1);
	return 0;
}

static char *
cat(const char *a, const char *b)
{
	char *s = malloc(strlen(a) + strlen(b) + 1);

	strcpy(s, a);
	strcat(s, b);
	return s;
}

static struct pemfile
pf(const char *path, const char *text)
{
	struct pemfile f = { path, text, strlen(text) };

	return f;
}

/* Parses and returns the error ("" when it worked). */
static const char *
parse(const struct pemfile *c, const struct pemfile *k, pem_password_cb *pw)
{
	static char err[512];
	struct pemid id;

	err[0] = '\0';
	if (pemid_parse(&id, c, k, pw, NULL, "--key", err, sizeof(err)) == 0) {
		assert_non_null(id.cert);
		assert_non_null(id.key);
		assert_non_null(id.chain);
		pemid_free(&id);
		assert_null(id.cert);
		return "";
	}
	assert_null(id.cert);
	assert_null(id.key);
	assert_null(id.chain);
	assert_true(err[0] != '\0');
	return err;
}

static void
cert_and_key(void **state)
{
	char *both = cat(cert1, key1);
	struct pemfile c = pf("both.pem", both), k = pf("k.pem", key1),
	    cc = pf("c.pem", cert1);

	(void)state;
	assert_string_equal(parse(&c, NULL, NULL), "");
	assert_string_equal(parse(&cc, &k, NULL), "");
	free(both);
}

static void
chain_is_kept(void **state)
{
	char *two = cat(cert1, cert2), *all = cat(two, key1);
	struct pemfile c = pf("chain.pem", all);
	struct pemid id;
	char err[256];

	(void)state;
	assert_int_equal(pemid_parse(&id, &c, NULL, NULL, NULL, "--key", err,
	    sizeof(err)), 0);
	assert_int_equal(sk_X509_num(id.chain), 1);
	pemid_free(&id);
	free(two);
	free(all);
}

static void
mistakes_in_words(void **state)
{
	struct pemfile c = pf("c.pem", cert1), k = pf("k.pem", key1),
	    k2 = pf("k2.pem", key2), junk = pf("junk", "hello\n"),
	    crl = pf("x.crl", "-----BEGIN X509 CRL-----\nAAAA\n-----END X509 "
	    "CRL-----\n"), der = pf("c.der", "\x30\x82\x01");

	(void)state;
	assert_string_equal(parse(&c, NULL, NULL), "no private key in c.pem: "
	    "--key is needed (or append the key to c.pem)");
	assert_string_equal(parse(&k, &c, NULL), "k.pem holds a private key, "
	    "not a certificate: give the certificate first, then the key "
	    "with --key");
	assert_string_equal(parse(&c, &k2, NULL), "the key in k2.pem does not "
	    "match the certificate in c.pem");
	assert_string_equal(parse(&c, &c, NULL), "c.pem holds a certificate, "
	    "not a private key");
	assert_string_equal(parse(&c, &junk, NULL), "no private key in junk");
	assert_string_equal(parse(&crl, &k, NULL), "x.crl holds a CRL, not a "
	    "certificate");
	assert_non_null(strstr(parse(&der, &k, NULL), "c.der holds no PEM "
	    "text (DER?"));
	assert_string_equal(parse(&junk, &k, NULL), "junk holds no PEM text "
	    "(DER? convert it with 'openssl x509 -inform der')");
}

static int
right_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)rwflag;
	(void)u;
	snprintf(buf, (size_t)size, "s3cret");
	return 6;
}

static int
wrong_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)rwflag;
	(void)u;
	snprintf(buf, (size_t)size, "nope");
	return 4;
}

static void
encrypted_key(void **state)
{
	struct pemfile c = pf("c.pem", cert1), e = pf("enc.pem", enc1);

	(void)state;
	assert_string_equal(parse(&c, &e, NULL), "the private key in enc.pem "
	    "is encrypted: give it unencrypted, readable only by its owner");
	assert_string_equal(parse(&c, &e, right_passphrase), "");
	assert_string_equal(parse(&c, &e, wrong_passphrase), "cannot decrypt "
	    "the private key in enc.pem (a wrong passphrase, or no terminal "
	    "to ask for it)");
}

static void
broken_second_certificate(void **state)
{
	char *bad = cat(cert1, "-----BEGIN CERTIFICATE-----\n!!!!\n"
	    "-----END CERTIFICATE-----\n");
	struct pemfile c = pf("c.pem", bad), k = pf("k.pem", key1);

	(void)state;
	assert_string_equal(parse(&c, &k, NULL), "c.pem: a certificate after "
	    "the first is unreadable");
	free(bad);
}

static void
short_error_buffer(void **state)
{
	struct pemfile c = pf("c.pem", cert1);
	struct pemid id;
	char err[8];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(pemid_parse(&id, &c, NULL, NULL, NULL, "--key", err,
	    sizeof(err)), -1);
	assert_int_equal(strlen(err), 7);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cert_and_key),
		cmocka_unit_test(chain_is_kept),
		cmocka_unit_test(mistakes_in_words),
		cmocka_unit_test(encrypted_key),
		cmocka_unit_test(broken_second_certificate),
		cmocka_unit_test(short_error_buffer),
	};

	return cmocka_run_group_tests_name("pemid", tests, setup, teardown);
}
