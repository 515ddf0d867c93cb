/*
 * libFuzzer target for the tls-ticket-keys file parser: any bytes give
 * keys or errors (at least one on failure, each at a line of the input),
 * never a read outside them; every key accepted formats back to a line
 * of the input, and no two keys share a name.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/ticketkeys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	int errors, lines;
};

static void
on_error(void *arg, int line, const char *msg)
{
	struct seen *s = arg;

	if (line < 0 || line > s->lines || msg == NULL || msg[0] == '\0')
		abort();
	s->errors++;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy: ASan sees any read past the bytes given */
	char *buf = malloc(size > 0 ? size : 1);
	char line[TICKETKEY_TEXT_LEN + 1];
	unsigned char raw[TICKETKEY_LEN];
	static struct ticketkeys keys;
	struct seen s = { 0, 1 };
	size_t i, j;
	int rc;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	for (i = 0; i < size; i++)
		s.lines += buf[i] == '\n';
	rc = ticketkeys_parse(buf, size, &keys, on_error, &s);
	if ((rc == -1) != (s.errors > 0) || keys.n > TICKETKEYS_MAX)
		abort();
	for (i = 0; rc == 0 && i < keys.n; i++) {
		memcpy(raw, keys.v[i].name, TICKETKEY_NAME_LEN);
		memcpy(raw + TICKETKEY_NAME_LEN, keys.v[i].aes,
		    TICKETKEY_AES_LEN);
		memcpy(raw + TICKETKEY_NAME_LEN + TICKETKEY_AES_LEN,
		    keys.v[i].hmac, TICKETKEY_HMAC_LEN);
		if (ticketkeys_format(raw, line, sizeof(line)) == -1 ||
		    memmem(buf, size, line, TICKETKEY_TEXT_LEN) == NULL)
			abort();
		for (j = 0; j < i; j++)
			if (memcmp(keys.v[j].name, keys.v[i].name,
			    TICKETKEY_NAME_LEN) == 0)
				abort();
	}
	ticketkeys_clear(&keys);
	free(buf);
	return 0;
}
