#include "core/banner.h"

#include <string.h>

/*
 * RFC 4253 4.2: the client sends its identification string first.
 * "SSH-1.99-" is a server-side compatibility form, still accepted since
 * some clients echo it.
 */
static const char *const accepted[] = { "SSH-2.0-", "SSH-1.99-" };

enum banner_verdict
banner_check(const void *buf, size_t len)
{
	size_t i;
	int maybe = 0;

	for (i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		size_t n = strlen(accepted[i]);

		if (len >= n) {
			if (memcmp(buf, accepted[i], n) == 0)
				return BANNER_OK;
		} else if (memcmp(buf, accepted[i], len) == 0)
			maybe = 1;
	}
	return maybe ? BANNER_NEED_MORE : BANNER_BAD;
}
