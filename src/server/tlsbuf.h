/* tlsbuf.h - OpenSSL's record buffers of the server's connections: kept
 * while a connection is busy, given back once it has been idle for a
 * whole sweep (one to two seconds). */
#ifndef STEWARD_TLSBUF_H
#define STEWARD_TLSBUF_H

#include <stddef.h>

#include <openssl/ssl.h>

struct tlsbuf {
	struct tlsbuf *next, *prev;
	struct tlsbufs *list;
	SSL *ssl;
	int busy; /* answered since the last sweep */
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
/* Puts ssl on list until SSL_free. When it cannot (out of memory, or
 * sweeps are off), ssl releases its buffers after every record. */
void tlsbuf_track(struct tlsbufs *list, SSL *ssl);
/* ssl is busy: it keeps its buffers through the next sweep. */
void tlsbuf_busy(SSL *ssl);
/* Gives back the buffers of the connections on list that were not busy
 * since the last sweep and hold no partial record; returns how many. */
size_t tlsbuf_sweep(struct tlsbufs *list);

#endif
