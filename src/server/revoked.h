/* revoked.h - the set of revoked certificate serials the TLS layer checks
 * during every handshake; brought up to date from the database after each
 * change. */
#ifndef STEWARD_REVOKED_H
#define STEWARD_REVOKED_H

#include <pthread.h>
#include <stddef.h>

#include "crypto/pki.h"
#include "db/db.h"

enum revoked_state {
	REVOKED_NO = 0,
	REVOKED_YES = 1,   /* refused in the handshake */
	REVOKED_BLOCK = 2, /* revoked by a block: the handshake completes so
			    * the request can be answered 403 naming it */
};

/* How long a revoked certificate stays in the set after it expired. It
 * fails the handshake anyway, unless the server's clock is that far
 * wrong; without a bound the set would grow with every renewal for as
 * long as the site runs (about 19 MB a year at 175,000 clients). */
#define REVOKED_KEEP_EXPIRED (30 * 86400)

struct revoked_entry {
	char serial[PKI_SERIAL_HEX];
	int state;
	int64_t not_after;
};

struct revoked_set {
	pthread_rwlock_t lock;
	struct revoked_entry *v; /* sorted by serial */
	size_t n;
	pthread_mutex_t update_lock; /* one writer at a time; guards since */
	int64_t since; /* the latest revocation time read */
};

void revoked_init(struct revoked_set *s);
void revoked_free(struct revoked_set *s);
/* Adds the certificates revoked since the last update (the first reads
 * them all): reads only those (a revocation is never taken back), so a
 * revocation costs a copy of the set, not a read of every revoked
 * certificate. Certificates expired more than REVOKED_KEEP_EXPIRED before
 * now are left out, and dropped from the set (the tasks thread updates it
 * daily for that). */
int revoked_update(struct revoked_set *s, struct db *db, int64_t now,
    char *err);
/* O(log n) under a read lock; safe from any worker thread. */
enum revoked_state revoked_check(struct revoked_set *s, const char *serial);

#endif
