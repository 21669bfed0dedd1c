/* test_pki.c - CA profile, issued certificate profiles, CSR parsing on
 * malformed input, CRL building, Ed25519. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/util.h"
#include "crypto/pki.h"

static EVP_PKEY *ca_key;
static X509 *ca;

static int
setup(void **state)
{
	ca_key = pki_key_new_ec();
	ca = pki_ca_create(ca_key, "test CA", 30, NULL);
	return ca ? 0 : -1;
}

static int
teardown(void **state)
{
	X509_free(ca);
	EVP_PKEY_free(ca_key);
	return 0;
}

static void
test_ca_profile(void **state)
{
	BASIC_CONSTRAINTS *bc;

	bc = X509_get_ext_d2i(ca, NID_basic_constraints, NULL, NULL);
	assert_non_null(bc);
	assert_true(bc->ca);
	assert_int_equal(ASN1_INTEGER_get(bc->pathlen), 0);
	BASIC_CONSTRAINTS_free(bc);
	assert_int_equal(X509_get_key_usage(ca), KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_int_equal(X509_check_ca(ca), 1);
}

static void
test_client_profile(void **state)
{
	EVP_PKEY *k = pki_key_new_ec();
	char uri[PKI_URI_MAX], id[33];
	X509 *c;

	rand_id(id);
	c = pki_cert_issue(ca, ca_key, k, PKI_PROFILE_CLIENT, id, id, 10, NULL);
	assert_non_null(c);
	assert_int_equal(pki_cert_uri(c, uri, sizeof(uri)), 0);
	assert_true(strncmp(uri, PKI_URI_CLIENT, strlen(PKI_URI_CLIENT)) == 0);
	assert_string_equal(uri + strlen(PKI_URI_CLIENT), id);
	assert_int_equal(X509_get_extended_key_usage(c), XKU_SSL_CLIENT);
	assert_int_equal(X509_get_key_usage(c), KU_DIGITAL_SIGNATURE);
	assert_int_equal(X509_check_ca(c), 0);
	assert_true(pki_cert_signed_by(c, ca));
	/* Client ids cannot smuggle extra SAN entries. */
	assert_null(pki_cert_issue(ca, ca_key, k, PKI_PROFILE_CLIENT, "x",
	    "a,DNS:evil", 10, NULL));
	X509_free(c);
	EVP_PKEY_free(k);
}

static void
test_csr(void **state)
{
	EVP_PKEY *k = pki_key_new_ec(), *ed = pki_key_new_ed25519(), *pub;
	char *pem = NULL, err[ERRMSG_MAX], *two, *bad;
	size_t n;

	assert_non_null(pki_csr_make(k, "host", &pem));
	pub = pki_csr_parse(pem, strlen(pem), err);
	assert_non_null(pub);
	assert_int_equal(EVP_PKEY_eq(pub, k), 1);
	EVP_PKEY_free(pub);

	/* Two CSRs in one body. */
	n = strlen(pem);
	two = malloc(2 * n + 1);
	memcpy(two, pem, n);
	memcpy(two + n, pem, n + 1);
	assert_null(pki_csr_parse(two, 2 * n, err));
	assert_non_null(strstr(err, "exactly one"));
	free(two);

	/* A flipped byte in the body breaks the signature or the DER. */
	bad = strdup(pem);
	bad[n / 2] = bad[n / 2] == 'A' ? 'B' : 'A';
	assert_null(pki_csr_parse(bad, n, err));
	free(bad);

	/* Garbage, empty, NUL inside, oversized. */
	assert_null(pki_csr_parse("hello", 5, err));
	assert_null(pki_csr_parse("", 0, err));
	assert_null(pki_csr_parse("-----BEGIN CERTIFICATE REQUEST-----\0x", 38,
	    err));
	bad = malloc(PKI_CSR_MAX + 2);
	memset(bad, 'A', PKI_CSR_MAX + 1);
	bad[PKI_CSR_MAX + 1] = '\0';
	assert_null(pki_csr_parse(bad, PKI_CSR_MAX + 1, err));
	assert_non_null(strstr(err, "larger"));
	free(bad);
	free(pem);

	/* Wrong key type: Ed25519 CSRs are refused. */
	pem = NULL;
	if (pki_csr_make(ed, "host", &pem) != NULL) {
		assert_null(pki_csr_parse(pem, strlen(pem), err));
		assert_non_null(strstr(err, "P-256"));
	}
	free(pem);
	EVP_PKEY_free(k);
	EVP_PKEY_free(ed);
}

static void
test_crl(void **state)
{
	struct pki_revoked list[2] = {{"0badc0de", 1700000000, 1},
	    {"41", 1700000001, 4}};
	X509_CRL *crl;

	crl = pki_crl_build(ca, ca_key, list, 2, 7, 86400, PKI_CRL_ALL, NULL);
	assert_non_null(crl);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(ca)), 1);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 2);
	assert_true(X509_cmp_time(X509_CRL_get0_nextUpdate(crl), NULL) > 0);
	X509_CRL_free(crl);
	/* Bad serials are refused, not written. */
	str_copy(list[0].serial, sizeof(list[0].serial), "zz");
	assert_null(
	    pki_crl_build(ca, ca_key, list, 1, 8, 86400, PKI_CRL_ALL, NULL));
}

