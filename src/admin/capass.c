#include "admin/capass.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <openssl/crypto.h>

#include "config/file.h"

/* The first line of the file named by CAPASS_ENV. */
static int
from_file(const char *path, char *buf, size_t len, char *err,
    size_t errlen)
{
	char *text, why[256];
	size_t n, textlen;

	if (file_read(path, CAPASS_MAX, &text, &textlen, why,
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

/* The signal that came while a passphrase was being read, or 0. */
static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	got_signal = sig;
}

/*
 * The signals that would end or stop the command while echo is off: they
 * are caught (unless ignored), the terminal is put back as it was, then
 * each is delivered again as if nothing had caught it.
 */
static const int ask_signals[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM,
    SIGTSTP, SIGTTIN, SIGTTOU };
#define ASK_NSIGNALS (sizeof(ask_signals) / sizeof(*ask_signals))

/*
 * Says prompt on tty and reads a line without echo. Echo is off before
 * the prompt shows, and what was typed ahead is kept (TCSANOW, not
 * TCSAFLUSH): an answer sent as soon as the prompt appears is read, not
 * thrown away. A signal (^C, kill, a hang-up) restores echo before it
 * takes effect; after a stop (^Z) the prompt is said again. Returns its
 * length or -1.
 */
static int
ask(int tty, const char *prompt, char *buf, size_t len)
{
	struct sigaction sa, saved[ASK_NSIGNALS];
	struct termios old, quiet;
	size_t n, i;
	ssize_t r;
	char ch;
	int echo_off, sig;

again:
	n = 0;
	got_signal = 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: read returns EINTR */
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < ASK_NSIGNALS; i++) {
		sigaction(ask_signals[i], &sa, &saved[i]);
		if (saved[i].sa_handler == SIG_IGN)
			sigaction(ask_signals[i], &saved[i], NULL);
	}
	echo_off = tcgetattr(tty, &old) == 0;
	if (echo_off) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		tcsetattr(tty, TCSANOW, &quiet);
	}
	r = write(tty, prompt, strlen(prompt)) == -1 ? -1 : 0;
	while (r != -1 && got_signal == 0) {
		r = read(tty, &ch, 1);
		if (r == -1 && errno == EINTR) {
			r = 0;
			continue;
		}
		if (r != 1 || ch == '\n')
			break;
		if (n + 1 < len)
			buf[n++] = ch;
	}
	buf[n] = '\0';
	if (echo_off)
		tcsetattr(tty, TCSANOW, &old);
	for (i = 0; i < ASK_NSIGNALS; i++)
		sigaction(ask_signals[i], &saved[i], NULL);
	if (write(tty, "\n", 1) == -1)
		return -1;
	if ((sig = got_signal) != 0) {
		OPENSSL_cleanse(buf, len);
		raise(sig);	/* as it would have been without us */
		if (sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU)
			goto again;	/* continued: ask again */
		return -1;
	}
	return r == 1 || n > 0 ? (int)n : -1;
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
	n = ask(tty, prompt, buf, len);
	if (n > 0 && confirm) {
		m = ask(tty, "Again: ", again, sizeof(again));
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
