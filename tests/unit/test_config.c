/*
 * Unit tests for src/config.c: conf_load on real files in a fresh
 * temporary directory per test, errors checked word for word.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "config/config.h"
#include "core/lex.h"

/* The smallest valid config: one listen, one certificate, one route. */
#define BASE \
	"listen 127.0.0.1:2222\n" \
	"certificate gw.pem\n" \
	"route * to 127.0.0.1:22\n"
/* BASE is 3 lines: a directive appended to it is on this line. */
#define ROUTE_USAGE "usage: route PATTERN to HOST:PORT... | route PATTERN " \
	"resolve [port N] | route PATTERN direct [port N] | route PATTERN " \
	"[alpn PROTO[,PROTO...]] passthrough to HOST:PORT..."
#define AFTER_BASE 4

/* Upper bound of one "FILE:LINE: message" (conf_error's buffer). */
#define CONF_ERROR_MAX 1024

struct fixture {
	char dir[64];			/* this test's temporary directory */
	char main[128];			/* dir/main.conf */
	struct conf_errors errs;
	struct conf *c;
};

/* --- fixture: a temporary directory, removed with all it holds --------- */

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sshgate-unit-XXXXXX");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->main, sizeof(f->main), "%s/main.conf", f->dir);
	*state = f;
	return 0;
}

static int
remove_entry(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	int rc;

	conf_free(f->c);
	conf_errors_free(&f->errs);
	/* depth first, so directories are empty when their turn comes */
	rc = nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return rc == 0 ? 0 : -1;
}

/* --- helpers ------------------------------------------------------------ */

/* Full path of name inside the test directory (static: one at a time). */
static const char *
in_dir(const struct fixture *f, const char *name)
{
	static char path[256];

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	return path;
}

static void
put_bytes(const struct fixture *f, const char *name, const char *data,
    size_t len)
{
	FILE *fp = fopen(in_dir(f, name), "w");

	if (fp == NULL)
		fail_msg("cannot create %s: %s", name, strerror(errno));
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void
put_file(const struct fixture *f, const char *name, const char *text)
{
	put_bytes(f, name, text, strlen(text));
}

static void
make_dir(const struct fixture *f, const char *name)
{
	if (mkdir(in_dir(f, name), 0700) != 0)
		fail_msg("cannot mkdir %s: %s", name, strerror(errno));
}

/* Drops what an earlier load in the same test left. */
static void
reset(struct fixture *f)
{
	conf_free(f->c);
	f->c = NULL;
	conf_errors_free(&f->errs);
}

/* Writes main.conf and loads it. */
static void
load(struct fixture *f, const char *text)
{
	reset(f);
	put_file(f, "main.conf", text);
	f->c = conf_load(f->main, &f->errs);
}

/* Prints every error, for the failure message. */
static const char *
all_errors(const struct fixture *f)
{
	static char buf[8192];
	size_t i, pos = 0;

	buf[0] = '\0';
	for (i = 0; i < f->errs.n && pos < sizeof(buf); i++)
		pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos,
		    "\n    %s", f->errs.msgs[i]);
	return f->errs.n == 0 ? " (none)" : buf;
}

static void
assert_nerrors(const struct fixture *f, size_t n)
{
	if (f->errs.n != n)
		fail_msg("want %zu errors, got %zu:%s", n, f->errs.n,
		    all_errors(f));
}

/* Loads text and requires success with no error. */
static struct conf *
load_ok(struct fixture *f, const char *text)
{
	load(f, text);
	assert_nerrors(f, 0);
	assert_non_null(f->c);
	return f->c;
}

/* Error i is exactly "DIR/file:line: msg" ("DIR/file: msg" for line 0). */
static void
assert_error_at(const struct fixture *f, size_t i, const char *file, int line,
    const char *msg)
{
	char want[2048];

	if (line > 0)
		snprintf(want, sizeof(want), "%s/%s:%d: %s", f->dir, file, line,
		    msg);
	else
		snprintf(want, sizeof(want), "%s/%s: %s", f->dir, file, msg);
	if (i >= f->errs.n)
		fail_msg("no error %zu; want '%s', got:%s", i, want,
		    all_errors(f));
	if (strcmp(f->errs.msgs[i], want) != 0)
		fail_msg("error %zu:\n    got  '%s'\n    want '%s'", i,
		    f->errs.msgs[i], want);
}

/* Error i starts with "DIR/file:line: " and then prefix. */
static void
assert_error_prefix_at(const struct fixture *f, size_t i, const char *file,
    int line, const char *prefix)
{
	char want[2048];

	snprintf(want, sizeof(want), "%s/%s:%d: %s", f->dir, file, line,
	    prefix);
	if (i >= f->errs.n)
		fail_msg("no error %zu; want '%s...', got:%s", i, want,
		    all_errors(f));
	if (strncmp(f->errs.msgs[i], want, strlen(want)) != 0)
		fail_msg("error %zu:\n    got  '%s'\n    want '%s...'", i,
		    f->errs.msgs[i], want);
}

/* Loads BASE + one line and requires exactly that line's error, no conf. */
static void
assert_line_error(struct fixture *f, const char *line, const char *msg)
{
	char text[8192];

	snprintf(text, sizeof(text), "%s%s\n", BASE, line);
	load(f, text);
	assert_null(f->c);
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "main.conf", AFTER_BASE, msg);
}

/* Loads BASE + extra, requiring success. */
static struct conf *
load_base_ok(struct fixture *f, const char *extra)
{
	char text[8192];

	snprintf(text, sizeof(text), "%s%s", BASE, extra);
	return load_ok(f, text);
}

/* Durations are doubles: compare with slack, print both on failure. */
static void
assert_secs(double got, double want)
{
	double d = got - want;

	if (d > 1e-9 || d < -1e-9)
		fail_msg("got %.9f seconds, want %.9f", got, want);
}

/* --- conf_error --------------------------------------------------------- */

static void
conf_error_formats_file_line_message(void **state)
{
	struct conf_errors e = { NULL, 0 };

	(void)state;
	conf_error(&e, "a.conf", 7, "bad %s %d", "thing", 42);
	conf_error(&e, "a.conf", 0, "whole-file problem");
	assert_int_equal(e.n, 2);
	assert_string_equal(e.msgs[0], "a.conf:7: bad thing 42");
	/* line 0 means the file as a whole: no line number */
	assert_string_equal(e.msgs[1], "a.conf: whole-file problem");
	conf_errors_free(&e);
	assert_int_equal(e.n, 0);
	assert_null(e.msgs);
}

static void
conf_error_truncates_long_message(void **state)
{
	struct conf_errors e = { NULL, 0 };
	char *big = malloc(4000);

	(void)state;
	assert_non_null(big);
	memset(big, 'm', 3999);
	big[3999] = '\0';
	conf_error(&e, "a.conf", 1, "%s", big);
	assert_int_equal(e.n, 1);
	assert_int_equal(strncmp(e.msgs[0], "a.conf:1: mmm", 13), 0);
	assert_true(strlen(e.msgs[0]) < CONF_ERROR_MAX);
	conf_errors_free(&e);
	free(big);
}

/*
 * Runs fn(arg) in a child process and requires it to exit with 0: a
 * stack smash or crash then fails this one test instead of killing the
 * whole run. fn must not use cmocka (its state is the parent's).
 */
static void
run_in_child(int (*fn)(const char *), const char *arg, const char *what)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		/* cmocka's handlers would resume the test run in the child */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		signal(SIGFPE, SIG_DFL);
		signal(SIGABRT, SIG_DFL);
		_exit(fn(arg));
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status))
		fail_msg("%s: crashed with signal %d", what, WTERMSIG(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("%s: child failed with status %d", what,
		    WEXITSTATUS(status));
}

/* A file name longer than conf_error's 1024-byte message buffer. */
#define LONG_NAME_LEN 3000
#define GUARD_SIZE 8192
#define GUARD_BYTE 0x5a

/*
 * Child: conf_error with a long file name, called from a frame that is
 * mostly a guard of known bytes. Writing past the message buffer lands
 * in the caller's frame, i.e. in the guard. Returns 0 if all is well.
 */
static __attribute__((noinline)) int
guarded_conf_error(const char *file)
{
	volatile unsigned char guard[GUARD_SIZE];
	struct conf_errors e = { NULL, 0 };
	size_t i;
	int rc = 0;

	for (i = 0; i < GUARD_SIZE; i++)
		guard[i] = GUARD_BYTE;
	conf_error(&e, file, 0, "%s", "cannot read: File name too long");
	for (i = 0; i < GUARD_SIZE; i++)
		if (guard[i] != GUARD_BYTE)
			rc = 5;		/* a write outside msg[] */
	if (rc == 0 && e.n != 1)
		rc = 2;
	/* however it is cut, the message names the file first */
	if (rc == 0 && strncmp(e.msgs[0], file, 512) != 0)
		rc = 3;
	if (rc == 0 && strlen(e.msgs[0]) >= CONF_ERROR_MAX)
		rc = 4;
	conf_errors_free(&e);
	return rc;
}

static void
conf_error_long_file_name_stays_in_buffer(void **state)
{
	char file[LONG_NAME_LEN + 1];

	(void)state;
	/*
	 * FILE is a path (up to PATH_MAX, 4096, e.g. conf_load of a long
	 * path, or a long include): the "FILE:LINE: " prefix alone can
	 * exceed the 1024-byte buffer. The message must be cut, never
	 * written past the buffer.
	 */
	memset(file, 'x', LONG_NAME_LEN);
	file[LONG_NAME_LEN] = '\0';
	run_in_child(guarded_conf_error, file,
	    "conf_error with a 3000-byte file name");
}

/* --- whole files -------------------------------------------------------- */

static void
defaults_when_unset(void **state)
{
	struct fixture *f = *state;
	struct conf *c = load_ok(f, BASE);

	assert_string_equal(c->path, f->main);
	assert_int_equal(c->ssh_only, 1);
	assert_secs(c->t_handshake, 10);
	assert_secs(c->t_inspect, 5);
	assert_secs(c->t_connect, 5);
	assert_secs(c->t_idle, 0);
	assert_secs(c->t_dns, 3);
	assert_secs(c->t_drain, 30);
	assert_int_equal(c->max_conns, 10000);
	/* 0 workers: one per online CPU, decided at run time */
	assert_int_equal(c->workers, 0);
	assert_int_equal(c->log_to, LOG_TO_STDERR);
	assert_null(c->log_path);
	assert_int_equal(c->log_json, 0);
}

static void
records_every_file_read(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	put_file(f, "extra.conf", "# nothing\n");
	c = load_ok(f, BASE "include extra.conf\n");
	/* error messages and directives point into this list */
	assert_int_equal(c->nfiles, 2);
	assert_string_equal(c->files[0], f->main);
	assert_string_equal(c->files[1], in_dir(f, "extra.conf"));
}

static void
comments_blank_lines_and_quotes(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	c = load_ok(f,
	    "# sshgate test config\n"
	    "\n"
	    "   \t\n"
	    "listen 127.0.0.1:2222   # trailing comment\n"
	    "\tcertificate \"my gw.pem\"\n"
	    "route * to 127.0.0.1:22\n");
	assert_int_equal(c->nlistens, 1);
	assert_int_equal(c->listens[0].line, 4);
	assert_string_equal(c->certs[0].cert, in_dir(f, "my gw.pem"));
}

static void
crlf_line_endings(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	/* a config edited on Windows: '\r' must not end up in a value */
	c = load_ok(f, "listen 127.0.0.1:2222\r\n"
	    "certificate gw.pem\r\n"
	    "route * to 127.0.0.1:22\r\n"
	    "log-format json\r\n");
	assert_string_equal(c->certs[0].cert, in_dir(f, "gw.pem"));
	assert_int_equal(c->log_json, 1);
}

static void
empty_file_reports_each_missing_directive(void **state)
{
	struct fixture *f = *state;

	load(f, "");
	assert_null(f->c);
	assert_nerrors(f, 3);
	assert_error_at(f, 0, "main.conf", 0,
	    "no 'listen' directive: nothing to accept connections on");
	assert_error_at(f, 1, "main.conf", 0,
	    "no 'certificate' directive: TLS needs at least one");
	assert_error_at(f, 2, "main.conf", 0,
	    "no 'route' directive: every connection would be refused");
}

static void
missing_listen(void **state)
{
	struct fixture *f = *state;

	load(f, "certificate gw.pem\nroute * to 127.0.0.1:22\n");
	assert_null(f->c);
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "main.conf", 0,
	    "no 'listen' directive: nothing to accept connections on");
}

