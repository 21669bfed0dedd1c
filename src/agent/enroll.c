/* enroll.c - "steward-agent enroll": make a key on the device, send a CSR to
 * the site named by the token (only after the server proved it holds the
 * pinned CA), and collect the certificate once approved. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "agent.h"
#include "common/httpc.h"
#include "common/util.h"
#include "crypto/pki.h"

#define POLL_HEADER "X-Steward-Poll-Secret"

static const char *
json_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Loads the device key, making one first if there is none. */
static char *
device_key(struct agent_state *s, char *err)
{
	char path[PATH_MAX];
	struct stat st;

	state_path(s, AGENT_KEY, path, sizeof(path));
	if (stat(path, &st) < 0) {
		EVP_PKEY *k = pki_key_new_ec();

		if (k == NULL) {
			err_set(err, "cannot generate a key");
			return NULL;
		}
		if (pki_key_write(path, k, err) < 0) {
			EVP_PKEY_free(k);
			return NULL;
		}
		EVP_PKEY_free(k);
	}
	if (file_check_secret(path, err) < 0)
		return NULL;
	return state_read(s, AGENT_KEY, err);
}

/* Checks and stores an issued certificate: it must be for our key and be
 * signed by the pinned site CA. */
static int
store_cert(struct agent_state *s, json_t *o, char *err)
{
	const char *pem = json_str(o, "certificate");
	char *keypem = state_read(s, AGENT_KEY, err);
	char *capem = state_read(s, AGENT_CA, err);
	char path[PATH_MAX];
	X509 *cert = NULL, *ca = NULL;
	EVP_PKEY *key = NULL;
	BIO *bio;
	int r = -1;

	if (pem == NULL || keypem == NULL || capem == NULL) {
		err_set(err, "the site's answer has no certificate");
		goto out;
	}
	cert = pki_cert_from_pem(pem, strlen(pem), err);
	ca = pki_cert_from_pem(capem, strlen(capem), err);
	bio = BIO_new_mem_buf(keypem, -1);
	key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (cert == NULL || ca == NULL || key == NULL)
		goto out;
	if (X509_check_private_key(cert, key) != 1) {
		err_set(err, "the issued certificate is not for this device's "
			     "key");
		goto out;
	}
	if (!pki_cert_signed_by(cert, ca)) {
		err_set(err, "the issued certificate is not signed by the site "
			     "CA");
		goto out;
	}
	state_path(s, AGENT_CERT, path, sizeof(path));
	unlink(path);
	if (file_write_new(path, pem, strlen(pem), 0644, err) < 0)
		goto out;
	str_copy(s->status, sizeof(s->status), "issued");
	s->poll_secret[0] = '\0';
	r = state_save(s, err);
out:
	if (keypem)
		OPENSSL_cleanse(keypem, strlen(keypem));
	free(keypem);
	free(capem);
	X509_free(cert);
	X509_free(ca);
	EVP_PKEY_free(key);
	return r;
}

