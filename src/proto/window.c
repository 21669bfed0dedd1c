/* window.c - maintenance window arithmetic. Occurrences are computed on the
 * calendar (a daily window at 02:00 local time stays at 02:00 across a
 * daylight-saving change) and converted to instants with timegm() for UTC
 * windows or mktime() for local ones. */
#include "window.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"

static const char *const day_short[] = {"sun", "mon", "tue", "wed", "thu",
    "fri", "sat"};
static const char *const day_long[] = {"sunday", "monday", "tuesday",
    "wednesday", "thursday", "friday", "saturday"};

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int mon)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return mon == 2 && leap(y) ? 29 : d[mon - 1];
}

/* Exactly n decimal digits at s. */
static int
digits(const char *s, int n, int *out)
{
	int i, v = 0;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "YYYY-MM-DDTHH:MM", then optionally ":SS"; returns the characters used or
 * -1. */
static int
parse_civil(const char *s, struct tm *tm, int allow_secs)
{
	int y, mo, d, h, mi, sec = 0, used = 16;

	if (strlen(s) < 16 || digits(s, 4, &y) < 0 || s[4] != '-' ||
	    digits(s + 5, 2, &mo) < 0 || s[7] != '-' ||
	    digits(s + 8, 2, &d) < 0 || (s[10] != 'T' && s[10] != ' ') ||
	    digits(s + 11, 2, &h) < 0 || s[13] != ':' ||
	    digits(s + 14, 2, &mi) < 0)
		return -1;
	if (allow_secs && s[16] == ':') {
		if (digits(s + 17, 2, &sec) < 0 || sec > 59)
			return -1;
		used = 19;
	}
	if (y < 1970 || y > 2199 || mo < 1 || mo > 12 || d < 1 ||
	    d > days_in_month(y, mo) || h > 23 || mi > 59)
		return -1;
	memset(tm, 0, sizeof(*tm));
	tm->tm_year = y - 1900;
	tm->tm_mon = mo - 1;
	tm->tm_mday = d;
	tm->tm_hour = h;
	tm->tm_min = mi;
	tm->tm_sec = sec;
	tm->tm_isdst = -1;
	return used;
}

int
window_parse_start(const char *s, struct window *w, char *err)
{
	struct tm tm;
	int n = parse_civil(s, &tm, 0);

	if (n < 0 || (s[n] != '\0' && strcmp(s + n, "Z") != 0))
		return err_set(err, "start '%.40s' is not YYYY-MM-DDTHH:MM "
				    "(device local time) or YYYY-MM-DDTHH:MMZ "
				    "(UTC)",
		    s);
	w->year = tm.tm_year + 1900;
	w->mon = tm.tm_mon + 1;
	w->mday = tm.tm_mday;
	w->hour = tm.tm_hour;
	w->min = tm.tm_min;
	w->utc = s[n] == 'Z';
	return 0;
}

static int
day_of_week(const char *s)
{
	int i;

	for (i = 0; i < 7; i++)
		if (strcmp(s, day_short[i]) == 0 || strcmp(s, day_long[i]) == 0)
			return i;
	return -1;
}

int
window_parse_recur(const char *s, struct window *w, char *err)
{
	const char *a;
	char *end;
	long v;

	w->arg = 0;
	if (strcmp(s, "none") == 0) {
		w->recur = RECUR_NONE;
		return 0;
	}
	if (strcmp(s, "daily") == 0) {
		w->recur = RECUR_DAILY;
		return 0;
	}
	if (strncmp(s, "weekly:", 7) == 0 && (w->arg = day_of_week(s + 7)) >=
	    0) {
		w->recur = RECUR_WEEKLY;
		return 0;
	}
	if (strncmp(s, "monthly:", 8) == 0) {
		a = s + 8;
		if (strncmp(a, "first-", 6) == 0 &&
		    (w->arg = day_of_week(a + 6)) >= 0) {
			w->recur = RECUR_MONTHLY_FIRST;
			return 0;
		}
		v = isdigit((unsigned char)*a) ? strtol(a, &end, 10) : 0;
		if (v >= 1 && v <= 31 && *end == '\0' && end - a <= 2) {
			w->recur = RECUR_MONTHLY_DAY;
			w->arg = (int)v;
			return 0;
		}
	}
	return err_set(err, "recurrence '%.40s' is not none, daily, "
			    "weekly:DAY, monthly:first-DAY or monthly:DAYNUM "
			    "(DAY sun..sat, DAYNUM 1..31)",
	    s);
}

void
window_start_text(const struct window *w, char *buf, size_t size)
{
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d%s", w->year, w->mon,
	    w->mday, w->hour, w->min, w->utc ? "Z" : "");
}

