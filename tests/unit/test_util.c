/* test_util.c - bounded strings, encodings, numbers, durations, files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "common/httpc.h"
#include "common/log.h"
#include "common/util.h"

static void
test_str_copy(void **state)
{
	char buf[4];

	assert_int_equal(str_copy(buf, sizeof(buf), "abc"), 0);
	assert_string_equal(buf, "abc");
	assert_int_equal(str_copy(buf, sizeof(buf), "abcd"), -1);
	assert_string_equal(buf, "abc");
	assert_int_equal(str_fmt(buf, sizeof(buf), "%d", 12345), -1);
}

static void
test_hex(void **state)
{
	unsigned char in[3] = {0x00, 0xab, 0xff}, out[3];
	char hex[7];

	hex_encode(in, 3, hex);
	assert_string_equal(hex, "00abff");
	assert_int_equal(hex_decode("00ABff", out, 3), 0);
	assert_memory_equal(in, out, 3);
	assert_int_equal(hex_decode("00abf", out, 3), -1);
	assert_int_equal(hex_decode("00abfg", out, 3), -1);
	assert_int_equal(hex_decode("00abff00", out, 3), -1);
}

static void
test_str_json(void **state)
{
	char out[STR_JSON_MAX(8) + 1], ctl[9];

	assert_int_equal(str_json(out, ""), 2);
	assert_string_equal(out, "\"\"");
	assert_int_equal(str_json(out, "a\"b\\c"), 9);
	assert_string_equal(out, "\"a\\\"b\\\\c\"");
	assert_int_equal(str_json(out, "\n\x1f\x7f\xc3\xa9"), 22);
	assert_string_equal(out, "\"\\u000a\\u001f\\u007f\xc3\xa9\"");
	/* The bound is exact for the worst case; nothing past it is
	 * written. */
	memset(ctl, 1, 8);
	ctl[8] = '\0';
	out[STR_JSON_MAX(8)] = 'x';
	assert_int_equal(str_json(out, ctl), STR_JSON_MAX(8) - 1);
	assert_int_equal(out[STR_JSON_MAX(8)], 'x');
	assert_int_equal(out[STR_JSON_MAX(8) - 1], '\0');
}