/* Acts on an enrollment answer; returns an exit code. */
static int
handle_answer(struct agent_state *s, struct httpc_resp *resp)
{
	json_t *o = json_loadb(resp->body, resp->len, 0, NULL);
	const char *status = json_str(o, "status");
	const char *id = json_str(o, "client_id");
	char err[ERRMSG_MAX];
	int rc = AGENT_EXIT_ERROR;

	if (id != NULL && pki_client_id_valid(id))
		str_copy(s->client_id, sizeof(s->client_id), id);
	if (resp->status == 200 && status && strcmp(status, "issued") == 0) {
		if (store_cert(s, o, err) < 0) {
			fprintf(stderr, "steward-agent: %s\n", err);
		} else {
			printf("enrolled: client %s; certificate stored in "
			       "%s/%s\n",
			    s->client_id, s->dir, AGENT_CERT);
			rc = AGENT_EXIT_OK;
		}
	} else if (resp->status == 202 && status &&
	    strcmp(status, "pending") == 0) {
		const char *rid = json_str(o, "request_id");
		const char *ps = json_str(o, "poll_secret");

		if (rid && ps) {
			str_copy(s->request_id, sizeof(s->request_id), rid);
			str_copy(s->poll_secret, sizeof(s->poll_secret), ps);
		}
		str_copy(s->status, sizeof(s->status), "pending");
		if (state_save(s, err) < 0)
			fprintf(stderr, "steward-agent: %s\n", err);
		else
			rc = AGENT_EXIT_PENDING;
	} else if (status && strcmp(status, "denied") == 0) {
		str_copy(s->status, sizeof(s->status), "denied");
		state_save(s, err);
		fprintf(stderr,
		    "steward-agent: enrollment denied: %s (client %s); ask "
		    "the site administrator, then enroll with a new token\n",
		    json_str(o, "error") ? json_str(o, "error") : "denied",
		    s->client_id);
		rc = AGENT_EXIT_DENIED;
	} else {
		const char *e = json_str(o, "error");

		fprintf(stderr, "steward-agent: the site refused: %s (HTTP "
				"%ld)\n",
		    e ? e : "unexpected answer", resp->status);
	}
	json_decref(o);
	return rc;
}

static int
submit(struct agent_state *s, const struct enroll_opts *o,
    const struct token *t)
{
	struct discovery d;
	struct httpc_tls tls;
	struct httpc_resp resp;
	char err[ERRMSG_MAX], url[400], path[PATH_MAX], *keypem, *csr = NULL;
	char *body, *ecert = NULL, *ekey = NULL;
	EVP_PKEY *key;
	BIO *bio;
	int rc;

	if (facts_collect(&d, o->hostname, o->hardware_id, err) < 0) {
		fprintf(stderr, "steward-agent: %s\n", err);
		return AGENT_EXIT_ERROR;
	}
	keypem = device_key(s, err);
	if (keypem == NULL) {
		fprintf(stderr, "steward-agent: %s\n", err);
		return AGENT_EXIT_ERROR;
	}
	bio = BIO_new_mem_buf(keypem, -1);
	key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	OPENSSL_cleanse(keypem, strlen(keypem));
	free(keypem);
	if (key == NULL || pki_csr_make(key, d.hostname, &csr) == NULL) {
		EVP_PKEY_free(key);
		fprintf(stderr, "steward-agent: cannot make a CSR\n");
		return AGENT_EXIT_ERROR;
	}
	EVP_PKEY_free(key);
	body = enroll_request_build(o->token, csr, &d);
	free(csr);
	if (o->enterprise_cert != NULL) {
		ecert = NULL;
		if (file_read(o->enterprise_cert, 65536, &ecert, NULL, err) <
			0 ||
		    file_read(o->enterprise_key, 65536, &ekey, NULL, err) < 0) {
			fprintf(stderr, "steward-agent: %s\n", err);
			free(ecert);
			free(body);
			return AGENT_EXIT_ERROR;
		}
	}
	memset(&tls, 0, sizeof(tls));
	tls.pin_fpr = t->ca_fpr;
	tls.cert_pem = ecert;
	tls.key_pem = ekey;
	str_fmt(url, sizeof(url), "%s/v1/enroll", t->url);
	rc = httpc_request("POST", url, &tls, body, NULL, &resp, err);
	free(body);
	free(ecert);
	if (ekey) {
		OPENSSL_cleanse(ekey, strlen(ekey));
		free(ekey);
	}
	if (rc < 0) {
		fprintf(stderr, "steward-agent: %s\n", err);
		return AGENT_EXIT_ERROR;
	}
	/* The server proved it holds the pinned CA: keep that CA as the only
	 * trust anchor for everything after this. */
	state_path(s, AGENT_CA, path, sizeof(path));
	unlink(path);
	if (resp.pinned_ca == NULL ||
	    file_write_new(path, resp.pinned_ca, strlen(resp.pinned_ca), 0644,
		err) < 0) {
		fprintf(stderr, "steward-agent: cannot keep the site CA: %s\n",
		    err);
		httpc_resp_free(&resp);
		return AGENT_EXIT_ERROR;
	}
	str_copy(s->url, sizeof(s->url), t->url);
	str_copy(s->ca_fpr, sizeof(s->ca_fpr), t->ca_fpr);
	b64url_encode(t->sign_pub, sizeof(t->sign_pub), s->sign_pub);
	str_copy(s->hostname, sizeof(s->hostname), d.hostname);
	str_copy(s->hardware_id, sizeof(s->hardware_id),
	    o->hardware_id ? o->hardware_id : "");
	s->request_id[0] = s->poll_secret[0] = s->client_id[0] = '\0';
	rc = handle_answer(s, &resp);
	httpc_resp_free(&resp);
	return rc;
}

