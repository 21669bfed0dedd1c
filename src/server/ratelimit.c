/* ratelimit.c - token buckets: one per client (in 16 lock stripes keyed by
 * the client id's hash, so workers rarely contend) and one for the site. */
#include "ratelimit.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

struct rl_entry {
	struct rl_entry *next;
	struct bucket b;
	char id[33];
};

int64_t
bucket_take(struct bucket *b, int64_t now_ms, double rate, double burst)
{
	if (b->last_ms == 0) {
		b->tokens = burst;
		b->last_ms = now_ms;
	}
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * rate / 1000.0;
		if (b->tokens > burst)
			b->tokens = burst;
		b->last_ms = now_ms;
	}
	if (b->tokens >= 1.0) {
		b->tokens -= 1.0;
		return 0;
	}
	if (rate <= 0)
		return 60000;
	return (int64_t)((1.0 - b->tokens) * 1000.0 / rate) + 1;
}

void
ratelimit_init(struct ratelimit *rl, double rate, double burst,
    double site_rate, double site_burst)
{
	int i;

	memset(rl, 0, sizeof(*rl));
	rl->rate = rate;
	rl->burst = burst;
	rl->site_rate = site_rate;
	rl->site_burst = site_burst;
	rl->nbuckets = 1024;
	for (i = 0; i < RATELIMIT_STRIPES; i++) {
		pthread_mutex_init(&rl->lock[i], NULL);
		rl->table[i] = calloc(rl->nbuckets, sizeof(struct rl_entry *));
	}
	pthread_mutex_init(&rl->site_lock, NULL);
}

void
ratelimit_free(struct ratelimit *rl)
{
	size_t i, b;

	for (i = 0; i < RATELIMIT_STRIPES; i++) {
		for (b = 0; rl->table[i] && b < rl->nbuckets; b++) {
			struct rl_entry *e = rl->table[i][b], *n;

			for (; e; e = n) {
				n = e->next;
				free(e);
			}
		}
		free(rl->table[i]);
		pthread_mutex_destroy(&rl->lock[i]);
	}
	pthread_mutex_destroy(&rl->site_lock);
}

static uint64_t
hash_id(const char *id)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *id; id++)
		h = (h ^ (unsigned char)*id) * 1099511628211ULL;
	return h;
}

int64_t
ratelimit_check(struct ratelimit *rl, const char *client_id, int64_t now_ms)
{
	uint64_t h = hash_id(client_id);
	size_t stripe = h % RATELIMIT_STRIPES, b;
	struct rl_entry *e;
	int64_t wait;

	if (rl->table[stripe] == NULL)
		return 0;
	b = (size_t)(h / RATELIMIT_STRIPES) % rl->nbuckets;
	pthread_mutex_lock(&rl->lock[stripe]);
	for (e = rl->table[stripe][b]; e; e = e->next)
		if (strcmp(e->id, client_id) == 0)
			break;
	if (e == NULL && (e = calloc(1, sizeof(*e))) != NULL) {
		/* One entry per authenticated client: bounded by the fleet. */
		str_copy(e->id, sizeof(e->id), client_id);
		e->next = rl->table[stripe][b];
		rl->table[stripe][b] = e;
	}
	wait = e ? bucket_take(&e->b, now_ms, rl->rate, rl->burst) : 0;
	pthread_mutex_unlock(&rl->lock[stripe]);
	if (wait > 0)
		return wait;
	pthread_mutex_lock(&rl->site_lock);
	wait = bucket_take(&rl->site, now_ms, rl->site_rate, rl->site_burst);
	pthread_mutex_unlock(&rl->site_lock);
	return wait;
}
