/* check: `sshgate check`, what `serve` would load, without serving. */
#ifndef SSHGATE_CHECK_H
#define SSHGATE_CHECK_H

#define CHECK_USAGE "sshgate check -c FILE [--strict]"

/* `sshgate check -c FILE [--strict]`; returns the exit status. */
int check_main(int argc, char **argv);

#endif
