/*
 * explain: `sshgate explain -c FILE [--user NAME] [--group NAME]...
 * [--cert FILE] TARGET` answers "can alice reach db7?" without
 * connecting: whether her certificate would be accepted (checked against
 * the gateway's CAs and CRLs, now) and whom it names, the route that
 * matches, the destination decision (after DNS, with the gateway's own
 * resolver settings), and the access rule that decides, each with the
 * FILE:LINE that says so. With passthrough routes, the ALPN protocols a
 * ClientHello offers (--alpn) and a ClientHello without a name
 * (--no-sni) take part in choosing the route, as in the gateway.
 */
#include "admin/explain.h"

#include <ev.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "config/file.h"
#include "core/dest.h"
#include "core/ident.h"
#include "core/policy.h"
#include "core/route.h"
#include "core/util.h"
#include "gateway/conn.h"
#include "gateway/resolver.h"
#include "gateway/runtime.h"
#include "gateway/tls.h"

#define MAX_GROUPS 32
#define MAX_ALPN 16
#define CERT_FILE_MAX (1u << 20)

struct lookup {
	struct dns_wait wait;
	struct dns_answer ans;
	int done;
};

static void
on_answer(struct dns_wait *w, const struct dns_answer *ans)
{
	struct lookup *l = container_of(w, struct lookup, wait);

	l->ans = *ans;
	l->done = 1;
}

static void
on_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
	(void)t;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

/* Resolves name as a worker would. Returns 0 with ans filled, or -1. */
static int
resolve(const struct conf *c, const char *name, struct dns_answer *ans)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct resolver *r;
	struct lookup l;
	ev_timer t;
	char err[256];

	memset(&l, 0, sizeof(l));
	if (loop == NULL ||
	    (r = resolver_new(loop, c->resolvers, c->t_dns, err,
	    sizeof(err))) == NULL) {
		printf("             cannot resolve: %s\n", loop == NULL ?
		    "no event loop" : err);
		if (loop != NULL)
			ev_loop_destroy(loop);
		return -1;
	}
	l.wait.done = on_answer;
	if (resolver_lookup(r, name, c->resolve_family, &l.wait, &l.ans))
		l.done = 1;
	else {
		ev_timer_init(&t, on_timeout, c->t_dns, 0);
		ev_timer_start(loop, &t);
		while (!l.done && ev_run(loop, EVRUN_ONCE) && ev_is_active(&t))
			;
		ev_timer_stop(loop, &t);
		if (!l.done) {
			resolver_cancel(&l.wait);
			l.ans.status = DNS_TIMEOUT;
		}
	}
	resolver_unref(r);
	ev_loop_destroy(loop);
	*ans = l.ans;
	return 0;
}

/* The allow or deny entry that contains a, with where it was given. */
static void
print_entry(const struct conf *c, const struct addr *a, int deny)
{
	const struct cidr *v = deny ? c->dest.deny : c->dest.allow;
	const struct conf_at *at = deny ? c->deny_at : c->allow_at;
	size_t i, n = deny ? c->dest.ndeny : c->dest.nallow;

	for (i = 0; i < n; i++) {
		if (cidr_match(&v[i], a)) {
			printf(" (%s-destination at %s:%d)", deny ? "deny" :
			    "allow", at[i].file, at[i].line);
			return;
		}
	}
}

/*
 * One candidate destination: safety (dynamic routes) and policy.
 * Returns 1 if a connection would go there.
 */
static int
judge(const struct conf *c, const struct route *r, const char *sni,
    const struct addr *a, const struct identity *id, int have_id)
{
	const struct access_rule *rule;
	enum dest_verdict dv;
	enum policy_verdict pv;
	char text[ADDR_TEXT_MAX], why[200];

	addr_format(a, text, sizeof(text));
	printf("             %s: ", text);
	if (r->kind != ROUTE_STATIC) {
		dv = dest_check(&c->dest, a, why, sizeof(why));
		if (dv != DEST_OK) {
			printf("refused, destination-denied: %s", why);
			if (dv == DEST_DENIED)
				print_entry(c, a, 1);
			printf("\n");
			return 0;
		}
		printf("destination allowed");
		print_entry(c, a, 0);
		printf("; ");
	}
	if (c->client_ca == NULL) {
		printf("reachable (no client-ca: no access policy)\n");
		return 1;
	}
	if (!have_id) {
		printf("the access policy decides by user and group "
		    "(give --user/--group)\n");
		return 0;
	}
	pv = policy_decide(&c->policy, id, sni, a, &rule);
	if (pv == POLICY_ALLOW) {
		printf("access allowed by %s:%d (access %s)\n", rule->file,
		    rule->line, rule->text);
		return 1;
	}
	if (rule != NULL)
		printf("refused, access-denied by %s:%d (access %s)\n",
		    rule->file, rule->line, rule->text);
	else
		printf("refused, access-denied: no access rule matches\n");
	return 0;
}

