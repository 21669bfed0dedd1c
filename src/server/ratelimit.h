/* ratelimit.h - token buckets per client and for the whole site, checked by
 * the routing table before a rate-limited request's body is parsed. */
#ifndef STEWARD_RATELIMIT_H
#define STEWARD_RATELIMIT_H

#include <pthread.h>
#include <stdint.h>

struct bucket {
	double tokens;
	int64_t last_ms;
};

/* Takes one token at now_ms from a bucket refilled at rate per second up to
 * burst. Returns 0 when taken, else the milliseconds until one is there. */
int64_t bucket_take(struct bucket *b, int64_t now_ms, double rate,
    double burst);

#define RATELIMIT_STRIPES 16

struct rl_entry;

struct ratelimit {
	double rate, burst;           /* per client */
	double site_rate, site_burst; /* all clients together */
	pthread_mutex_t lock[RATELIMIT_STRIPES];
	struct rl_entry **table[RATELIMIT_STRIPES];
	size_t nbuckets;
	pthread_mutex_t site_lock;
	struct bucket site;
};

void ratelimit_init(struct ratelimit *rl, double rate, double burst,
    double site_rate, double site_burst);
void ratelimit_free(struct ratelimit *rl);
/* 0 when the client may go on, else milliseconds to wait. The client's own
 * bucket is checked first, so a flooding client does not drain the site's. */
int64_t ratelimit_check(struct ratelimit *rl, const char *client_id,
    int64_t now_ms);

#endif
