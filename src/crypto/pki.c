/* pki.c - keys, CSRs, certificates, CA, CRL and Ed25519 signatures (OpenSSL). */
#include "pki.h"

#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "../common/util.h"

#define CLOCK_SKEW_SECS 300

EVP_PKEY *
pki_key_new_ec(void)
{
	return EVP_EC_gen("P-256");
}

EVP_PKEY *
pki_key_new_ed25519(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
}

/* Writes a BIO's contents to a new file; the memory BIO is cleansed since it
 * may hold a private key. */
static int
bio_to_new_file(BIO *bio, const char *path, mode_t mode, char *err)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	int r = file_write_new(path, data, (size_t)len, mode, err);

	OPENSSL_cleanse(data, (size_t)len);
	return r;
}

int
pki_key_write(const char *path, EVP_PKEY *key, char *err)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	int r;

	if (bio == NULL)
		bio = BIO_new(BIO_s_mem());
	if (bio == NULL ||
	    !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(bio);
		return err_set(err, "cannot encode private key for %s", path);
	}
	r = bio_to_new_file(bio, path, 0600, err);
	BIO_free(bio);
	return r;
}

EVP_PKEY *
pki_key_read(const char *path, char *err)
{
	char *pem;
	size_t len;
	BIO *bio;
	EVP_PKEY *key;

	if (file_check_secret(path, err) < 0)
		return NULL;
	if (file_read(path, 16384, &pem, &len, err) < 0)
		return NULL;
	bio = BIO_new_mem_buf(pem, (int)len);
	key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (key == NULL)
		err_set(err, "%s does not hold a PEM private key", path);
	return key;
}

