/*
 * ticketkeys: the text of a `tls-ticket-keys` file, the TLS session
 * ticket keys that several gateways share. Pure: no I/O, no globals.
 *
 * Format: one key a line, each the base64 (standard alphabet, with its
 * padding) of 80 bytes: a 16-byte key name, a 32-byte AES-256 key and a
 * 32-byte HMAC-SHA256 key, HAProxy's 80-byte layout. Blank lines and
 * lines whose first non-blank is '#' are skipped; blanks around a key
 * are allowed, nothing else. The first key encrypts new tickets; every
 * key decrypts. Key names must differ (a ticket names its key).
 */
#ifndef SSHGATE_TICKETKEYS_H
#define SSHGATE_TICKETKEYS_H

#include <stddef.h>

#define TICKETKEY_NAME_LEN 16
#define TICKETKEY_AES_LEN 32
#define TICKETKEY_HMAC_LEN 32
#define TICKETKEY_LEN (TICKETKEY_NAME_LEN + TICKETKEY_AES_LEN + \
	TICKETKEY_HMAC_LEN)
#define TICKETKEY_TEXT_LEN 108	/* base64 of TICKETKEY_LEN bytes */
#define TICKETKEYS_MAX 64	/* keys one file may hold */

struct ticketkey {
	unsigned char name[TICKETKEY_NAME_LEN];
	unsigned char aes[TICKETKEY_AES_LEN];
	unsigned char hmac[TICKETKEY_HMAC_LEN];
};

struct ticketkeys {
	struct ticketkey v[TICKETKEYS_MAX];
	size_t n;
};

/*
 * Called for each error with its 1-based line and a message. The
 * message is only valid during the call.
 */
typedef void ticketkeys_error_fn(void *arg, int line, const char *msg);

/*
 * Parses len bytes of text into keys (every key, in file order). Every
 * bad line is reported through error; a file with no key is reported
 * at line 0. Returns 0, or -1 after at least one error. keys holds key
 * material either way: ticketkeys_clear it when done.
 */
int ticketkeys_parse(const char *text, size_t len, struct ticketkeys *keys,
    ticketkeys_error_fn *error, void *arg);

/*
 * Writes the text form of one key (TICKETKEY_TEXT_LEN characters and a
 * NUL) for the TICKETKEY_LEN bytes raw into out. Returns 0, or -1 if
 * outlen is too small.
 */
int ticketkeys_format(const unsigned char raw[TICKETKEY_LEN], char *out,
    size_t outlen);

/* Overwrites every key with zeros (key material); keys->n = 0. */
void ticketkeys_clear(struct ticketkeys *keys);

#endif