/* Judges every address of a name or literal. Returns how many pass. */
static int
judge_name(const struct conf *c, const struct route *r, const char *sni,
    const char *host, unsigned port, const struct identity *id,
    int have_id)
{
	struct dns_answer ans;
	struct addr a;
	size_t i;
	int ok = 0;

	if (addr_parse_ip(host, port, &a) == 0)
		return judge(c, r, sni, &a, id, have_id);
	if (resolve(c, host, &ans) == -1)
		return 0;
	if (ans.status != DNS_OK) {
		printf("             %s: refused, dns-failed: %s\n", host,
		    dns_status_text(ans.status));
		return 0;
	}
	printf("             %s resolves to %zu address%s\n", host, ans.n,
	    ans.n == 1 ? "" : "es");
	for (i = 0; i < ans.n; i++) {
		a = ans.addrs[i];
		addr_set_port(&a, port);
		ok += judge(c, r, sni, &a, id, have_id);
	}
	return ok;
}

/*
 * The client certificate in path (then the intermediates a client would
 * send), judged as a handshake now would, and whom it names, into id.
 * Returns 1 if the gateway would accept it, 0 if not (said why), -1 if
 * it cannot be read.
 */
static int
judge_cert(const struct runtime *rt, const char *path, struct ident *ident,
    struct identity *id)
{
	STACK_OF(X509) *chain = sk_X509_new_null();
	enum tls_cert_verdict v;
	char *data = NULL, why[256];
	X509 *cert = NULL, *x;
	size_t len;
	BIO *bio = NULL;
	int rc = -1;

