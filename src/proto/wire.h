/* wire.h - what every wire parser shares: loading an untrusted body as one
 * JSON object, with a size limit and a message that says what is wrong. */
#ifndef STEWARD_WIRE_H
#define STEWARD_WIRE_H

#include <stddef.h>

#include <jansson.h>

/* Parses len bytes (refusing more than max and duplicate keys) that must
 * be a JSON object; NULL with err filled otherwise. */
json_t *wire_load_object(const char *body, size_t len, size_t max,
    char *err);

#endif
