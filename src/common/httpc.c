/* httpc.c - the HTTPS client of the agent and stewardctl: HTTP/1.1 over
 * OpenSSL, TLS 1.3 only, trusting the site CA alone (or, before a device
 * has it, the CA whose fingerprint its token pins), with a client
 * certificate from memory and the site's CRL. One keep-alive connection is
 * kept per thread for requests with the same credentials, so an agent run
 * makes one handshake. Written on OpenSSL directly rather than libcurl: the
 * agent loads a third of the libraries and starts in a third of the time. */
#include "httpc.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../crypto/pki.h"
#include "resp.h"
#include "util.h"

#define HEADERS_MAX (64 * 1024)
#define CONNECT_SECS 10
#define SESSION_MAX 65536 /* bytes of a saved TLS session file */
#define SLICE_MS 200 /* how often a blocked call looks at the cancel flag */
#define ONE_RECORD 16384 /* plaintext of a TLS record */

struct pin_state {
	const char *fpr;
	char *ca_pem;
	int failed;
};

/* Where the TLS session with the site is kept between processes (an
 * agent's next run resumes it instead of a full handshake); NULL: not. */
static char *session_path;
static pthread_mutex_t session_lock = PTHREAD_MUTEX_INITIALIZER;
/* The file the last resumed session came from: saving to it again leaves
 * no other file to prune. */
static char session_loaded_from[4200];

void
httpc_session_file(const char *path)
{
	pthread_mutex_lock(&session_lock);
	free(session_path);
	session_path = path ? strdup(path) : NULL;
	pthread_mutex_unlock(&session_lock);
}

/* SHA-256 (hex) of text, remembered for the last texts: a check-in names
 * its connections and its session file from the same certificates at
 * every request, and hashing them cost about 30,000 instructions each
 * time. The texts hold no secret. */
#define DIGESTS_KEPT 4
static struct {
	char *text;
	size_t len;
	char hex[PKI_FPR_HEX];
} kept_digests[DIGESTS_KEPT];
static unsigned digest_next;
static pthread_mutex_t digest_lock = PTHREAD_MUTEX_INITIALIZER;

static void
digest_of(const char *text, char out[PKI_FPR_HEX])
{
	size_t len = strlen(text), i;
	char *copy;

	pthread_mutex_lock(&digest_lock);
	for (i = 0; i < DIGESTS_KEPT; i++) {
		if (kept_digests[i].text != NULL && kept_digests[i].len == len &&
		    memcmp(kept_digests[i].text, text, len) == 0) {
			memcpy(out, kept_digests[i].hex, PKI_FPR_HEX);
			pthread_mutex_unlock(&digest_lock);
			return;
		}
	}
	pki_sha256_hex(text, len, out);
	if ((copy = strdup(text)) != NULL) {
		i = digest_next++ % DIGESTS_KEPT;
		free(kept_digests[i].text);
		kept_digests[i].text = copy;
		kept_digests[i].len = len;
		memcpy(kept_digests[i].hex, out, PKI_FPR_HEX);
	}
	pthread_mutex_unlock(&digest_lock);
}

/* Which CRL file content a connection was checked against. */
static void
crl_id(const char *crl_file, char *out, size_t size)
{
	struct stat sb;

	out[0] = '\0';
	if (crl_file != NULL && stat(crl_file, &sb) == 0)
		snprintf(out, size, "%llu.%llu.%lld.%ld",
		    (unsigned long long)sb.st_ino, (unsigned long long)sb.st_size,
		    (long long)sb.st_mtim.tv_sec, (long)sb.st_mtim.tv_nsec);
}

/* The session file of one client certificate and one CRL: a renewed
 * identity never resumes the session of the one it replaced, and a new
 * CRL means a full handshake, whose server certificate is checked against
 * it (a resumed one checks nothing). */
static int
session_file_of(const struct httpc_tls *tls, char *out, size_t size)
{
	char h[PKI_FPR_HEX], crl[96], *text;
	size_t len;

	if (session_path == NULL || tls->cert_pem == NULL)
		return -1;
	crl_id(tls->crl_file, crl, sizeof(crl));
	len = strlen(tls->cert_pem) + strlen(crl) + 2;
	if ((text = malloc(len)) == NULL)
		return -1;
	snprintf(text, len, "%s|%s", tls->cert_pem, crl);
	digest_of(text, h);
	free(text);
	return str_fmt(out, size, "%s.%.16s", session_path, h);
}

/* Removes the session files of earlier certificates and CRLs: only the
 * one just written (keep) can still be resumed. */
static void
session_prune(const char *keep)
{
	const char *slash = strrchr(session_path, '/');
	const char *base = slash ? slash + 1 : session_path;
	char dir[4096], path[4200];
	struct dirent *de;
	DIR *d;

	str_fmt(dir, sizeof(dir), "%.*s", slash ? (int)(slash - session_path)
						 : 1,
	    slash ? session_path : ".");
	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, base, strlen(base)) != 0 ||
		    de->d_name[strlen(base)] != '.')
			continue;
		str_fmt(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (strcmp(path, keep) != 0)
			unlink(path);
	}
	closedir(d);
}

