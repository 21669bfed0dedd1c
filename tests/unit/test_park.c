/* test_park.c - the key schedule of parked long-polls (RFC 8446, 7.1),
 * against the published trace of RFC 8448, section 3. The records
 * themselves are checked by real OpenSSL clients in t_park.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "common/util.h"
#include "server/park.h"

static void
unhex(const char *hex, unsigned char *out)
{
	assert_int_equal(hex_decode(hex, out, strlen(hex) / 2), 0);
}

/* Expands label from the secret (hex) and compares with want (hex). */
static void
expect(const char *secret_hex, const char *label, const char *want_hex)
{
	unsigned char secret[32], want[32], out[32];
	size_t n = strlen(want_hex) / 2;

	unhex(secret_hex, secret);
	unhex(want_hex, want);
	assert_int_equal(tls13_expand_label("SHA256", secret, sizeof(secret),
			     label, out, n),
	    0);
	assert_memory_equal(out, want, n);
}

static void
test_rfc8448(void **state)
{
	static const char server[] = "a11af9f05531f856ad47116b45a95032"
				     "8204b4f44bfb6b3a4b4f1f3fcb631643";
	static const char client[] = "9e40646ce79a7f9dc05af8889bce6552"
				     "875afa0b06df0087f792ebb7c17504a5";

	(void)state;
	/* {server} derive write traffic keys for application data */
	expect(server, "key", "9f02283b6c9c07efc26bb9f2ac92e356");
	expect(server, "iv", "cf782b88dd83549aadf1e984");
	/* {client} the same for its application secret */
	expect(client, "key", "17422dda596ed5d9acd890e3c63f5051");
	expect(client, "iv", "5b78923dee08579033e523d9");
}

static void
test_bad_input(void **state)
{
	unsigned char secret[32] = {0}, out[64];
	char label[300];

	(void)state;
	memset(label, 'a', sizeof(label) - 1);
	label[sizeof(label) - 1] = '\0';
	assert_int_equal(tls13_expand_label("SHA256", secret, 32, label, out,
			     16),
	    -1);
	assert_int_equal(tls13_expand_label("NO-SUCH-DIGEST", secret, 32,
			     "key", out, 16),
	    -1);
	/* A traffic update is a full-length secret of its own. */
	assert_int_equal(tls13_expand_label("SHA384", secret, 32,
			     "traffic upd", out, 48),
	    0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc8448),
		cmocka_unit_test(test_bad_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
