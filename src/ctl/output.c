/* output.c - stewardctl's table and detail printers. */
#include "output.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static void
cell_text(json_t *v, char kind, char *out, size_t size)
{
	if (v == NULL || json_is_null(v)) {
		str_copy(out, size, "-");
	} else if (kind == 't' && json_is_integer(v)) {
		time_iso(json_integer_value(v), out, size);
	} else if (json_is_boolean(v)) {
		str_copy(out, size, json_is_true(v) ? "yes" : "no");
	} else if (json_is_integer(v)) {
		str_fmt(out, size, "%lld", (long long)json_integer_value(v));
	} else if (json_is_string(v)) {
		str_copy(out, size, json_string_value(v));
	} else {
		char *t = json_dumps(v, JSON_COMPACT);

		str_copy(out, size, t ? t : "?");
		free(t);
	}
}

void
print_table(json_t *arr, const struct column *cols)
{
	int widths[16] = {0}, c, ncols;
	size_t i;
	json_t *row;
	char buf[512];

	for (ncols = 0; ncols < 16 && cols[ncols].title; ncols++)
		widths[ncols] = (int)strlen(cols[ncols].title);
	json_array_foreach(arr, i, row)
	{
		for (c = 0; c < ncols; c++) {
			cell_text(json_object_get(row, cols[c].key),
			    cols[c].kind, buf, sizeof(buf));
			if ((int)strlen(buf) > widths[c])
				widths[c] = (int)strlen(buf);
		}
	}
	for (c = 0; c < ncols; c++)
		printf("%-*s%s", widths[c], cols[c].title,
		    c + 1 < ncols ? "  " : "\n");
	json_array_foreach(arr, i, row)
	{
		for (c = 0; c < ncols; c++) {
			cell_text(json_object_get(row, cols[c].key),
			    cols[c].kind, buf, sizeof(buf));
			printf("%-*s%s", widths[c], buf,
			    c + 1 < ncols ? "  " : "\n");
		}
	}
	if (json_array_size(arr) == 0)
		printf("(none)\n");
}

void
print_object(json_t *o, int indent)
{
	const char *key;
	json_t *v;
	char buf[1024];

	json_object_foreach(o, key, v)
	{
		int is_time = str_has_suffix(key, "_at") ||
		    strcmp(key, "last_seen") == 0;

		if (json_is_object(v)) {
			printf("%*s%s:\n", indent, "", key);
			print_object(v, indent + 2);
			continue;
		}
		cell_text(v, is_time ? 't' : 's', buf, sizeof(buf));
		printf("%*s%s: %s\n", indent, "", key, buf);
	}
}

void
print_json(json_t *o)
{
	char *t = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);

	if (t != NULL)
		printf("%s\n", t);
	free(t);
}