static SSL_SESSION *
session_load(const struct httpc_tls *tls)
{
	SSL_SESSION *sess = NULL;
	char path[4200], *text;
	size_t len;
	BIO *b;

	pthread_mutex_lock(&session_lock);
	/* A session is about 2 KiB: anything past 64 KiB is not one. */
	if (session_file_of(tls, path, sizeof(path)) == 0 &&
	    file_read(path, SESSION_MAX, &text, &len, NULL) == 0) {
		b = BIO_new_mem_buf(text, (int)len);
		sess = b ? PEM_read_bio_SSL_SESSION(b, NULL, NULL, NULL) : NULL;
		BIO_free(b);
		OPENSSL_cleanse(text, len);
		free(text);
		ERR_clear_error();
		if (sess != NULL)
			str_copy(session_loaded_from,
			    sizeof(session_loaded_from), path);
	}
	pthread_mutex_unlock(&session_lock);
	if (sess != NULL && !SSL_SESSION_is_resumable(sess)) {
		SSL_SESSION_free(sess);
		sess = NULL;
	}
	return sess;
}

/* Keeps a new resumable session (0600, a cache rewritten in place). */
static void
session_save(SSL *ssl, const SSL_SESSION *loaded,
    const struct httpc_tls *tls)
{
	SSL_SESSION *sess = SSL_get1_session(ssl);
	char path[4200];
	unsigned char *der = NULL;
	size_t dl = 0;
	BIO *bio;
	char *data;
	long len;

	if (sess == NULL || sess == loaded || !SSL_SESSION_is_resumable(sess)) {
		SSL_SESSION_free(sess);
		return;
	}
	/* The PEM holds the resumption secret: its buffer is cleared when
	 * freed. */
	bio = BIO_new(BIO_s_secmem());
	der = pki_session_lean_der(sess, &dl);
	if (bio != NULL && der != NULL &&
	    PEM_write_bio(bio, PEM_STRING_SSL_SESSION, "", der, (long)dl) > 0 &&
	    (len = BIO_get_mem_data(bio, &data)) > 0) {
		pthread_mutex_lock(&session_lock);
		/* A cache: a session lost in a crash costs one full
		 * handshake, so it is not synced. */
		if (session_file_of(tls, path, sizeof(path)) == 0 &&
		    file_write_cache(path, data, (size_t)len, 0600, NULL) ==
			0 &&
		    strcmp(path, session_loaded_from) != 0) {
			session_prune(path);
			str_copy(session_loaded_from,
			    sizeof(session_loaded_from), path);
		}
		pthread_mutex_unlock(&session_lock);
	}
	OPENSSL_clear_free(der, dl);
	BIO_free(bio);
	SSL_SESSION_free(sess);
}

/* A connection, kept per thread between requests with the same key. */
struct hconn {
	int fd;
	SSL *ssl;
	SSL_CTX *ctx;
	SSL_SESSION *loaded; /* the session offered for resumption */
	int saved;
	/* During the handshake only: what the callbacks load on demand. */
	const struct httpc_tls *tls;
	int trust_loaded;
	STACK_OF(X509_CRL) *crls; /* tls->crl_file's, once loaded */
	char why[160]; /* why a callback failed */
	char key[PKI_FPR_HEX]; /* SHA-256 of host, port and credentials */
};

struct target {
	char host[256];
	char port[8];
	const char *path; /* into the URL */
	int is_ip;
};

void
httpc_global_init(void)
{
	/* What OpenSSL 3.0 does at start is most of a check-in's CPU; what
	 * the agent and stewardctl do not need of it is left out:
	 * - openssl.cnf: TLS here is fixed by Steward (TLS 1.3, the site's
	 *   own CA), so the distribution's file changes nothing and cost a
	 *   millisecond. It is read when OPENSSL_CONF names one (a FIPS
	 *   provider, say).
	 * - The legacy tables of every cipher and digest, which the name map
	 *   copies when the first algorithm is fetched: 2 M instructions.
	 *   Algorithms are fetched from the providers by their own names.
	 *   The map is made at once, from empty tables; then the digests of
	 *   certificate signatures are put back in the legacy table, where
	 *   certificate checks look a signature's digest up to weigh it (a
	 *   digest missing there reads as too weak: a check fails closed).
	 * - The clean-up at exit, table by table: the process's end returns
	 *   the memory (a million instructions).
	 * - The error texts of every library but TLS's (TLS's say what alert
	 *   a site sent; the others are named by conn_error()): a million. */
	static const EVP_MD *(*const digests[])(void) = {EVP_sha224,
	    EVP_sha256, EVP_sha384, EVP_sha512, EVP_sha512_224,
	    EVP_sha512_256, EVP_sha3_224, EVP_sha3_256, EVP_sha3_384,
	    EVP_sha3_512, EVP_sm3, EVP_sha1, EVP_md5};
	size_t i;

	OPENSSL_init_ssl((getenv("OPENSSL_CONF") != NULL
			     ? OPENSSL_INIT_LOAD_CONFIG
			     : OPENSSL_INIT_NO_LOAD_CONFIG) |
		OPENSSL_INIT_NO_ADD_ALL_CIPHERS |
		OPENSSL_INIT_NO_ADD_ALL_DIGESTS | OPENSSL_INIT_NO_ATEXIT |
		OPENSSL_INIT_NO_LOAD_CRYPTO_STRINGS |
		OPENSSL_INIT_LOAD_SSL_STRINGS,
	    NULL);
	EVP_MD_free(EVP_MD_fetch(NULL, "SHA256", NULL));
	for (i = 0; i < sizeof(digests) / sizeof(digests[0]); i++)
		if (digests[i]() != NULL)
			EVP_add_digest(digests[i]());
	signal(SIGPIPE, SIG_IGN);
}

