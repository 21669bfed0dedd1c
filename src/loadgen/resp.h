/* resp.h - the load generator's reading of a server's HTTP/1.1 answers:
 * the head (status, body framing, ETag) and chunked bodies' size lines.
 * The server may be a peer or a broken build: nothing here trusts it. */
#ifndef STEWARD_RESP_H
#define STEWARD_RESP_H

#include <stddef.h>

#define RESP_ETAG_MAX 128	   /* with its NUL; a longer ETag is dropped */
#define RESP_BODY_MAX (1LL << 30) /* a length or chunk past it is refused */

struct resp_head {
	int status;		    /* 100-599 */
	long long length;	    /* the body's bytes; -1: chunks follow */
	char etag[RESP_ETAG_MAX];   /* "" when none, too long or not
				     * visible ASCII */
};

/* Parses an answer's head: len bytes from "HTTP/1.1" through the empty
 * line (NUL bytes are refused, none is needed at the end). 0, or -1 when
 * it is not an HTTP/1.1 head with a status and a body framing: a
 * Content-Length, "Transfer-Encoding: chunked" (which wins over a length,
 * as RFC 9112 6.3 says), or a status that has no body (1xx, 204, 304). */
int resp_parse_head(const char *h, size_t len, struct resp_head *r);

/* A chunk-size line of len bytes, without its CRLF, with any chunk
 * extension after ';': the size (0 for the last chunk), or -1. */
long long resp_chunk_size(const char *line, size_t len);

#endif