X509 *
pki_cert_from_pem(const char *pem, size_t len, char *err)
{
	BIO *bio;
	X509 *cert;

	if (len > 65536) {
		err_set(err, "certificate larger than 64 KiB");
		return NULL;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	cert = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (cert == NULL)
		err_set(err, "not a PEM certificate");
	return cert;
}

/* Steps into the element at *p if its tag is tag (into: its content
 * becomes [*p, *end)), or over it. 0, or -1 when it is not there. */
static int
der_step(const unsigned char **p, const unsigned char **end, int tag,
    int into)
{
	size_t hl, len;

	if ((hl = der_header(*p, *end, &len)) == 0 || **p != tag)
		return -1;
	if (into) {
		*end = *p + hl + len;
		*p += hl;
	} else {
		*p += hl + len;
	}
	return 0;
}

/* One Time (UTCTime or GeneralizedTime) at *p, as seconds since 1970. */
static int
der_time(const unsigned char **p, const unsigned char *end, int64_t *t)
{
	const unsigned char *q = *p;
	ASN1_TIME *at;
	struct tm tm;
	size_t hl, len;
	int ok;

	if ((hl = der_header(q, end, &len)) == 0 ||
	    (q[0] != V_ASN1_UTCTIME && q[0] != V_ASN1_GENERALIZEDTIME))
		return -1;
	at = d2i_ASN1_TIME(NULL, &q, (long)(hl + len));
	ok = at != NULL && q == *p + hl + len && ASN1_TIME_to_tm(at, &tm) == 1;
	ASN1_TIME_free(at);
	if (!ok)
		return -1;
	*t = (int64_t)timegm(&tm);
	*p = q;
	return 0;
}

unsigned char *
pki_pem_der(const char *pem, size_t len, size_t max, const char *kind,
    long *dlen)
{
	char *name = NULL, *hdr = NULL;
	unsigned char *der = NULL;
	BIO *b;

	if (len > max || (b = BIO_new_mem_buf(pem, (int)len)) == NULL)
		return NULL;
	if (PEM_read_bio(b, &name, &hdr, &der, dlen) != 1 ||
	    strcmp(name, kind) != 0 || *dlen <= 0) {
		OPENSSL_free(der);
		der = NULL;
	}
	ERR_clear_error();
	OPENSSL_free(name);
	OPENSSL_free(hdr);
	BIO_free(b);
	return der;
}

int
pki_cert_validity(const char *pem, size_t len, int64_t *not_before,
    int64_t *not_after)
{
	const unsigned char *p, *end;
	unsigned char *der;
	long dlen = 0;
	int r = -1;

	if ((der = pki_pem_der(pem, len, 65536, PEM_STRING_X509, &dlen)) == NULL)
		return -1;
	p = der;
	end = der + dlen;
	/* Certificate: SEQUENCE { tbsCertificate SEQUENCE { [0] version
	 * OPTIONAL, serial, signature, issuer, validity SEQUENCE {
	 * notBefore, notAfter }, ... }, ... } */
	if (der_step(&p, &end, 0x30, 1) == 0 &&
	    der_step(&p, &end, 0x30, 1) == 0 &&
	    (p >= end || *p != 0xa0 || der_step(&p, &end, 0xa0, 0) == 0) &&
	    der_step(&p, &end, V_ASN1_INTEGER, 0) == 0 &&
	    der_step(&p, &end, 0x30, 0) == 0 &&
	    der_step(&p, &end, 0x30, 0) == 0 &&
	    der_step(&p, &end, 0x30, 1) == 0 &&
	    der_time(&p, end, not_before) == 0 &&
	    der_time(&p, end, not_after) == 0 && p == end)
		r = 0;
	OPENSSL_free(der);
	return r;
}

int
pki_crl_der_next_update(const unsigned char *der, size_t len,
    int64_t *next_update)
{
	const unsigned char *p = der, *end = der + len;
	int64_t this_update;

	/* CertificateList: SEQUENCE { tbsCertList SEQUENCE { version
	 * OPTIONAL, signature, issuer, thisUpdate, nextUpdate, ... }, ... } */
	if (der_step(&p, &end, 0x30, 1) == 0 &&
	    der_step(&p, &end, 0x30, 1) == 0 &&
	    (p >= end || *p != V_ASN1_INTEGER ||
		der_step(&p, &end, V_ASN1_INTEGER, 0) == 0) &&
	    der_step(&p, &end, 0x30, 0) == 0 &&
	    der_step(&p, &end, 0x30, 0) == 0 &&
	    der_time(&p, end, &this_update) == 0 &&
	    der_time(&p, end, next_update) == 0)
		return 0;
	return -1;
}

int
pki_crl_next_update(const char *pem, size_t len, int64_t *next_update)
{
	unsigned char *der;
	long dlen = 0;
	int r;

	der = pki_pem_der(pem, len, PKI_CRL_PEM_MAX, PEM_STRING_X509_CRL,
	    &dlen);
	if (der == NULL)
		return -1;
	r = pki_crl_der_next_update(der, (size_t)dlen, next_update);
	OPENSSL_free(der);
	return r;
}

void
pki_crl_etag(const unsigned char *der, size_t len, char out[PKI_ETAG_HEX])
{
	char hash[PKI_FPR_HEX];

	pki_sha256_hex(der, len, hash);
	str_copy(out, PKI_ETAG_HEX, hash);
}

X509 *
pki_cert_read(const char *path, char *err)
{
	char *pem;
	size_t len;
	X509 *cert;

	if (file_read(path, 65536, &pem, &len, err) < 0)
		return NULL;
	cert = pki_cert_from_pem(pem, len, NULL);
	free(pem);
	if (cert == NULL)
		err_set(err, "%s does not hold a PEM certificate", path);
	return cert;
}

static char *
bio_to_string(BIO *bio)
{
	char *data, *out;
	long len = BIO_get_mem_data(bio, &data);

	out = malloc((size_t)len + 1);
	if (out != NULL) {
		memcpy(out, data, (size_t)len);
		out[len] = '\0';
	}
	return out;
}

char *
pki_cert_to_pem(X509 *cert)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *out = NULL;

	if (bio != NULL && PEM_write_bio_X509(bio, cert))
		out = bio_to_string(bio);
	BIO_free(bio);
	return out;
}

char *
pki_crl_to_pem(X509_CRL *crl)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *out = NULL;

	if (bio != NULL && PEM_write_bio_X509_CRL(bio, crl))
		out = bio_to_string(bio);
	BIO_free(bio);
	return out;
}

