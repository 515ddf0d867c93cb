/* say: what the client side tells its user, "sshgate: ..." on stderr. */
#ifndef SSHGATE_SAY_H
#define SSHGATE_SAY_H

void client_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
