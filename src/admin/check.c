/*
 * check: loads a config exactly as `serve` and a reload do (parse,
 * certificates, CAs, CRLs, users, log sink rules), binding nothing, and
 * reports every error as FILE:LINE: message.
 */
#include "admin/check.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway/conn.h"
#include "gateway/runtime.h"

static void
say_warning(const char *line)
{
	fprintf(stderr, "warning: %s\n", line);
}

int
check_main(int argc, char **argv)
{
	struct conf_errors errs = { NULL, 0 };
	struct runtime *rt;
	const char *path;
	size_t i;

	if (argc != 3 || strcmp(argv[1], "-c") != 0) {
		fprintf(stderr, "usage: %s\n", CHECK_USAGE);
		return 2;
	}
	path = argv[2];
	if ((rt = runtime_load(path, &conn_tls_hooks, 0, &errs)) == NULL) {
		for (i = 0; i < errs.n; i++)
			fprintf(stderr, "%s\n", errs.msgs[i]);
		conf_errors_free(&errs);
		return 1;
	}
	runtime_lifetime_warnings(rt, time(NULL), say_warning);
	printf("%s: ok (%zu listeners, %zu certificates, %zu routes)\n", path,
	    rt->conf->nlistens, rt->conf->ncerts, rt->conf->routes.n);
	runtime_unref(rt);
	return 0;
}
