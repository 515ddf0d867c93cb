#include "config/config.h"

#include <errno.h>
#include <glob.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "config/file.h"
#include "core/lex.h"
#include "core/util.h"

#define INCLUDE_DEPTH_MAX 8
#define LINE_MAX_LEN 4096
#define CONF_SIZE_MAX (16L << 20)	/* no config is this large: a mistake */
/* what one load may read in all, includes and pairs files together */
#define CONF_FILES_MAX 256
#define CONF_TOTAL_MAX (64L << 20)

struct where {
	const char *file;
	int line;
};

struct parser {
	struct conf *c;
	struct conf_errors *errs;
	int depth;
	/* where single-valued keywords were set, to catch repeats */
	struct where set_ssh_only, set_max_conns, set_workers, set_log,
	    set_log_format, set_resolve, set_client_ca, set_expire,
	    set_max_per_ip, set_rate, set_user, set_metrics, set_control,
	    set_ciphers, set_ciphersuites, set_tls_min,
	    first_access, set_timeout[6];
	struct policy pairs;		/* access-pairs rules, put last */
	int nread;			/* files read, against the budget */
	long bytes_read;
	int budget_spent;		/* said once; nothing more is read */
	int resolver_system;
	int seen_listen, seen_cert, seen_route;
};

struct keyword {
	const char *name;
	int min, max;		/* arguments after the keyword */
	int (*fn)(struct parser *, const char *, int, char **, int);
};

void
conf_error(struct conf_errors *e, const char *file, int line,
    const char *fmt, ...)
{
	char msg[1024];
	char **v;
	int n;
	va_list ap;

	n = line > 0 ? snprintf(msg, sizeof(msg), "%s:%d: ", file, line) :
	    snprintf(msg, sizeof(msg), "%s: ", file);
	if (n < 0 || (size_t)n >= sizeof(msg))	/* a huge name: cut it */
		n = (int)sizeof(msg) - 1;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	v = realloc(e->msgs, (e->n + 1) * sizeof(*v));
	if (v == NULL)
		return;
	e->msgs = v;
	if ((v[e->n] = strdup(msg)) != NULL)
		e->n++;
}

void
conf_error_add(struct conf_errors *e, const char *msg)
{
	char **v = realloc(e->msgs, (e->n + 1) * sizeof(*v));

	if (v == NULL)
		return;
	e->msgs = v;
	if ((v[e->n] = strdup(msg)) != NULL)
		e->n++;
}

void
conf_errors_free(struct conf_errors *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->msgs[i]);
	free(e->msgs);
	e->msgs = NULL;
	e->n = 0;
}

/*
 * Returns base (of n elements of size sz) grown by one zeroed element,
 * or NULL with base untouched. The caller stores the new base.
 */
static void *
grow(void *base, size_t n, size_t sz)
{
	char *p = realloc(base, (n + 1) * sz);

	if (p != NULL)
		memset(p + n * sz, 0, sz);
	return p;
}

/* Resolves path against the directory of the file that names it. */
static char *
relative_to(const char *file, const char *path)
{
	const char *slash = strrchr(file, '/');
	size_t dlen;
	char *out;

	if (path[0] == '/' || slash == NULL)
		return strdup(path);
	dlen = (size_t)(slash - file) + 1;
	out = malloc(dlen + strlen(path) + 1);
	if (out != NULL) {
		memcpy(out, file, dlen);
		strcpy(out + dlen, path);
	}
	return out;
}

/*
 * Like relative_to, for a glob: the including file's directory is
 * escaped, so that a '*' or '[' in it is not taken as a pattern.
 */
static char *
glob_relative_to(const char *file, const char *pattern)
{
	const char *slash = strrchr(file, '/');
	size_t i, k = 0, dlen;
	char *out;

	if (pattern[0] == '/' || slash == NULL)
		return strdup(pattern);
	dlen = (size_t)(slash - file) + 1;
	if ((out = malloc(2 * dlen + strlen(pattern) + 1)) == NULL)
		return NULL;
	for (i = 0; i < dlen; i++) {
		if (strchr("*?[\\", file[i]) != NULL)
			out[k++] = '\\';
		out[k++] = file[i];
	}
	strcpy(out + k, pattern);
	return out;
}

static int
oom(struct parser *p, const char *file, int line)
{
	conf_error(p->errs, file, line, "out of memory");
	return -1;
}

static int
once(struct parser *p, struct where *first, const char *file, int line,
    const char *kw)
{
	if (first->file != NULL) {
		conf_error(p->errs, file, line, "'%s' given twice (first at "
		    "%s:%d)", kw, first->file, first->line);
		return -1;
	}
	first->file = file;
	first->line = line;
	return 0;
}

static int
yes_no(struct parser *p, const char *file, int line, const char *kw,
    const char *v, int *out)
{
	if (strcmp(v, "yes") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0)
		*out = 0;
	else {
		conf_error(p->errs, file, line,
		    "%s: expected yes or no, got '%s'", kw, v);
		return -1;
	}
	return 0;
}