int
pki_cert_write(const char *path, X509 *cert, char *err)
{
	char *pem = pki_cert_to_pem(cert);
	int r;

	if (pem == NULL)
		return err_set(err, "cannot encode certificate");
	r = file_write_new(path, pem, strlen(pem), 0644, err);
	free(pem);
	return r;
}

static int
set_random_serial(X509 *cert)
{
	unsigned char raw[16];
	BIGNUM *bn;
	int ok;

	rand_bytes(raw, sizeof(raw));
	raw[0] &= 0x7f; /* positive */
	raw[0] |= 0x40; /* full 16 bytes, never zero */
	bn = BN_bin2bn(raw, sizeof(raw), NULL);
	ok = bn != NULL &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

static int
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -1;
	ok = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

static X509 *
cert_skeleton(EVP_PKEY *pubkey, const char *cn, int64_t days)
{
	X509 *cert = X509_new();
	X509_NAME *name;

	if (cert == NULL)
		return NULL;
	name = X509_get_subject_name(cert);
	if (!X509_set_version(cert, X509_VERSION_3) ||
	    set_random_serial(cert) < 0 ||
	    !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
		(const unsigned char *)cn, -1, -1, 0) ||
	    X509_gmtime_adj(X509_getm_notBefore(cert), -CLOCK_SKEW_SECS) ==
		NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), (int)days, 0, NULL) ==
		NULL ||
	    !X509_set_pubkey(cert, pubkey)) {
		X509_free(cert);
		return NULL;
	}
	return cert;
}

X509 *
pki_ca_create(EVP_PKEY *key, const char *name, int64_t days, char *err)
{
	X509 *cert = cert_skeleton(key, name, days);

	if (cert == NULL ||
	    !X509_set_issuer_name(cert, X509_get_subject_name(cert)) ||
	    add_ext(cert, cert, NID_basic_constraints,
		"critical,CA:TRUE,pathlen:0") < 0 ||
	    add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign") <
		0 ||
	    add_ext(cert, cert, NID_subject_key_identifier, "hash") < 0 ||
	    !X509_sign(cert, key, EVP_sha256())) {
		X509_free(cert);
		err_set(err, "cannot create the site CA certificate");
		return NULL;
	}
	return cert;
}

