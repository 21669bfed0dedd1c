/* park.h - held long-polls without their TLS machinery (park.c). */
#ifndef STEWARD_PARK_H
#define STEWARD_PARK_H

#include <stddef.h>

#include <openssl/ssl.h>

struct park;

/* Has the context's connections report what parking needs (their first
 * server traffic secret, the KeyUpdates they write). */
void park_setup(SSL_CTX *ctx);
/* Moves an established connection to a fresh write key (a KeyUpdate) and
 * returns what answering it later needs, with its own descriptor of the
 * socket; NULL with *why when it cannot be parked (then nothing changed
 * but, perhaps, a KeyUpdate sent). The SSL must then be freed unused. */
struct park *park_take(SSL *ssl, int fd, const char **why);
int park_fd(const struct park *pk);
/* Seals data as the connection's answer, then a close_notify, and writes
 * what the socket takes: 0 all written, 1 the rest waits for park_flush
 * when writable, -1 failed. One answer per parked connection, and the
 * caller closes it (park_free) when written: the last bytes wait for it
 * in the kernel, to go with the FIN. */
int park_send(struct park *pk, const void *data, size_t len);
int park_flush(struct park *pk);
/* Closes the descriptor and forgets the keys. */
void park_free(struct park *pk);

/* HKDF-Expand-Label of RFC 8446 (empty context); exposed for tests. */
int tls13_expand_label(const char *digest, const unsigned char *secret,
    size_t slen, const char *label, unsigned char *out, size_t olen);

#endif