static void
missing_certificate(void **state)
{
	struct fixture *f = *state;

	load(f, "listen 127.0.0.1:2222\nroute * to 127.0.0.1:22\n");
	assert_null(f->c);
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "main.conf", 0,
	    "no 'certificate' directive: TLS needs at least one");
}

static void
missing_route(void **state)
{
	struct fixture *f = *state;

	load(f, "listen 127.0.0.1:2222\ncertificate gw.pem\n");
	assert_null(f->c);
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "main.conf", 0,
	    "no 'route' directive: every connection would be refused");
}

static void
wrong_directive_is_not_also_missing(void **state)
{
	struct fixture *f = *state;

	/*
	 * Each of the three is there but wrong: report what is wrong with
	 * it, not also that it is missing.
	 */
	load(f, "listen localhost:2222\ncertificate a b\n"
	    "route * direct 22\n");
	assert_null(f->c);
	assert_nerrors(f, 3);
	assert_error_at(f, 0, "main.conf", 1, "listen: 'localhost' is not an "
	    "IPv4 or IPv6 address (write [::]:PORT for IPv6)");
	assert_error_at(f, 1, "main.conf", 2,
	    "usage: certificate FILE [key FILE]");
	assert_error_at(f, 2, "main.conf", 3, ROUTE_USAGE);
}

static void
arity_error_is_not_also_missing(void **state)
{
	struct fixture *f = *state;

	/* the keyword was written: the arity error alone says what to fix */
	load(f, "listen\ncertificate gw.pem\nroute * to 127.0.0.1:22\n");
	assert_null(f->c);
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "main.conf", 1,
	    "'listen' takes at least 1 argument");
}

static void
missing_main_file(void **state)
{
	struct fixture *f = *state;

	reset(f);
	f->c = conf_load(in_dir(f, "nope.conf"), &f->errs);
	assert_null(f->c);
	/* no "no listen" noise after a file that could not be read */
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "nope.conf", 0,
	    "cannot read: No such file or directory");
}

static void
main_file_not_regular(void **state)
{
	struct fixture *f = *state;

	/* a directory (or a FIFO, a device) is refused before reading */
	make_dir(f, "sub");
	reset(f);
	f->c = conf_load(in_dir(f, "sub"), &f->errs);
	assert_null(f->c);
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "sub", 0, "cannot read: not a regular file");
}

static void
main_file_too_large(void **state)
{
	struct fixture *f = *state;
	FILE *fp;

	/* a sparse file just over 16 MiB: refused from its size alone */
	fp = fopen(f->main, "w");
	assert_non_null(fp);
	assert_int_equal(ftruncate(fileno(fp), (16L << 20) + 1), 0);
	assert_int_equal(fclose(fp), 0);
	reset(f);
	f->c = conf_load(f->main, &f->errs);
	assert_null(f->c);
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "main.conf", 0, "cannot read: larger than 16 MiB");
}

static void
every_error_is_reported_in_order(void **state)
{
	struct fixture *f = *state;

	/* one pass shows the user all problems, not one per run */
	load(f,
	    "listen 127.0.0.1:2222\n"
	    "bogus\n"
	    "certificate gw.pem\n"
	    "ssh-only maybe\n"
	    "timeout handshake 5x\n"
	    "certificate \"unterminated\n"
	    "workers 0\n");
	assert_null(f->c);
	assert_nerrors(f, 6);
	assert_error_at(f, 0, "main.conf", 2, "unknown keyword 'bogus'");
	assert_error_at(f, 1, "main.conf", 4,
	    "ssh-only: expected yes or no, got 'maybe'");
	assert_error_at(f, 2, "main.conf", 5, "timeout handshake: '5x' is not "
	    "a duration (like 500ms, 5s, 2m, 1h or 0)");
	assert_error_at(f, 3, "main.conf", 6, "unterminated quote");
	assert_error_at(f, 4, "main.conf", 7,
	    "workers: expected a number from 1 to 256, got '0'");
	assert_error_at(f, 5, "main.conf", 0,
	    "no 'route' directive: every connection would be refused");
}

static void
errors_append_to_existing_list(void **state)
{
	struct fixture *f = *state;

	reset(f);
	/* errors from before (e.g. the command line) are kept and ... */
	conf_error(&f->errs, "argv", 0, "earlier problem");
	put_file(f, "main.conf", BASE);
	f->c = conf_load(f->main, &f->errs);
	/* ... do not make a valid file fail */
	assert_non_null(f->c);
	assert_nerrors(f, 1);
	assert_string_equal(f->errs.msgs[0], "argv: earlier problem");
	conf_free(f->c);
	f->c = NULL;
	put_file(f, "main.conf", BASE "bogus\n");
	f->c = conf_load(f->main, &f->errs);
	assert_null(f->c);
	assert_nerrors(f, 2);
	assert_error_at(f, 1, "main.conf", AFTER_BASE, "unknown keyword 'bogus'");
}

static void
conf_parse_keeps_what_it_could_parse(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	/* for reporting: later checks (certificates, names) still run */
	reset(f);
	put_file(f, "main.conf", BASE "bogus\nworkers 4\n");
	c = f->c = conf_parse(f->main, &f->errs);
	assert_non_null(c);
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "main.conf", AFTER_BASE, "unknown keyword 'bogus'");
	assert_int_equal(c->nlistens, 1);
	assert_int_equal(c->ncerts, 1);
	assert_int_equal(c->routes.n, 1);
	assert_int_equal(c->workers, 4);
}

static void
conf_parse_unreadable_file_still_returns_conf(void **state)
{
	struct fixture *f = *state;

	/* NULL is kept for out of memory only */
	reset(f);
	f->c = conf_parse(in_dir(f, "nope.conf"), &f->errs);
	assert_non_null(f->c);
	assert_int_equal(f->c->nlistens, 0);
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "nope.conf", 0,
	    "cannot read: No such file or directory");
}

static void
conf_parse_valid_file_has_no_errors(void **state)
{
	struct fixture *f = *state;

	reset(f);
	put_file(f, "main.conf", BASE);
	f->c = conf_parse(f->main, &f->errs);
	assert_non_null(f->c);
	assert_nerrors(f, 0);
	assert_int_equal(f->c->max_conns, 10000);
}

#if defined(__SANITIZE_ADDRESS__)
#define ASAN_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_BUILD 1
#endif
#endif
#ifdef ASAN_BUILD
#include <sanitizer/lsan_interface.h>
#endif

/* Bytes the program holds on the heap now (glibc's count). */
static size_t
heap_in_use(void)
{
	return mallinfo2().uordblks;
}

/*
 * Run as "test_config --heap-check FILE": loads FILE and frees it a few
 * times; exits 0 if that, and a conf_free(NULL), left nothing behind.
 * Under AddressSanitizer LeakSanitizer says so; otherwise glibc's count
 * of bytes in use must come back to where it was, which needs its
 * per-thread cache off (freed blocks in it still count as in use).
 */
static int
heap_check(const char *path)
{
	struct conf_errors errs = { NULL, 0 };
	struct conf *c;
	size_t before = 0, held = 0;
	int round;

	/* the first rounds warm up what stdio and glob keep for later */
	for (round = 0; round < 3; round++) {
		before = heap_in_use();
		c = conf_load(path, &errs);
		if (c == NULL || errs.n != 0) {
			fprintf(stderr, "heap check: %s does not load\n", path);
			return 2;
		}
		held = heap_in_use() - before;
		conf_free(c);
		conf_free(NULL);
		conf_errors_free(&errs);	/* its warnings, if any */
	}
#ifdef ASAN_BUILD
	(void)held;
	return __lsan_do_recoverable_leak_check() == 0 ? 0 : 1;
#else
	if (heap_in_use() != before || held == 0) {
		fprintf(stderr, "heap check: a config held %zu bytes; %ld "
		    "stayed after conf_free\n", held,
		    (long)(heap_in_use() - before));
		return 1;
	}
	return 0;
#endif
}

/*
 * conf_free gives back all a config holds, whatever its directives, and
 * conf_free(NULL) does nothing: checked in a process of its own
 * (heap_check).
 */
static void
conf_free_releases_everything(void **state)
{
	struct fixture *f = *state;
	char self[4096];
	ssize_t n;
	pid_t pid;
	int status;

	make_dir(f, "conf.d");
	put_file(f, "conf.d/a.conf", "route a.example to 127.0.0.2:22\n");
	put_file(f, "users.acl", "alice,db.example\nbob,*.example\n");
	put_file(f, "groups.acl", "ops,10.0.0.0/8\n");
	put_file(f, "main.conf", BASE
	    "certificate rsa.crt key rsa.key\n"
	    "listen [::1]:2222 proxy-protocol\n"
	    "include conf.d/*.conf\n"
	    "route db.example to 127.0.0.3:22 127.0.0.4:22 send-proxy\n"
	    "route 10.0.0.0/8 direct port 22\n"
	    "route *.internal resolve port 22\n"
	    "resolver 127.0.0.53\nresolver [::1]:53\n"
	    "allow-destination 10.0.0.0/8 127.0.0.2\n"
	    "deny-destination 10.9.0.0/16\n"
	    "client-ca ca.pem\ncrl one.crl\ncrl two.crl\n"
	    "access deny user bob to secret.example\n"
	    "access allow group ops to *.example 10.0.0.0/8\n"
	    "access-pairs user users.acl\naccess-pairs group groups.acl\n"
	    "log file audit.log\nlog-format json\n"
	    "metrics 127.0.0.1:9100\ncontrol ctl.sock\n"
	    "user nobody group nogroup\n"
	    "ciphers ECDHE-ECDSA-AES128-GCM-SHA256\n"
	    "ciphersuites TLS_AES_128_GCM_SHA256\n");
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	assert_true(n > 0);
	self[n] = '\0';
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		char *argv[] = { self, "--heap-check", f->main, NULL };

		setenv("GLIBC_TUNABLES", "glibc.malloc.tcache_count=0", 1);
		execv(self, argv);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* --- lines the lexer or reader refuse ---------------------------------- */

static void
unknown_keyword(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "bogus 1 2", "unknown keyword 'bogus'");
	/* keywords are case-sensitive (and the right one is suggested) */
	assert_line_error(f, "Listen 127.0.0.1:2223", "unknown keyword 'Listen' "
	    "(did you mean 'listen'?)");
}

static void
unknown_keyword_suggests_the_nearest(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "max-conections 5", "unknown keyword "
	    "'max-conections' (did you mean 'max-connections'?)");
	/* two letters swapped is one edit: resolve, not resolver */
	assert_line_error(f, "resovle ipv4", "unknown keyword 'resovle' (did "
	    "you mean 'resolve'?)");
	assert_line_error(f, "max-connection-per-ip 3", "unknown keyword "
	    "'max-connection-per-ip' (did you mean 'max-connections-per-ip'?)");
	assert_line_error(f, "certficate x.pem", "unknown keyword 'certficate' "
	    "(did you mean 'certificate'?)");
	assert_line_error(f, "timeouts idle 5s", "unknown keyword 'timeouts' "
	    "(did you mean 'timeout'?)");
	/* more than two edits away, or as many edits as letters: no guess */
	assert_line_error(f, "frobnicate", "unknown keyword 'frobnicate'");
	assert_line_error(f, "ls", "unknown keyword 'ls'");
	assert_line_error(f, "rote * to 127.0.0.1:22", "unknown keyword 'rote' "
	    "(did you mean 'route'?)");
}

