/* renew.c - the agent's identity over time: loading it, renewing it before
 * it expires, and keeping the site's CRL. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "agent.h"
#include "common/httpc.h"
#include "common/log.h"
#include "common/util.h"

/* Process-wide, labelled: the notification thread loads the identity while
 * the main thread may be installing a renewed one; the pair of renames and
 * the reading of the pair are serialised by this lock. */
static pthread_mutex_t identity_lock = PTHREAD_MUTEX_INITIALIZER;

/* The validity of the certificate last parsed (under identity_lock): a run
 * loads its identity more than once, and parsing a certificate costs. */
static struct {
	char *cert;
	int64_t not_before, not_after;
} validity;

/* What a check-in needs of the held CRL: its nextUpdate and its ETag (the
 * first 128 bits of its DER's SHA-256), by the file's identity on disk
 * (under crl_lock). Kept in the process, and for the next run in crl.meta
 * beside it: a CRL of thousands of entries is otherwise decoded twice at
 * every check-in, more work than the rest of the check-in. */
#define AGENT_CRL_META "crl.meta"
static pthread_mutex_t crl_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	int known;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int64_t next_update; /* 0: none, or not a CRL */
	char etag[PKI_ETAG_HEX]; /* "" when not a CRL */
} crl_seen;

int
renew_due(int64_t not_before, int64_t not_after, int64_t now)
{
	if (not_after <= not_before)
		return 1;
	return now >= not_before + (not_after - not_before) * 2 / 3;
}

/* A renewal is committed by renaming the new key, then the new certificate,
 * over the old ones. If that was interrupted, finish it when the new pair
 * matches; else drop the leftovers. */
void
identity_recover(struct agent_state *s)
{
	char kn[PATH_MAX], cn[PATH_MAX], k[PATH_MAX], c[PATH_MAX];
	char *key = NULL, *cert = NULL;
	struct stat st;
	int match = 0;

	state_path(s, AGENT_KEY_NEW, kn, sizeof(kn));
	state_path(s, AGENT_CERT_NEW, cn, sizeof(cn));
	state_path(s, AGENT_KEY, k, sizeof(k));
	state_path(s, AGENT_CERT, c, sizeof(c));
	if (stat(cn, &st) < 0)
		return;
	key = state_read(s, stat(kn, &st) == 0 ? AGENT_KEY_NEW : AGENT_KEY,
	    NULL);
	cert = state_read(s, AGENT_CERT_NEW, NULL);
	if (key && cert) {
		BIO *b = BIO_new_mem_buf(key, -1);
		EVP_PKEY *pk = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL)
				 : NULL;
		X509 *x = pki_cert_from_pem(cert, strlen(cert), NULL);

		match = pk && x && X509_check_private_key(x, pk) == 1;
		EVP_PKEY_free(pk);
		X509_free(x);
		BIO_free(b);
	}
	if (match) {
		if (stat(kn, &st) == 0)
			rename(kn, k);
		rename(cn, c);
		log_info("completed an interrupted certificate renewal");
	} else {
		unlink(kn);
		unlink(cn);
	}
	if (key)
		OPENSSL_cleanse(key, strlen(key));
	free(key);
	free(cert);
}

int
identity_load(struct agent_state *s, struct identity *id, char *err)
{
	memset(id, 0, sizeof(*id));
	if (strcmp(s->status, "issued") != 0)
		return err_set(err, "%s holds no issued identity; enroll first",
		    s->dir);
	pthread_mutex_lock(&identity_lock);
	id->ca = state_read(s, AGENT_CA, err);
	id->cert = id->ca ? state_read(s, AGENT_CERT, err) : NULL;
	id->key = id->cert ? state_read(s, AGENT_KEY, err) : NULL;
	if (id->key == NULL) {
		pthread_mutex_unlock(&identity_lock);
		identity_free(id);
		return -1;
	}
	if (validity.cert == NULL || strcmp(validity.cert, id->cert) != 0) {
		int64_t nb, na;

		/* Only the dates: decoding the whole certificate (its key)
		 * would cost the run OpenSSL's decoder set-up. */
		if (pki_cert_validity(id->cert, strlen(id->cert), &nb, &na) <
		    0) {
			pthread_mutex_unlock(&identity_lock);
			identity_free(id);
			return err_set(err, "%s does not hold a PEM certificate",
			    AGENT_CERT);
		}
		free(validity.cert);
		validity.cert = strdup(id->cert);
		validity.not_before = nb;
		validity.not_after = na;
	}
	id->not_before = validity.not_before;
	id->not_after = validity.not_after;
	pthread_mutex_unlock(&identity_lock);
	return 0;
}

