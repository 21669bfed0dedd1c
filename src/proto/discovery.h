/* discovery.h - wire documents of enrollment and heartbeat: parse and validate
 * what a device says about itself, and the enrollment request around it. */
#ifndef STEWARD_DISCOVERY_H
#define STEWARD_DISCOVERY_H

#include <stddef.h>

#include <jansson.h>

#include "../crypto/token.h"

#define DISC_STR_MAX 256
#define DISC_HOST_MAX 254
#define DISC_HWID_MAX 129
#define DISC_ADDR_MAX 32        /* addresses kept per device */
#define DISC_ADDR_LEN 64
#define ENROLL_BODY_MAX (16 * 1024)
#define HEARTBEAT_BODY_MAX (8 * 1024)

struct discovery {
	char hostname[DISC_HOST_MAX];
	char hardware_id[DISC_HWID_MAX];
	char os[DISC_STR_MAX];
	char kernel[DISC_STR_MAX];
	char agent_version[64];
	char addresses[DISC_ADDR_MAX][DISC_ADDR_LEN];
	size_t naddresses;
};

struct enroll_request {
	struct token token;
	char csr[PKI_CSR_MAX + 1];
	struct discovery disc;
};

/* Validates a discovery object (the heartbeat body, or the facts of an
 * enrollment); unknown keys are refused so nothing unvalidated is stored. */
int discovery_from_json(json_t *o, struct discovery *d, char *err);
/* The validated record as compact JSON (malloc'ed). */
char *discovery_to_json(const struct discovery *d);

/* Parses a heartbeat body. */
int heartbeat_parse(const char *body, size_t len, struct discovery *d,
    char *err);
/* Parses a POST /v1/enroll body: {"token", "csr", "device": discovery}. */
int enroll_request_parse(const char *body, size_t len,
    struct enroll_request *r, char *err);
/* Builds the enrollment body on the agent side (malloc'ed). */
char *enroll_request_build(const char *token, const char *csr,
    const struct discovery *d);

/* Hostnames: 1..253 chars of [A-Za-z0-9.-_]; hardware ids: printable ASCII. */
int discovery_hostname_valid(const char *s);
int discovery_hwid_valid(const char *s);

#endif
