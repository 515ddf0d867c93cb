/*
 * ctl: `sshgate ctl`, the client of a running gateway's control socket
 * (-s SOCKET, else $SSHGATE_CONTROL, else the default path that `control`
 * alone gives the gateway). It sends one request line, every word quoted (core/ctlproto.h), and
 * prints the answer: "ok" or "error" on the first line, then the text.
 */
#include "admin/ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/ctlproto.h"
#include "core/util.h"

#define READ_CHUNK 65536	/* bytes of the answer read at once */

/*
 * The request for argv[0..argc): every word quoted, so that a name with
 * blanks or quotes stays one word. Returns it (caller frees) with its
 * length in *len, or NULL: *len is 0 if a word holds a line break, else
 * memory ran out. How long a request may be is the gateway's to say.
 */
static char *
request(int argc, char **argv, size_t *len)
{
	size_t need = 1, n, k;
	char *req;
	int i;

	*len = 0;
	for (i = 0; i < argc; i++) {
		if ((k = ctl_quote(argv[i], NULL, 0)) == 0)
			return NULL;
		need += k + 1;
	}
	if ((req = malloc(need)) == NULL) {
		*len = need;
		return NULL;
	}
	for (i = 0, n = 0; i < argc; i++) {
		if (i > 0)
			req[n++] = ' ';
		n += ctl_quote(argv[i], req + n, need - n);
	}
	req[n++] = '\n';
	*len = n;
	return req;
}

/* Sends all of buf; returns 0, or -1 with errno. */
static int
send_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = send(fd, buf, len, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int
ctl_main(int argc, char **argv)
{
	struct sockaddr_un sun;
	char head[8], buf[READ_CHUNK], *req;
	const char *path = NULL;
	size_t len, hlen = 0;
	ssize_t n;
	int fd, ok = 0, werr = 0;
	FILE *to = NULL;

	if (argc >= 3 && strcmp(argv[1], "-s") == 0) {
		path = argv[2];
		argc -= 2;
		argv += 2;
	} else if ((path = getenv("SSHGATE_CONTROL")) == NULL || *path == '\0')
		path = CTL_DEFAULT_PATH;	/* as `control` alone says */
	if (argc < 2) {
		fprintf(stderr, "usage: %s\n", CTL_USAGE);
		return 2;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) > CTL_PATH_MAX) {
		fprintf(stderr, "sshgate: ctl: socket path longer than %d "
		    "bytes: %s\n", CTL_PATH_MAX, path);
		return 2;
	}
	util_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if ((req = request(argc - 1, argv + 1, &len)) == NULL) {
		fprintf(stderr, "sshgate: ctl: %s\n", len == 0 ? "an argument "
		    "cannot hold a line break" : "out of memory");
		return len == 0 ? 2 : 1;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "sshgate: ctl: cannot reach the gateway at %s: "
		    "%s\n", path, strerror(errno));
		if (fd != -1)
			close(fd);
		free(req);
		return 1;
	}
	/*
	 * A gateway that refuses the request (too long) answers and stops
	 * reading: a failed send still leaves its answer to read.
	 */
	if (send_all(fd, req, len) == -1)
		werr = errno;
	else
		(void)shutdown(fd, SHUT_WR);
	free(req);
	/* "ok" or "error" on the first line, then the text */
	for (;;) {
		char *p = buf, *nl;
		size_t k, w;

		if ((n = read(fd, buf, sizeof(buf))) == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* the end, or a reset after the answer */
		k = (size_t)n;
		if (to == NULL) {
			nl = memchr(buf, '\n', k);
			w = nl != NULL ? (size_t)(nl - buf) : k;
			if (hlen + w > sizeof(head))
				break;	/* not a status line */
			memcpy(head + hlen, buf, w);
			hlen += w;
			if (nl == NULL)
				continue;
			ok = hlen == 2 && memcmp(head, "ok", 2) == 0;
			if (!ok && (hlen != 5 || memcmp(head, "error", 5) != 0))
				break;
			to = ok ? stdout : stderr;
			k -= w + 1;
			p = nl + 1;
		}
		fwrite(p, 1, k, to);
	}
	close(fd);
	if (to == NULL) {
		fprintf(stderr, "sshgate: ctl: no answer from the gateway%s%s\n",
		    werr != 0 ? ": " : "", werr != 0 ? strerror(werr) : "");
		return 1;
	}
	return ok ? 0 : 1;
}