	if (file_read(path, CERT_FILE_MAX, &data, &len, why,
	    sizeof(why)) == -1) {
		fprintf(stderr, "explain: cannot read --cert %s: %s\n", path, why);
		goto out;
	}
	if (chain == NULL || (bio = BIO_new_mem_buf(data, (int)len)) == NULL)
		goto oom;
	if ((cert = PEM_read_bio_X509(bio, NULL, NULL, NULL)) == NULL) {
		fprintf(stderr, "explain: --cert %s holds no PEM certificate\n",
		    path);
		goto out;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		if (!sk_X509_push(chain, x)) {
			X509_free(x);
			goto oom;
		}
	rc = 0;
	if (ident_get(cert, ident) != IDENT_OK) {
		printf("certificate: %s: refused, cert-untrusted: subject too "
		    "large or unreadable\n", path);
		goto out;
	}
	printf("certificate: %s: %s, serial %s\n", path, ident->subject,
	    ident->serial);
	if (rt->conf->client_ca == NULL) {
		printf("             not asked for (no client-ca)\n");
		rc = 1;
		goto out;
	}
	v = tls_cert_recheck(rt->ssl_ctx, cert, chain, why, sizeof(why));
	if (v != TLS_CERT_OK) {
		printf("             refused, %s: %s\n",
		    reason_token(tls_verdict_reason(v)), why);
		goto out;
	}
	printf("             trusted by client-ca %s, now\n",
	    rt->conf->client_ca);
	id->user = ident->user;
	id->groups = (const char *const *)ident->groups;
	id->ngroups = ident->ngroups;
	rc = 1;
	goto out;
oom:
	fprintf(stderr, "explain: out of memory\n");
out:
	ERR_clear_error();
	BIO_free(bio);
	X509_free(cert);
	sk_X509_pop_free(chain, X509_free);
	free(data);
	return rc;
}

static int
usage(void)
{
	fprintf(stderr, "usage: %s\n", EXPLAIN_USAGE);
	return 2;
}

int
explain_main(int argc, char **argv)
{
	const char *path = NULL, *target = NULL, *certpath = NULL;
	const char *groups[MAX_GROUPS], *alpn[MAX_ALPN];
	char alpn_list[256], *save = NULL, *p;
	size_t nalpn = 0;
	int no_sni = 0;
	struct conf_errors errs = { NULL, 0 };
	struct ident ident;
	char sni[ROUTE_SNI_MAX + 1];
	struct identity id;
	struct runtime *rt;
	const struct conf *c;
	struct route *r;
	size_t i;
	int have_id = 0, ok = 0, k;

	memset(&id, 0, sizeof(id));
	memset(&ident, 0, sizeof(ident));
	id.groups = groups;
	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "-c") == 0 && k + 1 < argc)
			path = argv[++k];
		else if (strcmp(argv[k], "--user") == 0 && k + 1 < argc) {
			id.user = argv[++k];
			have_id = 1;
		} else if (strcmp(argv[k], "--group") == 0 && k + 1 < argc) {
			if (id.ngroups == MAX_GROUPS)
				return usage();
			groups[id.ngroups++] = argv[++k];
			have_id = 1;
		} else if (strcmp(argv[k], "--cert") == 0 && k + 1 < argc)
			certpath = argv[++k];
		else if (strcmp(argv[k], "--alpn") == 0 && k + 1 < argc &&
		    nalpn == 0) {
			util_strlcpy(alpn_list, argv[++k], sizeof(alpn_list));
			for (p = strtok_r(alpn_list, ",", &save); p != NULL &&
			    nalpn < MAX_ALPN; p = strtok_r(NULL, ",", &save))
				alpn[nalpn++] = p;
		} else if (strcmp(argv[k], "--no-sni") == 0)
			no_sni = 1;
		else if (argv[k][0] == '-' || target != NULL)
			return usage();
		else
			target = argv[k];
	}
	if (path == NULL || (target == NULL) == !no_sni ||
	    (certpath != NULL && have_id))
		return usage();
	if (resolver_global_init() == -1)
		return 1;
	if ((rt = runtime_load(path, &conn_tls_hooks, RUNTIME_EXPLAIN,
	    &errs)) == NULL) {
		conf_errors_print(stderr, &errs);
		conf_errors_free(&errs);
		return 1;
	}
	conf_errors_free(&errs);	/* warnings: check's to say */
	c = rt->conf;
	printf("target:      %s", no_sni ? "(no server name)" : target);
	for (i = 0; i < nalpn; i++)
		printf("%s%s", i == 0 ? ", ALPN " : ",", alpn[i]);
	printf("\n");
	if (certpath != NULL) {
		if ((k = judge_cert(rt, certpath, &ident, &id)) != 1) {
			ok = k;	/* -1: not read, said on stderr */
			goto out;
		}
		have_id = c->client_ca != NULL;
	}
	if (!no_sni && route_normalize_sni(target, sni) == -1) {
		printf("route:       none: not a host name or address "
		    "(refused, no-route)\n");
		goto out;
	}
	r = route_match_hello(&c->routes, no_sni ? NULL : sni, alpn, nalpn);
	if (r == NULL) {
		printf("route:       none matches (refused, %s)\n", no_sni ?
		    "no-sni" : "no-route");
		goto out;
	}
	printf("route:       %s %s (%s:%d)\n", r->text, r->passthrough ?
	    "passthrough to servers: TLS not terminated, the servers do "
	    "their own" : r->kind == ROUTE_STATIC ? "to servers" :
	    r->kind == ROUTE_DIRECT ? "direct" : "resolve", r->file, r->line);
	if (r->passthrough && c->client_ca != NULL) {
		/* no certificate is seen: judged as nobody, as the gateway does */
		printf("as:          nobody (a passthrough client shows no "
		    "certificate: only 'any' rules match)\n");
		memset(&id, 0, sizeof(id));
		have_id = 2;
	}
	if (no_sni)
		sni[0] = '\0';
	if (have_id == 1) {
		printf("as:          user %s, groups", id.user != NULL ?
		    id.user : "(none)");
		for (i = 0; i < id.ngroups; i++)
			printf("%s%s", i == 0 ? " " : ",", id.groups[i]);
		printf("%s\n", id.ngroups == 0 ? " (none)" : "");
	}
	printf("destination:\n");
	if (r->kind == ROUTE_STATIC) {
		for (i = 0; i < r->nservers; i++)
			ok += judge_name(c, r, sni, r->servers[i].host,
			    r->servers[i].port, &id, have_id);
	} else
		ok = judge_name(c, r, sni, sni, r->port, &id, have_id);
out:
	if (ok >= 0)
		printf("verdict:     %s\n", ok > 0 ? "allowed" : "refused");
	ident_free(&ident);
	runtime_unref(rt);
	resolver_global_cleanup();
	return ok > 0 ? 0 : 1;
}
