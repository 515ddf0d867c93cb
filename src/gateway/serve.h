/* serve: `sshgate serve`, the gateway's lifecycle on the main thread. */
#ifndef SSHGATE_SERVE_H
#define SSHGATE_SERVE_H

#define SERVE_USAGE "sshgate serve -c FILE [-d|--debug]"

/* `sshgate serve -c FILE [-d]`; returns the exit status. */
int serve_main(int argc, char **argv);

#endif