static void
unknown_keyword_of_another_proxy(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "bind :443", "unknown keyword 'bind' (did you "
	    "mean 'listen'?)");
	assert_line_error(f, "server s1 10.0.0.1:22", "unknown keyword "
	    "'server' (did you mean 'route'?)");
	assert_line_error(f, "backend ssh", "unknown keyword 'backend' (did "
	    "you mean 'route'?)");
	assert_line_error(f, "use_backend %[req.ssl_sni]", "unknown keyword "
	    "'use_backend' (did you mean 'route'?)");
	assert_line_error(f, "ssl_certificate gw.pem", "unknown keyword "
	    "'ssl_certificate' (did you mean 'certificate'?)");
	assert_line_error(f, "crt gw.pem", "unknown keyword 'crt' (did you "
	    "mean 'certificate'?)");
	assert_line_error(f, "maxconn 100", "unknown keyword 'maxconn' (did "
	    "you mean 'max-connections'?)");
	/* ours already: HAProxy's "timeout connect", nginx's listen */
	load_base_ok(f, "timeout connect 2s\nlisten 127.0.0.1:2224\n");
}

static void
lexer_errors_carry_file_and_line(void **state)
{
	struct fixture *f = *state;
	char line[LEX_MAX_WORDS * 2 + 16];
	size_t i, pos = 0;

	assert_line_error(f, "certificate \"a.pem", "unterminated quote");
	for (i = 0; i <= LEX_MAX_WORDS; i++)
		pos += (size_t)snprintf(line + pos, sizeof(line) - pos, "w ");
	assert_line_error(f, line, "too many words on one line");
}

static void
nul_byte_in_line(void **state)
{
	struct fixture *f = *state;
	static const char text[] = BASE "log\0stdout\n";

	/* a NUL would silently cut the line short: refuse it */
	reset(f);
	put_bytes(f, "main.conf", text, sizeof(text) - 1);
	f->c = conf_load(f->main, &f->errs);
	assert_null(f->c);
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "main.conf", AFTER_BASE, "NUL byte in line");
}

/* BASE + a comment line of exactly len characters (+ '\n' if nl). */
static void
load_comment_line(struct fixture *f, size_t len, int nl)
{
	size_t base = strlen(BASE);
	char *text = malloc(base + len + 2);

	assert_non_null(text);
	memcpy(text, BASE, base);
	text[base] = '#';
	memset(text + base + 1, 'x', len - 1);
	if (nl)
		text[base + len++] = '\n';
	reset(f);
	put_bytes(f, "main.conf", text, base + len);
	free(text);
	f->c = conf_load(f->main, &f->errs);
}

static void
line_over_limit_is_refused(void **state)
{
	struct fixture *f = *state;

	load_comment_line(f, 4097, 1);
	assert_null(f->c);
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "main.conf", AFTER_BASE,
	    "line longer than 4096 characters");
}

static void
line_at_limit_is_accepted(void **state)
{
	struct fixture *f = *state;

	/*
	 * "longer than 4096 characters" is the rule: a line of exactly 4096
	 * is fine, whether or not it ends in a newline. The '\n' is the
	 * line's terminator, not one of its characters.
	 */
	load_comment_line(f, 4096, 0);
	assert_nerrors(f, 0);
	load_comment_line(f, 4096, 1);
	assert_nerrors(f, 0);
	assert_non_null(f->c);
}

static void
reading_goes_on_after_long_line(void **state)
{
	struct fixture *f = *state;
	size_t len = 5000;
	char *text = malloc(len + 1 + sizeof(BASE "bogus\n"));

	/* a long line is skipped whole; later lines keep their numbers */
	assert_non_null(text);
	memset(text, 'x', len);
	text[len] = '\n';
	strcpy(text + len + 1, BASE "bogus\n");
	reset(f);
	put_file(f, "main.conf", text);
	free(text);
	f->c = conf_load(f->main, &f->errs);
	assert_null(f->c);
	assert_nerrors(f, 2);
	assert_error_at(f, 0, "main.conf", 1, "line longer than 4096 characters");
	assert_error_at(f, 1, "main.conf", 5, "unknown keyword 'bogus'");
}

/* --- listen ------------------------------------------------------------- */

static void
listen_v4_and_v6(void **state)
{
	struct fixture *f = *state;
	char text[ADDR_TEXT_MAX];
	struct conf *c;

	c = load_ok(f, "listen 0.0.0.0:443\nlisten [::]:443\n"
	    "certificate gw.pem\nroute * to 127.0.0.1:22\n");
	assert_int_equal(c->nlistens, 2);
	addr_format(&c->listens[0].addr, text, sizeof(text));
	assert_string_equal(text, "0.0.0.0:443");
	addr_format(&c->listens[1].addr, text, sizeof(text));
	assert_string_equal(text, "[::]:443");
	/* where each was written, for the runtime's own errors */
	assert_string_equal(c->listens[1].file, f->main);
	assert_int_equal(c->listens[1].line, 2);
}

static void
listen_same_address_twice(void **state)
{
	struct fixture *f = *state;
	char msg[512];

	snprintf(msg, sizeof(msg), "listen: 127.0.0.1:2222 already given on "
	    "%s:1", f->main);
	assert_line_error(f, "listen 127.0.0.1:2222", msg);
}

static void
listen_same_address_other_port_is_fine(void **state)
{
	struct fixture *f = *state;
	struct conf *c = load_base_ok(f, "listen 127.0.0.1:2223\n"
	    "listen [::1]:2222\n");

	assert_int_equal(c->nlistens, 3);
}

static void
listen_needs_a_literal_address(void **state)
{
	struct fixture *f = *state;

	/* listen sockets are bound at load: no name lookups for them */
	assert_line_error(f, "listen localhost:22", "listen: 'localhost' is "
	    "not an IPv4 or IPv6 address (write [::]:PORT for IPv6)");
}

static void
listen_bad_host_port(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "listen 127.0.0.1",
	    "listen: '127.0.0.1': missing :PORT");
	assert_line_error(f, "listen 127.0.0.1:0",
	    "listen: '127.0.0.1:0': port must be 1-65535");
	assert_line_error(f, "listen 127.0.0.1:70000",
	    "listen: '127.0.0.1:70000': port must be 1-65535");
	assert_line_error(f, "listen ::1:22",
	    "listen: '::1:22': write IPv6 addresses as [ADDR]:PORT");
	assert_line_error(f, "listen [::1]22",
	    "listen: '[::1]22': expected [IPV6]:PORT");
	assert_line_error(f, "listen :22", "listen: ':22': empty host");
}

static void
listen_options(void **state)
{
	struct fixture *f = *state;

	struct conf *c;

	c = load_base_ok(f, "listen 127.0.0.1:2223 proxy-protocol\n");
	assert_int_equal(c->nlistens, 2);
	assert_int_equal(c->listens[0].proxy_protocol, 0);
	assert_int_equal(c->listens[1].proxy_protocol, 1);
	assert_line_error(f, "listen 127.0.0.1:2223 fast",
	    "listen: unknown option 'fast' (proxy-protocol?)");
}

static void
listen_argument_count(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "listen", "'listen' takes at least 1 argument");
	assert_line_error(f, "listen 127.0.0.1:1 a b",
	    "'listen' takes at most 2 arguments");
}

/* --- certificate -------------------------------------------------------- */

static void
certificate_paths_relative_to_config(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	c = load_base_ok(f, "certificate certs/rsa.pem key keys/rsa.key\n"
	    "certificate /etc/sshgate/abs.pem key /etc/sshgate/abs.key\n");
	assert_int_equal(c->ncerts, 3);
	/* BASE's "gw.pem" sits next to main.conf, not in the cwd */
	assert_string_equal(c->certs[0].cert, in_dir(f, "gw.pem"));
	assert_null(c->certs[0].key);
	assert_string_equal(c->certs[1].cert, in_dir(f, "certs/rsa.pem"));
	assert_string_equal(c->certs[1].key, in_dir(f, "keys/rsa.key"));
	assert_int_equal(c->certs[1].line, AFTER_BASE);
	/* absolute paths are kept as written */
	assert_string_equal(c->certs[2].cert, "/etc/sshgate/abs.pem");
	assert_string_equal(c->certs[2].key, "/etc/sshgate/abs.key");
}

static void
certificate_usage(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "certificate a.pem b.key",
	    "usage: certificate FILE [key FILE]");
	assert_line_error(f, "certificate a.pem keyfile b.key",
	    "usage: certificate FILE [key FILE]");
	assert_line_error(f, "certificate",
	    "'certificate' takes at least 1 argument");
	assert_line_error(f, "certificate a key b c",
	    "'certificate' takes at most 3 arguments");
}

/* --- ssh-only ----------------------------------------------------------- */

static void
ssh_only_yes_and_no(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_base_ok(f, "ssh-only no\n")->ssh_only, 0);
	assert_int_equal(load_base_ok(f, "ssh-only yes\n")->ssh_only, 1);
}

static void
ssh_only_bad_value(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "ssh-only maybe",
	    "ssh-only: expected yes or no, got 'maybe'");
	/* only the two words: no "true", no upper case */
	assert_line_error(f, "ssh-only true",
	    "ssh-only: expected yes or no, got 'true'");
	assert_line_error(f, "ssh-only Yes",
	    "ssh-only: expected yes or no, got 'Yes'");
	assert_line_error(f, "ssh-only", "'ssh-only' takes at least 1 argument");
	assert_line_error(f, "ssh-only yes no",
	    "'ssh-only' takes at most 1 argument");
}

static void
ssh_only_twice(void **state)
{
	struct fixture *f = *state;

	load(f, BASE "ssh-only yes\nssh-only no\n");
	assert_null(f->c);
	assert_nerrors(f, 1);
	assert_error_prefix_at(f, 0, "main.conf", 5,
	    "'ssh-only' given twice (first at ");
}

/* --- timeout ------------------------------------------------------------ */

static void
timeout_every_kind(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	c = load_base_ok(f,
	    "timeout handshake 500ms\n"
	    "timeout inspect 2m\n"
	    "timeout connect 1h\n"
	    "timeout idle 30m\n"
	    "timeout dns 250ms\n"
	    "timeout drain 45s\n");
	assert_secs(c->t_handshake, 0.5);
	assert_secs(c->t_inspect, 120);
	assert_secs(c->t_connect, 3600);
	assert_secs(c->t_idle, 1800);
	assert_secs(c->t_dns, 0.25);
	assert_secs(c->t_drain, 45);
}

static void
timeout_zero_means_never(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	/* the contract: 0 = never, for every kind */
	c = load_base_ok(f, "timeout idle 0\ntimeout drain 0\n"
	    "timeout handshake 0\ntimeout inspect 0s\ntimeout connect 0\n"
	    "timeout dns 0\n");
	assert_secs(c->t_idle, 0);
	assert_secs(c->t_drain, 0);
	assert_secs(c->t_handshake, 0);
	assert_secs(c->t_inspect, 0);
	assert_secs(c->t_connect, 0);
	assert_secs(c->t_dns, 0);
}

static void
timeout_unknown_kind(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "timeout read 5s", "timeout: unknown kind 'read' "
	    "(handshake, inspect, connect, idle, dns or drain)");
}

static void
timeout_bad_duration(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "timeout handshake 5", "timeout handshake: '5' is "
	    "not a duration (like 500ms, 5s, 2m, 1h or 0)");
	assert_line_error(f, "timeout idle 721h", "timeout idle: '721h' is "
	    "not a duration (like 500ms, 5s, 2m, 1h or 0)");
	assert_line_error(f, "timeout dns -1s", "timeout dns: '-1s' is "
	    "not a duration (like 500ms, 5s, 2m, 1h or 0)");
}

static void
timeout_argument_count(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "timeout idle",
	    "'timeout' takes at least 2 arguments");
	assert_line_error(f, "timeout idle 5s 6s",
	    "'timeout' takes at most 2 arguments");
}

