/*
 * serve: the gateway's lifecycle, in order. Load the config whole, bind
 * every worker's sockets, make the control socket, drop root, start the
 * workers, serve signals on the main loop (reload, reopen, drain), and
 * tear down in reverse.
 */
#include "gateway/serve.h"

#include <errno.h>
#include <dirent.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <unistd.h>
#include <ev.h>

#include "core/util.h"
#include "gateway/conn.h"
#include "gateway/control.h"
#include "gateway/iplimit.h"
#include "gateway/listener.h"
#include "gateway/logsink.h"
#include "gateway/metrics.h"
#include "gateway/notify.h"
#include "gateway/owner.h"
#include "gateway/resolver.h"
#include "gateway/runtime.h"
#include "gateway/worker.h"

#define LOG_REPORT_SECONDS 5.0	/* lost log records: one warning per period */
#define LOG_FLUSH_SECONDS 3.0	/* at exit, for the log sinks to write out */
#define LIFE_CHECK_SECONDS 86400.0	/* certificates and CRLs: daily */
#define FD_RESERVE 64	/* fds kept free of sessions: ctl, metrics, DNS, reload */

/* Everything the main thread owns while serving. */
struct server {
	const char *path;
	struct runtime *rt;		/* current config */
	struct gateway gw;
	struct listener *table;		/* [worker][address], fds owned by workers */
	size_t naddrs;
	size_t started;			/* workers running */
	ev_signal sig_hup, sig_term, sig_int, sig_usr1;
	ev_timer log_timer;		/* log_report() */
	ev_timer life_timer;		/* daily: what runs out soon */
	struct ev_loop *loop;
	struct metrics *metrics;	/* NULL without `metrics` */
	struct control *control;	/* NULL without `control` */
	struct control_ops control_ops;
	unsigned long long reloads_ok, reloads_failed;
	unsigned long fd_base;		/* fds open with no session */
};

static void set_session_cap(struct server *, const struct conf *);

/* A lifetime warning, as a daemon message. */
static void
say_warning(const char *line)
{
	log_warnx("%s", line);
}

/* One error or warning of a config, as a daemon message. */
static void
log_diag(void *arg, int warning, const char *text,
    const struct conf_where *w)
{
	(void)arg;
	(void)w;
	if (warning)
		log_warnx("%s", text);
	else
		log_errx("%s", text);
}

