/* token.h - enrollment tokens: what the site gives a device so it can enroll
 * without trusting anything on first contact. */
#ifndef STEWARD_TOKEN_H
#define STEWARD_TOKEN_H

#include <stddef.h>

#include "pki.h"

#define TOKEN_PREFIX "stw1."
#define TOKEN_MAX 1024        /* longest token text accepted */
#define TOKEN_URL_MAX 256
#define TOKEN_ID_LEN 32       /* hex */
#define TOKEN_SECRET_LEN 32   /* bytes */

/* A parsed token. The secret is stored server-side only as its SHA-256. */
struct token {
	char url[TOKEN_URL_MAX];               /* https://host:port */
	char ca_fpr[PKI_FPR_HEX];              /* SHA-256 of the site CA cert */
	unsigned char sign_pub[PKI_ED25519_PUB]; /* site policy-signing key */
	char id[TOKEN_ID_LEN + 1];
	unsigned char secret[TOKEN_SECRET_LEN];
};

/* Encodes t into out (size >= TOKEN_MAX). */
int token_encode(const struct token *t, char *out, size_t size);
/* Parses and validates untrusted token text; err says what is wrong. */
int token_parse(const char *text, size_t len, struct token *t, char *err);
/* Lowercase hex SHA-256 of the secret (what the server stores). */
void token_secret_hash(const unsigned char *secret, size_t len,
    char out[PKI_FPR_HEX]);
/* Validates an https URL naming a host and port, as the site URL. */
int token_url_valid(const char *url);

#endif
