/* fuzz_validity.c - libFuzzer harness for the certificate and CRL date
 * readers (pki_cert_validity, pki_crl_next_update) and the CRL scope check
 * the agent applies to a CRL it downloads (pki_crl_scope): the input is
 * the DER, wrapped as PEM of both kinds, and the raw bytes as PEM text
 * too. */
#include <stddef.h>
#include <stdint.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto/pki.h"

static void
as_pem(const char *name, const uint8_t *data, size_t size)
{
	BIO *bio = BIO_new(BIO_s_mem());
	int64_t a, b;
	char *pem;
	long n;

	if (bio == NULL)
		return;
	if (PEM_write_bio(bio, name, "", data, (long)size) > 0 &&
	    (n = BIO_get_mem_data(bio, &pem)) > 0) {
		pki_cert_validity(pem, (size_t)n, &a, &b);
		pki_crl_next_update(pem, (size_t)n, &a);
	}
	BIO_free(bio);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char *p = data;
	X509_CRL *crl;
	int64_t a, b;

	if ((crl = d2i_X509_CRL(NULL, &p, (long)size)) != NULL) {
		pki_crl_scope(crl);
		X509_CRL_free(crl);
	}
	as_pem(PEM_STRING_X509, data, size);
	as_pem(PEM_STRING_X509_CRL, data, size);
	pki_cert_validity((const char *)data, size, &a, &b);
	pki_crl_next_update((const char *)data, size, &a);
	return 0;
}
