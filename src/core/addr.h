/* addr: socket addresses, HOST:PORT splitting and CIDR ranges. Pure. */
#ifndef SSHGATE_ADDR_H
#define SSHGATE_ADDR_H

#include <stddef.h>
#include <netinet/in.h>
#include <sys/socket.h>

/* Longest "[v6%scope]:port" text plus NUL. */
#define ADDR_TEXT_MAX 64

/*
 * An IPv4 or IPv6 socket address, no larger than those need (32 bytes,
 * not sockaddr_storage's 132: a session holds several). ss_family is the
 * family field every member starts with.
 */
union addr_sa {
	sa_family_t ss_family;
	struct sockaddr sa;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
};

struct addr {
	union addr_sa ss;
	socklen_t len;
};

struct cidr {
	int family;			/* AF_INET or AF_INET6 */
	unsigned char bytes[16];	/* network, host bits zeroed */
	unsigned prefix;		/* 0..32 or 0..128 */
};

/*
 * Parses a literal IPv4 or IPv6 address (no brackets, no port) with the
 * given port. Returns 0, or -1 if s is not a literal address.
 */
int addr_parse_ip(const char *s, unsigned port, struct addr *out);

/*
 * Splits "HOST:PORT", "[V6]:PORT" or "V4:PORT" into host (copied into
 * host[hostlen], brackets removed) and port (1..65535).
 * Returns 0, or -1 with a reason in err.
 */
int addr_split(const char *s, char *host, size_t hostlen, unsigned *port,
    char *err, size_t errlen);

/* Sets the port of an IPv4 or IPv6 address. */
void addr_set_port(struct addr *a, unsigned port);

/* Formats "1.2.3.4:22" or "[::1]:22" into buf (ADDR_TEXT_MAX is enough). */
void addr_format(const struct addr *a, char *buf, size_t len);

/* Formats the address only, without port or brackets. */
void addr_format_ip(const struct addr *a, char *buf, size_t len);

/* Returns 1 if both hold the same family, address and port. */
int addr_equal(const struct addr *a, const struct addr *b);

/*
 * The 4 bytes of an IPv4 address, or of the IPv4 address an IPv4-mapped
 * IPv6 address (::ffff:a.b.c.d) carries; NULL for any other address.
 */
const unsigned char *addr_v4(const struct addr *a);

/* a as 16 bytes, an IPv4 address in its mapped form: one key for both. */
void addr_key16(const struct addr *a, unsigned char out[16]);

/*
 * Parses "ADDR" or "ADDR/PREFIX" (IPv4 or IPv6). A bare address is a
 * host range (/32 or /128). Returns 0, or -1 if malformed.
 */
int cidr_parse(const char *s, struct cidr *out);

/*
 * Returns 1 if the address lies in the range. An IPv4-mapped IPv6
 * address (::ffff:a.b.c.d) is matched as the IPv4 address it carries.
 */
int cidr_match(const struct cidr *c, const struct addr *a);

#endif
