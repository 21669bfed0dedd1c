/* test_agent.c - the agent's facts and its state directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent/agent.h"
#include "common/util.h"
#include "crypto/pki.h"

/* Written before the release: must survive it. */
static char written[8192] = "before";
static const char rodata[] = "read-only data, never written";

static long
vm_rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return kb;
}

/* The idle release drops read-only file pages only: what the process
 * wrote (data, heap) stays, and code runs again after it. */
static void
test_idle_release(void **state)
{
	char hex[PKI_FPR_HEX], again[PKI_FPR_HEX];
	char *heap = malloc(1 << 16);
	long before, after;

	(void)state;
	assert_non_null(heap);
	memset(heap, 0x5a, 1 << 16);
	str_copy(written, sizeof(written), "written by the test");
	pki_sha256_hex("steward", 7, hex);
	before = vm_rss_kb();
	assert_true(agent_idle_release() > 0);
	after = vm_rss_kb();
	assert_true(after > 0 && after < before);
	assert_string_equal(written, "written by the test");
	assert_string_equal(rodata, "read-only data, never written");
	assert_int_equal(heap[0], 0x5a);
	assert_int_equal(heap[(1 << 16) - 1], 0x5a);
	pki_sha256_hex("steward", 7, again);
	assert_string_equal(hex, again);
	free(heap);
}

static void
test_facts(void **state)
{
	struct discovery d;
	char err[ERRMSG_MAX], hw[65];

	assert_int_equal(facts_collect(&d, "web-01", "hw-override-1", err), 0);
	assert_string_equal(d.hostname, "web-01");
	assert_string_equal(d.hardware_id, "hw-override-1");
	assert_true(strncmp(d.kernel, "Linux ", 6) == 0);
	assert_true(strlen(d.os) > 0);
	assert_string_equal(d.agent_version, STEWARD_VERSION);
	assert_int_equal(facts_collect(&d, "bad host", "hw-override-1", err),
	    -1);
	assert_int_equal(facts_collect(&d, "ok", "short", err), -1);
	assert_int_equal(facts_collect(&d, "ok", "has space in it", err), -1);
	/* The default id: 64 hex chars, stable, or a clear error. */
	if (facts_hardware_id(hw, sizeof(hw), err) == 0) {
		char again[65];

		assert_int_equal(strlen(hw), 64);
		assert_int_equal(facts_hardware_id(again, sizeof(again), err),
		    0);
		assert_string_equal(hw, again);
	} else {
		assert_non_null(strstr(err, "--hardware-id"));
	}
}

static void
test_state(void **state)
{
	char dir[] = "/tmp/steward-agent-XXXXXX", path[128], err[ERRMSG_MAX];
	struct agent_state s, t;
	FILE *f;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(state_load(dir, &s, err), 0); /* empty is fine */
	assert_string_equal(s.status, "");
	str_copy(s.url, sizeof(s.url), "https://127.0.0.1:1");
	str_copy(s.client_id, sizeof(s.client_id),
	    "0123456789abcdef0123456789abcdef");
	str_copy(s.status, sizeof(s.status), "pending");
	str_copy(s.poll_secret, sizeof(s.poll_secret), "secret");
	assert_int_equal(state_save(&s, err), 0);
	str_fmt(path, sizeof(path), "%s/%s", dir, AGENT_STATE);
	{
		struct stat st;

		assert_int_equal(stat(path, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	assert_int_equal(state_load(dir, &t, err), 0);
	assert_string_equal(t.url, s.url);
	assert_string_equal(t.client_id, s.client_id);
	assert_string_equal(t.poll_secret, "secret");

	/* A readable-by-others state file (it holds the poll secret). */
	chmod(path, 0644);
	assert_int_equal(state_load(dir, &t, err), -1);
	chmod(path, 0600);
	/* A damaged one. */
	f = fopen(path, "w");
	fputs("{not json", f);
	fclose(f);
	assert_int_equal(state_load(dir, &t, err), -1);
	assert_non_null(strstr(err, "damaged"));
	unlink(path);
	rmdir(dir);
}

static void
test_renew_due(void **state)
{
	int64_t nb = 1000000, na = nb + 300 * 86400; /* 300 days */

	/* Due at two thirds of the lifetime: day 200. */
	assert_false(renew_due(nb, na, nb));
	assert_false(renew_due(nb, na, nb + 199 * 86400));
	assert_false(renew_due(nb, na, nb + 200 * 86400 - 1));
	assert_true(renew_due(nb, na, nb + 200 * 86400));
	assert_true(renew_due(nb, na, na - 1));
	assert_true(renew_due(nb, na, na + 86400)); /* expired: caller refuses */
	/* A nonsensical certificate is always due. */
	assert_true(renew_due(na, nb, nb));
	assert_true(renew_due(nb, nb, nb));
	/* Long lifetimes do not overflow. */
	assert_false(renew_due(0, INT64_C(100) * 366 * 86400, 86400));
}

static int
run_sh(const char *script, int64_t max, char *tail, size_t size, int *to)
{
	char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};

	return agent_run_child(argv, NULL, max, 7, tail, size, to);
}

static void
test_run_child(void **state)
{
	char tail[64];
	int to;
	time_t t0;

	/* Exit code, output, the clean environment. */
	assert_int_equal(run_sh("echo \"id=$STEWARD_DEPLOYMENT_ID home=$HOME "
				"x=${STEWARD_TEST_SECRET:-unset}\"; exit 5",
			     10, tail, sizeof(tail), &to),
	    5);
	assert_false(to);
	assert_string_equal(tail, "id=7 home=/root x=unset\n");
	/* Only the tail of long output is kept. */
	assert_int_equal(run_sh("i=0; while [ $i -lt 500 ]; do echo line$i; "
				"i=$((i+1)); done; printf END",
			     10, tail, sizeof(tail), &to),
	    0);
	assert_int_equal(strlen(tail), sizeof(tail) - 1);
	assert_non_null(strstr(tail, "line499\nEND"));
	/* Past the max runtime the whole group is stopped. */
	t0 = time(NULL);
	assert_int_equal(run_sh("echo started; sleep 30 & sleep 30", 1, tail,
			     sizeof(tail), &to),
	    128 + 15);
	assert_true(to);
	assert_true(time(NULL) - t0 < 10);
	assert_string_equal(tail, "started\n");
	/* A background process holding the output does not hold the run. */
	t0 = time(NULL);
	assert_int_equal(run_sh("sleep 4 & echo done", 20, tail, sizeof(tail),
			     &to),
	    0);
	assert_false(to);
	assert_true(time(NULL) - t0 < 3);
	/* Nothing to run. */
	assert_int_equal(run_sh("exec /nonexistent/x", 10, tail, sizeof(tail),
			     &to),
	    127);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_facts),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_renew_due),
		cmocka_unit_test(test_run_child),
		cmocka_unit_test(test_idle_release),
	};
	setenv("STEWARD_TEST_SECRET", "leaked", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
