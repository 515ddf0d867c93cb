#include "core/lifetime.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *
lifetime_role_name(enum lifetime_role r)
{
	static const char *const names[] = {
		[LIFE_GATEWAY] = "gateway", [LIFE_CLIENT_CA] = "client-ca",
		[LIFE_CRL] = "crl",
	};

	return names[r];
}

/* What each role's running out is called, and what it leads to. */
static const struct {
	const char *soon, *past;	/* "expires in", "expired on" */
	const char *date;		/* before the date in "(...)" */
	const char *then, *now;		/* the consequence, soon and past */
} says[] = {
	[LIFE_GATEWAY] = { "expires in", "expired on", "",
	    "install a new one and reload before then",
	    "clients cannot verify the gateway; install a new one and reload" },
	[LIFE_CLIENT_CA] = { "expires in", "expired on", "",
	    "its clients will be refused after that",
	    "its clients are refused" },
	[LIFE_CRL] = { "must be renewed within", "is out of date since",
	    "next update ", "after that every client of that CA is refused "
	    "(crl-expired)", "every client of that CA is refused (crl-expired) "
	    "until a new CRL is published and the gateway reloaded" },
};

int
lifetime_warning(const struct lifetime *l, time_t now, char *buf, size_t len)
{
	long left = (long)(l->when - now), days;
	char date[40], head[PATH_MAX + 200];
	struct tm tm;

	if (left > (long)LIFETIME_WARN_DAYS * 86400)
		return 0;
	gmtime_r(&l->when, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm);
	days = left / 86400;
	if (l->role == LIFE_CLIENT_CA)
		snprintf(head, sizeof(head), "client-ca %s: CA %s", l->file,
		    l->what);
	else
		snprintf(head, sizeof(head), "%s %s (%s)", l->role == LIFE_CRL ?
		    "crl" : "certificate", l->file, l->what);
	if (left <= 0)
		snprintf(buf, len, "%s %s %s: %s", head, says[l->role].past,
		    date, says[l->role].now);
	else
		snprintf(buf, len, "%s %s %ld day%s (%s%s): %s", head,
		    says[l->role].soon, days, days == 1 ? "" : "s",
		    says[l->role].date, date, says[l->role].then);
	return 1;
}

int
lifetimes_add(struct lifetimes *l, enum lifetime_role role, const char *file,
    const char *what, time_t when)
{
	struct lifetime *v, *e;
	size_t i;

	for (i = 0; i < l->n; i++) {
		e = &l->v[i];
		if (e->role == role && strcmp(e->file, file) == 0) {
			if (when < e->when) {
				e->when = when;
				snprintf(e->what, sizeof(e->what), "%s", what);
			}
			return 0;
		}
	}
	if ((v = realloc(l->v, (l->n + 1) * sizeof(*v))) == NULL)
		return -1;
	l->v = v;
	e = &v[l->n];
	memset(e, 0, sizeof(*e));
	if ((e->file = strdup(file)) == NULL)
		return -1;
	e->role = role;
	e->when = when;
	snprintf(e->what, sizeof(e->what), "%s", what);
	l->n++;
	return 0;
}

void
lifetimes_free(struct lifetimes *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i].file);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