static void
timeout_same_kind_twice(void **state)
{
	struct fixture *f = *state;

	load(f, BASE "timeout idle 5m\ntimeout handshake 5s\n"
	    "timeout idle 10m\n");
	assert_null(f->c);
	/* other kinds are separate settings: only the repeat is an error */
	assert_nerrors(f, 1);
	assert_error_prefix_at(f, 0, "main.conf", 6,
	    "'timeout idle' given twice (first at ");
}

/* --- max-connections / workers ------------------------------------------ */

static void
max_connections_range(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_base_ok(f, "max-connections 1\n")->max_conns, 1);
	assert_int_equal(load_base_ok(f, "max-connections 1000000\n")
	    ->max_conns, 1000000);
	assert_line_error(f, "max-connections 0", "max-connections: expected a "
	    "number from 1 to 1000000, got '0'");
	assert_line_error(f, "max-connections 1000001", "max-connections: "
	    "expected a number from 1 to 1000000, got '1000001'");
	assert_line_error(f, "max-connections lots", "max-connections: "
	    "expected a number from 1 to 1000000, got 'lots'");
	assert_line_error(f, "max-connections -5", "max-connections: "
	    "expected a number from 1 to 1000000, got '-5'");
}

static void
max_connections_twice(void **state)
{
	struct fixture *f = *state;

	load(f, BASE "max-connections 5\nmax-connections 6\n");
	assert_null(f->c);
	assert_nerrors(f, 1);
	assert_error_prefix_at(f, 0, "main.conf", 5,
	    "'max-connections' given twice (first at ");
}

static void
workers_range(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_base_ok(f, "workers 1\n")->workers, 1);
	assert_int_equal(load_base_ok(f, "workers 256\n")->workers, 256);
	assert_line_error(f, "workers 0",
	    "workers: expected a number from 1 to 256, got '0'");
	assert_line_error(f, "workers 257",
	    "workers: expected a number from 1 to 256, got '257'");
	assert_line_error(f, "workers", "'workers' takes at least 1 argument");
}

static void
workers_twice(void **state)
{
	struct fixture *f = *state;

	load(f, BASE "workers 2\nworkers 2\n");
	assert_null(f->c);
	/* even the same value twice: the second line is a mistake */
	assert_nerrors(f, 1);
	assert_error_prefix_at(f, 0, "main.conf", 5,
	    "'workers' given twice (first at ");
}

/* --- route -------------------------------------------------------------- */

static void
route_static_servers(void **state)
{
	struct fixture *f = *state;
	struct conf *c;
	struct route *r;

	c = load_base_ok(f, "route DB7.example.local to 10.0.0.7:22 "
	    "[::1]:2222 backend.internal:2200\n");
	assert_int_equal(c->routes.n, 2);
	r = &c->routes.v[1];
	/* the text stays as written for logs; the pattern is normalized */
	assert_string_equal(r->text, "DB7.example.local");
	assert_int_equal(r->pat.kind, PATTERN_EXACT);
	assert_string_equal(r->pat.name, "db7.example.local");
	assert_int_equal(r->kind, ROUTE_STATIC);
	assert_string_equal(r->file, f->main);
	assert_int_equal(r->line, AFTER_BASE);
	assert_int_equal(r->nservers, 3);
	assert_string_equal(r->servers[0].host, "10.0.0.7");
	assert_int_equal(r->servers[0].port, 22);
	assert_int_equal(r->servers[0].addr.ss.ss_family, AF_INET);
	assert_string_equal(r->servers[1].host, "::1");
	assert_int_equal(r->servers[1].port, 2222);
	assert_int_equal(r->servers[1].addr.ss.ss_family, AF_INET6);
	/* names are left for the runtime to resolve */
	assert_string_equal(r->servers[2].host, "backend.internal");
	assert_int_equal(r->servers[2].port, 2200);
	assert_int_equal(r->servers[2].addr.len, 0);
}

static void
route_order_is_kept(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	/* first match wins, so the table must keep the file's order */
	c = load_ok(f, "listen 127.0.0.1:2222\ncertificate gw.pem\n"
	    "route a.example to 127.0.0.1:1\n"
	    "route *.example to 127.0.0.1:2\n"
	    "route 10.0.0.0/8 to 127.0.0.1:3\n"
	    "route * to 127.0.0.1:4\n");
	assert_int_equal(c->routes.n, 4);
	assert_int_equal(c->routes.v[0].pat.kind, PATTERN_EXACT);
	assert_int_equal(c->routes.v[1].pat.kind, PATTERN_SUFFIX);
	assert_int_equal(c->routes.v[2].pat.kind, PATTERN_CIDR);
	assert_int_equal(c->routes.v[3].pat.kind, PATTERN_ANY);
	assert_ptr_equal(route_match(&c->routes, "b.example"), &c->routes.v[1]);
	assert_int_equal(c->routes.v[3].servers[0].port, 4);
}

static void
route_usage(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "route *", "'route' takes at least 2 arguments");
	assert_line_error(f, "route * to", ROUTE_USAGE);
	assert_line_error(f, "route * via 127.0.0.1:22", ROUTE_USAGE);
	assert_line_error(f, "route * resolve 22", ROUTE_USAGE);
	assert_line_error(f, "route * direct port", ROUTE_USAGE);
}

static void
route_send_proxy(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	c = load_base_ok(f, "route b.example to 127.0.0.1:22 127.0.0.2:22 "
	    "send-proxy\n");
	assert_int_equal(c->routes.v[1].send_proxy, 1);
	assert_int_equal(c->routes.v[1].nservers, 2);
	assert_int_equal(c->routes.v[0].send_proxy, 0);
	assert_line_error(f, "route * to send-proxy 127.0.0.1:22", "route *: "
	    "send-proxy goes after the servers");
}

static void
route_passthrough_parses(void **state)
{
	struct fixture *f = *state;
	struct conf *c;
	const struct route *r;

	c = load_base_ok(f, "route www.example.com passthrough to "
	    "127.0.0.1:8443 web2:443 send-proxy\n"
	    "route * alpn h2,http/1.1 passthrough to 127.0.0.1:443\n");
	r = &c->routes.v[1];
	assert_int_equal(r->passthrough, 1);
	assert_int_equal(r->kind, ROUTE_STATIC);
	assert_int_equal(r->nservers, 2);
	assert_int_equal(r->servers[0].port, 8443);
	assert_string_equal(r->servers[1].host, "web2");
	assert_int_equal(r->send_proxy, 1);
	assert_int_equal(r->nalpn, 0);
	r = &c->routes.v[2];
	assert_int_equal(r->passthrough, 1);
	assert_int_equal(r->nalpn, 2);
	assert_string_equal(r->alpn[0], "h2");
	assert_string_equal(r->alpn[1], "http/1.1");
	assert_int_equal(r->send_proxy, 0);
	assert_int_equal(c->routes.v[0].passthrough, 0);
	/* BASE's terminated * comes first: it takes every name */
	{
		static const char *const h2[] = { "h2" };

		assert_ptr_equal(route_match_hello(&c->routes, "x.example", h2,
		    1), &c->routes.v[0]);
		assert_ptr_equal(route_match_hello(&c->routes, NULL, h2, 1),
		    r);
	}
}

static void
route_passthrough_errors(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "route * passthrough to", ROUTE_USAGE);
	assert_line_error(f, "route * passthrough 127.0.0.1:443", ROUTE_USAGE);
	assert_line_error(f, "route * alpn h2 to 127.0.0.1:443", "route * "
	    "alpn: an ALPN list goes with passthrough: route PATTERN alpn "
	    "PROTO[,PROTO...] passthrough to HOST:PORT...");
	assert_line_error(f, "route * alpn h2,,x passthrough to "
	    "127.0.0.1:443", "route * alpn: 'h2,,x' is not a list of "
	    "protocol names (such as h2,http/1.1: 1-64 letters, digits or "
	    "-_./+ each, separated by commas)");
	assert_line_error(f, "route * alpn \"h 2\" passthrough to "
	    "127.0.0.1:443", "route * alpn: 'h 2' is not a list of "
	    "protocol names (such as h2,http/1.1: 1-64 letters, digits or "
	    "-_./+ each, separated by commas)");
	assert_line_error(f, "route * passthrough to send-proxy", "route *: "
	    "send-proxy goes after the servers");
	assert_line_error(f, "route * passthrough to 127.0.0.1", "route *: "
	    "'127.0.0.1': missing :PORT");
}

static void
passthrough_to_itself_is_an_error(void **state)
{
	struct fixture *f = *state;
	char text[8192];

	/* BASE listens on 127.0.0.1:2222 (line 1) */
	snprintf(text, sizeof(text), "%sroute * passthrough to "
	    "127.0.0.1:2222\n", BASE);
	load(f, text);
	assert_null(f->c);
	assert_nerrors(f, 1);
	assert_error_prefix_at(f, 0, "main.conf", AFTER_BASE, "route * "
	    "passthrough: 127.0.0.1:2222 is this gateway's own listen at ");
	/* a listener on every address: loopback on its port loops too */
	load(f, "listen 0.0.0.0:443\ncertificate gw.pem\n"
	    "route * passthrough to 127.0.0.2:443\n");
	assert_nerrors(f, 1);
	assert_error_prefix_at(f, 0, "main.conf", 3, "route * passthrough: "
	    "127.0.0.2:443 is this gateway's own listen at ");
	/* ... another host on the same port does not */
	load_ok(f, "listen 0.0.0.0:443\ncertificate gw.pem\n"
	    "route * passthrough to 10.0.0.80:443 127.0.0.1:8443\n");
}

static void
dynamic_routes_parse(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	c = load_ok(f, BASE "allow-destination 10.0.0.0/8 fd00::/8\n"
	    "deny-destination 10.9.0.0/16\n"
	    "route 10.0.0.0/8 direct\n"
	    "route *.internal resolve port 2201\n"
	    "route ::1 direct port 22\n");
	assert_int_equal(c->routes.n, 4);
	assert_int_equal(c->routes.v[1].kind, ROUTE_DIRECT);
	assert_int_equal(c->routes.v[1].port, 22);
	assert_int_equal(c->routes.v[2].kind, ROUTE_RESOLVE);
	assert_int_equal(c->routes.v[2].port, 2201);
	assert_int_equal(c->dest.nallow, 2);
	assert_int_equal(c->dest.ndeny, 1);
	assert_int_equal(c->resolve_family, AF_INET);
	assert_null(c->resolvers);
}

static void
dynamic_route_without_allow_is_an_open_relay(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "route *.internal resolve", "route *.internal "
	    "resolve: no allow-destination is given, so this route would be "
	    "an open relay; list the networks it may reach");
	assert_line_error(f, "route * direct", "route * direct: no "
	    "allow-destination is given, so this route would be an open "
	    "relay; list the networks it may reach");
}

static void
dynamic_route_bad_values(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "route *.internal resolve port 0",
	    "route *.internal resolve: port must be 1-65535, got '0'");
	load(f, BASE "allow-destination 10.0.0.0/8\nroute *.internal direct\n");
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "main.conf", 5, "route *.internal direct: a "
	    "direct route takes an address, a CIDR or *, not a name");
	assert_line_error(f, "allow-destination 10.0.0.0/33",
	    "allow-destination: '10.0.0.0/33' is not an address or CIDR");
	assert_line_error(f, "deny-destination nowhere",
	    "deny-destination: 'nowhere' is not an address or CIDR");
}

