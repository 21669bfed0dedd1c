/* wire.c - loading an untrusted body as one JSON object; the cursors of
 * paged lists. */
#include "wire.h"

#include <string.h>

#include "common/util.h"

json_t *
wire_load_object(const char *body, size_t len, size_t max, char *err)
{
	json_error_t jerr;
	json_t *o;

	if (len > max) {
		err_set(err, "body larger than %zu bytes", max);
		return NULL;
	}
	o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		err_set(err, "malformed JSON at line %d column %d: %s",
		    jerr.line, jerr.column, jerr.text);
		return NULL;
	}
	if (!json_is_object(o)) {
		json_decref(o);
		err_set(err, "body must be a JSON object");
		return NULL;
	}
	return o;
}

int
wire_cursor_parse(const char *s, int64_t *at, char *key, size_t size)
{
	const char *colon = strchr(s, ':');
	char num[24];
	size_t n, k;

	if (colon == NULL || (n = (size_t)(colon - s)) == 0 ||
	    n >= sizeof(num) || size < 2)
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	if (strspn(num, "0123456789") != n ||
	    parse_int64(num, 0, (int64_t)1 << 62, at) < 0)
		return -1;
	k = strlen(colon + 1);
	if (k == 0 || k >= size ||
	    strspn(colon + 1, "0123456789abcdef") != k)
		return -1;
	memcpy(key, colon + 1, k + 1);
	return 0;
}
