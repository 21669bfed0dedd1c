/* signer.c - the signer process, whole: it alone loads the site CA key and
 * the policy-signing key, drops privileges, and answers typed, length-checked
 * requests from its parent over a socketpair. It has no network and no
 * database, and logs every signature it makes. */
#include "signer.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "common/log.h"
#include "common/util.h"

/* --- wire helpers, both sides --- */

static int
msg_send(int fd, uint32_t type, const void *p, size_t len)
{
	struct signer_hdr h = {type, (uint32_t)len};

	if (len > SIGNER_MSG_MAX)
		return -1;
	if (fd_io_full(fd, &h, sizeof(h), 1) < 0)
		return -1;
	return len ? fd_io_full(fd, (void *)p, len, 1) : 0;
}

/* Reads one message; a length over the limit is a broken peer. */
static int
msg_recv(int fd, uint32_t *type, unsigned char **p, size_t *len)
{
	struct signer_hdr h;

	*p = NULL;
	if (fd_io_full(fd, &h, sizeof(h), 0) < 0 || h.len > SIGNER_MSG_MAX)
		return -1;
	*p = malloc((size_t)h.len + 1);
	if (*p == NULL)
		return -1;
	if (h.len && fd_io_full(fd, *p, h.len, 0) < 0) {
		free(*p);
		*p = NULL;
		return -1;
	}
	(*p)[h.len] = '\0';
	*type = h.type;
	*len = h.len;
	return 0;
}

