#include "gateway/logsink.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "config/file.h"
#include "core/logq.h"

#define SINK_MAGIC 0x6c6f6773u		/* "logs" */
#define SINK_POISON 0xdeadbeefu
#define SHUTDOWN_LAST_WORDS 1.0		/* seconds for stderr, at the end */
/*
 * How long a first line waits for others before the writer writes them
 * all (a busy gateway then wakes its writer about 50 times a second, not
 * twice per connection), and how many bytes end the wait at once.
 */
#define GATHER_NS 20000000L		/* 20 ms */
#define GATHER_BYTES (64u << 10)

struct log_sink {
	unsigned magic;
	enum log_target to;
	char *path;		/* LOG_TO_FILE */
	int facility;		/* LOG_TO_SYSLOG */
	int fd;			/* -1 for syslog; a file's fd is ours */
	pthread_t writer;
	struct log_sink *next;	/* the registry; linked by the main thread */
	unsigned refs;		/* under sinks_lock */

	pthread_mutex_t lock;	/* never held across I/O */
	pthread_cond_t wake;	/* to the writer: lines queued, or closed */
	pthread_cond_t idle;	/* from the writer: queue empty, or done */
	struct logq q;
	int asleep;		/* the writer waits for a first line */
	int gathering;		/* ... or lets lines gather before writing */
	int busy;		/* the writer holds a batch */
	int closed;		/* no reference left (set under both locks) */
	int done;		/* the writer has ended */
	unsigned long long dropped, failed;	/* lines */
	int failed_errno;	/* of the last failed write */

	/* the main thread's: what log_report has said so far */
	unsigned long long told_dropped, told_failed;
};

/*
 * Every sink whose writer has not been reaped. refs and closed change
 * under sinks_lock (any thread); the links change only on the main
 * thread, which may therefore walk the list without the lock.
 */
static pthread_mutex_t sinks_lock = PTHREAD_MUTEX_INITIALIZER;
static struct log_sink *sinks;

/* Set while serving: where daemon messages go instead of write(2). */
static _Atomic(struct log_sink *) daemon_sink;
/* A writer was left stuck on stderr: daemon messages must not join it. */
static atomic_int stderr_stuck;
static atomic_int debugging;		/* serve -d: log_debug says something */

static atomic_ullong total_dropped, total_failed;

static void
sink_check(const struct log_sink *s)
{
	assert(s->magic == SINK_MAGIC);
	(void)s;
}

static void
sink_name(const struct log_sink *s, char *buf, size_t len)
{
	switch (s->to) {
	case LOG_TO_STDERR:
		snprintf(buf, len, "log stderr");
		break;
	case LOG_TO_STDOUT:
		snprintf(buf, len, "log stdout");
		break;
	case LOG_TO_SYSLOG:
		snprintf(buf, len, "log syslog");
		break;
	case LOG_TO_FILE:
		snprintf(buf, len, "log file %s", s->path);
		break;
	}
}

/* Lines (each ends in '\n') in p[0..len). */
static unsigned long long
count_lines(const char *p, size_t len)
{
	unsigned long long n = 0;
	const char *nl;

	while (len > 0 && (nl = memchr(p, '\n', len)) != NULL) {
		n++;
		len -= (size_t)(nl + 1 - p);
		p = nl + 1;
	}
	return n;
}

/*
 * Writes a batch of whole lines; may block. Returns the number of lines
 * lost, with the errno in *e.
 */
static unsigned long long
output(struct log_sink *s, const char *p, size_t len, int *e)
{
	struct pollfd pfd = { s->fd, POLLOUT, 0 };
	const char *nl;
	size_t off = 0;
	ssize_t n;

	if (s->to == LOG_TO_SYSLOG) {
		/* syslog(3) says nothing of failures: nothing to count */
		while (off < len && (nl = memchr(p + off, '\n', len - off)) !=
		    NULL) {
			syslog(s->facility | LOG_INFO, "%.*s",
			    (int)(nl - (p + off)), p + off);
			off = (size_t)(nl + 1 - p);
		}
		return 0;
	}
	/*
	 * One writer per destination: a short write is completed by the
	 * next one, so records stay whole in O_APPEND files and pipes.
	 */
	while (off < len) {
		n = write(s->fd, p + off, len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			/* someone made our stderr non-blocking: wait here */
			(void)poll(&pfd, 1, -1);
			continue;
		}
		*e = n == -1 ? errno : EIO;
		return count_lines(p + off, len - off);
	}
	return 0;
}