static void
test_b64url(void **state)
{
	const char *vec[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
	const char *enc[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE",
	    "Zm9vYmFy"};
	unsigned char out[16];
	char buf[32];
	size_t i;

	for (i = 0; i < 7; i++) {
		b64url_encode((const unsigned char *)vec[i], strlen(vec[i]),
		    buf);
		assert_string_equal(buf, enc[i]);
		assert_int_equal(b64url_len(strlen(vec[i])), strlen(enc[i]));
		assert_int_equal(b64url_decode(enc[i], strlen(enc[i]), out,
				     sizeof(out)),
		    strlen(vec[i]));
		assert_memory_equal(out, vec[i], strlen(vec[i]));
	}
	/* Malformed: bad characters, impossible length, padding, non-zero
	 * trailing bits, too small an output buffer. */
	assert_int_equal(b64url_decode("Zm9v+", 5, out, sizeof(out)), -1);
	assert_int_equal(b64url_decode("Z", 1, out, sizeof(out)), -1);
	assert_int_equal(b64url_decode("Zg==", 4, out, sizeof(out)), -1);
	assert_int_equal(b64url_decode("Zh", 2, out, sizeof(out)), -1);
	assert_int_equal(b64url_decode("Zm9vYmFy", 8, out, 3), -1);
}

static void
test_numbers(void **state)
{
	int64_t v;

	assert_int_equal(parse_int64("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(parse_int64("101", 0, 100, &v), -1);
	assert_int_equal(parse_int64("4x", 0, 100, &v), -1);
	assert_int_equal(parse_int64("", 0, 100, &v), -1);
	assert_int_equal(parse_int64(" 4", 0, 100, &v), -1);
	assert_int_equal(parse_int64("99999999999999999999999", 0, INT64_MAX,
			     &v),
	    -1);
	assert_int_equal(parse_duration("90s", &v), 0);
	assert_int_equal(v, 90);
	assert_int_equal(parse_duration("1h", &v), 0);
	assert_int_equal(v, 3600);
	assert_int_equal(parse_duration("30d", &v), 0);
	assert_int_equal(v, 30 * 86400);
	assert_int_equal(parse_duration("2w", &v), 0);
	assert_int_equal(v, 14 * 86400);
	assert_int_equal(parse_duration("15", &v), 0);
	assert_int_equal(v, 15);
	assert_int_equal(parse_duration("h", &v), -1);
	assert_int_equal(parse_duration("-1h", &v), -1);
	assert_int_equal(parse_duration("1y", &v), -1);
	assert_int_equal(parse_duration("999999999999d", &v), -1);
	assert_int_equal(parse_duration("1111111111111111111111111111h", &v),
	    -1);
}

static void
test_files(void **state)
{
	char dir[] = "/tmp/steward-test-XXXXXX", path[128], err[ERRMSG_MAX];
	char *text;
	size_t len;
	struct stat st;

	assert_non_null(mkdtemp(dir));
	str_fmt(path, sizeof(path), "%s/secret", dir);
	/* Created 0600 whatever the umask. */
	umask(0);
	assert_int_equal(file_write_new(path, "k", 1, 0600, err), 0);
	umask(022);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(file_check_secret(path, err), 0);
	/* Never overwrites. */
	assert_int_equal(file_write_new(path, "x", 1, 0600, err), -1);
	chmod(path, 0640);
	assert_int_equal(file_check_secret(path, err), -1);
	assert_non_null(strstr(err, "0600"));
	assert_int_equal(file_read(path, 16, &text, &len, err), 0);
	assert_int_equal(len, 1);
	free(text);
	assert_int_equal(file_write_atomic(path, "longer", 6, 0600, err), 0);
	assert_int_equal(file_read(path, 3, &text, &len, err), -1);
	assert_non_null(strstr(err, "larger"));
	/* A cache rewritten in place: shorter content leaves nothing of the
	 * longer behind, a loosened mode is put back, links are refused. */
	assert_int_equal(file_write_cache(path, "0123456789", 10, 0600, err),
	    0);
	chmod(path, 0644);
	assert_int_equal(file_write_cache(path, "abc", 3, 0600, err), 0);
	assert_int_equal(file_read(path, 16, &text, &len, err), 0);
	assert_int_equal(len, 3);
	assert_string_equal(text, "abc");
	free(text);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	{
		char link[160];

		str_fmt(link, sizeof(link), "%s/link", dir);
		assert_int_equal(symlink(path, link), 0);
		assert_int_equal(file_write_cache(link, "x", 1, 0600, err),
		    -1);
		assert_int_equal(file_read(path, 16, &text, &len, err), 0);
		assert_string_equal(text, "abc");
		free(text);
		unlink(link);
	}
	unlink(path);
	str_fmt(path, sizeof(path), "%s/new", dir);
	umask(077);
	assert_int_equal(file_write_cache(path, "n", 1, 0644, err), 0);
	umask(022);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	unlink(path);
	rmdir(dir);
	/* A /proc file: size 0 in stat, content on read. */
	assert_int_equal(file_read("/proc/self/status", 1 << 20, &text, &len,
			     err),
	    0);
	assert_true(len > 0);
	assert_non_null(strstr(text, "Name:"));
	free(text);
}

static int
dechunk(const char *in, char *out, size_t *blen)
{
	size_t len = strlen(in);

	memcpy(out, in, len + 1);
	return httpc_dechunk(out, len, blen);
}

/* The HTTPS client's chunked decoding, on whole, partial and malformed
 * bodies. */
static void
test_dechunk(void **state)
{
	char buf[256], big[200];
	size_t n;
	const char *bad[] = {"zz\r\nab\r\n0\r\n\r\n", "-1\r\n",
	    "3\r\nabcX\r\n0\r\n\r\n", "3x\r\nabc\r\n0\r\n\r\n",
	    "ffffffffffffffffff\r\n", " 3\r\nabc\r\n0\r\n\r\n",
	    "400001\r\n", "\r\nabc\r\n0\r\n\r\n"};
	size_t i;

	assert_int_equal(dechunk("3\r\nabc\r\n2;x=1\r\nde\r\n0\r\n\r\n", buf,
			     &n),
	    1);
	assert_int_equal(n, 5);
	assert_memory_equal(buf, "abcde", 5);
	assert_int_equal(dechunk("0\r\n\r\n", buf, &n), 1);
	assert_int_equal(n, 0);
	/* Not yet complete. */
	assert_int_equal(dechunk("", buf, &n), 0);
	assert_int_equal(dechunk("3\r\nab", buf, &n), 0);
	assert_int_equal(dechunk("3\r\nabc\r\n0\r\n", buf, &n), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(dechunk(bad[i], buf, &n), -1);
	/* A size line that never ends is not waited for forever. */
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(dechunk(big, buf, &n), -1);
}

/* A log longer than the tail read at start still continues its chain. */
static void
test_log_continues_from_tail(void **state)
{
	char dir[] = "/tmp/steward-log-XXXXXX", path[128], err[ERRMSG_MAX];
	char report[512];
	struct stat st;
	int i, saved, devnull;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(chmod(dir, 0750), 0);
	str_fmt(path, sizeof(path), "%s/t.log", dir);
	log_init("test", LVL_INFO);
	/* Records also go to standard error: not here. */
	saved = dup(2);
	devnull = open("/dev/null", O_WRONLY);
	assert_true(saved >= 0 && devnull >= 0 && dup2(devnull, 2) == 2);
	assert_int_equal(log_open_file(path, err), 0);
	for (i = 0; i < 1000; i++)
		log_info("record %d, padded to make the log longer than its "
			 "tail: ..........................................",
		    i);
	log_close_file();
	assert_int_equal(log_open_file(path, err), 0);
	log_info("after reopening");
	log_close_file();
	dup2(saved, 2);
	close(saved);
	close(devnull);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 64 * 1024);
	assert_int_equal(log_verify(path, report, sizeof(report)), 0);
	unlink(path);
	rmdir(dir);
}

/* UTC times, ISO 8601, whatever the local zone. */
static void
test_time_iso(void **state)
{
	char out[32], small[8];

	(void)state;
	setenv("TZ", "Pacific/Kiritimati", 1);
	time_iso(0, out, sizeof(out));
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	time_iso(1767225599, out, sizeof(out));
	assert_string_equal(out, "2025-12-31T23:59:59Z");
	time_iso(253402300799LL, out, sizeof(out));
	assert_string_equal(out, "9999-12-31T23:59:59Z");
	time_iso(0, small, sizeof(small));
	assert_string_equal(small, "?");
	unsetenv("TZ");
}

/* A self-signed certificate signed with md, checked as its own anchor. */
static int
verify_signed_with(const EVP_MD *md)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_NAME *name = X509_get_subject_name(x);
	int ok;

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"anchor", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, key);
	ok = X509_sign(x, key, md) > 0 && X509_STORE_add_cert(store, x) == 1 &&
	    X509_STORE_CTX_init(ctx, store, x, NULL) == 1 &&
	    X509_verify_cert(ctx) == 1;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	X509_free(x);
	EVP_PKEY_free(key);
	return ok;
}

/* The client's slimmed OpenSSL start (httpc_global_init, called first in
 * main) still weighs the signatures of certificates: each digest a site or
 * enterprise CA signs with is found, and such a chain verifies. */
static void
test_tls_start(void **state)
{
	static const int nids[] = {NID_sha224, NID_sha256, NID_sha384,
	    NID_sha512, NID_sha3_256, NID_sha3_512};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(nids) / sizeof(nids[0]); i++)
		assert_non_null(EVP_get_digestbynid(nids[i]));
	assert_true(verify_signed_with(EVP_sha256()));
	assert_true(verify_signed_with(EVP_sha384()));
	assert_true(verify_signed_with(EVP_sha512()));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_str_copy),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_str_json),
		cmocka_unit_test(test_b64url),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_log_continues_from_tail),
		cmocka_unit_test(test_dechunk),
		cmocka_unit_test(test_tls_start),
		cmocka_unit_test(test_time_iso),
	};

	/* First: its choices hold only when made before any other use. */
	httpc_global_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