void
identity_free(struct identity *id)
{
	free(id->ca);
	free(id->cert);
	if (id->key)
		OPENSSL_cleanse(id->key, strlen(id->key));
	free(id->key);
	memset(id, 0, sizeof(*id));
}

struct httpc_tls
identity_tls(const struct identity *id, long timeout_secs, const char *crl)
{
	struct httpc_tls t = {.ca_pem = id->ca, .cert_pem = id->cert,
	    .key_pem = id->key, .timeout_secs = timeout_secs, .crl_file = crl};

	return t;
}

static const char *
body_error(const struct httpc_resp *resp)
{
	static __thread char msg[300];
	json_t *o = json_loadb(resp->body, resp->len, 0, NULL);
	const char *e = json_string_value(json_object_get(o, "error"));

	str_copy(msg, sizeof(msg), e ? e : "no reason given");
	json_decref(o);
	return msg;
}

int
agent_renew(struct agent_state *s, struct identity *id, const char *hwid,
    char *err)
{
	struct discovery d;
	struct httpc_tls tls = identity_tls(id, 60, NULL);
	struct httpc_resp resp;
	char kn[PATH_MAX], cn[PATH_MAX], url[400], crl[PATH_MAX];
	char *csr = NULL, *body, *newkey = NULL;
	const char *pem;
	EVP_PKEY *key;
	json_t *o, *req;
	X509 *cert = NULL;
	int r = -1;

	if (id->not_after <= now_unix()) {
		char when[32];

		time_iso(id->not_after, when, sizeof(when));
		return err_set(err,
		    "this device's certificate expired at %s and cannot be "
		    "renewed; run 'steward-agent reset-identity' and enroll "
		    "again with a new token",
		    when);
	}
	if (facts_collect(&d, s->hostname[0] ? s->hostname : NULL, hwid, err) <
	    0)
		return -1;
	state_path(s, AGENT_KEY_NEW, kn, sizeof(kn));
	state_path(s, AGENT_CERT_NEW, cn, sizeof(cn));
	unlink(kn);
	unlink(cn);
	key = pki_key_new_ec();
	if (key == NULL || pki_key_write(kn, key, err) < 0 ||
	    pki_csr_make(key, d.hostname, &csr) == NULL) {
		EVP_PKEY_free(key);
		return err_set(err, "cannot make a new key and CSR");
	}
	req = json_pack("{s:s,s:s}", "csr", csr, "hardware_id", d.hardware_id);
	body = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	free(csr);
	str_fmt(url, sizeof(url), "%s/v1/renew", s->url);
	tls.crl_file = agent_crl(s, id, crl, sizeof(crl));
	if (httpc_request("POST", url, &tls, body, NULL, &resp, err) < 0) {
		free(body);
		EVP_PKEY_free(key);
		unlink(kn);
		return -1;
	}
	free(body);
	o = json_loadb(resp.body, resp.len, 0, NULL);
	pem = json_string_value(json_object_get(o, "certificate"));
	if (resp.status != 200 || pem == NULL) {
		err_set(err, "renewal refused (HTTP %ld): %s", resp.status,
		    body_error(&resp));
		goto out;
	}
	cert = pki_cert_from_pem(pem, strlen(pem), err);
	if (cert == NULL || X509_check_private_key(cert, key) != 1) {
		err_set(err, "the renewed certificate is not for the new key");
		goto out;
	}
	if (file_write_new(cn, pem, strlen(pem), 0644, err) < 0)
		goto out;
	/* Use it: the site revokes the old certificate on first use. */
	newkey = state_read(s, AGENT_KEY_NEW, err);
	if (newkey == NULL)
		goto out;
	{
		struct httpc_tls nt = identity_tls(id, 30, tls.crl_file);
		struct httpc_resp hr;
		char hurl[400], *hb = discovery_to_json(&d);

		nt.cert_pem = pem;
		nt.key_pem = newkey;
		str_fmt(hurl, sizeof(hurl), "%s/v1/heartbeat", s->url);
		if (hb == NULL ||
		    httpc_request("POST", hurl, &nt, hb, NULL, &hr, err) < 0) {
			free(hb);
			goto out;
		}
		free(hb);
		if (hr.status != 200) {
			err_set(err, "the renewed certificate was refused "
				     "(HTTP %ld): %s",
			    hr.status, body_error(&hr));
			httpc_resp_free(&hr);
			goto out;
		}
		httpc_resp_free(&hr);
	}
	{
		char k[PATH_MAX], c[PATH_MAX];

		int bad;

		state_path(s, AGENT_KEY, k, sizeof(k));
		state_path(s, AGENT_CERT, c, sizeof(c));
		pthread_mutex_lock(&identity_lock);
		bad = rename(kn, k) < 0 || rename(cn, c) < 0;
		pthread_mutex_unlock(&identity_lock);
		if (bad) {
			err_set(err, "cannot install the renewed identity: %s",
			    strerror(errno));
			goto out;
		}
	}
	log_info("renewed: new certificate %s in use",
	    json_string_value(json_object_get(o, "serial")));
	r = 0;
out:
	if (r < 0) {
		unlink(kn);
		unlink(cn);
	}
	if (newkey) {
		OPENSSL_cleanse(newkey, strlen(newkey));
		free(newkey);
	}
	X509_free(cert);
	EVP_PKEY_free(key);
	json_decref(o);
	httpc_resp_free(&resp);
	return r;
}

