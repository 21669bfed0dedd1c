/* tlsbuf.c - the server's TLS connections: their record buffers, and the
 * deadline for their first request.
 *
 * A TLS connection reads and writes its records through two buffers of
 * about 17 KB each. OpenSSL either keeps them for the connection's life or,
 * with SSL_MODE_RELEASE_BUFFERS, frees them after every record and
 * allocates them again for the next: a keep-alive connection polling back
 * to back then pays two allocations and frees of 17 KB per request (about
 * 4% of a policy poll's CPU here), and an idle one costs nothing.
 *
 * Here a connection keeps its buffers while it is busy, and gives them
 * back at the first once-a-second sweep that finds it idle: a device's
 * connection that made its few requests and went quiet holds no buffer
 * after two seconds, an unauthenticated one holding its slot neither.
 *
 * The same sweep closes a connection that has not begun a request within
 * first_request_timeout of its accept (its TLS handshake included), so a
 * client that opens sockets and says nothing holds a descriptor for
 * seconds, not for the HTTP layer's idle timeout (notify_hold + 60 s).
 *
 * The tracking hangs off the SSL object (ex_data), so it ends when OpenSSL
 * frees the object, whoever frees it. */
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "tlsbuf.h"

static int tlsbuf_index = -1;
static int sweeping;
static pthread_once_t index_once = PTHREAD_ONCE_INIT;

static void
tlsbuf_unlink(struct tlsbuf *t)
{
	if (t->prev != NULL)
		t->prev->next = t->next;
	else
		t->list->head = t->next;
	if (t->next != NULL)
		t->next->prev = t->prev;
	t->list->count--;
}

/* Runs in SSL_free. */
static void
tlsbuf_ssl_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx,
    long argl, void *argp)
{
	struct tlsbuf *t = ptr;

	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (t == NULL)
		return;
	tlsbuf_unlink(t);
	free(t);
}

static void
index_init(void)
{
	tlsbuf_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
	    tlsbuf_ssl_free);
}

/* Before 3.0.14, 3.1.6, 3.2.2 and 3.3.1, SSL_free_buffers could free a
 * read buffer that still held part of a record (CVE-2024-4741). A
 * distribution that backported the fix without a new version number only
 * loses the sweeps. */
static int
free_buffers_safe(void)
{
	unsigned int major = OPENSSL_version_major();
	unsigned int minor = OPENSSL_version_minor();
	unsigned int patch = OPENSSL_version_patch();

	if (major != 3)
		return major > 3;
	switch (minor) {
	case 0:
		return patch >= 14;
	case 1:
		return patch >= 6;
	case 2:
		return patch >= 2;
	case 3:
		return patch >= 1;
	default:
		return 1;
	}
}

int
tlsbuf_setup(SSL_CTX *ctx)
{
	pthread_once(&index_once, index_init);
	sweeping = tlsbuf_index >= 0 && free_buffers_safe();
	if (!sweeping)
		SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	return sweeping;
}

struct tlsbuf *
tlsbuf_track(struct tlsbufs *list, SSL *ssl, int64_t deadline)
{
	struct tlsbuf *t;

	pthread_once(&index_once, index_init);
	if (tlsbuf_index < 0 || (t = calloc(1, sizeof(*t))) == NULL)
		goto release;
	t->list = list;
	t->ssl = ssl;
	t->busy = 1; /* its handshake is to come */
	t->deadline = deadline;
	if (SSL_set_ex_data(ssl, tlsbuf_index, t) != 1) {
		free(t);
		goto release;
	}
	t->next = list->head;
	if (list->head != NULL)
		list->head->prev = t;
	list->head = t;
	list->count++;
	return t;
release:
	SSL_set_mode(ssl, SSL_MODE_RELEASE_BUFFERS);
	return NULL;
}

void
tlsbuf_heard(struct tlsbuf *t)
{
	t->deadline = 0;
}

void
tlsbuf_busy(SSL *ssl)
{
	struct tlsbuf *t;

	if (sweeping && ssl != NULL &&
	    (t = SSL_get_ex_data(ssl, tlsbuf_index)) != NULL)
		t->busy = 1;
}

size_t
tlsbuf_sweep(struct tlsbufs *list, int64_t now, size_t *closed)
{
	struct tlsbuf *t;
	size_t n = 0;
	int fd;

	*closed = 0;
	for (t = list->head; t != NULL; t = t->next) {
		if (t->deadline != 0 && now >= t->deadline) {
			t->deadline = 0;
			if ((fd = SSL_get_fd(t->ssl)) >= 0 &&
			    shutdown(fd, SHUT_RDWR) == 0)
				(*closed)++;
			continue;
		}
		if (!sweeping)
			continue;
		if (t->busy)
			t->busy = 0;
		else if (SSL_free_buffers(t->ssl) == 1)
			n++;
	}
	return n;
}
