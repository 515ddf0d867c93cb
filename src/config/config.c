/*
 * config: sshgate.conf, read whole into a struct conf: the defaults,
 * the files (read.c), each directive by the keyword table (keywords.c),
 * then the checks that need all of it (check.c).
 */
#include "config/config.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "config/parse.h"

static void
defaults(struct conf *c)
{
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
	c->tls_tickets = 1;
	c->tls_offload = 1;
	c->tls_min = 12;
	c->ciphers_at.file = c->ciphersuites_at.file = c->path;
}

/* Pair rules come after every access rule, in file order. */
static void
append_pairs(struct parser *p)
{
	struct conf *c = p->c;
	struct access_rule *v;

	if (p->pairs.n == 0)
		return;
	v = realloc(c->policy.rules, (c->policy.n + p->pairs.n) * sizeof(*v));
	if (v == NULL) {
		conf_error(p->errs, c->path, 0, "out of memory");
		return;
	}
	memcpy(v + c->policy.n, p->pairs.rules, p->pairs.n * sizeof(*v));
	c->policy.rules = v;
	c->policy.n += p->pairs.n;
	p->pairs.n = 0;
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
	defaults(c);
	memset(&p, 0, sizeof(p));
	p.c = c;
	p.errs = errs;
	conf_check(&p, conf_read_file(&p, path, NULL) == 0);
	append_pairs(&p);
	policy_free(&p.pairs);
	return c;
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
	free(c->ticket_keys);
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
	free(c->files_from);
	free(c->path);
	free(c);
}