static int
poll_once(struct agent_state *s)
{
	struct httpc_tls tls;
	struct httpc_resp resp;
	char url[400], hdr[128], err[ERRMSG_MAX], *ca;
	int rc;

	ca = state_read(s, AGENT_CA, err);
	if (ca == NULL) {
		fprintf(stderr, "steward-agent: %s\n", err);
		return AGENT_EXIT_ERROR;
	}
	memset(&tls, 0, sizeof(tls));
	tls.ca_pem = ca;
	str_fmt(url, sizeof(url), "%s/v1/enroll/%s", s->url, s->request_id);
	str_fmt(hdr, sizeof(hdr), "%s: %s", POLL_HEADER, s->poll_secret);
	rc = httpc_request("GET", url, &tls, NULL, hdr, &resp, err);
	free(ca);
	if (rc < 0) {
		fprintf(stderr, "steward-agent: %s\n", err);
		return AGENT_EXIT_ERROR;
	}
	rc = handle_answer(s, &resp);
	httpc_resp_free(&resp);
	return rc;
}

int
agent_enroll(const struct enroll_opts *o)
{
	struct agent_state s;
	struct token t;
	char err[ERRMSG_MAX];
	int64_t deadline = mono_ms() + (int64_t)o->wait_secs * 1000;
	int rc;

	if (dir_make(o->state_dir, 0700, err) < 0 ||
	    state_load(o->state_dir, &s, err) < 0) {
		fprintf(stderr, "steward-agent: %s\n", err);
		return AGENT_EXIT_ERROR;
	}
	if (o->token != NULL) {
		if (token_parse(o->token, strlen(o->token), &t, err) < 0) {
			fprintf(stderr, "steward-agent: bad token: %s\n", err);
			return AGENT_EXIT_USAGE;
		}
		if (strcmp(s.status, "issued") == 0) {
			fprintf(stderr,
			    "steward-agent: %s already holds the identity of "
			    "client %s; run 'steward-agent reset-identity' "
			    "first to enroll again\n",
			    o->state_dir, s.client_id);
			return AGENT_EXIT_ERROR;
		}
		rc = submit(&s, o, &t);
		OPENSSL_cleanse(&t, sizeof(t));
	} else if (strcmp(s.status, "issued") == 0) {
		printf("enrolled: client %s\n", s.client_id);
		return AGENT_EXIT_OK;
	} else if (strcmp(s.status, "pending") == 0) {
		rc = poll_once(&s);
	} else if (strcmp(s.status, "denied") == 0) {
		fprintf(stderr, "steward-agent: enrollment of client %s was "
				"denied; enroll with a new token\n",
		    s.client_id);
		return AGENT_EXIT_DENIED;
	} else {
		fprintf(stderr, "steward-agent: %s holds no enrollment; pass "
				"--token\n",
		    o->state_dir);
		return AGENT_EXIT_USAGE;
	}
	while (rc == AGENT_EXIT_PENDING && mono_ms() < deadline) {
		/* Poll gently: once a second is enough for an admin's click. */
		usleep(1000 * 1000);
		rc = poll_once(&s);
	}
	if (rc == AGENT_EXIT_PENDING)
		printf("pending approval: client %s (request %s); run "
		       "'steward-agent enroll --state %s --wait SECONDS' to "
		       "collect the certificate\n",
		    s.client_id, s.request_id, o->state_dir);
	return rc;
}