static int
parse_url(const char *url, struct target *t)
{
	const char *h, *end, *colon;
	size_t n;

	memset(t, 0, sizeof(*t));
	if (strncmp(url, "https://", 8) != 0)
		return -1;
	h = url + 8;
	end = h + strcspn(h, "/?");
	t->path = *end ? end : "/";
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (rb == NULL || (n = (size_t)(rb - h - 1)) >= sizeof(t->host))
			return -1;
		memcpy(t->host, h + 1, n);
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		n = (size_t)((colon ? colon : end) - h);
		if (n == 0 || n >= sizeof(t->host))
			return -1;
		memcpy(t->host, h, n);
	}
	if (colon != NULL) {
		n = (size_t)(end - colon - 1);
		if (n == 0 || n >= sizeof(t->port))
			return -1;
		memcpy(t->port, colon + 1, n);
	} else {
		str_copy(t->port, sizeof(t->port), "443");
	}
	{
		unsigned char buf[16];

		t->is_ip = inet_pton(AF_INET, t->host, buf) == 1 ||
		    inet_pton(AF_INET6, t->host, buf) == 1;
	}
	return 0;
}

/* Replaces OpenSSL's chain building for the enrollment connection: the chain
 * the server sent must contain the CA whose fingerprint the token pins, and
 * the server certificate must verify against that CA alone. Nothing is sent
 * before this passes. */
static int
pin_verify(X509_STORE_CTX *sctx, void *arg)
{
	struct pin_state *pin = arg;
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_untrusted(sctx);
	X509 *leaf = X509_STORE_CTX_get0_cert(sctx), *ca = NULL;
	X509_STORE *store = NULL;
	X509_STORE_CTX *vctx = NULL;
	int i, ok = 0;

	for (i = 0; chain != NULL && i < sk_X509_num(chain); i++) {
		char fpr[PKI_FPR_HEX];
		X509 *c = sk_X509_value(chain, i);

		if (pki_cert_fingerprint(c, fpr) == 0 &&
		    strcmp(fpr, pin->fpr) == 0) {
			ca = c;
			break;
		}
	}
	if (ca == NULL || leaf == NULL)
		goto out;
	store = X509_STORE_new();
	vctx = X509_STORE_CTX_new();
	if (store == NULL || vctx == NULL || !X509_STORE_add_cert(store, ca) ||
	    !X509_STORE_CTX_init(vctx, store, leaf, NULL))
		goto out;
	X509_STORE_CTX_set_purpose(vctx, X509_PURPOSE_SSL_SERVER);
	if (X509_verify_cert(vctx) != 1)
		goto out;
	free(pin->ca_pem);
	pin->ca_pem = pki_cert_to_pem(ca);
	ok = pin->ca_pem != NULL;
out:
	X509_STORE_CTX_free(vctx);
	X509_STORE_free(store);
	if (!ok) {
		pin->failed = 1;
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_CERT_UNTRUSTED);
		return 0;
	}
	X509_STORE_CTX_set_error(sctx, X509_V_OK);
	return 1;
}


static void
hconn_close(struct hconn *c)
{
	if (c == NULL)
		return;
	if (c->ssl != NULL) {
		/* Ended cleanly: an SSL freed unshut marks its session
		 * unusable. */
		SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN |
			SSL_RECEIVED_SHUTDOWN);
		SSL_free(c->ssl);
	}
	SSL_SESSION_free(c->loaded);
	sk_X509_CRL_pop_free(c->crls, X509_CRL_free);
	if (c->fd >= 0)
		close(c->fd);
	SSL_CTX_free(c->ctx);
	free(c);
}

/* The connection kept by this thread. */
static pthread_key_t conn_key;
static pthread_once_t conn_once = PTHREAD_ONCE_INIT;

static void
conn_free(void *c)
{
	hconn_close(c);
}

static void
conn_free_main(void)
{
	struct hconn *c = pthread_getspecific(conn_key);

	pthread_setspecific(conn_key, NULL);
	hconn_close(c);
}

static void
conn_key_init(void)
{
	if (pthread_key_create(&conn_key, conn_free) == 0)
		atexit(conn_free_main);
}

/* Takes the kept connection when its key matches and the server has not
 * closed it meanwhile. */
static struct hconn *
conn_take(const char *key)
{
	struct hconn *c;
	struct pollfd pfd;

	pthread_once(&conn_once, conn_key_init);
	c = pthread_getspecific(conn_key);
	if (c == NULL)
		return NULL;
	pthread_setspecific(conn_key, NULL);
	pfd.fd = c->fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	/* Readable while idle means closed (or garbage): not reusable. */
	if (strcmp(c->key, key) != 0 || SSL_has_pending(c->ssl) ||
	    poll(&pfd, 1, 0) != 0) {
		hconn_close(c);
		return NULL;
	}
	return c;
}

void
httpc_release(void)
{
	pthread_once(&conn_once, conn_key_init);
	conn_free_main();
}

static void
conn_keep(struct hconn *c)
{
	pthread_once(&conn_once, conn_key_init);
	hconn_close(pthread_getspecific(conn_key));
	if (pthread_setspecific(conn_key, c) != 0)
		hconn_close(c);
}

/* Waits for the descriptor within the deadline, in slices that look at the
 * cancel flag: 0 ready, -1 with err. */
