/* park.c - a held long-poll without its TLS machinery.
 *
 * A client's notification long-poll waits minutes for one short answer,
 * and most of what an idle mutual-TLS connection costs is OpenSSL's: the
 * SSL object, the session and the decoded client certificate (about 14 KiB
 * of the 27 a held connection cost). A parked connection keeps the socket
 * and what its one answer needs: the server's next write key and IV, at
 * sequence number 0.
 *
 * To know them exactly, the connection is moved to a fresh key first:
 * OpenSSL sends a KeyUpdate (RFC 8446, 4.6.3), after which the server's
 * records are protected by the next traffic secret, starting at sequence
 * 0. That secret is derived from the one OpenSSL reported when the
 * connection was established (its key-log callback, kept in memory only),
 * advanced once per KeyUpdate OpenSSL wrote (counted by its message
 * callback, including ours). OpenSSL never writes with that key: the SSL
 * object is freed without a word on the wire.
 *
 * The answer is sealed here as TLS 1.3 records (RFC 8446, 5.2: the nonce
 * is the IV xor the sequence number, the record header is the additional
 * data) followed by a close_notify alert, and the connection is closed;
 * the agent opens a new one (resuming its session) for its next poll.
 * A parked connection never reads: anything the client sends, or its
 * close, ends the connection. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/ssl.h>

#include "common/util.h"
#include "park.h"

#define RECORD_MAX 16384 /* plaintext per record */
#define TAG_LEN 16
#define IV_LEN 12
#define UPDATES_MAX 64 /* KeyUpdates a connection may have made to be parked */

struct suite {
	uint32_t id; /* SSL_CIPHER_get_id() */
	const char *digest;
	size_t keylen, hashlen;
	const char *cipher_name;
	EVP_CIPHER *cipher; /* fetched once: a fetch per record costs */
};

static struct suite suites[] = {
	{0x03001301, "SHA256", 16, 32, "AES-128-GCM", NULL},
	{0x03001302, "SHA384", 32, 48, "AES-256-GCM", NULL},
	{0x03001303, "SHA256", 32, 32, "ChaCha20-Poly1305", NULL},
};
static pthread_once_t suites_once = PTHREAD_ONCE_INIT;

static void
suites_fetch(void)
{
	size_t i;

	for (i = 0; i < sizeof(suites) / sizeof(suites[0]); i++)
		suites[i].cipher = EVP_CIPHER_fetch(NULL,
		    suites[i].cipher_name, NULL);
}

/* What one SSL reported of its write keys (its ex_data). */
struct keys {
	unsigned char secret[48];
	size_t len;
	int updates; /* KeyUpdates written since */
};

struct park {
	int fd;
	const struct suite *suite;
	unsigned char key[32];
	unsigned char iv[IV_LEN];
	uint64_t seq;
	unsigned char *out; /* sealed bytes not yet written */
	size_t out_len, out_off;
};

static int keys_index = -1;
static pthread_once_t keys_once = PTHREAD_ONCE_INIT;

static void
keys_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	(void)parent;
	(void)ad;
	(void)idx;
	(void)argl;
	(void)argp;
	if (ptr != NULL) {
		OPENSSL_cleanse(ptr, sizeof(struct keys));
		free(ptr);
	}
}

static void
keys_index_init(void)
{
	keys_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, keys_free);
}

static struct keys *
keys_of(const SSL *ssl, int create)
{
	struct keys *k;

	pthread_once(&keys_once, keys_index_init);
	if (keys_index < 0)
		return NULL;
	k = SSL_get_ex_data(ssl, keys_index);
	if (k == NULL && create) {
		k = calloc(1, sizeof(*k));
		if (k != NULL &&
		    SSL_set_ex_data((SSL *)ssl, keys_index, k) != 1) {
			free(k);
			k = NULL;
		}
	}
	return k;
}

/* OpenSSL's key-log line: "LABEL <client random> <secret>", hex. Only the
 * server's first application secret is kept. */
static void
on_keylog(const SSL *ssl, const char *line)
{
	static const char label[] = "SERVER_TRAFFIC_SECRET_0 ";
	const char *p;
	struct keys *k;
	size_t n;

	if (strncmp(line, label, sizeof(label) - 1) != 0)
		return;
	p = strchr(line + sizeof(label) - 1, ' ');
	if (p == NULL || (k = keys_of(ssl, 1)) == NULL)
		return;
	n = strlen(++p) / 2;
	k->len = (n == 32 || n == 48) && hex_decode(p, k->secret, n) == 0
	    ? n
	    : 0;
	k->updates = 0;
}

