#include "gateway/runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/file.h"
#include "core/ctlproto.h"
#include "core/util.h"

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

/* Looks up `user NAME [group NAME]` (the group defaults to the user's). */
static void
lookup_user(struct conf *c, struct conf_errors *errs)
{
	struct passwd *pw;
	struct group *gr;

	if (c->run_user == NULL)
		return;
	if ((pw = getpwnam(c->run_user)) == NULL) {
		conf_error(errs, c->user_at.file, c->user_at.line, "user: no such "
		    "user '%s'", c->run_user);
		return;
	}
	c->run_uid = pw->pw_uid;
	c->run_gid = pw->pw_gid;
	if (c->run_group != NULL) {
		if ((gr = getgrnam(c->run_group)) == NULL) {
			conf_error(errs, c->user_at.file, c->user_at.line, "user: no "
			    "such group '%s'", c->run_group);
			return;
		}
		c->run_gid = gr->gr_gid;
	}
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
	lookup_user(rt->conf, errs);
	if (mode == RUNTIME_CHECK)
		control_dir(rt->conf, errs);	/* serve's start would fail */
	rt->ssl_ctx = tls_server_ctx(rt->conf, hooks, errs);
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
		if (rt->conf->run_user != NULL)
			log_sink_chown(rt->sink, rt->conf->run_uid,
			    rt->conf->run_gid);
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
	log_sink_close(rt->sink);
	conf_free(rt->conf);
	free(rt);
}
