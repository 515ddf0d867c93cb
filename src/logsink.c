#include "logsink.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "file.h"

struct log_sink {
	enum log_target to;
	int fd;
	char *path;			/* LOG_TO_FILE */
	struct log_sink *next;		/* every open file sink, for reopen */
};

/* File sinks, for log_reopen_all(); touched only at open/close/reopen. */
static pthread_mutex_t files_lock = PTHREAD_MUTEX_INITIALIZER;
static struct log_sink *files;

struct log_sink *
log_sink_open(enum log_target to, const char *path, int facility, char *err,
    size_t errlen)
{
	struct log_sink *s = calloc(1, sizeof(*s));
	char why[256];

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->to = to;
	switch (to) {
	case LOG_TO_STDERR:
		s->fd = STDERR_FILENO;
		break;
	case LOG_TO_STDOUT:
		s->fd = STDOUT_FILENO;
		break;
	case LOG_TO_SYSLOG:
		s->fd = -1;
		openlog("sshgate", LOG_PID | LOG_NDELAY, facility);
		break;
	case LOG_TO_FILE:
		if ((s->fd = file_open_log(path, why, sizeof(why))) == -1 ||
		    (s->path = strdup(path)) == NULL) {
			snprintf(err, errlen, "cannot open log file %s: %s",
			    path, s->fd == -1 ? why : strerror(errno));
			if (s->fd != -1)
				close(s->fd);
			free(s);
			return NULL;
		}
		pthread_mutex_lock(&files_lock);
		s->next = files;
		files = s;
		pthread_mutex_unlock(&files_lock);
		break;
	}
	return s;
}

void
log_sink_write(struct log_sink *s, const char *line, size_t len)
{
	ssize_t n;

	if (s->to == LOG_TO_SYSLOG) {
		syslog(LOG_INFO, "%.*s", (int)(len - 1), line);
		return;
	}
	/* one write per record: O_APPEND and pipes keep records whole */
	do
		n = write(s->fd, line, len);
	while (n == -1 && errno == EINTR);
}

void
log_sink_close(struct log_sink *s)
{
	struct log_sink **pp;

	if (s == NULL)
		return;
	if (s->to == LOG_TO_FILE) {
		pthread_mutex_lock(&files_lock);
		for (pp = &files; *pp != NULL; pp = &(*pp)->next)
			if (*pp == s) {
				*pp = s->next;
				break;
			}
		pthread_mutex_unlock(&files_lock);
		close(s->fd);
		free(s->path);
	}
	free(s);
}

void
log_sink_chown(struct log_sink *s, unsigned uid, unsigned gid)
{
	struct stat st;

	/* decided on what the fd is now: never a device, never linked */
	if (s != NULL && s->to == LOG_TO_FILE && geteuid() == 0 &&
	    fstat(s->fd, &st) == 0 &&
	    file_log_kind(st.st_mode, st.st_nlink) == FILE_LOG_REGULAR)
		(void)fchown(s->fd, (uid_t)uid, (gid_t)gid);
}

int
log_reopen_all(void)
{
	struct log_sink *s;
	char why[256];
	int fd, bad = 0;

	pthread_mutex_lock(&files_lock);
	for (s = files; s != NULL; s = s->next) {
		fd = file_open_log(s->path, why, sizeof(why));
		/*
		 * dup3 swaps the file under the same fd number: a worker
		 * writing now writes whole records to the old file or the new.
		 */
		if (fd != -1 && dup3(fd, s->fd, O_CLOEXEC) == -1) {
			snprintf(why, sizeof(why), "%s", strerror(errno));
			close(fd);
			fd = -1;
		}
		if (fd == -1) {
			log_err("cannot reopen log file %s: %s; still writing "
			    "to the old file", s->path, why);
			bad = -1;
			continue;
		}
		close(fd);
	}
	pthread_mutex_unlock(&files_lock);
	return bad;
}

static void
vmsg(const char *level, const char *fmt, va_list ap)
{
	char buf[2048];
	int n;

	n = snprintf(buf, sizeof(buf), "sshgate: %s", level);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, (size_t)n) == -1)
		return;		/* nowhere left to complain */
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void
log_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("error: ", fmt, ap);
	va_end(ap);
}
