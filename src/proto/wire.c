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
wire_cursor_parse(const char *s, char *sort, size_t ssize, char *key,
    size_t ksize)
{
	const char *colon = strchr(s, ':');
	size_t n, k;

	if (colon == NULL || (n = (size_t)(colon - s)) == 0 || n >= ssize ||
	    strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		      "0123456789._-") != n)
		return -1;
	k = strlen(colon + 1);
	if (k == 0 || k >= ksize ||
	    strspn(colon + 1, "0123456789abcdef") != k)
		return -1;
	memcpy(sort, s, n);
	sort[n] = '\0';
	memcpy(key, colon + 1, k + 1);
	return 0;
}
