#include "client/askpass.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <openssl/crypto.h>

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

int
askpass(int tty, const char *prompt, char *buf, size_t len)
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
