/* config.h - parser for "key = value" configuration files. */
#ifndef STEWARD_CONFIG_H
#define STEWARD_CONFIG_H

#include <stddef.h>

#define CONFIG_MAX_BYTES (64 * 1024)
#define CONFIG_MAX_LINE 1024

/* Called once per setting; returns 0, or -1 after filling err. */
typedef int (*config_cb)(void *arg, int line, const char *key,
    const char *value, char *err);

/* Parses text (len bytes, need not be NUL-terminated). Lines are
 * "key = value", '#' starts a comment line, blank lines are skipped. Keys are
 * [a-z0-9_.]+; values are trimmed and may not hold control characters. On
 * error, err holds "line N: what" and -1 is returned. */
int config_parse(const char *text, size_t len, config_cb cb, void *arg,
    char *err);

#endif
