/*
 * hello: the TLS ClientHello as a stranger sends it, read without
 * terminating TLS. Pure: bytes in, what they say out; every length is
 * checked before the bytes it covers are read. The three results follow
 * picohttpparser's contract: complete, need more bytes, or bad.
 *
 * Used inside OpenSSL's ClientHello callback (the server_name extension,
 * so that the gateway routes on the name the client sent in this
 * handshake) and, for routes that do not terminate TLS, on the raw bytes
 * of the connection.
 */
#ifndef SSHGATE_HELLO_H
#define SSHGATE_HELLO_H

#include <stddef.h>

#define HELLO_SNI_MAX 255	/* a DNS name; longer is refused */
#define HELLO_ALPN_MAX 8	/* protocols kept from the ALPN list */
#define HELLO_PROTO_MAX 64	/* bytes kept of one protocol name */
#define HELLO_BYTES_MAX 32768	/* one ClientHello message, at most */
#define HELLO_RAW_MAX 65536	/* the records around it, headers included */
#define HELLO_RECORDS_MAX 256	/* records it may be split into */

enum hello_status {
	HELLO_OK = 0,		/* a whole ClientHello was read */
	HELLO_NEED_MORE,	/* valid so far: more bytes are needed */
	HELLO_BAD,		/* not a TLS ClientHello: why says how */
};

struct hello {
	int has_sni;			/* a host_name was sent */
	char sni[HELLO_SNI_MAX + 1];	/* as sent, NUL-terminated */
	size_t nalpn;			/* protocols offered (first ones) */
	char alpn[HELLO_ALPN_MAX][HELLO_PROTO_MAX + 1];
	size_t len;			/* HELLO_OK: bytes of the records it
					   took; HELLO_NEED_MORE: bytes needed
					   before another call can say more */
};

/*
 * Reads the ClientHello at the start of a connection's bytes: TLS
 * records of type handshake, split anywhere (the message may span
 * several records, each header may be cut between two reads). On
 * HELLO_OK, *out holds its server name and ALPN list and out->len how
 * many bytes it took; on HELLO_NEED_MORE, out->len is how many bytes
 * (from the start) the next step needs: the rest of a record header or
 * of a record, so that a caller fed one byte at a time can wait for
 * that many instead of parsing again at every byte; on HELLO_BAD, *why
 * is a static reason. More than HELLO_RAW_MAX bytes of records, or more
 * than HELLO_RECORDS_MAX records, is bad: a caller waiting for each
 * step parses again each time, and a peer must not make that costly.
 */
enum hello_status hello_parse(const unsigned char *buf, size_t len,
    struct hello *out, const char **why);

/*
 * Parses the body of a server_name extension. Returns 1 with the host
 * name in out[HELLO_SNI_MAX + 1], 0 if it names no host, or -1 with a
 * static reason in *why if it is malformed (a NUL byte, an empty or
 * too long name, lengths that do not add up).
 */
int hello_sni_ext(const unsigned char *p, size_t len, char *out,
    const char **why);

/*
 * Parses the body of an ALPN extension into the first HELLO_ALPN_MAX
 * protocols (longer names are cut). Returns their number, or -1 with a
 * static reason if it is malformed.
 */
int hello_alpn_ext(const unsigned char *p, size_t len,
    char out[HELLO_ALPN_MAX][HELLO_PROTO_MAX + 1], const char **why);

#endif
