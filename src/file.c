#include "file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
size_text(size_t max, char *buf, size_t len)
{
	if (max >= (1u << 20) && max % (1u << 20) == 0)
		snprintf(buf, len, "%zu MiB", max >> 20);
	else if (max >= 1024 && max % 1024 == 0)
		snprintf(buf, len, "%zu KiB", max >> 10);
	else
		snprintf(buf, len, "%zu bytes", max);
}

int
file_read(const char *path, size_t max, char **buf, size_t *len, char *err,
    size_t errlen)
{
	struct stat st;
	char *p = NULL, lim[32];
	size_t n = 0;
	ssize_t r;
	int fd;

	*buf = NULL;
	*len = 0;
	/* O_NONBLOCK: opening a FIFO for reading must not wait for a writer */
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		goto fail;
	}
	if ((unsigned long long)st.st_size > max) {
		size_text(max, lim, sizeof(lim));
		snprintf(err, errlen, "larger than %s", lim);
		goto fail;
	}
	if ((p = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	/* the size may change under us: read what is there, up to st_size */
	while (n < (size_t)st.st_size) {
		r = read(fd, p + n, (size_t)st.st_size - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "%s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	p[n] = '\0';
	*buf = p;
	*len = n;
	return 0;
fail:
	free(p);
	close(fd);
	return -1;
}