static int
wait_fd(int fd, short events, int64_t deadline, const volatile int *cancel,
    const char *url, char *err)
{
	for (;;) {
		struct pollfd pfd = {fd, events, 0};
		int64_t left = deadline - mono_ms();
		int r;

		if (cancel != NULL && *cancel)
			return err_set(err, "request to %s cancelled", url);
		if (left <= 0)
			return err_set(err, "cannot reach %s: timed out", url);
		r = poll(&pfd, 1, left < SLICE_MS ? (int)left : SLICE_MS);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return err_set(err, "cannot reach %s: %s", url,
			    strerror(errno));
	}
}

static int
tcp_connect(const struct target *t, int64_t deadline,
    const volatile int *cancel, const char *url, char *err)
{
	struct addrinfo hints, *ai = NULL, *a;
	int fd = -1, rc, soerr = 0, one = 1;
	socklen_t sl = sizeof(soerr);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(t->host, t->port, &hints, &ai);
	if (rc != 0)
		return err_set(err, "cannot reach %s: %s", url,
		    gai_strerror(rc));
	for (a = ai; a != NULL; a = a->ai_next) {
		fd = socket(a->ai_family,
		    a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS &&
		    wait_fd(fd, POLLOUT, deadline, cancel, url, err) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0 &&
		    soerr == 0)
			break;
		if (soerr != 0)
			err_set(err, "cannot reach %s: %s", url,
			    strerror(soerr));
		else if (errno != EINPROGRESS)
			err_set(err, "cannot reach %s: %s", url,
			    strerror(errno));
		close(fd);
		fd = -1;
		if (cancel != NULL && *cancel)
			break;
	}
	freeaddrinfo(ai);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/* Adds every certificate of a PEM text to the store. */
static int
store_add_pem(X509_STORE *store, const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x;
	int n = 0;

	while (bio != NULL &&
	    (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(store, x))
			n++;
		X509_free(x);
	}
	ERR_clear_error();
	BIO_free(bio);
	return n;
}

/* The client certificate, parsed when the server asks for one: a resumed
 * session (an agent's usual run) never does, and parsing costs. */
static int
client_cert(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
	struct hconn *c = SSL_get_app_data(ssl);
	BIO *cb, *kb;
	X509 *x = NULL;
	EVP_PKEY *k = NULL;

	if (c == NULL || c->tls == NULL || c->tls->cert_pem == NULL ||
	    c->tls->key_pem == NULL)
		return 0;
	cb = BIO_new_mem_buf(c->tls->cert_pem, -1);
	kb = BIO_new_mem_buf(c->tls->key_pem, -1);
	if (cb != NULL && kb != NULL) {
		x = PEM_read_bio_X509(cb, NULL, NULL, NULL);
		k = PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL);
	}
	BIO_free(cb);
	BIO_free(kb);
	if (x == NULL || k == NULL || X509_check_private_key(x, k) != 1) {
		X509_free(x);
		EVP_PKEY_free(k);
		ERR_clear_error();
		str_copy(c->why, sizeof(c->why),
		    "cannot use the client certificate and key");
		return 0;
	}
	*x509 = x;
	*pkey = k;
	return 1;
}

/* The CRLs of a PEM file (the agent's own, at most PKI_CRL_PEM_MAX): NULL
 * when it holds none. */
static STACK_OF(X509_CRL) *
crls_read(const char *path)
{
	STACK_OF(X509_CRL) *crls = sk_X509_CRL_new_null();
	X509_CRL *crl;
	char *pem;
	size_t len;
	BIO *b;

	if (crls == NULL ||
	    file_read(path, PKI_CRL_PEM_MAX, &pem, &len, NULL) < 0) {
		sk_X509_CRL_free(crls);
		return NULL;
	}
	if ((b = BIO_new_mem_buf(pem, (int)len)) != NULL) {
		while ((crl = PEM_read_bio_X509_CRL(b, NULL, NULL, NULL)) !=
		    NULL)
			if (!sk_X509_CRL_push(crls, crl))
				X509_CRL_free(crl);
		BIO_free(b);
	}
	ERR_clear_error();
	free(pem);
	if (sk_X509_CRL_num(crls) == 0) {
		sk_X509_CRL_free(crls);
		return NULL;
	}
	return crls;
}

/* The server's certificate against the CRLs held: at least one must be
 * its issuer's, signed by it, current, and of a scope that covers it
 * (every certificate, or the server certificates' partition the agent
 * fetches), and none may list it. Steward checks this itself, after
 * OpenSSL's verification of the chain: OpenSSL takes a CRL with an
 * issuingDistributionPoint to cover only certificates that name it in a
 * cRLDistributionPoints extension, and the site's certificates name
 * none (the partition is all an agent needs, and stays small when the
 * full CRL holds half the fleet). */
static int
crl_check(struct hconn *c, X509_STORE_CTX *sctx)
{
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(sctx);
	X509 *leaf, *issuer;
	X509_REVOKED *rev;
	const ASN1_TIME *next;
	int i, usable = 0, why = X509_V_ERR_UNABLE_TO_GET_CRL;

	if (chain == NULL || sk_X509_num(chain) < 2)
		goto refuse;
	leaf = sk_X509_value(chain, 0);
	issuer = sk_X509_value(chain, 1);
	for (i = 0; i < sk_X509_CRL_num(c->crls); i++) {
		X509_CRL *crl = sk_X509_CRL_value(c->crls, i);
		int scope = pki_crl_issued_by(crl, issuer);

		if (scope == -2)
			why = X509_V_ERR_CRL_SIGNATURE_FAILURE;
		if (scope < 0)
			continue;
		if (X509_cmp_time(X509_CRL_get0_lastUpdate(crl), NULL) > 0) {
			why = X509_V_ERR_CRL_NOT_YET_VALID;
			continue;
		}
		next = X509_CRL_get0_nextUpdate(crl);
		if (next == NULL || X509_cmp_time(next, NULL) < 0) {
			why = X509_V_ERR_CRL_HAS_EXPIRED;
			continue;
		}
		if (X509_CRL_get0_by_serial(crl, &rev,
			X509_get0_serialNumber(leaf)) == 1) {
			why = X509_V_ERR_CERT_REVOKED;
			goto refuse;
		}
		usable = 1;
	}
	if (usable)
		return 1;
refuse:
	X509_STORE_CTX_set_error(sctx, why);
	return 0;
}

