/* fuzz_signer.c - libFuzzer harness for the signer's request handler: the
 * first byte picks the message type, the rest is the payload. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/log.h"
#include "server/signer.h"

static struct signer_keys k;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *out;
	size_t outlen;

	if (k.ca == NULL) {
		log_init("fuzz", LVL_ERR);
		k.ca_key = pki_key_new_ec();
		k.ca = pki_ca_create(k.ca_key, "fuzz CA", 30, NULL);
		k.sign_key = pki_key_new_ed25519();
		k.client_days = 30;
	}
	if (size < 1)
		return 0;
	signer_handle(&k, data[0] % 6, data + 1, size - 1, &out, &outlen);
	free(out);
	return 0;
}
