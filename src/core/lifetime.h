/*
 * lifetime: when the certificates and CRLs a gateway depends on run out,
 * and what to say about it. A gateway certificate that expires makes
 * every client fail to verify it; a CRL past its next update makes every
 * client of its CA be refused (crl-expired: the gateway fails closed).
 * So each is watched: warned about from 14 days before, and exported as a
 * metric. Pure.
 */
#ifndef SSHGATE_LIFETIME_H
#define SSHGATE_LIFETIME_H

#include <stddef.h>
#include <time.h>

#define LIFETIME_WARN_DAYS 14

enum lifetime_role {
	LIFE_GATEWAY = 0,	/* a `certificate`: notAfter */
	LIFE_CLIENT_CA,		/* the `client-ca` bundle: its earliest notAfter */
	LIFE_CRL,		/* a `crl` file: its earliest nextUpdate */
};

struct lifetime {
	enum lifetime_role role;
	char *file;		/* as the config names it (resolved) */
	char what[160];		/* the certificate's subject, the CRL's issuer */
	time_t when;		/* notAfter / nextUpdate */
};

/* A config's lifetimes, one per file. */
struct lifetimes {
	struct lifetime *v;
	size_t n;
};

/*
 * Notes that file (of role) runs out at when, for what; if the file is
 * already there, the earlier time wins. Returns 0, or -1 if out of memory.
 */
int lifetimes_add(struct lifetimes *l, enum lifetime_role role,
    const char *file, const char *what, time_t when);
void lifetimes_free(struct lifetimes *l);

/* "gateway", "client-ca", "crl": the metric's role label. */
const char *lifetime_role_name(enum lifetime_role r);

/*
 * What to say of l at now into buf: nothing (returns 0) while it is more
 * than LIFETIME_WARN_DAYS away, else one line (returns 1) saying when,
 * what it means, and what to do.
 */
int lifetime_warning(const struct lifetime *l, time_t now, char *buf,
    size_t len);

#endif