/* Verifies the server's chain against the site CA (and the CRL), loaded
 * at the first full handshake: a resumed one verifies nothing, so it
 * parses neither. */
static int
site_verify(X509_STORE_CTX *sctx, void *arg)
{
	struct hconn *c = arg;
	X509_STORE *store = X509_STORE_CTX_get0_store(sctx);
	int r;

	if (c->tls == NULL) {
		X509_STORE_CTX_set_error(sctx, X509_V_ERR_UNSPECIFIED);
		return 0;
	}
	if (!c->trust_loaded) {
		if (store_add_pem(store, c->tls->ca_pem) == 0) {
			str_copy(c->why, sizeof(c->why),
			    "no usable CA certificate");
			X509_STORE_CTX_set_error(sctx,
			    X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY);
			return 0;
		}
		if (c->tls->crl_file != NULL &&
		    (c->crls = crls_read(c->tls->crl_file)) == NULL) {
			str_fmt(c->why, sizeof(c->why),
			    "cannot read the CRL %s", c->tls->crl_file);
			X509_STORE_CTX_set_error(sctx,
			    X509_V_ERR_UNABLE_TO_GET_CRL);
			return 0;
		}
		c->trust_loaded = 1;
	}
	if ((r = X509_verify_cert(sctx)) != 1)
		return r;
	return c->tls->crl_file == NULL || crl_check(c, sctx);
}

static SSL_CTX *
make_ctx(struct hconn *c, const struct httpc_tls *tls, struct pin_state *pin,
    const char *url, char *err)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	X509_STORE *store;

	if (ctx == NULL) {
		err_set(err, "cannot start TLS");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_AUTO_RETRY);
	/* Records are read as they come, several per system call; without
	 * it each record took one read for its header and one for the rest
	 * (a resumed handshake's four records, an answer's two). Safe here:
	 * a connection waits on its socket only when OpenSSL says it needs
	 * more (SSL_ERROR_WANT_READ), and a kept connection with bytes left
	 * in OpenSSL is not used again (conn_take). */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	store = SSL_CTX_get_cert_store(ctx);
	X509_STORE_set_purpose(store, X509_PURPOSE_SSL_SERVER);
	if (tls->ca_pem != NULL) {
		SSL_CTX_set_cert_verify_callback(ctx, site_verify, c);
	} else if (tls->pin_fpr != NULL) {
		/* Nothing to check a CRL's signature with yet. */
		if (tls->crl_file != NULL) {
			SSL_CTX_free(ctx);
			err_set(err, "a CRL needs the site CA, not a pin");
			return NULL;
		}
		SSL_CTX_set_cert_verify_callback(ctx, pin_verify, pin);
	} else {
		SSL_CTX_free(ctx);
		err_set(err, "no trust anchor for %s", url);
		return NULL;
	}
	if (tls->cert_pem != NULL && tls->key_pem != NULL)
		SSL_CTX_set_client_cert_cb(ctx, client_cert);
	return ctx;
}

/* One line for an OpenSSL error of a connection: TLS's own texts (an alert
 * from the site, a record that does not decrypt) are loaded; the rest are
 * named by library and reason. */
static void
conn_error(unsigned long oe, char *err)
{
	const char *why = oe ? ERR_reason_error_string(oe) : NULL;

	if (oe == 0)
		err_set(err, "connection broken");
	else if (why != NULL)
		err_set(err, "%s", why);
	else
		err_set(err, "TLS error (OpenSSL library %d, reason %d)",
		    ERR_GET_LIB(oe), ERR_GET_REASON(oe));
}

/* Runs an SSL call to completion within the deadline: 1 done, 0 the peer
 * closed (reads), -1 with err. */
static int
ssl_io(struct hconn *c, int (*op)(SSL *, void *, int, size_t *), void *buf,
    int len, size_t *done, int64_t deadline, const volatile int *cancel,
    const char *url, char *err)
{
	for (;;) {
		int r = op(c->ssl, buf, len, done), e;

		if (r > 0)
			return 1;
		e = SSL_get_error(c->ssl, r);
		if (e == SSL_ERROR_ZERO_RETURN)
			return 0;
		if (e == SSL_ERROR_WANT_READ) {
			if (wait_fd(c->fd, POLLIN, deadline, cancel, url, err) <
			    0)
				return -1;
		} else if (e == SSL_ERROR_WANT_WRITE) {
			if (wait_fd(c->fd, POLLOUT, deadline, cancel, url,
				err) < 0)
				return -1;
		} else {
			unsigned long oe = ERR_peek_last_error();

			if (e == SSL_ERROR_SYSCALL && oe == 0)
				return 0; /* closed without close_notify */
			conn_error(oe, err);
			ERR_clear_error();
			return -1;
		}
	}
}

