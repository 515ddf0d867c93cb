/*
 * keywords: the table of sshgate.conf's directives and their parsers.
 * Each entry says how many words a directive takes, whether it may be
 * given once or must be given, and how its words are read: simple kinds
 * (a choice of words, a number in a range) name the field they fill;
 * the others have a parser of their own. conf_directive() applies the
 * table's rules (arity, once), so parsers only read their words.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/parse.h"
#include "core/ctlproto.h"
#include "core/lex.h"
#include "core/util.h"

int
conf_oom(struct parser *p, const struct conf_at *at)
{
	conf_error(p->errs, at->file, at->line, "out of memory");
	return -1;
}

void *
conf_grow(void *base, size_t n, size_t sz)
{
	char *q = realloc(base, (n + 1) * sz);

	if (q != NULL)
		memset(q + n * sz, 0, sz);
	return q;
}

/* --- simple kinds: a field of struct conf, named by the table ------------ */

static void *
field(struct parser *p, const struct keyword *k)
{
	return (char *)p->c + k->off;
}

/* One of a few words (NULL-terminated choices), stored as an int. */
static int
kw_choice(struct parser *p, const struct keyword *k, const struct conf_at *at,
    char **av, int ac)
{
	const struct kw_choice *ch;
	char expected[128];
	size_t n = 0, i, len = 0;

	(void)ac;
	for (ch = k->choices; ch->word != NULL; ch++, n++)
		if (strcmp(av[1], ch->word) == 0) {
			*(int *)field(p, k) = ch->value;
			return 0;
		}
	/* "expected yes or no", "expected ipv4, ipv6 or any" */
	expected[0] = '\0';
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(expected + len, sizeof(expected) - len,
		    "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ",
		    k->choices[i].word);
	conf_error(p->errs, at->file, at->line, "%s: expected %s, got '%s'",
	    k->name, expected, av[1]);
	return -1;
}

/* A whole number in [lo, hi], stored as an unsigned long. */
static int
kw_number(struct parser *p, const struct keyword *k, const struct conf_at *at,
    char **av, int ac)
{
	(void)ac;
	if (util_parse_uint(av[1], k->lo, k->hi, field(p, k)) == -1) {
		conf_error(p->errs, at->file, at->line, "%s: expected a number "
		    "from %lu to %lu, got '%s'", k->name, k->lo, k->hi, av[1]);
		return -1;
	}
	return 0;
}

static const struct kw_choice yes_no[] = {
	{ "yes", 1 }, { "no", 0 }, { NULL, 0 },
};
static const struct kw_choice log_formats[] = {
	{ "text", 0 }, { "json", 1 }, { NULL, 0 },
};
static const struct kw_choice families[] = {
	{ "ipv4", AF_INET }, { "ipv6", AF_INET6 }, { "any", AF_UNSPEC },
	{ NULL, 0 },
};
static const struct kw_choice tls_versions[] = {
	{ "1.2", 12 }, { "1.3", 13 }, { NULL, 0 },
};

/* --- directives with parsers of their own -------------------------------- */

static int
kw_listen(struct parser *p, const struct keyword *k, const struct conf_at *at,
    char **av, int ac)
{
	char host[256], err[256];
	struct conf_listen *l;
	struct addr a;
	unsigned port;
	size_t i;

	(void)k;
	if (ac > 2 && strcmp(av[2], "proxy-protocol") != 0) {
		conf_error(p->errs, at->file, at->line,
		    "listen: unknown option '%s' (proxy-protocol?)", av[2]);
		return -1;
	}
	if (addr_split(av[1], host, sizeof(host), &port, err,
	    sizeof(err)) == -1) {
		conf_error(p->errs, at->file, at->line, "listen: %s", err);
		return -1;
	}
	if (addr_parse_ip(host, port, &a) == -1) {
		conf_error(p->errs, at->file, at->line, "listen: '%s' is not an "
		    "IPv4 or IPv6 address (write [::]:PORT for IPv6)", host);
		return -1;
	}
	for (i = 0; i < p->c->nlistens; i++) {
		if (addr_equal(&p->c->listens[i].addr, &a)) {
			conf_error(p->errs, at->file, at->line, "listen: %s "
			    "already given on %s:%d", av[1],
			    p->c->listens[i].file, p->c->listens[i].line);
			return -1;
		}
	}
	if ((l = conf_grow(p->c->listens, p->c->nlistens, sizeof(*l))) == NULL)
		return conf_oom(p, at);
	p->c->listens = l;
	l += p->c->nlistens++;
	l->addr = a;
	l->proxy_protocol = ac > 2;
	l->file = at->file;
	l->line = at->line;
	return 0;
}