X509 *
pki_cert_issue(X509 *ca, EVP_PKEY *ca_key, EVP_PKEY *pubkey,
    enum pki_profile profile, const char *cn, const char *san, int64_t days,
    char *err)
{
	char sanval[512];
	const char *eku;
	X509 *cert;

	switch (profile) {
	case PKI_PROFILE_CLIENT:
	case PKI_PROFILE_ADMIN:
		if (strchr(san, ',') != NULL || strlen(san) > 64) {
			err_set(err, "bad identity for a client certificate");
			return NULL;
		}
		if (str_fmt(sanval, sizeof(sanval), "critical,URI:%s%s",
			profile == PKI_PROFILE_CLIENT ? PKI_URI_CLIENT
						      : PKI_URI_ADMIN,
			san) < 0)
			return NULL;
		eku = "clientAuth";
		break;
	case PKI_PROFILE_SERVER:
		if (str_fmt(sanval, sizeof(sanval), "%s", san) < 0) {
			err_set(err, "server name list too long");
			return NULL;
		}
		eku = "serverAuth";
		break;
	default:
		err_set(err, "unknown certificate profile");
		return NULL;
	}
	cert = cert_skeleton(pubkey, cn, days);
	if (cert == NULL ||
	    !X509_set_issuer_name(cert, X509_get_subject_name(ca)) ||
	    add_ext(cert, ca, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(cert, ca, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(cert, ca, NID_ext_key_usage, eku) < 0 ||
	    add_ext(cert, ca, NID_subject_alt_name, sanval) < 0 ||
	    add_ext(cert, ca, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(cert, ca, NID_authority_key_identifier, "keyid:always") <
		0 ||
	    !X509_sign(cert, ca_key, EVP_sha256())) {
		X509_free(cert);
		err_set(err, "cannot issue certificate for %s", cn);
		return NULL;
	}
	return cert;
}

EVP_PKEY *
pki_csr_make(EVP_PKEY *key, const char *cn, char **pem_out)
{
	X509_REQ *req = X509_REQ_new();
	BIO *bio = BIO_new(BIO_s_mem());
	EVP_PKEY *ret = NULL;

	if (req == NULL || bio == NULL)
		goto out;
	if (!X509_REQ_set_version(req, 0) ||
	    !X509_NAME_add_entry_by_txt(X509_REQ_get_subject_name(req), "CN",
		MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) ||
	    !X509_REQ_set_pubkey(req, key) ||
	    !X509_REQ_sign(req, key, EVP_sha256()) ||
	    !PEM_write_bio_X509_REQ(bio, req))
		goto out;
	*pem_out = bio_to_string(bio);
	if (*pem_out != NULL)
		ret = key;
out:
	X509_REQ_free(req);
	BIO_free(bio);
	return ret;
}

EVP_PKEY *
pki_csr_parse(const char *pem, size_t len, char *err)
{
	static const char begin[] = "-----BEGIN CERTIFICATE REQUEST-----";
	BIO *bio;
	X509_REQ *req;
	EVP_PKEY *key = NULL;
	const char *p;

	if (len > PKI_CSR_MAX) {
		err_set(err, "CSR larger than %d bytes", PKI_CSR_MAX);
		return NULL;
	}
	if (memchr(pem, '\0', len) != NULL) {
		err_set(err, "CSR holds a NUL byte");
		return NULL;
	}
	/* Exactly one PEM block, so nothing rides along unseen. The input is
	 * len bytes and need not be NUL-terminated. */
	p = memmem(pem, len, begin, sizeof(begin) - 1);
	if (p == NULL || memmem(p + 1, len - (size_t)(p + 1 - pem), begin,
			     sizeof(begin) - 1) != NULL) {
		err_set(err, "CSR must be exactly one PEM CERTIFICATE REQUEST");
		return NULL;
	}
	bio = BIO_new_mem_buf(pem, (int)len);
	req = bio ? PEM_read_bio_X509_REQ(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (req == NULL) {
		err_set(err, "CSR is not a valid PEM certificate request");
		return NULL;
	}
	key = X509_REQ_get_pubkey(req);
	if (key == NULL) {
		err_set(err, "CSR has no usable public key");
		goto fail;
	}
	if (X509_REQ_verify(req, key) != 1) {
		err_set(err, "CSR signature does not verify");
		goto fail;
	}
	if (!EVP_PKEY_is_a(key, "EC") || EVP_PKEY_get_bits(key) != 256) {
		err_set(err, "CSR key must be EC P-256");
		goto fail;
	}
	{
		char group[32];
		size_t glen;

		if (!EVP_PKEY_get_utf8_string_param(key, "group", group,
			sizeof(group), &glen) ||
		    strcmp(group, "prime256v1") != 0) {
			err_set(err, "CSR key must be EC P-256");
			goto fail;
		}
	}
	X509_REQ_free(req);
	return key;
fail:
	EVP_PKEY_free(key);
	X509_REQ_free(req);
	return NULL;
}

int
pki_cert_fingerprint(X509 *cert, char out[PKI_FPR_HEX])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n;

	if (!X509_digest(cert, EVP_sha256(), md, &n) || n != 32)
		return -1;
	hex_encode(md, n, out);
	return 0;
}

int
pki_cert_serial(X509 *cert, char out[PKI_SERIAL_HEX])
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	unsigned char raw[20];
	int n;

	if (bn == NULL || BN_num_bytes(bn) > (int)sizeof(raw)) {
		BN_free(bn);
		return -1;
	}
	n = BN_bn2bin(bn, raw);
	BN_free(bn);
	hex_encode(raw, (size_t)n, out);
	return 0;
}

int64_t
pki_cert_not_after(X509 *cert)
{
	struct tm tm;

	if (!ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm))
		return 0;
	return (int64_t)timegm(&tm);
}

static int
cert_san(X509 *cert, int type, char *out, size_t size)
{
	GENERAL_NAMES *names;
	int i, r = -1;

	names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	if (names == NULL)
		return -1;
	for (i = 0; i < sk_GENERAL_NAME_num(names) && r < 0; i++) {
		GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
		const unsigned char *s;
		int len;

		if (gn->type != type)
			continue;
		s = ASN1_STRING_get0_data(gn->d.ia5);
		len = ASN1_STRING_length(gn->d.ia5);
		if (len <= 0 || (size_t)len >= size ||
		    memchr(s, '\0', (size_t)len) != NULL)
			continue;
		memcpy(out, s, (size_t)len);
		out[len] = '\0';
		r = 0;
	}
	GENERAL_NAMES_free(names);
	return r;
}

int
pki_cert_uri(X509 *cert, char *out, size_t size)
{
	return cert_san(cert, GEN_URI, out, size);
}

int
pki_cert_dns(X509 *cert, char *out, size_t size)
{
	return cert_san(cert, GEN_DNS, out, size);
}

int
pki_cert_signed_by(X509 *cert, X509 *ca)
{
	EVP_PKEY *key = X509_get0_pubkey(ca);

	return key != NULL && X509_verify(cert, key) == 1;
}

/* The name of the server certificates' partition, relative to the CA. */
#define CRL_SERVERS_NAME "server certificates"

/* The DER of the server partition's issuingDistributionPoint: the
 * distribution point named CN=server certificates relative to the issuer,
 * onlyContainsUserCerts. Its length (OPENSSL_free *der), or -1. */
static int
idp_servers_der(unsigned char **der)
{
	ISSUING_DIST_POINT *idp = ISSUING_DIST_POINT_new();
	X509_NAME_ENTRY *ne = NULL;
	int len = -1;

	*der = NULL;
	if (idp == NULL || (idp->distpoint = DIST_POINT_NAME_new()) == NULL)
		goto out;
	idp->distpoint->type = 1; /* nameRelativeToCRLIssuer */
	idp->distpoint->name.relativename = sk_X509_NAME_ENTRY_new_null();
	ne = X509_NAME_ENTRY_create_by_NID(NULL, NID_commonName,
	    MBSTRING_UTF8, (const unsigned char *)CRL_SERVERS_NAME, -1);
	if (idp->distpoint->name.relativename == NULL || ne == NULL ||
	    !sk_X509_NAME_ENTRY_push(idp->distpoint->name.relativename, ne))
		goto out;
	ne = NULL;
	idp->onlyuser = 1;
	len = i2d_ISSUING_DIST_POINT(idp, der);
out:
	X509_NAME_ENTRY_free(ne);
	ISSUING_DIST_POINT_free(idp);
	return len;
}

/* Marks crl as the server certificates' partition (a critical extension:
 * RFC 5280 5.2.5). */
static int
crl_add_idp_servers(X509_CRL *crl)
{
	unsigned char *der = NULL;
	int len = idp_servers_der(&der), ok;
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;

	ok = len > 0 && os != NULL && ASN1_OCTET_STRING_set(os, der, len) &&
	    (ext = X509_EXTENSION_create_by_NID(NULL,
		 NID_issuing_distribution_point, 1, os)) != NULL &&
	    X509_CRL_add_ext(crl, ext, -1);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	OPENSSL_free(der);
	return ok ? 0 : -1;
}

int
pki_crl_scope(const X509_CRL *crl)
{
	int i = X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point,
	    -1), len, r = -1;
	X509_EXTENSION *ext;
	ASN1_OCTET_STRING *data;
	unsigned char *der = NULL;

	if (i < 0)
		return PKI_CRL_ALL;
	if (X509_CRL_get_ext_by_NID(crl, NID_issuing_distribution_point, i) >=
	    0)
		return -1;
	ext = X509_CRL_get_ext(crl, i);
	data = X509_EXTENSION_get_data(ext);
	len = idp_servers_der(&der);
	if (len > 0 && X509_EXTENSION_get_critical(ext) && data != NULL &&
	    ASN1_STRING_length(data) == len &&
	    memcmp(ASN1_STRING_get0_data(data), der, (size_t)len) == 0)
		r = PKI_CRL_SERVERS;
	OPENSSL_free(der);
	return r;
}

