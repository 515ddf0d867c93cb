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
	"GATEWAY[:PORT] TARGET"

/* Runs `sshgate connect ARGS` (argv[0] is "connect"); returns exit status. */
int connect_main(int argc, char **argv);

#endif
