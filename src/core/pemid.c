#include "core/pemid.h"

#include <stdio.h>
#include <string.h>
#include <openssl/err.h>

/* Refuses to decrypt: the caller gave no way to ask for a passphrase. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

static BIO *
file_bio(const struct pemfile *f)
{
	return BIO_new_mem_buf(f->data, (int)f->len);
}

/* Says what a PEM file holds instead of a certificate. */
static void
not_a_cert(const struct pemfile *f, const char *keyopt, char *err,
    size_t errlen)
{
	const char *what = "no PEM certificate";

	if (strstr(f->data, "PRIVATE KEY-----") != NULL) {
		snprintf(err, errlen, "%s holds a private key, not a "
		    "certificate: give the certificate first, then the key "
		    "with %s", f->path, keyopt);
		return;
	}
	if (strstr(f->data, "-----BEGIN X509 CRL") != NULL)
		what = "a CRL, not a certificate";
	else if (strstr(f->data, "CERTIFICATE REQUEST-----") != NULL)
		what = "a certificate request, not a certificate";
	else if (strstr(f->data, "-----BEGIN ") == NULL)
		what = "no PEM text (DER? convert it with 'openssl x509 "
		    "-inform der')";
	snprintf(err, errlen, "%s holds %s", f->path, what);
}

/* The certificates after the first; NULL on a broken one or no memory. */
static STACK_OF(X509) *
read_chain(BIO *bio)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	unsigned long e;
	X509 *x;

	if (chain == NULL)
		return NULL;
	while ((x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL)
		if (!sk_X509_push(chain, x)) {
			X509_free(x);
			sk_X509_pop_free(chain, X509_free);
			return NULL;
		}
	e = ERR_peek_last_error();
	if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		sk_X509_pop_free(chain, X509_free);
		return NULL;
	}
	return chain;
}

int
pemid_parse(struct pemid *id, const struct pemfile *cert,
    const struct pemfile *key, pem_password_cb *pw, void *pwarg,
    const char *keyopt, char *err, size_t errlen)
{
	const struct pemfile *kf = key != NULL ? key : cert;
	BIO *bio = NULL;

	memset(id, 0, sizeof(*id));
	if ((bio = file_bio(cert)) == NULL)
		goto oom;
	if ((id->cert = PEM_read_bio_X509_AUX(bio, NULL, no_passphrase,
	    NULL)) == NULL) {
		not_a_cert(cert, keyopt, err, errlen);
		goto fail;
	}
	if ((id->chain = read_chain(bio)) == NULL) {
		snprintf(err, errlen, "%s: a certificate after the first is "
		    "unreadable", cert->path);
		goto fail;
	}
	BIO_free(bio);
	if ((bio = file_bio(kf)) == NULL)
		goto oom;
	ERR_clear_error();
	if ((id->key = PEM_read_bio_PrivateKey(bio, NULL, pw != NULL ? pw :
	    no_passphrase, pwarg)) == NULL) {
		if (strstr(kf->data, "ENCRYPTED") != NULL)
			snprintf(err, errlen, pw == NULL ? "the private key in %s "
			    "is encrypted: give it unencrypted, readable only "
			    "by its owner" : "cannot decrypt the private key in "
			    "%s (a wrong passphrase, or no terminal to ask "
			    "for it)", kf->path);
		else if (key == NULL)
			snprintf(err, errlen, "no private key in %s: %s is needed "
			    "(or append the key to %s)", cert->path, keyopt,
			    cert->path);
		else if (strstr(kf->data, "CERTIFICATE-----") != NULL)
			snprintf(err, errlen, "%s holds a certificate, not a "
			    "private key", kf->path);
		else
			snprintf(err, errlen, "no private key in %s", kf->path);
		goto fail;
	}
	if (X509_check_private_key(id->cert, id->key) != 1) {
		snprintf(err, errlen, "the key in %s does not match the "
		    "certificate in %s", kf->path, cert->path);
		goto fail;
	}
	BIO_free(bio);
	ERR_clear_error();
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	BIO_free(bio);
	ERR_clear_error();
	pemid_free(id);
	return -1;
}

void
pemid_free(struct pemid *id)
{
	X509_free(id->cert);
	sk_X509_pop_free(id->chain, X509_free);
	EVP_PKEY_free(id->key);
	memset(id, 0, sizeof(*id));
}