/* Adds an issuingDistributionPoint of the given DER text to a copy of crl,
 * signed again. */
static X509_CRL *
crl_with_idp(const X509_CRL *crl, const unsigned char *der, int len, int crit)
{
	X509_CRL *c = X509_CRL_dup(crl);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext;

	assert_non_null(c);
	assert_true(ASN1_OCTET_STRING_set(os, der, len));
	ext = X509_EXTENSION_create_by_NID(NULL, NID_issuing_distribution_point,
	    crit, os);
	assert_non_null(ext);
	assert_true(X509_CRL_add_ext(c, ext, -1));
	assert_true(X509_CRL_sign(c, ca_key, EVP_sha256()));
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	return c;
}

/* The server certificates' partition says so, and nothing else passes for
 * it: another issuingDistributionPoint, ours not critical, or two. */
static void
test_crl_scope(void **state)
{
	struct pki_revoked list[1] = {{"0badc0de", 1700000000, 1}};
	ISSUING_DIST_POINT *idp;
	X509_CRL *all, *servers, *c;
	X509_EXTENSION *ext;
	ASN1_OCTET_STRING *data;
	unsigned char *der = NULL, only_ca[] = {0x30, 0x03, 0x82, 0x01, 0xff};
	int crit = -1, len;
	BIO *bio;
	BUF_MEM *mem;

	all = pki_crl_build(ca, ca_key, list, 1, 7, 86400, PKI_CRL_ALL, NULL);
	servers = pki_crl_build(ca, ca_key, list, 1, 8, 86400, PKI_CRL_SERVERS,
	    NULL);
	assert_non_null(all);
	assert_non_null(servers);
	assert_int_equal(pki_crl_scope(all), PKI_CRL_ALL);
	assert_int_equal(pki_crl_scope(servers), PKI_CRL_SERVERS);
	assert_int_equal(X509_CRL_verify(servers, X509_get0_pubkey(ca)), 1);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(servers)), 1);
	/* What OpenSSL reads of it: critical, end-entity certificates only,
	 * a distribution point named relative to the issuer. */
	idp = X509_CRL_get_ext_d2i(servers, NID_issuing_distribution_point,
	    &crit, NULL);
	assert_non_null(idp);
	assert_int_equal(crit, 1);
	assert_true(idp->onlyuser);
	assert_false(idp->onlyCA);
	assert_false(idp->onlyattr);
	assert_false(idp->indirectCRL);
	assert_null(idp->onlysomereasons);
	assert_non_null(idp->distpoint);
	assert_int_equal(idp->distpoint->type, 1);
	ISSUING_DIST_POINT_free(idp);
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(X509_CRL_print(bio, servers), 1);
	assert_int_equal(BIO_write(bio, "", 1), 1);
	BIO_get_mem_ptr(bio, &mem);
	assert_non_null(strstr(mem->data, "CN = server certificates"));
	assert_non_null(strstr(mem->data, "Only User Certificates"));
	BIO_free(bio);

	/* Another partition (CA certificates only) is neither. */
	c = crl_with_idp(all, only_ca, sizeof(only_ca), 1);
	assert_int_equal(pki_crl_scope(c), -1);
	X509_CRL_free(c);
	/* Ours, but not critical; and ours twice. */
	ext = X509_CRL_get_ext(servers,
	    X509_CRL_get_ext_by_NID(servers, NID_issuing_distribution_point,
		-1));
	data = X509_EXTENSION_get_data(ext);
	len = ASN1_STRING_length(data);
	der = OPENSSL_memdup(ASN1_STRING_get0_data(data), (size_t)len);
	assert_non_null(der);
	c = crl_with_idp(all, der, len, 0);
	assert_int_equal(pki_crl_scope(c), -1);
	X509_CRL_free(c);
	c = crl_with_idp(servers, der, len, 1);
	assert_int_equal(pki_crl_scope(c), -1);
	X509_CRL_free(c);
	/* Cut short by one byte. */
	c = crl_with_idp(all, der, len - 1, 1);
	assert_int_equal(pki_crl_scope(c), -1);
	X509_CRL_free(c);
	OPENSSL_free(der);
	/* Whose it is: the CA's, another CA's, or signed by another key
	 * under the CA's name. */
	{
		EVP_PKEY *k2 = pki_key_new_ec();
		X509 *ca2 = pki_ca_create(k2, "another CA", 30, NULL);

		assert_non_null(ca2);
		assert_int_equal(pki_crl_issued_by(all, ca), PKI_CRL_ALL);
		assert_int_equal(pki_crl_issued_by(servers, ca),
		    PKI_CRL_SERVERS);
		assert_int_equal(pki_crl_issued_by(servers, ca2), -1);
		assert_true(X509_CRL_sign(servers, k2, EVP_sha256()));
		assert_int_equal(pki_crl_issued_by(servers, ca), -2);
		X509_free(ca2);
		EVP_PKEY_free(k2);
	}
	X509_CRL_free(all);
	X509_CRL_free(servers);
}