static void
on_message(int write_p, int version, int content_type, const void *buf,
    size_t len, SSL *ssl, void *arg)
{
	struct keys *k;

	(void)version;
	(void)arg;
	if (write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
	    ((const unsigned char *)buf)[0] == SSL3_MT_KEY_UPDATE &&
	    (k = keys_of(ssl, 0)) != NULL)
		k->updates++;
}

void
park_setup(SSL_CTX *ctx)
{
	SSL_CTX_set_keylog_callback(ctx, on_keylog);
	SSL_CTX_set_msg_callback(ctx, on_message);
}

int
tls13_expand_label(const char *digest, const unsigned char *secret,
    size_t slen, const char *label, unsigned char *out, size_t olen)
{
	unsigned char info[2 + 1 + 255 + 1];
	size_t llen = strlen(label), n = 0;
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY, ok;
	OSSL_PARAM params[5];
	EVP_KDF_CTX *kctx;
	EVP_KDF *kdf;

	if (llen > 255 - 6 || olen > 255 * 64)
		return -1;
	info[n++] = (unsigned char)(olen >> 8);
	info[n++] = (unsigned char)olen;
	info[n++] = (unsigned char)(6 + llen);
	memcpy(info + n, "tls13 ", 6);
	n += 6;
	memcpy(info + n, label, llen);
	n += llen;
	info[n++] = 0; /* no context */
	kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	kctx = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	EVP_KDF_free(kdf);
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	    (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY,
	    (void *)secret, slen);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
	    info, n);
	params[4] = OSSL_PARAM_construct_end();
	ok = kctx != NULL && EVP_KDF_derive(kctx, out, olen, params) == 1;
	EVP_KDF_CTX_free(kctx);
	return ok ? 0 : -1;
}

struct park *
park_take(SSL *ssl, int fd, const char **why)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	unsigned char secret[48], next[48];
	const struct suite *s = NULL;
	struct keys *k = keys_of(ssl, 0);
	struct park *pk;
	size_t i;
	int n;

	pthread_once(&suites_once, suites_fetch);
	for (i = 0; c != NULL && i < sizeof(suites) / sizeof(suites[0]); i++)
		if (suites[i].id == SSL_CIPHER_get_id(c) &&
		    suites[i].cipher != NULL)
			s = &suites[i];
	if (s == NULL || k == NULL || k->len != s->hashlen) {
		*why = "no traffic secret for this cipher suite";
		return NULL;
	}
	if (SSL_version(ssl) != TLS1_3_VERSION || SSL_has_pending(ssl)) {
		*why = "data pending";
		return NULL;
	}
	/* A client asking for key updates again and again is not worth a
	 * derivation per update: it keeps its TLS state. */
	if (k->updates >= UPDATES_MAX) {
		*why = "too many key updates";
		return NULL;
	}
	/* Onto a fresh key, sequence 0 (counted by on_message). */
	if (SSL_key_update(ssl, SSL_KEY_UPDATE_NOT_REQUESTED) != 1 ||
	    SSL_do_handshake(ssl) != 1) {
		*why = "the KeyUpdate could not be sent";
		return NULL;
	}
	memcpy(secret, k->secret, k->len);
	for (n = 0; n < k->updates; n++) {
		if (tls13_expand_label(s->digest, secret, s->hashlen,
			"traffic upd", next, s->hashlen) < 0) {
			OPENSSL_cleanse(secret, sizeof(secret));
			OPENSSL_cleanse(next, sizeof(next));
			*why = "key derivation failed";
			return NULL;
		}
		memcpy(secret, next, s->hashlen);
	}
	pk = calloc(1, sizeof(*pk));
	if (pk == NULL ||
	    tls13_expand_label(s->digest, secret, s->hashlen, "key", pk->key,
		s->keylen) < 0 ||
	    tls13_expand_label(s->digest, secret, s->hashlen, "iv", pk->iv,
		IV_LEN) < 0 ||
	    (pk->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
		OPENSSL_cleanse(secret, sizeof(secret));
		OPENSSL_cleanse(next, sizeof(next));
		if (pk != NULL)
			OPENSSL_cleanse(pk, sizeof(*pk));
		free(pk);
		*why = "out of resources";
		return NULL;
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(next, sizeof(next));
	pk->suite = s;
	return pk;
}

int
park_fd(const struct park *pk)
{
	return pk->fd;
}

/* Seals one record of type (after the content) into out with ctx, which
 * holds the key: the header, the encrypted content and type, the tag.
 * Returns its length, or -1. */
static int
seal(struct park *pk, EVP_CIPHER_CTX *ctx, unsigned char type,
    const unsigned char *in, size_t len, unsigned char *out)
{
	unsigned char nonce[IV_LEN];
	size_t clen = len + 1 + TAG_LEN;
	int ok, n1 = 0, n2 = 0, n3 = 0, i;

	memcpy(nonce, pk->iv, IV_LEN);
	for (i = 0; i < 8; i++)
		nonce[IV_LEN - 1 - i] ^= (unsigned char)(pk->seq >> (8 * i));
	out[0] = 23; /* application_data, whatever it holds */
	out[1] = 3;
	out[2] = 3;
	out[3] = (unsigned char)(clen >> 8);
	out[4] = (unsigned char)clen;
	ok = EVP_EncryptInit_ex(ctx, NULL, NULL, NULL, nonce) == 1 &&
	    EVP_EncryptUpdate(ctx, NULL, &n1, out, 5) == 1 &&
	    EVP_EncryptUpdate(ctx, out + 5, &n2, in, (int)len) == 1 &&
	    EVP_EncryptUpdate(ctx, out + 5 + n2, &n3, &type, 1) == 1 &&
	    EVP_EncryptFinal_ex(ctx, out + 5 + n2 + n3, &n1) == 1 &&
	    (size_t)(n2 + n3 + n1) == len + 1 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, TAG_LEN,
		out + 5 + len + 1) == 1;
	OPENSSL_cleanse(nonce, sizeof(nonce));
	if (!ok)
		return -1;
	pk->seq++;
	return (int)(5 + clen);
}

