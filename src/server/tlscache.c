/* tlscache.c - the server's TLS 1.3 sessions, held in memory.
 *
 * With OpenSSL 3.0, resuming from a stateless ticket decodes the client's
 * certificate again from the ticket: half of the server's CPU for a resumed
 * handshake. Here a ticket is only a reference (OpenSSL's "stateful"
 * tickets, SSL_OP_NO_TICKET in TLS 1.3) to a session kept in this table,
 * certificate already decoded.
 *
 * The table is ours rather than OpenSSL's internal cache, for two reasons:
 * - a ticket is good once: a resumption takes its session out (the client
 *   has a new ticket by then), so a device holds one entry, not one per
 *   connection it made in the session's lifetime;
 * - OpenSSL drops from its own cache the session of any connection that
 *   ends without a close_notify, which is how devices and libevent end
 *   theirs: nothing would ever resume.
 * At the limit the oldest entry goes: its device makes a full handshake.
 * No ticket key exists to be stolen, and a stolen ticket is useless once
 * its device has resumed with it.
 *
 * A session is held without the client's certificate (tlscache_lean):
 * decoded, it is about 10 KB, most of what a device costs the site between
 * its connections. The server's hold hook labels the lean session with the
 * identity the certificate gave the connection (routes.c); a resumed
 * connection takes its identity from that label, since a resumed handshake
 * presents no certificate. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/pki.h"
#include "tlscache.h"

#define ID_MAX SSL_MAX_SSL_SESSION_ID_LENGTH

struct entry {
	SSL_SESSION *sess;
	unsigned char id[ID_MAX];
	unsigned int idlen;
	struct entry *hnext;       /* bucket chain */
	struct entry *older, *newer; /* age order */
};

static struct {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t count, max;
	struct entry *oldest, *newest;
} tc = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0, NULL, NULL};

static tlscache_hold_fn *hold_hook;

static size_t
bucket_of(const unsigned char *id, unsigned int len)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a: ids are random */
	unsigned int i;

	for (i = 0; i < len; i++)
		h = (h ^ id[i]) * 1099511628211ULL;
	return (size_t)h & (tc.nbuckets - 1);
}

