/* fuzz_inventory.c - libFuzzer harness for the inventory report parser and
 * the walk that turns a report into rows. */
#include <stddef.h>
#include <stdint.h>

#include "common/util.h"
#include "proto/inventory.h"

static int
row(void *arg, const char *cls, const char *key, const char *data,
    enum inv_op op)
{
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct inv_report rep;
	char err[ERRMSG_MAX];
	json_t *doc;

	if (inventory_parse((const char *)data, size, &doc, &rep, err) == 0) {
		inventory_rows(&rep, row, NULL, NULL, err);
		json_decref(doc);
	}
	return 0;
}
