#include "gateway/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/file.h"
#include "core/ctlproto.h"
#include "core/util.h"
#include "gateway/asuser.h"

/*
 * The gateway's own addresses, which client-chosen destinations must
 * not reach (a relay into itself): every listen address, and for a
 * wildcard listen every address of this host's interfaces.
 */
static int
own_addresses(struct conf *c, struct conf_errors *errs)
{
	struct dest_policy *d = &c->dest;
	struct ifaddrs *ifs = NULL, *i;
	size_t k, n = 0, cap;
	int wildcard = 0;

	for (k = 0; k < c->nlistens; k++) {
		char ip[ADDR_TEXT_MAX];

		addr_format_ip(&c->listens[k].addr, ip, sizeof(ip));
		if (strcmp(ip, "0.0.0.0") == 0 || strcmp(ip, "::") == 0)
			wildcard = 1;
	}
	if (wildcard && getifaddrs(&ifs) == -1) {
		conf_error(errs, c->path, 0, "cannot list this host's "
		    "addresses: %s", strerror(errno));
		return -1;
	}
	cap = c->nlistens;
	for (i = ifs; i != NULL; i = i->ifa_next)
		cap++;
	if ((d->own = calloc(cap > 0 ? cap : 1, sizeof(*d->own))) == NULL) {
		freeifaddrs(ifs);
		conf_error(errs, c->path, 0, "out of memory");
		return -1;
	}
	for (k = 0; k < c->nlistens; k++)
		d->own[n++] = c->listens[k].addr;
	for (i = ifs; i != NULL; i = i->ifa_next) {
		int fam = i->ifa_addr != NULL ? i->ifa_addr->sa_family : 0;

		if (fam != AF_INET && fam != AF_INET6)
			continue;
		d->own[n].len = fam == AF_INET ? sizeof(struct sockaddr_in) :
		    sizeof(struct sockaddr_in6);
		memcpy(&d->own[n].ss, i->ifa_addr, d->own[n].len);
		n++;
	}
	d->nown = n;
	if (ifs != NULL)
		freeifaddrs(ifs);
	return 0;
}

/*
 * Looks up `user NAME [group NAME]` (the group defaults to the user's).
 * Returns 1 if there is a user to become, else 0.
 */
static int
lookup_user(struct conf *c, struct conf_errors *errs)
{
	struct passwd *pw;
	struct group *gr;

	if (c->run_user == NULL)
		return 0;
	if ((pw = getpwnam(c->run_user)) == NULL) {
		conf_error(errs, c->user_at.file, c->user_at.line, "user: no such "
		    "user '%s'", c->run_user);
		return 0;
	}
	c->run_uid = pw->pw_uid;
	c->run_gid = pw->pw_gid;
	if (c->run_group != NULL) {
		if ((gr = getgrnam(c->run_group)) == NULL) {
			conf_error(errs, c->user_at.file, c->user_at.line, "user: no "
			    "such group '%s'", c->run_group);
			return 0;
		}
		c->run_gid = gr->gr_gid;
	}
	return 1;
}

/* Why the service user needs a file, and the line that names it. */
struct need {
	struct conf_at at;
	const char *what;	/* "read", "reach log file", "write log file" */
	const char *name;	/* the file, for the message */
};

/* Adds path (tried) for name (said) to tries[*n] and needs[*n]. */
static void
need(struct asuser_try *tries, struct need *needs, size_t *n,
    const char *path, enum asuser_want want, const char *name,
    const struct conf_at *at, const char *what)
{
	tries[*n].path = path;
	tries[*n].want = want;
	tries[*n].err = 0;
	needs[*n].at = *at;
	needs[*n].what = what;
	needs[*n].name = name;
	(*n)++;
}

/* The directory of path into dir[len]: "." or "/" when it has none. */
static void
dir_of(const char *path, char *dir, size_t len)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL)
		util_strlcpy(dir, ".", len);
	else if (slash == path)
		util_strlcpy(dir, "/", len);
	else {
		n = (size_t)(slash - path) + 1;
		util_strlcpy(dir, path, n < len ? n : len);
	}
}

/*
 * Can this process (root) do what t asks? If not, loading the config
 * says so already, as root would meet it too.
 */
