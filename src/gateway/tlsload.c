/*
 * tlsload: the files behind `certificate`, `client-ca` and `crl`, read
 * with file_read (regular files only, never waited on) and handed to
 * OpenSSL from memory, with errors in words at the directive's line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "config/file.h"
#include "core/pemid.h"
#include "gateway/tls.h"

#define TLS_FILE_MAX (16u << 20)	/* a CA bundle or CRL larger is a mistake */

/* A daemon never prompts: an encrypted key is an error, not a question. */
int
tls_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

/* A file named by the config, read whole (regular files only). */
struct blob {
	char *data;
	size_t len;
};

static int
load_blob(const char *path, const char *kw, const char *file, int line,
    struct blob *b, struct conf_errors *errs)
{
	char why[128];

	if (file_read(path, TLS_FILE_MAX, &b->data, &b->len, why,
	    sizeof(why)) == -1) {
		conf_error(errs, file, line, "%s: cannot load %s: %s", kw, path,
		    why);
		return -1;
	}
	return 0;
}

/* An ASN.1 time as Unix time; 0 if there is none or it is unreadable. */
static time_t
unix_time(const ASN1_TIME *t)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return timegm(&tm);
}

/* Notes when x runs out, as what file is for. */
static void
note_cert(struct lifetimes *life, enum lifetime_role role, const char *file,
    X509 *x)
{
	char what[160];
	time_t when = unix_time(X509_get0_notAfter(x));

	if (life == NULL || when == 0)
		return;
	X509_NAME_oneline(X509_get_subject_name(x), what, sizeof(what));
	(void)lifetimes_add(life, role, file, what, when);
}

/* Notes when crl (of the crl file path) must be renewed. */
static void
note_crl(struct lifetimes *life, const char *path, X509_CRL *crl)
{
	char what[160];
	time_t when = unix_time(X509_CRL_get0_nextUpdate(crl));

	if (life == NULL || when == 0)
		return;
	X509_NAME_oneline(X509_CRL_get_issuer(crl), what, sizeof(what));
	(void)lifetimes_add(life, LIFE_CRL, path, what, when);
}

/* A read-only BIO over the blob (which must outlive it). */
static BIO *
blob_bio(const struct blob *b)
{
	return BIO_new_mem_buf(b->data, (int)b->len);
}

