#include "admin/capass.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "client/askpass.h"
#include "config/file.h"

/* The first line of the file named by CAPASS_ENV. */
static int
from_file(const char *path, char *buf, size_t len, char *err,
    size_t errlen)
{
	char *text, why[256];
	size_t n, textlen;

	if (file_read_secret(path, CAPASS_MAX, &text, &textlen, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "%s (%s): %s", path, CAPASS_ENV, why);
		return -1;
	}
	n = strcspn(text, "\r\n");
	if (n == 0 || n >= len)
		snprintf(err, errlen, "%s (%s): %s", path, CAPASS_ENV, n == 0 ?
		    "its first line is empty" : "the passphrase is too long");
	else {
		memcpy(buf, text, n);
		buf[n] = '\0';
	}
	OPENSSL_cleanse(text, textlen);
	free(text);
	return n == 0 || n >= len ? -1 : (int)n;
}

int
capass_get(const char *prompt, int confirm, char *buf, size_t len,
    char *err, size_t errlen)
{
	const char *path = getenv(CAPASS_ENV);
	char again[CAPASS_MAX];
	int tty, n, m;

	if (path != NULL && *path != '\0')
		return from_file(path, buf, len, err, errlen);
	if ((tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errlen, "no terminal to ask for the passphrase "
		    "on: name a file holding it in $%s", CAPASS_ENV);
		return -1;
	}
	n = askpass(tty, prompt, buf, len);
	if (n > 0 && confirm) {
		m = askpass(tty, "Again: ", again, sizeof(again));
		if (m != n || strcmp(again, buf) != 0)
			n = -2;
		OPENSSL_cleanse(again, sizeof(again));
	}
	close(tty);
	if (n <= 0)
		snprintf(err, errlen, "%s", n == -2 ? "the passphrases differ" :
		    "no passphrase given");
	return n > 0 ? n : -1;
}