static void
per_ip_limits(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	c = load_ok(f, BASE "max-connections-per-ip 20\n"
	    "rate-limit-per-ip 10/60\n");
	assert_int_equal(c->max_per_ip, 20);
	assert_int_equal(c->rate_n, 10);
	assert_true(c->rate_secs == 60);
	c = load_ok(f, BASE);
	assert_int_equal(c->max_per_ip, 0);
	assert_int_equal(c->rate_n, 0);
	assert_line_error(f, "max-connections-per-ip -1",
	    "max-connections-per-ip: expected a number from 0 to 1000000, "
	    "got '-1'");
	assert_line_error(f, "rate-limit-per-ip 10", "rate-limit-per-ip: "
	    "expected N/SECONDS (like 10/60: 10 new connections a minute), "
	    "got '10'");
	assert_line_error(f, "rate-limit-per-ip 0/60", "rate-limit-per-ip: "
	    "expected N/SECONDS (like 10/60: 10 new connections a minute), "
	    "got '0/60'");
	assert_line_error(f, "rate-limit-per-ip 5/0", "rate-limit-per-ip: "
	    "expected N/SECONDS (like 10/60: 10 new connections a minute), "
	    "got '5/0'");
	assert_line_error(f, "rate-limit-per-ip 5/x", "rate-limit-per-ip: "
	    "expected N/SECONDS (like 10/60: 10 new connections a minute), "
	    "got '5/x'");
}

static void
resolver_addresses(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	c = load_ok(f, BASE "resolver 127.0.0.53\nresolver 127.0.0.54:5353\n"
	    "resolver [::1]:53\nresolver ::1\nresolve any\n");
	assert_string_equal(c->resolvers, "127.0.0.53:53,127.0.0.54:5353,"
	    "[::1]:53,[::1]:53");
	assert_int_equal(c->resolve_family, AF_UNSPEC);
	c = load_ok(f, BASE "resolver system\nresolve ipv6\n");
	assert_null(c->resolvers);
	assert_int_equal(c->resolve_family, AF_INET6);
}

static void
resolver_bad_values(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "resolver dns.example", "resolver: "
	    "'dns.example' is not an address (ADDR, ADDR:PORT, [IPV6]:PORT) "
	    "or 'system'");
	assert_line_error(f, "resolver 127.0.0.1:0", "resolver: "
	    "'127.0.0.1:0' is not an address (ADDR, ADDR:PORT, [IPV6]:PORT) "
	    "or 'system'");
	assert_line_error(f, "resolve ipv5",
	    "resolve: expected ipv4, ipv6 or any, got 'ipv5'");
	load(f, BASE "resolver system\nresolver 127.0.0.1\n");
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "main.conf", 5, "resolver 127.0.0.1: cannot be "
	    "mixed with 'resolver system'");
	load(f, BASE "resolve any\nresolve ipv4\n");
	assert_nerrors(f, 1);
	assert_error_prefix_at(f, 0, "main.conf", 5,
	    "'resolve' given twice (first at ");
}

static void
route_bad_pattern(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "route bad!name to 127.0.0.1:22", "route: pattern "
	    "'bad!name': not a host name, wildcard, address or CIDR");
	assert_line_error(f, "route *example to 127.0.0.1:22", "route: pattern "
	    "'*example': a wildcard is written *.suffix");
}

static void
route_bad_server(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "route * to 127.0.0.1", "route *: '127.0.0.1': "
	    "missing :PORT");
	assert_line_error(f, "route * to 127.0.0.1:22 host:0", "route *: "
	    "'host:0': port must be 1-65535");
	assert_line_error(f, "route * to ::1:22", "route *: '::1:22': write "
	    "IPv6 addresses as [ADDR]:PORT");
}

static void
route_most_servers_on_a_line(void **state)
{
	struct fixture *f = *state;
	char text[4096];
	size_t pos, i;
	struct conf *c;

	/* LEX_MAX_WORDS words: route, pattern, to and the rest servers */
	pos = (size_t)snprintf(text, sizeof(text), "%sroute x.example to",
	    BASE);
	for (i = 0; i < LEX_MAX_WORDS - 3; i++)
		pos += (size_t)snprintf(text + pos, sizeof(text) - pos,
		    " 127.0.0.1:%zu", 1000 + i);
	snprintf(text + pos, sizeof(text) - pos, "\n");
	c = load_ok(f, text);
	assert_int_equal(c->routes.v[1].nservers, LEX_MAX_WORDS - 3);
	assert_int_equal(c->routes.v[1].servers[LEX_MAX_WORDS - 4].port,
	    1000 + LEX_MAX_WORDS - 4);
}

/* --- log / log-format --------------------------------------------------- */

static void
log_targets(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	assert_int_equal(load_base_ok(f, "log stderr\n")->log_to,
	    LOG_TO_STDERR);
	assert_int_equal(load_base_ok(f, "log stdout\n")->log_to,
	    LOG_TO_STDOUT);
	c = load_base_ok(f, "log file audit/sshgate.log\n");
	assert_int_equal(c->log_to, LOG_TO_FILE);
	/* like certificates: relative to the config file's directory */
	assert_string_equal(c->log_path, in_dir(f, "audit/sshgate.log"));
	c = load_base_ok(f, "log file /var/log/sshgate.log\n");
	assert_string_equal(c->log_path, "/var/log/sshgate.log");
}

static void
log_syslog_facilities(void **state)
{
	struct fixture *f = *state;
	static const struct { const char *name; int value; } fac[] = {
		{ "daemon", LOG_DAEMON }, { "auth", LOG_AUTH },
		{ "authpriv", LOG_AUTHPRIV }, { "user", LOG_USER },
		{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
		{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};
	char line[64];
	struct conf *c;
	size_t i;

	c = load_base_ok(f, "log syslog\n");
	assert_int_equal(c->log_to, LOG_TO_SYSLOG);
	/* daemon unless told otherwise */
	assert_int_equal(c->log_facility, LOG_DAEMON);
	for (i = 0; i < sizeof(fac) / sizeof(fac[0]); i++) {
		snprintf(line, sizeof(line), "log syslog %s\n", fac[i].name);
		c = load_base_ok(f, line);
		assert_int_equal(c->log_to, LOG_TO_SYSLOG);
		assert_int_equal(c->log_facility, fac[i].value);
	}
}

static void
log_bad_usage(void **state)
{
	struct fixture *f = *state;
	static const char usage[] =
	    "usage: log stderr | stdout | syslog [FACILITY] | file PATH";

	assert_line_error(f, "log file", usage);
	assert_line_error(f, "log stderr now", usage);
	assert_line_error(f, "log stdout now", usage);
	assert_line_error(f, "log journald", usage);
	assert_line_error(f, "log syslog kern",
	    "log syslog: unknown facility 'kern'");
	assert_line_error(f, "log", "'log' takes at least 1 argument");
	assert_line_error(f, "log file a b", "'log' takes at most 2 arguments");
}

static void
log_twice(void **state)
{
	struct fixture *f = *state;

	load(f, BASE "log stderr\nlog file x.log\n");
	assert_null(f->c);
	assert_nerrors(f, 1);
	assert_error_prefix_at(f, 0, "main.conf", 5,
	    "'log' given twice (first at ");
}

static void
log_format_text_and_json(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_base_ok(f, "log-format json\n")->log_json, 1);
	assert_int_equal(load_base_ok(f, "log-format text\n")->log_json, 0);
	assert_line_error(f, "log-format xml",
	    "log-format: expected text or json, got 'xml'");
	assert_line_error(f, "log-format",
	    "'log-format' takes at least 1 argument");
}

static void
log_format_twice(void **state)
{
	struct fixture *f = *state;

	load(f, BASE "log-format json\nlog-format json\n");
	assert_null(f->c);
	assert_nerrors(f, 1);
	assert_error_prefix_at(f, 0, "main.conf", 5,
	    "'log-format' given twice (first at ");
}

/* --- include ------------------------------------------------------------ */

static void
include_relative_to_including_file(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	make_dir(f, "sub");
	/* b.conf is found next to a.conf, not next to main.conf */
	put_file(f, "sub/a.conf", "include b.conf\n");
	put_file(f, "sub/b.conf", "# b\nlisten 127.0.0.1:2222\n");
	c = load_ok(f, "include sub/a.conf\ncertificate gw.pem\n"
	    "route * to 127.0.0.1:22\n");
	assert_int_equal(c->nlistens, 1);
	assert_string_equal(c->listens[0].file, in_dir(f, "sub/b.conf"));
	assert_int_equal(c->listens[0].line, 2);
	assert_int_equal(c->nfiles, 3);
}

static void
include_paths_in_included_file(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	/* a certificate named in sub/ is relative to sub/ */
	make_dir(f, "sub");
	put_file(f, "sub/tls.conf", "certificate gw.pem key gw.key\n");
	c = load_ok(f, "listen 127.0.0.1:2222\ninclude sub/tls.conf\n"
	    "route * to 127.0.0.1:22\n");
	assert_string_equal(c->certs[0].cert, in_dir(f, "sub/gw.pem"));
	assert_string_equal(c->certs[0].key, in_dir(f, "sub/gw.key"));
}

static void
include_absolute_path(void **state)
{
	struct fixture *f = *state;
	char text[512];
	struct conf *c;

	put_file(f, "abs.conf", "log-format json\n");
	snprintf(text, sizeof(text), "%sinclude %s\n", BASE,
	    in_dir(f, "abs.conf"));
	c = load_ok(f, text);
	assert_int_equal(c->log_json, 1);
}

static void
include_glob_in_name_order(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	make_dir(f, "conf.d");
	/* written out of order: glob sorts, so routes keep a stable order */
	put_file(f, "conf.d/20-b.conf", "route b.example to 127.0.0.1:2\n");
	put_file(f, "conf.d/10-a.conf", "route a.example to 127.0.0.1:1\n");
	put_file(f, "conf.d/README", "this is not config\n");
	c = load_ok(f, BASE "include conf.d/*.conf\n");
	assert_int_equal(c->routes.n, 3);
	assert_string_equal(c->routes.v[1].text, "a.example");
	assert_string_equal(c->routes.v[1].file, in_dir(f, "conf.d/10-a.conf"));
	assert_string_equal(c->routes.v[2].text, "b.example");
	assert_int_equal(c->nfiles, 3);
}

static void
include_glob_matching_nothing_is_fine(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	/* an empty conf.d is normal: the glob may match no file */
	make_dir(f, "conf.d");
	c = load_ok(f, BASE "include conf.d/*.conf\ninclude none?.conf\n");
	assert_int_equal(c->nfiles, 1);
}

static void
include_missing_file_is_an_error(void **state)
{
	struct fixture *f = *state;
	char msg[512];

	/* a plain name is a promise the file exists */
	snprintf(msg, sizeof(msg), "include: cannot read %s: No such file or "
	    "directory", in_dir(f, "missing.conf"));
	assert_line_error(f, "include missing.conf", msg);
}

static void
include_errors_name_the_included_file(void **state)
{
	struct fixture *f = *state;

	make_dir(f, "conf.d");
	put_file(f, "conf.d/bad.conf", "# fine\nbogus here\nworkers 999\n");
	load(f, BASE "include conf.d/*.conf\n");
	assert_null(f->c);
	assert_nerrors(f, 2);
	assert_error_at(f, 0, "conf.d/bad.conf", 2, "unknown keyword 'bogus'");
	assert_error_at(f, 1, "conf.d/bad.conf", 3,
	    "workers: expected a number from 1 to 256, got '999'");
}

static void
include_directives_count_as_if_inline(void **state)
{
	struct fixture *f = *state;

	/* a single-valued keyword in two files is still given twice */
	put_file(f, "more.conf", "\nworkers 4\n");
	load(f, BASE "workers 2\ninclude more.conf\n");
	assert_null(f->c);
	assert_nerrors(f, 1);
	/*
	 * Only the start is checked: "(first on line 4)" does not say that
	 * line 4 is in main.conf, and may well gain the file name.
	 */
	assert_error_prefix_at(f, 0, "more.conf", 2, "'workers' given twice");
}

static void
include_loop_is_stopped(void **state)
{
	struct fixture *f = *state;

	/* loop.conf includes itself: stop at the depth limit, once */
	put_file(f, "loop.conf", "include loop.conf\n");
	load(f, BASE "include loop.conf\n");
	assert_null(f->c);
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "loop.conf", 1,
	    "include: nested more than 8 deep (an include loop?)");
}

