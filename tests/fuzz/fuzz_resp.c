/* fuzz_resp.c - libFuzzer harness for the reading of a server's answers
 * (the HTTPS client's and the load generator's): heads, chunk-size lines,
 * ETags and the HTTPS client's decoding of a chunked body. Whatever comes,
 * only the bytes given are read and the results hold their bounds. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/httpc.h"
#include "common/resp.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resp_head r;
	long long n;
	size_t blen = 0;
	char *copy, opaque[96];
	int d;

	/* An exact-size copy: a read past the end is caught. */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	if (resp_parse_head(copy, size, &r) == 0) {
		if (r.status < 100 || r.status > 599 ||
		    r.length < RESP_TO_CLOSE || r.length > RESP_BODY_MAX ||
		    (r.length == RESP_TO_CLOSE && !r.close) ||
		    memchr(r.etag, '\0', sizeof(r.etag)) == NULL)
			abort();
		if (resp_etag_opaque(r.etag, opaque, sizeof(opaque)) == 0 &&
		    (strlen(opaque) + 2 != strlen(r.etag) ||
			memchr(opaque, '"', strlen(opaque)) != NULL))
			abort();
	}
	n = resp_chunk_size(copy, size);
	if (n < -1 || n > RESP_BODY_MAX)
		abort();
	/* Decoded in place: never longer than what came. */
	d = httpc_dechunk(copy, size, &blen);
	if (d < -1 || d > 1 || (d == 1 && blen > size))
		abort();
	free(copy);
	return 0;
}
