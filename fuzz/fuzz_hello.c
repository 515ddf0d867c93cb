/*
 * libFuzzer target: the bytes a stranger sends first, as a ClientHello
 * (hello.c): records split anywhere (and what an incomplete one says it
 * needs next), the server_name and ALPN extensions on their own.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/hello.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char alpn[HELLO_ALPN_MAX][HELLO_PROTO_MAX + 1];
	char sni[HELLO_SNI_MAX + 1];
	struct hello h;
	const char *why = NULL;
	size_t cut;

	switch (hello_parse(data, size, &h, &why)) {
	case HELLO_OK:
		if (h.len > size || strlen(h.sni) > HELLO_SNI_MAX)
			__builtin_trap();
		break;
	case HELLO_NEED_MORE:
		/* what it waits for is more than it has, and never unbounded */
		if (h.len <= size || h.len > HELLO_RAW_MAX)
			__builtin_trap();
		break;
	case HELLO_BAD:
		break;
	}
	/* the same bytes cut short must never read past the cut */
	cut = size > 0 ? data[0] % (size + 1) : 0;
	(void)hello_parse(data, cut, &h, &why);
	(void)hello_sni_ext(data, size, sni, &why);
	(void)hello_alpn_ext(data, size, alpn, &why);
	return 0;
}
