/*
 * libFuzzer target: a CA directory's index.txt (caindex.c), a file that
 * may have been edited or tampered with. Whatever parses must format
 * into text that parses to the same entries and formats the same again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/caindex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct caindex ix, ix2;
	char err[256], *text, *text2;
	size_t i;

	if (caindex_parse(&ix, (const char *)data, size, err,
	    sizeof(err)) == -1) {
		if (ix.n != 0 || strchr(err, ':') == NULL)
			__builtin_trap();
		return 0;
	}
	if ((text = caindex_format(&ix)) == NULL)
		__builtin_trap();
	if (caindex_parse(&ix2, text, strlen(text), err, sizeof(err)) == -1 ||
	    ix2.n != ix.n)
		__builtin_trap();
	for (i = 0; i < ix.n; i++)
		if (strcmp(ix.v[i].name, ix2.v[i].name) != 0 ||
		    strcmp(ix.v[i].serial, ix2.v[i].serial) != 0 ||
		    ix.v[i].ngroups != ix2.v[i].ngroups ||
		    ix.v[i].not_after != ix2.v[i].not_after ||
		    ix.v[i].revoked_at != ix2.v[i].revoked_at)
			__builtin_trap();
	if ((text2 = caindex_format(&ix2)) == NULL || strcmp(text, text2) != 0)
		__builtin_trap();
	free(text);
	free(text2);
	caindex_free(&ix);
	caindex_free(&ix2);
	return 0;
}