static uint64_t
get_le(const unsigned char *p, int n)
{
	uint64_t v = 0;
	int i;

	for (i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void
put_le(unsigned char *p, uint64_t v, int n)
{
	int i;

	for (i = 0; i < n; i++, v >>= 8)
		p[i] = (unsigned char)v;
}

/* --- the signer's side --- */

static int
reply_err(unsigned char **out, size_t *outlen, const char *msg)
{
	*out = (unsigned char *)strdup(msg);
	*outlen = *out ? strlen(msg) : 0;
	return SIGNER_ERR;
}

static int
handle_sign_csr(const struct signer_keys *k, const unsigned char *p,
    size_t len, unsigned char **out, size_t *outlen)
{
	char id[64], err[ERRMSG_MAX], serial[PKI_SERIAL_HEX];
	size_t idlen;
	EVP_PKEY *pub;
	X509 *cert;
	char *pem;

	if (len < 2)
		return reply_err(out, outlen, "short SIGN_CSR request");
	idlen = (size_t)get_le(p, 2);
	if (idlen == 0 || idlen >= sizeof(id) || 2 + idlen > len)
		return reply_err(out, outlen, "bad client id length");
	memcpy(id, p + 2, idlen);
	id[idlen] = '\0';
	if (!pki_client_id_valid(id))
		return reply_err(out, outlen, "bad client id");
	/* The CSR is parsed again here: the signer trusts nothing its
	 * network-facing parent says about it. */
	pub = pki_csr_parse((const char *)p + 2 + idlen, len - 2 - idlen, err);
	if (pub == NULL)
		return reply_err(out, outlen, err);
	cert = pki_cert_issue(k->ca, k->ca_key, pub, PKI_PROFILE_CLIENT, id, id,
	    k->client_days, err);
	EVP_PKEY_free(pub);
	if (cert == NULL)
		return reply_err(out, outlen, err);
	pem = pki_cert_to_pem(cert);
	pki_cert_serial(cert, serial);
	X509_free(cert);
	if (pem == NULL)
		return reply_err(out, outlen, "cannot encode certificate");
	log_info("signed client certificate serial=%s for client %s "
		 "(%lld days)",
	    serial, id, (long long)k->client_days);
	*out = (unsigned char *)pem;
	*outlen = strlen(pem);
	return SIGNER_OK;
}

static int
handle_sign_bytes(const struct signer_keys *k, const unsigned char *p,
    size_t len, unsigned char **out, size_t *outlen)
{
	unsigned char md[32];
	char mdhex[65];

	if (len == 0 || len > SIGNER_SIGN_MAX)
		return reply_err(out, outlen, "bad SIGN_BYTES length");
	*out = malloc(PKI_ED25519_SIG);
	if (*out == NULL ||
	    pki_ed25519_sign(k->sign_key, p, len, *out) < 0) {
		free(*out);
		return reply_err(out, outlen, "signing failed");
	}
	*outlen = PKI_ED25519_SIG;
	EVP_Digest(p, len, md, NULL, EVP_sha256(), NULL);
	hex_encode(md, sizeof(md), mdhex);
	log_info("signed %zu bytes, sha256=%s", len, mdhex);
	return SIGNER_OK;
}

static int
handle_issue_crl(const struct signer_keys *k, enum pki_crl_scope scope,
    const unsigned char *p, size_t len, unsigned char **out, size_t *outlen)
{
	struct pki_revoked *list = NULL;
	int64_t number, next;
	uint32_t n, i;
	size_t off = 20;
	X509_CRL *crl;
	char err[ERRMSG_MAX];
	int dlen;

	if (len < 20)
		return reply_err(out, outlen, "short ISSUE_CRL request");
	number = (int64_t)get_le(p, 8);
	next = (int64_t)get_le(p + 8, 8);
	n = (uint32_t)get_le(p + 16, 4);
	if (number < 0 || next < 10 || next > 366 * 86400 ||
	    n > len / 10)
		return reply_err(out, outlen, "bad ISSUE_CRL header");
	if (n > 0) {
		list = calloc(n, sizeof(*list));
		if (list == NULL)
			return reply_err(out, outlen, "out of memory");
	}
	for (i = 0; i < n; i++) {
		size_t slen;

		if (off + 1 > len)
			break;
		slen = p[off];
		if (slen == 0 || slen >= PKI_SERIAL_HEX || slen % 2 ||
		    off + 1 + slen + 9 > len)
			break;
		memcpy(list[i].serial, p + off + 1, slen);
		list[i].serial[slen] = '\0';
		if (strspn(list[i].serial, "0123456789abcdef") != slen)
			break;
		list[i].revoked_at = (int64_t)get_le(p + off + 1 + slen, 8);
		list[i].reason = p[off + 1 + slen + 8];
		if (list[i].reason > 10)
			break;
		off += 1 + slen + 9;
	}
	if (i != n || off != len) {
		free(list);
		return reply_err(out, outlen, "malformed ISSUE_CRL entries");
	}
	crl = pki_crl_build(k->ca, k->ca_key, list, n, number, next, scope,
	    err);
	free(list);
	if (crl == NULL)
		return reply_err(out, outlen, err);
	*out = NULL;
	dlen = i2d_X509_CRL(crl, out);
	X509_CRL_free(crl);
	if (dlen <= 0)
		return reply_err(out, outlen, "cannot encode CRL");
	*outlen = (size_t)dlen;
	log_info("issued %sCRL number %lld with %u entries",
	    scope == PKI_CRL_SERVERS ? "server certificates' " : "",
	    (long long)number, n);
	return SIGNER_OK;
}

int
signer_handle(const struct signer_keys *k, uint32_t type,
    const unsigned char *p, size_t len, unsigned char **out, size_t *outlen)
{
	*out = NULL;
	*outlen = 0;
	switch (type) {
	case SIGNER_SIGN_CSR:
		return handle_sign_csr(k, p, len, out, outlen);
	case SIGNER_SIGN_BYTES:
		return handle_sign_bytes(k, p, len, out, outlen);
	case SIGNER_ISSUE_CRL:
		return handle_issue_crl(k, PKI_CRL_ALL, p, len, out, outlen);
	case SIGNER_ISSUE_SERVER_CRL:
		return handle_issue_crl(k, PKI_CRL_SERVERS, p, len, out,
		    outlen);
	default:
		log_warn("refused request of unknown type %u", type);
		return reply_err(out, outlen, "unknown request type");
	}
}

/* Unprivileged from here on: root's signer becomes nobody, with no way back
 * and no new privileges through exec. */
static int
drop_privileges(char *err)
{
	if (chdir("/") < 0)
		return err_set(err, "chdir: %s", strerror(errno));
	if (getuid() == 0) {
		struct passwd *pw = getpwnam("nobody");
		uid_t uid = pw ? pw->pw_uid : 65534;
		gid_t gid = pw ? pw->pw_gid : 65534;

		if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 ||
		    setresuid(uid, uid, uid) < 0)
			return err_set(err, "cannot drop privileges: %s",
			    strerror(errno));
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_set(err, "no_new_privs: %s", strerror(errno));
	return 0;
}

static void
keys_free(struct signer_keys *k)
{
	X509_free(k->ca);
	EVP_PKEY_free(k->ca_key); /* OpenSSL cleanses key material on free */
	EVP_PKEY_free(k->sign_key);
	memset(k, 0, sizeof(*k));
}

static int
keys_load(const struct site_config *c, struct signer_keys *k, char *err)
{
	char path[PATH_MAX];

	memset(k, 0, sizeof(*k));
	site_path(c, SITE_CA_CERT, path, sizeof(path));
	k->ca = pki_cert_read(path, err);
	site_path(c, SITE_CA_KEY, path, sizeof(path));
	if (k->ca != NULL)
		k->ca_key = pki_key_read(path, err);
	site_path(c, SITE_SIGN_KEY, path, sizeof(path));
	if (k->ca_key != NULL)
		k->sign_key = pki_key_read(path, err);
	if (k->sign_key == NULL) {
		keys_free(k);
		return -1;
	}
	if (X509_check_private_key(k->ca, k->ca_key) != 1) {
		keys_free(k);
		return err_set(err, "the CA key does not match the CA cert");
	}
	k->client_days = (c->client_cert_lifetime + 86399) / 86400;
	return 0;
}

static void __attribute__((noreturn))
signer_main(const struct site_config *c, int fd)
{
	struct signer_keys k;
	char err[ERRMSG_MAX];

	log_init("signer", (enum log_level)c->log_level);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	if (dup2(fd, 3) < 0)
		_exit(1);
	close_range(4, ~0U, 0);
	{
		char path[PATH_MAX];

		/* Its own chained log: two processes cannot share a chain. */
		site_path(c, SITE_SIGNER_LOG, path, sizeof(path));
		if (log_open_file(path, err) < 0)
			log_warn("%s; logging to standard error only", err);
	}
	if (keys_load(c, &k, err) < 0) {
		log_err("%s", err);
		_exit(1);
	}
	if (drop_privileges(err) < 0) {
		log_err("%s", err);
		_exit(1);
	}
	log_info("holding the site CA and signing keys (pid %ld)",
	    (long)getpid());
	for (;;) {
		unsigned char *req, *out;
		size_t len, outlen;
		uint32_t type;
		int rtype;

		/* A framing error cannot be resynchronised: end the channel;
		 * the server then refuses signing requests, it does not crash. */
		if (msg_recv(3, &type, &req, &len) < 0)
			break;
		rtype = signer_handle(&k, type, req, len, &out, &outlen);
		OPENSSL_cleanse(req, len);
		free(req);
		if (msg_send(3, (uint32_t)rtype, out, outlen) < 0) {
			free(out);
			break;
		}
		free(out);
	}
	keys_free(&k);
	_exit(0);
}

/* --- the server's side --- */

int
signer_start(const struct site_config *c, struct signer *s, char *err)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return err_set(err, "socketpair: %s", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return err_set(err, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		close(sv[0]);
		signer_main(c, sv[1]);
	}
	close(sv[1]);
	s->fd = sv[0];
	s->pid = pid;
	pthread_mutex_init(&s->lock, NULL);
	return 0;
}

void
signer_stop(struct signer *s)
{
	int status;

	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, &status, 0);
	}
	s->pid = 0;
	pthread_mutex_destroy(&s->lock);
}

