/* test_window.c - maintenance window arithmetic: parsing, occurrences in
 * UTC and in a (DST-free) local zone, month ends, the union of several
 * windows, and the next time a runtime fits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util.h"
#include "proto/window.h"

#define H 3600
#define D 86400

static int64_t
utc(const char *s)
{
	int64_t t;
	char err[ERRMSG_MAX];

	assert_int_equal(time_parse(s, &t, err), 0);
	return t;
}

static struct window
mk(const char *start, int64_t duration, const char *recur)
{
	struct window w;
	char err[ERRMSG_MAX];

	memset(&w, 0, sizeof(w));
	assert_int_equal(window_parse_start(start, &w, err), 0);
	assert_int_equal(window_parse_recur(recur, &w, err), 0);
	w.duration = duration;
	return w;
}

static void
test_parse(void **state)
{
	struct window w;
	char err[ERRMSG_MAX], buf[64];
	const char *bad_start[] = {"", "2026-13-01T00:00", "2026-02-29T00:00",
	    "2026-01-01T24:00", "2026-01-01 00:00x", "2026-1-01T00:00",
	    "2026-01-01T00:00ZZ", " 2026-01-01T00:00", "+026-01-01T00:00"};
	const char *bad_recur[] = {"", "weekly", "weekly:funday", "monthly:0",
	    "monthly:32", "monthly:first-", "monthly:1x", "monthly:001",
	    "hourly", "daily "};
	size_t i;

	memset(&w, 0, sizeof(w));
	for (i = 0; i < sizeof(bad_start) / sizeof(bad_start[0]); i++)
		assert_int_equal(window_parse_start(bad_start[i], &w, err), -1);
	for (i = 0; i < sizeof(bad_recur) / sizeof(bad_recur[0]); i++)
		assert_int_equal(window_parse_recur(bad_recur[i], &w, err), -1);
	assert_int_equal(window_parse_start("2024-02-29T23:59Z", &w, err), 0);
	assert_true(w.utc);
	window_start_text(&w, buf, sizeof(buf));
	assert_string_equal(buf, "2024-02-29T23:59Z");
	assert_int_equal(window_parse_recur("weekly:saturday", &w, err), 0);
	window_recur_text(&w, buf, sizeof(buf));
	assert_string_equal(buf, "weekly:sat");
	assert_int_equal(window_parse_recur("monthly:first-tue", &w, err), 0);
	window_recur_text(&w, buf, sizeof(buf));
	assert_string_equal(buf, "monthly:first-tue");
	assert_int_equal(window_parse_recur("monthly:31", &w, err), 0);
	window_recur_text(&w, buf, sizeof(buf));
	assert_string_equal(buf, "monthly:31");
}

static void
test_json_roundtrip(void **state)
{
	struct window w = mk("2026-11-28T02:00", 2 * H, "weekly:sat"), back;
	char err[ERRMSG_MAX];
	json_t *o = window_json(&w);

	assert_int_equal(window_from_json(o, &back, err), 0);
	assert_int_equal(back.utc, 0);
	assert_int_equal(back.recur, RECUR_WEEKLY);
	assert_int_equal(back.arg, 6);
	assert_int_equal(back.duration, 2 * H);
	json_object_set_new(o, "duration", json_integer(30));
	assert_int_equal(window_from_json(o, &back, err), -1);
	json_object_set_new(o, "duration", json_integer(29 * D));
	assert_int_equal(window_from_json(o, &back, err), -1);
	json_decref(o);
}

static void
test_utc_daily_weekly(void **state)
{
	struct window d = mk("2026-11-01T22:00Z", 4 * H, "daily");
	struct window w = mk("2026-11-25T01:00Z", H, "weekly:sun");
	struct window once = mk("2026-11-25T01:00Z", H, "none");
	int64_t s, e;

	/* Inside the 25th's window, which runs over midnight. */
	assert_int_equal(window_next(&d, utc("2026-11-26T01:30:00Z"), &s, &e),
	    0);
	assert_int_equal(s, utc("2026-11-25T22:00Z"));
	assert_int_equal(e, utc("2026-11-26T02:00Z"));
	/* Before the first start: the first one. */
	assert_int_equal(window_next(&d, utc("2026-10-01T00:00Z"), &s, &e), 0);
	assert_int_equal(s, utc("2026-11-01T22:00Z"));
	/* Weekly starts on the first Sunday on or after the start date. */
	assert_int_equal(window_next(&w, utc("2026-11-25T00:00Z"), &s, &e), 0);
	assert_int_equal(s, utc("2026-11-29T01:00Z"));
	assert_int_equal(window_next(&w, utc("2026-11-29T02:00Z"), &s, &e), 0);
	assert_int_equal(s, utc("2026-12-06T01:00Z"));
	/* A one-off window in the past has no occurrence. */
	assert_int_equal(window_next(&once, utc("2026-11-25T02:00Z"), &s, &e),
	    -1);
	assert_int_equal(window_next(&once, utc("2026-11-25T01:59Z"), &s, &e),
	    0);
}

