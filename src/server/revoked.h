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
/* The bulk is rebuilt at least this often, letting go of them. */
#define REVOKED_REBUILD_SECS 86400

struct revoked_entry {
	char serial[PKI_SERIAL_HEX];
	int state;
	int64_t not_after;
};

/* Two sorted arrays, searched both: the bulk, and what was revoked since
 * the bulk was last rebuilt. An update merges the few new serials into
 * the second, small one; the bulk is rebuilt (and rid of certificates
 * expired long enough) when the second passes about the square root of
 * the whole, and at least daily. A revocation so copies about 2 sqrt(n)
 * entries, not n: at 88,000 revoked (a whole 175,000-client site), 5 MB
 * copied and compared per revocation took a fifth of the server's CPU in
 * a burst of re-enrollments. */
struct revoked_set {
	pthread_rwlock_t lock;
	struct revoked_entry *v; /* the bulk, sorted by serial */
	size_t n;
	struct revoked_entry *recent; /* revoked since, sorted by serial */
	size_t nrecent;
	pthread_mutex_t update_lock; /* one writer at a time; guards since,
				      * rebuilt_at */
	int64_t since;	    /* the latest revocation time read */
	int64_t rebuilt_at; /* when the bulk was last rebuilt */
};

void revoked_init(struct revoked_set *s);
void revoked_free(struct revoked_set *s);
/* Adds the certificates revoked since the last update (the first reads
 * them all): reads only those (a revocation is never taken back), so a
 * revocation costs a copy of the small array (and now and then of the
 * bulk), not a read of every revoked certificate. Certificates expired more than REVOKED_KEEP_EXPIRED before
 * now are left out, and dropped from the set when its bulk is rebuilt
 * (at least daily: the tasks thread updates it every minute). */
int revoked_update(struct revoked_set *s, struct db *db, int64_t now,
    char *err);
/* O(log n) under a read lock; safe from any worker thread. */
enum revoked_state revoked_check(struct revoked_set *s, const char *serial);
/* How many serials the set holds. */
size_t revoked_count(struct revoked_set *s);

#endif
