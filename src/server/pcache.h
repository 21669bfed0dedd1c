/* pcache.h - a worker's memory of each client: its current policy ETag
 * (and when it last recorded the client's policy activity), so an unchanged
 * policy is answered 304 without touching the database, and the last
 * verdict on its certificate, so a new connection does not read it again. Valid while the
 * process-wide policy epoch is the one it was read at. One per worker:
 * no locks. */
#ifndef STEWARD_PCACHE_H
#define STEWARD_PCACHE_H

#include <stddef.h>
#include <stdint.h>

#define PCACHE_MAX 1000000 /* entries per worker; beyond, start afresh */
#define PCACHE_BODY_MAX (32 * 1024 * 1024) /* policy bytes kept per worker */

struct pentry {
	struct pentry *next;
	uint64_t epoch;     /* policy epoch the ETag was read at */
	int64_t expires_at; /* of that policy */
	int64_t touched_at; /* last policy activity written */
	char id[33];
	char etag[80];      /* with its quotes, as sent */
	char *body;         /* the signed document, when kept */
	size_t blen;
	/* Authorization: the certificate checked live at auth_epoch (valid
	 * until auth_until), and the one whose first use is recorded. */
	uint64_t auth_epoch;
	int64_t auth_until;
	char auth_serial[41];
	char used_serial[41];
};

struct pcache {
	struct pentry **b;
	size_t nb, n;
	size_t body_bytes;
};

/* The entry of a client, created (zeroed) when absent; NULL without
 * memory. */
struct pentry *pcache_get(struct pcache *c, const char *id);
void pcache_free(struct pcache *c);
/* Keeps a copy of the entry's document, within PCACHE_BODY_MAX (beyond,
 * the entry keeps none and the database serves it). */
void pcache_set_body(struct pcache *c, struct pentry *e, const char *body,
    size_t len);

#endif
