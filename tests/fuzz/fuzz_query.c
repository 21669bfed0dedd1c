/* fuzz_query.c - libFuzzer harness for the query language parser and
 * evaluator, and Debian version comparison. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/query.h"

static int
lookup(void *arg, const struct qattr *a, struct qval *out)
{
	/* Every attribute exists and holds the input itself. */
	out->s = arg;
	return a->nseg > 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), err[200];
	struct query *q;

	memcpy(text, data, size);
	text[size] = '\0';
	q = query_parse(text, err, sizeof(err));
	if (q != NULL) {
		query_eval(q, lookup, text);
		query_free(q);
	}
	debian_version_cmp(text, "1:2.3~rc1-4+b1");
	query_glob(text, "web-01.example.com");
	free(text);
	return 0;
}
