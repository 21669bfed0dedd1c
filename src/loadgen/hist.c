/* hist.c - log-linear histogram (see hist.h). */
#include "hist.h"

#include <string.h>

static unsigned
bucket_of(uint64_t v)
{
	unsigned e = 63 - (unsigned)__builtin_clzll(v | 1);

	if (v < HIST_SUB)
		return (unsigned)v;
	if (e > 46)
		return HIST_BUCKETS - 1;
	/* e >= 6: the top 7 bits of v pick one of 64 sub-buckets. */
	return HIST_SUB + (e - 6) * HIST_SUB +
	    (unsigned)((v >> (e - 6)) - HIST_SUB);
}

static uint64_t
value_of(unsigned b)
{
	unsigned e, sub;

	if (b < HIST_SUB)
		return b;
	e = (b - HIST_SUB) / HIST_SUB + 6;
	sub = (b - HIST_SUB) % HIST_SUB;
	return (uint64_t)(HIST_SUB + sub) << (e - 6);
}

void
hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
}

void
hist_add(struct hist *h, uint64_t v)
{
	unsigned b = bucket_of(v);

	h->n[b < HIST_BUCKETS ? b : HIST_BUCKETS - 1]++;
	h->count++;
	if (v > h->max)
		h->max = v;
}

void
hist_merge(struct hist *into, const struct hist *from)
{
	unsigned i;

	for (i = 0; i < HIST_BUCKETS; i++)
		into->n[i] += from->n[i];
	into->count += from->count;
	if (from->max > into->max)
		into->max = from->max;
}

uint64_t
hist_pct(const struct hist *h, double p)
{
	uint64_t want, seen = 0;
	unsigned i;

	if (h->count == 0)
		return 0;
	want = (uint64_t)((double)h->count * p / 100.0 + 0.999999);
	if (want < 1)
		want = 1;
	for (i = 0; i < HIST_BUCKETS; i++) {
		seen += h->n[i];
		if (seen >= want)
			return value_of(i);
	}
	return h->max;
}
