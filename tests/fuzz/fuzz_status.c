/* fuzz_status.c - libFuzzer harness for the status batch and health report
 * parsers. */
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "proto/status.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct status_batch b;
	struct health_report h;
	char err[ERRMSG_MAX];

	if (status_parse((const char *)data, size, 1800000000, &b, err) == 0)
		status_batch_free(&b);
	if (health_parse((const char *)data, size, 1800000000, &h, err) == 0)
		health_report_free(&h);
	return 0;
}