/* Until when the writer lets lines gather: now + GATHER_NS. */
static void
gather_until(struct timespec *t)
{
	clock_gettime(CLOCK_MONOTONIC, t);
	t->tv_nsec += GATHER_NS;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

/*
 * The writer: waits for a first line, lets more gather for GATHER_NS (or
 * until GATHER_BYTES are queued) so that a busy gateway wakes it once per
 * batch rather than once per line, then writes them all at once.
 */
static void *
writer_main(void *arg)
{
	struct log_sink *s = arg;
	unsigned long long lost;
	struct timespec until;
	char *batch;
	size_t len;
	int e = 0;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (logq_empty(&s->q) && !s->closed) {
			s->asleep = 1;
			pthread_cond_wait(&s->wake, &s->lock);
			s->asleep = 0;
		}
		if (!s->closed && logq_bytes(&s->q) < GATHER_BYTES) {
			gather_until(&until);
			s->gathering = 1;
			while (!s->closed && logq_bytes(&s->q) < GATHER_BYTES &&
			    pthread_cond_timedwait(&s->wake, &s->lock,
			    &until) == 0)
				;
			s->gathering = 0;
		}
		if ((len = logq_take(&s->q, &batch)) == 0)
			break;		/* closed, and everything written */
		s->busy = 1;
		pthread_mutex_unlock(&s->lock);
		lost = output(s, batch, len, &e);
		pthread_mutex_lock(&s->lock);
		logq_give_back(&s->q, batch);
		s->busy = 0;
		if (lost > 0) {
			s->failed += lost;
			s->failed_errno = e;
			atomic_fetch_add_explicit(&total_failed, lost,
			    memory_order_relaxed);
		}
		if (logq_empty(&s->q))
			pthread_cond_broadcast(&s->idle);
	}
	s->done = 1;
	pthread_cond_broadcast(&s->idle);
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

static void
sink_free(struct log_sink *s)
{
	if (s->to == LOG_TO_FILE && s->fd != -1)
		close(s->fd);
	free(s->path);
	logq_free(&s->q);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->wake);
	pthread_cond_destroy(&s->idle);
	s->magic = SINK_POISON;
	free(s);
}

/* A new sink with its writer running. Returns it, or NULL with err. */
static struct log_sink *
sink_new(enum log_target to, const char *path, int facility, char *err,
    size_t errlen)
{
	struct log_sink *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;
	sigset_t all, old;
	char why[256];
	int rc;

	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->to = to;
	s->facility = facility;
	s->refs = 1;
	s->fd = to == LOG_TO_STDERR ? STDERR_FILENO : to == LOG_TO_STDOUT ?
	    STDOUT_FILENO : -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->wake, &ca);
	pthread_cond_init(&s->idle, &ca);
	pthread_condattr_destroy(&ca);
	s->magic = SINK_MAGIC;
	if (logq_init(&s->q, LOG_QUEUE_BYTES) == -1 ||
	    (to == LOG_TO_FILE && (s->path = strdup(path)) == NULL)) {
		snprintf(err, errlen, "out of memory");
		goto err;
	}
	if (to == LOG_TO_FILE && (s->fd = file_open_log(path, why,
	    sizeof(why))) == -1) {
		snprintf(err, errlen, "cannot open log file %s: %s", path, why);
		goto err;
	}
	if (to == LOG_TO_SYSLOG)
		openlog("sshgate", LOG_PID | LOG_NDELAY, facility);
	/* signals are the main thread's */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&s->writer, NULL, writer_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		snprintf(err, errlen, "cannot start a log writer thread: %s",
		    strerror(rc));
		goto err;
	}
	return s;
err:
	sink_free(s);
	return NULL;
}

static int
same_dest(const struct log_sink *s, enum log_target to, const char *path,
    int facility)
{
	if (s->to != to || s->closed)
		return 0;
	if (to == LOG_TO_FILE)
		return strcmp(s->path, path) == 0;
	return to != LOG_TO_SYSLOG || s->facility == facility;
}

/*
 * Opens s's path again (file_open_log's rules) and swaps it in under the
 * same fd number: the writer writes each batch to the old file or to the
 * new. Returns 0, or -1 with a reason in why (s keeps the old file).
 */
