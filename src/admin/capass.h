/*
 * capass: the passphrase of an encrypted CA key. From the file named by
 * $SSHGATE_CA_PASSPHRASE_FILE (its first line: for timers and scripts),
 * else asked on the terminal (/dev/tty, not echoed), never from the
 * command line (other users could read it in ps).
 */
#ifndef SSHGATE_CAPASS_H
#define SSHGATE_CAPASS_H

#include <stddef.h>

#define CAPASS_MAX 1024
#define CAPASS_ENV "SSHGATE_CA_PASSPHRASE_FILE"

/*
 * Gets a passphrase into buf (len bytes, NUL-terminated). prompt is
 * said on the terminal; confirm asks twice (a new passphrase). Returns
 * its length, or -1 with err set. The caller wipes buf.
 */
int capass_get(const char *prompt, int confirm, char *buf, size_t len,
    char *err, size_t errlen);

#endif