static void
include_mutual_loop_is_stopped(void **state)
{
	struct fixture *f = *state;

	put_file(f, "a.conf", "include b.conf\n");
	put_file(f, "b.conf", "\ninclude a.conf\n");
	load(f, BASE "include a.conf\n");
	assert_null(f->c);
	assert_nerrors(f, 1);
	/* main(1) a(2) b(3) a(4) b(5) a(6) b(7) a(8): a's include fails */
	assert_error_at(f, 0, "a.conf", 1,
	    "include: nested more than 8 deep (an include loop?)");
}

/* main.conf includes d1.conf, which includes d2.conf ... up to dN.conf. */
static void
write_include_chain(struct fixture *f, int n)
{
	char name[32], text[64];
	int i;

	for (i = 1; i <= n; i++) {
		snprintf(name, sizeof(name), "d%d.conf", i);
		if (i < n)
			snprintf(text, sizeof(text), "include d%d.conf\n", i + 1);
		else
			snprintf(text, sizeof(text), "# the bottom\n");
		put_file(f, name, text);
	}
}

static void
include_eight_files_deep_is_allowed(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	/* main + 7 nested includes: 8 files deep, the limit */
	write_include_chain(f, 7);
	c = load_ok(f, BASE "include d1.conf\n");
	assert_int_equal(c->nfiles, 8);
}

static void
include_nine_files_deep_is_refused(void **state)
{
	struct fixture *f = *state;

	write_include_chain(f, 8);
	load(f, BASE "include d1.conf\n");
	assert_null(f->c);
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "d7.conf", 1,
	    "include: nested more than 8 deep (an include loop?)");
}

static void
include_argument_count(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "include", "'include' takes at least 1 argument");
	assert_line_error(f, "include a.conf b.conf",
	    "'include' takes at most 1 argument");
}

static void
include_directory_is_an_error(void **state)
{
	struct fixture *f = *state;
	char msg[512];

	/* a plain name that is a directory: say so, do not skip it */
	make_dir(f, "conf.d");
	snprintf(msg, sizeof(msg), "include: cannot read %s: not a regular "
	    "file", in_dir(f, "conf.d"));
	assert_line_error(f, "include conf.d", msg);
}

/* --- client certificates: client-ca, crl, expire-sessions --------------- */

/* BASE + CA_LINE: client-ca on line 4, what follows from line 5 on. */
#define CA_LINE "client-ca ca.pem\n"
#define AFTER_CA (AFTER_BASE + 1)
#define NEED_CA "access rules need 'client-ca': without client " \
	"certificates there is no user or group to match"

static void
client_certificates_off_by_default(void **state)
{
	struct fixture *f = *state;
	struct conf *c = load_ok(f, BASE);

	assert_null(c->client_ca);
	assert_null(c->crls);
	assert_int_equal(c->ncrls, 0);
	assert_int_equal(c->expire_sessions, 1);
	assert_null(c->policy.rules);
	assert_int_equal(c->policy.n, 0);
}

static void
client_ca_relative_to_config(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	c = load_base_ok(f, "client-ca ca/clients.pem\n");
	assert_string_equal(c->client_ca, in_dir(f, "ca/clients.pem"));
	assert_string_equal(c->client_ca_at.file, f->main);
	assert_int_equal(c->client_ca_at.line, AFTER_BASE);
	c = load_base_ok(f, "client-ca /etc/sshgate/company-ca.pem\n");
	assert_string_equal(c->client_ca, "/etc/sshgate/company-ca.pem");
	/* named in an included file: relative to that file */
	make_dir(f, "sub");
	put_file(f, "sub/tls.conf",
	    "# client certificates\nclient-ca ca.pem\n");
	c = load_base_ok(f, "include sub/tls.conf\n");
	assert_string_equal(c->client_ca, in_dir(f, "sub/ca.pem"));
	assert_string_equal(c->client_ca_at.file, in_dir(f, "sub/tls.conf"));
	assert_int_equal(c->client_ca_at.line, 2);
}

static void
client_ca_twice(void **state)
{
	struct fixture *f = *state;
	char msg[512];

	load(f, BASE "client-ca a.pem\nclient-ca b.pem\n");
	assert_null(f->c);
	assert_nerrors(f, 1);
	snprintf(msg, sizeof(msg), "'client-ca' given twice (first at %s:%d)",
	    f->main, AFTER_BASE);
	assert_error_at(f, 0, "main.conf", AFTER_BASE + 1, msg);
}

static void
client_ca_argument_count(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "client-ca",
	    "'client-ca' takes at least 1 argument");
	assert_line_error(f, "client-ca a.pem b.pem",
	    "'client-ca' takes at most 1 argument");
}

static void
crl_relative_and_repeatable(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	make_dir(f, "sub");
	put_file(f, "sub/crl.conf", "crl more.crl\n");
	c = load_base_ok(f, CA_LINE "crl crls/company.crl\n"
	    "crl /etc/sshgate/other.crl\ninclude sub/crl.conf\n");
	assert_int_equal(c->ncrls, 3);
	assert_string_equal(c->crls[0].path, in_dir(f, "crls/company.crl"));
	assert_string_equal(c->crls[0].file, f->main);
	assert_int_equal(c->crls[0].line, AFTER_CA);
	assert_string_equal(c->crls[1].path, "/etc/sshgate/other.crl");
	assert_int_equal(c->crls[1].line, AFTER_CA + 1);
	/* relative to the file that names it */
	assert_string_equal(c->crls[2].path, in_dir(f, "sub/more.crl"));
	assert_string_equal(c->crls[2].file, in_dir(f, "sub/crl.conf"));
	assert_int_equal(c->crls[2].line, 1);
	/* the same file twice is not "given twice" */
	c = load_base_ok(f, CA_LINE "crl a.crl\ncrl a.crl\n");
	assert_int_equal(c->ncrls, 2);
}

static void
crl_argument_count(void **state)
{
	struct fixture *f = *state;

	assert_line_error(f, "crl", "'crl' takes at least 1 argument");
	assert_line_error(f, "crl a.crl b.crl",
	    "'crl' takes at most 1 argument");
}

static void
assert_access_error(struct fixture *f, const char *line, const char *msg)
{
	char text[8192];

	snprintf(text, sizeof(text), "%s%s%s\n", BASE, CA_LINE, line);
	load(f, text);
	assert_null(f->c);
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "main.conf", AFTER_CA, msg);
}

static void
expire_sessions_yes_and_no(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(load_base_ok(f, CA_LINE "expire-sessions no\n")
	    ->expire_sessions, 0);
	assert_int_equal(load_base_ok(f, CA_LINE "expire-sessions yes\n")
	    ->expire_sessions, 1);
	/* without client certificates there is nothing to expire */
	load(f, BASE "expire-sessions no\n");
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "main.conf", AFTER_BASE, "expire-sessions needs "
	    "'client-ca': it applies to client certificates");
}

static void
expire_sessions_bad_value(void **state)
{
	struct fixture *f = *state;

	assert_access_error(f, "expire-sessions maybe",
	    "expire-sessions: expected yes or no, got 'maybe'");
	assert_access_error(f, "expire-sessions Yes",
	    "expire-sessions: expected yes or no, got 'Yes'");
	assert_access_error(f, "expire-sessions",
	    "'expire-sessions' takes at least 1 argument");
	assert_access_error(f, "expire-sessions yes no",
	    "'expire-sessions' takes at most 1 argument");
}

static void
expire_sessions_twice(void **state)
{
	struct fixture *f = *state;
	char msg[512];

	load(f, BASE CA_LINE "expire-sessions no\nexpire-sessions no\n");
	assert_null(f->c);
	assert_nerrors(f, 1);
	snprintf(msg, sizeof(msg), "'expire-sessions' given twice (first at "
	    "%s:%d)", f->main, AFTER_CA);
	assert_error_at(f, 0, "main.conf", AFTER_CA + 1, msg);
}

/* --- access ------------------------------------------------------------- */

static void
access_rules_in_order(void **state)
{
	struct fixture *f = *state;
	const struct access_rule *r;
	struct conf *c;

	c = load_base_ok(f, CA_LINE
	    "access deny user mallory to *\n"
	    "access allow group ops to *.example.local 10.0.0.0/8\n"
	    "access allow any to bastion.example.local\n"
	    "access allow user \"Alice Smith\" to db7.example.local\n");
	assert_int_equal(c->policy.n, 4);
	r = &c->policy.rules[0];
	assert_int_equal(r->allow, 0);
	assert_int_equal(r->who, ACCESS_USER);
	assert_string_equal(r->name, "mallory");
	assert_string_equal(r->text, "deny user mallory to *");
	assert_string_equal(r->file, f->main);
	assert_int_equal(r->line, AFTER_CA);
	r = &c->policy.rules[1];
	assert_int_equal(r->allow, 1);
	assert_int_equal(r->who, ACCESS_GROUP);
	assert_string_equal(r->name, "ops");
	assert_int_equal(r->ntargets, 2);
	assert_int_equal(r->targets[0].kind, TARGET_NAME);
	assert_int_equal(r->targets[1].kind, TARGET_CIDR);
	assert_string_equal(r->text,
	    "allow group ops to *.example.local 10.0.0.0/8");
	assert_string_equal(r->file, f->main);
	assert_int_equal(r->line, AFTER_CA + 1);
	r = &c->policy.rules[2];
	assert_int_equal(r->who, ACCESS_ANY);
	assert_null(r->name);
	assert_int_equal(r->line, AFTER_CA + 2);
	/* a quoted name keeps its blank */
	r = &c->policy.rules[3];
	assert_string_equal(r->name, "Alice Smith");
	assert_int_equal(r->line, AFTER_CA + 3);
}

static void
access_rules_in_included_files(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	/* an included file's rules sit where the include is */
	put_file(f, "rules.conf", "# rules\naccess allow user alice to *\n");
	c = load_base_ok(f, CA_LINE "access deny user mallory to *\n"
	    "include rules.conf\naccess allow any to status.example.local\n");
	assert_int_equal(c->policy.n, 3);
	assert_string_equal(c->policy.rules[0].name, "mallory");
	assert_string_equal(c->policy.rules[0].file, f->main);
	assert_int_equal(c->policy.rules[0].line, AFTER_CA);
	assert_string_equal(c->policy.rules[1].name, "alice");
	assert_string_equal(c->policy.rules[1].file, in_dir(f, "rules.conf"));
	assert_int_equal(c->policy.rules[1].line, 2);
	assert_int_equal(c->policy.rules[2].who, ACCESS_ANY);
	assert_string_equal(c->policy.rules[2].file, f->main);
	assert_int_equal(c->policy.rules[2].line, AFTER_CA + 2);
}

/* Loads BASE + client-ca + one line: exactly that line's error. */

static void
access_rule_errors(void **state)
{
	struct fixture *f = *state;
	static const char usage[] = "usage: access allow|deny user NAME|group "
	    "NAME|any to TARGET...";

	assert_access_error(f, "access permit any to *", usage);
	assert_access_error(f, "access allow user alice *", usage);
	assert_access_error(f, "access allow user alice to", usage);
	assert_access_error(f, "access allow users alice to *", usage);
	assert_access_error(f, "access allow any", usage);
	assert_access_error(f, "access allow user \"\" to *",
	    "access: empty user name");
	assert_access_error(f, "access deny group \"\" to *",
	    "access: empty group name");
	assert_access_error(f, "access allow any to db.example.local bad!name",
	    "access: target pattern 'bad!name': not a host name, wildcard, "
	    "address or CIDR");
	assert_access_error(f, "access", "'access' takes at least 1 argument");
}

static void
access_without_client_ca(void **state)
{
	struct fixture *f = *state;

	load(f, BASE "access allow any to *\naccess deny user bob to *\n");
	assert_null(f->c);
	/* once, at the first rule */
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "main.conf", AFTER_BASE, NEED_CA);
	/* client-ca may come after the rules */
	load_base_ok(f, "access allow any to *\n" CA_LINE);
	/* a bad first rule is still the first rule */
	load(f, BASE "access allow\naccess allow any to *\n");
	assert_null(f->c);
	assert_nerrors(f, 2);
	assert_error_at(f, 0, "main.conf", AFTER_BASE, "usage: access "
	    "allow|deny user NAME|group NAME|any to TARGET...");
	assert_error_at(f, 1, "main.conf", AFTER_BASE, NEED_CA);
}