static int
reopen(struct log_sink *s, char *why, size_t whylen)
{
	int fd;

	if ((fd = file_open_log(s->path, why, whylen)) == -1)
		return -1;
	if (dup3(fd, s->fd, O_CLOEXEC) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

struct log_sink *
log_sink_open(enum log_target to, const char *path, int facility, char *err,
    size_t errlen)
{
	struct log_sink *s;
	char why[256];

	pthread_mutex_lock(&sinks_lock);
	for (s = sinks; s != NULL; s = s->next)
		if (same_dest(s, to, path, facility)) {
			s->refs++;
			break;
		}
	pthread_mutex_unlock(&sinks_lock);
	if (s != NULL && to == LOG_TO_FILE && reopen(s, why, sizeof(why)) ==
	    -1) {
		/* a reload opens the file again, or fails as a start would */
		snprintf(err, errlen, "cannot open log file %s: %s", path, why);
		log_sink_close(s);
		return NULL;
	}
	if (s != NULL)
		return s;
	/* opening may take time: not under the lock workers close with */
	if ((s = sink_new(to, path, facility, err, errlen)) == NULL)
		return NULL;
	pthread_mutex_lock(&sinks_lock);
	s->next = sinks;
	sinks = s;
	pthread_mutex_unlock(&sinks_lock);
	return s;
}

/* Queues a line; count: a line that does not fit is counted dropped. */
static int
queue_line(struct log_sink *s, const char *line, size_t len, int count)
{
	int rc;

	sink_check(s);
	pthread_mutex_lock(&s->lock);
	if ((rc = logq_push(&s->q, line, len)) == 0) {
		/* the writer is woken once per batch, not once per line */
		if (s->asleep || (s->gathering &&
		    logq_bytes(&s->q) >= GATHER_BYTES))
			pthread_cond_signal(&s->wake);
	} else if (count) {
		s->dropped++;
		atomic_fetch_add_explicit(&total_dropped, 1,
		    memory_order_relaxed);
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void
log_sink_write(struct log_sink *s, const char *line, size_t len)
{
	(void)queue_line(s, line, len, 1);
}

void
log_sink_close(struct log_sink *s)
{
	if (s == NULL)
		return;
	sink_check(s);
	pthread_mutex_lock(&sinks_lock);
	if (--s->refs == 0) {
		pthread_mutex_lock(&s->lock);
		s->closed = 1;
		pthread_cond_signal(&s->wake);
		pthread_mutex_unlock(&s->lock);
	}
	pthread_mutex_unlock(&sinks_lock);
}

int
log_sink_chown(struct log_sink *s, unsigned uid, unsigned gid)
{
	struct stat st;

	/* decided on what the fd is now: never a device, never linked */
	if (s != NULL && s->to == LOG_TO_FILE && geteuid() == 0 &&
	    fstat(s->fd, &st) == 0 &&
	    file_log_kind(st.st_mode, st.st_nlink) == FILE_LOG_REGULAR)
		return fchown(s->fd, (uid_t)uid, (gid_t)gid);
	return 0;
}

static int
sink_closed(struct log_sink *s)
{
	int closed;

	pthread_mutex_lock(&s->lock);
	closed = s->closed;
	pthread_mutex_unlock(&s->lock);
	return closed;
}

int
log_reopen_all(void)
{
	struct log_sink *s;
	char why[256];
	int bad = 0;

	for (s = sinks; s != NULL; s = s->next) {
		if (s->to != LOG_TO_FILE || sink_closed(s) ||
		    reopen(s, why, sizeof(why)) == 0)
			continue;
		log_errx("cannot reopen log file %s: %s; still writing to the "
		    "old file", s->path, why);
		bad = -1;
	}
	return bad;
}

/*
 * Formats one daemon message and sends it: through the stderr sink
 * while serving, else with write(2). count: if it cannot be queued, it
 * counts as dropped. Returns 0, or -1 if it went nowhere.
 */
static int
vmsg(int count, const char *level, int err, const char *fmt, va_list ap)
{
	struct log_sink *s;
	char buf[2048];
	int n;

	n = snprintf(buf, sizeof(buf), "sshgate: %s", level);
	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	if (err != 0)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n - 1, ": %s",
		    strerror(err));
	if ((size_t)n > sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	s = atomic_load_explicit(&daemon_sink, memory_order_acquire);
	if (s != NULL)
		return queue_line(s, buf, (size_t)n, count);
	if (atomic_load(&stderr_stuck))
		return -1;
	if (write(STDERR_FILENO, buf, (size_t)n) == -1)
		return -1;	/* nowhere left to complain */
	return 0;
}

/* A warning that is not counted when dropped: log_report says it again. */
static int
warn_again(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
warn_again(const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vmsg(0, "warning: ", 0, fmt, ap);
	va_end(ap);
	return rc;
}

/* Warns about what s lost since the last time it was told. */
static void
tell(struct log_sink *s)
{
	unsigned long long dropped, failed;
	char name[4200];
	int e;

	pthread_mutex_lock(&s->lock);
	dropped = s->dropped;
	failed = s->failed;
	e = s->failed_errno;
	pthread_mutex_unlock(&s->lock);
	sink_name(s, name, sizeof(name));
	if (dropped > s->told_dropped && warn_again("%s: %llu records "
	    "dropped: the log sink is not keeping up", name,
	    dropped - s->told_dropped) == 0)
		s->told_dropped = dropped;
	if (failed > s->told_failed && warn_again("%s: %llu records could "
	    "not be written: %s", name, failed - s->told_failed,
	    strerror(e)) == 0)
		s->told_failed = failed;
}

/*
 * Joins and frees the sinks whose writer has ended (and, unless force,
 * whose losses have been told).
 */
static void
reap(int force)
{
	struct log_sink **pp, *s, *dead = NULL;
	int done;

	pthread_mutex_lock(&sinks_lock);
	for (pp = &sinks; (s = *pp) != NULL; ) {
		pthread_mutex_lock(&s->lock);
		done = s->done && (force || (s->dropped == s->told_dropped &&
		    s->failed == s->told_failed));
		pthread_mutex_unlock(&s->lock);
		if (done) {
			*pp = s->next;
			s->next = dead;
			dead = s;
		} else
			pp = &s->next;
	}
	pthread_mutex_unlock(&sinks_lock);
	while ((s = dead) != NULL) {
		dead = s->next;
		pthread_join(s->writer, NULL);	/* it has ended */
		sink_free(s);
	}
}

void
log_report(void)
{
	struct log_sink *s;

	for (s = sinks; s != NULL; s = s->next)
		tell(s);
	reap(0);
}

int
log_daemon_start(char *err, size_t errlen)
{
	struct log_sink *s = log_sink_open(LOG_TO_STDERR, NULL, 0, err,
	    errlen);

	if (s == NULL)
		return -1;
	atomic_store_explicit(&daemon_sink, s, memory_order_release);
	return 0;
}

static void
deadline(struct timespec *ts, double secs)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += (time_t)secs;
	ts->tv_nsec += (long)((secs - (double)(time_t)secs) * 1e9);
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Under s->lock: has s written all it holds (and, if closed, ended)? */
static int
drained(const struct log_sink *s)
{
	return s->closed ? s->done : logq_empty(&s->q) && !s->busy;
}

/* Waits until s is drained. Returns 0, or -1 if until came first. */
static int
drain(struct log_sink *s, const struct timespec *until)
{
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	while (!drained(s) && rc == 0)
		rc = pthread_cond_timedwait(&s->idle, &s->lock, until);
	rc = drained(s) ? 0 : -1;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int
log_shutdown(double secs)
{
	struct timespec until;
	struct log_sink *s;
	int stuck = 0;

	deadline(&until, secs);
	for (s = sinks; s != NULL; s = s->next)
		(void)drain(s, &until);
	log_report();
	/* the last words are queued: stderr gets a moment of its own */
	log_sink_close(atomic_exchange(&daemon_sink, NULL));
	deadline(&until, SHUTDOWN_LAST_WORDS);
	for (s = sinks; s != NULL; s = s->next)
		if (drain(s, &until) == -1) {
			stuck = 1;
			if (s->to == LOG_TO_STDERR)
				atomic_store(&stderr_stuck, 1);
		}
	reap(1);
	return stuck ? -1 : 0;
}

void
log_counters(unsigned long long *dropped, unsigned long long *write_errors)
{
	*dropped = atomic_load_explicit(&total_dropped, memory_order_relaxed);
	*write_errors = atomic_load_explicit(&total_failed,
	    memory_order_relaxed);
}

/* Daemon messages: relayd's log.c vocabulary. */
void
log_set_debug(int on)
{
	atomic_store(&debugging, on);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!atomic_load_explicit(&debugging, memory_order_relaxed))
		return;
	va_start(ap, fmt);
	(void)vmsg(1, "debug: ", 0, fmt, ap);
	va_end(ap);
}

/*
 * The daemon messages at one level: with_errno adds the error of the
 * failed call (errno, read before anything else can change it).
 */
#define DAEMON_MESSAGE(name, level, with_errno)				\
void									\
name(const char *fmt, ...)						\
{									\
	int err = with_errno ? (errno != 0 ? errno : EIO) : 0;		\
	va_list ap;							\
									\
	va_start(ap, fmt);						\
	(void)vmsg(1, level, err, fmt, ap);				\
	va_end(ap);							\
}

DAEMON_MESSAGE(log_info, "", 0)
DAEMON_MESSAGE(log_warn, "warning: ", 1)
DAEMON_MESSAGE(log_warnx, "warning: ", 0)
DAEMON_MESSAGE(log_err, "error: ", 1)
DAEMON_MESSAGE(log_errx, "error: ", 0)
