/* output.h - stewardctl's table and detail printers. */
#ifndef STEWARD_CTL_OUTPUT_H
#define STEWARD_CTL_OUTPUT_H

#include <jansson.h>

struct column {
	const char *title;
	const char *key;
	char kind; /* s string, t time, b yes/no, i integer */
};

/* A table gathered a page at a time: the cells of its columns (not the
 * rows' other fields), aligned over every row when printed. */
#define TABLE_COLS_MAX 16
struct table {
	const struct column *cols;
	int ncols;
	int widths[TABLE_COLS_MAX];
	char **cells; /* n rows of ncols */
	size_t n, cap;
};
void table_init(struct table *t, const struct column *cols);
/* Adds the objects of the array rows; -1 when out of memory. */
int table_add(struct table *t, json_t *rows);
void table_print(const struct table *t);
void table_free(struct table *t);
/* Prints an aligned table of the objects in arr. */
void print_table(json_t *arr, const struct column *cols);
/* Prints an object as "key: value" lines, nested objects indented. */
void print_object(json_t *o, int indent);
void print_json(json_t *o);

#endif