static void
snapshot(void *arg, struct stats_snapshot *out)
{
	struct server *s = arg;
	size_t i;

	for (i = 0; i < s->gw.nworkers; i++)
		stats_sum(out, &s->gw.workers[i].stats);
	out->active = atomic_load(&s->gw.active);
	out->max_active = atomic_load(&s->gw.max_conns);
	out->reloads_ok = s->reloads_ok;
	out->reloads_failed = s->reloads_failed;
	out->workers = s->gw.nworkers;
	out->version = SSHGATE_VERSION;
	log_counters(&out->log_dropped, &out->log_write_errors);
	out->life = s->rt->life.v;	/* read on this thread, while current */
	out->nlife = s->rt->life.n;
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
		log_errx("metrics: %s", err);
		return -1;
	}
	if (owner_check(&c->metrics_addr, "metrics", err, sizeof(err)) == -1) {
		metrics_stop(m);
		log_errx("%s", err);
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

/* What a reload cannot change, said once per reload. */
static void
warn_restart_only(const struct server *s, const struct conf *now)
{
	const struct conf *was = s->rt->conf;

	if ((now->control == NULL) != (was->control == NULL) ||
	    (now->control != NULL && strcmp(now->control, was->control) != 0))
		log_warnx("'control' takes effect at the next start");
	if ((now->run_user == NULL) != (was->run_user == NULL) ||
	    (now->run_user != NULL && now->run_uid != was->run_uid))
		log_warnx("'user' takes effect at the next start");
	if (now->workers != 0 && now->workers != s->gw.nworkers)
		log_warnx("'workers %lu' takes effect at the next start; "
		    "running with %zu", now->workers, s->gw.nworkers);
}

/* Says which listen addresses a reload adds and removes. */
static void
say_listener_changes(const struct conf *was, const struct conf *now)
{
	char text[ADDR_TEXT_MAX];
	size_t i, k;

	for (i = 0; i < now->nlistens; i++) {
		for (k = 0; k < was->nlistens; k++)
			if (addr_equal(&now->listens[i].addr,
			    &was->listens[k].addr))
				break;
		if (k == was->nlistens) {
			addr_format(&now->listens[i].addr, text, sizeof(text));
			log_info("listener %s added", text);
		}
	}
	for (k = 0; k < was->nlistens; k++) {
		for (i = 0; i < now->nlistens; i++)
			if (addr_equal(&now->listens[i].addr,
			    &was->listens[k].addr))
				break;
		if (i == now->nlistens) {
			addr_format(&was->listens[k].addr, text, sizeof(text));
			log_info("listener %s removed", text);
		}
	}
}

/*
 * Reloads the config whole, or not at all: a new runtime, a socket table
 * that reuses the sockets of addresses that stay, and a resolver per
 * worker are all built before any worker is told. Returns 0, or -1 with
 * the errors also appended to report (if not NULL).
 */
static int
reload(struct server *s, struct conf_errors *report)
{
	struct conf_errors errs = { NULL, 0 };
	struct resolver **res = NULL;
	struct listener *t = NULL;
	struct runtime *rt;
	char err[512];
	size_t i, nres = 0;

	log_info("reloading %s", s->path);
	if ((rt = runtime_load(s->path, &conn_tls_hooks, RUNTIME_SERVE,
	    &errs)) == NULL)
		goto fail;
	if ((t = listener_table(rt->conf, s->gw.nworkers, s->table, s->naddrs,
	    err, sizeof(err))) == NULL)
		goto fail_err;
	if ((res = calloc(s->gw.nworkers, sizeof(*res))) == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail_err;
	}
	for (nres = 0; nres < s->gw.nworkers; nres++)
		if ((res[nres] = worker_resolver(&s->gw.workers[nres], rt, err,
		    sizeof(err))) == NULL)
			goto fail_err;
	conf_errors_walk(&errs, log_diag, NULL);	/* its warnings */
	conf_errors_free(&errs);
	warn_restart_only(s, rt->conf);
	say_listener_changes(s->rt->conf, rt->conf);
	set_session_cap(s, rt->conf);
	for (i = 0; i < s->gw.nworkers; i++) {
		worker_reload(&s->gw.workers[i], rt, res[i],
		    &t[i * rt->conf->nlistens], rt->conf->nlistens);
		log_debug("worker %zu runs the new configuration", i);
	}
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
	runtime_lifetime_warnings(rt, time(NULL), say_warning);
	return 0;
fail_err:
	conf_error_add(&errs, err);
fail:
	conf_errors_walk(&errs, log_diag, NULL);
	for (i = 0; report != NULL && i < errs.n; i++)
		conf_error_add(report, errs.msgs[i]);
	log_errx("reload failed: keeping the running configuration");
	conf_errors_free(&errs);
	while (nres-- > 0)
		resolver_unref(res[nres]);
	free(res);
	if (t != NULL) {
		listener_table_close_new(t, s->gw.nworkers * rt->conf->nlistens,
		    s->table, s->gw.nworkers * s->naddrs);
		free(t);
	}
	runtime_unref(rt);
	s->reloads_failed++;
	return -1;
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
on_life_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct server *s = container_of(t, struct server, life_timer);

	(void)loop;
	(void)revents;
	runtime_lifetime_warnings(s->rt, time(NULL), say_warning);
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
	for (i = 0; i < s->started; i++)
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
			log_warnx("running as root: add 'user NAME' to the "
			    "config to drop privileges after binding");
		return 0;
	}
	if (geteuid() != 0) {
		if (getuid() == c->run_uid)
			return 0;	/* already that user */
		log_errx("%s:%d: user %s: only root can switch users",
		    c->user_at.file, c->user_at.line, c->run_user);
		return -1;
	}
	if (setgroups(1, &gid) == -1 || setgid(gid) == -1 ||
	    setuid((uid_t)c->run_uid) == -1) {
		log_err("cannot switch to user %s", c->run_user);
		return -1;
	}
	if (c->run_uid != 0 && (setuid(0) != -1 || geteuid() == 0)) {
		log_errx("dropping root failed: root could be regained");
		return -1;
	}
	log_info("running as user %s (uid %u, gid %u)", c->run_user,
	    c->run_uid, c->run_gid);
	return 0;
}

