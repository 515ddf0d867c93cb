/*
 * sshgate: one binary, one subcommand per job. The gateway daemon
 * (gateway/serve.c), the ProxyCommand client (client/), and the commands
 * that inspect or steer a gateway, or make its certificates (admin/). `sshgate CMD --help` prints
 * that command's usage; `sshgate --help` all of them.
 */
#include <stdio.h>
#include <string.h>
#include <ev.h>
#include <openssl/crypto.h>

#include "admin/ca.h"
#include "admin/check.h"
#include "admin/ctl.h"
#include "admin/explain.h"
#include "admin/ticketkey.h"
#include "client/connect.h"
#include "client/sshconfig.h"
#include "gateway/serve.h"

static int version_main(int, char **);

static const struct command {
	const char *name;
	int (*main)(int argc, char **argv);
	const char *usage;
	const char *what;
	const char *help;	/* more for `CMD --help`, or NULL */
} commands[] = {
	{ "serve", serve_main, SERVE_USAGE,
	    "run the gateway in the foreground (-d: debug messages)", NULL },
	{ "check", check_main, CHECK_USAGE,
	    "validate a config: errors and warnings as FILE:LINE: message\n"
	    "(exit 1 on errors; with --strict, on warnings too)", NULL },
	{ "connect", connect_main, CONNECT_USAGE,
	    "ssh ProxyCommand: TLS to GATEWAY (port 2222), SNI = TARGET,\n"
	    "verified; relays stdin/stdout (--proxy, $https_proxy: through\n"
	    "an HTTP proxy)", CONNECT_HELP },
	{ "ssh-config", sshconfig_main, SSHCONFIG_USAGE,
	    "print an ssh_config block using 'sshgate connect'", NULL },
	{ "explain", explain_main, EXPLAIN_USAGE,
	    "which route, destination decision and access rule decide a\n"
	    "connection to TARGET", NULL },
	{ "ctl", ctl_main, CTL_USAGE,
	    "talk to a running gateway through its control socket\n"
	    "(default: $SSHGATE_CONTROL, else /run/sshgate/control)", NULL },
	{ "tls-ticket-key", ticketkey_main, TICKETKEY_USAGE,
	    "print a new random key line for a tls-ticket-keys file\n"
	    "(base64 of 80 bytes: 16 name, 32 AES, 32 HMAC)", NULL },
	{ "ca", ca_main, CA_USAGE,
	    "a small CA: client certificates (user = CN, groups = OU),\n"
	    "the gateway's certificate, revocation and the CRL", NULL },
	{ "version", version_main, "sshgate version", "print the version",
	    NULL },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* Prints text with every line after the first indented by indent. */
static void
indented(FILE *f, const char *text, int indent)
{
	for (; *text != '\0'; text++) {
		fputc(*text, f);
		if (*text == '\n')
			fprintf(f, "%*s", indent, "");
	}
}

static void
usage(FILE *f)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++) {
		fprintf(f, "%s", i == 0 ? "usage: " : "       ");
		indented(f, commands[i].usage, 0);
		fprintf(f, "\n%33s", "");
		indented(f, commands[i].what, 33);
		fputc('\n', f);
	}
	fprintf(f, "       sshgate COMMAND --help    that command's usage\n"
	    "\n"
	    "Signals to 'serve': SIGHUP reloads the config without dropping "
	    "sessions;\n"
	    "SIGTERM or SIGINT stops accepting and lets sessions finish "
	    "(timeout drain);\n"
	    "SIGUSR1 reopens log files (after logrotate).\n");
}

static int
version_main(int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: sshgate version\n");
		return 2;
	}
	printf("sshgate %s (%s, libev %d.%d)\n", SSHGATE_VERSION,
	    OpenSSL_version(OPENSSL_VERSION), ev_version_major(),
	    ev_version_minor());
	return 0;
}

static int
wants_help(const char *arg)
{
	return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";
	size_t i;

	if (wants_help(cmd) || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "--version") == 0)
		return version_main(1, argv + 1);
	for (i = 0; i < NCOMMANDS; i++) {
		if (strcmp(cmd, commands[i].name) != 0)
			continue;
		if (argc == 3 && wants_help(argv[2])) {
			printf("usage: %s\n", commands[i].usage);
			if (commands[i].help != NULL)
				printf("%s\n", commands[i].help);
			return 0;
		}
		return commands[i].main(argc - 1, argv + 1);
	}
	if (*cmd == '\0')
		usage(stderr);
	else
		fprintf(stderr, "sshgate: unknown command '%s' (see sshgate "
		    "--help)\n", cmd);
	return 2;
}
