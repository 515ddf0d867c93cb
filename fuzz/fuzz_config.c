/*
 * libFuzzer target: any bytes as a config file must give a conf or a
 * list of errors, never a crash, a leak or a hang.
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_errors errs = { NULL, 0 };
	char path[64];
	struct conf *c;
	int fd = memfd_create("fuzz.conf", 0);

	if (fd == -1)
		return 0;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		c = conf_parse(path, &errs);
		conf_free(c);
		conf_errors_free(&errs);
	}
	close(fd);
	return 0;
}