int
park_flush(struct park *pk)
{
	while (pk->out_off < pk->out_len) {
		/* Held back (MSG_MORE) for the close that always follows:
		 * the kernel then sends the answer's last segment with the
		 * FIN, one packet less each way for every answer. */
		ssize_t n = send(pk->fd, pk->out + pk->out_off,
		    pk->out_len - pk->out_off, MSG_MORE | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 1;
		if (n <= 0)
			return -1;
		pk->out_off += (size_t)n;
	}
	return 0;
}

int
park_send(struct park *pk, const void *data, size_t len)
{
	static const unsigned char close_notify[2] = {1, 0};
	const unsigned char *in = data;
	size_t nrec = len / RECORD_MAX + 1, off = 0, cap;
	EVP_CIPHER_CTX *ctx;
	int n = -1;

	if (pk->out != NULL)
		return -1; /* one answer per parked connection */
	cap = len + nrec * (5 + 1 + TAG_LEN) + 5 + 3 + TAG_LEN;
	pk->out = malloc(cap);
	ctx = EVP_CIPHER_CTX_new();
	/* The key once; each record then sets only its nonce. */
	if (pk->out == NULL || ctx == NULL ||
	    EVP_EncryptInit_ex(ctx, pk->suite->cipher, NULL, pk->key, NULL) !=
		1)
		goto out;
	do {
		size_t part = len - off > RECORD_MAX ? RECORD_MAX : len - off;

		n = seal(pk, ctx, 23, in + off, part, pk->out + pk->out_len);
		if (n < 0)
			goto out;
		pk->out_len += (size_t)n;
		off += part;
	} while (off < len);
	n = seal(pk, ctx, 21, close_notify, sizeof(close_notify),
	    pk->out + pk->out_len);
	if (n >= 0)
		pk->out_len += (size_t)n;
out:
	EVP_CIPHER_CTX_free(ctx);
	return n < 0 ? -1 : park_flush(pk);
}

void
park_free(struct park *pk)
{
	if (pk == NULL)
		return;
	if (pk->fd >= 0)
		close(pk->fd);
	free(pk->out);
	OPENSSL_cleanse(pk, sizeof(*pk));
	free(pk);
}
