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
}

void
revoked_free(struct revoked_set *s)
{
	free(s->v);
	s->v = NULL;
	s->n = 0;
	pthread_rwlock_destroy(&s->lock);
}

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct revoked_entry *)a)->serial,
	    ((const struct revoked_entry *)b)->serial);
}

int
revoked_reload(struct revoked_set *s, struct db *db, char *err)
{
	struct db_cert *list;
	struct revoked_entry *v = NULL, *old;
	size_t n, i;

	/* Expired certificates fail the handshake anyway; keep them all the
	 * same, a clock can be wrong. */
	if (db_cert_revoked_list(db, 0, &list, &n) < 0)
		return err_set(err, "cannot read revoked certificates");
	if (n > 0) {
		v = calloc(n, sizeof(*v));
		if (v == NULL) {
			free(list);
			return err_set(err, "out of memory");
		}
	}
	for (i = 0; i < n; i++) {
		str_copy(v[i].serial, sizeof(v[i].serial), list[i].serial);
		v[i].state = strcmp(list[i].revoke_reason,
				 REVOKED_REASON_BLOCK) == 0
		    ? REVOKED_BLOCK
		    : REVOKED_YES;
	}
	free(list);
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_entry);
	pthread_rwlock_wrlock(&s->lock);
	old = s->v;
	s->v = v;
	s->n = n;
	pthread_rwlock_unlock(&s->lock);
	free(old);
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