static int
op_handshake(SSL *ssl, void *buf, int len, size_t *done)
{
	(void)buf;
	(void)len;
	(void)done;
	return SSL_connect(ssl);
}

static int
op_read(SSL *ssl, void *buf, int len, size_t *done)
{
	return SSL_read_ex(ssl, buf, (size_t)len, done);
}

static int
op_write(SSL *ssl, void *buf, int len, size_t *done)
{
	return SSL_write_ex(ssl, buf, (size_t)len, done);
}

static struct hconn *
conn_open(const struct target *t, const struct httpc_tls *tls,
    struct pin_state *pin, const char *key, int64_t deadline,
    const char *url, char *err)
{
	struct hconn *c = calloc(1, sizeof(*c));
	char why[ERRMSG_MAX] = "";
	int r;

	if (c == NULL) {
		err_set(err, "out of memory");
		return NULL;
	}
	c->fd = -1;
	str_copy(c->key, sizeof(c->key), key);
	c->ctx = make_ctx(c, tls, pin, url, err);
	if (c->ctx == NULL) {
		hconn_close(c);
		return NULL;
	}
	c->fd = tcp_connect(t, mono_ms() + CONNECT_SECS * 1000 < deadline
		? mono_ms() + CONNECT_SECS * 1000
		: deadline,
	    tls->cancel, url, err);
	if (c->fd < 0 || (c->ssl = SSL_new(c->ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1 ||
	    SSL_set_app_data(c->ssl, c) != 1) {
		if (c->fd >= 0)
			err_set(err, "cannot start TLS with %s", url);
		hconn_close(c);
		return NULL;
	}
	if (t->is_ip) {
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), t->host);
	} else {
		SSL_set_tlsext_host_name(c->ssl, t->host);
		SSL_set1_host(c->ssl, t->host);
	}
	/* Only with the site's own CA: never while pinning (enrollment). */
	if (tls->ca_pem != NULL &&
	    (c->loaded = session_load(tls)) != NULL)
		SSL_set_session(c->ssl, c->loaded);
	c->tls = tls;
	r = ssl_io(c, op_handshake, NULL, 0, NULL, deadline, tls->cancel, url,
	    why);
	c->tls = NULL;
	if (r == 1 && c->why[0] == '\0')
		return c;
	if (c->why[0] != '\0')
		err_set(err, "cannot reach %s: %s", url, c->why);
	else if (pin->failed)
		err_set(err, "the server at %s is not the site this token "
			     "names (its certificate does not chain to the "
			     "pinned site CA); nothing was sent",
		    url);
	else if (SSL_get_verify_result(c->ssl) != X509_V_OK)
		err_set(err, "cannot reach %s: the server's certificate is "
			     "not trusted (%s)",
		    url,
		    X509_verify_cert_error_string(
			SSL_get_verify_result(c->ssl)));
	else
		err_set(err, "cannot reach %s: %s", url,
		    why[0] ? why : "the TLS handshake failed");
	hconn_close(c);
	return NULL;
}

/* The key of a connection: where to, trusting what, as whom. The client
 * certificate stands for its key: a kept connection proved it holds the
 * certificate's key, and no other key can be used with it. */
static void
conn_key_of(const struct target *t, const struct httpc_tls *tls, char *out)
{
	char *text, crlid[96];
	size_t len;

	/* A CRL file that changed means a connection checked against it. */
	crl_id(tls->crl_file, crlid, sizeof(crlid));

	len = strlen(t->host) + strlen(t->port) + 8 +
	    (tls->ca_pem ? strlen(tls->ca_pem) : 0) +
	    (tls->cert_pem ? strlen(tls->cert_pem) : 0) +
	    (tls->crl_file ? strlen(tls->crl_file) : 0) + strlen(crlid);
	text = malloc(len + 1);
	if (text == NULL) {
		str_copy(out, PKI_FPR_HEX, "-");
		return;
	}
	snprintf(text, len + 1, "%s|%s|%s|%s|%s|%s", t->host, t->port,
	    tls->ca_pem ? tls->ca_pem : "", tls->cert_pem ? tls->cert_pem : "",
	    tls->crl_file ? tls->crl_file : "", crlid);
	digest_of(text, out);
	free(text);
}

/* Response parsing. */
struct reply {
	char *data; /* headers then body, growing */
	size_t len, cap;
	size_t head_len; /* 0 until the headers are complete */
	long status;
	long long clen; /* -1 unknown */
	int chunked, close;
};

static int
reply_more(struct reply *rp, struct hconn *c, int64_t deadline,
    const volatile int *cancel, const char *url, char *err)
{
	size_t got = 0;
	int r;

	if (rp->cap - rp->len < 16384) {
		size_t ncap = rp->cap ? rp->cap * 2 : 32768;
		char *d;

		if (ncap > HTTPC_BODY_MAX + HEADERS_MAX + 1024)
			ncap = HTTPC_BODY_MAX + HEADERS_MAX + 1024;
		if (ncap <= rp->len + 1)
			return err_set(err, "response from %s is larger than "
					    "%d bytes",
			    url, HTTPC_BODY_MAX);
		d = realloc(rp->data, ncap);
		if (d == NULL)
			return err_set(err, "out of memory");
		rp->data = d;
		rp->cap = ncap;
	}
	r = ssl_io(c, op_read, rp->data + rp->len,
	    (int)(rp->cap - rp->len - 1), &got, deadline, cancel, url, err);
	if (r < 0)
		return -1;
	if (r == 0)
		return 0;
	rp->len += got;
	rp->data[rp->len] = '\0';
	return 1;
}