/* The descriptors this process has open now; 32 if /proc cannot tell. */
static unsigned long
fds_open(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	unsigned long n = 0;

	if (d == NULL)
		return 32;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0;	/* not the directory's own */
}

/*
 * Sets how many connections the workers accept: max-connections, or
 * fewer if the descriptor limit cannot hold them. A session holds two
 * (client and server) and FD_RESERVE (a quarter of what is left
 * under a small limit) stay free so that ctl, metrics scrapes, DNS and
 * reloads work at the limit. With passthrough routes a session may also
 * hold two pipes (four fds) and each worker pools some: pipes get only
 * what sessions and the spare leave (pipes_max), a session without one
 * copies instead. The soft limit is first raised toward the hard one as
 * far as needed.
 */
static void
set_session_cap(struct server *s, const struct conf *c)
{
	unsigned long want = c->max_conns, need, cap, spare = FD_RESERVE;
	unsigned long pipes = c->has_passthrough ? 2 * want +
	    PIPE_POOL_MAX * (unsigned long)s->gw.nworkers : 0, left;
	struct rlimit rl;

	need = s->fd_base + spare + 2 * want;
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		atomic_store(&s->gw.max_conns, want);
		atomic_store(&s->gw.pipes_max, ULONG_MAX);
		return;
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need + 2 * pipes &&
	    rl.rlim_cur < rl.rlim_max) {
		struct rlimit up = rl;

		up.rlim_cur = rl.rlim_max == RLIM_INFINITY ||
		    rl.rlim_max > need + 2 * pipes ? need + 2 * pipes :
		    rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			rl = up;
	}
	cap = want;
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		/* a small limit keeps a quarter of what is left spare */
		if (rl.rlim_cur < s->fd_base + 4 * spare)
			spare = rl.rlim_cur > s->fd_base ?
			    (rl.rlim_cur - s->fd_base) / 4 : 0;
		cap = rl.rlim_cur > s->fd_base + spare + 2 ?
		    (rl.rlim_cur - s->fd_base - spare) / 2 : 1;
		log_warnx("max-connections %lu needs %lu file descriptors, "
		    "the limit is %lu (ulimit -n, systemd LimitNOFILE=): "
		    "accepting at most %lu connections", want, need,
		    (unsigned long)rl.rlim_cur, cap);
	}
	atomic_store(&s->gw.max_conns, cap);
	if (rl.rlim_cur == RLIM_INFINITY) {
		atomic_store(&s->gw.pipes_max, ULONG_MAX);
		return;
	}
	need = s->fd_base + spare + 2 * cap;
	left = rl.rlim_cur > need ? (rl.rlim_cur - need) / 2 : 0;
	atomic_store(&s->gw.pipes_max, left);
	if (left < pipes)
		log_warnx("passthrough routes: the descriptor limit %lu leaves "
		    "room for %lu splice pipes of the %lu they may use: "
		    "sessions without one copy (read/write)",
		    (unsigned long)rl.rlim_cur, left, pipes);
}

