/* settings.h - client settings: the known keys, their defaults and
 * validation, and deterministic resolution of a client's effective
 * settings from the custom settings of its collections. */
#ifndef STEWARD_SETTINGS_H
#define STEWARD_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The defaults, as a JSON object (new reference). */
json_t *settings_defaults(void);
/* Validates KEY=VALUE for a custom setting and returns the JSON value
 * (new reference), or NULL with err. */
json_t *settings_value(const char *key, const char *value, char *err);
/* Resolves: customs is [{collection, priority, id, key, value(text)}] of the
 * client's collections; the lowest priority, then the oldest id, wins per
 * key. Returns the effective settings and, per key, where it came from. */
json_t *settings_resolve(json_t *customs, json_t **sources);

#endif
