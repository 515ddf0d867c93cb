#include "client/sesscache.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "core/util.h"

#define CACHE_ENTRIES 64	/* sessions kept, newest first */
#define SESSION_MAX 8192	/* bytes of one encoded session */

void
sesscache_key(char out[65], const char *host, unsigned port,
    const char *target, const char *ca, const char *cert, const char *key,
    int insecure)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	char text[4096];
	int i;

	snprintf(text, sizeof(text), "%s\n%u\n%s\n%s\n%s\n%s\n%d", host, port,
	    target, ca != NULL ? ca : "-", cert != NULL ? cert : "-",
	    key != NULL ? key : "-", insecure);
	EVP_Digest(text, strlen(text), md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

/* The cache directory (made 0700 if missing) into buf; 0 or -1. */
static int
cache_dir(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char parent[4096];

	if (xdg != NULL && xdg[0] == '/')
		snprintf(parent, sizeof(parent), "%s", xdg);
	else if (home != NULL && home[0] == '/')
		snprintf(parent, sizeof(parent), "%s/.cache", home);
	else
		return -1;
	if (mkdir(parent, 0700) == -1 && errno != EEXIST)
		return -1;
	if ((size_t)snprintf(buf, len, "%s/sshgate", parent) >= len)
		return -1;
	if (mkdir(buf, 0700) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/*
 * Takes the cache's exclusive lock (held until the returned fd is
 * closed) and puts the cache file's path into path. Returns the fd or -1.
 */
static int
lock_cache(char *path, size_t len)
{
	char dir[4200], lock[4300];
	int fd;

	if (cache_dir(dir, sizeof(dir)) == -1)
		return -1;
	snprintf(lock, sizeof(lock), "%s/sessions.lock", dir);
	if ((size_t)snprintf(path, len, "%s/sessions", dir) >= len)
		return -1;
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1)
		return -1;
	if (flock(fd, LOCK_EX) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

SSL_SESSION *
sesscache_load(const char *key, SSL_CTX *ctx)
{
	unsigned char der[SESSION_MAX];
	const unsigned char *p = der;
	char path[4400], *line = NULL;
	SSL_SESSION *sess = NULL;
	size_t cap = 0, i, n;
	ssize_t len;
	FILE *f;
	int lock;

	(void)ctx;
	if ((lock = lock_cache(path, sizeof(path))) == -1)
		return NULL;
	if ((f = fopen(path, "r")) != NULL) {
		while (sess == NULL && (len = getline(&line, &cap, f)) > 65) {
			if (strncmp(line, key, 64) != 0 || line[64] != ' ')
				continue;
			for (i = 65, n = 0; i + 1 < (size_t)len &&
			    util_hexval(line[i]) >= 0 &&
			    util_hexval(line[i + 1]) >= 0 &&
			    n < sizeof(der); i += 2)
				der[n++] = (unsigned char)
				    (util_hexval(line[i]) << 4 |
				    util_hexval(line[i + 1]));
			p = der;
			sess = d2i_SSL_SESSION(NULL, &p, (long)n);
			if (sess != NULL && (!SSL_SESSION_is_resumable(sess) ||
			    SSL_SESSION_get_time(sess) +
			    SSL_SESSION_get_timeout(sess) < time(NULL))) {
				SSL_SESSION_free(sess);
				sess = NULL;
			}
		}
		fclose(f);
	}
	free(line);
	close(lock);
	return sess;
}

/* Rewrites the cache without key's entry, or adds sess (newest first). */
static void
rewrite(const char *key, SSL_SESSION *sess);

void
sesscache_forget(const char *key)
{
	rewrite(key, NULL);
}

void
sesscache_store(const char *key, SSL_SESSION *sess)
{
	rewrite(key, sess);
}

static void
rewrite(const char *key, SSL_SESSION *sess)
{
	char path[4400], tmp[4500], *line = NULL;
	unsigned char *der = NULL;
	size_t cap = 0;
	ssize_t len;
	int lock, fd, kept = 1, n, i;
	FILE *in, *out;

	n = sess != NULL ? i2d_SSL_SESSION(sess, &der) : 0;
	if (sess != NULL && (n <= 0 || n > SESSION_MAX)) {
		OPENSSL_free(der);
		return;
	}
	if ((lock = lock_cache(path, sizeof(path))) == -1) {
		OPENSSL_free(der);
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1 || (out = fdopen(fd, "w")) == NULL) {
		if (fd != -1)
			close(fd);
		goto done;
	}
	/* the new one first, then the others, older ones falling off */
	if (sess != NULL) {
		fprintf(out, "%s ", key);
		for (i = 0; i < n; i++)
			fprintf(out, "%02x", der[i]);
		fputc('\n', out);
	} else
		kept = 0;
	if ((in = fopen(path, "r")) != NULL) {
		while (kept < CACHE_ENTRIES &&
		    (len = getline(&line, &cap, in)) > 65) {
			if (strncmp(line, key, 64) == 0 ||
			    line[len - 1] != '\n')
				continue;
			fputs(line, out);
			kept++;
		}
		fclose(in);
	}
	if (fclose(out) == 0)
		(void)rename(tmp, path);
	else
		(void)unlink(tmp);
done:
	free(line);
	OPENSSL_free(der);
	close(lock);
}