static int
kw_listen(struct parser *p, const char *file, int line, char **av, int ac)
{
	char host[256], err[256];
	struct conf_listen *l;
	unsigned port;
	size_t i;

	if (ac > 2 && strcmp(av[2], "proxy-protocol") != 0) {
		conf_error(p->errs, file, line,
		    "listen: unknown option '%s' (proxy-protocol?)", av[2]);
		return -1;
	}
	if (addr_split(av[1], host, sizeof(host), &port, err,
	    sizeof(err)) == -1) {
		conf_error(p->errs, file, line, "listen: %s", err);
		return -1;
	}
	if ((l = grow(p->c->listens, p->c->nlistens, sizeof(*l))) == NULL)
		return oom(p, file, line);
	p->c->listens = l;
	l += p->c->nlistens++;
	l->proxy_protocol = ac > 2;
	l->file = file;
	l->line = line;
	if (addr_parse_ip(host, port, &l->addr) == -1) {
		p->c->nlistens--;
		conf_error(p->errs, file, line, "listen: '%s' is not an IPv4 "
		    "or IPv6 address (write [::]:PORT for IPv6)", host);
		return -1;
	}
	for (i = 0; i + 1 < p->c->nlistens; i++) {
		if (addr_equal(&p->c->listens[i].addr, &l->addr)) {
			conf_error(p->errs, file, line, "listen: %s already "
			    "given on %s:%d", av[1], p->c->listens[i].file,
			    p->c->listens[i].line);
			p->c->nlistens--;
			return -1;
		}
	}
	return 0;
}

static int
kw_certificate(struct parser *p, const char *file, int line, char **av,
    int ac)
{
	struct conf_cert *ct;

	if (ac != 2 && (ac != 4 || strcmp(av[2], "key") != 0)) {
		conf_error(p->errs, file, line,
		    "usage: certificate FILE [key FILE]");
		return -1;
	}
	if ((ct = grow(p->c->certs, p->c->ncerts, sizeof(*ct))) == NULL)
		return oom(p, file, line);
	p->c->certs = ct;
	ct += p->c->ncerts++;
	ct->file = file;
	ct->line = line;
	ct->cert = relative_to(file, av[1]);
	if (ac == 4)
		ct->key = relative_to(file, av[3]);
	if (ct->cert == NULL || (ac == 4 && ct->key == NULL))
		return oom(p, file, line);
	return 0;
}

static int
kw_ssh_only(struct parser *p, const char *file, int line, char **av,
    int ac)
{
	(void)ac;
	if (once(p, &p->set_ssh_only, file, line, av[0]) == -1)
		return -1;
	return yes_no(p, file, line, av[0], av[1], &p->c->ssh_only);
}

static int
kw_timeout(struct parser *p, const char *file, int line, char **av, int ac)
{
	static const char *const kinds[] =
	    { "handshake", "inspect", "connect", "idle", "dns", "drain" };
	double *slots[6];
	char kw[32];
	double v;
	size_t i;

	(void)ac;
	slots[0] = &p->c->t_handshake;
	slots[1] = &p->c->t_inspect;
	slots[2] = &p->c->t_connect;
	slots[3] = &p->c->t_idle;
	slots[4] = &p->c->t_dns;
	slots[5] = &p->c->t_drain;
	for (i = 0; i < 6; i++)
		if (strcmp(av[1], kinds[i]) == 0)
			break;
	if (i == 6) {
		conf_error(p->errs, file, line, "timeout: unknown kind '%s' "
		    "(handshake, inspect, connect, idle, dns or drain)", av[1]);
		return -1;
	}
	if (util_parse_duration(av[2], &v) == -1) {
		conf_error(p->errs, file, line, "timeout %s: '%s' is not a "
		    "duration (like 500ms, 5s, 2m, 1h or 0)", av[1], av[2]);
		return -1;
	}
	snprintf(kw, sizeof(kw), "timeout %s", kinds[i]);
	if (once(p, &p->set_timeout[i], file, line, kw) == -1)
		return -1;
	*slots[i] = v;
	return 0;
}

static int
kw_number(struct parser *p, const char *file, int line, const char *kw,
    const char *v, unsigned long min, unsigned long max, unsigned long *out)
{
	if (util_parse_uint(v, min, max, out) == -1) {
		conf_error(p->errs, file, line,
		    "%s: expected a number from %lu to %lu, got '%s'",
		    kw, min, max, v);
		return -1;
	}
	return 0;
}

static int
kw_max_connections(struct parser *p, const char *file, int line, char **av,
    int ac)
{
	(void)ac;
	if (once(p, &p->set_max_conns, file, line, av[0]) == -1)
		return -1;
	return kw_number(p, file, line, av[0], av[1], 1, 1000000,
	    &p->c->max_conns);
}

static int
kw_max_per_ip(struct parser *p, const char *file, int line, char **av,
    int ac)
{
	(void)ac;
	if (once(p, &p->set_max_per_ip, file, line, av[0]) == -1)
		return -1;
	return kw_number(p, file, line, av[0], av[1], 0, 1000000,
	    &p->c->max_per_ip);
}

