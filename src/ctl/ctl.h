/* ctl.h - what stewardctl's command files share: the connection to the
 * admin API and the ways of answering. */
#ifndef STEWARD_CTL_H
#define STEWARD_CTL_H

#include <stddef.h>

#include <jansson.h>

#include "output.h"

struct ctl {
	char url[300];
	char *cred; /* whole credential file: key, cert, CA */
	char *ca;   /* the CA certificate, re-encoded */
	int json;
};

/* Print "stewardctl: ..." to standard error and return the exit code: 1
 * for a failure, 2 for a mistake on the command line. */
int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int usage_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One admin API call (body is consumed); the parsed body of a 2xx answer,
 * or NULL after printing the server's error. */
json_t *call(struct ctl *c, const char *method, const char *path,
    json_t *body);
json_t *call_raw(struct ctl *c, const char *method, const char *path,
    const void *data, size_t len, const char *ctype);
/* Prints o (as JSON with --json, as a table of o[list_key] or as an
 * object) and consumes it; 1 when o is NULL. */
int show(struct ctl *c, json_t *o, const char *list_key,
    const struct column *cols);
/* Prints every page of the list list_key at path (the site's "next"s
 * followed): one JSON object with --json, else the table of cols, after
 * the first page's other fields when with_head. 1 on a failure. */
int show_pages(struct ctl *c, const char *path, const char *list_key,
    const struct column *cols, int with_head);

/* deploy.c */
int cmd_content(struct ctl *c, int argc, char **argv);
int cmd_deploy(struct ctl *c, int argc, char **argv);
int cmd_deployments(struct ctl *c, int argc, char **argv);
int cmd_windows(struct ctl *c, int argc, char **argv);
int cmd_report_windows(struct ctl *c, int argc, char **argv);

#endif
