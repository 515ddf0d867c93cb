/*
 * pemid: a certificate, its chain and its private key from PEM text, with
 * the commonest mistakes said in words naming the file: a certificate
 * given without its key, a key given as the certificate, a key that does
 * not match, a file of another kind, an encrypted key. Used by the
 * gateway (`certificate`) and by `connect --cert`. Pure: the callers read
 * the files.
 */
#ifndef SSHGATE_PEMID_H
#define SSHGATE_PEMID_H

#include <stddef.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

struct pemid {
	X509 *cert;
	STACK_OF(X509) *chain;	/* the certificates after the first */
	EVP_PKEY *key;
};

/* A PEM file's name and text (NUL-terminated, len bytes before the NUL). */
struct pemfile {
	const char *path;
	const char *data;
	size_t len;
};

/*
 * Parses cert (and key; NULL when the key is in cert's file). pw asks for
 * an encrypted key's passphrase, NULL to refuse encrypted keys. keyopt
 * is how the caller's user names a key file ("'key FILE'", "--key"), said
 * in the advice. Returns 0 and fills id, or -1 with err set (id empty).
 */
int pemid_parse(struct pemid *id, const struct pemfile *cert,
    const struct pemfile *key, pem_password_cb *pw, void *pwarg,
    const char *keyopt, char *err, size_t errlen);
void pemid_free(struct pemid *id);

#endif
