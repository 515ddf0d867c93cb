/*
 * check: loads a config exactly as `serve` and a reload do (parse,
 * certificates, CAs, CRLs, users, log sink rules), binding nothing, and
 * reports every error and warning as FILE:LINE: message, in file and
 * line order. Errors fail the check; warnings (a config serve would run,
 * but not as its writer meant) fail it only with --strict.
 */
#include "admin/check.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway/conn.h"
#include "gateway/runtime.h"

/* A lifetime warning (its files are named in it). */
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
	const char *path = NULL;
	int i, strict = 0, rc = 0;
	size_t nwarn;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc && path == NULL)
			path = argv[++i];
		else if (strcmp(argv[i], "--strict") == 0 && !strict)
			strict = 1;
		else {
			path = NULL;
			break;
		}
	}
	if (path == NULL) {
		fprintf(stderr, "usage: %s\n", CHECK_USAGE);
		return 2;
	}
	rt = runtime_load(path, &conn_tls_hooks, RUNTIME_CHECK, &errs);
	conf_errors_print(stderr, &errs);
	nwarn = conf_errors_nwarnings(&errs);
	if (rt != NULL)		/* certificates and CRLs that run out soon */
		nwarn += runtime_lifetime_warnings(rt, time(NULL),
		    say_warning);
	if (rt == NULL)
		rc = 1;
	else if (strict && nwarn > 0) {
		fprintf(stderr, "%s: %zu warning%s, refused by --strict\n", path,
		    nwarn, nwarn == 1 ? "" : "s");
		rc = 1;
	} else {
		printf("%s: ok (%zu listeners, %zu certificates, %zu routes)",
		    path, rt->conf->nlistens, rt->conf->ncerts,
		    rt->conf->routes.n);
		if (nwarn > 0)
			printf(", %zu warning%s", nwarn, nwarn == 1 ? "" : "s");
		printf("\n");
	}
	runtime_unref(rt);
	conf_errors_free(&errs);
	return rc;
}
