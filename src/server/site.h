/* site.h - a site directory: its configuration file, the paths of its keys,
 * certificates and database, and the checks run before serving. */
#ifndef STEWARD_SITE_H
#define STEWARD_SITE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define SITE_CONF "steward.conf"
#define SITE_DB "site.db"
#define SITE_CA_CERT "ca/ca.crt"
#define SITE_CA_KEY "ca/ca.key"
#define SITE_SIGN_KEY "ca/sign.key"
#define SITE_SIGN_PUB "ca/sign.pub"
#define SITE_ENTERPRISE_CA "ca/enterprise-ca.crt"
#define SITE_TLS_CERT "tls/server.crt"
#define SITE_TLS_KEY "tls/server.key"
#define SITE_ADMIN_CRED "admin/admin.pem"
#define SITE_RUN_URL "run/url"
#define SITE_LOG_DIR "log"
#define SITE_LOG "log/stewardd.log"
#define SITE_SIGNER_LOG "log/signer.log"

#define SITE_NAME_MAX 128
#define SITE_HOST_MAX 256

struct site_config {
	char dir[PATH_MAX / 2];
	char name[SITE_NAME_MAX];
	char listen_host[SITE_HOST_MAX];
	int listen_port;
	int64_t client_cert_lifetime; /* seconds */
	int enterprise_ca;            /* 1 when ca/enterprise-ca.crt is used */
	int workers;                  /* 0 = one per core */
	int log_level;                /* enum log_level */
	int64_t crl_validity;         /* seconds from issue to nextUpdate */
	int64_t notify_hold;          /* longest hold of GET /v1/notify */
	int notify_park;              /* held long-polls drop their TLS state */
	int64_t first_request_timeout; /* from accept to a request's first
	                                * bytes, the TLS handshake included */
	int64_t tls_sessions;         /* TLS sessions held for resumption (0:
	                               * stateless tickets) */
	int64_t inactive_after;       /* no contact this long: inactive */
	int64_t collections_interval; /* scheduled full evaluation */
	int64_t status_rate;          /* status requests/s per client */
	int64_t status_burst;
	int64_t status_site_rate;     /* status requests/s, all clients */
	int64_t notify_spread_rate;   /* devices a second a collection's
	                               * notification is spread over (0:
	                               * all at once) */
	int64_t notify_slice;         /* held long-polls a worker answers
	                               * before it serves anything else */
};

void site_config_defaults(struct site_config *c);
/* The config_parse() callback for steward.conf (exposed for the fuzzer). */
int site_config_setting(void *arg, int line, const char *key,
    const char *value, char *err);
int site_config_load(const char *dir, struct site_config *c, char *err);
/* Validates files and key permissions ("stewardd check"); stat only, so the
 * network-facing process never opens the CA or signing keys. */
int site_check(const struct site_config *c, char *err);
int site_path(const struct site_config *c, const char *rel, char *out,
    size_t size);

/* "host:port", "[v6]:port"; port 0..65535. */
int parse_hostport(const char *s, char *host, size_t hsize, int *port);
/* 1 when host is a literal IPv4/IPv6 address. */
int host_is_ip(const char *host);
int site_name_valid(const char *s);

#endif
