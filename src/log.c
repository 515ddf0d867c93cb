#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
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

/* Appends with bounds: pos may exceed len; nothing past len is written. */
struct out {
	char *buf;
	size_t len, pos;
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->pos < o->len) {
		size_t k = o->len - o->pos < n ? o->len - o->pos : n;

		memcpy(o->buf + o->pos, s, k);
	}
	o->pos += n;
}

static void
puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (>= 0x80), or 0. */
static size_t
utf8_len(const unsigned char *s)
{
	size_t n, i;
	unsigned cp;

	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1fu;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0fu;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07u;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int
text_plain(const char *s)
{
	const char *start = s;

	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++) {
		if (s - start == LOG_VALUE_MAX)
			return 0;
		unsigned char ch = (unsigned char)*s;

		if (ch <= ' ' || ch >= 0x7f || ch == '"' || ch == '=' ||
		    ch == '\\')
			return 0;
	}
	return 1;
}

/*
 * Writes a string value. JSON: standard escapes, valid UTF-8 kept,
 * invalid bytes as U+FFFD. Text: bare if harmless, else quoted with
 * C-like escapes and non-ASCII bytes as \xHH.
 */
static void
put_str(struct out *o, const char *s, int json)
{
	const char *end;
	char esc[8];

	if (!json && text_plain(s)) {
		puts_(o, s);
		return;
	}
	put(o, "\"", 1);
	for (end = s + LOG_VALUE_MAX; *s != '\0'; ) {
		unsigned char ch = (unsigned char)*s;
		size_t n;

		if (s >= end) {
			put(o, "...", 3);
			break;
		}
		if (ch == '"' || ch == '\\') {
			esc[0] = '\\';
			esc[1] = (char)ch;
			put(o, esc, 2);
		} else if (ch == '\n')
			put(o, "\\n", 2);
		else if (ch == '\t')
			put(o, "\\t", 2);
		else if (ch < 0x20 || ch == 0x7f) {
			snprintf(esc, sizeof(esc), json ? "\\u%04x" : "\\x%02x",
			    ch);
			puts_(o, esc);
		} else if (ch < 0x80)
			put(o, s, 1);
		else if (json) {
			if ((n = utf8_len((const unsigned char *)s)) != 0) {
				put(o, s, n);
				s += n;
				continue;
			}
			put(o, "\\ufffd", 6);
		} else {
			snprintf(esc, sizeof(esc), "\\x%02x", ch);
			puts_(o, esc);
		}
		s++;
	}
	put(o, "\"", 1);
}

static void
key(struct out *o, const char *k, int json)
{
	if (json) {
		put(o, o->pos > 1 ? ",\"" : "\"", o->pos > 1 ? 2 : 1);
		puts_(o, k);
		put(o, "\":", 2);
	} else {
		put(o, " ", 1);
		puts_(o, k);
		put(o, "=", 1);
	}
}

static void
field_str(struct out *o, const char *k, const char *v, int json)
{
	if (v == NULL)
		return;
	key(o, k, json);
	put_str(o, v, json);
}

static void
field_u64(struct out *o, const char *k, uint64_t v, int json)
{
	char num[32];

	key(o, k, json);
	snprintf(num, sizeof(num), "%llu", (unsigned long long)v);
	puts_(o, num);
}

/* A count that may be unknown (negative: left out). */
static void
field_num(struct out *o, const char *k, long v, int json)
{
	if (v >= 0)
		field_u64(o, k, (uint64_t)v, json);
}

size_t
log_format(const struct log_record *r, int json, char *buf, size_t len)
{
	struct out o = { buf, len - 1, 0 };	/* room kept for '\n' */
	char ts[80];
	struct tm tm;
	time_t secs = (time_t)r->time;
	int ms = (int)((r->time - (double)secs) * 1000);

	gmtime_r(&secs, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, ms < 0 ? 0 : ms > 999 ? 999 : ms);
	if (json) {
		put(&o, "{", 1);
		field_str(&o, "time", ts, 1);
	} else
		puts_(&o, ts);
	field_str(&o, "event", r->event, json);
	field_u64(&o, "conn", r->conn, json);
	field_str(&o, "client", r->client, json);
	field_str(&o, "sni", r->sni != NULL ? r->sni : "", json);
	field_str(&o, "result", r->result, json);
	field_str(&o, "reason", r->reason, json);
	field_str(&o, "user", r->user, json);
	field_str(&o, "groups", r->groups, json);
	field_str(&o, "cert_serial", r->cert_serial, json);
	field_str(&o, "cert_subject", r->cert_subject, json);
	field_str(&o, "route", r->route, json);
	field_str(&o, "dst", r->dst, json);
	field_str(&o, "tls", r->tls, json);
	if (r->tls_resumed) {
		key(&o, "tls_resumed", json);
		puts_(&o, json ? "true" : "yes");
	}
	field_num(&o, "handshake_ms", r->handshake_ms, json);
	field_num(&o, "connect_ms", r->connect_ms, json);
	field_num(&o, "duration_ms", r->duration_ms, json);
	field_u64(&o, "bytes_up", r->bytes_up, json);
	field_u64(&o, "bytes_down", r->bytes_down, json);
	field_str(&o, "detail", r->detail, json);
	if (json)
		put(&o, "}", 1);
	if (o.pos > o.len)	/* cannot happen with LOG_VALUE_MAX: stay whole */
		o.pos = o.len;
	buf[o.pos] = '\n';
	return o.pos + 1;
}

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
