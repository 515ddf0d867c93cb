/*
 * client: `sshgate connect`, the ProxyCommand side, and `sshgate
 * ssh-config`. TLS to the gateway with verification on by default, SNI =
 * the wanted server, then stdin/stdout relayed until both directions end.
 */
#ifndef SSHGATE_CLIENT_H
#define SSHGATE_CLIENT_H

/* Runs `sshgate connect ARGS` (argv[0] is "connect"); returns exit status. */
int client_connect_main(int argc, char **argv);

/* Runs `sshgate ssh-config ARGS`; returns the exit status. */
int client_ssh_config_main(int argc, char **argv);

#endif
