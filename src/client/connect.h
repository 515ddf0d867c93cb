/*
 * connect: `sshgate connect`, the ProxyCommand side. TLS to the gateway
 * with verification on by default, SNI = the wanted server, then
 * stdin/stdout relayed until both directions end.
 */
#ifndef SSHGATE_CONNECT_H
#define SSHGATE_CONNECT_H

/* The gateway's port when GATEWAY has no :PORT. */
#define CONNECT_DEFAULT_PORT 2222

#define CONNECT_USAGE "sshgate connect [--ca FILE] [--cert FILE] [--key FILE] " \
	"[--insecure]\n" \
	"                       [--no-resume] [--timeout SECONDS] " \
	"[--proxy URL]\n" \
	"                       GATEWAY[:PORT] TARGET"

/* What `sshgate connect --help` adds to the usage. */
#define CONNECT_HELP \
	"  --ca FILE          CA certificates that verify the gateway " \
	"(default $SSHGATE_CA,\n" \
	"                     else the system trust store)\n" \
	"  --cert FILE        client certificate (default $SSHGATE_CERT)\n" \
	"  --key FILE         its key (default $SSHGATE_KEY, else the --cert " \
	"file)\n" \
	"  --insecure         do not verify the gateway (warns)\n" \
	"  --no-resume        neither use nor store cached TLS sessions\n" \
	"  --timeout SECONDS  for TCP, the proxy's answer and the TLS " \
	"handshake (default 10)\n" \
	"  --proxy URL        reach the gateway through this HTTP proxy " \
	"(CONNECT):\n" \
	"                     http://[USER:PASS@]HOST[:PORT], port 80 if " \
	"none; --proxy \"\"\n" \
	"                     for none. Default: $https_proxy, else " \
	"$HTTPS_PROXY, unless\n" \
	"                     $no_proxy (else $NO_PROXY) names the gateway\n" \
	"GATEWAY: NAME, IPv4 or [IPv6], port 2222 if none; TARGET: the " \
	"server (ssh's %h)"

/* Runs `sshgate connect ARGS` (argv[0] is "connect"); returns exit status. */
int connect_main(int argc, char **argv);

#endif