void
window_recur_text(const struct window *w, char *buf, size_t size)
{
	switch (w->recur) {
	case RECUR_DAILY:
		snprintf(buf, size, "daily");
		break;
	case RECUR_WEEKLY:
		snprintf(buf, size, "weekly:%s", day_short[w->arg]);
		break;
	case RECUR_MONTHLY_FIRST:
		snprintf(buf, size, "monthly:first-%s", day_short[w->arg]);
		break;
	case RECUR_MONTHLY_DAY:
		snprintf(buf, size, "monthly:%d", w->arg);
		break;
	default:
		snprintf(buf, size, "none");
	}
}

json_t *
window_json(const struct window *w)
{
	char start[32], recur[32];

	window_start_text(w, start, sizeof(start));
	window_recur_text(w, recur, sizeof(recur));
	return json_pack("{s:I,s:s,s:I,s:s}", "id", (json_int_t)w->id, "start",
	    start, "duration", (json_int_t)w->duration, "recur", recur);
}

int
window_from_json(const json_t *o, struct window *w, char *err)
{
	const char *start = json_string_value(json_object_get(o, "start"));
	const char *recur = json_string_value(json_object_get(o, "recur"));
	json_t *d = json_object_get(o, "duration");

	memset(w, 0, sizeof(*w));
	if (start == NULL || recur == NULL || !json_is_integer(d))
		return err_set(err, "a window needs start, duration and recur");
	w->id = json_integer_value(json_object_get(o, "id"));
	w->duration = json_integer_value(d);
	if (w->duration < WINDOW_DURATION_MIN ||
	    w->duration > WINDOW_DURATION_MAX)
		return err_set(err, "window duration must be 1 minute to 28 "
				    "days");
	if (window_parse_start(start, w, err) < 0 ||
	    window_parse_recur(recur, w, err) < 0)
		return -1;
	return 0;
}

/* The instant of a calendar date (mday may run past the month's end: it is
 * normalised) at the window's time of day, in its zone. */
static int64_t
at(const struct window *w, int y, int mon, int mday)
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = mday;
	tm.tm_hour = w->hour;
	tm.tm_min = w->min;
	if (w->utc)
		return (int64_t)timegm(&tm);
	tm.tm_isdst = -1;
	return (int64_t)mktime(&tm);
}

static int
weekday(int y, int mon, int mday)
{
	struct tm tm;
	time_t t;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = mday;
	tm.tm_hour = 12;
	t = timegm(&tm);
	gmtime_r(&t, &tm);
	return tm.tm_wday;
}

/* Occurrence idx (daily: idx days after the first; weekly: idx weeks;
 * monthly: idx months after the start's month). -1 when it does not exist
 * (before the start, or idx > 0 of a one-off window). */
static int
occurrence(const struct window *w, int64_t idx, int64_t *start)
{
	int64_t first = at(w, w->year, w->mon, w->mday), m;
	int y, mon, d;

	if (idx < 0 || idx > 200000)
		return -1;
	switch (w->recur) {
	case RECUR_NONE:
		if (idx != 0)
			return -1;
		*start = first;
		return 0;
	case RECUR_DAILY:
		*start = at(w, w->year, w->mon, w->mday + (int)idx);
		return 0;
	case RECUR_WEEKLY:
		d = w->mday + (w->arg - weekday(w->year, w->mon, w->mday) + 7) % 7;
		*start = at(w, w->year, w->mon, d + 7 * (int)idx);
		return 0;
	case RECUR_MONTHLY_FIRST:
	case RECUR_MONTHLY_DAY:
		m = (int64_t)w->year * 12 + (w->mon - 1) + idx;
		y = (int)(m / 12);
		mon = (int)(m % 12) + 1;
		if (w->recur == RECUR_MONTHLY_FIRST)
			d = 1 + (w->arg - weekday(y, mon, 1) + 7) % 7;
		else
			d = w->arg < days_in_month(y, mon)
			    ? w->arg
			    : days_in_month(y, mon);
		*start = at(w, y, mon, d);
		return *start < first ? -1 : 0;
	}
	return -1;
}