int
pki_crl_issued_by(X509_CRL *crl, X509 *ca)
{
	int scope;

	if (X509_NAME_cmp(X509_CRL_get_issuer(crl),
		X509_get_subject_name(ca)) != 0 ||
	    (scope = pki_crl_scope(crl)) < 0)
		return -1;
	if (X509_CRL_verify(crl, X509_get0_pubkey(ca)) != 1) {
		ERR_clear_error();
		return -2;
	}
	return scope;
}

X509_CRL *
pki_crl_build(X509 *ca, EVP_PKEY *ca_key, const struct pki_revoked *list,
    size_t n, int64_t number, int64_t next_update_secs,
    enum pki_crl_scope scope, char *err)
{
	X509_CRL *crl = X509_CRL_new();
	ASN1_TIME *t = ASN1_TIME_new();
	ASN1_INTEGER *num = ASN1_INTEGER_new();
	size_t i;

	if (crl == NULL || t == NULL || num == NULL)
		goto fail;
	if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)))
		goto fail;
	if (X509_gmtime_adj(t, 0) == NULL || !X509_CRL_set1_lastUpdate(crl, t))
		goto fail;
	if (X509_gmtime_adj(t, (long)next_update_secs) == NULL ||
	    !X509_CRL_set1_nextUpdate(crl, t))
		goto fail;
	for (i = 0; i < n; i++) {
		X509_REVOKED *rev = X509_REVOKED_new();
		unsigned char raw[20];
		size_t slen = strlen(list[i].serial) / 2;
		BIGNUM *bn = NULL;
		ASN1_INTEGER *serial = NULL;
		ASN1_ENUMERATED *reason = ASN1_ENUMERATED_new();
		int ok;

		ok = rev != NULL && reason != NULL && slen > 0 &&
		    slen <= sizeof(raw) &&
		    hex_decode(list[i].serial, raw, slen) == 0 &&
		    (bn = BN_bin2bn(raw, (int)slen, NULL)) != NULL &&
		    (serial = BN_to_ASN1_INTEGER(bn, NULL)) != NULL &&
		    X509_REVOKED_set_serialNumber(rev, serial) &&
		    ASN1_TIME_set(t, (time_t)list[i].revoked_at) != NULL &&
		    X509_REVOKED_set_revocationDate(rev, t) &&
		    ASN1_ENUMERATED_set(reason, list[i].reason) &&
		    X509_REVOKED_add1_ext_i2d(rev, NID_crl_reason, reason, 0,
			0) &&
		    X509_CRL_add0_revoked(crl, rev);
		BN_free(bn);
		ASN1_INTEGER_free(serial);
		ASN1_ENUMERATED_free(reason);
		if (!ok) {
			X509_REVOKED_free(rev);
			goto fail;
		}
	}
	if (!ASN1_INTEGER_set_int64(num, number) ||
	    !X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0))
		goto fail;
	{
		X509V3_CTX ctx;
		X509_EXTENSION *ext;

		X509V3_set_ctx(&ctx, ca, NULL, NULL, crl, 0);
		ext = X509V3_EXT_conf_nid(NULL, &ctx,
		    NID_authority_key_identifier, "keyid:always");
		if (ext == NULL || !X509_CRL_add_ext(crl, ext, -1)) {
			X509_EXTENSION_free(ext);
			goto fail;
		}
		X509_EXTENSION_free(ext);
	}
	if (scope == PKI_CRL_SERVERS && crl_add_idp_servers(crl) < 0)
		goto fail;
	X509_CRL_sort(crl);
	if (!X509_CRL_sign(crl, ca_key, EVP_sha256()))
		goto fail;
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(num);
	return crl;
