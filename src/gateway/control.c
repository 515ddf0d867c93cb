/*
 * control: the UNIX socket behind `sshgate ctl` (admin/ctl.c is the client).
 * One request per connection: a line "sessions [--json]", "kill ID",
 * "kill-user NAME", "reload" or "stats", words quoted (ctlproto.h); the
 * answer is "ok" or "error" on its first line, then the text. The socket
 * is 0600: only its owner (root or the service user) may talk to it.
 *
 * The clients are served by a reqsrv on the main thread's loop (accept,
 * deadlines, writing, draining: see reqsrv.h), so that a slow or silent
 * one never holds up the signals, the metrics endpoint or another ctl
 * client; here are only the commands. Only running one blocks:
 * worker_call() waits for each worker to answer between two events.
 * At most 16 clients at once (the next ones wait in the backlog); 5 s for
 * the whole request (then a last word, "no whole request within 5s"),
 * 10 s to take the answer, then up to 256 KiB and 2 s to see the EOF.
 */
#include "gateway/control.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/conn.h"
#include "core/ctlproto.h"
#include "gateway/listener.h"
#include "core/sbuf.h"
#include "core/util.h"
#include "gateway/reqsrv.h"
#include "gateway/worker.h"

#define REPLY_MAX (64 << 20)	/* a sessions list of ~200k rows */
#define CLIENTS_MAX 16		/* at once; the next ones wait in the backlog */
#define REQUEST_TIMEOUT 5.0	/* seconds for the whole request */
#define REPLY_TIMEOUT 10.0	/* seconds for the client to take the reply */
#define DRAIN_TIMEOUT 2.0	/* seconds, after the reply, to see its EOF */
#define DRAIN_MAX (256 << 10)	/* bytes discarded after the reply */

struct control {
	struct unix_listener ul;
	struct reqsrv *srv;
	char path[108];
	char late[64];		/* said to a client too slow with its request */
	const struct control_ops *ops;
};

/* A text cell: "-" when empty, blanks and controls shown as '?'. */
static const char *
cell(const char *s, char *buf, size_t len)
{
	size_t i;

	if (*s == '\0')
		return "-";
	util_strlcpy(buf, s, len);
	for (i = 0; buf[i] != '\0'; i++)
		if ((unsigned char)buf[i] <= ' ' || buf[i] == 0x7f)
			buf[i] = '?';
	return buf;
}

struct list_arg {
	struct sbuf *b;
	int json;
	size_t n;
};

static void
list_worker(struct worker *w, void *argp)
{
	struct list_arg *a = argp;
	struct conn_info in;
	struct conn *c;
	char c1[256], c2[512], c3[256];

	for (c = w->conns; c != NULL; c = conn_next(c)) {
		conn_describe(c, &in);
		if (a->json) {
			sbuf_printf(a->b, "%s{\"id\":%llu,\"client\":", a->n > 0 ?
			    ",\n " : "", (unsigned long long)in.id);
			sbuf_quoted(a->b, in.client, SIZE_MAX, SBUF_JSON);
			sbuf_printf(a->b, ",\"user\":");
			sbuf_quoted(a->b, in.user, SIZE_MAX, SBUF_JSON);
			sbuf_printf(a->b, ",\"groups\":");
			sbuf_quoted(a->b, in.groups, SIZE_MAX, SBUF_JSON);
			sbuf_printf(a->b, ",\"sni\":");
			sbuf_quoted(a->b, in.sni, SIZE_MAX, SBUF_JSON);
			sbuf_printf(a->b, ",\"dst\":");
			sbuf_quoted(a->b, in.dst, SIZE_MAX, SBUF_JSON);
			sbuf_printf(a->b, ",\"phase\":\"%s\",\"age_s\":%.1f,"
			    "\"bytes_up\":%llu,\"bytes_down\":%llu,"
			    "\"worker\":%u}", in.phase, in.age,
			    (unsigned long long)in.bytes_up,
			    (unsigned long long)in.bytes_down, in.worker);
		} else
			sbuf_printf(a->b, "%-8llu %-22s %-12s %-16s %-28s %-22s "
			    "%7.0fs %10llu %10llu %u\n",
			    (unsigned long long)in.id, in.client,
			    cell(in.user, c1, sizeof(c1)),
			    cell(in.groups, c2, sizeof(c2)),
			    cell(in.sni, c3, sizeof(c3)),
			    in.dst[0] != '\0' ? in.dst : "-", in.age,
			    (unsigned long long)in.bytes_up,
			    (unsigned long long)in.bytes_down, in.worker);
		a->n++;
	}
}

