/* fuzz_enroll.c - libFuzzer harness for the enrollment-request and
 * heartbeat parsers. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/util.h"
#include "proto/discovery.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enroll_request *r = malloc(sizeof(*r));
	struct discovery d;
	char err[ERRMSG_MAX];

	enroll_request_parse((const char *)data, size, r, err);
	free(r);
	if (heartbeat_parse((const char *)data, size, &d, err) == 0)
		free(discovery_to_json(&d));
	return 0;
}
