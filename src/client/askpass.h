/*
 * askpass: a passphrase read on the terminal without echo, for an
 * encrypted CA key (sshgate ca) and client key (sshgate connect).
 */
#ifndef SSHGATE_ASKPASS_H
#define SSHGATE_ASKPASS_H

#include <stddef.h>

/*
 * Says prompt on tty (an fd open on /dev/tty) and reads a line without
 * echo into buf (len bytes, NUL-terminated). Echo is off before the
 * prompt shows, and what was typed ahead is kept (TCSANOW, not
 * TCSAFLUSH): an answer sent as soon as the prompt appears is read, not
 * thrown away. A signal (^C, kill, a hang-up) restores echo before it
 * takes effect; after a stop (^Z) the prompt is said again. Returns the
 * length, or -1. The caller wipes buf.
 */
int askpass(int tty, const char *prompt, char *buf, size_t len);

#endif
