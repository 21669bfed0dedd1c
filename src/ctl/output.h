/* output.h - stewardctl's table and detail printers. */
#ifndef STEWARD_CTL_OUTPUT_H
#define STEWARD_CTL_OUTPUT_H

#include <jansson.h>

struct column {
	const char *title;
	const char *key;
	char kind; /* s string, t time, b yes/no, i integer */
};

/* Prints an aligned table of the objects in arr. */
void print_table(json_t *arr, const struct column *cols);
/* Prints an object as "key: value" lines, nested objects indented. */
void print_object(json_t *o, int indent);
void print_json(json_t *o);

#endif
