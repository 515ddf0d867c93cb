#include "gateway/tickets.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "config/file.h"
#include "core/ticketkeys.h"

#define TICKETS_FILE_MAX (64 * 1024)	/* 64 keys are 7 KiB */

/* The index of a context's keys among its ex_data, made once. */
static int keys_index = -1;
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

/* OpenSSL frees a context's keys with it: cleansed first. */
static void
keys_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (ptr != NULL)
		OPENSSL_clear_free(ptr, sizeof(struct ticketkeys));
}

static void
make_index(void)
{
	keys_index = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, keys_free);
}

/*
 * OpenSSL's ticket key callback. enc: a new ticket, under the first
 * key (name, random IV). Else a ticket offered under name: 1 to take
 * it under the first key, 2 to take it and issue a new one under the
 * first key (it was made under an older one), 0 when no key has that
 * name (dropped in a rotation, or another fleet's): a full handshake.
 * -1 on failure.
 */
static int
ticket_key(SSL *ssl, unsigned char name[16], unsigned char *iv,
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	const struct ticketkeys *k = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
	    keys_index);
	const EVP_CIPHER *aes = EVP_aes_256_cbc();
	const struct ticketkey *key;
	char digest[] = "SHA256";
	OSSL_PARAM params[3];
	size_t i = 0;

	if (k == NULL || k->n == 0)
		return -1;
	if (enc) {
		key = &k->v[0];
		memcpy(name, key->name, TICKETKEY_NAME_LEN);
		if (RAND_bytes(iv, EVP_CIPHER_get_iv_length(aes)) != 1 ||
		    EVP_EncryptInit_ex(cctx, aes, NULL, key->aes, iv) != 1)
			return -1;
	} else {
		while (i < k->n && memcmp(k->v[i].name, name,
		    TICKETKEY_NAME_LEN) != 0)
			i++;
		if (i == k->n)
			return 0;
		key = &k->v[i];
		if (EVP_DecryptInit_ex(cctx, aes, NULL, key->aes, iv) != 1)
			return -1;
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    (void *)(uintptr_t)key->hmac, TICKETKEY_HMAC_LEN);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    digest, 0);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hctx, params) != 1)
		return -1;
	return enc || i == 0 ? 1 : 2;
}

/* Where a key file's errors go: at the key file's lines. */
struct key_errors {
	struct conf_errors *errs;
	const struct conf *c;
};

static void
key_error(void *arg, int line, const char *msg)
{
	const struct key_errors *ke = arg;
	const struct conf *c = ke->c;

	if (line == 0)		/* about the file as a whole */
		conf_error(ke->errs, c->ticket_keys_at.file,
		    c->ticket_keys_at.line, "tls-ticket-keys %s: %s",
		    c->ticket_keys, msg);
	else
		conf_error(ke->errs, c->ticket_keys, line, "%s", msg);
}

int
tickets_setup(SSL_CTX *ctx, const struct conf *c, struct conf_errors *errs)
{
	struct key_errors ke = { errs, c };
	struct ticketkeys *keys = NULL;
	char *text = NULL, err[512];
	size_t len = 0;
	int rc = -1;

	if (c->ticket_keys == NULL)
		return 0;
	if (pthread_once(&keys_once, make_index) != 0 || keys_index == -1) {
		conf_error(errs, c->ticket_keys_at.file, c->ticket_keys_at.line,
		    "tls-ticket-keys: cannot attach keys to a TLS context");
		return -1;
	}
	if (file_read_secret(c->ticket_keys, TICKETS_FILE_MAX, &text, &len,
	    err, sizeof(err)) == -1) {
		conf_error(errs, c->ticket_keys_at.file, c->ticket_keys_at.line,
		    "tls-ticket-keys %s: %s", c->ticket_keys, err);
		return -1;
	}
	if ((keys = OPENSSL_zalloc(sizeof(*keys))) == NULL) {
		conf_error(errs, c->ticket_keys_at.file, c->ticket_keys_at.line,
		    "out of memory");
		goto out;
	}
	if (ticketkeys_parse(text, len, keys, key_error, &ke) == -1)
		goto out;
	if (SSL_CTX_set_ex_data(ctx, keys_index, keys) != 1) {
		conf_error(errs, c->ticket_keys_at.file, c->ticket_keys_at.line,
		    "tls-ticket-keys: cannot attach keys to a TLS context");
		goto out;
	}
	keys = NULL;		/* the context's now: freed with it */
	if (SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_key) != 1) {
		conf_error(errs, c->ticket_keys_at.file, c->ticket_keys_at.line,
		    "tls-ticket-keys: OpenSSL refused the ticket key callback");
		goto out;
	}
	rc = 0;
out:
	if (keys != NULL)
		OPENSSL_clear_free(keys, sizeof(*keys));
	OPENSSL_cleanse(text, len);
	free(text);
	ERR_clear_error();
	return rc;
}

int
tickets_new_key(char *out, size_t outlen)
{
	unsigned char raw[TICKETKEY_LEN];
	int rc = -1;

	if (RAND_priv_bytes(raw, sizeof(raw)) == 1)
		rc = ticketkeys_format(raw, out, outlen);
	OPENSSL_cleanse(raw, sizeof(raw));
	return rc;
}
