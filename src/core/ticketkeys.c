#include "core/ticketkeys.h"

#include <stdio.h>
#include <string.h>

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* A base64 character's value, or -1. */
static int
b64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

static int
blank(unsigned char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r';
}

/*
 * Decodes the TICKETKEY_TEXT_LEN characters at s into out
 * (TICKETKEY_LEN bytes). 80 bytes are 26 groups of 3 and 2 more: the
 * text ends in three characters and one '=', the third's last 2 bits
 * zero (only one text per key). Returns 0, or -1 with msg set.
 */
static int
decode(const char *s, unsigned char *out, char *msg, size_t msglen)
{
	unsigned long acc = 0;
	size_t i, n = 0;
	int v;

	for (i = 0; i < TICKETKEY_TEXT_LEN - 1; i++) {
		if ((v = b64_value((unsigned char)s[i])) == -1) {
			snprintf(msg, msglen, "column %zu: '%c' is not a "
			    "base64 character", i + 1,
			    s[i] >= 0x21 && s[i] < 0x7f ? s[i] : '?');
			return -1;
		}
		acc = acc << 6 | (unsigned long)v;
		if (i % 4 == 3) {
			out[n++] = (unsigned char)(acc >> 16);
			out[n++] = (unsigned char)(acc >> 8);
			out[n++] = (unsigned char)acc;
			acc = 0;
		}
	}
	if (s[TICKETKEY_TEXT_LEN - 1] != '=') {
		snprintf(msg, msglen, "column %d: expected '=' (the padding "
		    "of 80 bytes)", TICKETKEY_TEXT_LEN);
		return -1;
	}
	if ((acc & 0x3) != 0) {
		snprintf(msg, msglen, "column %d: not the base64 of 80 bytes "
		    "(bits beyond the last byte are set)",
		    TICKETKEY_TEXT_LEN - 1);
		return -1;
	}
	out[n++] = (unsigned char)(acc >> 10);
	out[n++] = (unsigned char)(acc >> 2);
	return n == TICKETKEY_LEN ? 0 : -1;
}

/* One key line (without its blanks): appended to keys, or an error. */
static int
key_line(const char *s, size_t n, int line, struct ticketkeys *keys,
    const int *lines, ticketkeys_error_fn *error, void *arg)
{
	unsigned char raw[TICKETKEY_LEN];
	struct ticketkey *k;
	char msg[160];
	size_t i;

	if (n != TICKETKEY_TEXT_LEN) {
		snprintf(msg, sizeof(msg), "expected a key of %d base64 "
		    "characters (80 bytes: 16 name, 32 AES, 32 HMAC), got %zu "
		    "characters", TICKETKEY_TEXT_LEN, n);
		error(arg, line, msg);
		return -1;
	}
	if (decode(s, raw, msg, sizeof(msg)) == -1) {
		error(arg, line, msg);
		explicit_bzero(raw, sizeof(raw));
		return -1;
	}
	for (i = 0; i < keys->n; i++)
		if (memcmp(keys->v[i].name, raw, TICKETKEY_NAME_LEN) == 0) {
			snprintf(msg, sizeof(msg), "the key name (its first 16 "
			    "bytes) repeats the key at line %d", lines[i]);
			error(arg, line, msg);
			explicit_bzero(raw, sizeof(raw));
			return -1;
		}
	if (keys->n == TICKETKEYS_MAX) {
		snprintf(msg, sizeof(msg), "more than %d keys",
		    TICKETKEYS_MAX);
		error(arg, line, msg);
		explicit_bzero(raw, sizeof(raw));
		return -1;
	}
	k = &keys->v[keys->n++];
	memcpy(k->name, raw, TICKETKEY_NAME_LEN);
	memcpy(k->aes, raw + TICKETKEY_NAME_LEN, TICKETKEY_AES_LEN);
	memcpy(k->hmac, raw + TICKETKEY_NAME_LEN + TICKETKEY_AES_LEN,
	    TICKETKEY_HMAC_LEN);
	explicit_bzero(raw, sizeof(raw));
	return 0;
}

int
ticketkeys_parse(const char *text, size_t len, struct ticketkeys *keys,
    ticketkeys_error_fn *error, void *arg)
{
	int lines[TICKETKEYS_MAX];
	size_t at = 0, end, a, b;
	int line = 0, bad = 0;

	keys->n = 0;
	while (at < len) {
		const char *nl = memchr(text + at, '\n', len - at);

		end = nl != NULL ? (size_t)(nl - text) : len;
		line++;
		for (a = at; a < end && blank((unsigned char)text[a]); a++)
			;
		for (b = end; b > a && blank((unsigned char)text[b - 1]); b--)
			;
		if (a < b && text[a] != '#') {
			if (key_line(text + a, b - a, line, keys, lines, error,
			    arg) == -1)
				bad = 1;
			else
				lines[keys->n - 1] = line;
		}
		at = end + 1;
	}
	if (!bad && keys->n == 0) {
		error(arg, 0, "no key: the file holds no key line (make one "
		    "with 'sshgate tls-ticket-key')");
		bad = 1;
	}
	return bad ? -1 : 0;
}

int
ticketkeys_format(const unsigned char raw[TICKETKEY_LEN], char *out,
    size_t outlen)
{
	size_t i, o = 0;
	unsigned long acc;

	if (outlen < TICKETKEY_TEXT_LEN + 1)
		return -1;
	for (i = 0; i + 3 <= TICKETKEY_LEN; i += 3) {
		acc = (unsigned long)raw[i] << 16 |
		    (unsigned long)raw[i + 1] << 8 | raw[i + 2];
		out[o++] = b64[acc >> 18 & 0x3f];
		out[o++] = b64[acc >> 12 & 0x3f];
		out[o++] = b64[acc >> 6 & 0x3f];
		out[o++] = b64[acc & 0x3f];
	}
	/* 80 = 26 * 3 + 2 */
	acc = (unsigned long)raw[i] << 16 | (unsigned long)raw[i + 1] << 8;
	out[o++] = b64[acc >> 18 & 0x3f];
	out[o++] = b64[acc >> 12 & 0x3f];
	out[o++] = b64[acc >> 6 & 0x3f];
	out[o++] = '=';
	out[o] = '\0';
	return 0;
}

void
ticketkeys_clear(struct ticketkeys *keys)
{
	explicit_bzero(keys->v, sizeof(keys->v));
	keys->n = 0;
}
