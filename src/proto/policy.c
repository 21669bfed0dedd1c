/* policy.c - verification of a signed policy document on the device:
 * signature first, then addressee, serial and expiry. */
#include "policy.h"

#include <string.h>

#include "common/util.h"

#define SIG_B64 86 /* base64url of 64 bytes, unpadded */

int
policy_verify(const unsigned char pub[PKI_ED25519_PUB], const char *body,
    size_t len, const char *client_id, int64_t held_serial, int64_t now,
    json_t **doc, char *err)
{
	unsigned char sig[PKI_ED25519_SIG];
	const char *bytes;
	size_t blen;
	json_error_t jerr;
	json_t *o, *v;
	const char *s;

	*doc = NULL;
	if (len > POLICY_MAX)
		return err_set(err, "policy larger than %d bytes", POLICY_MAX);
	if (len < SIG_B64 + 2 || body[SIG_B64] != '\n')
		return err_set(err, "policy is not framed as signature, "
				    "newline, document");
	if (b64url_decode(body, SIG_B64, sig, sizeof(sig)) != PKI_ED25519_SIG)
		return err_set(err, "policy signature is not base64url");
	bytes = body + SIG_B64 + 1;
	blen = len - SIG_B64 - 1;
	/* Nothing of the document is looked at before this passes. */
	if (pki_ed25519_verify(pub, bytes, blen, sig) < 0)
		return err_set(err, "policy signature does not verify with the "
				    "site signing key: refused");
	o = json_loadb(bytes, blen, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(o)) {
		json_decref(o);
		return err_set(err, "signed policy is not a JSON object");
	}
	s = json_string_value(json_object_get(o, "type"));
	if (s == NULL || strcmp(s, POLICY_TYPE) != 0) {
		json_decref(o);
		return err_set(err, "signed document is not a policy");
	}
	s = json_string_value(json_object_get(o, "client_id"));
	if (s == NULL || strcmp(s, client_id) != 0) {
		err_set(err, "policy is for client %.64s, not this one (%s): "
			     "refused",
		    s ? s : "?", client_id);
		json_decref(o);
		return -1;
	}
	v = json_object_get(o, "serial");
	if (!json_is_integer(v) || json_integer_value(v) < held_serial) {
		err_set(err, "policy serial %lld is older than the %lld held: "
			     "rollback refused",
		    (long long)json_integer_value(v), (long long)held_serial);
		json_decref(o);
		return -1;
	}
	v = json_object_get(o, "expires_at");
	if (!json_is_integer(v) || json_integer_value(v) <= now) {
		json_decref(o);
		return err_set(err, "policy expired: refused");
	}
	*doc = o;
	return 0;
}