/* Takes in an answer's head (common/resp.c): -1 when it is malformed. */
static int
parse_headers(struct reply *rp, struct httpc_resp *resp)
{
	struct resp_head h;

	if (resp_parse_head(rp->data, rp->head_len, &h) < 0)
		return -1;
	rp->status = h.status;
	rp->chunked = h.length == RESP_CHUNKED;
	rp->clen = h.length >= 0 ? h.length : -1;
	rp->close = h.close;
	/* Kept without its quotes, for If-None-Match; a weak or odd one is
	 * not kept (the next request then asks without one). */
	if (resp_etag_opaque(h.etag, resp->etag, sizeof(resp->etag)) < 0)
		resp->etag[0] = '\0';
	return 0;
}

int
httpc_dechunk(char *body, size_t len, size_t *blen)
{
	size_t in = 0, out = 0;

	for (;;) {
		char *crlf = memmem(body + in, len - in, "\r\n", 2);
		long long n;
		size_t size;

		if (crlf == NULL)
			return len - in > 64 ? -1 : 0; /* a size line is short */
		n = resp_chunk_size(body + in, (size_t)(crlf - (body + in)));
		if (n < 0 || n > HTTPC_BODY_MAX)
			return -1;
		size = (size_t)n;
		in = (size_t)(crlf - body) + 2;
		if (size == 0) {
			*blen = out;
			return len - in >= 2 ? 1 : 0;
		}
		if (len - in < size + 2)
			return 0;
		if (memcmp(body + in + size, "\r\n", 2) != 0)
			return -1;
		memmove(body + out, body + in, size);
		out += size;
		in += size + 2;
	}
}

/* Reads one response; 1 complete, 0 the connection closed before any of it
 * (a stale keep-alive connection: retry), -1 with err. */
static int
read_reply(struct hconn *c, struct reply *rp, struct httpc_resp *resp,
    int head_request, int64_t deadline, const volatile int *cancel,
    const char *url, char *err)
{
	for (;;) {
		int r;

		if (rp->head_len == 0 && rp->len > 0) {
			char *e = memmem(rp->data, rp->len, "\r\n\r\n", 4);

			if (e != NULL) {
				rp->head_len = (size_t)(e - rp->data) + 4;
				if (strncmp(rp->data, "HTTP/", 5) != 0)
					return err_set(err, "%s did not answer "
							    "HTTP",
					    url);
				if (parse_headers(rp, resp) < 0)
					return err_set(err, "%s sent a "
							    "malformed answer "
							    "head",
					    url);
			} else if (rp->len > HEADERS_MAX) {
				return err_set(err, "%s sent headers over %d "
						    "bytes",
				    url, HEADERS_MAX);
			}
		}
		if (rp->head_len > 0) {
			size_t have = rp->len - rp->head_len;

			if (head_request || rp->status == 304 ||
			    rp->status == 204 || rp->status / 100 == 1)
				return 1;
			/* A chunked body ends with its last, empty chunk:
			 * decoded once that has arrived, not at every read. */
			if (rp->chunked && have >= 5 &&
			    memcmp(rp->data + rp->len - 5, "0\r\n\r\n", 5) == 0) {
				size_t blen;
				char *copy;
				int d;

				copy = malloc(have + 1);
				if (copy == NULL)
					return err_set(err, "out of memory");
				memcpy(copy, rp->data + rp->head_len, have);
				d = httpc_dechunk(copy, have, &blen);
				if (d < 0) {
					free(copy);
					return err_set(err, "%s sent a "
							    "malformed chunk",
					    url);
				}
				if (d == 1) {
					memcpy(rp->data + rp->head_len, copy,
					    blen);
					rp->len = rp->head_len + blen;
					rp->data[rp->len] = '\0';
					free(copy);
					return 1;
				}
				free(copy);
			} else if (!rp->chunked && rp->clen >= 0 &&
			    (long long)have >= rp->clen) {
				rp->len = rp->head_len + (size_t)rp->clen;
				rp->data[rp->len] = '\0';
				return 1;
			}
			if (rp->clen > HTTPC_BODY_MAX ||
			    have > HTTPC_BODY_MAX)
				return err_set(err, "response from %s is larger "
						    "than %d bytes",
				    url, HTTPC_BODY_MAX);
		}
		r = reply_more(rp, c, deadline, cancel, url, err);
		if (r < 0)
			return -1;
		if (r == 0) {
			if (rp->len == 0)
				return 0;
			/* A body delimited by the end of the connection
			 * (RESP_TO_CLOSE: the head said it closes). */
			if (rp->head_len > 0 && rp->clen < 0 && !rp->chunked)
				return 1;
			return err_set(err, "%s closed the connection in the "
					    "middle of its answer",
			    url);
		}
	}
}

int
httpc_request(const char *method, const char *url,
    const struct httpc_tls *tls, const char *body, const char *extra_header,
    struct httpc_resp *resp, char *err)
{
	return httpc_request_raw(method, url, tls, body,
	    body ? strlen(body) : 0, "application/json", extra_header, resp,
	    err);
}

