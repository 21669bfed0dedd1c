/* resp.h - reading a server's HTTP/1.1 answers: the head (status, body
 * framing, Connection: close, ETag) and chunked bodies' size lines. Used
 * by the agent's and stewardctl's HTTPS client and by the load generator.
 * The server may be a peer, a broken build or not the site at all:
 * nothing here trusts it. */
#ifndef STEWARD_RESP_H
#define STEWARD_RESP_H

#include <stddef.h>

#define RESP_ETAG_MAX 128	   /* with its NUL; a longer ETag is dropped */
#define RESP_BODY_MAX (1LL << 30) /* a length or chunk past it is refused */

#define RESP_CHUNKED (-1)  /* length: chunks follow */
#define RESP_TO_CLOSE (-2) /* length: the body ends when the connection
			    * does (no framing given) */

struct resp_head {
	int status;		    /* 100-599 */
	long long length;	    /* the body's bytes, RESP_CHUNKED or
				     * RESP_TO_CLOSE */
	int close;		    /* the server closes after this answer */
	char etag[RESP_ETAG_MAX];   /* "" when none, too long or not
				     * visible ASCII */
};

/* Parses an answer's head: len bytes from "HTTP/1.1" (or "HTTP/1.0",
 * which closes) through the empty line (NUL bytes are refused, none is
 * needed at the end). 0, or -1 when it is not such a head with a
 * three-digit status and a body framing that can be trusted: two
 * different Content-Lengths, a length that is not a number, or a
 * Transfer-Encoding whose last coding is not chunked are refused. Chunked
 * wins over a length (RFC 9112 6.3); a status that has no body (1xx, 204,
 * 304) has none whatever the head says; a head with neither gives
 * RESP_TO_CLOSE, which a keep-alive client refuses. */
int resp_parse_head(const char *h, size_t len, struct resp_head *r);

/* The opaque part of a strong ETag (the text between its quotes), into
 * out (size bytes): -1 when etag is not a strong ETag or does not fit. */
int resp_etag_opaque(const char *etag, char *out, size_t size);

/* A chunk-size line of len bytes, without its CRLF, with any chunk
 * extension after ';': the size (0 for the last chunk), or -1. */
long long resp_chunk_size(const char *line, size_t len);

#endif