static void
access_without_client_ca_in_included_file(void **state)
{
	struct fixture *f = *state;

	put_file(f, "rules.conf", "\n\naccess allow any to *\n");
	load(f, BASE "include rules.conf\naccess deny any to *\n");
	assert_null(f->c);
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "rules.conf", 3, NEED_CA);
}

/* --- access-pairs ------------------------------------------------------- */

static void
access_pairs_user_and_group(void **state)
{
	struct fixture *f = *state;
	const struct access_rule *r;
	struct conf *c;

	make_dir(f, "acl");
	put_file(f, "acl/users.acl", "# users\nalice,192.168.0.10\n\n"
	    "  bob , db.example.local\r\n");
	put_file(f, "groups.acl", "dev,*.dev.example.local\n#end\nops,*\n");
	/* pairs files first in the config, their rules still come last */
	c = load_base_ok(f, CA_LINE
	    "access-pairs user acl/users.acl\n"
	    "access deny user mallory to *\n"
	    "access-pairs group groups.acl\n"
	    "access allow any to status.example.local\n");
	assert_int_equal(c->policy.n, 6);
	r = c->policy.rules;
	assert_string_equal(r[0].text, "deny user mallory to *");
	assert_string_equal(r[0].file, f->main);
	assert_int_equal(r[0].line, AFTER_CA + 1);
	assert_string_equal(r[1].text, "allow any to status.example.local");
	assert_string_equal(r[1].file, f->main);
	assert_int_equal(r[1].line, AFTER_CA + 3);
	/* then the pairs, in file order, each at its pairs file line */
	assert_int_equal(r[2].allow, 1);
	assert_int_equal(r[2].who, ACCESS_USER);
	assert_string_equal(r[2].name, "alice");
	assert_string_equal(r[2].text, "allow user alice to 192.168.0.10");
	assert_string_equal(r[2].file, in_dir(f, "acl/users.acl"));
	assert_int_equal(r[2].line, 2);
	assert_string_equal(r[3].name, "bob");
	assert_string_equal(r[3].text, "allow user bob to db.example.local");
	assert_string_equal(r[3].file, in_dir(f, "acl/users.acl"));
	assert_int_equal(r[3].line, 4);
	assert_int_equal(r[4].who, ACCESS_GROUP);
	assert_string_equal(r[4].name, "dev");
	assert_string_equal(r[4].text,
	    "allow group dev to *.dev.example.local");
	assert_string_equal(r[4].file, in_dir(f, "groups.acl"));
	assert_int_equal(r[4].line, 1);
	assert_int_equal(r[5].who, ACCESS_GROUP);
	assert_string_equal(r[5].text, "allow group ops to *");
	assert_string_equal(r[5].file, in_dir(f, "groups.acl"));
	assert_int_equal(r[5].line, 3);
	/* the pairs files are files read: errors name them */
	assert_int_equal(c->nfiles, 3);
	assert_string_equal(c->files[1], in_dir(f, "acl/users.acl"));
	assert_string_equal(c->files[2], in_dir(f, "groups.acl"));
}

static void
access_pairs_after_rules_of_included_files(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	/* the pairs file is relative to the file naming it */
	make_dir(f, "sub");
	put_file(f, "sub/users.acl", "carol,10.0.0.3\n");
	put_file(f, "sub/acl.conf", "access-pairs user users.acl\n");
	put_file(f, "late.conf", "access deny user mallory to *\n");
	c = load_base_ok(f, CA_LINE "include sub/acl.conf\n"
	    "access allow user alice to *\ninclude late.conf\n");
	assert_int_equal(c->policy.n, 3);
	assert_string_equal(c->policy.rules[0].name, "alice");
	assert_string_equal(c->policy.rules[1].name, "mallory");
	assert_string_equal(c->policy.rules[1].file, in_dir(f, "late.conf"));
	assert_string_equal(c->policy.rules[2].name, "carol");
	assert_string_equal(c->policy.rules[2].file,
	    in_dir(f, "sub/users.acl"));
	assert_int_equal(c->policy.rules[2].line, 1);
}

static void
access_pairs_only(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	/* an empty pairs file is fine; a pairs file alone is a policy */
	put_file(f, "empty.acl", "# nobody yet\n\n");
	put_file(f, "users.acl", "alice,*\n");
	c = load_base_ok(f, CA_LINE "access-pairs user empty.acl\n"
	    "access-pairs user users.acl\n");
	assert_int_equal(c->policy.n, 1);
	assert_string_equal(c->policy.rules[0].text, "allow user alice to *");
	assert_string_equal(c->policy.rules[0].file, in_dir(f, "users.acl"));
	assert_int_equal(c->policy.rules[0].line, 1);
}

static void
access_pairs_bad_lines(void **state)
{
	struct fixture *f = *state;
	static const char text[] = BASE CA_LINE "access-pairs user users.acl\n";
	static const char acl[] = "alice,10.0.0.1\nnocomma\n,x\nbob,\n"
	    "# fine\ncarol,bad!name\ndave,10.0.0.2\ner\0in,10.0.0.3\n";
	struct conf *c;

	put_bytes(f, "users.acl", acl, sizeof(acl) - 1);
	load(f, text);
	assert_null(f->c);
	assert_nerrors(f, 5);
	/* each at its line of the pairs file, not at the access-pairs line */
	assert_error_at(f, 0, "users.acl", 2,
	    "access-pairs: expected NAME,TARGET");
	assert_error_at(f, 1, "users.acl", 3,
	    "access-pairs: expected NAME,TARGET");
	assert_error_at(f, 2, "users.acl", 4,
	    "access-pairs: expected NAME,TARGET");
	assert_error_prefix_at(f, 3, "users.acl", 6, "access-pairs: ");
	if (strstr(f->errs.msgs[3], "'bad!name'") == NULL)
		fail_msg("error 3 does not name the target: %s",
		    f->errs.msgs[3]);
	assert_error_at(f, 4, "users.acl", 8,
	    "access-pairs: NUL byte in line");
	/* for reporting, the good lines are kept, with their lines */
	reset(f);
	c = f->c = conf_parse(f->main, &f->errs);
	assert_non_null(c);
	assert_nerrors(f, 5);
	assert_int_equal(c->policy.n, 2);
	assert_string_equal(c->policy.rules[0].name, "alice");
	assert_int_equal(c->policy.rules[0].line, 1);
	assert_string_equal(c->policy.rules[1].name, "dave");
	assert_int_equal(c->policy.rules[1].line, 7);
}

static void
access_pairs_missing_file(void **state)
{
	struct fixture *f = *state;
	char msg[512];

	snprintf(msg, sizeof(msg), "access-pairs: cannot read %s: No such "
	    "file or directory", in_dir(f, "nope.acl"));
	assert_access_error(f, "access-pairs group nope.acl", msg);
}

static void
access_pairs_directory_is_an_error(void **state)
{
	struct fixture *f = *state;
	char want[512];

	/*
	 * Like include: a name that is a directory is a mistake to report,
	 * not an empty list of rules.
	 */
	make_dir(f, "acl.d");
	load(f, BASE CA_LINE "access-pairs user acl.d\n");
	assert_nerrors(f, 1);
	snprintf(want, sizeof(want), "access-pairs: cannot read %s",
	    in_dir(f, "acl.d"));
	assert_error_prefix_at(f, 0, "main.conf", AFTER_CA, want);
	assert_null(f->c);
}

static void
access_pairs_usage(void **state)
{
	struct fixture *f = *state;

	put_file(f, "users.acl", "alice,*\n");
	assert_access_error(f, "access-pairs users users.acl",
	    "usage: access-pairs user|group FILE");
	assert_access_error(f, "access-pairs any users.acl",
	    "usage: access-pairs user|group FILE");
	assert_access_error(f, "access-pairs user",
	    "'access-pairs' takes at least 2 arguments");
	assert_access_error(f, "access-pairs user users.acl more.acl",
	    "'access-pairs' takes at most 2 arguments");
}

static void
access_pairs_without_client_ca(void **state)
{
	struct fixture *f = *state;

	put_file(f, "users.acl", "alice,*\n");
	load(f, BASE "access-pairs user users.acl\naccess allow any to *\n");
	assert_null(f->c);
	assert_nerrors(f, 1);
	assert_error_at(f, 0, "main.conf", AFTER_BASE, NEED_CA);
}

/* --- keywords of the contract that this version does not build ---------- */

static void
ops_keywords(void **state)
{
	struct fixture *f = *state;
	struct conf *c;

	c = load_ok(f, BASE "control run/ctl.sock\nmetrics 127.0.0.1:9810\n"
	    "user nobody group nogroup\n");
	assert_string_equal(c->control, in_dir(f, "run/ctl.sock"));
	assert_int_equal(c->control_at.line, AFTER_BASE);
	assert_int_equal(c->metrics, 1);
	assert_string_equal(c->run_user, "nobody");
	assert_string_equal(c->run_group, "nogroup");
	assert_line_error(f, "metrics 9100", "metrics: expected ADDR:PORT (an "
	    "IPv4 or [IPv6] address), got '9100'");
	assert_line_error(f, "metrics localhost:9100", "metrics: expected "
	    "ADDR:PORT (an IPv4 or [IPv6] address), got 'localhost:9100'");
	assert_line_error(f, "user nobody nogroup",
	    "usage: user NAME [group NAME]");
}

static void
control_default_and_length(void **state)
{
	struct fixture *f = *state;
	char line[300], want[600];
	struct conf *c;
	size_t room;

	/* no path: the default, which sshgate ctl uses without -s */
	c = load_base_ok(f, "control\n");
	assert_string_equal(c->control, "/run/sshgate/control");
	/* the rule is the whole path's length, not the word's: 107 bytes */
	room = 107 - strlen(f->dir) - 1;
	snprintf(line, sizeof(line), "control %0*d", (int)room, 0);
	c = load_base_ok(f, strcat(line, "\n"));
	assert_int_equal(strlen(c->control), 107);
	snprintf(line, sizeof(line), "control %0*d", (int)room + 1, 0);
	snprintf(want, sizeof(want), "control: %s/%0*d is 108 bytes long; a "
	    "UNIX socket's path may have at most 107", f->dir, (int)room + 1,
	    0);
	assert_line_error(f, line, want);
	assert_line_error(f, "control a b", "'control' takes at most 1 "
	    "argument");
}

/* --- warnings ------------------------------------------------------------ */

/* The warnings of the last load, as check prints them (no errors). */
static const char *
warnings(struct fixture *f)
{
	static char text[8192];
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);

	assert_non_null(mem);
	assert_nerrors(f, 0);
	conf_errors_print(mem, &f->errs);
	assert_int_equal(fclose(mem), 0);
	snprintf(text, sizeof(text), "%s", buf);
	free(buf);
	return text;
}

#define TOP "listen 127.0.0.1:2222\ncertificate gw.pem\n"

static void
passthrough_shadowing(void **state)
{
	struct fixture *f = *state;
	char want[4096];
	const char *m = f->main;

	load_ok(f, TOP
	    "route * alpn h2,http/1.1 passthrough to 127.0.0.1:443\n"	/* 3 */
	    "route ssh.example to 127.0.0.1:22\n"			/* 4 */
	    "route * alpn h2 passthrough to 127.0.0.1:444\n"	/* 5 */
	    "route * to 127.0.0.1:23\n"				/* 6 */
	    "route * passthrough to 127.0.0.1:445\n"		/* 7 */
	    "route www.example passthrough to 127.0.0.1:446\n");	/* 8 */
	/* 7 still takes ClientHellos without a name; 8 is taken by 6 */
	snprintf(want, sizeof(want),
	    "%s:5: warning: route *: never used: route * at %s:3 matches "
	    "every name it does\n"
	    "%s:8: warning: route www.example: never used: route * at %s:6 "
	    "matches every name it does\n", m, m, m, m);
	assert_string_equal(warnings(f), want);
}