static int
signer_call(struct signer *s, uint32_t type, const void *p, size_t len,
    unsigned char **out, size_t *outlen, char *err)
{
	uint32_t rtype = 0;
	int r;

	pthread_mutex_lock(&s->lock);
	if (s->fd < 0) {
		pthread_mutex_unlock(&s->lock);
		return err_set(err, "the signer is not running");
	}
	r = msg_send(s->fd, type, p, len);
	if (r == 0)
		r = msg_recv(s->fd, &rtype, out, outlen);
	if (r < 0) {
		close(s->fd);
		s->fd = -1;
	}
	pthread_mutex_unlock(&s->lock);
	if (r < 0)
		return err_set(err, "the signer channel is broken");
	if (rtype != SIGNER_OK) {
		err_set(err, "signer refused: %s",
		    rtype == SIGNER_ERR ? (char *)*out : "bad reply");
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

int
signer_sign_csr(struct signer *s, const char *client_id, const char *csr,
    char **cert_pem, char *err)
{
	size_t idlen = strlen(client_id), clen = strlen(csr), outlen;
	unsigned char *msg, *out;
	int r;

	if (idlen > 64 || clen > PKI_CSR_MAX)
		return err_set(err, "request too large for the signer");
	msg = malloc(2 + idlen + clen);
	if (msg == NULL)
		return err_set(err, "out of memory");
	put_le(msg, idlen, 2);
	memcpy(msg + 2, client_id, idlen);
	memcpy(msg + 2 + idlen, csr, clen);
	r = signer_call(s, SIGNER_SIGN_CSR, msg, 2 + idlen + clen, &out,
	    &outlen, err);
	free(msg);
	if (r < 0)
		return -1;
	*cert_pem = (char *)out;
	return 0;
}

int
signer_sign_bytes(struct signer *s, const void *data, size_t len,
    unsigned char sig[PKI_ED25519_SIG], char *err)
{
	unsigned char *out;
	size_t outlen;

	if (len == 0 || len > SIGNER_SIGN_MAX)
		return err_set(err, "document size not signable");
	if (signer_call(s, SIGNER_SIGN_BYTES, data, len, &out, &outlen, err) <
	    0)
		return -1;
	if (outlen != PKI_ED25519_SIG) {
		free(out);
		return err_set(err, "signer returned a bad signature");
	}
	memcpy(sig, out, PKI_ED25519_SIG);
	free(out);
	return 0;
}

int
signer_issue_crl(struct signer *s, enum pki_crl_scope scope,
    const struct pki_revoked *list, size_t n, int64_t number,
    int64_t next_update_secs, unsigned char **der, size_t *derlen,
    char *err)
{
	size_t cap = 20 + n * (1 + PKI_SERIAL_HEX + 9), off = 20, i;
	unsigned char *msg;
	int r;

	if (cap > SIGNER_MSG_MAX)
		return err_set(err, "too many revoked certificates for one CRL");
	msg = malloc(cap);
	if (msg == NULL)
		return err_set(err, "out of memory");
	put_le(msg, (uint64_t)number, 8);
	put_le(msg + 8, (uint64_t)next_update_secs, 8);
	put_le(msg + 16, n, 4);
	for (i = 0; i < n; i++) {
		size_t slen = strlen(list[i].serial);

		msg[off] = (unsigned char)slen;
		memcpy(msg + off + 1, list[i].serial, slen);
		put_le(msg + off + 1 + slen, (uint64_t)list[i].revoked_at, 8);
		msg[off + 1 + slen + 8] = (unsigned char)list[i].reason;
		off += 1 + slen + 9;
	}
	r = signer_call(s,
	    scope == PKI_CRL_SERVERS ? SIGNER_ISSUE_SERVER_CRL
				     : SIGNER_ISSUE_CRL,
	    msg, off, der, derlen, err);
	free(msg);
	return r;
}
