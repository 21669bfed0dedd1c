/* site.c - a site directory: configuration, paths and pre-flight checks. */
#include "site.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/config.h"
#include "common/log.h"
#include "common/util.h"

void
site_config_defaults(struct site_config *c)
{
	memset(c, 0, sizeof(*c));
	str_copy(c->name, sizeof(c->name), "steward");
	str_copy(c->listen_host, sizeof(c->listen_host), "127.0.0.1");
	c->listen_port = 8443;
	c->client_cert_lifetime = 365 * 86400;
	c->log_level = LVL_INFO;
	c->crl_validity = 7 * 86400;
	c->notify_hold = 300;
	c->notify_park = 1;
	c->first_request_timeout = 60;
	c->tls_sessions = 100000;
	c->inactive_after = 7 * 86400;
	c->collections_interval = 86400;
	c->status_rate = 2;
	c->status_burst = 30;
	c->status_site_rate = 2000;
	c->notify_spread_rate = 500;
	c->notify_slice = 1000;
}

int
host_is_ip(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

int
parse_hostport(const char *s, char *host, size_t hsize, int *port)
{
	const char *colon;
	size_t hlen;
	int64_t p;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (end == NULL || end[1] != ':')
			return -1;
		hlen = (size_t)(end - s - 1);
		colon = end + 1;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)))
			return -1;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= hsize)
		return -1;
	memcpy(host, s, hlen);
	host[hlen] = '\0';
	if (strspn(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789.-:") != hlen)
		return -1;
	if (strchr(host, ':') && !host_is_ip(host))
		return -1;
	if (parse_int64(colon + 1, 0, 65535, &p) < 0)
		return -1;
	*port = (int)p;
	return 0;
}

int
site_name_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
			s[i] == '_' || s[i] == '.' || s[i] == ' '))
			return 0;
	return i > 0 && i < SITE_NAME_MAX;
}

int
site_config_setting(void *arg, int line, const char *key, const char *value,
    char *err)
{
	struct site_config *c = arg;
	int64_t v;

	if (strcmp(key, "site_name") == 0) {
		if (!site_name_valid(value))
			return err_set(err,
			    "line %d: site_name must be 1-127 letters, digits, "
			    "spaces or -_.",
			    line);
		str_copy(c->name, sizeof(c->name), value);
	} else if (strcmp(key, "listen") == 0) {
		if (parse_hostport(value, c->listen_host,
			sizeof(c->listen_host), &c->listen_port) < 0)
			return err_set(err,
			    "line %d: listen must be HOST:PORT, not '%s'", line,
			    value);
	} else if (strcmp(key, "client_cert_lifetime") == 0) {
		if (parse_duration(value, &v) < 0 || v < 3600 ||
		    v > 10 * 366 * 86400)
			return err_set(err,
			    "line %d: client_cert_lifetime must be a duration "
			    "between 1h and 3650d",
			    line);
		c->client_cert_lifetime = v;
	} else if (strcmp(key, "enterprise_ca") == 0) {
		if (strcmp(value, "yes") && strcmp(value, "no"))
			return err_set(err,
			    "line %d: enterprise_ca must be yes or no", line);
		c->enterprise_ca = strcmp(value, "yes") == 0;
	} else if (strcmp(key, "workers") == 0) {
		if (parse_int64(value, 0, 64, &v) < 0)
			return err_set(err,
			    "line %d: workers must be 0 (one per core) to 64",
			    line);
		c->workers = (int)v;
	} else if (strcmp(key, "crl_validity") == 0) {
		if (parse_duration(value, &v) < 0 || v < 10 || v > 90 * 86400)
			return err_set(err,
			    "line %d: crl_validity must be a duration between "
			    "10s and 90d",
			    line);
		c->crl_validity = v;
	} else if (strcmp(key, "notify_hold") == 0) {
		if (parse_duration(value, &v) < 0 || v < 1 || v > 3600)
			return err_set(err,
			    "line %d: notify_hold must be a duration between 1s "
			    "and 1h",
			    line);
		c->notify_hold = v;
	} else if (strcmp(key, "notify_spread_rate") == 0) {
		if (parse_int64(value, 0, 1000000, &v) < 0)
			return err_set(err,
			    "line %d: notify_spread_rate must be 0 (no spread) "
			    "to 1000000 devices a second",
			    line);
		c->notify_spread_rate = v;
	} else if (strcmp(key, "notify_slice") == 0) {
		if (parse_int64(value, 1, 1000000, &v) < 0)
			return err_set(err,
			    "line %d: notify_slice must be 1 to 1000000 "
			    "answers",
			    line);
		c->notify_slice = v;
	} else if (strcmp(key, "notify_park") == 0) {
		if (strcmp(value, "yes") != 0 && strcmp(value, "no") != 0)
			return err_set(err,
			    "line %d: notify_park must be yes or no", line);
		c->notify_park = strcmp(value, "yes") == 0;
	} else if (strcmp(key, "first_request_timeout") == 0) {
		if (parse_duration(value, &v) < 0 || v < 1 || v > 600)
			return err_set(err,
			    "line %d: first_request_timeout must be a duration "
			    "between 1s and 10m",
			    line);
		c->first_request_timeout = v;
	} else if (strcmp(key, "tls_sessions") == 0) {
		if (parse_int64(value, 0, 10000000, &v) < 0)
			return err_set(err,
			    "line %d: tls_sessions must be 0 (stateless "
			    "tickets) to 10000000",
			    line);
		c->tls_sessions = v;
	} else if (strcmp(key, "collections_interval") == 0) {
		if (parse_duration(value, &v) < 0 || v < 10 || v > 366 * 86400)
			return err_set(err,
			    "line %d: collections_interval must be a duration "
			    "between 10s and 366d",
			    line);
		c->collections_interval = v;
	} else if (strcmp(key, "inactive_after") == 0) {
		if (parse_duration(value, &v) < 0 || v < 60)
			return err_set(err,
			    "line %d: inactive_after must be a duration of at "
			    "least 1m",
			    line);
		c->inactive_after = v;
	} else if (strcmp(key, "status_rate") == 0 ||
	    strcmp(key, "status_burst") == 0 ||
	    strcmp(key, "status_site_rate") == 0) {
		if (parse_int64(value, 1, 1000000, &v) < 0)
			return err_set(err,
			    "line %d: %s must be a number from 1 to 1000000",
			    line, key);
		if (key[7] == 'r')
			c->status_rate = v;
		else if (key[7] == 'b')
			c->status_burst = v;
		else
			c->status_site_rate = v;
	} else if (strcmp(key, "log_level") == 0) {
		static const char *levels[] = {"error", "warning", "info",
		    "debug"};
		int i;

		for (i = 0; i < 4; i++)
			if (strcmp(value, levels[i]) == 0)
				break;
		if (i == 4)
			return err_set(err,
			    "line %d: log_level must be error, warning, info "
			    "or debug",
			    line);
		c->log_level = i;
	} else {
		return err_set(err, "line %d: unknown setting '%s'", line,
		    key);
	}
	return 0;
}

