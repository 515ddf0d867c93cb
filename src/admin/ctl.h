/* ctl: `sshgate ctl`, talking to a running gateway's control socket. */
#ifndef SSHGATE_CTL_H
#define SSHGATE_CTL_H

#define CTL_USAGE "sshgate ctl [-s SOCKET] sessions [--json] | kill ID | " \
	"kill-user NAME |\n" \
	"                  reload | stats"

/*
 * `sshgate ctl [-s SOCKET] COMMAND...` (SOCKET: $SSHGATE_CONTROL, else
 * /run/sshgate/control); returns the exit status.
 */
int ctl_main(int argc, char **argv);

#endif
