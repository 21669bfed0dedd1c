/* policy.h - the signed policy document: its framing on the wire and the
 * checks a device makes before it believes one. The body of GET /v1/policy
 * is the Ed25519 signature (base64url, 86 characters), a newline, then the
 * exact document bytes (canonical JSON) the signature covers. */
#ifndef STEWARD_POLICY_H
#define STEWARD_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "crypto/pki.h"

#define POLICY_MAX (1024 * 1024)
#define POLICY_TYPE "steward-policy"

/* Verifies the signature over the document bytes with the site signing key
 * (before parsing anything), then checks the document is a policy for
 * client_id, with a serial not below held_serial, and not expired at now.
 * On success *doc is the parsed document (json_decref it). */
int policy_verify(const unsigned char pub[PKI_ED25519_PUB], const char *body,
    size_t len, const char *client_id, int64_t held_serial, int64_t now,
    json_t **doc, char *err);

#endif