int
site_path(const struct site_config *c, const char *rel, char *out,
    size_t size)
{
	return str_fmt(out, size, "%s/%s", c->dir, rel);
}

int
site_config_load(const char *dir, struct site_config *c, char *err)
{
	char path[PATH_MAX], msg[ERRMSG_MAX];
	char *text;
	size_t len;

	site_config_defaults(c);
	if (str_copy(c->dir, sizeof(c->dir), dir) < 0)
		return err_set(err, "site directory path too long");
	site_path(c, SITE_CONF, path, sizeof(path));
	if (file_read(path, CONFIG_MAX_BYTES, &text, &len, msg) < 0)
		return err_set(err, "%s (is %s a site directory? create one "
				    "with 'stewardd init --dir %s')",
		    msg, dir, dir);
	if (config_parse(text, len, site_config_setting, c, msg) < 0) {
		free(text);
		return err_set(err, "%s: %s", path, msg);
	}
	free(text);
	return 0;
}

int
site_check(const struct site_config *c, char *err)
{
	static const char *secrets[] = {SITE_CA_KEY, SITE_SIGN_KEY,
	    SITE_TLS_KEY, SITE_ADMIN_CRED};
	static const char *public[] = {SITE_CA_CERT, SITE_SIGN_PUB,
	    SITE_TLS_CERT, SITE_DB};
	char path[PATH_MAX];
	struct stat st;
	size_t i;

	for (i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++) {
		site_path(c, secrets[i], path, sizeof(path));
		if (file_check_secret(path, err) < 0)
			return -1;
	}
	for (i = 0; i < sizeof(public) / sizeof(public[0]); i++) {
		site_path(c, public[i], path, sizeof(path));
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			return err_set(err, "%s is missing", path);
	}
	if (c->enterprise_ca) {
		site_path(c, SITE_ENTERPRISE_CA, path, sizeof(path));
		if (stat(path, &st) < 0)
			return err_set(err,
			    "enterprise_ca = yes but %s is missing", path);
	}
	return 0;
}
