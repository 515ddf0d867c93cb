/* ctl: `sshgate ctl`, talking to a running gateway's control socket. */
#ifndef SSHGATE_CTL_H
#define SSHGATE_CTL_H

#define CTL_USAGE "sshgate ctl -s SOCKET sessions [--json] | kill ID | " \
	"kill-user NAME |\n" \
	"                  reload | stats"

/* `sshgate ctl -s SOCKET COMMAND...`; returns the exit status. */
int ctl_main(int argc, char **argv);

#endif