/* Starts every worker on its row of the table; signals stay with main. */
static int
start_workers(struct server *s)
{
	sigset_t all, old;
	char err[256];
	int rc = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (s->started = 0; s->started < s->gw.nworkers; s->started++) {
		if (worker_start(&s->gw.workers[s->started], &s->gw,
		    (unsigned)s->started, s->rt, &s->table[s->started *
		    s->naddrs], s->naddrs, err, sizeof(err)) == -1) {
			log_errx("cannot start worker %zu: %s", s->started,
			    err);
			rc = -1;
			break;
		}
		log_debug("worker %zu started", s->started);
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

static void
signals_start(struct server *s)
{
	ev_signal_init(&s->sig_hup, on_hup, SIGHUP);
	ev_signal_init(&s->sig_term, on_term, SIGTERM);
	ev_signal_init(&s->sig_int, on_term, SIGINT);
	ev_signal_init(&s->sig_usr1, on_usr1, SIGUSR1);
	s->sig_hup.data = s->sig_term.data = s->sig_int.data = s;
	ev_timer_init(&s->log_timer, on_log_timer, LOG_REPORT_SECONDS,
	    LOG_REPORT_SECONDS);
	ev_timer_init(&s->life_timer, on_life_timer, LIFE_CHECK_SECONDS,
	    LIFE_CHECK_SECONDS);
	ev_signal_start(s->loop, &s->sig_hup);
	ev_signal_start(s->loop, &s->sig_term);
	ev_signal_start(s->loop, &s->sig_int);
	ev_signal_start(s->loop, &s->sig_usr1);
	ev_timer_start(s->loop, &s->log_timer);
	ev_timer_start(s->loop, &s->life_timer);
}

static void
signals_stop(struct server *s)
{
	ev_signal_stop(s->loop, &s->sig_hup);
	ev_signal_stop(s->loop, &s->sig_term);
	ev_signal_stop(s->loop, &s->sig_int);
	ev_signal_stop(s->loop, &s->sig_usr1);
	ev_timer_stop(s->loop, &s->log_timer);
	ev_timer_stop(s->loop, &s->life_timer);
	/*
	 * While draining: a second SIGTERM/SIGINT ends at once; a SIGHUP
	 * must not kill (libev restored its default action).
	 */
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
}

static void
say_ready(const struct server *s)
{
	char text[ADDR_TEXT_MAX];
	size_t i;

	for (i = 0; i < s->naddrs; i++) {
		addr_format(&s->rt->conf->listens[i].addr, text, sizeof(text));
		log_info("listening on %s", text);
	}
	log_info("serving with %zu workers, %zu routes (%s)", s->gw.nworkers,
	    s->rt->conf->routes.n, s->path);
	runtime_lifetime_warnings(s->rt, time(NULL), say_warning);
	notify("READY=1");
}

static int
run(const char *path)
{
	struct conf_errors errs = { NULL, 0 };
	struct server s;
	char err[512];
	long cpus;
	size_t i;
	int rc = 1;

	memset(&s, 0, sizeof(s));
	s.path = path;
	signal(SIGPIPE, SIG_IGN);
	if (resolver_global_init() == -1) {
		log_errx("cannot initialise the DNS library");
		return 1;
	}
	if ((s.rt = runtime_load(path, &conn_tls_hooks, RUNTIME_SERVE,
	    &errs)) == NULL) {
		conf_errors_print(stderr, &errs);
		conf_errors_free(&errs);
		goto out_dns;
	}
	conf_errors_walk(&errs, log_diag, NULL);	/* its warnings */
	conf_errors_free(&errs);
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	s.gw.nworkers = s.rt->conf->workers != 0 ? s.rt->conf->workers :
	    cpus > 0 ? (size_t)cpus : 1;
	s.naddrs = s.rt->conf->nlistens;
	if ((s.table = listener_table(s.rt->conf, s.gw.nworkers, NULL, 0, err,
	    sizeof(err))) == NULL) {
		log_errx("%s", err);
		goto out_rt;
	}
	if ((s.gw.workers = calloc(s.gw.nworkers, sizeof(*s.gw.workers))) ==
	    NULL || (s.gw.limits = iplimit_new()) == NULL) {
		log_errx("out of memory");
		goto out_table;
	}
	atomic_init(&s.gw.active, 0);
	atomic_init(&s.gw.max_conns, s.rt->conf->max_conns);
	atomic_init(&s.gw.pipes, 0);
	atomic_init(&s.gw.pipes_max, ULONG_MAX);
	atomic_init(&s.gw.next_id, 0);
	s.loop = ev_default_loop(EVFLAG_AUTO);
	/*
	 * The control socket is made for the user before dropping root, and
	 * before any thread: making it may switch effective ids for a moment.
	 */
	s.control_ops.arg = &s;
	s.control_ops.gw = &s.gw;
	s.control_ops.reload = ctl_reload;
	s.control_ops.snapshot = snapshot;
	if (s.rt->conf->control != NULL && (s.control = control_start(s.loop,
	    s.rt->conf->control, s.rt->conf->run_user != NULL ?
	    (long)s.rt->conf->run_uid : -1, (long)s.rt->conf->run_gid,
	    s.rt->conf->run_user, &s.control_ops, err, sizeof(err))) == NULL) {
		log_errx("%s:%d: %s", s.rt->conf->control_at.file,
		    s.rt->conf->control_at.line, err);
		goto out_loop;
	}
	if (drop_privileges(s.rt->conf) == -1)
		goto out_control;
	/* from now on daemon messages never wait for stderr */
	if (log_daemon_start(err, sizeof(err)) == -1) {
		log_errx("%s", err);
		goto out_control;
	}
	if (start_workers(&s) == -1)
		goto out_workers;
	s.fd_base = fds_open();
	set_session_cap(&s, s.rt->conf);
	if (set_metrics(&s, s.rt->conf) == -1)
		goto out_workers;
	signals_start(&s);
	say_ready(&s);
	ev_run(s.loop, 0);
	signals_stop(&s);
	rc = 0;
out_workers:
	if (rc != 0)
		for (i = 0; i < s.started; i++)
			worker_stop(&s.gw.workers[i]);
	metrics_stop(s.metrics);
	for (i = 0; i < s.started; i++)
		worker_join(&s.gw.workers[i]);
	for (i = 0; i < s.started; i++)
		worker_free(&s.gw.workers[i]);
out_control:
	control_stop(s.control);
out_loop:
	/* the sockets not handed to a worker are still ours */
	listener_table_close(&s.table[s.started * s.naddrs],
	    (s.gw.nworkers - s.started) * s.naddrs);
	ev_loop_destroy(s.loop);
out_table:
	if (s.table != NULL && s.loop == NULL)
		listener_table_close(s.table, s.gw.nworkers * s.naddrs);
	iplimit_free(s.gw.limits);
	free(s.gw.workers);
	free(s.table);
out_rt:
	runtime_unref(s.rt);
out_dns:
	resolver_global_cleanup();
	if (rc == 0)
		log_info("stopped");
	return rc;
}

int
serve_main(int argc, char **argv)
{
	const char *path = NULL;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc && path == NULL)
			path = argv[++i];
		else if (strcmp(argv[i], "-d") == 0 ||
		    strcmp(argv[i], "--debug") == 0)
			log_set_debug(1);
		else {
			path = NULL;
			break;
		}
	}
	if (path == NULL) {
		fprintf(stderr, "usage: %s\n", SERVE_USAGE);
		return 2;
	}
	rc = run(path);
	/*
	 * The log sinks write what they hold (the records of the last
	 * sessions), bounded: a sink that stays stuck does not keep the
	 * process from exiting.
	 */
	(void)log_shutdown(LOG_FLUSH_SECONDS);
	return rc;
}