/* Unlinks e from its chain and the age list; the caller frees it. */
static void
unlink_entry(struct entry *e)
{
	struct entry **pp = &tc.buckets[bucket_of(e->id, e->idlen)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	if (e->older != NULL)
		e->older->newer = e->newer;
	else
		tc.oldest = e->newer;
	if (e->newer != NULL)
		e->newer->older = e->older;
	else
		tc.newest = e->older;
	tc.count--;
}

static void
drop_entry(struct entry *e)
{
	unlink_entry(e);
	SSL_SESSION_free(e->sess);
	free(e);
}

static int
expired(const SSL_SESSION *s, long now)
{
	return now >= SSL_SESSION_get_time(s) + SSL_SESSION_get_timeout(s);
}

/* Holds sess, which the table then owns (freed here on failure). */
static int
insert(SSL_SESSION *sess)
{
	const unsigned char *id;
	unsigned int len;
	struct entry *e;
	size_t b;

	id = SSL_SESSION_get_id(sess, &len);
	if (len == 0 || len > ID_MAX || tc.max == 0 ||
	    (e = calloc(1, sizeof(*e))) == NULL) {
		SSL_SESSION_free(sess);
		return -1;
	}
	e->sess = sess;
	memcpy(e->id, id, len);
	e->idlen = len;
	pthread_mutex_lock(&tc.lock);
	while (tc.count >= tc.max)
		drop_entry(tc.oldest);
	b = bucket_of(id, len);
	e->hnext = tc.buckets[b];
	tc.buckets[b] = e;
	e->older = tc.newest;
	if (tc.newest != NULL)
		tc.newest->newer = e;
	else
		tc.oldest = e;
	tc.newest = e;
	tc.count++;
	pthread_mutex_unlock(&tc.lock);
	return 0;
}

int
tlscache_put(SSL_SESSION *sess)
{
	/* A copy: OpenSSL may yet mark its own object unusable. */
	SSL_SESSION *copy = SSL_SESSION_dup(sess);

	return copy != NULL ? insert(copy) : -1;
}

SSL_SESSION *
tlscache_take(const unsigned char *id, unsigned int len, long now)
{
	SSL_SESSION *s = NULL;
	struct entry *e;

	if (tc.buckets == NULL)
		return NULL;
	pthread_mutex_lock(&tc.lock);
	for (e = tc.buckets[bucket_of(id, len)]; e != NULL; e = e->hnext)
		if (e->idlen == len && memcmp(e->id, id, len) == 0)
			break;
	if (e != NULL) {
		unlink_entry(e);
		if (!expired(e->sess, now))
			s = e->sess;
		else
			SSL_SESSION_free(e->sess);
		free(e);
	}
	pthread_mutex_unlock(&tc.lock);
	return s;
}

size_t
tlscache_expire(long now)
{
	struct entry *e, *next;
	size_t n = 0;

	pthread_mutex_lock(&tc.lock);
	/* Lifetimes are all the same: the oldest expire first, but a walk
	 * of the whole list costs little and assumes nothing. */
	for (e = tc.oldest; e != NULL; e = next) {
		next = e->newer;
		if (expired(e->sess, now)) {
			drop_entry(e);
			n++;
		}
	}
	pthread_mutex_unlock(&tc.lock);
	return n;
}

size_t
tlscache_count(void)
{
	size_t n;

	pthread_mutex_lock(&tc.lock);
	n = tc.count;
	pthread_mutex_unlock(&tc.lock);
	return n;
}

SSL_SESSION *
tlscache_lean(const SSL_SESSION *sess)
{
	SSL_SESSION *lean = NULL;
	const unsigned char *p;
	unsigned char *der;
	size_t len = 0;

	if ((der = pki_session_lean_der(sess, &len)) != NULL) {
		p = der;
		lean = d2i_SSL_SESSION(NULL, &p, (long)len);
	}
	OPENSSL_clear_free(der, len);
	return lean;
}

static int
on_new(SSL *ssl, SSL_SESSION *sess)
{
	SSL_SESSION *lean = tlscache_lean(sess);

	/* The hook says whether the connection had an identity worth a
	 * resumption (an enrollment has none), and labels the lean copy,
	 * which is the table's from here. */
	if (lean != NULL) {
		if (hold_hook(ssl, lean) == 1)
			insert(lean);
		else
			SSL_SESSION_free(lean);
	}
	return 0; /* OpenSSL keeps its reference */
}

static SSL_SESSION *
on_get(SSL *ssl, const unsigned char *id, int len, int *copy)
{
	(void)ssl;
	*copy = 0; /* the table's reference goes to OpenSSL */
	if (len <= 0 || len > ID_MAX)
		return NULL;
	return tlscache_take(id, (unsigned int)len, (long)time(NULL));
}

int
tlscache_init(size_t max)
{
	size_t n = 1;

	tlscache_free();
	while (n < max / 2 && n < ((size_t)1 << 20))
		n <<= 1;
	if ((tc.buckets = calloc(n, sizeof(*tc.buckets))) == NULL)
		return -1;
	tc.nbuckets = n;
	tc.max = max;
	return 0;
}

int
tlscache_setup(SSL_CTX *ctx, size_t max, tlscache_hold_fn *hold)
{
	if (tlscache_init(max) < 0)
		return -1;
	hold_hook = hold;
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx,
	    SSL_SESS_CACHE_SERVER | SSL_SESS_CACHE_NO_INTERNAL);
	SSL_CTX_sess_set_new_cb(ctx, on_new);
	SSL_CTX_sess_set_get_cb(ctx, on_get);
	return 0;
}

void
tlscache_free(void)
{
	pthread_mutex_lock(&tc.lock);
	while (tc.oldest != NULL)
		drop_entry(tc.oldest);
	free(tc.buckets);
	tc.buckets = NULL;
	tc.nbuckets = 0;
	tc.max = 0;
	pthread_mutex_unlock(&tc.lock);
}