static int
root_can(const struct asuser_try *t)
{
	int fd;

	if (t->want == ASUSER_READ) {
		if ((fd = open(t->path, O_RDONLY | O_NONBLOCK | O_NOCTTY |
		    O_CLOEXEC)) == -1)
			return 0;
		close(fd);
		return 1;
	}
	return access(t->path, t->want == ASUSER_SEARCH ? X_OK : W_OK) == 0;
}

/*
 * Started as root with `user`, serve drops root after loading, and every
 * reload reads the config again as that user: the config and its
 * includes and pairs files, certificates, keys, CAs, CRLs, ticket keys;
 * and SIGUSR1 reopens the log file, which serve hands to the user (a regular file:
 * the user must reach it in its directory; a device, never handed over:
 * the user must be able to write it). Whatever the user cannot, the next
 * reload would hit: an error for check, a warning for serve's start.
 */
static void
user_can_read(const struct conf *c, struct conf_errors *errs, int as_error)
{
	size_t i, n = 0, max = c->nfiles + 2 * c->ncerts + c->ncrls + 3;
	struct asuser_try *tries = calloc(max, sizeof(*tries));
	struct need *needs = calloc(max, sizeof(*needs));
	char why[256], logdir[4096];
	struct stat st;

	if (tries == NULL || needs == NULL) {
		conf_error(errs, c->path, 0, "out of memory");
		goto out;
	}
	for (i = 0; i < c->nfiles; i++) {
		/* at the include or access-pairs line; the main file as such */
		const struct conf_at whole = { c->files[i], 0 };
		const struct conf_at *at = c->files_from[i].file != NULL ?
		    &c->files_from[i] : &whole;

		need(tries, needs, &n, c->files[i], ASUSER_READ, c->files[i], at,
		    "read");
	}
	for (i = 0; i < c->ncerts; i++) {
		const struct conf_at at = { c->certs[i].file, c->certs[i].line };

		need(tries, needs, &n, c->certs[i].cert, ASUSER_READ,
		    c->certs[i].cert, &at, "read");
		if (c->certs[i].key != NULL)
			need(tries, needs, &n, c->certs[i].key, ASUSER_READ,
			    c->certs[i].key, &at, "read");
	}
	if (c->client_ca != NULL)
		need(tries, needs, &n, c->client_ca, ASUSER_READ, c->client_ca,
		    &c->client_ca_at, "read");
	for (i = 0; i < c->ncrls; i++) {
		const struct conf_at at = { c->crls[i].file, c->crls[i].line };

		need(tries, needs, &n, c->crls[i].path, ASUSER_READ,
		    c->crls[i].path, &at, "read");
	}
	if (c->ticket_keys != NULL)
		need(tries, needs, &n, c->ticket_keys, ASUSER_READ,
		    c->ticket_keys, &c->ticket_keys_at, "read");
	if (c->log_to == LOG_TO_FILE) {
		if (lstat(c->log_path, &st) == 0 && S_ISCHR(st.st_mode))
			need(tries, needs, &n, c->log_path, ASUSER_WRITE,
			    c->log_path, &c->log_at, "write log file");
		else {
			dir_of(c->log_path, logdir, sizeof(logdir));
			need(tries, needs, &n, logdir, ASUSER_SEARCH,
			    c->log_path, &c->log_at, "reach log file");
		}
	}
	if (asuser_try(c->run_uid, c->run_gid, tries, n, why,
	    sizeof(why)) == -1) {
		conf_error(errs, c->user_at.file, c->user_at.line, "user %s: "
		    "cannot try its files: %s", c->run_user, why);
		goto out;
	}
	for (i = 0; i < n; i++) {
		const struct need *nd = &needs[i];
		char msg[600];

		if (tries[i].err == 0 || !root_can(&tries[i]))
			continue;
		snprintf(msg, sizeof(msg), "user %s cannot %s %s: %s (%s)",
		    c->run_user, nd->what, nd->name, strerror(tries[i].err),
		    tries[i].want == ASUSER_READ ? "the next reload would fail" :
		    "reopening it on SIGUSR1 would fail");
		if (as_error)
			conf_error(errs, nd->at.file, nd->at.line, "%s", msg);
		else
			conf_warning(errs, nd->at.file, nd->at.line, "%s", msg);
	}
out:
	free(tries);
	free(needs);
}

/*
 * The control socket's directory must be there when serve starts: it
 * opens it (as listener_open_unix does) and makes the socket in it.
 */
