/*
 * ca_int: what the `sshgate ca` subcommands share: their argument
 * parser, messages, defaults and bounds. Only admin/ca*.c include it.
 */
#ifndef SSHGATE_CA_INT_H
#define SSHGATE_CA_INT_H

#include <stddef.h>

#define CA_GROUPS_MAX 64
#define CA_NAMES_MAX 64		/* a gateway certificate's names */
#define CA_POSITIONAL_MAX 64
#define CA_ERR_MAX (3 * 4096 + 512)	/* room for paths and a reason */

/* One subcommand's arguments, once parsed. */
struct ca_args {
	const char *pos[CA_POSITIONAL_MAX];	/* in order */
	size_t npos;
	const char *name, *days, *hours, *key, *csr, *out;
	const char *groups[CA_GROUPS_MAX];
	size_t ngroups;
	int json, encrypt;	/* the flags --json, --encrypt */
};

/*
 * Parses argv (argv[0] the subcommand) against the options the
 * subcommand takes, a string like "days,hours,group" (json and encrypt
 * are flags, the others take a value). Returns 0, or 2 after printing the usage
 * error.
 */
int ca_parse(int argc, char **argv, const char *allowed, const char *usage,
    struct ca_args *a);

/* "sshgate: ca SUB: message" on stderr. */
void ca_say(const char *sub, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A usage error: the message, then the usage, on stderr; returns 2. */
int ca_usage_error(const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Checks a --key kind of subcommand sub; 0 or 2 (usage error printed). */
int ca_check_key_kind(const char *sub, const char *kind, const char *usage);

/*
 * s in double quotes, control characters and other odd bytes escaped
 * (C-like), for a message: what a user typed is never echoed raw to a
 * terminal. Returns buf.
 */
#define CA_SHOWN_MAX 300
const char *ca_shown(const char *s, char *buf, size_t len);

int ca_issue(int argc, char **argv);
int ca_request(int argc, char **argv);
int ca_gateway(int argc, char **argv);

#endif
