/* pki.h - keys, CSRs, certificates, CA, CRL and Ed25519 signatures (OpenSSL). */
#ifndef STEWARD_PKI_H
#define STEWARD_PKI_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#define PKI_FPR_HEX 65          /* SHA-256 as hex, with NUL */
#define PKI_SERIAL_HEX 41       /* up to 20 bytes as hex, with NUL */
#define PKI_CSR_MAX 8192        /* largest CSR PEM accepted */
#define PKI_URI_MAX 128
#define PKI_ED25519_PUB 32
#define PKI_ED25519_SIG 64

/* URI SAN prefixes: what kind of identity a certificate names. The signer's
 * fixed client profile can only mint CLIENT URIs; admin credentials are made
 * offline by `stewardd init` and are not reachable through the signer. */
#define PKI_URI_CLIENT "urn:steward:client:"
#define PKI_URI_ADMIN "urn:steward:admin:"

enum pki_profile {
	PKI_PROFILE_CLIENT, /* KU digitalSignature, EKU clientAuth, SAN URI */
	PKI_PROFILE_ADMIN,  /* same, with an admin URI */
	PKI_PROFILE_SERVER, /* KU digitalSignature, EKU serverAuth, SAN DNS/IP */
};

EVP_PKEY *pki_key_new_ec(void);
EVP_PKEY *pki_key_new_ed25519(void);
/* Writes a private key as PKCS#8 PEM to a new file, mode 0600 from creation. */
int pki_key_write(const char *path, EVP_PKEY *key, char *err);
/* Reads a private key after checking the file is 0600-like. */
EVP_PKEY *pki_key_read(const char *path, char *err);

X509 *pki_cert_read(const char *path, char *err);
X509 *pki_cert_from_pem(const char *pem, size_t len, char *err);
/* The DER of a PEM text of the given kind (at most max bytes of text),
 * without decoding it: OPENSSL_free it. NULL when it is not one. */
unsigned char *pki_pem_der(const char *pem, size_t len, size_t max,
    const char *kind, long *dlen);
/* The validity of a PEM certificate, read from its DER without decoding
 * the rest (no public key: OpenSSL 3's decoders cost a process most of a
 * millisecond to set up). 0, or -1 when it is not a well-formed
 * certificate. */
int pki_cert_validity(const char *pem, size_t len, int64_t *not_before,
    int64_t *not_after);
/* The nextUpdate of a PEM CRL, read the same way; -1 when it has none or
 * is not a well-formed CRL. The second reads a CRL's DER. */
int pki_crl_next_update(const char *pem, size_t len, int64_t *next_update);
int pki_crl_der_next_update(const unsigned char *der, size_t len,
    int64_t *next_update);
/* The largest CRL text read (PEM): the PEM of the largest CRL an agent
 * downloads (HTTPC_BODY_MAX of DER) fits. */
#define PKI_CRL_PEM_MAX (6 * 1024 * 1024)
/* A CRL's ETag, as the site gives it (in quotes) and the agent keeps it:
 * the first 128 bits of the DER's SHA-256, in hex. */
#define PKI_ETAG_HEX 33
void pki_crl_etag(const unsigned char *der, size_t len,
    char out[PKI_ETAG_HEX]);
int pki_cert_write(const char *path, X509 *cert, char *err);
/* PEM text of a certificate, malloc'ed. */
char *pki_cert_to_pem(X509 *cert);
char *pki_crl_to_pem(X509_CRL *crl);

/* Self-signed P-256 CA: CA:TRUE pathlen:0, keyCertSign+cRLSign only. */
X509 *pki_ca_create(EVP_PKEY *key, const char *name, int64_t days, char *err);
/* Issues a certificate for pubkey under a fixed profile. san is the client id
 * (CLIENT/ADMIN) or a comma-free list "DNS:a,IP:b" built by the caller
 * (SERVER). cn is the subject common name. */
