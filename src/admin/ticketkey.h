/* ticketkey: `sshgate tls-ticket-key`, a new line for a tls-ticket-keys file. */
#ifndef SSHGATE_TICKETKEY_H
#define SSHGATE_TICKETKEY_H

#define TICKETKEY_USAGE "sshgate tls-ticket-key"

/*
 * Prints one new random key line (base64 of 80 bytes: name, AES key,
 * HMAC key) on stdout. Returns 0, 1 if no key could be made or printed,
 * 2 on a usage error.
 */
int ticketkey_main(int argc, char **argv);

#endif
