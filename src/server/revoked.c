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

static int
entry_state(const struct db_cert *c)
{
	return strcmp(c->revoke_reason, REVOKED_REASON_BLOCK) == 0
	    ? REVOKED_BLOCK
	    : REVOKED_YES;
}

/* Swaps in v (n entries); the caller holds update_lock. */
static void
install(struct revoked_set *s, struct revoked_entry *v, size_t n)
{
	struct revoked_entry *old;

	pthread_rwlock_wrlock(&s->lock);
	old = s->v;
	s->v = v;
	s->n = n;
	pthread_rwlock_unlock(&s->lock);
	free(old);
}

/* The entries of the rows, sorted, a serial once (its last state). */
static struct revoked_entry *
entries_of(const struct db_cert *list, size_t n, size_t *count)
{
	struct revoked_entry *v = calloc(n ? n : 1, sizeof(*v));
	size_t i, k = 0;

	if (v == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		str_copy(v[i].serial, sizeof(v[i].serial), list[i].serial);
		v[i].state = entry_state(&list[i]);
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_entry);
	for (i = 0; i < n; i++)
		if (k == 0 || strcmp(v[k - 1].serial, v[i].serial) != 0)
			v[k++] = v[i];
		else
			v[k - 1] = v[i];
	*count = k;
	return v;
}

static int64_t
latest(const struct db_cert *list, size_t n, int64_t since)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i].revoked_at > since)
			since = list[i].revoked_at;
	return since;
}

int
revoked_reload(struct revoked_set *s, struct db *db, char *err)
{
	struct db_cert *list;
	struct revoked_entry *v;
	size_t n, count;

	/* Expired certificates fail the handshake anyway; keep them all the
	 * same, a clock can be wrong. */
	pthread_mutex_lock(&s->update_lock);
	if (db_cert_revoked_since(db, 0, &list, &n) < 0) {
		pthread_mutex_unlock(&s->update_lock);
		return err_set(err, "cannot read revoked certificates");
	}
	if ((v = entries_of(list, n, &count)) == NULL) {
		free(list);
		pthread_mutex_unlock(&s->update_lock);
		return err_set(err, "out of memory");
	}
	s->since = latest(list, n, 0);
	free(list);
	install(s, v, count);
	pthread_mutex_unlock(&s->update_lock);
	return 0;
}

int
revoked_update(struct revoked_set *s, struct db *db, char *err)
{
	struct db_cert *list;
	struct revoked_entry *add, *v;
	size_t n, nadd, i = 0, j = 0, k = 0;

	pthread_mutex_lock(&s->update_lock);
	/* From the latest second read, again: a revocation later in that
	 * second is not missed, and one read twice changes nothing. */
	if (db_cert_revoked_since(db, s->since, &list, &n) < 0) {
		pthread_mutex_unlock(&s->update_lock);
		return err_set(err, "cannot read revoked certificates");
	}
	add = entries_of(list, n, &nadd);
	v = calloc(s->n + nadd + 1, sizeof(*v));
	if (add == NULL || v == NULL) {
		free(add);
		free(v);
		free(list);
		pthread_mutex_unlock(&s->update_lock);
		return err_set(err, "out of memory");
	}
	/* Both sorted: merged, a serial in both taking its new state. Only
	 * this writer changes s->v, so it is read without the lock. */
	while (i < s->n || j < nadd) {
		int c = i == s->n ? 1
		    : j == nadd	  ? -1
				  : strcmp(s->v[i].serial, add[j].serial);

		if (c < 0)
			v[k++] = s->v[i++];
		else if (c > 0)
			v[k++] = add[j++];
		else {
			v[k++] = add[j++];
			i++;
		}
	}
	s->since = latest(list, n, s->since);
	free(list);
	free(add);
	install(s, v, k);
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
