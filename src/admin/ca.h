/* ca: `sshgate ca`, a small CA for the gateway's client certificates. */
#ifndef SSHGATE_CA_H
#define SSHGATE_CA_H

#define CA_USAGE_INIT "sshgate ca init DIR [--name NAME] [--days N] " \
	"[--key ecdsa|ed25519|rsa]\n" \
	"                          [--encrypt]"
#define CA_USAGE_ISSUE "sshgate ca issue DIR USER [--group G]... " \
	"[--hours N | --days N]\n" \
	"                          [--csr FILE | --key ecdsa|ed25519|rsa] " \
	"[--out PREFIX]"
#define CA_USAGE_REQUEST "sshgate ca request USER [--out PREFIX] " \
	"[--key ecdsa|ed25519|rsa]"
#define CA_USAGE_GATEWAY "sshgate ca gateway DIR NAME|IP... [--days N] " \
	"[--out PREFIX]\n" \
	"                          [--key ecdsa|ed25519|rsa]"
#define CA_USAGE_REVOKE "sshgate ca revoke DIR SERIAL|USER"
#define CA_USAGE_CRL "sshgate ca crl DIR [--days N]"
#define CA_USAGE_LIST "sshgate ca list DIR [--json]"

#define CA_USAGE CA_USAGE_INIT "\n       " CA_USAGE_ISSUE "\n       " \
	CA_USAGE_REQUEST "\n       " CA_USAGE_GATEWAY "\n       " \
	CA_USAGE_REVOKE "\n       " CA_USAGE_CRL "\n       " CA_USAGE_LIST

/*
 * `sshgate ca SUBCOMMAND ARGS` (argv[0] is "ca"). Returns the exit
 * status: 0, 1 on a failure (the CA directory left as it was), 2 on a
 * usage error.
 */
int ca_main(int argc, char **argv);

#endif