/* rate-limit-per-ip N/SECONDS */
static int
kw_rate_limit(struct parser *p, const char *file, int line, char **av,
    int ac)
{
	char n[32];
	const char *slash = strchr(av[1], '/');
	unsigned long secs;

	(void)ac;
	if (once(p, &p->set_rate, file, line, av[0]) == -1)
		return -1;
	if (slash == NULL || (size_t)(slash - av[1]) >= sizeof(n))
		goto bad;
	memcpy(n, av[1], (size_t)(slash - av[1]));
	n[slash - av[1]] = '\0';
	if (util_parse_uint(n, 1, 1000000, &p->c->rate_n) == -1 ||
	    util_parse_uint(slash + 1, 1, 86400, &secs) == -1)
		goto bad;
	p->c->rate_secs = (double)secs;
	return 0;
bad:
	conf_error(p->errs, file, line, "rate-limit-per-ip: expected "
	    "N/SECONDS (like 10/60: 10 new connections a minute), got '%s'",
	    av[1]);
	return -1;
}

static int
kw_workers(struct parser *p, const char *file, int line, char **av, int ac)
{
	(void)ac;
	if (once(p, &p->set_workers, file, line, av[0]) == -1)
		return -1;
	return kw_number(p, file, line, av[0], av[1], 1, 256,
	    &p->c->workers);
}

static int
kw_route(struct parser *p, const char *file, int line, char **av, int ac)
{
	char err[256], host[256];
	struct route *r;
	int i;

	enum route_kind kind;
	unsigned long port = 22;

	if (strcmp(av[2], "to") == 0 && ac >= 4)
		kind = ROUTE_STATIC;
	else if ((strcmp(av[2], "direct") == 0 ||
	    strcmp(av[2], "resolve") == 0) && (ac == 3 ||
	    (ac == 5 && strcmp(av[3], "port") == 0))) {
		kind = av[2][0] == 'd' ? ROUTE_DIRECT : ROUTE_RESOLVE;
		if (ac == 5 && util_parse_uint(av[4], 1, 65535, &port) == -1) {
			conf_error(p->errs, file, line, "route %s %s: port "
			    "must be 1-65535, got '%s'", av[1], av[2], av[4]);
			return -1;
		}
	} else {
		conf_error(p->errs, file, line, "usage: route PATTERN to "
		    "HOST:PORT... | route PATTERN resolve [port N] | "
		    "route PATTERN direct [port N]");
		return -1;
	}
	if ((r = grow(p->c->routes.v, p->c->routes.n, sizeof(*r))) == NULL)
		return oom(p, file, line);
	p->c->routes.v = r;
	r += p->c->routes.n++;
	r->file = file;
	r->line = line;
	r->kind = kind;
	r->port = (unsigned)port;
	if ((r->text = strdup(av[1])) == NULL)
		return oom(p, file, line);
	if (pattern_parse(av[1], &r->pat, err, sizeof(err)) == -1) {
		conf_error(p->errs, file, line, "route: %s", err);
		return -1;
	}
	if (kind == ROUTE_DIRECT && (r->pat.kind == PATTERN_EXACT ||
	    r->pat.kind == PATTERN_SUFFIX)) {
		conf_error(p->errs, file, line, "route %s direct: a direct "
		    "route takes an address, a CIDR or *, not a name", av[1]);
		return -1;
	}
	if (kind != ROUTE_STATIC)
		return 0;
	r->servers = calloc((size_t)(ac - 3), sizeof(*r->servers));
	if (r->servers == NULL)
		return oom(p, file, line);
	for (i = 3; i < ac; i++) {
		struct route_server *s = &r->servers[r->nservers];

		if (strcmp(av[i], "send-proxy") == 0) {
			if (i != ac - 1 || r->nservers == 0) {
				conf_error(p->errs, file, line, "route %s: "
				    "send-proxy goes after the servers", av[1]);
				return -1;
			}
			r->send_proxy = 1;
			continue;
		}
		if (addr_split(av[i], host, sizeof(host), &s->port, err,
		    sizeof(err)) == -1) {
			conf_error(p->errs, file, line, "route %s: %s",
			    av[1], err);
			return -1;
		}
		if ((s->host = strdup(host)) == NULL)
			return oom(p, file, line);
		r->nservers++;
		/* literals now; names are resolved when connecting */
		(void)addr_parse_ip(host, s->port, &s->addr);
	}
	return 0;
}

