/*
 * sshconfig: `sshgate ssh-config`, an ssh_config block whose ProxyCommand
 * runs `sshgate connect`. ssh reads Host patterns as words and expands
 * %-tokens in ProxyCommand, then /bin/sh runs it: so every value written
 * into the block is either checked to mean nothing to either of them, or
 * quoted for both.
 */
#ifndef SSHGATE_SSHCONFIG_H
#define SSHGATE_SSHCONFIG_H

#include <stddef.h>

#define SSHCONFIG_USAGE "sshgate ssh-config --gateway GW[:PORT] [--ca FILE] " \
	"[--cert FILE] [--key FILE]\n" \
	"                       [--proxy URL] PATTERN..."

/*
 * Parses the gateway: a host name, an IPv4 address or a bracketed IPv6
 * address, each with an optional :PORT (else default_port). Fills
 * host[hostlen] (without brackets) and *port. Returns 0, or -1 with a
 * reason in err.
 */
int sshconfig_gateway(const char *s, unsigned default_port, char *host,
    size_t hostlen, unsigned *port, char *err, size_t errlen);

/*
 * Returns 1 if ssh_config reads p as exactly one Host pattern: letters,
 * digits, '.', '-', '_', ':', '*', '?', after an optional '!'. Else 0.
 */
int sshconfig_pattern_ok(const char *p);

/*
 * Writes s into out[outlen] as one word of a ProxyCommand: as it is when
 * every byte is plainly safe for the shell, else in single quotes; '%'
 * doubled either way (ssh expands %-tokens before the shell runs it).
 * Returns 0, or -1 if s is empty, holds a control character (no quoting
 * carries one through an ssh_config line) or does not fit.
 */
int sshconfig_word(const char *s, char *out, size_t outlen);

/* Runs `sshgate ssh-config ARGS` (argv[0] is "ssh-config"); its exit status. */
int sshconfig_main(int argc, char **argv);

#endif
