/* fuzz_token.c - libFuzzer harness for the enrollment token parser. */
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "crypto/token.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct token t;
	char err[ERRMSG_MAX];

	token_parse((const char *)data, size, &t, err);
	return 0;
}