/* How a user name is shown: bare if it reads back so, else quoted. */
static const char *
shown_name(const char *name, char *buf, size_t len)
{
	if (ctl_word_is_bare(name) || ctl_quote(name, buf, len) == 0)
		return name;
	return buf;
}

struct kill_arg {
	unsigned long long id;	/* or 0 */
	const char *user;	/* or NULL */
	size_t n;
};

static void
kill_worker(struct worker *w, void *argp)
{
	struct kill_arg *a = argp;
	struct conn *c, *next;
	const char *u;
	char shown[2 * CTL_REQUEST_MAX + 3], why[32 + sizeof(shown)];

	for (c = w->conns; c != NULL; c = next) {
		next = conn_next(c);
		u = conn_user(c);
		if (a->user != NULL ? u == NULL || strcmp(u, a->user) != 0 :
		    conn_id(c) != a->id)
			continue;
		if (a->user != NULL)
			snprintf(why, sizeof(why), "sshgate ctl kill-user %s",
			    shown_name(a->user, shown, sizeof(shown)));
		else
			snprintf(why, sizeof(why), "sshgate ctl kill %llu",
			    a->id);
		conn_kill_why(c, R_KILLED, why);
		a->n++;
	}
}

/* Runs a parsed request; the answer's text goes to out, *ok says which. */
static void
run(struct control *ctl, const struct ctl_request *r, struct sbuf *out,
    int *ok)
{
	const struct control_ops *ops = ctl->ops;
	struct gateway *gw = ops->gw;
	size_t i;

	*ok = 1;
	switch (r->cmd) {
	case CTL_CMD_SESSIONS: {
		struct list_arg a = { out, r->json, 0 };

		if (a.json)
			sbuf_printf(out, "[");
		else
			sbuf_printf(out, "%-8s %-22s %-12s %-16s %-28s %-22s %8s "
			    "%10s %10s %s\n", "ID", "CLIENT", "USER", "GROUPS",
			    "SNI", "DST", "AGE", "UP", "DOWN", "WORKER");
		for (i = 0; i < gw->nworkers; i++)
			worker_call(&gw->workers[i], list_worker, &a);
		if (a.json)
			sbuf_printf(out, "]\n");
		break;
	}
	case CTL_CMD_KILL:
	case CTL_CMD_KILL_USER: {
		struct kill_arg a = { r->id, NULL, 0 };
		char shown[2 * CTL_REQUEST_MAX + 3];

		if (r->cmd == CTL_CMD_KILL_USER)
			a.user = r->arg;
		for (i = 0; i < gw->nworkers; i++)
			worker_call(&gw->workers[i], kill_worker, &a);
		if (a.n == 0) {
			*ok = 0;
			if (a.user != NULL)
				sbuf_printf(out, "no session of user %s\n",
				    shown_name(a.user, shown, sizeof(shown)));
			else
				sbuf_printf(out, "no session with id %llu\n",
				    r->id);
		} else
			sbuf_printf(out, "killed %zu session%s\n", a.n,
			    a.n == 1 ? "" : "s");
		break;
	}
	case CTL_CMD_RELOAD: {
		struct conf_errors errs = { NULL, 0 };

		if (ops->reload(ops->arg, &errs) == 0)
			sbuf_printf(out, "reloaded\n");
		else {
			*ok = 0;
			for (i = 0; i < errs.n; i++)
				sbuf_printf(out, "%s\n", errs.msgs[i]);
			sbuf_printf(out, "reload failed: the running "
			    "configuration stays\n");
		}
		conf_errors_free(&errs);
		break;
	}
	case CTL_CMD_STATS: {
		struct stats_snapshot s;
		char *body = malloc(STATS_TEXT_MAX);
		size_t len;

		memset(&s, 0, sizeof(s));
		ops->snapshot(ops->arg, &s);
		if (body != NULL && (len = stats_format(&s, body,
		    STATS_TEXT_MAX)) > 0)
			sbuf_add(out, body, len);
		else
			*ok = 0;
		free(body);
		break;
	}
	}
}

