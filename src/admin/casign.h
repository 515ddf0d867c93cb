/*
 * casign: the X.509 objects `sshgate ca` makes, with OpenSSL's API: keys,
 * the CA certificate, client and gateway certificates, CRLs, and the
 * public key out of a user's certificate request. No file I/O (castore
 * does that); every failure says what and why into the caller's buffer.
 */
#ifndef SSHGATE_CASIGN_H
#define SSHGATE_CASIGN_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

#include "core/caindex.h"

#define CASIGN_BACKDATE 300	/* seconds: notBefore is this long ago */

/* A new key: "ecdsa" (P-256), "ed25519" or "rsa" (3072 bits). NULL: unknown kind or no memory. */
EVP_PKEY *casign_new_key(const char *kind);

/* A self-signed CA certificate named CN=name, valid secs. Caller frees. */
X509 *casign_ca(EVP_PKEY *key, const char *name, long secs, char *err,
    size_t errlen);

/* What a leaf certificate says. */
struct casign_leaf {
	enum caindex_kind kind;
	const char *name;		/* the CN */
	const char *const *groups;	/* client: one OU each */
	size_t ngroups;
	const char *const *sans;	/* gateway: DNS names and addresses */
	size_t nsans;
	long secs;			/* valid this long from now */
	EVP_PKEY *pub;			/* its public key */
};

/*
 * Signs a client or gateway certificate with the CA, under a random
 * 16-byte serial, positive, 126 bits of it random (hex into serial,
 * CAINDEX_SERIAL_MAX + 1 bytes).
 * Refuses one that would outlive the CA. Returns it (caller frees), or
 * NULL with err set.
 */
X509 *casign_leaf(X509 *ca, EVP_PKEY *cakey, const struct casign_leaf *l,
    char *serial, char *err, size_t errlen);

/*
 * A v2 CRL listing ix's revoked certificates, valid secs from now,
 * numbered one more than prev's CRL number (1 without prev). Returns
 * it (caller frees), or NULL with err set.
 */
X509_CRL *casign_crl(X509 *ca, EVP_PKEY *cakey, const struct caindex *ix,
    const X509_CRL *prev, long secs, char *err, size_t errlen);

/*
 * The public key of a PEM certificate request (text of len bytes from
 * path), once its signature verifies; subject (if not NULL, size
 * sublen) gets the subject it asked for, which nobody signs. Returns the
 * key (caller frees), or NULL with err set.
 */
EVP_PKEY *casign_csr_key(const char *path, const char *text, size_t len,
    char *subject, size_t sublen, char *err, size_t errlen);

/* A certificate request for CN=name, signed with key. Caller frees. */
X509_REQ *casign_request(EVP_PKEY *key, const char *name);

/* The time an ASN1_TIME names, or 0 if unreadable. */
time_t casign_time(const ASN1_TIME *t);

#endif
