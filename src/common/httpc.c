/* httpc.c - the HTTPS client of the agent and stewardctl (libcurl + OpenSSL). */
#include "httpc.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "../crypto/pki.h"
#include "util.h"

struct pin_state {
	const char *fpr;
	char *ca_pem;
	int failed;
};

struct body_buf {
	char *data;
	size_t len;
	int overflow;
};

void
httpc_global_init(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* One handle per thread, kept between requests: requests to the same site
 * with the same credentials then share one keep-alive connection (one TLS
 * handshake per run of the agent instead of one per request). */
static pthread_key_t handle_key;
static pthread_once_t handle_once = PTHREAD_ONCE_INIT;

static void
handle_free(void *h)
{
	curl_easy_cleanup(h);
}

static void
handle_free_main(void)
{
	CURL *c = pthread_getspecific(handle_key);

	if (c != NULL) {
		pthread_setspecific(handle_key, NULL);
		curl_easy_cleanup(c);
	}
}

static void
handle_key_init(void)
{
	if (pthread_key_create(&handle_key, handle_free) == 0)
		atexit(handle_free_main);
}

/* A handle for one request; reuse only where every request of the thread
 * presents the same trust anchor and certificate (not while pinning). */
static CURL *
handle_get(int reuse)
{
	CURL *c;

	if (!reuse)
		return curl_easy_init();
	pthread_once(&handle_once, handle_key_init);
	c = pthread_getspecific(handle_key);
	if (c != NULL) {
		curl_easy_reset(c);
		return c;
	}
	c = curl_easy_init();
	if (c != NULL && pthread_setspecific(handle_key, c) != 0) {
		curl_easy_cleanup(c);
		c = NULL;
	}
	return c;
}

static void
handle_put(CURL *c, int reuse)
{
	if (!reuse)
		curl_easy_cleanup(c);
}

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct body_buf *b = arg;
	size_t n = size * nmemb;
	char *d;

	if (b->len + n > HTTPC_BODY_MAX) {
		b->overflow = 1;
		return 0;
	}
	d = realloc(b->data, b->len + n + 1);
	if (d == NULL)
		return 0;
	memcpy(d + b->len, ptr, n);
	b->len += n;
	d[b->len] = '\0';
	b->data = d;
	return n;
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

static CURLcode
pin_ctx(CURL *curl, void *sslctx, void *arg)
{
	SSL_CTX_set_cert_verify_callback(sslctx, pin_verify, arg);
	return CURLE_OK;
}

/* Keeps the ETag of the response; ignores every other header. */
static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct httpc_resp *resp = arg;
	size_t n = size * nmemb, i, j = 0;

	if (n > 6 && strncasecmp(ptr, "etag:", 5) == 0) {
		for (i = 5; i < n && j + 1 < sizeof(resp->etag); i++)
			if (ptr[i] != ' ' && ptr[i] != '"' && ptr[i] != '\r' &&
			    ptr[i] != '\n')
				resp->etag[j++] = ptr[i];
		resp->etag[j] = '\0';
	}
	return n;
}

static int
on_progress(void *arg, curl_off_t dlt, curl_off_t dln, curl_off_t ult,
    curl_off_t uln)
{
	const volatile int *cancel = arg;

	return *cancel ? 1 : 0;
}

static void
set_blob(CURL *c, CURLoption opt, const char *pem)
{
	struct curl_blob blob = {(void *)pem, strlen(pem), CURL_BLOB_COPY};

	curl_easy_setopt(c, opt, &blob);
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
	char ctype[128];

	struct pin_state pin = {tls->pin_fpr, NULL, 0};
	struct body_buf buf = {NULL, 0, 0};
	struct curl_slist *hdrs = NULL;
	char curlerr[CURL_ERROR_SIZE] = "";
	CURL *c;
	CURLcode rc;
	int reuse = tls->ca_pem != NULL;

	memset(resp, 0, sizeof(*resp));
	c = handle_get(reuse);
	if (c == NULL)
		return err_set(err, "cannot start an HTTP request");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curlerr);
	curl_easy_setopt(c, CURLOPT_TIMEOUT,
	    tls->timeout_secs > 0 ? tls->timeout_secs : 30L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_3);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &buf);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, resp);
	if (tls->ca_pem != NULL) {
		set_blob(c, CURLOPT_CAINFO_BLOB, tls->ca_pem);
	} else if (tls->pin_fpr != NULL) {
		curl_easy_setopt(c, CURLOPT_SSL_CTX_FUNCTION, pin_ctx);
		curl_easy_setopt(c, CURLOPT_SSL_CTX_DATA, &pin);
	} else {
		handle_put(c, reuse);
		return err_set(err, "no trust anchor for %s", url);
	}
	if (tls->crl_file != NULL)
		curl_easy_setopt(c, CURLOPT_CRLFILE, tls->crl_file);
	if (tls->cancel != NULL) {
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)tls->cancel);
	}
	if (tls->cert_pem != NULL && tls->key_pem != NULL) {
		set_blob(c, CURLOPT_SSLCERT_BLOB, tls->cert_pem);
		set_blob(c, CURLOPT_SSLKEY_BLOB, tls->key_pem);
		curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	}
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)body_len);
		str_fmt(ctype, sizeof(ctype), "Content-Type: %s", content_type);
		hdrs = curl_slist_append(hdrs, ctype);
	}
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (extra_header != NULL)
		hdrs = curl_slist_append(hdrs, extra_header);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_slist_free_all(hdrs);
	handle_put(c, reuse);
	resp->pin_failed = pin.failed;
	resp->pinned_ca = pin.ca_pem;
	if (rc != CURLE_OK) {
		free(buf.data);
		if (pin.failed)
			return err_set(err,
			    "the server at %s is not the site this token names "
			    "(its certificate does not chain to the pinned site "
			    "CA); nothing was sent",
			    url);
		if (buf.overflow)
			return err_set(err, "response from %s is larger than "
					    "%d bytes",
			    url, HTTPC_BODY_MAX);
		/* With TLS 1.3 a refused client certificate shows as a
		 * broken connection right after the handshake. */
		if (tls->cert_pem != NULL &&
		    (rc == CURLE_SSL_CONNECT_ERROR || rc == CURLE_SEND_ERROR ||
			rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING))
			return err_set(err,
			    "the site at %s ended the connection (%s); it may "
			    "have refused this certificate as revoked or "
			    "expired",
			    url, curlerr[0] ? curlerr : curl_easy_strerror(rc));
		return err_set(err, "cannot reach %s: %s", url,
		    curlerr[0] ? curlerr : curl_easy_strerror(rc));
	}
	resp->body = buf.data ? buf.data : strdup("");
	resp->len = buf.len;
	return 0;
}

void
httpc_resp_free(struct httpc_resp *resp)
{
	free(resp->body);
	free(resp->pinned_ca);
	memset(resp, 0, sizeof(*resp));
}
