/* notify: the systemd sd_notify protocol (READY, RELOADING, STOPPING). */
#ifndef SSHGATE_NOTIFY_H
#define SSHGATE_NOTIFY_H

/*
 * Sends state (e.g. "READY=1") to $NOTIFY_SOCKET if systemd set it;
 * does nothing otherwise. Failures are ignored: it is advisory.
 */
void notify(const char *state);

#endif