static int
kw_log(struct parser *p, const char *file, int line, char **av, int ac)
{
	static const struct { const char *name; int value; } facilities[] = {
		{ "daemon", LOG_DAEMON }, { "auth", LOG_AUTH },
		{ "authpriv", LOG_AUTHPRIV }, { "user", LOG_USER },
		{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
		{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};
	struct conf *c = p->c;
	size_t i;

	if (once(p, &p->set_log, file, line, av[0]) == -1)
		return -1;
	c->log_file = file;
	c->log_line = line;
	if (strcmp(av[1], "stderr") == 0 && ac == 2)
		c->log_to = LOG_TO_STDERR;
	else if (strcmp(av[1], "stdout") == 0 && ac == 2)
		c->log_to = LOG_TO_STDOUT;
	else if (strcmp(av[1], "file") == 0 && ac == 3) {
		c->log_to = LOG_TO_FILE;
		if ((c->log_path = relative_to(file, av[2])) == NULL)
			return oom(p, file, line);
	} else if (strcmp(av[1], "syslog") == 0 && ac <= 3) {
		c->log_to = LOG_TO_SYSLOG;
		c->log_facility = LOG_DAEMON;
		if (ac == 3) {
			for (i = 0; i < sizeof(facilities) /
			    sizeof(facilities[0]); i++)
				if (strcmp(av[2], facilities[i].name) == 0)
					break;
			if (i == sizeof(facilities) / sizeof(facilities[0])) {
				conf_error(p->errs, file, line, "log syslog: "
				    "unknown facility '%s'", av[2]);
				return -1;
			}
			c->log_facility = facilities[i].value;
		}
	} else {
		conf_error(p->errs, file, line, "usage: log stderr | stdout | "
		    "syslog [FACILITY] | file PATH");
		return -1;
	}
	return 0;
}

static int
kw_log_format(struct parser *p, const char *file, int line, char **av,
    int ac)
{
	(void)ac;
	if (once(p, &p->set_log_format, file, line, av[0]) == -1)
		return -1;
	if (strcmp(av[1], "text") == 0)
		p->c->log_json = 0;
	else if (strcmp(av[1], "json") == 0)
		p->c->log_json = 1;
	else {
		conf_error(p->errs, file, line,
		    "log-format: expected text or json, got '%s'", av[1]);
		return -1;
	}
	return 0;
}

static int
kw_resolver(struct parser *p, const char *file, int line, char **av, int ac)
{
	char host[256], err[256], entry[300], *csv;
	struct addr a;
	unsigned port = 53;
	size_t have;

	(void)ac;
	if (strcmp(av[1], "system") == 0) {
		if (p->c->resolvers != NULL) {
			conf_error(p->errs, file, line, "resolver system: "
			    "cannot be mixed with resolver addresses");
			return -1;
		}
		p->resolver_system = 1;
		return 0;
	}
	if (p->resolver_system) {
		conf_error(p->errs, file, line, "resolver %s: cannot be mixed "
		    "with 'resolver system'", av[1]);
		return -1;
	}
	/* "ADDR", "V4:PORT", "[V6]:PORT", or a bare IPv6 address */
	if (addr_parse_ip(av[1], 53, &a) == 0)
		util_strlcpy(host, av[1], sizeof(host));
	else if (addr_split(av[1], host, sizeof(host), &port, err,
	    sizeof(err)) == -1 || addr_parse_ip(host, port, &a) == -1) {
		conf_error(p->errs, file, line, "resolver: '%s' is not an "
		    "address (ADDR, ADDR:PORT, [IPV6]:PORT) or 'system'", av[1]);
		return -1;
	}
	snprintf(entry, sizeof(entry), a.ss.ss_family == AF_INET6 ?
	    "[%s]:%u" : "%s:%u", host, port);
	have = p->c->resolvers != NULL ? strlen(p->c->resolvers) : 0;
	if ((csv = realloc(p->c->resolvers, have + strlen(entry) + 2)) == NULL)
		return oom(p, file, line);
	if (have > 0)
		csv[have++] = ',';
	strcpy(csv + have, entry);
	p->c->resolvers = csv;
	return 0;
}

static int
kw_resolve(struct parser *p, const char *file, int line, char **av, int ac)
{
	(void)ac;
	if (once(p, &p->set_resolve, file, line, av[0]) == -1)
		return -1;
	if (strcmp(av[1], "ipv4") == 0)
		p->c->resolve_family = AF_INET;
	else if (strcmp(av[1], "ipv6") == 0)
		p->c->resolve_family = AF_INET6;
	else if (strcmp(av[1], "any") == 0)
		p->c->resolve_family = AF_UNSPEC;
	else {
		conf_error(p->errs, file, line,
		    "resolve: expected ipv4, ipv6 or any, got '%s'", av[1]);
		return -1;
	}
	return 0;
}

/* allow-destination / deny-destination CIDR... */
static int
kw_destination(struct parser *p, const char *file, int line, char **av,
    int ac)
{
	struct dest_policy *d = &p->c->dest;
	int allow = av[0][0] == 'a', i, bad = 0;
	struct cidr *v;

	for (i = 1; i < ac; i++) {
		struct cidr c;

		if (cidr_parse(av[i], &c) == -1) {
			conf_error(p->errs, file, line, "%s: '%s' is not an "
			    "address or CIDR", av[0], av[i]);
			bad = -1;
			continue;
		}
		struct conf_at *at;
		size_t n = allow ? d->nallow : d->ndeny;

		v = grow(allow ? d->allow : d->deny, n, sizeof(*v));
		if (v == NULL)
			return oom(p, file, line);
		if (allow)
			d->allow = v;
		else
			d->deny = v;
		at = grow(allow ? p->c->allow_at : p->c->deny_at, n,
		    sizeof(*at));
		if (at == NULL)
			return oom(p, file, line);
		at[n].file = file;
		at[n].line = line;
		if (allow) {
			p->c->allow_at = at;
			d->allow[d->nallow++] = c;
		} else {
			p->c->deny_at = at;
			d->deny[d->ndeny++] = c;
		}
	}
	return bad;
}

/*
 * Reads path for the parser: counts it against the budget of every file
 * and byte one load may read (includes can fan out), records its name
 * for error messages, and calls fn for each line (without its '\n'; a
 * line too long or holding a NUL byte is reported here, after prefix,
 * and skipped). from/fline name the directive that asked for it (NULL
 * for the main file), what its keyword. Returns 0, or -1 if the file
 * could not be read.
 */
static int
read_lines(struct parser *p, const char *path, const char *from, int fline,
    const char *what, const char *prefix, void (*fn)(struct parser *,
    const char *, int, char *, size_t, void *), void *arg)
{
	char *buf, *name, **files, *s, *nl, why[128];
	size_t len, left;
	int line = 0;

	if (p->budget_spent)
		return -1;
	if (p->nread >= CONF_FILES_MAX || p->bytes_read > CONF_TOTAL_MAX) {
		p->budget_spent = 1;
		conf_error(p->errs, from != NULL ? from : path, fline, "%s: "
		    "more than %d files or %ld MiB read for one config (an "
		    "include loop?); reading stops here", what,
		    CONF_FILES_MAX, CONF_TOTAL_MAX >> 20);
		return -1;
	}
	p->nread++;
	if (file_read(path, CONF_SIZE_MAX, &buf, &len, why,
	    sizeof(why)) == -1) {
		if (from != NULL)
			conf_error(p->errs, from, fline, "%s: cannot read %s: "
			    "%s", what, path, why);
		else
			conf_error(p->errs, path, 0, "cannot read: %s", why);
		return -1;
	}
	p->bytes_read += (long)len;
	/* file names outlive this read: the conf keeps them for errors */
	files = realloc(p->c->files, (p->c->nfiles + 1) * sizeof(*files));
	if (files == NULL || (name = strdup(path)) == NULL) {
		if (files != NULL)
			p->c->files = files;
		free(buf);
		return oom(p, path, 0);
	}
	p->c->files = files;
	files[p->c->nfiles++] = name;
	for (s = buf, left = len; left > 0; s = nl + 1) {
		size_t n;

		line++;
		nl = memchr(s, '\n', left);
		n = nl != NULL ? (size_t)(nl - s) : left;
		left -= nl != NULL ? n + 1 : n;
		if (n > LINE_MAX_LEN)
			conf_error(p->errs, name, line, "%sline longer than %d "
			    "characters", prefix, LINE_MAX_LEN);
		else if (memchr(s, '\0', n) != NULL)
			conf_error(p->errs, name, line, "%sNUL byte in line",
			    prefix);
		else {
			s[n] = '\0';
			fn(p, name, line, s, n, arg);
		}
		if (nl == NULL)
			break;
	}
	free(buf);
	return 0;
}

static int read_file(struct parser *, const char *, const char *, int);

static int
kw_include(struct parser *p, const char *file, int line, char **av, int ac)
{
	char *pattern;
	glob_t g;
	size_t i;
	int rc, bad = 0;

	(void)ac;
	if (p->depth >= INCLUDE_DEPTH_MAX) {
		conf_error(p->errs, file, line, "include: nested more than %d "
		    "deep (an include loop?)", INCLUDE_DEPTH_MAX);
		return -1;
	}
	if ((pattern = glob_relative_to(file, av[1])) == NULL)
		return oom(p, file, line);
	/* no GLOB_ERR: a missing or unreadable directory matches nothing */
	rc = glob(pattern, 0, NULL, &g);
	if (rc == GLOB_NOMATCH && strpbrk(av[1], "*?[") == NULL) {
		/* a plain file name must exist; a glob may match nothing */
		char *plain = relative_to(file, av[1]);

		bad = plain != NULL ? read_file(p, plain, file, line) :
		    oom(p, file, line);
		free(plain);
	} else if (rc != 0 && rc != GLOB_NOMATCH) {
		conf_error(p->errs, file, line, "include: cannot expand '%s'%s",
		    pattern, rc == GLOB_NOSPACE ? ": out of memory" : "");
		bad = -1;
	} else {
		for (i = 0; rc == 0 && i < g.gl_pathc; i++)
			if (read_file(p, g.gl_pathv[i], file, line) == -1)
				bad = -1;
	}
	if (rc == 0 || rc == GLOB_NOMATCH)
		globfree(&g);
	free(pattern);
	return bad;
}

static int
kw_client_ca(struct parser *p, const char *file, int line, char **av, int ac)
{
	(void)ac;
	if (once(p, &p->set_client_ca, file, line, av[0]) == -1)
		return -1;
	if ((p->c->client_ca = relative_to(file, av[1])) == NULL)
		return oom(p, file, line);
	p->c->client_ca_file = file;
	p->c->client_ca_line = line;
	return 0;
}

static int
kw_crl(struct parser *p, const char *file, int line, char **av, int ac)
{
	struct conf_path *cp;

	(void)ac;
	if ((cp = grow(p->c->crls, p->c->ncrls, sizeof(*cp))) == NULL)
		return oom(p, file, line);
	p->c->crls = cp;
	cp += p->c->ncrls++;
	cp->file = file;
	cp->line = line;
	if ((cp->path = relative_to(file, av[1])) == NULL)
		return oom(p, file, line);
	return 0;
}

static int
kw_expire_sessions(struct parser *p, const char *file, int line, char **av,
    int ac)
{
	(void)ac;
	if (once(p, &p->set_expire, file, line, av[0]) == -1)
		return -1;
	return yes_no(p, file, line, av[0], av[1], &p->c->expire_sessions);
}

/* Appends a rule to pol; its file and line are set here. */
static struct access_rule *
add_rule(struct parser *p, struct policy *pol, const char *file, int line)
{
	struct access_rule *r = grow(pol->rules, pol->n, sizeof(*r));

	if (r == NULL) {
		oom(p, file, line);
		return NULL;
	}
	pol->rules = r;
	return &r[pol->n];
}

static int
kw_access(struct parser *p, const char *file, int line, char **av, int ac)
{
	struct access_rule *r;
	char err[300];

	if (p->first_access.file == NULL) {
		p->first_access.file = file;
		p->first_access.line = line;
	}
	if ((r = add_rule(p, &p->c->policy, file, line)) == NULL)
		return -1;
	if (policy_parse_rule(av + 1, ac - 1, r, err, sizeof(err)) == -1) {
		conf_error(p->errs, file, line, "%s", err);
		return -1;
	}
	r->file = file;
	r->line = line;
	p->c->policy.n++;
	return 0;
}

struct pairs_read {
	enum access_who who;
	int bad;
};

/* One "NAME,TARGET" line of a pairs file. */
static void
pair_line(struct parser *p, const char *name, int n, char *text, size_t len,
    void *arg)
{
	struct pairs_read *pr = arg;
	struct access_rule *r;
	char err[300];
	int rc;

	(void)len;
	if ((r = add_rule(p, &p->pairs, name, n)) == NULL) {
		pr->bad = -1;
		return;
	}
	rc = policy_parse_pair(text, pr->who, r, err, sizeof(err));
	if (rc == -1) {
		/* a pair's own errors start "access: " */
		conf_error(p->errs, name, n, "access-pairs: %s",
		    strncmp(err, "access: ", 8) == 0 ? err + 8 : err);
		pr->bad = -1;
	} else if (rc == 1) {
		r->file = name;
		r->line = n;
		p->pairs.n++;
	}
}

/* access-pairs user|group FILE: the recipe's "NAME,TARGET" lines. */
static int
kw_access_pairs(struct parser *p, const char *file, int line, char **av,
    int ac)
{
	struct pairs_read pr = { ACCESS_USER, 0 };
	char *path;

	(void)ac;
	if (p->first_access.file == NULL) {
		p->first_access.file = file;
		p->first_access.line = line;
	}
	if (strcmp(av[1], "user") == 0)
		pr.who = ACCESS_USER;
	else if (strcmp(av[1], "group") == 0)
		pr.who = ACCESS_GROUP;
	else {
		conf_error(p->errs, file, line,
		    "usage: access-pairs user|group FILE");
		return -1;
	}
	if ((path = relative_to(file, av[2])) == NULL)
		return oom(p, file, line);
	if (read_lines(p, path, file, line, "access-pairs", "access-pairs: ",
	    pair_line,
	    &pr) == -1)
		pr.bad = -1;
	free(path);
	return pr.bad;
}

static int
kw_user(struct parser *p, const char *file, int line, char **av, int ac)
{
	struct conf *c = p->c;

	if (once(p, &p->set_user, file, line, av[0]) == -1)
		return -1;
	if (ac != 2 && (ac != 4 || strcmp(av[2], "group") != 0)) {
		conf_error(p->errs, file, line, "usage: user NAME [group NAME]");
		return -1;
	}
	c->run_user = strdup(av[1]);
	c->run_group = ac == 4 ? strdup(av[3]) : NULL;
	if (c->run_user == NULL || (ac == 4 && c->run_group == NULL))
		return oom(p, file, line);
	c->user_file = file;
	c->user_line = line;
	return 0;
}

static int
kw_metrics(struct parser *p, const char *file, int line, char **av, int ac)
{
	char host[256], err[256];
	unsigned port;

	(void)ac;
	if (once(p, &p->set_metrics, file, line, av[0]) == -1)
		return -1;
	if (addr_split(av[1], host, sizeof(host), &port, err,
	    sizeof(err)) == -1 ||
	    addr_parse_ip(host, port, &p->c->metrics_addr) == -1) {
		conf_error(p->errs, file, line, "metrics: expected ADDR:PORT "
		    "(an IPv4 or [IPv6] address), got '%s'", av[1]);
		return -1;
	}
	p->c->metrics = 1;
	return 0;
}

static int
kw_control(struct parser *p, const char *file, int line, char **av, int ac)
{
	(void)ac;
	if (once(p, &p->set_control, file, line, av[0]) == -1)
		return -1;
	if (strlen(av[1]) >= 100) {
		conf_error(p->errs, file, line, "control: path longer than 100 "
		    "characters");
		return -1;
	}
	if ((p->c->control = relative_to(file, av[1])) == NULL)
		return oom(p, file, line);
	return 0;
}


/* ciphers LIST / ciphersuites LIST: checked by OpenSSL when loaded. */
static int
kw_ciphers(struct parser *p, const char *file, int line, char **av, int ac)
{
	int suites = strcmp(av[0], "ciphersuites") == 0;
	struct conf_at *at = suites ? &p->c->ciphersuites_at :
	    &p->c->ciphers_at;
	char **slot = suites ? &p->c->ciphersuites : &p->c->ciphers;

	(void)ac;
	if (once(p, suites ? &p->set_ciphersuites : &p->set_ciphers, file,
	    line, av[0]) == -1)
		return -1;
	if ((*slot = strdup(av[1])) == NULL)
		return oom(p, file, line);
	at->file = file;
	at->line = line;
	return 0;
}

static int
kw_tls_min_version(struct parser *p, const char *file, int line, char **av,
    int ac)
{
	(void)ac;
	if (once(p, &p->set_tls_min, file, line, av[0]) == -1)
		return -1;
	if (strcmp(av[1], "1.2") == 0)
		p->c->tls_min = 12;
	else if (strcmp(av[1], "1.3") == 0)
		p->c->tls_min = 13;
	else {
		conf_error(p->errs, file, line, "tls-min-version: expected 1.2 "
		    "or 1.3, got '%s'", av[1]);
		return -1;
	}
	return 0;
}

static const struct keyword keywords[] = {
	{ "listen", 1, 2, kw_listen },
	{ "certificate", 1, 3, kw_certificate },
	{ "ssh-only", 1, 1, kw_ssh_only },
	{ "timeout", 2, 2, kw_timeout },
	{ "max-connections", 1, 1, kw_max_connections },
	{ "workers", 1, 1, kw_workers },
	{ "route", 2, LEX_MAX_WORDS, kw_route },
	{ "log", 1, 2, kw_log },
	{ "log-format", 1, 1, kw_log_format },
	{ "include", 1, 1, kw_include },
	{ "resolver", 1, 1, kw_resolver },
	{ "resolve", 1, 1, kw_resolve },
	{ "allow-destination", 1, LEX_MAX_WORDS, kw_destination },
	{ "deny-destination", 1, LEX_MAX_WORDS, kw_destination },
	{ "client-ca", 1, 1, kw_client_ca },
	{ "crl", 1, 1, kw_crl },
	{ "max-connections-per-ip", 1, 1, kw_max_per_ip },
	{ "rate-limit-per-ip", 1, 1, kw_rate_limit },
	{ "expire-sessions", 1, 1, kw_expire_sessions },
	{ "access", 1, LEX_MAX_WORDS, kw_access },
	{ "access-pairs", 2, 2, kw_access_pairs },
	{ "metrics", 1, 1, kw_metrics },
	{ "control", 1, 1, kw_control },
	{ "user", 1, 3, kw_user },
	{ "ciphers", 1, 1, kw_ciphers },
	{ "ciphersuites", 1, 1, kw_ciphers },
	{ "tls-min-version", 1, 1, kw_tls_min_version },
};

static void
directive(struct parser *p, const char *file, int line, char **av, int ac)
{
	size_t i;

	for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
		const struct keyword *k = &keywords[i];

		if (strcmp(av[0], k->name) != 0)
			continue;
		/* present, even if wrong: not also "missing" */
		if (k->fn == kw_listen)
			p->seen_listen++;
		else if (k->fn == kw_certificate)
			p->seen_cert++;
		else if (k->fn == kw_route)
			p->seen_route++;
		if (ac - 1 < k->min || ac - 1 > k->max) {
			conf_error(p->errs, file, line, "'%s' takes %s %d "
			    "argument%s", k->name, ac - 1 < k->min ?
			    "at least" : "at most", ac - 1 < k->min ? k->min :
			    k->max, (ac - 1 < k->min ? k->min : k->max) == 1 ?
			    "" : "s");
			return;
		}
		(void)k->fn(p, file, line, av, ac);
		return;
	}
	conf_error(p->errs, file, line, "unknown keyword '%s'", av[0]);
}

/* One line of a config file: words, then the directive. */
static void
config_line(struct parser *p, const char *name, int line, char *text,
    size_t len, void *arg)
{
	char *words[LEX_MAX_WORDS];
	const char *err;
	int n;

	(void)len;
	(void)arg;
	n = lex_line(text, words, LEX_MAX_WORDS, &err);
	if (n == -1)
		conf_error(p->errs, name, line, "%s", err);
	else if (n > 0)
		directive(p, name, line, words, n);
}

/*
 * Reads one config file. from/fline name the include that asked for it
 * (NULL for the main file). Returns 0, or -1 if it could not be read.
 */
static int
read_file(struct parser *p, const char *path, const char *from, int fline)
{
	int rc;

	p->depth++;
	rc = read_lines(p, path, from, fline, "include", "", config_line,
	    NULL);
	p->depth--;
	return rc;
}

/*
 * A route whose destination the client picks (resolve, direct) with
 * no allow-destination would relay anywhere the gateway can reach.
 */
static void
open_relays(const struct conf *c, struct conf_errors *errs)
{
	size_t i;

	if (c->dest.nallow > 0)
		return;
	for (i = 0; i < c->routes.n; i++) {
		const struct route *r = &c->routes.v[i];

		if (r->kind != ROUTE_STATIC)
			conf_error(errs, r->file, r->line, "route %s %s: no "
			    "allow-destination is given, so this route would "
			    "be an open relay; list the networks it may reach",
			    r->text, r->kind == ROUTE_DIRECT ? "direct" :
			    "resolve");
	}
}

struct conf *
conf_load(const char *path, struct conf_errors *errs)
{
	size_t before = errs->n;
	struct conf *c = conf_parse(path, errs);

	if (c != NULL && errs->n != before) {
		conf_free(c);
		return NULL;
	}
	return c;
}

struct conf *
conf_parse(const char *path, struct conf_errors *errs)
{
	struct parser p;
	struct conf *c;

	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->path = strdup(path)) == NULL) {
		free(c);
		conf_error(errs, path, 0, "out of memory");
		return NULL;
	}
	c->ssh_only = 1;
	c->t_handshake = 10;
	c->t_inspect = 5;
	c->t_connect = 5;
	c->t_idle = 0;
	c->t_dns = 3;
	c->t_drain = 30;
	c->max_conns = 10000;
	c->resolve_family = AF_INET;
	c->expire_sessions = 1;
	c->tls_min = 12;
	c->ciphers_at.file = c->ciphersuites_at.file = c->path;
	memset(&p, 0, sizeof(p));
	p.c = c;
	p.errs = errs;
	/* a missing directive, unless it was there but wrong */
	if (read_file(&p, path, NULL, 0) == 0) {
		if (p.seen_listen == 0)
			conf_error(errs, path, 0, "no 'listen' directive: "
			    "nothing to accept connections on");
		if (p.seen_cert == 0)
			conf_error(errs, path, 0, "no 'certificate' directive: "
			    "TLS needs at least one");
		if (p.seen_route == 0)
			conf_error(errs, path, 0, "no 'route' directive: "
			    "every connection would be refused");
		open_relays(c, errs);
	}
	/* pair rules come after every access rule, in file order */
	if (p.pairs.n > 0) {
		struct access_rule *v = realloc(c->policy.rules,
		    (c->policy.n + p.pairs.n) * sizeof(*v));

		if (v == NULL)
			conf_error(errs, path, 0, "out of memory");
		else {
			memcpy(v + c->policy.n, p.pairs.rules,
			    p.pairs.n * sizeof(*v));
			c->policy.rules = v;
			c->policy.n += p.pairs.n;
			p.pairs.n = 0;
		}
	}
	policy_free(&p.pairs);
	if (c->client_ca == NULL && c->ncrls > 0)
		conf_error(errs, c->crls[0].file, c->crls[0].line, "crl needs "
		    "'client-ca': it applies to client certificates");
	if (c->client_ca == NULL && p.set_expire.file != NULL)
		conf_error(errs, p.set_expire.file, p.set_expire.line,
		    "expire-sessions needs 'client-ca': it applies to client "
		    "certificates");
	if (p.first_access.file != NULL && c->client_ca == NULL)
		conf_error(errs, p.first_access.file, p.first_access.line,
		    "access rules need 'client-ca': without client "
		    "certificates there is no user or group to match");
	return c;
}

void
conf_free(struct conf *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->ncerts; i++) {
		free(c->certs[i].cert);
		free(c->certs[i].key);
	}
	free(c->certs);
	free(c->listens);
	route_table_free(&c->routes);
	free(c->log_path);
	free(c->resolvers);
	free(c->client_ca);
	free(c->run_user);
	free(c->control);
	free(c->run_group);
	free(c->ciphers);
	free(c->ciphersuites);
	for (i = 0; i < c->ncrls; i++)
		free(c->crls[i].path);
	free(c->crls);
	policy_free(&c->policy);
	free(c->dest.allow);
	free(c->allow_at);
	free(c->deny_at);
	free(c->dest.deny);
	free(c->dest.own);
	for (i = 0; i < c->nfiles; i++)
		free(c->files[i]);
	free(c->files);
	free(c->path);
	free(c);
}