/* The answer to a request the parser refused. */
static void
refuse(const struct ctl_request *r, enum ctl_error err, struct sbuf *out)
{
	if (err == CTL_E_ID)
		sbuf_printf(out, "kill: '%s' is not a session id\n", r->arg);
	else
		sbuf_printf(out, "%s\n", ctl_strerror(err));
}

/* The parser's word on the bytes read so far. */
static enum reqsrv_status
parse(const char *buf, size_t len)
{
	struct ctl_request req;
	enum ctl_error err;
	size_t used;

	switch (ctl_parse(buf, len, &used, &req, &err)) {
	case CTL_NEED_MORE:
		return REQSRV_NEED_MORE;
	case CTL_COMPLETE:
		return REQSRV_COMPLETE;
	case CTL_BAD:
		break;
	}
	return REQSRV_BAD;
}

/*
 * The answer: "ok" or "error" on its first line (the head), then the
 * text. A request cut short by the client's EOF is refused.
 */
static int
answer(void *arg, const char *buf, size_t len, enum reqsrv_status st,
    struct sbuf *head, struct sbuf *body)
{
	struct ctl_request req;
	enum ctl_error err;
	size_t used;
	int ok = 0;

	if (st == REQSRV_NEED_MORE)
		sbuf_printf(body, "request ends without a newline\n");
	else if (ctl_parse(buf, len, &used, &req, &err) == CTL_COMPLETE)
		run(arg, &req, body, &ok);
	else
		refuse(&req, err, body);
	if (body->failed) {	/* out of memory, or past REPLY_MAX */
		sbuf_free(body);
		sbuf_growing(body, REPLY_MAX);
		sbuf_str(body, "reply too large\n");
		ok = 0;
	}
	sbuf_str(head, ok ? "ok\n" : "error\n");
	return 0;
}

struct control *
control_start(struct ev_loop *loop, const char *path, long uid, long gid,
    const char *user, const struct control_ops *ops, char *err,
    size_t errlen)
{
	struct control *ctl = calloc(1, sizeof(*ctl));
	struct reqsrv_def def = {
		.clients_max = CLIENTS_MAX,
		.request_max = CTL_REQUEST_MAX,
		.request_timeout = REQUEST_TIMEOUT,
		.answer_timeout = REPLY_TIMEOUT,
		.answer_max = REPLY_MAX,
		.drain_timeout = DRAIN_TIMEOUT,
		.drain_max = DRAIN_MAX,
		.parse = parse,
		.answer = answer,
	};
	char why[512];

	if (ctl == NULL) {
		snprintf(err, errlen, "control %s: out of memory", path);
		return NULL;
	}
	if (listener_open_unix(&ctl->ul, path, uid, gid, user, why,
	    sizeof(why)) == -1) {
		snprintf(err, errlen, "control %s", why);
		free(ctl);
		return NULL;
	}
	ctl->ops = ops;
	util_strlcpy(ctl->path, path, sizeof(ctl->path));
	snprintf(ctl->late, sizeof(ctl->late), "error\nno whole request "
	    "within %gs\n", REQUEST_TIMEOUT);
	def.late = ctl->late;
	def.arg = ctl;
	if ((ctl->srv = reqsrv_start(loop, ctl->ul.fd, &def)) == NULL) {
		snprintf(err, errlen, "control %s: out of memory", path);
		listener_close_unix(&ctl->ul);
		free(ctl);
		return NULL;
	}
	return ctl;
}

void
control_stop(struct control *ctl)
{
	if (ctl == NULL)
		return;
	reqsrv_stop(ctl->srv);
	listener_close_unix(&ctl->ul);
	free(ctl);
}

const char *
control_path(const struct control *ctl)
{
	return ctl->path;
}
