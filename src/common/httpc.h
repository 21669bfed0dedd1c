/* httpc.h - the HTTPS client of the agent and stewardctl (OpenSSL): mutual
 * TLS with the site CA, or, before the device has it, pinning to the CA
 * fingerprint its enrollment token carries. */
#ifndef STEWARD_HTTPC_H
#define STEWARD_HTTPC_H

#include <stddef.h>

#define HTTPC_BODY_MAX (4 * 1024 * 1024)

struct httpc_tls {
	const char *ca_pem;   /* trust only this CA (PEM), or NULL to pin */
	const char *pin_fpr;  /* pinned CA SHA-256 (hex), used when ca_pem NULL */
	const char *cert_pem; /* client certificate (PEM) or NULL */
	const char *key_pem;  /* client private key (PEM) or NULL */
	long timeout_secs;    /* whole request; 0 = 30 s */
	const char *crl_file; /* check the server against this CRL (PEM) */
	const volatile int *cancel; /* abort the transfer when set */
	/* Called once the request is written, before its answer is awaited
	 * (for a long-poll: the thread is about to wait), or NULL. */
	void (*sent)(void *arg);
	void *sent_arg;
};

struct httpc_resp {
	long status;
	char *body;      /* NUL-terminated, malloc'ed */
	size_t len;
	char *pinned_ca; /* PEM of the CA that matched the pin, malloc'ed */
	int pin_failed;  /* the server did not chain to the pinned CA */
	char etag[96];   /* the ETag header's value, without quotes */
};

void httpc_global_init(void);
/* Sends one request. extra_header may be NULL ("Name: value"). Returns 0 when
 * an HTTP response arrived (any status), -1 with err on transport failure. */
int httpc_request(const char *method, const char *url,
    const struct httpc_tls *tls, const char *body, const char *extra_header,
    struct httpc_resp *resp, char *err);
/* The same with a body of any bytes and its content type. */
int httpc_request_raw(const char *method, const char *url,
    const struct httpc_tls *tls, const void *body, size_t body_len,
    const char *content_type, const char *extra_header,
    struct httpc_resp *resp, char *err);
/* Keeps the TLS session with the site in this file (mode 0600) between
 * processes, to resume it; NULL stops. */
void httpc_session_file(const char *path);
/* Closes the keep-alive connection this thread holds, if any: a daemon
 * about to wait for its next check-in should not make the server hold an
 * idle connection meanwhile. Its TLS session stays resumable. */
void httpc_release(void);
/* Decodes a chunked HTTP body in place: 1 complete (*blen the decoded
 * length), 0 more is needed, -1 malformed. Exposed for tests. */
int httpc_dechunk(char *body, size_t len, size_t *blen);
void httpc_resp_free(struct httpc_resp *resp);

#endif
