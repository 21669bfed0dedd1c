/* init.h - "stewardd init": create a site directory with its PKI and db. */
#ifndef STEWARD_INIT_H
#define STEWARD_INIT_H

#define INIT_MAX_DOMAINS 32

struct init_opts {
	const char *dir;
	const char *listen;     /* HOST:PORT */
	const char *approval;   /* manual | trusted | all */
	const char *domains[INIT_MAX_DOMAINS];
	int ndomains;
	const char *enterprise_ca; /* PEM file to trust for enrollment */
	const char *site_name;
	const char *client_cert_lifetime; /* duration text */
};

int site_init(const struct init_opts *o, char *err);
int approval_mode_valid(const char *mode);
/* A DNS suffix: labels of [a-z0-9-], dot separated, no leading dot. */
int domain_valid(const char *d);

#endif
