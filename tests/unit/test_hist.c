/* test_hist.c - the load generator's latency histogram: exact small
 * values, bounded relative error, percentiles, merging. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hist.h"

static struct hist h, g;

static void
test_small_exact(void **state)
{
	uint64_t v;

	hist_init(&h);
	for (v = 1; v <= 50; v++)
		hist_add(&h, v);
	assert_int_equal(hist_pct(&h, 50), 25);
	assert_int_equal(hist_pct(&h, 100), 50);
	assert_int_equal(hist_pct(&h, 2), 1);
	hist_init(&g);
	assert_int_equal(hist_pct(&g, 99), 0);
}

static void
test_relative_error(void **state)
{
	uint64_t v;

	for (v = 1; v < (1ULL << 40); v = v * 3 + 7) {
		hist_init(&h);
		hist_add(&h, v);
		/* The bucket's lowest value, within 1/64 below v. */
		assert_true(hist_pct(&h, 50) <= v);
		assert_true(hist_pct(&h, 50) >= v - v / 64);
	}
	hist_init(&h);
	hist_add(&h, UINT64_MAX);
	assert_true(hist_pct(&h, 100) > 0);
}

static void
test_percentiles_merge(void **state)
{
	uint64_t i;

	hist_init(&h);
	hist_init(&g);
	/* 990 fast (100 us) and 10 slow (10 ms) requests, in two halves. */
	for (i = 0; i < 990; i++)
		hist_add(i % 2 ? &h : &g, 100);
	for (i = 0; i < 10; i++)
		hist_add(i % 2 ? &h : &g, 10000);
	hist_merge(&h, &g);
	assert_int_equal(h.count, 1000);
	assert_int_equal(hist_pct(&h, 50), 100);
	assert_int_equal(hist_pct(&h, 99), 100);
	assert_true(hist_pct(&h, 99.9) >= 9800 && hist_pct(&h, 99.9) <= 10000);
	assert_int_equal(h.max, 10000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_exact),
		cmocka_unit_test(test_relative_error),
		cmocka_unit_test(test_percentiles_merge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
