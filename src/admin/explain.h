/* explain: which route, destination decision and access rule decide. */
#ifndef SSHGATE_EXPLAIN_H
#define SSHGATE_EXPLAIN_H

/*
 * Runs `sshgate explain ARGS` (argv[0] is "explain"). Returns 0 if a
 * connection to TARGET would be let through, 1 if it would be refused
 * (or the config is invalid), 2 on a usage error.
 */
#define EXPLAIN_USAGE "sshgate explain -c FILE [--user NAME] [--group NAME]... " \
	"[--alpn PROTO[,PROTO...]] TARGET|--no-sni\n" \
	"       sshgate explain -c FILE --cert FILE [--alpn ...] TARGET|--no-sni"

int explain_main(int argc, char **argv);

#endif
