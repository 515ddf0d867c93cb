/*
 * ident: who a client certificate names, read from fields a stranger
 * wrote. It runs before the certificate is trusted (refused clients are
 * logged with what they claimed), so every field is hostile input: any
 * byte may appear (NUL included), strings come in any ASN.1 type, and
 * sizes are bounded here, not by the sender. No I/O; fuzzed.
 */
#ifndef SSHGATE_IDENT_H
#define SSHGATE_IDENT_H

#include <stddef.h>
#include <time.h>
#include <openssl/x509.h>

#define IDENT_VALUE_MAX 1024	/* bytes of one CN or OU, as UTF-8 */
#define IDENT_GROUPS_MAX 64	/* OU values in one subject */
#define IDENT_SERIAL_MAX 80	/* hex digits kept of the serial */

struct ident {
	char *user;		/* subject CN, UTF-8; NULL if none or unusable */
	char *user_shown;	/* for logs: the CN, NUL bytes shown as '?' */
	char **groups;		/* every usable subject OU, in order */
	size_t ngroups;
	char *groups_text;	/* "a,b" (',' and '\' escaped), for logs */
	char serial[IDENT_SERIAL_MAX + 1];	/* hex; longer ones cut */
	char *subject;		/* the whole subject, RFC 2253, for logs */
	time_t not_after;	/* 0 if unreadable */
};

enum ident_status {
	IDENT_OK = 0,
	IDENT_TOO_LARGE,	/* a CN or OU over IDENT_VALUE_MAX, or too many OUs */
	IDENT_NO_MEMORY,
};

/*
 * Fills id from cert. A CN holding a NUL byte, or empty, gives no user
 * (it can match no rule by name); such OUs are left out of the groups.
 * On IDENT_TOO_LARGE id still holds what the log needs (user_shown cut,
 * subject, serial); on IDENT_NO_MEMORY it is empty. Free with ident_free.
 */
enum ident_status ident_get(X509 *cert, struct ident *id);
void ident_free(struct ident *id);

#endif
