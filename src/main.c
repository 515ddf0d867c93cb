/*
 * sshgate: the lifecycle. Parse the command line, load the config,
 * bind, start the workers, serve signals (reload, drain), tear down.
 */
#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <ev.h>
#include <openssl/crypto.h>

#include "client/client.h"
#include "config/config.h"
#include "gateway/control.h"
#include "admin/explain.h"
#include "gateway/conn.h"
#include "gateway/iplimit.h"
#include "gateway/listener.h"
#include "gateway/metrics.h"
#include "gateway/notify.h"
#include "gateway/resolver.h"
#include "gateway/logsink.h"
#include "gateway/runtime.h"
#include "client/sshconfig.h"
#include "gateway/worker.h"

#ifndef SSHGATE_VERSION
#define SSHGATE_VERSION "0.1.0"
#endif

#define LOG_REPORT_SECONDS 5.0	/* lost log records: one warning per period */
#define LOG_FLUSH_SECONDS 3.0	/* at exit, for the log sinks to write out */

/* Everything the main thread owns while serving. */
struct server {
	const char *path;
	struct runtime *rt;		/* current config */
	struct gateway gw;
	struct listener *table;		/* [worker][address], fds owned by workers */
	size_t naddrs;
	ev_signal sig_hup, sig_term, sig_int, sig_usr1;
	ev_timer log_timer;		/* log_report() */
	struct ev_loop *loop;
	struct metrics *metrics;	/* NULL without `metrics` */
	struct control *control;	/* NULL without `control` */
	struct control_ops control_ops;
	unsigned long long reloads_ok, reloads_failed;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: sshgate serve -c FILE     run the gateway in the foreground\n"
	    "       sshgate check -c FILE     validate a config (errors as FILE:LINE: message)\n"
	    "       sshgate connect [--ca FILE] [--cert FILE] [--key FILE] [--insecure]\n"
	    "                       [--no-resume] [--timeout SECONDS] GATEWAY[:PORT] TARGET\n"
	    "                                 ssh ProxyCommand: TLS to GATEWAY (port 2222),\n"
	    "                                 SNI = TARGET, verified; relays stdin/stdout\n"
	    "       sshgate ssh-config --gateway GW[:PORT] [--ca FILE] [--cert FILE] PATTERN...\n"
	    "                                 print an ssh_config block using 'sshgate connect'\n"
	    "       sshgate explain -c FILE [--user NAME] [--group NAME]... TARGET\n"
	    "                                 which route, destination decision and access\n"
	    "                                 rule decide a connection to TARGET\n"
	    "       sshgate ctl -s SOCKET sessions [--json] | kill ID | kill-user NAME |\n"
	    "                  reload | stats\n"
	    "                                 talk to a running gateway (control PATH)\n"
	    "       sshgate version           print the version\n"
	    "       sshgate --help            this text\n"
	    "\n"
	    "Signals to 'serve': SIGHUP reloads the config without dropping sessions;\n"
	    "SIGTERM or SIGINT stops accepting and lets sessions finish (timeout drain);\n"
	    "SIGUSR1 reopens log files (after logrotate).\n");
}

static void
print_errors(struct conf_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n", errs->msgs[i]);
}

static void
close_table(struct listener *t, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].fd != -1)
			close(t[i].fd);
}

/* Closes the sockets of t[n] that are not also in old[n_old]. */
static void
close_new(const struct listener *t, size_t n, const struct listener *old,
    size_t n_old)
{
	size_t i, k;

	for (i = 0; i < n; i++) {
		for (k = 0; k < n_old; k++)
			if (old[k].fd == t[i].fd)
				break;
		if (k == n_old && t[i].fd != -1)
			close(t[i].fd);
	}
}

/*
 * Builds the [worker][address] listening table for conf: sockets of
 * old (n_old addresses) that conf keeps are reused, others are opened.
 * Returns the table, or NULL with the reason in err (nothing leaks).
 */
