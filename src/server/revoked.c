/* revoked.c - revoked serials for the handshake check: two sorted arrays
 * (revoked.h), swapped under a write lock, searched under a read lock. */
#include "revoked.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

#define REVOKED_REASON_BLOCK "privilegeWithdrawn"

void
revoked_init(struct revoked_set *s)
{
	memset(s, 0, sizeof(*s));
	pthread_rwlock_init(&s->lock, NULL);
	pthread_mutex_init(&s->update_lock, NULL);
}

void
revoked_free(struct revoked_set *s)
{
	free(s->v);
	free(s->recent);
	s->v = s->recent = NULL;
	s->n = s->nrecent = 0;
	pthread_rwlock_destroy(&s->lock);
	pthread_mutex_destroy(&s->update_lock);
}

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct revoked_entry *)a)->serial,
	    ((const struct revoked_entry *)b)->serial);
}

/* The entry for serial in the sorted v, or NULL. */
static const struct revoked_entry *
find(const struct revoked_entry *v, size_t n, const struct revoked_entry *key)
{
	return n ? bsearch(key, v, n, sizeof(*key), cmp_entry) : NULL;
}

/* Merges the sorted a and b into out (room for na + nb): a serial in both
 * kept once (a revocation's reason never changes), a certificate expired
 * before keep left out. The count written. */
static size_t
merge(const struct revoked_entry *a, size_t na, const struct revoked_entry *b,
    size_t nb, int64_t keep, struct revoked_entry *out)
{
	size_t i = 0, j = 0, k = 0;

	while (i < na || j < nb) {
		const struct revoked_entry *e;
		int c = i == na ? 1 : j == nb ? -1 : cmp_entry(&a[i], &b[j]);

		e = c > 0 ? &b[j++] : &a[i++];
		if (c == 0)
			j++;
		if (e->not_after >= keep)
			out[k++] = *e;
	}
	return k;
}

/* The most entries the recent array holds before the bulk is rebuilt:
 * about sqrt(2 n), which makes the two copies of an update, the recent
 * array's at each one and the bulk's every so many, cost the least. */
static size_t
recent_max(size_t n)
{
	size_t r = 16;

	while (r * r < 2 * n)
		r++;
	return r;
}

int
revoked_update(struct revoked_set *s, struct db *db, int64_t now, char *err)
{
	struct db_cert *list;
	struct revoked_entry *add, *recent, *v = NULL, *old_v = NULL, *old_r;
	size_t n, nrecent, nv = 0, i, j;
	int64_t keep = now - REVOKED_KEEP_EXPIRED;
	int rebuild;

	pthread_mutex_lock(&s->update_lock);
	/* From the latest second read, again: a revocation later in that
	 * second is not missed, and one read twice changes nothing. Expired
	 * certificates fail the handshake anyway; they are kept a month all
	 * the same, a clock can be wrong. */
	if (db_cert_revoked_since(db, s->since, keep, &list, &n) < 0) {
		pthread_mutex_unlock(&s->update_lock);
		return err_set(err, "cannot read revoked certificates");
	}
	add = malloc((n + 1) * sizeof(*add));
	recent = malloc((s->nrecent + n + 1) * sizeof(*recent));
	if (add == NULL || recent == NULL)
		goto oom;
	for (j = 0; j < n; j++) {
		str_copy(add[j].serial, sizeof(add[j].serial), list[j].serial);
		add[j].not_after = list[j].not_after;
		add[j].state = strcmp(list[j].revoke_reason,
				   REVOKED_REASON_BLOCK) == 0
		    ? REVOKED_BLOCK
		    : REVOKED_YES;
	}
	qsort(add, n, sizeof(*add), cmp_entry);
	/* Only this writer changes the arrays: read without the lock. A row
	 * read again (the latest second is) that the bulk holds stays out
	 * of the recent array, so no serial is in both. */
	for (i = j = 0; j < n; j++)
		if (find(s->v, s->n, &add[j]) == NULL)
			add[i++] = add[j];
	nrecent = merge(s->recent, s->nrecent, add, i, keep, recent);
	rebuild = s->v == NULL || nrecent > recent_max(s->n) ||
	    now - s->rebuilt_at >= REVOKED_REBUILD_SECS;
	if (rebuild) {
		if ((v = malloc((s->n + nrecent + 1) * sizeof(*v))) == NULL)
			goto oom;
		nv = merge(s->v, s->n, recent, nrecent, keep, v);
		nrecent = 0;
		s->rebuilt_at = now;
	}
	/* The rows come by revocation time: the last is the latest. */
	if (n > 0)
		s->since = list[n - 1].revoked_at;
	free(list);
	free(add);
	pthread_rwlock_wrlock(&s->lock);
	old_r = s->recent;
	s->recent = recent;
	s->nrecent = nrecent;
	if (rebuild) {
		old_v = s->v;
		s->v = v;
		s->n = nv;
	}
	pthread_rwlock_unlock(&s->lock);
	free(old_r);
	free(old_v);
	pthread_mutex_unlock(&s->update_lock);
	return 0;
oom:
	free(add);
	free(recent);
	free(list);
	pthread_mutex_unlock(&s->update_lock);
	return err_set(err, "out of memory");
}

enum revoked_state
revoked_check(struct revoked_set *s, const char *serial)
{
	struct revoked_entry key;
	const struct revoked_entry *hit;
	int state = REVOKED_NO;

	memset(&key, 0, sizeof(key));
	if (str_copy(key.serial, sizeof(key.serial), serial) < 0)
		return REVOKED_YES;
	pthread_rwlock_rdlock(&s->lock);
	if ((hit = find(s->recent, s->nrecent, &key)) != NULL ||
	    (hit = find(s->v, s->n, &key)) != NULL)
		state = hit->state;
	pthread_rwlock_unlock(&s->lock);
	return state;
}

size_t
revoked_count(struct revoked_set *s)
{
	size_t n;

	pthread_rwlock_rdlock(&s->lock);
	n = s->n + s->nrecent;
	pthread_rwlock_unlock(&s->lock);
	return n;
}
