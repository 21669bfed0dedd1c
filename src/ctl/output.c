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
table_init(struct table *t, const struct column *cols)
{
	memset(t, 0, sizeof(*t));
	t->cols = cols;
	for (t->ncols = 0; t->ncols < TABLE_COLS_MAX && cols[t->ncols].title;
	     t->ncols++)
		t->widths[t->ncols] = (int)strlen(cols[t->ncols].title);
}

int
table_add(struct table *t, json_t *rows)
{
	json_t *row;
	size_t i;
	char buf[512];
	int c;

	json_array_foreach(rows, i, row)
	{
		if (t->n == t->cap) {
			size_t cap = t->cap ? t->cap * 2 : 64;
			char **v = realloc(t->cells,
			    cap * (size_t)t->ncols * sizeof(*v));

			if (v == NULL)
				return -1;
			t->cells = v;
			t->cap = cap;
		}
		for (c = 0; c < t->ncols; c++) {
			cell_text(json_object_get(row, t->cols[c].key),
			    t->cols[c].kind, buf, sizeof(buf));
			if ((int)strlen(buf) > t->widths[c])
				t->widths[c] = (int)strlen(buf);
			if ((t->cells[t->n * (size_t)t->ncols + (size_t)c] =
				    strdup(buf)) == NULL) {
				while (c-- > 0)
					free(t->cells[t->n * (size_t)t->ncols +
					    (size_t)c]);
				return -1;
			}
		}
		t->n++;
	}
	return 0;
}

void
table_print(const struct table *t)
{
	size_t i;
	int c;

	for (c = 0; c < t->ncols; c++)
		printf("%-*s%s", t->widths[c], t->cols[c].title,
		    c + 1 < t->ncols ? "  " : "\n");
	for (i = 0; i < t->n; i++)
		for (c = 0; c < t->ncols; c++)
			printf("%-*s%s", t->widths[c],
			    t->cells[i * (size_t)t->ncols + (size_t)c],
			    c + 1 < t->ncols ? "  " : "\n");
	if (t->n == 0)
		printf("(none)\n");
}

void
table_free(struct table *t)
{
	size_t i;

	for (i = 0; i < t->n * (size_t)t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->n = t->cap = 0;
}

void
print_table(json_t *arr, const struct column *cols)
{
	struct table t;

	table_init(&t, cols);
	if (table_add(&t, arr) < 0)
		fprintf(stderr, "stewardctl: out of memory\n");
	table_print(&t);
	table_free(&t);
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
