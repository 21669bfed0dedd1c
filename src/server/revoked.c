/* revoked.c - revoked serials for the handshake check: a sorted array,
 * swapped whole under a write lock, searched under a read lock. */
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
	s->v = NULL;
	s->n = 0;
	pthread_rwlock_destroy(&s->lock);
	pthread_mutex_destroy(&s->update_lock);
}

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct revoked_entry *)a)->serial,
	    ((const struct revoked_entry *)b)->serial);
}

int
revoked_update(struct revoked_set *s, struct db *db, int64_t now, char *err)
{
	struct db_cert *list;
	struct revoked_entry *add, *v, *old;
	size_t n, i = 0, j = 0, k = 0;
	int64_t keep = now - REVOKED_KEEP_EXPIRED;

	pthread_mutex_lock(&s->update_lock);
	/* From the latest second read, again: a revocation later in that
	 * second is not missed, and one read twice changes nothing. Expired
	 * certificates fail the handshake anyway; they are kept a month all
	 * the same, a clock can be wrong. */
	if (db_cert_revoked_since(db, s->since, keep, &list, &n) < 0) {
		pthread_mutex_unlock(&s->update_lock);
		return err_set(err, "cannot read revoked certificates");
	}
	add = calloc(n + 1, sizeof(*add));
	v = calloc(s->n + n + 1, sizeof(*v));
	if (add == NULL || v == NULL) {
		free(add);
		free(v);
		free(list);
		pthread_mutex_unlock(&s->update_lock);
		return err_set(err, "out of memory");
	}
	for (j = 0; j < n; j++) {
		str_copy(add[j].serial, sizeof(add[j].serial), list[j].serial);
		add[j].not_after = list[j].not_after;
		add[j].state = strcmp(list[j].revoke_reason,
				   REVOKED_REASON_BLOCK) == 0
		    ? REVOKED_BLOCK
		    : REVOKED_YES;
	}
	qsort(add, n, sizeof(*add), cmp_entry);
	/* The rows come by revocation time: the last is the latest. */
	if (n > 0)
		s->since = list[n - 1].revoked_at;
	free(list);
	/* Both sorted (a serial is a row's key, so once in each): merged, a
	 * serial read again kept once (a revocation's reason never changes),
	 * one expired for longer than kept dropped. Only this writer changes
	 * s->v, so it is read without the lock. */
	j = 0;
	while (i < s->n || j < n) {
		int c = i == s->n ? 1
		    : j == n	  ? -1
				  : strcmp(s->v[i].serial, add[j].serial);

		if (c > 0) {
			v[k++] = add[j++];
			continue;
		}
		if (s->v[i].not_after >= keep)
			v[k++] = s->v[i];
		i++;
		if (c == 0)
			j++;
	}
	free(add);
	pthread_rwlock_wrlock(&s->lock);
	old = s->v;
	s->v = v;
	s->n = k;
	pthread_rwlock_unlock(&s->lock);
	free(old);
	pthread_mutex_unlock(&s->update_lock);
	return 0;
}

enum revoked_state
revoked_check(struct revoked_set *s, const char *serial)
{
	struct revoked_entry key, *hit;
	int state = REVOKED_NO;

	memset(&key, 0, sizeof(key));
	if (str_copy(key.serial, sizeof(key.serial), serial) < 0)
		return REVOKED_YES;
	pthread_rwlock_rdlock(&s->lock);
	hit = s->n ? bsearch(&key, s->v, s->n, sizeof(key), cmp_entry) : NULL;
	if (hit != NULL)
		state = hit->state;
	pthread_rwlock_unlock(&s->lock);
	return state;
}
