/* resp.c - reading a server's HTTP/1.1 answers (the HTTPS client, the load
 * generator): bounded by the lengths given, never by a NUL the server did
 * not send. */
#include <string.h>
#include <strings.h>

#include "resp.h"

/* Whether the line [p, end) begins with the header name (any case) and a
 * colon; *value is then the field value with its blanks trimmed, and *vlen
 * its length. */
static int
header_is(const char *p, const char *end, const char *name,
    const char **value, size_t *vlen)
{
	size_t n = strlen(name);

	if ((size_t)(end - p) <= n || strncasecmp(p, name, n) != 0 ||
	    p[n] != ':')
		return 0;
	p += n + 1;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	*value = p;
	*vlen = (size_t)(end - p);
	return 1;
}

/* A run of decimal digits that is the whole of [p, p + n), up to max: the
 * number, or -1. */
static long long
decimal(const char *p, size_t n, long long max)
{
	long long v = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
		if (v > max)
			return -1;
	}
	return v;
}

/* Whether [p, p + n) is all visible ASCII (no blank, no control). */
static int
visible(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f)
			return 0;
	return 1;
}

/* Whether the line [p, end) is a field: a token (RFC 9110 5.1) and a
 * colon. A blank before the colon is refused (RFC 9112 5.1), so that
 * "Content-Length : 4" cannot be taken as some other field. */
static int
field_line(const char *p, const char *end)
{
	const char *q;

	for (q = p; q < end && *q != ':'; q++)
		if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
			(*q >= '0' && *q <= '9') ||
			(*q != '\0' && strchr("!#$%&'*+-.^_`|~", *q) != NULL)))
			return 0;
	return q > p && q < end;
}

/* Whether the comma-separated list v (n bytes) has the token tok, in any
 * case. */
static int
has_token(const char *v, size_t n, const char *tok)
{
	size_t tlen = strlen(tok);
	const char *end = v + n, *p = v;

	while (p < end) {
		const char *q = memchr(p, ',', (size_t)(end - p)), *e;

		if (q == NULL)
			q = end;
		e = q;
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if ((size_t)(e - p) == tlen && strncasecmp(p, tok, tlen) == 0)
			return 1;
		if (q == end)
			break;
		p = q + 1;
	}
	return 0;
}

/* Whether the last transfer coding of a Transfer-Encoding value is
 * "chunked". */
static int
ends_chunked(const char *v, size_t n)
{
	const char *comma = NULL, *p;

	for (p = v; p < v + n; p++)
		if (*p == ',')
			comma = p;
	if (comma != NULL) {
		n -= (size_t)(comma + 1 - v);
		v = comma + 1;
		while (n > 0 && (*v == ' ' || *v == '\t')) {
			v++;
			n--;
		}
	}
	return n == 7 && strncasecmp(v, "chunked", 7) == 0;
}

int
resp_parse_head(const char *h, size_t len, struct resp_head *r)
{
	const char *end = h + len, *line, *nl, *v;
	long long clen = -1, n;
	size_t vlen;
	int chunked = 0;

	memset(r, 0, sizeof(*r));
	r->length = RESP_CHUNKED;
	/* "HTTP/1.1 " three digits, then a space or the line's end. */
	if (len < 13 || memchr(h, '\0', len) != NULL ||
	    (memcmp(h, "HTTP/1.1 ", 9) != 0 &&
		memcmp(h, "HTTP/1.0 ", 9) != 0) ||
	    (n = decimal(h + 9, 3, 999)) < 100 || n > 599 ||
	    (h[12] != ' ' && h[12] != '\r' && h[12] != '\n'))
		return -1;
	r->status = (int)n;
	r->close = h[7] == '0';
	if ((nl = memchr(h, '\n', len)) == NULL)
		return -1;
	for (line = nl + 1; line < end; line = nl + 1) {
		const char *le;

		if ((nl = memchr(line, '\n', (size_t)(end - line))) == NULL)
			return -1; /* the head ends with a line end */
		le = nl > line && nl[-1] == '\r' ? nl - 1 : nl;
		if (le == line)
			break; /* the empty line */
		if (!field_line(line, le))
			return -1;
		if (header_is(line, le, "Content-Length", &v, &vlen)) {
			n = decimal(v, vlen, RESP_BODY_MAX);
			/* Two different lengths: no framing to trust. */
			if (n < 0 || (clen >= 0 && n != clen))
				return -1;
			clen = n;
		} else if (header_is(line, le, "Transfer-Encoding", &v,
			       &vlen)) {
			if (!ends_chunked(v, vlen))
				return -1; /* a body that ends at close */
			chunked = 1;
		} else if (header_is(line, le, "Connection", &v, &vlen)) {
			if (has_token(v, vlen, "close"))
				r->close = 1;
		} else if (header_is(line, le, "ETag", &v, &vlen) &&
		    vlen < sizeof(r->etag) && visible(v, vlen)) {
			/* It goes back in If-None-Match as it is. */
			memcpy(r->etag, v, vlen);
			r->etag[vlen] = '\0';
		}
	}
	if (line >= end)
		return -1; /* no empty line */
	if (r->status < 200 || r->status == 204 || r->status == 304)
		r->length = 0;
	else if (chunked)
		r->length = RESP_CHUNKED;
	else if (clen >= 0)
		r->length = clen;
	else {
		r->length = RESP_TO_CLOSE;
		r->close = 1;
	}
	return 0;
}

int
resp_etag_opaque(const char *etag, char *out, size_t size)
{
	size_t n = strlen(etag);

	/* A strong ETag is DQUOTE *etagc DQUOTE (RFC 9110 8.8.3). */
	if (n < 2 || etag[0] != '"' || etag[n - 1] != '"' || n - 2 >= size ||
	    memchr(etag + 1, '"', n - 2) != NULL)
		return -1;
	memcpy(out, etag + 1, n - 2);
	out[n - 2] = '\0';
	return 0;
}

long long
resp_chunk_size(const char *line, size_t len)
{
	const char *semi = memchr(line, ';', len);
	long long v = 0;
	size_t i, n = semi != NULL ? (size_t)(semi - line) : len;

	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		char ch = line[i];
		int d;

		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			d = ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			d = ch - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
		if (v > RESP_BODY_MAX)
			return -1;
	}
	return v;
}