fail:
	err_set(err, "cannot build the CRL");
	X509_CRL_free(crl);
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(num);
	return NULL;
}

int
pki_ed25519_raw_pub(EVP_PKEY *key, unsigned char out[PKI_ED25519_PUB])
{
	size_t len = PKI_ED25519_PUB;

	if (!EVP_PKEY_get_raw_public_key(key, out, &len) ||
	    len != PKI_ED25519_PUB)
		return -1;
	return 0;
}

int
pki_ed25519_sign(EVP_PKEY *key, const void *data, size_t len,
    unsigned char sig[PKI_ED25519_SIG])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	size_t siglen = PKI_ED25519_SIG;
	int ok;

	ok = ctx != NULL && EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) &&
	    EVP_DigestSign(ctx, sig, &siglen, data, len) &&
	    siglen == PKI_ED25519_SIG;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -1;
}

int
pki_ed25519_verify(const unsigned char pub[PKI_ED25519_PUB], const void *data,
    size_t len, const unsigned char sig[PKI_ED25519_SIG])
{
	EVP_PKEY *key;
	EVP_MD_CTX *ctx;
	int ok;

	key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
	    PKI_ED25519_PUB);
	ctx = EVP_MD_CTX_new();
	ok = key != NULL && ctx != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
	    EVP_DigestVerify(ctx, sig, PKI_ED25519_SIG, data, len) == 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return ok ? 0 : -1;
}