int
httpc_request_raw(const char *method, const char *url,
    const struct httpc_tls *tls, const void *body, size_t body_len,
    const char *content_type, const char *extra_header,
    struct httpc_resp *resp, char *err)
{
	struct pin_state pin = {tls->pin_fpr, NULL, 0};
	struct target t;
	struct hconn *c = NULL;
	struct reply rp;
	char key[PKI_FPR_HEX], *head = NULL, why[ERRMSG_MAX];
	int64_t deadline = mono_ms() +
	    (tls->timeout_secs > 0 ? tls->timeout_secs : 30) * 1000;
	int attempt, reuse = tls->ca_pem != NULL, r = -1, hlen = 0;
	size_t done, rest = body_len; /* of the body, after the headers */

	memset(resp, 0, sizeof(*resp));
	memset(&rp, 0, sizeof(rp));
	if (parse_url(url, &t) < 0)
		return err_set(err, "'%.200s' is not an https:// URL", url);
	{
		size_t cap = strlen(method) + strlen(t.path) + strlen(t.host) +
		    strlen(content_type ? content_type : "") +
		    (extra_header ? strlen(extra_header) : 0) + 256;
		int v6 = strchr(t.host, ':') != NULL;
		char clen[64] = "";

		head = malloc(cap);
		if (head == NULL)
			return err_set(err, "out of memory");
		if (body != NULL)
			snprintf(clen, sizeof(clen),
			    "Content-Length: %zu\r\n", body_len);
		hlen = snprintf(head, cap,
		    "%s %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nAccept: "
		    "application/json\r\n%s%s%s%s%s%s\r\n",
		    method, t.path, v6 ? "[" : "", t.host, v6 ? "]" : "",
		    t.port, body != NULL ? "Content-Type: " : "",
		    body != NULL ? content_type : "", body != NULL ? "\r\n" : "",
		    clen, extra_header ? extra_header : "",
		    extra_header ? "\r\n" : "");
		if (hlen < 0 || (size_t)hlen >= cap) {
			free(head);
			return err_set(err, "request too large");
		}
		/* A small body goes in the headers' record: one record and
		 * one system call instead of two. */
		if (body_len > 0 && (size_t)hlen < ONE_RECORD &&
		    body_len <= ONE_RECORD - (size_t)hlen) {
			char *both = realloc(head, (size_t)hlen + body_len);

			if (both == NULL) {
				free(head);
				return err_set(err, "out of memory");
			}
			head = both;
			memcpy(head + hlen, body, body_len);
			hlen += (int)body_len;
			rest = 0;
		}
	}
	if (reuse)
		conn_key_of(&t, tls, key);
	else
		str_copy(key, sizeof(key), "-");
	/* A kept connection the server closed meanwhile gets one retry on a
	 * new one. */
	for (attempt = 0; attempt < 2; attempt++) {
		int fresh = 0;

		c = reuse ? conn_take(key) : NULL;
		if (c == NULL) {
			c = conn_open(&t, tls, &pin, key, deadline, url, err);
			if (c == NULL)
				goto out;
			fresh = 1;
		}
		if (ssl_io(c, op_write, head, hlen, &done, deadline,
			tls->cancel, url, why) != 1 ||
		    (rest > 0 &&
			ssl_io(c, op_write, (void *)body, (int)rest, &done,
			    deadline, tls->cancel, url, why) != 1)) {
			hconn_close(c);
			c = NULL;
			if (!fresh && !(tls->cancel && *tls->cancel))
				continue;
			goto broken;
		}
		if (tls->sent != NULL)
			tls->sent(tls->sent_arg);
		r = read_reply(c, &rp, resp, strcmp(method, "HEAD") == 0,
		    deadline, tls->cancel, url, why);
		if (r == 1)
			break;
		hconn_close(c);
		c = NULL;
		free(rp.data);
		memset(&rp, 0, sizeof(rp));
		if (r == 0 && !fresh)
			continue;
		if (r < 0 && why[0] && strstr(why, "cancelled") != NULL) {
			str_copy(err, ERRMSG_MAX, why);
			goto out;
		}
		goto broken;
	}
	if (r != 1)
		goto broken;
	resp->status = rp.status;
	resp->len = rp.len - rp.head_len;
	resp->body = malloc(resp->len + 1);
	if (resp->body == NULL) {
		err_set(err, "out of memory");
		r = -1;
		goto out;
	}
	memcpy(resp->body, rp.data + rp.head_len, resp->len);
	resp->body[resp->len] = '\0';
	/* The tickets came with the answer: keep a new one for next time. */
	if (reuse && !c->saved) {
		session_save(c->ssl, c->loaded, tls);
		c->saved = 1;
	}
	if (reuse && !rp.close) {
		conn_keep(c);
		c = NULL;
	}
	r = 0;
	goto out;
broken:
	/* With TLS 1.3 a refused client certificate shows as a broken
	 * connection right after the handshake. */
	if (tls->cert_pem != NULL)
		err_set(err, "the site at %s ended the connection (%s); it may "
			     "have refused this certificate as revoked or "
			     "expired",
		    url, why[0] ? why : "no answer");
	else
		err_set(err, "cannot reach %s: %s", url,
		    why[0] ? why : "no answer");
	r = -1;
out:
	hconn_close(c);
	free(rp.data);
	/* It may hold the body, an enrollment token's included. */
	if (head != NULL)
		OPENSSL_cleanse(head, (size_t)hlen);
	free(head);
	resp->pin_failed = pin.failed;
	resp->pinned_ca = pin.ca_pem;
	if (r < 0 && resp->body != NULL) {
		free(resp->body);
		resp->body = NULL;
	}
	return r;
}

void
httpc_resp_free(struct httpc_resp *resp)
{
	free(resp->body);
	free(resp->pinned_ca);
	memset(resp, 0, sizeof(*resp));
}
