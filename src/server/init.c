/* init.c - "stewardd init": creates a site directory: site CA, policy-signing
 * key, management point TLS certificate, first admin credential and the
 * database. Runs offline, before any server exists. */
#include "init.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "common/config.h"
#include "common/util.h"
#include "crypto/pki.h"
#include "db/db.h"
#include "site.h"

#define CA_DAYS (20 * 365)
#define SERVER_DAYS 825
#define ADMIN_DAYS 825

int
approval_mode_valid(const char *mode)
{
	return strcmp(mode, "manual") == 0 || strcmp(mode, "trusted") == 0 ||
	    strcmp(mode, "all") == 0;
}

int
domain_valid(const char *d)
{
	size_t i, label = 0;

	for (i = 0; d[i]; i++) {
		char c = d[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-') {
			if (++label > 63)
				return 0;
		} else {
			return 0;
		}
	}
	return i > 0 && i < 254 && label > 0;
}

static int
write_text(const struct site_config *c, const char *rel, const char *text,
    mode_t mode, char *err)
{
	char path[PATH_MAX];

	site_path(c, rel, path, sizeof(path));
	return file_write_new(path, text, strlen(text), mode, err);
}

/* admin.pem: the admin's key, certificate and the site CA, in one 0600 file
 * that stewardctl reads. */
static int
write_admin_cred(const struct site_config *c, EVP_PKEY *key, X509 *cert,
    X509 *ca, char *err)
{
	char path[PATH_MAX];
	BIO *bio = BIO_new(BIO_s_secmem());
	char *data;
	long len;
	int r;

	if (bio == NULL ||
	    !PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_bio_X509(bio, cert) || !PEM_write_bio_X509(bio, ca)) {
		BIO_free(bio);
		return err_set(err, "cannot encode the admin credential");
	}
	len = BIO_get_mem_data(bio, &data);
	site_path(c, SITE_ADMIN_CRED, path, sizeof(path));
	r = file_write_new(path, data, (size_t)len, 0600, err);
	OPENSSL_cleanse(data, (size_t)len);
	BIO_free(bio);
	return r;
}

static int
write_config(const struct site_config *c, const struct init_opts *o,
    char *err)
{
	char text[2048];
	const char *lt = o->client_cert_lifetime ? o->client_cert_lifetime
						 : "365d";

	if (str_fmt(text, sizeof(text),
		"# Steward site configuration (see stewardd(8)).\n"
		"site_name = %s\n"
		"listen = %s\n"
		"client_cert_lifetime = %s\n"
		"enterprise_ca = %s\n"
		"crl_validity = 7d\n"
		"notify_hold = 5m\n"
		"workers = 0\n"
		"log_level = info\n",
		c->name, o->listen ? o->listen : "127.0.0.1:8443", lt,
		o->enterprise_ca ? "yes" : "no") < 0)
		return err_set(err, "configuration too long");
	return write_text(c, SITE_CONF, text, 0644, err);
}

static int
server_san(const struct site_config *c, char *out, size_t size)
{
	const char *h = c->listen_host;
	int any = strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0;

	if (any || strcmp(h, "localhost") == 0 || strcmp(h, "127.0.0.1") == 0)
		return str_fmt(out, size, "DNS:localhost,IP:127.0.0.1,IP:::1");
	return str_fmt(out, size, "%s:%s,DNS:localhost,IP:127.0.0.1,IP:::1",
	    host_is_ip(h) ? "IP" : "DNS", h);
}

