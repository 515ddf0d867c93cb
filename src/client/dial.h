/*
 * dial: the TCP connections of `sshgate connect` (to the gateway, or to
 * an HTTP proxy), each address of a name in turn, within a deadline.
 */
#ifndef SSHGATE_DIAL_H
#define SSHGATE_DIAL_H

/* Seconds on the monotonic clock, the one deadlines are given in. */
double dial_now(void);

/* Milliseconds left until deadline for poll(), at least 0. */
int dial_left_ms(double deadline);

/*
 * Connects to host:port before deadline. what names the peer in
 * messages: "" for the gateway, "proxy " for a proxy. Returns a
 * non-blocking socket with TCP_NODELAY (caller closes), or -1 (said
 * why: "cannot resolve WHAT HOST: ...", "cannot connect to WHAT
 * HOST:PORT: ...").
 */
int dial_tcp(const char *host, unsigned port, const char *what,
    double deadline);

#endif