/* 1 when crl_seen describes the file sb. */
static int
crl_seen_is(const struct stat *sb)
{
	return crl_seen.known && crl_seen.dev == sb->st_dev &&
	    crl_seen.ino == sb->st_ino && crl_seen.size == sb->st_size &&
	    crl_seen.mtime.tv_sec == sb->st_mtim.tv_sec &&
	    crl_seen.mtime.tv_nsec == sb->st_mtim.tv_nsec;
}

/* crl.meta: "v1 DEV INO SIZE SEC NSEC NEXT ETAG", for the file sb only.
 * Anything else in it is ignored (the CRL is parsed instead). */
static int
crl_meta_load(struct agent_state *s, const struct stat *sb)
{
	unsigned long long dev, ino;
	long long size, sec, nsec, next;
	char *text = state_read(s, AGENT_CRL_META, NULL), etag[PKI_ETAG_HEX];
	char end;
	int ok;

	if (text == NULL)
		return -1;
	ok = sscanf(text, "v1 %llu %llu %lld %lld %lld %lld %32[0-9a-f]%c",
		 &dev, &ino, &size, &sec, &nsec, &next, etag, &end) == 8 &&
	    end == '\n' && strlen(etag) == 32 && next >= 0 &&
	    dev == (unsigned long long)sb->st_dev &&
	    ino == (unsigned long long)sb->st_ino &&
	    size == (long long)sb->st_size &&
	    sec == (long long)sb->st_mtim.tv_sec &&
	    nsec == (long long)sb->st_mtim.tv_nsec;
	free(text);
	if (!ok)
		return -1;
	crl_seen.next_update = next;
	str_copy(crl_seen.etag, sizeof(crl_seen.etag), etag);
	return 0;
}

/* Every CRL the agent downloads is read back whole. */
_Static_assert(PKI_CRL_PEM_MAX >= HTTPC_BODY_MAX / 3 * 4 + 4 +
	HTTPC_BODY_MAX / 48 + 2 + 64,
    "the PEM of the largest CRL downloaded must be readable");

/* The held CRL's PEM text, NULL when there is none (or it is larger than
 * any CRL the agent stores). */
static char *
crl_read(struct agent_state *s)
{
	char path[PATH_MAX], *pem;

	state_path(s, AGENT_CRL, path, sizeof(path));
	if (file_read(path, PKI_CRL_PEM_MAX, &pem, NULL, NULL) < 0)
		return NULL;
	return pem;
}

/* Parses the held CRL (its date only: it was verified when it came) and
 * records the result in crl.meta. */
static void
crl_parse(struct agent_state *s, const struct stat *sb)
{
	char *pem = crl_read(s), line[200], path[PATH_MAX];
	unsigned char *der = NULL;
	long dlen = 0;

	crl_seen.next_update = 0;
	crl_seen.etag[0] = '\0';
	if (pem != NULL)
		der = pki_pem_der(pem, strlen(pem), PKI_CRL_PEM_MAX,
		    PEM_STRING_X509_CRL, &dlen);
	if (der != NULL && pki_crl_der_next_update(der, (size_t)dlen,
			       &crl_seen.next_update) == 0) {
		pki_crl_etag(der, (size_t)dlen, crl_seen.etag);
		str_fmt(line, sizeof(line), "v1 %llu %llu %lld %lld %lld %lld %s\n",
		    (unsigned long long)sb->st_dev,
		    (unsigned long long)sb->st_ino, (long long)sb->st_size,
		    (long long)sb->st_mtim.tv_sec,
		    (long long)sb->st_mtim.tv_nsec,
		    (long long)crl_seen.next_update, crl_seen.etag);
		state_path(s, AGENT_CRL_META, path, sizeof(path));
		file_write_cache(path, line, strlen(line), 0644, NULL);
	}
	OPENSSL_free(der);
	free(pem);
}

