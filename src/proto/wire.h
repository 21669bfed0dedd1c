/* wire.h - what every wire parser shares: loading an untrusted body as one
 * JSON object, with a size limit and a message that says what is wrong. */
#ifndef STEWARD_WIRE_H
#define STEWARD_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The most seconds a notification's "spread" may ask its devices to
 * spread their action over: the site gives no more, the agent takes no
 * more. */
#define NOTIFY_SPREAD_MAX 3600

/* Parses len bytes (refusing more than max and duplicate keys) that must
 * be a JSON object; NULL with err filled otherwise. */
json_t *wire_load_object(const char *body, size_t len, size_t max,
    char *err);

/* The cursor of a paged admin list ("next" of one page, "after" of the
 * next): "SORT:KEY", SORT the last row's ordering value (a time in
 * decimal, or a host name: 1 to ssize - 1 of [A-Za-z0-9._-]), KEY its
 * lowercase hex id or serial (1 to ksize - 1 digits). 0, or -1 when s is
 * anything else. */
int wire_cursor_parse(const char *s, char *sort, size_t ssize, char *key,
    size_t ksize);

#endif
