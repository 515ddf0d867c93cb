#include "admin/castore.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "admin/capass.h"
#include "config/file.h"
#include "core/util.h"

void
castore_path(const char *dir, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

int
castore_lock(struct castore *s, const char *dir, int exclusive, char *err,
    size_t errlen)
{
	char path[PATH_MAX];

	s->dir = dir;
	castore_path(dir, "lock", path, sizeof(path));
	s->lockfd = open(path, (exclusive ? O_RDWR | O_CREAT : O_RDONLY) |
	    O_CLOEXEC | O_NOFOLLOW, 0600);
	if (s->lockfd == -1) {
		if (!exclusive && errno == ENOENT)
			return 0;	/* nobody ever changed it: nothing to wait for */
		util_errno(err, errlen, "cannot open %s", path);
		return -1;
	}
	if (flock(s->lockfd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			snprintf(err, errlen, "%s is in use: another 'sshgate "
			    "ca' command holds %s; try again when it is done",
			    dir, path);
		else
			util_errno(err, errlen, "cannot lock %s", path);
		close(s->lockfd);
		s->lockfd = -1;
		return -1;
	}
	return 0;
}

/*
 * Reads dir/name into a new buffer; a secret one only if its group and
 * others have no access (file_read_secret). Returns 0, or -1 with err.
 */
static int
read_file(const char *dir, const char *name, int secret, char **buf,
    size_t *len, char *err, size_t errlen)
{
	char path[PATH_MAX], why[256];

	castore_path(dir, name, path, sizeof(path));
	if ((secret ? file_read_secret : file_read)(path, CASTORE_FILE_MAX,
	    buf, len, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		return -1;
	}
	return 0;
}

static const char *
ssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

	return r != NULL ? r : "no PEM data";
}

/* What OpenSSL's passphrase callback did, for the message after it. */
struct key_pass {
	const char *dir;
	int asked;		/* the key is encrypted */
	int got;		/* and a passphrase was given */
	char why[512];
};

static int
key_passphrase(char *buf, int size, int rwflag, void *u)
{
	struct key_pass *kp = u;
	char prompt[PATH_MAX + 64];
	int n;

	(void)rwflag;
	if (kp->asked++ > 0)
		return -1;	/* one try: a wrong one is said, not asked again */
	snprintf(prompt, sizeof(prompt), "Passphrase for %s/ca.key: ",
	    kp->dir);
	n = capass_get(prompt, 0, buf, (size_t)size, kp->why,
	    sizeof(kp->why));
	kp->got = n > 0;
	return n > 0 ? n : -1;
}

static int
load_key(struct castore *s, char *err, size_t errlen)
{
	struct key_pass kp;
	char *text;
	size_t len;
	BIO *b;

	if (read_file(s->dir, "ca.key", 1, &text, &len, err, errlen) == -1)
		return -1;
	memset(&kp, 0, sizeof(kp));
	kp.dir = s->dir;
	if ((b = BIO_new_mem_buf(text, (int)len)) != NULL)
		s->key = PEM_read_bio_PrivateKey(b, NULL, key_passphrase, &kp);
	BIO_free(b);
	OPENSSL_cleanse(text, len);
	free(text);
	if (s->key == NULL) {
		if (kp.asked && !kp.got)
			snprintf(err, errlen, "%s/ca.key is encrypted: %s",
			    s->dir, kp.why);
		else if (kp.asked)
			snprintf(err, errlen, "%s/ca.key: wrong passphrase (or "
			    "a damaged key): %s", s->dir, ssl_reason());
		else
			snprintf(err, errlen, "%s/ca.key: cannot read the CA "
			    "key: %s", s->dir, ssl_reason());
		return -1;
	}
	if (X509_check_private_key(s->cert, s->key) != 1) {
		snprintf(err, errlen, "%s/ca.key does not match %s/ca.pem",
		    s->dir, s->dir);
		return -1;
	}
	return 0;
}

static int
load_cert(struct castore *s, char *err, size_t errlen)
{
	char *text;
	size_t len;
	BIO *b;

	if (read_file(s->dir, "ca.pem", 0, &text, &len, err, errlen) == -1)
		return -1;
	if ((b = BIO_new_mem_buf(text, (int)len)) != NULL)
		s->cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	free(text);
	if (s->cert == NULL) {
		snprintf(err, errlen, "%s/ca.pem: no CA certificate: %s",
		    s->dir, ssl_reason());
		return -1;
	}
	return 0;
}

static int
load_crl(struct castore *s, char *err, size_t errlen)
{
	char path[PATH_MAX], *text;
	size_t len;
	BIO *b;

	castore_path(s->dir, "crl.pem", path, sizeof(path));
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return 0;
	if (read_file(s->dir, "crl.pem", 0, &text, &len, err, errlen) == -1)
		return -1;
	if ((b = BIO_new_mem_buf(text, (int)len)) != NULL)
		s->crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL);
	BIO_free(b);
	free(text);
	if (s->crl == NULL) {
		snprintf(err, errlen, "%s: no CRL: %s", path, ssl_reason());
		return -1;
	}
	return 0;
}

static int
load_index(struct castore *s, char *err, size_t errlen)
{
	char *text, why[256];
	size_t len;
	int rc;

	if (read_file(s->dir, "index.txt", 0, &text, &len, err, errlen) == -1)
		return -1;
	rc = caindex_parse(&s->index, text, len, why, sizeof(why));
	free(text);
	if (rc == -1)
		snprintf(err, errlen, "%s/index.txt:%s", s->dir, why);
	return rc;
}

int
castore_open(struct castore *s, const char *dir, int exclusive,
    int want_key, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->lockfd = -1;
	s->dir = dir;
	caindex_init(&s->index);
	castore_path(dir, "ca.pem", path, sizeof(path));
	if (stat(path, &st) == -1) {
		if (errno == ENOENT)
			snprintf(err, errlen, "%s is not a CA directory (no "
			    "ca.pem; make one with 'sshgate ca init %s')",
			    dir, dir);
		else
			util_errno(err, errlen, "%s", path);
		return -1;
	}
	if (castore_lock(s, dir, exclusive, err, errlen) == -1 ||
	    load_cert(s, err, errlen) == -1 ||
	    (want_key && load_key(s, err, errlen) == -1) ||
	    load_index(s, err, errlen) == -1 ||
	    load_crl(s, err, errlen) == -1) {
		ERR_clear_error();
		castore_close(s);
		return -1;
	}
	return 0;
}

void
castore_close(struct castore *s)
{
	EVP_PKEY_free(s->key);
	X509_free(s->cert);
	X509_CRL_free(s->crl);
	caindex_free(&s->index);
	if (s->lockfd != -1)
		close(s->lockfd);
	s->key = NULL;
	s->cert = NULL;
	s->crl = NULL;
	s->lockfd = -1;
}

/* Makes a directory's new entries durable. */
static int
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
castore_write(const char *path, const void *data, size_t len, mode_t mode,
    int replace, char *err, size_t errlen)
{
	char dir[PATH_MAX], tmp[PATH_MAX];
	const char *slash = strrchr(path, '/'), *p = data;
	size_t left = len;
	ssize_t n;
	int fd;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else
		snprintf(dir, sizeof(dir), "%.*s", slash == path ? 1 :
		    (int)(slash - path), path);
	n = snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir,
	    slash != NULL ? slash + 1 : path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(err, errlen, "cannot write %s: path too long", path);
		return -1;
	}
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		util_errno(err, errlen, "cannot write %s", path);
		return -1;
	}
	if (fchmod(fd, mode) == -1)
		goto fail;
	while (left > 0) {
		if ((n = write(fd, p, left)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		left -= (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (replace ? rename(tmp, path) == -1 : link(tmp, path) == -1) {
		if (errno == EEXIST) {
			snprintf(err, errlen, "%s already exists: not "
			    "replaced", path);
			unlink(tmp);
			return -1;
		}
		goto fail;
	}
	if (!replace)
		unlink(tmp);
	if (sync_dir(dir) == -1) {
		util_errno(err, errlen, "cannot sync %s", dir);
		return -1;
	}
	return 0;
fail:
	util_errno(err, errlen, "cannot write %s", path);
	if (fd != -1)
		close(fd);
	unlink(tmp);
	return -1;
}

int
castore_save_index(struct castore *s, char *err, size_t errlen)
{
	char path[PATH_MAX], *text = caindex_format(&s->index);
	int rc;

	castore_path(s->dir, "index.txt", path, sizeof(path));
	if (text == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	rc = castore_write(path, text, strlen(text), 0644, 1, err, errlen);
	free(text);
	return rc;
}

/* The text written to b (freed here), as a new string. */
static char *
bio_text(BIO *b, int ok, size_t *len)
{
	char *p, *s = NULL;
	long n;

	if (b != NULL && ok) {
		n = BIO_get_mem_data(b, &p);
		if (n > 0 && (s = malloc((size_t)n + 1)) != NULL) {
			memcpy(s, p, (size_t)n);
			s[n] = '\0';
			*len = (size_t)n;
		}
	}
	BIO_free(b);
	return s;
}

char *
castore_pem_cert(X509 *x, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());

	return bio_text(b, b != NULL && PEM_write_bio_X509(b, x) == 1, len);
}

char *
castore_pem_crl(X509_CRL *crl, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());

	return bio_text(b, b != NULL && PEM_write_bio_X509_CRL(b, crl) == 1,
	    len);
}

char *
castore_pem_req(X509_REQ *req, size_t *len)
{
	BIO *b = BIO_new(BIO_s_mem());

	return bio_text(b, b != NULL && PEM_write_bio_X509_REQ(b, req) == 1,
	    len);
}

char *
castore_pem_key(EVP_PKEY *key, const char *pass, size_t *len)
{
	BIO *b = BIO_new(BIO_s_secmem());

	if (pass != NULL)
		return bio_text(b, b != NULL && PEM_write_bio_PKCS8PrivateKey(b,
		    key, EVP_aes_256_cbc(), pass, (int)strlen(pass), NULL,
		    NULL) == 1, len);
	return bio_text(b, b != NULL && PEM_write_bio_PrivateKey(b, key, NULL,
	    NULL, 0, NULL, NULL) == 1, len);
}
