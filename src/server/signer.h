/* signer.h - the signer process: the only holder of the site CA key and the
 * policy-signing key, and the typed protocol the server uses to reach it. */
#ifndef STEWARD_SIGNER_H
#define STEWARD_SIGNER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "crypto/pki.h"
#include "site.h"

/* Message = header + payload. Payload layouts (all integers little-endian):
 * SIGN_CSR   u16 idlen | client id | CSR PEM (rest)   -> OK: certificate PEM
 * SIGN_BYTES bytes to sign (<= SIGNER_SIGN_MAX)        -> OK: 64-byte signature
 * ISSUE_CRL  i64 number | i64 next_update_secs | u32 n |
 *            n x (u8 serial hex len | serial hex | i64 time | u8 reason)
 *                                                      -> OK: CRL DER
 * ISSUE_SERVER_CRL  as ISSUE_CRL, for the CRL of server certificates only
 *            (PKI_CRL_SERVERS)                        -> OK: CRL DER
 * Every reply is OK (payload as above) or ERR (payload: message text). */
enum signer_msg {
	SIGNER_SIGN_CSR = 1,
	SIGNER_SIGN_BYTES = 2,
	SIGNER_ISSUE_CRL = 3,
	SIGNER_ISSUE_SERVER_CRL = 4,
	SIGNER_OK = 100,
	SIGNER_ERR = 101,
};

struct signer_hdr {
	uint32_t type;
	uint32_t len;
};

/* The largest message either way. The largest are a CRL's: the request
 * takes at most 51 bytes an entry, the CRL 49; 64 MiB hold about
 * 1,300,000 entries. A whole site of 175,000 clients keeps about 88,000
 * (every renewal supersedes a certificate, listed until it expires): at
 * 4 MiB, the limit until 26 November, a site past about 82,000 could
 * issue no CRL, and did not start. */
#define SIGNER_MSG_MAX (64u * 1024 * 1024)
#define SIGNER_SIGN_MAX (1024u * 1024)

/* Keys and profile of a running signer. */
struct signer_keys {
	X509 *ca;
	EVP_PKEY *ca_key;
	EVP_PKEY *sign_key;
	int64_t client_days;
};

/* Serves one request: fills *out (malloc'ed) and returns the reply type.
 * Exposed so tests can drive it with malformed payloads. */
int signer_handle(const struct signer_keys *k, uint32_t type,
    const unsigned char *p, size_t len, unsigned char **out, size_t *outlen);

/* The server's side. One channel shared by worker threads under a lock;
 * each call is one synchronous round trip. */
struct signer {
	int fd;
	pid_t pid;
	pthread_mutex_t lock;
};

/* Forks the signer. Call before any thread or database exists. */
int signer_start(const struct site_config *c, struct signer *s, char *err);
void signer_stop(struct signer *s);
int signer_sign_csr(struct signer *s, const char *client_id, const char *csr,
    char **cert_pem, char *err);
int signer_sign_bytes(struct signer *s, const void *data, size_t len,
    unsigned char sig[PKI_ED25519_SIG], char *err);
int signer_issue_crl(struct signer *s, enum pki_crl_scope scope,
    const struct pki_revoked *list, size_t n, int64_t number,
    int64_t next_update_secs, unsigned char **der, size_t *derlen,
    char *err);

#endif
