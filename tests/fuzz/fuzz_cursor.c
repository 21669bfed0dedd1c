/* fuzz_cursor.c - libFuzzer harness for the cursor of a paged admin list
 * (wire_cursor_parse): whatever comes, a cursor read is one the site could
 * have given, and nothing is read or written past the bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/pki.h"
#include "proto/wire.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), key[PKI_SERIAL_HEX], sort[256];

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (wire_cursor_parse(s, sort, sizeof(sort), key, sizeof(key)) == 0 &&
	    (sort[0] == '\0' || key[0] == '\0' || strlen(key) >= sizeof(key) ||
		strchr(sort, ':') != NULL ||
		strspn(key, "0123456789abcdef") != strlen(key)))
		abort();
	free(s);
	return 0;
}
