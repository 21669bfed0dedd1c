/* status.h - status message batches and health reports from clients:
 * parse and validate. */
#ifndef STEWARD_STATUS_H
#define STEWARD_STATUS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define STATUS_BODY_MAX (64 * 1024)
#define STATUS_BATCH_MAX 100
#define STATUS_STRINGS_MAX 16
#define STATUS_STRING_LEN 256
#define HEALTH_BODY_MAX (32 * 1024)
#define HEALTH_CHECKS_MAX 32

struct status_msg {
	int64_t uid;         /* the sender's sequence number */
	char component[65];
	int64_t message_id;
	char severity[8];    /* info | warning | error */
	int64_t at;          /* device time */
	char *strings;       /* JSON array text, malloc'ed */
};

struct status_batch {
	const char *client_id; /* optional; borrowed */
	struct status_msg *msgs;
	size_t n;
	json_t *doc;
};

/* {"client_id"?: ID, "messages": [{"uid", "component", "message_id",
 * "severity", "time", "strings": [..]}]}. now bounds the device time
 * (30 days back, 1 day ahead). */
int status_parse(const char *body, size_t len, int64_t now,
    struct status_batch *b, char *err);
void status_batch_free(struct status_batch *b);
int status_component_valid(const char *s);
int status_severity_valid(const char *s);

/* {"uid", "time", "checks": [{"name", "ok": bool, "remediated": bool,
 * "detail"}]} -> state healthy | remediated | failing. */
struct health_report {
	int64_t uid;
	int64_t at;
	char state[12];
	char *checks; /* canonical JSON array, malloc'ed */
};
int health_parse(const char *body, size_t len, int64_t now,
    struct health_report *h, char *err);
void health_report_free(struct health_report *h);

#endif
