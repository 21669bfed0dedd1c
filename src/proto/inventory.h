/* inventory.h - the hardware and software inventory document: its schema,
 * validation of untrusted reports, and the rows a report turns into. */
#ifndef STEWARD_INVENTORY_H
#define STEWARD_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define INVENTORY_BODY_MAX (2 * 1024 * 1024)

/* A report: {"kind": "full"|"delta", "seq": N, "base": M (delta only),
 * "client_id": optional, "classes": {...}}. In a full report every list
 * class is an array of objects and every singleton class an object; a class
 * left out is empty. In a delta, a list class is {"upsert": [objects],
 * "remove": [keys]} and a singleton class is its whole new object; classes
 * left out are unchanged. */
struct inv_report {
	int full;
	int64_t seq;
	int64_t base;
	const char *client_id; /* points into the JSON, or NULL */
	json_t *classes;       /* borrowed from the parsed document */
};

enum inv_op { INV_UPSERT, INV_REMOVE };

/* Called for each row of a validated report, classes in schema order and
 * rows in report order. data is canonical JSON (schema fields only, sorted)
 * or NULL for a removal. */
typedef int (*inv_row_cb)(void *arg, const char *cls, const char *key,
    const char *data, enum inv_op op);

/* Parses and validates a report body; *doc must be json_decref'ed. The
 * error names the offending field ("classes.packages[3].version: ..."). */
int inventory_parse(const char *body, size_t len, json_t **doc,
    struct inv_report *rep, char *err);
/* Walks the rows of a validated report. For a class the report replaces
 * whole (any class of a full report; a singleton of a delta), replaced(arg,
 * cls) is called first. */
int inventory_rows(const struct inv_report *rep, inv_row_cb row,
    int (*replaced)(void *arg, const char *cls), void *arg, char *err);

/* The class names, in order; NULL-terminated. */
extern const char *const inventory_classes[];
/* 1 when cls is a list class. */
int inventory_class_is_list(const char *cls);
/* The row key of an object of a list class (fills out, size bytes). */
int inventory_row_key(const char *cls, json_t *obj, char *out, size_t size);

#endif
