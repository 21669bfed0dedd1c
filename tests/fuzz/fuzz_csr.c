/* fuzz_csr.c - libFuzzer harness for the CSR parser. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "crypto/pki.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[ERRMSG_MAX];
	char *text = malloc(size + 1);
	EVP_PKEY *k;

	memcpy(text, data, size);
	text[size] = '\0';
	k = pki_csr_parse(text, size, err);
	EVP_PKEY_free(k);
	free(text);
	return 0;
}
