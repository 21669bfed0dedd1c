/* window.h - maintenance windows: a start (a wall-clock time, UTC or the
 * device's local time), a duration and a recurrence; their occurrences, and
 * the time left in the union of a device's windows. The site and the agent
 * run the same arithmetic, so what "report windows" predicts is what the
 * agent does. */
#ifndef STEWARD_WINDOW_H
#define STEWARD_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define WINDOW_DURATION_MIN 60
#define WINDOW_DURATION_MAX (28 * 86400)
#define WINDOW_HORIZON (30 * 86400) /* what "report windows" looks ahead */

enum window_recur {
	RECUR_NONE,
	RECUR_DAILY,
	RECUR_WEEKLY,        /* arg: day of week, 0 Sunday */
	RECUR_MONTHLY_FIRST, /* arg: day of week of the month's first one */
	RECUR_MONTHLY_DAY,   /* arg: day of month; past a month's end, its
				last day */
};

struct window {
	int64_t id;
	int year, mon, mday, hour, min; /* the first start; mon is 1..12 */
	int utc;                        /* 0: the device's local time */
	int64_t duration;               /* seconds */
	enum window_recur recur;
	int arg;
};

/* "YYYY-MM-DDTHH:MM" (device local time) or with a trailing "Z" (UTC). */
int window_parse_start(const char *s, struct window *w, char *err);
/* none | daily | weekly:DAY | monthly:first-DAY | monthly:DAYNUM, where DAY
 * is sun..sat (or sunday..saturday) and DAYNUM 1..31. */
int window_parse_recur(const char *s, struct window *w, char *err);
void window_start_text(const struct window *w, char *buf, size_t size);
void window_recur_text(const struct window *w, char *buf, size_t size);

/* {"id", "start", "duration", "recur"} and back (validated). */
json_t *window_json(const struct window *w);
int window_from_json(const json_t *o, struct window *w, char *err);

/* The first occurrence that ends after t: 0 with *start and *end, or -1
 * when there is none (a one-off window in the past). */
int window_next(const struct window *w, int64_t t, int64_t *start,
    int64_t *end);
/* Seconds of uninterrupted window time from t in the union of the windows
 * (0 when t is outside all of them), counted up to at most cap. */
int64_t windows_room(const struct window *w, size_t n, int64_t t,
    int64_t cap);
/* The earliest time in [t, t + horizon] at which the union leaves at least
 * need seconds, or -1 when none does. */
int64_t windows_next_fit(const struct window *w, size_t n, int64_t t,
    int64_t need, int64_t horizon);
/* The largest uninterrupted stretch (capped at cap) that starts within
 * [t, t + horizon]. */
int64_t windows_largest(const struct window *w, size_t n, int64_t t,
    int64_t horizon, int64_t cap);

/* Times for deadlines: "YYYY-MM-DDTHH:MM[:SS]Z" (UTC), the same without Z
 * (this machine's local time), or "@UNIX". */
int time_parse(const char *s, int64_t *out, char *err);

#endif