static void
test_month_ends(void **state)
{
	struct window m31 = mk("2026-01-31T03:00Z", H, "monthly:31");
	struct window first = mk("2026-11-02T03:00Z", H, "monthly:first-mon");
	int64_t s, e;

	/* The 31st of February is its last day, in common and leap years. */
	assert_int_equal(window_next(&m31, utc("2026-02-01T00:00Z"), &s, &e), 0);
	assert_int_equal(s, utc("2026-02-28T03:00Z"));
	assert_int_equal(window_next(&m31, utc("2028-02-01T00:00Z"), &s, &e), 0);
	assert_int_equal(s, utc("2028-02-29T03:00Z"));
	assert_int_equal(window_next(&m31, utc("2026-04-01T00:00Z"), &s, &e), 0);
	assert_int_equal(s, utc("2026-04-30T03:00Z"));
	/* Across a year end. */
	assert_int_equal(window_next(&m31, utc("2026-12-31T04:00Z"), &s, &e), 0);
	assert_int_equal(s, utc("2027-01-31T03:00Z"));
	/* First Monday: 2 Nov 2026, 7 Dec 2026, 4 Jan 2027. */
	assert_int_equal(window_next(&first, utc("2026-11-03T00:00Z"), &s, &e),
	    0);
	assert_int_equal(s, utc("2026-12-07T03:00Z"));
	assert_int_equal(window_next(&first, utc("2026-12-08T00:00Z"), &s, &e),
	    0);
	assert_int_equal(s, utc("2027-01-04T03:00Z"));
	/* A start after the month's first Monday skips to the next month. */
	first = mk("2026-11-10T03:00Z", H, "monthly:first-mon");
	assert_int_equal(window_next(&first, utc("2026-11-01T00:00Z"), &s, &e),
	    0);
	assert_int_equal(s, utc("2026-12-07T03:00Z"));
}

static void
test_local_time(void **state)
{
	/* A fixed zone without daylight saving, 5 hours west of UTC. */
	struct window d;
	int64_t s, e;

	setenv("TZ", "EST5", 1);
	tzset();
	d = mk("2026-11-25T02:00", 2 * H, "daily");
	assert_int_equal(window_next(&d, utc("2026-11-25T00:00Z"), &s, &e), 0);
	assert_int_equal(s, utc("2026-11-25T07:00Z"));
	/* Local times without Z parse in the same zone. */
	assert_int_equal(s, utc("2026-11-25T02:00"));
	assert_int_equal(window_next(&d, utc("2026-11-25T09:00Z"), &s, &e), 0);
	assert_int_equal(s, utc("2026-11-26T07:00Z"));
	setenv("TZ", "UTC0", 1);
	tzset();
	/* Same window, the device now in UTC: 02:00 there. */
	assert_int_equal(window_next(&d, utc("2026-11-25T00:00Z"), &s, &e), 0);
	assert_int_equal(s, utc("2026-11-25T02:00Z"));
}

static void
test_union_and_fit(void **state)
{
	struct window w[3];
	int64_t t0 = utc("2026-11-25T00:00Z");

	/* 01:00-02:00 daily, 02:00-03:30 on Saturdays (28 Nov): on Saturday
	 * the union holds 2.5 hours from 01:00. */
	w[0] = mk("2026-11-01T01:00Z", H, "daily");
	w[1] = mk("2026-11-01T02:00Z", 90 * 60, "weekly:sat");
	assert_int_equal(windows_room(w, 2, t0, 30 * D), 0);
	assert_int_equal(windows_room(w, 2, utc("2026-11-25T01:15Z"), 30 * D),
	    45 * 60);
	assert_int_equal(windows_room(w, 2, utc("2026-11-28T01:00Z"), 30 * D),
	    150 * 60);
	/* An hour fits today at 01:00; two hours first on Saturday. */
	assert_int_equal(windows_next_fit(w, 2, t0, H, WINDOW_HORIZON),
	    utc("2026-11-25T01:00Z"));
	assert_int_equal(windows_next_fit(w, 2, t0, 2 * H, WINDOW_HORIZON),
	    utc("2026-11-28T01:00Z"));
	/* Inside a window with too little left: the next one. */
	assert_int_equal(windows_next_fit(w, 2, utc("2026-11-25T01:30Z"), H,
			     WINDOW_HORIZON),
	    utc("2026-11-26T01:00Z"));
	/* Nothing holds three hours within 30 days. */
	assert_int_equal(windows_next_fit(w, 2, t0, 3 * H, WINDOW_HORIZON), -1);
	assert_int_equal(windows_largest(w, 2, t0, WINDOW_HORIZON, 30 * D),
	    150 * 60);
	/* A monthly window 40 days out is beyond the horizon. */
	w[2] = mk("2027-01-04T00:00Z", 5 * H, "monthly:4");
	assert_int_equal(windows_next_fit(w, 3, t0, 3 * H, WINDOW_HORIZON), -1);
	assert_int_equal(windows_next_fit(w, 3, t0, 3 * H, 45 * D),
	    utc("2027-01-04T00:00Z"));
	/* A window always open (24 h daily) is capped, not looped on. */
	w[0] = mk("2026-11-01T00:00Z", D, "daily");
	assert_int_equal(windows_room(w, 1, t0 + 5, 7 * D), 7 * D);
}

static void
test_time_parse(void **state)
{
	int64_t t;
	char err[ERRMSG_MAX];

	assert_int_equal(time_parse("@1700000000", &t, err), 0);
	assert_int_equal(t, 1700000000);
	assert_int_equal(time_parse("1970-01-01T00:00:00Z", &t, err), 0);
	assert_int_equal(t, 0);
	assert_int_equal(time_parse("@", &t, err), -1);
	assert_int_equal(time_parse("@-5", &t, err), -1);
	assert_int_equal(time_parse("@99999999999999999999", &t, err), -1);
	assert_int_equal(time_parse("2026-11-25T00:00:60Z", &t, err), -1);
	assert_int_equal(time_parse("tomorrow", &t, err), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_json_roundtrip),
		cmocka_unit_test(test_utc_daily_weekly),
		cmocka_unit_test(test_month_ends),
		cmocka_unit_test(test_local_time),
		cmocka_unit_test(test_union_and_fit),
		cmocka_unit_test(test_time_parse),
	};

	setenv("TZ", "UTC0", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
