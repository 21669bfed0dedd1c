/* test_signer.c - the signer's request handler on good and malformed
 * messages: it must refuse, never crash, and sign only the fixed profile. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <openssl/x509v3.h>

#include "common/log.h"
#include "common/util.h"
#include "server/server.h"
#include "server/signer.h"

static struct signer_keys k;

static int
setup(void **state)
{
	log_init("test", LVL_ERR);
	k.ca_key = pki_key_new_ec();
	k.ca = pki_ca_create(k.ca_key, "test CA", 30, NULL);
	k.sign_key = pki_key_new_ed25519();
	k.client_days = 365;
	return k.ca ? 0 : -1;
}

static int
teardown(void **state)
{
	X509_free(k.ca);
	EVP_PKEY_free(k.ca_key);
	EVP_PKEY_free(k.sign_key);
	return 0;
}

static size_t
csr_request(unsigned char *buf, size_t size, const char *id)
{
	EVP_PKEY *key = pki_key_new_ec();
	char *pem = NULL;
	size_t n = strlen(id), m;

	pki_csr_make(key, "h", &pem);
	EVP_PKEY_free(key);
	m = strlen(pem);
	assert_true(2 + n + m <= size);
	buf[0] = (unsigned char)n;
	buf[1] = 0;
	memcpy(buf + 2, id, n);
	memcpy(buf + 2 + n, pem, m);
	free(pem);
	return 2 + n + m;
}

static void
test_sign_csr(void **state)
{
	unsigned char req[4096], *out;
	size_t len, outlen;
	char id[33];
	X509 *cert;

	rand_id(id);
	len = csr_request(req, sizeof(req), id);
	assert_int_equal(signer_handle(&k, SIGNER_SIGN_CSR, req, len, &out,
			     &outlen),
	    SIGNER_OK);
	cert = pki_cert_from_pem((char *)out, outlen, NULL);
	assert_non_null(cert);
	assert_int_equal(X509_get_extended_key_usage(cert), XKU_SSL_CLIENT);
	assert_int_equal(X509_check_ca(cert), 0);
	assert_true(pki_cert_signed_by(cert, k.ca));
	X509_free(cert);
	free(out);
}

static void
expect_err(uint32_t type, const unsigned char *p, size_t len)
{
	unsigned char *out;
	size_t outlen;

	assert_int_equal(signer_handle(&k, type, p, len, &out, &outlen),
	    SIGNER_ERR);
	assert_non_null(out);
	free(out);
}

static void
test_malformed(void **state)
{
	unsigned char req[4096], crl[64];
	size_t len;

	expect_err(99, (const unsigned char *)"x", 1);
	expect_err(SIGNER_OK, NULL, 0);
	expect_err(SIGNER_SIGN_CSR, (const unsigned char *)"", 0);
	expect_err(SIGNER_SIGN_CSR, (const unsigned char *)"\x05", 1);
	/* An admin identity or a non-hex id is refused: the signer issues
	 * client identities only. */
	len = csr_request(req, sizeof(req), "admin");
	expect_err(SIGNER_SIGN_CSR, req, len);
	len = csr_request(req, sizeof(req), "0123456789abcdef0123456789abcdeX");
	expect_err(SIGNER_SIGN_CSR, req, len);
	/* Id length pointing past the end. */
	req[0] = 200;
	expect_err(SIGNER_SIGN_CSR, req, 10);
	/* Damaged CSR. */
	len = csr_request(req, sizeof(req), "0123456789abcdef0123456789abcdef");
	req[len / 2] ^= 0x55;
	expect_err(SIGNER_SIGN_CSR, req, len);
	/* Nothing to sign / too much to sign. */
	expect_err(SIGNER_SIGN_BYTES, (const unsigned char *)"", 0);
	{
		unsigned char *big = calloc(1, SIGNER_SIGN_MAX + 1);

		expect_err(SIGNER_SIGN_BYTES, big, SIGNER_SIGN_MAX + 1);
		free(big);
	}
	/* CRL: short header, absurd count, trailing bytes, bad serial. */
	memset(crl, 0, sizeof(crl));
	expect_err(SIGNER_ISSUE_CRL, crl, 10);
	crl[8] = 0x10; /* next update 4096 s */
	crl[16] = 0xff;
	crl[17] = 0xff;
	expect_err(SIGNER_ISSUE_CRL, crl, 20);
	crl[16] = 0;
	crl[17] = 0;
	expect_err(SIGNER_ISSUE_CRL, crl, 21);
	crl[16] = 1;
	crl[20] = 2;
	memcpy(crl + 21, "zz", 2);
	expect_err(SIGNER_ISSUE_CRL, crl, 32);
}

/* One CRL of one entry, signed by the CA, of the scope asked for. */
static void
issue_crl(enum signer_msg type, const unsigned char *req, size_t len,
    int scope)
{
	unsigned char *out;
	const unsigned char *p;
	size_t outlen;
	X509_CRL *crl;

	assert_int_equal(signer_handle(&k, type, req, len, &out, &outlen),
	    SIGNER_OK);
	p = out;
	crl = d2i_X509_CRL(NULL, &p, (long)outlen);
	assert_non_null(crl);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(k.ca)), 1);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 1);
	assert_int_equal(pki_crl_scope(crl), scope);
	X509_CRL_free(crl);
	free(out);
}

static void
test_crl_and_bytes(void **state)
{
	unsigned char req[64], *out, pub[PKI_ED25519_PUB];
	size_t outlen;

	memset(req, 0, sizeof(req));
	req[0] = 3;                         /* number 3 */
	req[8] = 0x80;                      /* next update */
	req[9] = 0x51;                      /* 0x5180 = 20864 s */
	req[16] = 1;                        /* one entry */
	req[20] = 4;
	memcpy(req + 21, "abcd", 4);
	req[25] = 1;                        /* revoked at 1 */
	req[33] = 1;                        /* reason keyCompromise */
	/* The entry as a CRL of every certificate, then as the server
	 * certificates' partition. */
	issue_crl(SIGNER_ISSUE_CRL, req, 34, PKI_CRL_ALL);
	issue_crl(SIGNER_ISSUE_SERVER_CRL, req, 34, PKI_CRL_SERVERS);
	assert_int_equal(signer_handle(&k, SIGNER_ISSUE_SERVER_CRL, req, 33,
			     &out, &outlen),
	    SIGNER_ERR);
	free(out);

	assert_int_equal(signer_handle(&k, SIGNER_SIGN_BYTES,
			     (const unsigned char *)"policy", 6, &out, &outlen),
	    SIGNER_OK);
	assert_int_equal(outlen, PKI_ED25519_SIG);
	pki_ed25519_raw_pub(k.sign_key, pub);
	assert_int_equal(pki_ed25519_verify(pub, "policy", 6, out), 0);
	free(out);
}

/* How often the site asks the signer for a CRL in a burst: a second, or
 * ten times what the last CRL took (a whole site's takes about half a
 * second), at most a minute. */
static void
test_crl_coalesce(void **state)
{
	assert_int_equal(crl_coalesce_ms(0), 1000);
	assert_int_equal(crl_coalesce_ms(43), 1000);
	assert_int_equal(crl_coalesce_ms(100), 1000);
	assert_int_equal(crl_coalesce_ms(101), 1010);
	assert_int_equal(crl_coalesce_ms(500), 5000);
	assert_int_equal(crl_coalesce_ms(6000), 60000);
	assert_int_equal(crl_coalesce_ms(100000), 60000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_csr),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_crl_and_bytes),
		cmocka_unit_test(test_crl_coalesce),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