static struct listener *
build_table(const struct conf *conf, size_t nworkers,
    const struct listener *old, size_t n_old, char *err, size_t errlen)
{
	size_t na = conf->nlistens, w, i, j;
	struct listener *t = calloc(nworkers * na, sizeof(*t));

	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < nworkers * na; i++)
		t[i].fd = -1;
	for (w = 0; w < nworkers; w++) {
		for (i = 0; i < na; i++) {
			struct listener *l = &t[w * na + i];

			l->addr = conf->listens[i].addr;
			l->proxy_protocol = conf->listens[i].proxy_protocol;
			for (j = 0; j < n_old; j++)
				if (addr_equal(&old[w * n_old + j].addr,
				    &l->addr))
					l->fd = old[w * n_old + j].fd;
			if (l->fd != -1)
				continue;
			if ((l->fd = listener_open(&l->addr, err, errlen)) ==
			    -1) {
				/* close only what this call opened */
				close_new(t, nworkers * na, old,
				    nworkers * n_old);
				free(t);
				return NULL;
			}
		}
	}
	return t;
}

static void
snapshot(void *arg, struct stats_snapshot *out)
{
	struct server *s = arg;
	size_t i;

	for (i = 0; i < s->gw.nworkers; i++)
		stats_sum(out, &s->gw.workers[i].stats);
	out->active = atomic_load(&s->gw.active);
	out->reloads_ok = s->reloads_ok;
	out->reloads_failed = s->reloads_failed;
	out->workers = s->gw.nworkers;
	out->version = SSHGATE_VERSION;
	log_counters(&out->log_dropped, &out->log_write_errors);
}

/* Starts, moves or stops the metrics endpoint. Returns 0 or -1. */
static int
set_metrics(struct server *s, const struct conf *c)
{
	struct metrics *m;
	char err[256], text[ADDR_TEXT_MAX];

	if (s->metrics != NULL && c->metrics &&
	    addr_equal(metrics_addr(s->metrics), &c->metrics_addr))
		return 0;
	if (!c->metrics) {
		metrics_stop(s->metrics);
		s->metrics = NULL;
		return 0;
	}
	if ((m = metrics_start(s->loop, &c->metrics_addr, snapshot, s, err,
	    sizeof(err))) == NULL) {
		log_err("metrics: %s", err);
		return -1;
	}
	metrics_stop(s->metrics);
	s->metrics = m;
	addr_format(&c->metrics_addr, text, sizeof(text));
	log_info("metrics on http://%s/metrics", text);
	return 0;
}

