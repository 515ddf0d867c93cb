#include "runtime.h"

#include <netdb.h>
#include <stdlib.h>
#include <string.h>

/*
 * Route servers given by name are resolved once here, when the config
 * is loaded (or reloaded), with the system resolver.
 */
static void
resolve_servers(struct conf *c, struct conf_errors *errs)
{
	struct addrinfo hints, *res;
	size_t i, j;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	for (i = 0; i < c->routes.n; i++) {
		struct route *r = &c->routes.v[i];

		for (j = 0; j < r->nservers; j++) {
			struct route_server *s = &r->servers[j];

			if (s->addr.len != 0)
				continue;	/* a literal */
			rc = getaddrinfo(s->host, NULL, &hints, &res);
			if (rc != 0) {
				conf_error(errs, r->file, r->line, "route %s: "
				    "cannot resolve '%s': %s", r->text,
				    s->host, gai_strerror(rc));
				continue;
			}
			memcpy(&s->addr.ss, res->ai_addr, res->ai_addrlen);
			s->addr.len = res->ai_addrlen;
			if (res->ai_family == AF_INET)
				((struct sockaddr_in *)&s->addr.ss)->sin_port =
				    htons((unsigned short)s->port);
			else
				((struct sockaddr_in6 *)&s->addr.ss)->sin6_port =
				    htons((unsigned short)s->port);
			freeaddrinfo(res);
		}
	}
}

struct runtime *
runtime_load(const char *path, const struct tls_hooks *hooks, int open_log,
    struct conf_errors *errs)
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
	resolve_servers(rt->conf, errs);
	rt->ssl_ctx = tls_server_ctx(rt->conf, hooks, errs);
	if (errs->n != before)
		goto err;
	if (open_log) {
		rt->sink = log_sink_open(rt->conf->log_to, rt->conf->log_path,
		    rt->conf->log_facility, err, sizeof(err));
		if (rt->sink == NULL) {
			conf_error(errs, rt->conf->log_file, rt->conf->log_line,
			    "log: %s", err);
			goto err;
		}
	} else if (rt->conf->log_to == LOG_TO_FILE &&
	    log_file_writable(rt->conf->log_path, err, sizeof(err)) == -1) {
		conf_error(errs, rt->conf->log_file, rt->conf->log_line,
		    "log: %s", err);
		goto err;
	}
	return rt;
err:
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
