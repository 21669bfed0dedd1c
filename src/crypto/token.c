/* token.c - enrollment tokens: encode, parse and validate. */
#include "token.h"

#include <string.h>

#include <jansson.h>
#include <openssl/sha.h>

#include "../common/util.h"

int
token_url_valid(const char *url)
{
	const char *p;
	size_t n = strlen(url);
	int colon = 0;

	if (n >= TOKEN_URL_MAX || strncmp(url, "https://", 8) != 0 || n <= 8)
		return 0;
	for (p = url + 8; *p; p++) {
		if (*p == ':')
			colon++;
		else if (!((*p >= 'a' && *p <= 'z') ||
			       (*p >= 'A' && *p <= 'Z') ||
			       (*p >= '0' && *p <= '9') || *p == '.' ||
			       *p == '-' || *p == '[' || *p == ']'))
			return 0;
	}
	return colon >= 1;
}

int
token_encode(const struct token *t, char *out, size_t size)
{
	char pub[64], secret[64];
	json_t *o;
	char *json;
	size_t jlen;
	int r = -1;

	b64url_encode(t->sign_pub, sizeof(t->sign_pub), pub);
	b64url_encode(t->secret, sizeof(t->secret), secret);
	o = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s}", "v", 1, "u", t->url, "c",
	    t->ca_fpr, "k", pub, "i", t->id, "s", secret);
	if (o == NULL)
		return -1;
	json = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (json == NULL)
		return -1;
	jlen = strlen(json);
	if (strlen(TOKEN_PREFIX) + b64url_len(jlen) + 1 <= size &&
	    strlen(TOKEN_PREFIX) + b64url_len(jlen) < TOKEN_MAX) {
		memcpy(out, TOKEN_PREFIX, strlen(TOKEN_PREFIX));
		b64url_encode((unsigned char *)json, jlen,
		    out + strlen(TOKEN_PREFIX));
		r = 0;
	}
	OPENSSL_cleanse(json, jlen);
	free(json);
	OPENSSL_cleanse(secret, sizeof(secret));
	return r;
}

static const char *
get_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int
token_parse(const char *text, size_t len, struct token *t, char *err)
{
	unsigned char raw[TOKEN_MAX];
	const char *url, *fpr, *pub, *id, *secret;
	json_t *o, *v;
	json_error_t jerr;
	ssize_t n;
	size_t plen = strlen(TOKEN_PREFIX);
	int r = -1;

	memset(t, 0, sizeof(*t));
	if (len > TOKEN_MAX)
		return err_set(err, "token is longer than %d characters",
		    TOKEN_MAX);
	if (len < plen || memcmp(text, TOKEN_PREFIX, plen) != 0)
		return err_set(err,
		    "not a Steward enrollment token (it must start with %s)",
		    TOKEN_PREFIX);
	n = b64url_decode(text + plen, len - plen, raw, sizeof(raw));
	if (n <= 0)
		return err_set(err, "token is damaged (bad encoding)");
	o = json_loadb((const char *)raw, (size_t)n,
	    JSON_REJECT_DUPLICATES, &jerr);
	OPENSSL_cleanse(raw, sizeof(raw));
	if (!json_is_object(o)) {
		json_decref(o);
		return err_set(err, "token is damaged (bad content)");
	}
	v = json_object_get(o, "v");
	url = get_str(o, "u");
	fpr = get_str(o, "c");
	pub = get_str(o, "k");
	id = get_str(o, "i");
	secret = get_str(o, "s");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		err_set(err, "token version is not supported");
		goto out;
	}
	if (json_object_size(o) != 6 || !url || !fpr || !pub || !id ||
	    !secret) {
		err_set(err, "token is missing fields or has unknown ones");
		goto out;
	}
	if (!token_url_valid(url)) {
		err_set(err, "token names an invalid site URL");
		goto out;
	}
	{
		unsigned char tmp[32];

		if (hex_decode(fpr, tmp, sizeof(tmp)) < 0 ||
		    strspn(fpr, "0123456789abcdef") != 64) {
			err_set(err, "token has an invalid CA fingerprint");
			goto out;
		}
	}
	if (!pki_client_id_valid(id)) {
		err_set(err, "token has an invalid id");
		goto out;
	}
	if (strlen(pub) != b64url_len(PKI_ED25519_PUB) ||
	    b64url_decode(pub, strlen(pub), t->sign_pub,
		sizeof(t->sign_pub)) != PKI_ED25519_PUB) {
		err_set(err, "token has an invalid signing key");
		goto out;
	}
	if (strlen(secret) != b64url_len(TOKEN_SECRET_LEN) ||
	    b64url_decode(secret, strlen(secret), t->secret,
		sizeof(t->secret)) != TOKEN_SECRET_LEN) {
		err_set(err, "token has an invalid secret");
		goto out;
	}
	str_copy(t->url, sizeof(t->url), url);
	str_copy(t->ca_fpr, sizeof(t->ca_fpr), fpr);
	str_copy(t->id, sizeof(t->id), id);
	r = 0;
out:
	json_decref(o);
	if (r < 0)
		OPENSSL_cleanse(t, sizeof(*t));
	return r;
}

void
token_secret_hash(const unsigned char *secret, size_t len,
    char out[PKI_FPR_HEX])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(secret, len, md);
	hex_encode(md, sizeof(md), out);
}