/* The nextUpdate of the held CRL (0 when there is none) and, when etag is
 * given, its ETag ("" when none): from memory, crl.meta, or the file. */
static int64_t
crl_info(struct agent_state *s, const char *path, char etag[PKI_ETAG_HEX])
{
	struct stat sb;
	int64_t next;

	if (etag != NULL)
		etag[0] = '\0';
	if (stat(path, &sb) < 0)
		return 0;
	pthread_mutex_lock(&crl_lock);
	if (!crl_seen_is(&sb)) {
		if (crl_meta_load(s, &sb) < 0)
			crl_parse(s, &sb);
		crl_seen.known = 1;
		crl_seen.dev = sb.st_dev;
		crl_seen.ino = sb.st_ino;
		crl_seen.size = sb.st_size;
		crl_seen.mtime = sb.st_mtim;
	}
	next = crl_seen.next_update;
	if (etag != NULL)
		str_copy(etag, PKI_ETAG_HEX, crl_seen.etag);
	pthread_mutex_unlock(&crl_lock);
	return next;
}

/* 1 when the stored CRL is current; a stale one would lock the device out
 * of its own site, so it is not used (and, when say is set, says so). */
static int
crl_current(struct agent_state *s, const char *path, int say)
{
	int64_t next = crl_info(s, path, NULL);
	int ok = next > now_unix();

	if (next != 0 && !ok && say)
		log_warn("the site's CRL in %s is past its nextUpdate; "
			 "continuing without it",
		    path);
	return ok;
}

const char *
agent_crl_held(struct agent_state *s, char *path, size_t size)
{
	state_path(s, AGENT_CRL, path, size);
	return crl_current(s, path, 0) ? path : NULL;
}

const char *
agent_crl(struct agent_state *s, const struct identity *id, char *path,
    size_t size)
{
	struct httpc_tls tls = identity_tls(id, 20, NULL);
	struct httpc_resp resp;
	char url[400], err[ERRMSG_MAX], *pem = NULL, *old, etag[PKI_ETAG_HEX];
	char hdr[96];
	const unsigned char *p;
	X509_CRL *crl = NULL;
	X509 *ca = NULL;

	state_path(s, AGENT_CRL, path, size);
	/* The server certificates' CRL: the site's certificate is all the
	 * agent checks, and the whole list grows with the fleet (each
	 * renewal supersedes a certificate). */
	str_fmt(url, sizeof(url), "%s/v1/crl/servers", s->url);
	/* Fetched over the connection the run's other requests use (with the
	 * CRL held so far), so a run makes one handshake. */
	/* The site answers 304 to the CRL held (its ETag); a CRL that comes
	 * is another one, checked before it replaces the held one. */
	if (crl_info(s, path, etag) > now_unix())
		tls.crl_file = path;
	if (etag[0] != '\0')
		str_fmt(hdr, sizeof(hdr), "If-None-Match: \"%s\"", etag);
	if (httpc_request("GET", url, &tls, NULL, etag[0] ? hdr : NULL, &resp,
		err) == 0 &&
	    resp.status == 200) {
		p = (const unsigned char *)resp.body;
		crl = d2i_X509_CRL(NULL, &p, (long)resp.len);
		ca = pki_cert_from_pem(id->ca, strlen(id->ca), NULL);
		/* Only the site CA's CRL of server certificates replaces the
		 * one we have, and only when it differs (a new file means a
		 * new connection). */
		if (crl && ca &&
		    pki_crl_issued_by(crl, ca) == PKI_CRL_SERVERS &&
		    (pem = pki_crl_to_pem(crl)) != NULL) {
			old = crl_read(s);
			if (old == NULL || strcmp(old, pem) != 0)
				file_write_atomic(path, pem, strlen(pem), 0644,
				    NULL);
			free(old);
		}
		free(pem);
		X509_CRL_free(crl);
		X509_free(ca);
	}
	httpc_resp_free(&resp);
	return crl_current(s, path, 1) ? path : NULL;
}
