#include "admin/ticketkey.h"

#include <stdio.h>
#include <openssl/crypto.h>

#include "core/ticketkeys.h"
#include "gateway/tickets.h"

int
ticketkey_main(int argc, char **argv)
{
	char line[TICKETKEY_TEXT_LEN + 1];
	int rc = 0;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: %s\n", TICKETKEY_USAGE);
		return 2;
	}
	if (tickets_new_key(line, sizeof(line)) == -1) {
		fprintf(stderr, "sshgate: tls-ticket-key: the random number "
		    "generator failed\n");
		return 1;
	}
	if (printf("%s\n", line) < 0 || fflush(stdout) == EOF) {
		perror("sshgate: tls-ticket-key: stdout");
		rc = 1;
	}
	OPENSSL_cleanse(line, sizeof(line));
	return rc;
}
