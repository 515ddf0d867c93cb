/*
 * libFuzzer target: client identity from a DER certificate (ident.c):
 * every field a stranger controls before the certificate is trusted.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <openssl/x509.h>

#include "core/ident.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	struct ident id;
	X509 *x;
	size_t i;

	if ((x = d2i_X509(NULL, &p, (long)size)) == NULL)
		return 0;
	switch (ident_get(x, &id)) {
	case IDENT_OK:
	case IDENT_TOO_LARGE:
		/* what the policy and the log will read must be whole */
		if (id.user != NULL && strlen(id.user) > IDENT_VALUE_MAX)
			__builtin_trap();
		for (i = 0; i < id.ngroups; i++)
			if (id.groups[i][0] == '\0')
				__builtin_trap();
		if (id.groups_text == NULL || strlen(id.serial) >
		    IDENT_SERIAL_MAX)
			__builtin_trap();
		break;
	case IDENT_NO_MEMORY:
		break;
	}
	ident_free(&id);
	X509_free(x);
	return 0;
}