/* The length of s when it is all lowercase hex digits, else 0. */
static size_t
lower_hex_len(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i;
}

int
pki_client_id_valid(const char *id)
{
	return lower_hex_len(id) == 32;
}

void
pki_sha256_hex(const void *data, size_t len, char out[PKI_FPR_HEX])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(data, len, md);
	hex_encode(md, sizeof(md), out);
}

int
pki_sha256_hex_valid(const char *s)
{
	return lower_hex_len(s) == 64;
}

int
crl_reason_code(const char *name)
{
	static const struct {
		const char *name;
		int code;
	} reasons[] = {
		{"unspecified", 0},
		{"keyCompromise", 1},
		{"affiliationChanged", 3},
		{"superseded", 4},
		{"cessationOfOperation", 5},
		{"privilegeWithdrawn", 9},
	};
	size_t i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(name, reasons[i].name) == 0)
			return reasons[i].code;
	return -1;
}

/* A session's DER without its [3] (the peer's certificate) into out, which
 * holds at least len + 4 bytes: the new length, or 0. */
static size_t
session_strip_peer(const unsigned char *der, size_t len, unsigned char *out)
{
	const unsigned char *end = der + len, *p;
	size_t hl, blen, el, ehl, outl = 4;

	if (len < 4 || der[0] != 0x30 ||
	    (hl = der_header(der, end, &blen)) == 0 || hl + blen != len)
		return 0;
	for (p = der + hl; p < end; p += ehl + el) {
		if ((ehl = der_header(p, end, &el)) == 0)
			return 0;
		if (p[0] != 0xa3) {
			memcpy(out + outl, p, ehl + el);
			outl += ehl + el;
		}
	}
	/* Written after a 4-byte header: SEQUENCE, long form, 2 bytes. */
	if (outl - 4 > 0xffff)
		return 0;
	out[0] = 0x30;
	out[1] = 0x82;
	out[2] = (unsigned char)((outl - 4) >> 8);
	out[3] = (unsigned char)(outl - 4);
	return outl;
}

unsigned char *
pki_session_lean_der(const SSL_SESSION *sess, size_t *len)
{
	unsigned char *der = NULL, *out = NULL, *q;
	size_t ol = 0;
	int dl = i2d_SSL_SESSION(sess, NULL);

	if (dl > 0 && (der = OPENSSL_malloc((size_t)dl + 4)) != NULL &&
	    (out = OPENSSL_malloc((size_t)dl + 4)) != NULL) {
		q = der;
		if (i2d_SSL_SESSION(sess, &q) == dl)
			ol = session_strip_peer(der, (size_t)dl, out);
	}
	/* Both hold the resumption secret. */
	OPENSSL_clear_free(der, der != NULL ? (size_t)dl + 4 : 0);
	if (ol == 0) {
		OPENSSL_clear_free(out, out != NULL ? (size_t)dl + 4 : 0);
		return NULL;
	}
	*len = ol;
	return out;
}