int
window_next(const struct window *w, int64_t t, int64_t *start, int64_t *end)
{
	int64_t first = at(w, w->year, w->mon, w->mday), idx0 = 0, idx, s;
	int64_t period, span;

	switch (w->recur) {
	case RECUR_NONE:
		period = 0;
		break;
	case RECUR_DAILY:
		period = 86400;
		break;
	case RECUR_WEEKLY:
		period = 7 * 86400;
		break;
	default:
		period = 28 * 86400;
	}
	/* An estimate at or before the answer: long windows overlap the
	 * occurrences that follow them, and a month is 28 to 31 days. */
	span = period ? 3 + w->duration / period : 1;
	if (period && t > first) {
		if (w->recur == RECUR_MONTHLY_FIRST ||
		    w->recur == RECUR_MONTHLY_DAY)
			idx0 = (t - first) / (31 * 86400) - span;
		else
			idx0 = (t - first) / period - span;
		if (idx0 < 0)
			idx0 = 0;
	}
	for (idx = idx0; idx < idx0 + 2 * span + 3; idx++) {
		if (occurrence(w, idx, &s) < 0) {
			if (w->recur == RECUR_NONE)
				return -1;
			continue;
		}
		if (s + w->duration > t) {
			*start = s;
			*end = s + w->duration;
			return 0;
		}
	}
	return -1;
}

int64_t
windows_room(const struct window *w, size_t n, int64_t t, int64_t cap)
{
	int64_t end = t, s, e;
	size_t i;
	int changed, rounds = 0;

	do {
		changed = 0;
		for (i = 0; i < n; i++) {
			if (window_next(&w[i], end, &s, &e) == 0 && s <= end &&
			    e > end) {
				end = e;
				changed = 1;
			}
		}
	} while (changed && end - t < cap && ++rounds < 10000);
	return end - t < cap ? end - t : cap;
}

/* Calls fn for t and for every occurrence start in [t, t + horizon], each
 * window's in order, until fn returns non-zero. */
static void
each_start(const struct window *w, size_t n, int64_t t, int64_t horizon,
    int (*fn)(int64_t, void *), void *arg)
{
	size_t i;
	int guard;

	if (fn(t, arg))
		return;
	for (i = 0; i < n; i++) {
		int64_t x = t, s, e;

		for (guard = 0; guard < 5000; guard++) {
			if (window_next(&w[i], x, &s, &e) < 0 || s > t + horizon)
				break;
			if (s >= t && fn(s, arg))
				break;
			x = e;
		}
	}
}

struct fit {
	const struct window *w;
	size_t n;
	int64_t need, best, cap;
};

static int
fit_at(int64_t s, void *arg)
{
	struct fit *f = arg;
	int64_t room;

	if (f->best >= 0 && s >= f->best)
		return 1; /* later starts of this window cannot be earlier */
	room = windows_room(f->w, f->n, s, f->need);
	if (room >= f->need) {
		f->best = s;
		return 1;
	}
	return 0;
}

int64_t
windows_next_fit(const struct window *w, size_t n, int64_t t, int64_t need,
    int64_t horizon)
{
	struct fit f = {w, n, need, -1, 0};

	each_start(w, n, t, horizon, fit_at, &f);
	return f.best;
}

static int
largest_at(int64_t s, void *arg)
{
	struct fit *f = arg;
	int64_t room = windows_room(f->w, f->n, s, f->cap);

	if (room > f->best)
		f->best = room;
	return 0;
}

int64_t
windows_largest(const struct window *w, size_t n, int64_t t, int64_t horizon,
    int64_t cap)
{
	struct fit f = {w, n, 0, 0, cap};

	each_start(w, n, t, horizon, largest_at, &f);
	return f.best;
}

int
time_parse(const char *s, int64_t *out, char *err)
{
	struct tm tm;
	char *end;
	int n;

	if (s[0] == '@') {
		long long v = strtoll(s + 1, &end, 10);

		if (!isdigit((unsigned char)s[1]) || *end != '\0' || v < 0 ||
		    v > 7258118400LL)
			return err_set(err, "time '%.40s' is not @SECONDS", s);
		*out = v;
		return 0;
	}
	n = parse_civil(s, &tm, 1);
	if (n < 0 || (s[n] != '\0' && strcmp(s + n, "Z") != 0))
		return err_set(err, "time '%.40s' is not YYYY-MM-DDTHH:MM[:SS] "
				    "with an optional Z for UTC, or @SECONDS",
		    s);
	*out = s[n] == 'Z' ? (int64_t)timegm(&tm) : (int64_t)mktime(&tm);
	return 0;
}
