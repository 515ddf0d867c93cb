/*
 * ctlproto: the `sshgate ctl` request, one line: a command and its
 * arguments as words. Blanks (space, tab) separate words; "double quotes"
 * hold blanks, and inside them \" and \\ stand for " and \ (the config
 * lexer's rules, without comments). The client quotes every word; a bare
 * word is a word too. A word may hold any byte but NUL, CR and LF.
 * Parsing has picohttpparser's contract (complete, need more, bad) and
 * allocates nothing. Pure.
 */
#ifndef SSHGATE_CTLPROTO_H
#define SSHGATE_CTLPROTO_H

#include <stddef.h>

/* Where the control socket is when `control` names no path. */
#define CTL_DEFAULT_PATH "/run/sshgate/control"
/* Longest socket path: a UNIX socket's sun_path (108), less its NUL. */
#define CTL_PATH_MAX 107

/*
 * The control socket's path as serve makes it and ctl reaches it: path
 * (NULL: CTL_DEFAULT_PATH) relative to the directory of conf_file (NULL:
 * the working directory), made absolute against cwd (which is only read
 * if the result is still relative; then it must be absolute). Writes it
 * into out[outlen], cut to fit, like snprintf; returns its whole length,
 * to compare with CTL_PATH_MAX.
 */
size_t ctl_socket_path(const char *cwd, const char *conf_file,
    const char *path, char *out, size_t outlen);

/* Longest request, its newline (and a CR before it) included. */
#define CTL_REQUEST_MAX 1024

enum ctl_status {
	CTL_NEED_MORE = 0,	/* no newline yet, nothing wrong so far */
	CTL_COMPLETE,		/* a whole, valid request */
	CTL_BAD,		/* answer with the error */
};

enum ctl_cmd {
	CTL_CMD_SESSIONS = 0,	/* sessions [--json] */
	CTL_CMD_KILL,		/* kill ID */
	CTL_CMD_KILL_USER,	/* kill-user NAME */
	CTL_CMD_RELOAD,		/* reload */
	CTL_CMD_STATS,		/* stats */
};

enum ctl_error {
	CTL_E_NONE = 0,
	CTL_E_TOO_LONG,		/* no newline within CTL_REQUEST_MAX bytes */
	CTL_E_BYTE,		/* a NUL, or a CR not right before the newline */
	CTL_E_QUOTE,		/* a quote not closed on the line */
	CTL_E_UNKNOWN,		/* no such command, or not its arguments */
	CTL_E_ID,		/* kill: arg is not a session id */
};

struct ctl_request {
	enum ctl_cmd cmd;
	int json;			/* sessions --json */
	unsigned long long id;		/* kill: 1 or more */
	/* kill-user's NAME, or the word that is not an ID (CTL_E_ID) */
	char arg[CTL_REQUEST_MAX];
};

/*
 * Parses the request at the start of buf[0..len) (not NUL-terminated).
 * CTL_COMPLETE: *used is its length, newline included (what follows is
 * not part of it), and *req holds the command. CTL_BAD: *err says why
 * (for CTL_E_ID, req->arg holds the word). CTL_NEED_MORE: read more;
 * only ever for len < CTL_REQUEST_MAX.
 */
enum ctl_status ctl_parse(const char *buf, size_t len, size_t *used,
    struct ctl_request *req, enum ctl_error *err);

/* A static message for an error, for the reply ("unknown command; ..."). */
const char *ctl_strerror(enum ctl_error err);

/*
 * Writes word quoted ("..." with " and \ escaped) to out, terminated and
 * truncated like snprintf when outlen is short. Returns the length of the
 * quoted word (2 or more), or 0 if word holds a CR or LF, which no request
 * can carry.
 */
size_t ctl_quote(const char *word, char *out, size_t outlen);

/* Whether word reads back as itself unquoted: not empty, no blank or '"'. */
int ctl_word_is_bare(const char *word);

#endif
