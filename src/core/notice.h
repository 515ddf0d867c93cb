/*
 * notice: the one line the gateway sends a client before it ends, on its
 * own decision, a connection whose TLS handshake completed (a refusal
 * decided by the destination, DNS, a kill, a reload, an expired
 * certificate...), so that `sshgate connect` can say why instead of
 * "broken pipe":
 *
 *	sshgate-notice refused|ended REASON TEXT\r\n
 *
 * It goes in a TLS record of its own, right before close_notify. Before
 * any server byte it is a line before the SSH banner, which SSH clients
 * skip; after, the session is being cut anyway. Pure.
 */
#ifndef SSHGATE_NOTICE_H
#define SSHGATE_NOTICE_H

#include <stddef.h>

#define NOTICE_MAGIC "sshgate-notice "
#define NOTICE_TEXT_MAX 200	/* bytes of TEXT kept */
#define NOTICE_MAX 260		/* a whole notice line, at most */

enum notice_kind {
	NOTICE_REFUSED = 0,	/* no server byte reached the client */
	NOTICE_ENDED,		/* a session that was relaying was cut */
};

/*
 * Writes the notice into buf (NOTICE_MAX bytes): reason is a log token,
 * text is cut to NOTICE_TEXT_MAX and anything but printable ASCII in it
 * becomes '?'. Returns the length.
 */
size_t notice_format(char *buf, enum notice_kind kind, const char *reason,
    const char *text);

/*
 * Reads a notice from the first len bytes of a TLS record's data.
 * Returns 1 with its parts (reason[32], text[NOTICE_TEXT_MAX + 1]), or 0
 * if the bytes are not a notice.
 */
int notice_parse(const void *buf, size_t len, enum notice_kind *kind,
    char *reason, char *text);

#endif
