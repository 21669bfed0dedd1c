/* wire.c - loading an untrusted body as one JSON object. */
#include "wire.h"

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