static void
passthrough_under_client_ca(void **state)
{
	struct fixture *f = *state;
	char want[4096];
	const char *m = f->main;

	put_file(f, "ca.pem", "x");
	load_ok(f, TOP "client-ca ca.pem\n"
	    "route ssh.example to 127.0.0.1:22\n"
	    "route * passthrough to 127.0.0.1:443\n"
	    "access allow group ops to *\n");
	snprintf(want, sizeof(want), "%s:5: warning: route * passthrough: a "
	    "passthrough client shows no certificate, so with client-ca only "
	    "'access ... any' rules apply to it, and none allows: every such "
	    "client will be refused (add 'access allow any to *')\n", m);
	assert_string_equal(warnings(f), want);
	load_ok(f, TOP "client-ca ca.pem\n"
	    "route * passthrough to 127.0.0.1:443\n"
	    "access allow group ops to *\n"
	    "access allow any to www.example\n");
	assert_string_equal(warnings(f), "");
}

static void
shadowed_routes_are_warnings(void **state)
{
	struct fixture *f = *state;
	char want[4096];
	const char *m = f->main;

	load_ok(f, TOP
	    "route *.example.local to 127.0.0.1:22\n"		/* 3 */
	    "route db.example.local to 127.0.0.1:2201\n"		/* 4 */
	    "route *.a.example.local to 127.0.0.1:2202\n"		/* 5 */
	    "route 10.0.0.0/8 to 127.0.0.1:22\n"			/* 6 */
	    "route 10.1.0.0/16 direct\n"				/* 7 */
	    "route other.example to 127.0.0.1:22\n"			/* 8 */
	    "route other.example to 127.0.0.1:23\n"			/* 9 */
	    "allow-destination 10.0.0.0/8\n");
	snprintf(want, sizeof(want),
	    "%s:4: warning: route db.example.local: never used: route "
	    "*.example.local at %s:3 matches every name it does\n"
	    "%s:5: warning: route *.a.example.local: never used: route "
	    "*.example.local at %s:3 matches every name it does\n"
	    "%s:7: warning: route 10.1.0.0/16: never used: route 10.0.0.0/8 "
	    "at %s:6 matches every name it does\n"
	    "%s:9: warning: route other.example: never used: route "
	    "other.example at %s:8 matches every name it does\n",
	    m, m, m, m, m, m, m, m);
	assert_string_equal(warnings(f), want);
}

static void
catch_all_first_shadows_every_later_route(void **state)
{
	struct fixture *f = *state;
	char want[4096];
	const char *m = f->main;

	put_file(f, "more.conf", "route db.example.local to 127.0.0.1:22\n");
	load_ok(f, TOP "route * to 127.0.0.1:22\ninclude more.conf\n");
	snprintf(want, sizeof(want), "%s/more.conf:1: warning: route "
	    "db.example.local: never used: route * at %s:3 matches every "
	    "name it does\n", f->dir, m);
	assert_string_equal(warnings(f), want);
}

static void
routes_that_are_reached_are_not_warned(void **state)
{
	struct fixture *f = *state;

	/* specific first, then wider: each is reached */
	load_ok(f, TOP
	    "route db.example.local to 127.0.0.1:22\n"
	    "route *.a.example.local to 127.0.0.1:22\n"
	    "route *.example.local to 127.0.0.1:22\n"
	    "route example.local to 127.0.0.1:22\n"
	    "route 10.1.0.0/16 to 127.0.0.1:22\n"
	    "route 10.0.0.0/8 direct\n"
	    "route * direct\n"		/* literals only: names go on */
	    "route *.other.example to 127.0.0.1:22\n"
	    "route * to 127.0.0.1:22\n"
	    "allow-destination 10.0.0.0/8\n");
	assert_string_equal(warnings(f), "");
	/* a bad pattern is an error, and shadows nothing */
	load(f, TOP "route bad..name to 127.0.0.1:22\n"
	    "route db.example.local to 127.0.0.1:22\n");
	assert_nerrors(f, 1);
	assert_int_equal(conf_errors_nwarnings(&f->errs), 0);
}

static void
many_routes_are_checked_by_name(void **state)
{
	struct fixture *f = *state;
	size_t len = 0, cap = 1 << 20;
	char *text = malloc(cap);
	int i;

	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, TOP);
	/* 3000 names, then a wildcard over the second thousand's domain */
	for (i = 0; i < 3000; i++)
		len += (size_t)snprintf(text + len, cap - len, "route h%d.d%d."
		    "example to 127.0.0.1:22\n", i, i / 1000);
	len += (size_t)snprintf(text + len, cap - len, "route *.d1.example "
	    "to 127.0.0.1:22\n");
	/* then: 10 names again, 10 under the wildcard, 10 new ones */
	for (i = 0; i < 10; i++)
		len += (size_t)snprintf(text + len, cap - len, "route h%d.d0."
		    "example to 127.0.0.1:22\nroute x%d.d1.example to "
		    "127.0.0.1:22\nroute n%d.d2.example to 127.0.0.1:22\n",
		    i, i, i);
	load_ok(f, text);
	free(text);
	assert_int_equal(f->c->routes.n, 3031);
	assert_int_equal(conf_errors_nwarnings(&f->errs), 20);
}

#define REFUSED "no access rule allows anyone: every client will be " \
	"refused (add 'access allow any to *' to let every certificate holder " \
	"through)"

static void
policy_that_refuses_everyone_is_a_warning(void **state)
{
	struct fixture *f = *state;
	char want[2048];

	snprintf(want, sizeof(want), "%s:4: warning: " REFUSED "\n", f->main);
	/* client-ca, and no rule at all */
	load_ok(f, BASE "client-ca ca.pem\n");
	assert_string_equal(warnings(f), want);
	/* pairs files of comments and blank lines only */
	put_file(f, "users.acl", "# alice,db.example.local\n\n   \n");
	load_ok(f, BASE "client-ca ca.pem\naccess-pairs user users.acl\n");
	assert_string_equal(warnings(f), want);
	/* deny rules only */
	load_ok(f, BASE "client-ca ca.pem\naccess deny user bob to *\n");
	assert_string_equal(warnings(f), want);
}

static void
policy_that_lets_someone_through_is_not_warned(void **state)
{
	struct fixture *f = *state;

	load_ok(f, BASE "client-ca ca.pem\naccess deny user bob to *\n"
	    "access allow group ops to *.example.local\n");
	assert_string_equal(warnings(f), "");
	put_file(f, "users.acl", "# the recipe's file\nalice,db.example.local\n");
	load_ok(f, BASE "client-ca ca.pem\naccess-pairs user users.acl\n");
	assert_string_equal(warnings(f), "");
	/* without client-ca, there is no policy to warn about */
	load_ok(f, BASE);
	assert_string_equal(warnings(f), "");
	/* a rule in error is said as such, not also as "no rule" */
	load(f, BASE "client-ca ca.pem\naccess allow user to *\n");
	assert_nerrors(f, 1);
	assert_int_equal(conf_errors_nwarnings(&f->errs), 0);
	put_file(f, "users.acl", "alice\n");
	load(f, BASE "client-ca ca.pem\naccess-pairs user users.acl\n");
	assert_nerrors(f, 1);
	assert_int_equal(conf_errors_nwarnings(&f->errs), 0);
}

int
main(int argc, char **argv)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(conf_error_formats_file_line_message),
		cmocka_unit_test(conf_error_truncates_long_message),
		cmocka_unit_test(conf_error_long_file_name_stays_in_buffer),
		T(defaults_when_unset),
		T(records_every_file_read),
		T(comments_blank_lines_and_quotes),
		T(crlf_line_endings),
		T(empty_file_reports_each_missing_directive),
		T(missing_listen),
		T(missing_certificate),
		T(missing_route),
		T(wrong_directive_is_not_also_missing),
		T(arity_error_is_not_also_missing),
		T(missing_main_file),
		T(main_file_not_regular),
		T(main_file_too_large),
		T(every_error_is_reported_in_order),
		T(errors_append_to_existing_list),
		T(conf_parse_keeps_what_it_could_parse),
		T(conf_parse_unreadable_file_still_returns_conf),
		T(conf_parse_valid_file_has_no_errors),
		T(conf_free_releases_everything),
		T(unknown_keyword),
		T(unknown_keyword_suggests_the_nearest),
		T(unknown_keyword_of_another_proxy),
		T(lexer_errors_carry_file_and_line),
		T(nul_byte_in_line),
		T(line_over_limit_is_refused),
		T(line_at_limit_is_accepted),
		T(reading_goes_on_after_long_line),
		T(listen_v4_and_v6),
		T(listen_same_address_twice),
		T(listen_same_address_other_port_is_fine),
		T(listen_needs_a_literal_address),
		T(listen_bad_host_port),
		T(listen_options),
		T(listen_argument_count),
		T(certificate_paths_relative_to_config),
		T(certificate_usage),
		T(ssh_only_yes_and_no),
		T(ssh_only_bad_value),
		T(ssh_only_twice),
		T(timeout_every_kind),
		T(timeout_zero_means_never),
		T(timeout_unknown_kind),
		T(timeout_bad_duration),
		T(timeout_argument_count),
		T(timeout_same_kind_twice),
		T(max_connections_range),
		T(max_connections_twice),
		T(workers_range),
		T(workers_twice),
		T(route_static_servers),
		T(route_order_is_kept),
		T(route_usage),
		T(route_send_proxy),
		T(route_passthrough_parses),
		T(route_passthrough_errors),
		T(passthrough_to_itself_is_an_error),
		T(dynamic_routes_parse),
		T(dynamic_route_without_allow_is_an_open_relay),
		T(dynamic_route_bad_values),
		T(per_ip_limits),
		T(resolver_addresses),
		T(resolver_bad_values),
		T(route_bad_pattern),
		T(route_bad_server),
		T(route_most_servers_on_a_line),
		T(log_targets),
		T(log_syslog_facilities),
		T(log_bad_usage),
		T(log_twice),
		T(log_format_text_and_json),
		T(log_format_twice),
		T(include_relative_to_including_file),
		T(include_paths_in_included_file),
		T(include_absolute_path),
		T(include_glob_in_name_order),
		T(include_glob_matching_nothing_is_fine),
		T(include_missing_file_is_an_error),
		T(include_errors_name_the_included_file),
		T(include_directives_count_as_if_inline),
		T(include_loop_is_stopped),
		T(include_mutual_loop_is_stopped),
		T(include_eight_files_deep_is_allowed),
		T(include_nine_files_deep_is_refused),
		T(include_argument_count),
		T(include_directory_is_an_error),
		T(client_certificates_off_by_default),
		T(client_ca_relative_to_config),
		T(client_ca_twice),
		T(client_ca_argument_count),
		T(crl_relative_and_repeatable),
		T(crl_argument_count),
		T(expire_sessions_yes_and_no),
		T(expire_sessions_bad_value),
		T(expire_sessions_twice),
		T(access_rules_in_order),
		T(access_rules_in_included_files),
		T(access_rule_errors),
		T(access_without_client_ca),
		T(access_without_client_ca_in_included_file),
		T(access_pairs_user_and_group),
		T(access_pairs_after_rules_of_included_files),
		T(access_pairs_only),
		T(access_pairs_bad_lines),
		T(access_pairs_missing_file),
		T(access_pairs_directory_is_an_error),
		T(access_pairs_usage),
		T(access_pairs_without_client_ca),
		T(ops_keywords),
		T(control_default_and_length),
		T(shadowed_routes_are_warnings),
		T(passthrough_shadowing),
		T(passthrough_under_client_ca),
		T(catch_all_first_shadows_every_later_route),
		T(routes_that_are_reached_are_not_warned),
		T(many_routes_are_checked_by_name),
		T(policy_that_refuses_everyone_is_a_warning),
		T(policy_that_lets_someone_through_is_not_warned),
	};
#undef T

	if (argc == 3 && strcmp(argv[1], "--heap-check") == 0)
		return heap_check(argv[2]);
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