static void
reload_notify_start(void)
{
	struct timespec ts;
	char msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%lld",
	    (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
	notify(msg);
}

/*
 * Reloads the config whole, or not at all. Returns 0, or -1 with the
 * errors also appended to report (if not NULL).
 */
static int
reload(struct server *s, struct conf_errors *report)
{
	struct conf_errors errs = { NULL, 0 };
	struct runtime *rt;
	struct resolver **res;
	struct listener *t;
	char err[512];
	size_t i;

	log_info("reloading %s", s->path);
	if ((rt = runtime_load(s->path, &conn_tls_hooks, 1, &errs)) == NULL) {
		for (i = 0; i < errs.n; i++) {
			log_err("%s", errs.msgs[i]);
			if (report != NULL)
				conf_error_add(report, errs.msgs[i]);
		}
		log_err("reload failed: keeping the running configuration");
		conf_errors_free(&errs);
		s->reloads_failed++;
		return -1;
	}
	t = build_table(rt->conf, s->gw.nworkers, s->table, s->naddrs, err,
	    sizeof(err));
	res = calloc(s->gw.nworkers, sizeof(*res));
	if (t == NULL || res == NULL) {
		log_err("%s", t == NULL ? err : "out of memory");
		log_err("reload failed: keeping the running configuration");
		if (report != NULL)
			conf_error_add(report, t == NULL ? err :
			    "out of memory");
		s->reloads_failed++;
		if (t != NULL)
			close_new(t, s->gw.nworkers * rt->conf->nlistens,
			    s->table, s->gw.nworkers * s->naddrs);
		free(t);
		free(res);
		runtime_unref(rt);
		return -1;
	}
	for (i = 0; i < s->gw.nworkers; i++) {
		res[i] = worker_resolver(&s->gw.workers[i], rt, err,
		    sizeof(err));
		if (res[i] == NULL) {
			log_err("%s", err);
			log_err("reload failed: keeping the running "
			    "configuration");
			if (report != NULL)
				conf_error_add(report, err);
			s->reloads_failed++;
			while (i-- > 0)
				resolver_unref(res[i]);
			free(res);
			close_new(t, s->gw.nworkers * rt->conf->nlistens,
			    s->table, s->gw.nworkers * s->naddrs);
			free(t);
			runtime_unref(rt);
			return -1;
		}
	}
	if ((rt->conf->control == NULL) != (s->rt->conf->control == NULL) ||
	    (rt->conf->control != NULL &&
	    strcmp(rt->conf->control, s->rt->conf->control) != 0))
		log_warn("'control' takes effect at the next start");
	if ((rt->conf->run_user == NULL) != (s->rt->conf->run_user == NULL) ||
	    (rt->conf->run_user != NULL &&
	    rt->conf->run_uid != s->rt->conf->run_uid))
		log_warn("'user' takes effect at the next start");
	if (rt->conf->workers != 0 && rt->conf->workers != s->gw.nworkers)
		log_warn("'workers %lu' takes effect at the next start; "
		    "running with %zu", rt->conf->workers, s->gw.nworkers);
	for (i = 0; i < s->gw.nworkers; i++)
		worker_reload(&s->gw.workers[i], rt, res[i],
		    &t[i * rt->conf->nlistens], rt->conf->nlistens);
	free(res);
	free(s->table);
	s->table = t;
	s->naddrs = rt->conf->nlistens;
	runtime_unref(s->rt);
	s->rt = rt;
	(void)set_metrics(s, rt->conf);	/* a failure keeps the old one */
	s->reloads_ok++;
	log_info("reloaded %s: %zu listeners, %zu routes", s->path,
	    rt->conf->nlistens, rt->conf->routes.n);
	return 0;
}

static int
ctl_reload(void *arg, struct conf_errors *errs)
{
	int rc;

	reload_notify_start();
	rc = reload(arg, errs);
	notify("READY=1");
	return rc;
}

static void
on_hup(struct ev_loop *loop, ev_signal *sig, int revents)
{
	(void)loop;
	(void)revents;
	reload_notify_start();
	(void)reload(sig->data, NULL);
	notify("READY=1");	/* serving again, old or new config */
}

static void
on_usr1(struct ev_loop *loop, ev_signal *sig, int revents)
{
	(void)loop;
	(void)sig;
	(void)revents;
	if (log_reopen_all() == 0)
		log_info("log files reopened");
}

static void
on_log_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)loop;
	(void)t;
	(void)revents;
	log_report();
}

static void
on_term(struct ev_loop *loop, ev_signal *sig, int revents)
{
	struct server *s = sig->data;
	size_t i;

	(void)revents;
	notify("STOPPING=1");
	log_info("stopping: no new connections; sessions may run for up "
	    "to %gs", s->rt->conf->t_drain);
	for (i = 0; i < s->gw.nworkers; i++)
		worker_stop(&s->gw.workers[i]);
	ev_break(loop, EVBREAK_ALL);
}

/*
 * Drops root for the configured user, for good: supplementary groups,
 * group, user, then proves that root cannot be regained. Called after
 * binding and loading keys, before any worker starts. Returns 0 or -1.
 */
static int
drop_privileges(const struct conf *c)
{
	gid_t gid = (gid_t)c->run_gid;

	if (c->run_user == NULL) {
		if (geteuid() == 0)
			log_warn("running as root: add 'user NAME' to the "
			    "config to drop privileges after binding");
		return 0;
	}
	if (geteuid() != 0) {
		if (getuid() == c->run_uid)
			return 0;	/* already that user */
		log_err("%s:%d: user %s: only root can switch users",
		    c->user_file, c->user_line, c->run_user);
		return -1;
	}
	if (setgroups(1, &gid) == -1 || setgid(gid) == -1 ||
	    setuid((uid_t)c->run_uid) == -1) {
		log_err("cannot switch to user %s: %s", c->run_user,
		    strerror(errno));
		return -1;
	}
	if (c->run_uid != 0 && (setuid(0) != -1 || geteuid() == 0)) {
		log_err("dropping root failed: root could be regained");
		return -1;
	}
	log_info("running as user %s (uid %u, gid %u)", c->run_user,
	    c->run_uid, c->run_gid);
	return 0;
}

/* From now on daemon messages never wait for stderr. Returns 0 or -1. */
static int
daemon_log_start(void)
{
	char err[256];

	if (log_daemon_start(err, sizeof(err)) == 0)
		return 0;
	log_err("%s", err);
	return -1;
}

