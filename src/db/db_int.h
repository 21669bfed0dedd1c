/* db_int.h - helpers shared by the repository files of the db module (not
 * for callers outside src/db). */
#ifndef STEWARD_DB_INT_H
#define STEWARD_DB_INT_H

#include "db.h"

#define NP(a) ((int)(sizeof(a) / sizeof((a)[0])))

int64_t db_cell_int(const struct db_result *r, int row, int col);
void db_cell_copy(const struct db_result *r, int row, int col, char *out,
    size_t size);
/* Rows as a JSON array of objects; types has one letter per column: s
 * string, i integer, b boolean, j JSON text. */
json_t *db_query_json(struct db *db, const char *sql,
    const struct db_param *p, int np, const char *types);
/* Runs a write; returns the number of rows it changed, or -1. */
int64_t db_exec_changes(struct db *db, const char *sql,
    const struct db_param *p, int np, char *err);

#endif
