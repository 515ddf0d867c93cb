/*
 * httpproxy: `sshgate connect` through an HTTP proxy. Which proxy (the
 * --proxy option, else https_proxy / HTTPS_PROXY, unless no_proxy /
 * NO_PROXY names the gateway), then a CONNECT tunnel to the gateway, in
 * which TLS to the gateway runs end to end as on a direct connection.
 */
#ifndef SSHGATE_HTTPPROXY_H
#define SSHGATE_HTTPPROXY_H

#include "client/proxyurl.h"

/*
 * Chooses the proxy for the gateway gw_host: arg (--proxy, NULL when not
 * given), else $https_proxy, else $HTTPS_PROXY (an empty variable counts
 * as unset); an empty arg means none. No proxy either when $no_proxy
 * (else $NO_PROXY) names the gateway. Returns 1 with *u filled, 0 for a
 * direct connection, -1 for a malformed URL (said, naming its source,
 * never its password).
 */
int httpproxy_choose(const char *arg, const char *gw_host,
    struct proxyurl *u);

/*
 * TCP to the proxy, "CONNECT gw_host:gw_port", and the proxy's answer,
 * all before deadline (timeout: its length in seconds, for messages).
 * Returns the socket, non-blocking, at the first byte after the answer's
 * head: whatever the proxy relays from the gateway is still unread.
 * Or -1 (said why in one line). Caller closes.
 */
int httpproxy_open(const struct proxyurl *u, const char *gw_host,
    unsigned gw_port, double deadline, double timeout);

#endif