static int
run_gateway(const char *path)
{
	struct conf_errors errs = { NULL, 0 };
	struct ev_loop *loop;
	struct server s;
	sigset_t all, old;
	char err[512], text[ADDR_TEXT_MAX];
	size_t i, started = 0;
	long cpus;
	int rc = 0;

	memset(&s, 0, sizeof(s));
	s.path = path;
	signal(SIGPIPE, SIG_IGN);
	if (resolver_global_init() == -1) {
		log_err("cannot initialise the DNS library");
		return 1;
	}
	if ((s.rt = runtime_load(path, &conn_tls_hooks, 1, &errs)) == NULL) {
		print_errors(&errs);
		conf_errors_free(&errs);
		return 1;
	}
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	s.gw.nworkers = s.rt->conf->workers != 0 ? s.rt->conf->workers :
	    cpus > 0 ? (size_t)cpus : 1;
	s.table = build_table(s.rt->conf, s.gw.nworkers, NULL, 0, err,
	    sizeof(err));
	s.gw.workers = calloc(s.gw.nworkers, sizeof(*s.gw.workers));
	if (s.table == NULL || s.gw.workers == NULL) {
		log_err("%s", s.table == NULL ? err : "out of memory");
		if (s.table != NULL)
			close_table(s.table, s.gw.nworkers *
			    s.rt->conf->nlistens);
		free(s.table);
		free(s.gw.workers);
		runtime_unref(s.rt);
		return 1;
	}
	s.naddrs = s.rt->conf->nlistens;
	if ((s.gw.limits = iplimit_new()) == NULL) {
		log_err("out of memory");
		close_table(s.table, s.gw.nworkers * s.naddrs);
		free(s.table);
		free(s.gw.workers);
		runtime_unref(s.rt);
		return 1;
	}
	atomic_init(&s.gw.active, 0);
	atomic_init(&s.gw.next_id, 0);
	/*
	 * The control socket is made for the user before dropping root, and
	 * before any thread: making it may switch effective ids for a moment.
	 */
	s.loop = ev_default_loop(EVFLAG_AUTO);
	s.control_ops.arg = &s;
	s.control_ops.gw = &s.gw;
	s.control_ops.reload = ctl_reload;
	s.control_ops.snapshot = snapshot;
	if (s.rt->conf->control != NULL && (s.control = control_start(s.loop,
	    s.rt->conf->control, s.rt->conf->run_user != NULL ?
	    (long)s.rt->conf->run_uid : -1, (long)s.rt->conf->run_gid,
	    s.rt->conf->run_user, &s.control_ops, err, sizeof(err))) == NULL)
		log_err("%s", err);
	if ((s.rt->conf->control != NULL && s.control == NULL) ||
	    drop_privileges(s.rt->conf) == -1 || daemon_log_start() == -1) {
		control_stop(s.control);
		close_table(s.table, s.gw.nworkers * s.naddrs);
		free(s.table);
		free(s.gw.workers);
		iplimit_free(s.gw.limits);
		runtime_unref(s.rt);
		return 1;
	}

	/* workers never take signals: the main loop handles them all */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < s.gw.nworkers; i++) {
		if (worker_start(&s.gw.workers[i], &s.gw, (unsigned)i, s.rt,
		    &s.table[i * s.naddrs], s.naddrs, err, sizeof(err)) == -1) {
			log_err("cannot start worker %zu: %s", i, err);
			rc = 1;
			break;
		}
		started++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	loop = s.loop;
	if (rc == 0 && set_metrics(&s, s.rt->conf) == -1)
		rc = 1;

	ev_signal_init(&s.sig_hup, on_hup, SIGHUP);
	ev_signal_init(&s.sig_term, on_term, SIGTERM);
	ev_signal_init(&s.sig_int, on_term, SIGINT);
	ev_signal_init(&s.sig_usr1, on_usr1, SIGUSR1);
	s.sig_hup.data = s.sig_term.data = s.sig_int.data = &s;
	ev_timer_init(&s.log_timer, on_log_timer, LOG_REPORT_SECONDS,
	    LOG_REPORT_SECONDS);
	if (rc == 0) {
		ev_signal_start(loop, &s.sig_hup);
		ev_signal_start(loop, &s.sig_term);
		ev_signal_start(loop, &s.sig_int);
		ev_signal_start(loop, &s.sig_usr1);
		ev_timer_start(loop, &s.log_timer);
		for (i = 0; i < s.naddrs; i++) {
			addr_format(&s.rt->conf->listens[i].addr, text,
			    sizeof(text));
			log_info("listening on %s", text);
		}
		log_info("serving with %zu workers, %zu routes (%s)",
		    s.gw.nworkers, s.rt->conf->routes.n, path);
		notify("READY=1");
		ev_run(loop, 0);
		ev_signal_stop(loop, &s.sig_hup);
		ev_signal_stop(loop, &s.sig_term);
		ev_signal_stop(loop, &s.sig_int);
		ev_signal_stop(loop, &s.sig_usr1);
		ev_timer_stop(loop, &s.log_timer);
		/*
		 * While draining: a second SIGTERM/SIGINT ends at once; a
		 * SIGHUP must not kill (libev restored its default action).
		 */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGHUP, SIG_IGN);
		signal(SIGUSR1, SIG_IGN);
	} else {
		for (i = 0; i < started; i++)
			worker_stop(&s.gw.workers[i]);
		/* sockets not yet handed to a worker are still ours */
		close_table(&s.table[started * s.naddrs],
		    (s.gw.nworkers - started) * s.naddrs);
	}
	metrics_stop(s.metrics);
	control_stop(s.control);
	for (i = 0; i < started; i++)
		worker_join(&s.gw.workers[i]);
	for (i = 0; i < started; i++)
		worker_free(&s.gw.workers[i]);
	ev_loop_destroy(loop);
	free(s.gw.workers);
	free(s.table);
	iplimit_free(s.gw.limits);
	runtime_unref(s.rt);
	resolver_global_cleanup();
	if (rc == 0)
		log_info("stopped");
	return rc;
}

