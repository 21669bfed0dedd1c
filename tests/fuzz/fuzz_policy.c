/* fuzz_policy.c - libFuzzer harness for the agent's policy verification:
 * framing, signature, then (for inputs signed by the fuzzer's own key) the
 * document checks. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"
#include "proto/policy.h"

static EVP_PKEY *key;
static unsigned char pub[PKI_ED25519_PUB];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char sig[PKI_ED25519_SIG];
	char err[ERRMSG_MAX], *framed;
	json_t *doc;

	if (key == NULL) {
		key = pki_key_new_ed25519();
		pki_ed25519_raw_pub(key, pub);
	}
	/* As received: mostly refused at the signature. */
	if (policy_verify(pub, (const char *)data, size,
		"0123456789abcdef0123456789abcdef", 5, 1800000000, &doc,
		err) == 0)
		json_decref(doc);
	/* Signed: reaches the document checks with arbitrary bytes. */
	if (size > 0 && size < 65536) {
		framed = malloc(size + 100);
		pki_ed25519_sign(key, data, size, sig);
		b64url_encode(sig, sizeof(sig), framed);
		framed[86] = '\n';
		memcpy(framed + 87, data, size);
		if (policy_verify(pub, framed, size + 87,
			"0123456789abcdef0123456789abcdef", 5, 1800000000,
			&doc, err) == 0)
			json_decref(doc);
		free(framed);
	}
	return 0;
}