X509 *pki_cert_issue(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *pubkey,
    enum pki_profile profile, const char *cn, const char *san, int64_t days,
    char *err);

EVP_PKEY *pki_csr_make(EVP_PKEY *key, const char *cn, char **pem_out);
/* Parses one PEM CSR (<= PKI_CSR_MAX bytes), checks its self-signature and
 * that its key is EC P-256; returns the request's public key. */
EVP_PKEY *pki_csr_parse(const char *pem, size_t len, char *err);

/* The DER of a TLS session without the peer's certificate ([3]): resuming
 * a session verifies no certificate, and OpenSSL 3.0 decodes a held one at
 * every load (its decoder set-up costs most of a millisecond) and keeps it
 * decoded (about 10 KB). It holds the resumption secret: free it with
 * OPENSSL_clear_free(der, len). NULL when it cannot be made. */
unsigned char *pki_session_lean_der(const SSL_SESSION *sess, size_t *len);

/* SHA-256 of the DER certificate, lowercase hex. */
int pki_cert_fingerprint(X509 *cert, char out[PKI_FPR_HEX]);
int pki_cert_serial(X509 *cert, char out[PKI_SERIAL_HEX]);
int64_t pki_cert_not_after(X509 *cert);
/* The first URI SAN, or -1 if none. */
int pki_cert_uri(X509 *cert, char *out, size_t size);
/* The first DNS SAN, or -1 if none. */
int pki_cert_dns(X509 *cert, char *out, size_t size);
/* 1 when cert is signed by ca's key. */
int pki_cert_signed_by(X509 *cert, X509 *ca);

struct pki_revoked {
	char serial[PKI_SERIAL_HEX];
	int64_t revoked_at;
	int reason; /* CRL reason code */
};
/* Which certificates a CRL speaks for. PKI_CRL_ALL: every one the CA
 * issued (no issuingDistributionPoint). PKI_CRL_SERVERS: only the site's
 * server certificates, the partition agents fetch (they check no other
 * kind), marked by a critical issuingDistributionPoint that names it
 * relative to the issuer (CN=server certificates) and covers end-entity
 * certificates only, so that no relying party takes it for the whole
 * list. */
enum pki_crl_scope { PKI_CRL_ALL = 0, PKI_CRL_SERVERS = 1 };
X509_CRL *pki_crl_build(X509 *ca, EVP_PKEY *ca_key,
    const struct pki_revoked *list, size_t n, int64_t number,
    int64_t next_update_secs, enum pki_crl_scope scope, char *err);
/* The scope of a CRL: PKI_CRL_ALL or PKI_CRL_SERVERS, or -1 for any other
 * issuingDistributionPoint (or more than one), which Steward never
 * issues. */
int pki_crl_scope(const X509_CRL *crl);
/* The scope of crl when ca issued it (ca's name, a signature by ca's key):
 * -1 when it names another issuer or has a scope Steward never issues, -2
 * when its signature does not verify. */
int pki_crl_issued_by(X509_CRL *crl, X509 *ca);

int pki_ed25519_raw_pub(EVP_PKEY *key, unsigned char out[PKI_ED25519_PUB]);
int pki_ed25519_sign(EVP_PKEY *key, const void *data, size_t len,
    unsigned char sig[PKI_ED25519_SIG]);
int pki_ed25519_verify(const unsigned char pub[PKI_ED25519_PUB],
    const void *data, size_t len, const unsigned char sig[PKI_ED25519_SIG]);

/* RFC 5280 CRL reason code of a reason name (keyCompromise, superseded,
 * ...), or -1 for a name Steward does not use. */
int crl_reason_code(const char *name);

/* Validates a client id: 32 lowercase hex chars. */
int pki_client_id_valid(const char *id);
/* SHA-256 of len bytes as lowercase hex (content addresses). */
void pki_sha256_hex(const void *data, size_t len, char out[PKI_FPR_HEX]);
/* 1 when s is 64 lowercase hex digits. */
int pki_sha256_hex_valid(const char *s);

#endif
