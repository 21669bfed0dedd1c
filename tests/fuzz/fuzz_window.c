/* fuzz_window.c - libFuzzer harness for maintenance windows as a device
 * reads them from its policy (start, recurrence, duration), deadline times,
 * and the window arithmetic run on whatever parsed: it must end. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "proto/window.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct window w[4];
	json_t *arr, *o;
	json_error_t jerr;
	char err[200], *text;
	int64_t t;
	size_t i, n = 0;

	text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	time_parse(text, &t, err);
	window_parse_start(text, &w[0], err);
	window_parse_recur(text, &w[0], err);
	/* A JSON array of window objects, as in a policy. */
	arr = json_loadb((const char *)data, size, 0, &jerr);
	json_array_foreach(arr, i, o)
	{
		if (n < 4 && window_from_json(o, &w[n], err) == 0)
			n++;
	}
	if (n > 0) {
		int64_t at = 1795600000; /* late 2026 */

		windows_room(w, n, at, 30 * 86400);
		windows_next_fit(w, n, at, 7200, WINDOW_HORIZON);
		windows_largest(w, n, at, WINDOW_HORIZON, 86400);
	}
	json_decref(arr);
	free(text);
	return 0;
}