static int
init_db(const struct site_config *c, const struct init_opts *o,
    const char *admin_serial, X509 *admin_cert, X509 *tls_cert, char *err)
{
	char path[PATH_MAX], fpr[PKI_FPR_HEX], tfpr[PKI_FPR_HEX];
	char tserial[PKI_SERIAL_HEX];
	struct db *db;
	json_t *domains = json_array();
	char *dtext;
	int i, r = -1;

	site_path(c, SITE_DB, path, sizeof(path));
	/* The database holds token and poll-secret hashes and client data:
	 * create it 0600 before SQLite opens it (its -wal and -shm files take
	 * the same mode). */
	if (file_write_new(path, "", 0, 0600, err) < 0)
		return -1;
	db = db_open(path, err);
	if (db == NULL)
		return -1;
	for (i = 0; i < o->ndomains; i++)
		json_array_append_new(domains, json_string(o->domains[i]));
	dtext = json_dumps(domains, JSON_COMPACT);
	json_decref(domains);
	pki_cert_fingerprint(admin_cert, fpr);
	pki_cert_fingerprint(tls_cert, tfpr);
	pki_cert_serial(tls_cert, tserial);
	if (db_begin(db, err) == 0) {
		if (db_setting_set(db, "approval",
			o->approval ? o->approval : "trusted", err) == 0 &&
		    db_setting_set(db, "trusted_domains", dtext, err) == 0 &&
		    db_setting_set(db, "crl_number", "0", err) == 0 &&
		    db_admin_add(db, "admin", "Full Administrator",
			admin_serial, err) == 0 &&
		    db_cert_insert(db, admin_serial, "admin", "admin", fpr,
			NULL, pki_cert_not_after(admin_cert), now_unix(),
			err) == 0 &&
		    db_cert_insert(db, tserial, "site", "server", tfpr, NULL,
			pki_cert_not_after(tls_cert), now_unix(), err) == 0 &&
		    db_audit(db, "stewardd init", "site.init", c->name,
			o->approval ? o->approval : "trusted", now_unix(),
			err) == 0 &&
		    db_commit(db, err) == 0)
			r = 0;
		else
			db_rollback(db);
	}
	free(dtext);
	db_close(db);
	return r;
}

