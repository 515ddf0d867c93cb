/*
 * castore: a CA directory on disk.
 *
 *   DIR/ca.key     the CA's private key (PEM, mode 0600; encrypted with a
 *                  passphrase if init was given --encrypt: admin/capass)
 *   DIR/ca.pem     the CA certificate: the gateway's `client-ca`,
 *                  HAProxy's `ca-file`, `sshgate connect --ca`
 *   DIR/crl.pem    the CRL: the gateway's `crl`, HAProxy's `crl-file`
 *   DIR/index.txt  what was issued and revoked (core/caindex)
 *   DIR/certs/SERIAL.pem  a copy of each certificate issued
 *   DIR/lock       flock()ed while a command reads or changes the CA
 *
 * Every file is written whole or not at all: into a temporary file in
 * the same directory, fsync, then rename (or link, where an existing
 * file must not be replaced), then fsync of the directory.
 */
#ifndef SSHGATE_CASTORE_H
#define SSHGATE_CASTORE_H

#include <stddef.h>
#include <sys/types.h>
#include <openssl/x509.h>

#include "core/caindex.h"

#define CASTORE_FILE_MAX (64u << 20)

struct castore {
	const char *dir;
	int lockfd;		/* -1: not locked */
	EVP_PKEY *key;
	X509 *cert;
	X509_CRL *crl;		/* NULL if there is none yet */
	struct caindex index;
};

/*
 * Locks dir (exclusive: to change it; else shared) without waiting.
 * Returns 0 with s->lockfd set, or -1 with err set (another command
 * holds the lock, or dir is not a CA directory).
 */
int castore_lock(struct castore *s, const char *dir, int exclusive,
    char *err, size_t errlen);

/*
 * Locks dir and loads the CA: key (unless want_key is 0), certificate,
 * index and CRL. Returns 0, or -1 with err set (s closed).
 */
int castore_open(struct castore *s, const char *dir, int exclusive,
    int want_key, char *err, size_t errlen);

/* Frees what s holds and releases the lock. */
void castore_close(struct castore *s);

/*
 * Writes len bytes of data to path whole, with mode. replace 0: fails
 * (EEXIST) if path exists. Returns 0, or -1 with err set; on failure
 * nothing is left behind.
 */
int castore_write(const char *path, const void *data, size_t len,
    mode_t mode, int replace, char *err, size_t errlen);

/* "DIR/name" into buf. */
void castore_path(const char *dir, const char *name, char *buf,
    size_t len);

/* Rewrites DIR/index.txt from s->index. Returns 0, or -1 with err set. */
int castore_save_index(struct castore *s, char *err, size_t errlen);

/*
 * PEM text of a certificate, CRL, request or key (caller frees; a key's
 * text should be wiped first). A key with pass (not NULL) is encrypted
 * with it (PKCS#8, AES-256-CBC).
 */
char *castore_pem_cert(X509 *x, size_t *len);
char *castore_pem_crl(X509_CRL *crl, size_t *len);
char *castore_pem_req(X509_REQ *req, size_t *len);
char *castore_pem_key(EVP_PKEY *key, const char *pass, size_t *len);

#endif
