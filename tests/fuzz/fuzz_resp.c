/* fuzz_resp.c - libFuzzer harness for the load generator's reading of a
 * server's answer heads and chunk-size lines: whatever comes, it reads
 * only the bytes given and its results hold their bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resp.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resp_head r;
	long long n;
	char *copy;

	/* An exact-size copy: a read past the end is caught. */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	if (resp_parse_head(copy, size, &r) == 0) {
		if (r.status < 100 || r.status > 599 || r.length < -1 ||
		    r.length > RESP_BODY_MAX ||
		    memchr(r.etag, '\0', sizeof(r.etag)) == NULL)
			abort();
	}
	n = resp_chunk_size(copy, size);
	if (n < -1 || n > RESP_BODY_MAX)
		abort();
	free(copy);
	return 0;
}