int
site_init(const struct init_opts *o, char *err)
{
	struct site_config c;
	char path[PATH_MAX], san[600], pubtxt[64], serial[PKI_SERIAL_HEX];
	unsigned char pub[PKI_ED25519_PUB];
	EVP_PKEY *ca_key = NULL, *sign_key = NULL, *tls_key = NULL,
		 *admin_key = NULL;
	X509 *ca = NULL, *tls = NULL, *admin = NULL, *ent = NULL;
	struct stat st;
	char *ca_pem = NULL, *tls_pem = NULL, *chain = NULL;
	int i, r = -1;

	site_config_defaults(&c);
	if (str_copy(c.dir, sizeof(c.dir), o->dir) < 0)
		return err_set(err, "site directory path too long");
	if (o->site_name != NULL) {
		if (!site_name_valid(o->site_name))
			return err_set(err, "invalid --site-name '%s'",
			    o->site_name);
		str_copy(c.name, sizeof(c.name), o->site_name);
	}
	if (o->listen != NULL &&
	    parse_hostport(o->listen, c.listen_host, sizeof(c.listen_host),
		&c.listen_port) < 0)
		return err_set(err, "--listen must be HOST:PORT, not '%s'",
		    o->listen);
	if (o->approval != NULL && !approval_mode_valid(o->approval))
		return err_set(err,
		    "--approval must be manual, trusted or all, not '%s'",
		    o->approval);
	for (i = 0; i < o->ndomains; i++)
		if (!domain_valid(o->domains[i]))
			return err_set(err,
			    "--trusted-domain '%s' is not a DNS suffix like "
			    "corp.example.com",
			    o->domains[i]);
	if (o->client_cert_lifetime != NULL) {
		char line[64], msg[ERRMSG_MAX];

		str_fmt(line, sizeof(line), "client_cert_lifetime = %s",
		    o->client_cert_lifetime);
		if (config_parse(line, strlen(line), site_config_setting, &c,
			msg) < 0)
			return err_set(err, "--client-cert-lifetime: %s", msg);
	}
	if (o->enterprise_ca != NULL) {
		ent = pki_cert_read(o->enterprise_ca, err);
		if (ent == NULL)
			return -1;
	}
	site_path(&c, SITE_CONF, path, sizeof(path));
	if (stat(path, &st) == 0) {
		X509_free(ent);
		return err_set(err,
		    "%s already holds a site; refusing to overwrite it", o->dir);
	}
	site_path(&c, SITE_DB, path, sizeof(path));
	if (stat(path, &st) == 0) {
		X509_free(ent);
		return err_set(err,
		    "%s already holds a site database; refusing to overwrite "
		    "it",
		    o->dir);
	}
	if (dir_make(o->dir, 0755, err) < 0)
		goto out;
	{
		static const char *sub[] = {"ca", "tls", "admin", "run", "log"};
		for (i = 0; i < 5; i++) {
			site_path(&c, sub[i], path, sizeof(path));
			/* log/ is 0750: readable by an audit group, writable
			 * by root alone. */
			if (dir_make(path, i == 4 ? 0750 : 0700, err) < 0)
				goto out;
		}
	}
	ca_key = pki_key_new_ec();
	sign_key = pki_key_new_ed25519();
	tls_key = pki_key_new_ec();
	admin_key = pki_key_new_ec();
	if (!ca_key || !sign_key || !tls_key || !admin_key) {
		err_set(err, "cannot generate keys");
		goto out;
	}
	{
		char cn[SITE_NAME_MAX + 16];

		str_fmt(cn, sizeof(cn), "%s site CA", c.name);
		ca = pki_ca_create(ca_key, cn, CA_DAYS, err);
	}
	if (ca == NULL || server_san(&c, san, sizeof(san)) < 0)
		goto out;
	tls = pki_cert_issue(ca, ca_key, tls_key, PKI_PROFILE_SERVER,
	    "steward management point", san, SERVER_DAYS, err);
	admin = pki_cert_issue(ca, ca_key, admin_key, PKI_PROFILE_ADMIN,
	    "admin", "admin", ADMIN_DAYS, err);
	if (tls == NULL || admin == NULL || pki_cert_serial(admin, serial) < 0)
		goto out;
	if (pki_ed25519_raw_pub(sign_key, pub) < 0)
		goto out;
	{
		char b64[64];

		b64url_encode(pub, sizeof(pub), b64);
		str_fmt(pubtxt, sizeof(pubtxt), "%s\n", b64);
	}

	/* The server sends its certificate followed by the CA, so a device can
	 * check the CA against the fingerprint its token pins. */
	ca_pem = pki_cert_to_pem(ca);
	tls_pem = pki_cert_to_pem(tls);
	if (ca_pem == NULL || tls_pem == NULL)
		goto out;
	chain = malloc(strlen(ca_pem) + strlen(tls_pem) + 1);
	if (chain == NULL)
		goto out;
	memcpy(chain, tls_pem, strlen(tls_pem));
	memcpy(chain + strlen(tls_pem), ca_pem, strlen(ca_pem) + 1);

	if (write_text(&c, SITE_CA_CERT, ca_pem, 0644, err) < 0)
		goto out;
	site_path(&c, SITE_CA_KEY, path, sizeof(path));
	if (pki_key_write(path, ca_key, err) < 0)
		goto out;
	site_path(&c, SITE_SIGN_KEY, path, sizeof(path));
	if (pki_key_write(path, sign_key, err) < 0)
		goto out;
	if (write_text(&c, SITE_SIGN_PUB, pubtxt, 0644, err) < 0)
		goto out;
	site_path(&c, SITE_TLS_KEY, path, sizeof(path));
	if (pki_key_write(path, tls_key, err) < 0)
		goto out;
	if (write_text(&c, SITE_TLS_CERT, chain, 0644, err) < 0)
		goto out;
	if (write_admin_cred(&c, admin_key, admin, ca, err) < 0)
		goto out;
	if (ent != NULL) {
		site_path(&c, SITE_ENTERPRISE_CA, path, sizeof(path));
		if (pki_cert_write(path, ent, err) < 0)
			goto out;
	}
	if (init_db(&c, o, serial, admin, tls, err) < 0)
		goto out;
	if (write_config(&c, o, err) < 0)
		goto out;
	r = 0;
out:
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(sign_key);
	EVP_PKEY_free(tls_key);
	EVP_PKEY_free(admin_key);
	X509_free(ca);
	X509_free(tls);
	X509_free(admin);
	X509_free(ent);
	free(ca_pem);
	free(tls_pem);
	free(chain);
	return r;
}