static int
kw_certificate(struct parser *p, const struct keyword *k,
    const struct conf_at *at, char **av, int ac)
{
	struct conf_cert *ct;

	(void)k;
	if (ac != 2 && (ac != 4 || strcmp(av[2], "key") != 0)) {
		conf_error(p->errs, at->file, at->line,
		    "usage: certificate FILE [key FILE]");
		return -1;
	}
	if ((ct = conf_grow(p->c->certs, p->c->ncerts, sizeof(*ct))) == NULL)
		return conf_oom(p, at);
	p->c->certs = ct;
	ct += p->c->ncerts++;
	ct->file = at->file;
	ct->line = at->line;
	ct->cert = conf_relative_to(at->file, av[1]);
	if (ac == 4)
		ct->key = conf_relative_to(at->file, av[3]);
	if (ct->cert == NULL || (ac == 4 && ct->key == NULL))
		return conf_oom(p, at);
	return 0;
}

/* timeout KIND DURATION: each kind may be given once. */
static int
kw_timeout(struct parser *p, const struct keyword *k, const struct conf_at *at,
    char **av, int ac)
{
	static const struct {
		const char *kind;
		size_t off;
	} kinds[CONF_TIMEOUTS] = {
		{ "handshake", offsetof(struct conf, t_handshake) },
		{ "inspect", offsetof(struct conf, t_inspect) },
		{ "connect", offsetof(struct conf, t_connect) },
		{ "idle", offsetof(struct conf, t_idle) },
		{ "dns", offsetof(struct conf, t_dns) },
		{ "drain", offsetof(struct conf, t_drain) },
	};
	struct conf_at *first;
	double v;
	size_t i;

	(void)k;
	(void)ac;
	for (i = 0; i < CONF_TIMEOUTS; i++)
		if (strcmp(av[1], kinds[i].kind) == 0)
			break;
	if (i == CONF_TIMEOUTS) {
		conf_error(p->errs, at->file, at->line, "timeout: unknown kind "
		    "'%s' (handshake, inspect, connect, idle, dns or drain)",
		    av[1]);
		return -1;
	}
	if (util_parse_duration(av[2], &v) == -1) {
		conf_error(p->errs, at->file, at->line, "timeout %s: '%s' is not "
		    "a duration (like 500ms, 5s, 2m, 1h or 0)", av[1], av[2]);
		return -1;
	}
	first = &p->timeouts[i];
	if (first->file != NULL) {
		conf_error(p->errs, at->file, at->line, "'timeout %s' given "
		    "twice (first at %s:%d)", kinds[i].kind, first->file,
		    first->line);
		return -1;
	}
	*first = *at;
	*(double *)((char *)p->c + kinds[i].off) = v;
	return 0;
}

/* rate-limit-per-ip N/SECONDS */
static int
kw_rate_limit(struct parser *p, const struct keyword *k,
    const struct conf_at *at, char **av, int ac)
{
	const char *slash = strchr(av[1], '/');
	unsigned long secs;
	char n[32];

	(void)k;
	(void)ac;
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
	conf_error(p->errs, at->file, at->line, "rate-limit-per-ip: expected "
	    "N/SECONDS (like 10/60: 10 new connections a minute), got '%s'",
	    av[1]);
	return -1;
}