/* After a loop of PEM reads: 1 if it stopped at the end, not an error. */
static int
pem_end(void)
{
	unsigned long e = ERR_peek_last_error();

	if (e == 0 || (ERR_GET_LIB(e) == ERR_LIB_PEM &&
	    ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
		ERR_clear_error();
		return 1;
	}
	return 0;
}

int
tls_load_cas(SSL_CTX *ctx, const struct conf *c, struct lifetimes *life,
    struct conf_errors *errs)
{
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	STACK_OF(X509_NAME) *names = sk_X509_NAME_new_null();
	struct blob b = { NULL, 0 };
	X509_NAME *nm;
	BIO *bio = NULL;
	X509 *x;
	int n = 0, rc = -1;

	if (names == NULL || load_blob(c->client_ca, "client-ca",
	    c->client_ca_at.file, c->client_ca_at.line, &b, errs) == -1)
		goto out;
	if ((bio = blob_bio(&b)) == NULL)
		goto bad;
	while ((x = PEM_read_bio_X509_AUX(bio, NULL, tls_no_passphrase,
	    NULL)) != NULL) {
		nm = X509_NAME_dup(X509_get_subject_name(x));
		if (X509_STORE_add_cert(store, x) != 1 || nm == NULL ||
		    sk_X509_NAME_push(names, nm) == 0) {
			X509_NAME_free(nm);
			X509_free(x);
			goto bad;
		}
		note_cert(life, LIFE_CLIENT_CA, c->client_ca, x);
		X509_free(x);
		n++;
	}
	if (!pem_end())
		goto bad;
	if (n == 0) {
		conf_error(errs, c->client_ca_at.file, c->client_ca_at.line,
		    "client-ca: cannot load %s: no certificate in it",
		    c->client_ca);
		goto out;
	}
	SSL_CTX_set_client_CA_list(ctx, names);
	names = NULL;
	rc = 0;
	goto out;
bad:
	conf_error(errs, c->client_ca_at.file, c->client_ca_at.line, "client-ca: "
	    "cannot load %s: %s", c->client_ca, tls_err_reason(
	    ERR_peek_last_error(), "not a PEM certificate"));
	ERR_clear_error();
out:
	sk_X509_NAME_pop_free(names, X509_NAME_free);
	BIO_free(bio);
	free(b.data);
	return rc;
}

/* Adds the CRLs of one file, PEM (one or more) or DER, to store. */
int
tls_load_crl(X509_STORE *store, const struct conf_path *cp,
    struct lifetimes *life, struct conf_errors *errs)
{
	struct blob b = { NULL, 0 };
	const unsigned char *p;
	X509_CRL *crl;
	BIO *bio;
	int n = 0, ok = 1;

	if (load_blob(cp->path, "crl", cp->file, cp->line, &b, errs) == -1)
		return -1;
	if ((bio = blob_bio(&b)) != NULL) {
		while ((crl = PEM_read_bio_X509_CRL(bio, NULL, tls_no_passphrase,
		    NULL)) != NULL) {
			ok = X509_STORE_add_crl(store, crl) == 1;
			note_crl(life, cp->path, crl);
			X509_CRL_free(crl);
			if (!ok)
				break;
			n++;
		}
		BIO_free(bio);
	}
	ERR_clear_error();
	if (n == 0 && ok) {
		p = (const unsigned char *)b.data;
		if ((crl = d2i_X509_CRL(NULL, &p, (long)b.len)) != NULL) {
			ok = X509_STORE_add_crl(store, crl) == 1;
			note_crl(life, cp->path, crl);
			X509_CRL_free(crl);
			n++;
		}
		ERR_clear_error();
	}
	free(b.data);
	if (n == 0 || !ok) {
		conf_error(errs, cp->file, cp->line, "crl: cannot load %s: %s",
		    cp->path, ok ? "not a CRL (PEM or DER)" : "out of memory");
		return -1;
	}
	return 0;
}

/* The certificate (and its chain) of one `certificate` line, and its key. */
void
tls_load_certificate(SSL_CTX *ctx, const struct conf_cert *ct,
    struct lifetimes *life, struct conf_errors *errs)
{
	struct blob cb = { NULL, 0 }, kb = { NULL, 0 };
	struct pemfile cf, kf;
	struct pemid id;
	char why[512];
	int i;

	if (load_blob(ct->cert, "certificate", ct->file, ct->line, &cb,
	    errs) == -1)
		goto out;
	if (ct->key != NULL && load_blob(ct->key, "certificate", ct->file,
	    ct->line, &kb, errs) == -1)
		goto out;
	cf = (struct pemfile){ ct->cert, cb.data, cb.len };
	kf = (struct pemfile){ ct->key, kb.data, kb.len };
	if (pemid_parse(&id, &cf, ct->key != NULL ? &kf : NULL, NULL, NULL,
	    "'key FILE'", why, sizeof(why)) == -1) {
		conf_error(errs, ct->file, ct->line, "certificate: %s", why);
		goto out;
	}
	note_cert(life, LIFE_GATEWAY, ct->cert, id.cert);
	/* as SSL_CTX_use_certificate_chain_file, from memory */
	if (SSL_CTX_use_certificate(ctx, id.cert) != 1 ||
	    SSL_CTX_clear_chain_certs(ctx) != 1)
		goto ssl_error;
	for (i = 0; i < sk_X509_num(id.chain); i++)
		if (SSL_CTX_add1_chain_cert(ctx, sk_X509_value(id.chain, i)) !=
		    1)
			goto ssl_error;
	if (SSL_CTX_use_PrivateKey(ctx, id.key) != 1)
		goto ssl_error;
	goto done;
ssl_error:
	conf_error(errs, ct->file, ct->line, "certificate: cannot use %s: %s",
	    ct->cert, tls_err_reason(ERR_peek_last_error(), "unknown error"));
	ERR_clear_error();
done:
	pemid_free(&id);
out:
	free(cb.data);
	free(kb.data);
}
