/* hist.h - a log-linear latency histogram: exact below 64, then 64 buckets
 * per power of two (under 1.6% relative error), any value up to 2^46. */
#ifndef STEWARD_HIST_H
#define STEWARD_HIST_H

#include <stdint.h>

#define HIST_SUB 64
#define HIST_BUCKETS (HIST_SUB + 41 * HIST_SUB)

struct hist {
	uint64_t n[HIST_BUCKETS];
	uint64_t count, max;
};

void hist_init(struct hist *h);
void hist_add(struct hist *h, uint64_t v);
void hist_merge(struct hist *into, const struct hist *from);
/* The value at percentile p (0 < p <= 100): the lowest value of the
 * bucket holding it; 0 when empty. */
uint64_t hist_pct(const struct hist *h, double p);

#endif
