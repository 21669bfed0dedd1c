/* fuzz_config.c - libFuzzer harness for steward.conf parsing. */
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "common/util.h"
#include "server/site.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct site_config c;
	char err[ERRMSG_MAX];

	site_config_defaults(&c);
	config_parse((const char *)data, size, site_config_setting, &c, err);
	return 0;
}