static int64_t
tm_of(const ASN1_TIME *t)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
	return (int64_t)timegm(&tm);
}

/* Feeds every truncation and a corruption of each byte of a PEM's DER:
 * the readers must refuse or read within bounds, never crash. */
static void
mangle(const char *name, const unsigned char *der, size_t dlen,
    int (*reader)(const char *, size_t, int64_t *, int64_t *))
{
	unsigned char *copy = malloc(dlen);
	size_t cut, i;
	int64_t a, b;

	assert_non_null(copy);
	for (cut = 0; cut < dlen; cut += 7) {
		BIO *bio = BIO_new(BIO_s_mem());
		char *pem;
		long n;

		PEM_write_bio(bio, name, "", der, (long)cut);
		n = BIO_get_mem_data(bio, &pem);
		assert_int_equal(reader(pem, (size_t)n, &a, &b), -1);
		BIO_free(bio);
	}
	for (i = 0; i < dlen; i += 3) {
		BIO *bio = BIO_new(BIO_s_mem());
		char *pem;
		long n;

		memcpy(copy, der, dlen);
		copy[i] ^= 0xff;
		PEM_write_bio(bio, name, "", copy, (long)dlen);
		n = BIO_get_mem_data(bio, &pem);
		reader(pem, (size_t)n, &a, &b);
		BIO_free(bio);
	}
	free(copy);
}

static int
crl_reader(const char *pem, size_t len, int64_t *a, int64_t *b)
{
	*b = 0;
	return pki_crl_next_update(pem, len, a);
}

/* The dates read from the DER agree with OpenSSL's decoding; malformed,
 * truncated, foreign and oversized input is refused. */
static void
test_dates(void **state)
{
	EVP_PKEY *k = pki_key_new_ec();
	struct pki_revoked list[1] = {{"0badc0de", 1700000000, 1}};
	unsigned char *der = NULL;
	char *pem, id[33], *big;
	int64_t nb, na, next;
	X509_CRL *crl;
	BIO *bio;
	X509 *c;
	long n;
	int dl;

	rand_id(id);
	c = pki_cert_issue(ca, ca_key, k, PKI_PROFILE_CLIENT, id, id, 10, NULL);
	assert_non_null(c);
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(bio, c);
	n = BIO_get_mem_data(bio, &pem);
	assert_int_equal(pki_cert_validity(pem, (size_t)n, &nb, &na), 0);
	assert_true(nb == tm_of(X509_get0_notBefore(c)));
	assert_true(na == tm_of(X509_get0_notAfter(c)));
	/* A CRL is not a certificate, nor the other way round. */
	assert_int_equal(pki_crl_next_update(pem, (size_t)n, &next), -1);
	BIO_free(bio);
	dl = i2d_X509(c, &der);
	assert_true(dl > 0);
	mangle(PEM_STRING_X509, der, (size_t)dl, pki_cert_validity);
	OPENSSL_free(der);
	der = NULL;

	crl = pki_crl_build(ca, ca_key, list, 1, 9, 86400, PKI_CRL_ALL, NULL);
	assert_non_null(crl);
	pem = pki_crl_to_pem(crl);
	assert_non_null(pem);
	assert_int_equal(pki_crl_next_update(pem, strlen(pem), &next), 0);
	assert_true(next == tm_of(X509_CRL_get0_nextUpdate(crl)));
	assert_int_equal(pki_cert_validity(pem, strlen(pem), &nb, &na), -1);
	free(pem);
	dl = i2d_X509_CRL(crl, &der);
	assert_true(dl > 0);
	mangle(PEM_STRING_X509_CRL, der, (size_t)dl, crl_reader);
	OPENSSL_free(der);

	assert_int_equal(pki_cert_validity("", 0, &nb, &na), -1);
	assert_int_equal(pki_cert_validity("not pem", 7, &nb, &na), -1);
	big = calloc(1, 70000);
	assert_non_null(big);
	memset(big, 'A', 69999);
	assert_int_equal(pki_cert_validity(big, 69999, &nb, &na), -1);
	free(big);
	X509_CRL_free(crl);
	X509_free(c);
	EVP_PKEY_free(k);
}

static void
test_ed25519(void **state)
{
	EVP_PKEY *k = pki_key_new_ed25519();
	unsigned char pub[PKI_ED25519_PUB], sig[PKI_ED25519_SIG];

	assert_int_equal(pki_ed25519_raw_pub(k, pub), 0);
	assert_int_equal(pki_ed25519_sign(k, "doc", 3, sig), 0);
	assert_int_equal(pki_ed25519_verify(pub, "doc", 3, sig), 0);
	assert_int_equal(pki_ed25519_verify(pub, "dog", 3, sig), -1);
	sig[0] ^= 1;
	assert_int_equal(pki_ed25519_verify(pub, "doc", 3, sig), -1);
	EVP_PKEY_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ca_profile),
		cmocka_unit_test(test_client_profile),
		cmocka_unit_test(test_csr),
		cmocka_unit_test(test_crl),
		cmocka_unit_test(test_crl_scope),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_ed25519),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