/*
 * Serves, then lets the log sinks write what they hold (the records of
 * the last sessions), bounded: a sink that stays stuck does not keep the
 * process from exiting.
 */
static int
serve(const char *path)
{
	int rc = run_gateway(path);

	(void)log_shutdown(LOG_FLUSH_SECONDS);
	return rc;
}

static int
check(const char *path)
{
	struct conf_errors errs = { NULL, 0 };
	struct runtime *rt;

	if ((rt = runtime_load(path, &conn_tls_hooks, 0, &errs)) == NULL) {
		print_errors(&errs);
		conf_errors_free(&errs);
		return 1;
	}
	printf("%s: ok (%zu listeners, %zu certificates, %zu routes)\n", path,
	    rt->conf->nlistens, rt->conf->ncerts, rt->conf->routes.n);
	runtime_unref(rt);
	return 0;
}

/* Finds "-c FILE" after the subcommand. Returns FILE, or NULL. */
static const char *
config_arg(int argc, char **argv)
{
	if (argc == 4 && strcmp(argv[2], "-c") == 0)
		return argv[3];
	return NULL;
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	const char *path;

	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
	    strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
		printf("sshgate %s (%s, libev %d.%d)\n", SSHGATE_VERSION,
		    OpenSSL_version(OPENSSL_VERSION), ev_version_major(),
		    ev_version_minor());
		return 0;
	}
	if (strcmp(cmd, "ctl") == 0)
		return ctl_main(argc - 1, argv + 1);
	if (strcmp(cmd, "explain") == 0)
		return explain_main(argc - 1, argv + 1);
	if (strcmp(cmd, "connect") == 0)
		return client_connect_main(argc - 1, argv + 1);
	if (strcmp(cmd, "ssh-config") == 0)
		return sshconfig_main(argc - 1, argv + 1);
	if (strcmp(cmd, "serve") == 0 || strcmp(cmd, "check") == 0) {
		if ((path = config_arg(argc, argv)) == NULL) {
			fprintf(stderr, "sshgate %s: usage: sshgate %s -c "
			    "FILE\n", cmd, cmd);
			return 2;
		}
		return strcmp(cmd, "serve") == 0 ? serve(path) : check(path);
	}
	if (*cmd == '\0')
		usage(stderr);
	else
		fprintf(stderr, "sshgate: unknown command '%s' (see sshgate "
		    "--help)\n", cmd);
	return 2;
}
