#include "core/ctlproto.h"

#include <stdio.h>
#include <string.h>

#define CMD_WORD_MAX 16		/* longer than any command */
#define STR_(x) #x
#define STR(x) STR_(x)

static int
blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

static void
put(char *out, size_t cap, size_t i, char ch)
{
	if (out != NULL && i + 1 < cap)
		out[i] = ch;
}

/*
 * Decodes the word that starts at *pp (not a blank) and ends at a blank
 * outside quotes or at end. Writes what fits of it to out[0..cap), if out
 * is not NULL, terminated; its whole length goes to *wlen and *pp moves
 * past it. Returns 0, or -1 if a quote is still open at end.
 */
static int
word(const char **pp, const char *end, char *out, size_t cap, size_t *wlen)
{
	const char *p = *pp;
	size_t n = 0;

	while (p < end && !blank(*p)) {
		if (*p != '"') {
			put(out, cap, n++, *p++);
			continue;
		}
		for (p++; p < end && *p != '"'; p++) {
			/* as in the config: other backslashes are themselves */
			if (*p == '\\' && p + 1 < end &&
			    (p[1] == '"' || p[1] == '\\'))
				p++;
			put(out, cap, n++, *p);
		}
		if (p == end)
			return -1;
		p++;	/* the closing quote */
	}
	if (out != NULL && cap > 0)
		out[n < cap ? n : cap - 1] = '\0';
	*wlen = n;
	*pp = p;
	return 0;
}

/* A session id: decimal digits only, 1 to ULLONG_MAX. */
static int
session_id(const char *s, unsigned long long *out)
{
	unsigned long long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' ||
		    v > (~0ULL - (unsigned)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v == 0)
		return -1;
	*out = v;
	return 0;
}

enum ctl_status
ctl_parse(const char *buf, size_t len, size_t *used, struct ctl_request *req,
    enum ctl_error *err)
{
	size_t lim = len < CTL_REQUEST_MAX ? len : CTL_REQUEST_MAX;
	const char *nl = NULL, *end, *p;
	char cmd[CMD_WORD_MAX];
	size_t i, cmd_len = 0, skip;
	int nwords = 0;

	/*
	 * Look only as far as a request may go, and judge a byte only when
	 * the next one is in reach too: a prefix's verdict stays the whole's.
	 */
	for (i = 0; i < lim; i++) {
		if (buf[i] == '\n') {
			nl = buf + i;
			break;
		}
		if (buf[i] == '\0' ||
		    (buf[i] == '\r' && i + 1 < lim && buf[i + 1] != '\n')) {
			*err = CTL_E_BYTE;
			return CTL_BAD;
		}
	}
	if (nl == NULL) {
		if (len < CTL_REQUEST_MAX)
			return CTL_NEED_MORE;
		*err = CTL_E_TOO_LONG;
		return CTL_BAD;
	}
	end = nl > buf && nl[-1] == '\r' ? nl - 1 : nl;
	req->arg[0] = '\0';
	for (p = buf;;) {
		while (p < end && blank(*p))
			p++;
		if (p == end)
			break;
		/* the line is shorter than arg: a word always fits in it */
		if (word(&p, end, nwords == 0 ? cmd : nwords == 1 ? req->arg :
		    NULL, nwords == 0 ? sizeof(cmd) : sizeof(req->arg),
		    nwords == 0 ? &cmd_len : &skip) == -1) {
			*err = CTL_E_QUOTE;
			return CTL_BAD;
		}
		nwords++;
	}
	*err = CTL_E_UNKNOWN;
	if (nwords == 0 || nwords > 2 || cmd_len >= sizeof(cmd))
		return CTL_BAD;
	req->json = 0;
	req->id = 0;
	if (strcmp(cmd, "sessions") == 0 &&
	    (nwords == 1 || strcmp(req->arg, "--json") == 0)) {
		req->cmd = CTL_CMD_SESSIONS;
		req->json = nwords == 2;
	} else if (strcmp(cmd, "kill") == 0 && nwords == 2) {
		if (session_id(req->arg, &req->id) == -1) {
			*err = CTL_E_ID;
			return CTL_BAD;
		}
		req->cmd = CTL_CMD_KILL;
	} else if (strcmp(cmd, "kill-user") == 0 && nwords == 2)
		req->cmd = CTL_CMD_KILL_USER;
	else if (strcmp(cmd, "reload") == 0 && nwords == 1)
		req->cmd = CTL_CMD_RELOAD;
	else if (strcmp(cmd, "stats") == 0 && nwords == 1)
		req->cmd = CTL_CMD_STATS;
	else
		return CTL_BAD;
	*err = CTL_E_NONE;
	*used = (size_t)(nl - buf) + 1;
	return CTL_COMPLETE;
}

const char *
ctl_strerror(enum ctl_error err)
{
	switch (err) {
	case CTL_E_NONE:
		return "no error";
	case CTL_E_TOO_LONG:
		return "request longer than " STR(CTL_REQUEST_MAX) " bytes";
	case CTL_E_BYTE:
		return "request holds a NUL byte, or a CR before its end";
	case CTL_E_QUOTE:
		return "unterminated quote";
	case CTL_E_UNKNOWN:
		break;
	case CTL_E_ID:
		return "kill: not a session id";
	}
	return "unknown command; use: sessions [--json] | kill ID | "
	    "kill-user NAME | reload | stats";
}

size_t
ctl_quote(const char *w, char *out, size_t outlen)
{
	const char *s;
	size_t n = 0;

	if (strpbrk(w, "\r\n") != NULL) {
		if (outlen > 0)
			out[0] = '\0';
		return 0;
	}
	put(out, outlen, n++, '"');
	for (s = w; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			put(out, outlen, n++, '\\');
		put(out, outlen, n++, *s);
	}
	put(out, outlen, n++, '"');
	if (outlen > 0)
		out[n < outlen ? n : outlen - 1] = '\0';
	return n;
}

int
ctl_word_is_bare(const char *w)
{
	return *w != '\0' && strpbrk(w, " \t\"") == NULL;
}

size_t
ctl_socket_path(const char *cwd, const char *conf_file, const char *path,
    char *out, size_t outlen)
{
	const char *slash;
	int dirlen = 0, n;

	if (path == NULL)
		path = CTL_DEFAULT_PATH;
	if (path[0] != '/' && conf_file != NULL &&
	    (slash = strrchr(conf_file, '/')) != NULL)
		dirlen = (int)(slash - conf_file) + 1;	/* "DIR/" */
	if (path[0] == '/')
		n = snprintf(out, outlen, "%s", path);
	else if (dirlen > 0 && conf_file[0] == '/')
		n = snprintf(out, outlen, "%.*s%s", dirlen, conf_file, path);
	else			/* relative to the working directory */
		n = snprintf(out, outlen, "%s%s%.*s%s", cwd,
		    cwd[0] != '\0' && cwd[strlen(cwd) - 1] == '/' ? "" : "/",
		    dirlen, conf_file != NULL ? conf_file : "", path);
	return n < 0 ? 0 : (size_t)n;
}
