/* tlscache.h - the server's TLS 1.3 sessions, held in memory, each good for
 * one resumption. */
#ifndef STEWARD_TLSCACHE_H
#define STEWARD_TLSCACHE_H

#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>

/* Decides whether the session of ssl's connection is held, and labels it
 * with the connection's identity: 1 to hold lean, a session without the
 * client's certificate (see tlscache_lean). */
typedef int tlscache_hold_fn(SSL *ssl, SSL_SESSION *lean);

/* Makes ctx's tickets references to sessions in the table, at most max of
 * them (the oldest go first). One table per process. Sessions are held
 * lean, labelled by hold, and only when it says so. */
int tlscache_setup(SSL_CTX *ctx, size_t max, tlscache_hold_fn *hold);
/* A copy of sess without the peer's certificate, NULL when it cannot be
 * made. Its ex_data is not copied. */
SSL_SESSION *tlscache_lean(const SSL_SESSION *sess);
/* The table alone (tests): empty, for at most max sessions. */
int tlscache_init(size_t max);
/* Keeps a copy of sess under its id. */
int tlscache_put(SSL_SESSION *sess);
/* Takes the session with this id out of the table: the caller owns it.
 * NULL when there is none, or it expired by now. */
SSL_SESSION *tlscache_take(const unsigned char *id, unsigned int len,
    long now);
/* Drops the sessions expired by now; returns how many. */
size_t tlscache_expire(long now);
size_t tlscache_count(void);
void tlscache_free(void);

#endif