static void
control_dir(const struct conf *c, struct conf_errors *errs)
{
	const char *slash;
	char dir[CTL_PATH_MAX + 1];
	int fd;

	if (c->control == NULL || (slash = strrchr(c->control, '/')) == NULL)
		return;
	if (slash == c->control)
		util_strlcpy(dir, "/", sizeof(dir));
	else
		util_strlcpy(dir, c->control, (size_t)(slash - c->control) + 1);
	if ((fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) == -1) {
		conf_error(errs, c->control_at.file, c->control_at.line,
		    "control %s: %s: %s", c->control, dir, strerror(errno));
		return;
	}
	close(fd);
}

struct runtime *
runtime_load(const char *path, const struct tls_hooks *hooks,
    enum runtime_mode mode, struct conf_errors *errs)
{
	struct runtime *rt;
	size_t before = errs->n;
	char err[512];

	if ((rt = calloc(1, sizeof(*rt))) == NULL) {
		conf_error(errs, path, 0, "out of memory");
		return NULL;
	}
	atomic_init(&rt->refs, 1);
	/* go on after parse errors: report certificate and name errors too */
	if ((rt->conf = conf_parse(path, errs)) == NULL)
		goto err;
	(void)own_addresses(rt->conf, errs);
	/* as root, before root is dropped: what the user will need */
	if (lookup_user(rt->conf, errs) && mode != RUNTIME_EXPLAIN &&
	    geteuid() == 0 && rt->conf->run_uid != 0)
		user_can_read(rt->conf, errs, mode == RUNTIME_CHECK);
	if (mode == RUNTIME_CHECK)
		control_dir(rt->conf, errs);	/* serve's start would fail */
	rt->ssl_ctx = tls_server_ctx(rt->conf, hooks, &rt->life, errs);
	if (errs->n != before)
		goto err;
	if (mode == RUNTIME_SERVE) {
		rt->sink = log_sink_open(rt->conf->log_to, rt->conf->log_path,
		    rt->conf->log_facility, err, sizeof(err));
		if (rt->sink == NULL) {
			conf_error(errs, rt->conf->log_at.file, rt->conf->log_at.line,
			    "log: %s", err);
			goto err;
		}
		/* so that a reload after dropping root can reopen it */
		if (rt->conf->run_user != NULL &&
		    log_sink_chown(rt->sink, rt->conf->run_uid,
		    rt->conf->run_gid) == -1)
			conf_warning(errs, rt->conf->log_at.file,
			    rt->conf->log_at.line, "log: cannot give %s to user "
			    "%s (%s): a reopen (SIGUSR1) or reload after "
			    "dropping root may fail", rt->conf->log_path,
			    rt->conf->run_user, strerror(errno));
	} else if (rt->conf->log_to == LOG_TO_FILE &&
	    file_check_log(rt->conf->log_path, err, sizeof(err)) == -1) {
		/* what check accepts, serve opens */
		conf_error(errs, rt->conf->log_at.file, rt->conf->log_at.line,
		    "log: cannot open log file %s: %s", rt->conf->log_path,
		    err);
		goto err;
	}
	conf_errors_sort(errs, rt->conf->files, rt->conf->nfiles);
	return rt;
err:
	if (rt->conf != NULL)
		conf_errors_sort(errs, rt->conf->files, rt->conf->nfiles);
	runtime_unref(rt);
	return NULL;
}

struct runtime *
runtime_ref(struct runtime *rt)
{
	atomic_fetch_add_explicit(&rt->refs, 1, memory_order_relaxed);
	return rt;
}

void
runtime_unref(struct runtime *rt)
{
	if (rt == NULL ||
	    atomic_fetch_sub_explicit(&rt->refs, 1, memory_order_acq_rel) != 1)
		return;
	SSL_CTX_free(rt->ssl_ctx);
	lifetimes_free(&rt->life);
	log_sink_close(rt->sink);
	conf_free(rt->conf);
	free(rt);
}

size_t
runtime_lifetime_warnings(const struct runtime *rt, time_t now,
    void (*say)(const char *line))
{
	char line[PATH_MAX + 512];
	size_t i, n = 0;

	for (i = 0; i < rt->life.n; i++)
		if (lifetime_warning(&rt->life.v[i], now, line, sizeof(line))) {
			say(line);
			n++;
		}
	return n;
}