static int
kw_log(struct parser *p, const struct keyword *k, const struct conf_at *at,
    char **av, int ac)
{
	static const struct kw_choice facilities[] = {
		{ "daemon", LOG_DAEMON }, { "auth", LOG_AUTH },
		{ "authpriv", LOG_AUTHPRIV }, { "user", LOG_USER },
		{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
		{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
		{ NULL, 0 },
	};
	const struct kw_choice *f;
	struct conf *c = p->c;

	(void)k;
	c->log_at = *at;
	if (strcmp(av[1], "stderr") == 0 && ac == 2)
		c->log_to = LOG_TO_STDERR;
	else if (strcmp(av[1], "stdout") == 0 && ac == 2)
		c->log_to = LOG_TO_STDOUT;
	else if (strcmp(av[1], "file") == 0 && ac == 3) {
		c->log_to = LOG_TO_FILE;
		if ((c->log_path = conf_relative_to(at->file, av[2])) == NULL)
			return conf_oom(p, at);
	} else if (strcmp(av[1], "syslog") == 0 && ac <= 3) {
		c->log_to = LOG_TO_SYSLOG;
		c->log_facility = LOG_DAEMON;
		if (ac == 3) {
			for (f = facilities; f->word != NULL; f++)
				if (strcmp(av[2], f->word) == 0)
					break;
			if (f->word == NULL) {
				conf_error(p->errs, at->file, at->line, "log "
				    "syslog: unknown facility '%s'", av[2]);
				return -1;
			}
			c->log_facility = f->value;
		}
	} else {
		conf_error(p->errs, at->file, at->line, "usage: log stderr | "
		    "stdout | syslog [FACILITY] | file PATH");
		return -1;
	}
	return 0;
}

static int
kw_user(struct parser *p, const struct keyword *k, const struct conf_at *at,
    char **av, int ac)
{
	struct conf *c = p->c;

	(void)k;
	if (ac != 2 && (ac != 4 || strcmp(av[2], "group") != 0)) {
		conf_error(p->errs, at->file, at->line,
		    "usage: user NAME [group NAME]");
		return -1;
	}
	c->run_user = strdup(av[1]);
	c->run_group = ac == 4 ? strdup(av[3]) : NULL;
	if (c->run_user == NULL || (ac == 4 && c->run_group == NULL))
		return conf_oom(p, at);
	c->user_at = *at;
	return 0;
}

static int
kw_metrics(struct parser *p, const struct keyword *k, const struct conf_at *at,
    char **av, int ac)
{
	char host[256], err[256];
	unsigned port;

	(void)k;
	(void)ac;
	if (addr_split(av[1], host, sizeof(host), &port, err,
	    sizeof(err)) == -1 ||
	    addr_parse_ip(host, port, &p->c->metrics_addr) == -1) {
		conf_error(p->errs, at->file, at->line, "metrics: expected "
		    "ADDR:PORT (an IPv4 or [IPv6] address), got '%s'", av[1]);
		return -1;
	}
	p->c->metrics = 1;
	return 0;
}

/*
 * control [PATH]: the default path, or PATH relative to this file, made
 * absolute: the path `sshgate ctl -s` is given, which must fit a UNIX
 * socket's address (ctl_socket_path, the same rule as ctl's).
 */
static int
kw_control(struct parser *p, const struct keyword *k, const struct conf_at *at,
    char **av, int ac)
{
	const char *arg = ac > 1 ? av[1] : NULL;
	char cwd[4096], path[4096];
	size_t n;

	(void)k;
	cwd[0] = '\0';
	if (arg != NULL && arg[0] != '/' && at->file[0] != '/' &&
	    getcwd(cwd, sizeof(cwd)) == NULL) {
		conf_error(p->errs, at->file, at->line, "control %s: cannot "
		    "tell the working directory: %s", arg, strerror(errno));
		return -1;
	}
	n = ctl_socket_path(cwd, at->file, arg, path, sizeof(path));
	if (n > CTL_PATH_MAX) {
		conf_error(p->errs, at->file, at->line, "control: %s%s is %zu "
		    "bytes long; a UNIX socket's path may have at most %d",
		    path, n >= sizeof(path) ? "..." : "", n, CTL_PATH_MAX);
		return -1;
	}
	if ((p->c->control = strdup(path)) == NULL)
		return conf_oom(p, at);
	p->c->control_at = *at;
	return 0;
}

/* ciphers LIST / ciphersuites LIST: checked by OpenSSL when loaded. */
static int
kw_ciphers(struct parser *p, const struct keyword *k, const struct conf_at *at,
    char **av, int ac)
{
	int suites = strcmp(k->name, "ciphersuites") == 0;
	char **slot = suites ? &p->c->ciphersuites : &p->c->ciphers;

	(void)ac;
	if ((*slot = strdup(av[1])) == NULL)
		return conf_oom(p, at);
	*(suites ? &p->c->ciphersuites_at : &p->c->ciphers_at) = *at;
	return 0;
}

/* tls-ticket-keys FILE: read (and its mode checked) when loaded. */
static int
kw_ticket_keys(struct parser *p, const struct keyword *k,
    const struct conf_at *at, char **av, int ac)
{
	(void)k;
	(void)ac;
	if ((p->c->ticket_keys = conf_relative_to(at->file, av[1])) == NULL)
		return conf_oom(p, at);
	p->c->ticket_keys_at = *at;
	return 0;
}

#define CHOICE(name, flags, member, words) \
	{ name, 1, 1, flags, kw_choice, offsetof(struct conf, member), 0, 0, \
	    words, NULL }
#define NUMBER(name, member, lo, hi) \
	{ name, 1, 1, KW_ONCE, kw_number, offsetof(struct conf, member), lo, \
	    hi, NULL, NULL }
#define PARSER(name, min, max, flags, fn) \
	{ name, min, max, flags, fn, 0, 0, 0, NULL, NULL }
#define REQUIRED(name, min, max, fn, why) \
	{ name, min, max, KW_REQUIRED, fn, 0, 0, 0, NULL, why }

const struct keyword conf_keywords[] = {
	REQUIRED("listen", 1, 2, kw_listen, "nothing to accept connections "
	    "on"),
	REQUIRED("certificate", 1, 3, kw_certificate, "TLS needs at least "
	    "one"),
	CHOICE("ssh-only", KW_ONCE, ssh_only, yes_no),
	PARSER("timeout", 2, 2, 0, kw_timeout),
	NUMBER("max-connections", max_conns, 1, 1000000),
	NUMBER("workers", workers, 1, 256),
	REQUIRED("route", 2, LEX_MAX_WORDS, kw_route, "every connection "
	    "would be refused"),
	PARSER("log", 1, 2, KW_ONCE, kw_log),
	CHOICE("log-format", KW_ONCE, log_json, log_formats),
	PARSER("include", 1, 1, 0, conf_kw_include),
	PARSER("resolver", 1, 1, 0, kw_resolver),
	CHOICE("resolve", KW_ONCE, resolve_family, families),
	PARSER("allow-destination", 1, LEX_MAX_WORDS, 0, kw_destination),
	PARSER("deny-destination", 1, LEX_MAX_WORDS, 0, kw_destination),
	PARSER("client-ca", 1, 1, KW_ONCE, kw_client_ca),
	PARSER("crl", 1, 1, 0, kw_crl),
	NUMBER("max-connections-per-ip", max_per_ip, 0, 1000000),
	PARSER("rate-limit-per-ip", 1, 1, KW_ONCE, kw_rate_limit),
	CHOICE("expire-sessions", KW_ONCE, expire_sessions, yes_no),
	PARSER("access", 1, LEX_MAX_WORDS, 0, kw_access),
	PARSER("access-pairs", 2, 2, 0, kw_access_pairs),
	PARSER("metrics", 1, 1, KW_ONCE, kw_metrics),
	PARSER("control", 0, 1, KW_ONCE, kw_control),
	PARSER("user", 1, 3, KW_ONCE, kw_user),
	PARSER("ciphers", 1, 1, KW_ONCE, kw_ciphers),
	PARSER("ciphersuites", 1, 1, KW_ONCE, kw_ciphers),
	CHOICE("tls-min-version", KW_ONCE, tls_min, tls_versions),
	CHOICE("tls-tickets", KW_ONCE, tls_tickets, yes_no),
	PARSER("tls-ticket-keys", 1, 1, KW_ONCE, kw_ticket_keys),
	CHOICE("tls-offload", KW_ONCE, tls_offload, yes_no),
};

const size_t conf_nkeywords = sizeof(conf_keywords) /
    sizeof(conf_keywords[0]);

_Static_assert(sizeof(conf_keywords) / sizeof(conf_keywords[0]) <=
    CONF_KEYWORDS_MAX, "raise CONF_KEYWORDS_MAX");

/*
 * Other proxies' words for what sshgate calls otherwise, for configs
 * carried over from the HAProxy recipe or an nginx stream block.
 */
static const struct {
	const char *word, *ours;
} aliases[] = {
	{ "bind", "listen" },			/* HAProxy */
	{ "frontend", "listen" },
	{ "server", "route" },
	{ "backend", "route" },
	{ "use_backend", "route" },
	{ "default_backend", "route" },
	{ "proxy_pass", "route" },		/* nginx */
	{ "crt", "certificate" },		/* HAProxy */
	{ "ssl_certificate", "certificate" },	/* nginx */
	{ "ssl_certificate_key", "certificate" },
	{ "ca-file", "client-ca" },		/* HAProxy */
	{ "ssl_client_certificate", "client-ca" },	/* nginx */
	{ "crl-file", "crl" },			/* HAProxy */
	{ "ssl_crl", "crl" },			/* nginx */
	{ "maxconn", "max-connections" },	/* HAProxy */
	{ "nbthread", "workers" },
	{ "worker_processes", "workers" },	/* nginx */
	{ "ssl_ciphers", "ciphers" },
	{ "ssl_protocols", "tls-min-version" },
	{ "ssl-min-ver", "tls-min-version" },	/* HAProxy */
	{ "acl", "access" },
	{ "ssl_session_ticket_key", "tls-ticket-keys" },	/* nginx */
	{ "nameserver", "resolver" },
	{ "access_log", "log" },		/* nginx */
};

const char *
conf_suggest(const char *word)
{
	const char *best = NULL;
	size_t i, d, bestd = 3;		/* at most 2 edits away */

	for (i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcasecmp(word, aliases[i].word) == 0)
			return aliases[i].ours;
	for (i = 0; i < conf_nkeywords; i++) {
		d = util_edit_distance(word, conf_keywords[i].name);
		/* and fewer edits than it has letters: "ls" is no "log" */
		if (d < bestd && d < strlen(word)) {
			bestd = d;
			best = conf_keywords[i].name;
		}
	}
	return best;
}

static size_t
keyword_index(const char *name)
{
	size_t i;

	for (i = 0; i < conf_nkeywords; i++)
		if (strcmp(name, conf_keywords[i].name) == 0)
			return i;
	return conf_nkeywords;
}

const struct conf_at *
conf_set(const struct parser *p, const char *kw)
{
	size_t i = keyword_index(kw);

	return i < conf_nkeywords && p->set[i].file != NULL ? &p->set[i] :
	    NULL;
}

void
conf_directive(struct parser *p, const char *file, int line, char **av,
    int ac)
{
	const struct conf_at at = { file, line };
	const struct keyword *k;
	size_t i = keyword_index(av[0]);
	int want;

	if (i == conf_nkeywords) {
		const char *guess = conf_suggest(av[0]);

		if (guess != NULL)
			conf_error(p->errs, file, line, "unknown keyword '%s' (did "
			    "you mean '%s'?)", av[0], guess);
		else
			conf_error(p->errs, file, line, "unknown keyword '%s'",
			    av[0]);
		return;
	}
	k = &conf_keywords[i];
	/* present, even if wrong: not also "missing" */
	if (p->seen[i].file == NULL)
		p->seen[i] = at;
	if (ac - 1 < k->min || ac - 1 > k->max) {
		want = ac - 1 < k->min ? k->min : k->max;
		conf_error(p->errs, file, line, "'%s' takes %s %d argument%s",
		    k->name, ac - 1 < k->min ? "at least" : "at most", want,
		    want == 1 ? "" : "s");
		return;
	}
	if (k->flags & KW_ONCE) {
		if (p->set[i].file != NULL) {
			conf_error(p->errs, file, line, "'%s' given twice "
			    "(first at %s:%d)", k->name, p->set[i].file,
			    p->set[i].line);
			return;
		}
		p->set[i] = at;
	}
	(void)k->parse(p, k, &at, av, ac);
}
