/* tlsbuf.h - the server's TLS connections, swept once a second: their
 * OpenSSL record buffers are kept while a connection is busy and given
 * back once it has been idle for a whole sweep (one to two seconds); a
 * connection whose first bytes of a request did not come in time is
 * closed. */
#ifndef STEWARD_TLSBUF_H
#define STEWARD_TLSBUF_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct tlsbuf {
	struct tlsbuf *next, *prev;
	struct tlsbufs *list;
	SSL *ssl;
	int busy;         /* answered since the last sweep */
	int64_t deadline; /* mono_secs() by which a request must have
			   * begun; 0 once one has */
};

/* One list per event loop: it is only touched by the thread running it. */
struct tlsbufs {
	struct tlsbuf *head;
	size_t count;
};

/* Sets up ctx: 1 when connections keep their buffers and sweeps give them
 * back; 0 when this OpenSSL cannot give back a connection's buffers
 * safely, and ctx releases them after every record instead
 * (SSL_MODE_RELEASE_BUFFERS). */
int tlsbuf_setup(SSL_CTX *ctx);
/* Puts ssl on list until SSL_free, to be closed at the sweep after
 * deadline (mono_secs()) unless tlsbuf_heard is called first. NULL when
 * it cannot (out of memory): ssl then releases its buffers after every
 * record and has no deadline but the HTTP layer's. */
struct tlsbuf *tlsbuf_track(struct tlsbufs *list, SSL *ssl,
    int64_t deadline);
/* A request's first bytes came (decrypted) on the connection. */
void tlsbuf_heard(struct tlsbuf *t);
/* ssl is busy: it keeps its buffers through the next sweep. */
void tlsbuf_busy(SSL *ssl);
/* Gives back the buffers of the connections on list that were not busy
 * since the last sweep and hold no partial record, and returns how many;
 * shuts down the socket of those past their deadline at now, counted in
 * *closed (the HTTP layer then frees them as closed by the peer). */
size_t tlsbuf_sweep(struct tlsbufs *list, int64_t now, size_t *closed);

#endif
