/*
 * caname: what `sshgate ca` accepts before it signs anything. A user or
 * group becomes a subject CN or OU that access rules, HAProxy's pairs
 * files ("NAME,TARGET") and the log must be able to name, so a comma, a
 * control character, a quote or backslash, blanks at either end, invalid
 * UTF-8 and empty values are refused. Gateway names become SAN DNS
 * entries. Lifetimes come from --days or --hours, bounded. Pure.
 */
#ifndef SSHGATE_CANAME_H
#define SSHGATE_CANAME_H

#include <stddef.h>

#define CANAME_MAX 64		/* bytes: X.520's upper bound for a CN or OU */
#define CANAME_DNS_MAX 253

/*
 * Checks a user or group name. Returns NULL if it may be signed, else
 * why not ("is empty", "holds a comma", ...), a static string.
 */
const char *caname_check(const char *s);

/*
 * Checks a user name: caname_check, and no '/' (the user's files are
 * named after it: USER.crt, USER.key, USER.csr). NULL if good, else why.
 */
const char *caname_check_user(const char *s);

/*
 * Checks a DNS name for a gateway certificate: labels of letters, digits
 * and '-' (not at either end), at most 63 bytes each, an optional "*."
 * first label. Returns NULL if good, else why not (static).
 */
const char *caname_check_dns(const char *s);

/* How long a certificate or CRL is valid, in seconds. */
struct caname_period {
	long def;		/* without --days or --hours */
	long max_days;		/* bound of --days (and of --hours, times 24) */
	int hours_ok;		/* --hours allowed */
};

/*
 * The lifetime from --days DAYS or --hours HOURS (either NULL when not
 * given; both given is an error). Returns 0 with *secs set, or -1 with
 * the reason in err ("--days must be a whole number from 1 to 3650").
 */
int caname_period(const struct caname_period *p, const char *days,
    const char *hours, long *secs, char *err, size_t errlen);

#endif
