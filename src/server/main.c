/* main.c - stewardd: the site server. init creates a site, check validates
 * one, run serves it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/util.h"
#include "init.h"
#include "server.h"
#include "site.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: stewardd init --dir DIR [--listen HOST:PORT] "
	    "[--approval manual|trusted|all]\n"
	    "                     [--trusted-domain SUFFIX]... "
	    "[--enterprise-ca FILE] [--site-name NAME]\n"
	    "                     [--client-cert-lifetime DURATION]\n"
	    "       stewardd run --dir DIR [--listen HOST:PORT]\n"
	    "       stewardd check --dir DIR\n"
	    "       stewardd verify-log FILE\n"
	    "       stewardd --version\n");
}

/* Returns the value of a "--flag VALUE" at argv[*i], advancing *i. */
static const char *
flag_value(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "stewardd: %s needs a value\n", argv[*i]);
		exit(2);
	}
	return argv[++*i];
}

int
main(int argc, char **argv)
{
	struct init_opts io;
	struct site_config cfg;
	char err[ERRMSG_MAX];
	const char *cmd, *listen = NULL;
	int i;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (strcmp(cmd, "--version") == 0) {
		printf("stewardd %s\n", STEWARD_VERSION);
		return 0;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "verify-log") == 0) {
		char report[512];
		int r;

		if (argc != 3) {
			fprintf(stderr, "usage: stewardd verify-log FILE\n");
			return 2;
		}
		r = log_verify(argv[2], report, sizeof(report));
		printf("%s\n", report);
		return r == 0 ? 0 : 1;
	}
	if (strcmp(cmd, "init") != 0 && strcmp(cmd, "check") != 0 &&
	    strcmp(cmd, "run") != 0) {
		fprintf(stderr, "stewardd: unknown command '%s' (stewardd "
				"--help for usage)\n",
		    cmd);
		return 2;
	}
	log_init("stewardd", LVL_INFO);
	memset(&io, 0, sizeof(io));
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--dir") == 0)
			io.dir = flag_value(argc, argv, &i);
		else if (strcmp(a, "--listen") == 0)
			listen = io.listen = flag_value(argc, argv, &i);
		else if (strcmp(a, "--approval") == 0 && !strcmp(cmd, "init"))
			io.approval = flag_value(argc, argv, &i);
		else if (strcmp(a, "--trusted-domain") == 0 &&
		    !strcmp(cmd, "init")) {
			if (io.ndomains == INIT_MAX_DOMAINS) {
				fprintf(stderr, "stewardd: at most %d "
						"--trusted-domain\n",
				    INIT_MAX_DOMAINS);
				return 2;
			}
			io.domains[io.ndomains++] = flag_value(argc, argv, &i);
		} else if (strcmp(a, "--enterprise-ca") == 0 &&
		    !strcmp(cmd, "init"))
			io.enterprise_ca = flag_value(argc, argv, &i);
		else if (strcmp(a, "--site-name") == 0 && !strcmp(cmd, "init"))
			io.site_name = flag_value(argc, argv, &i);
		else if (strcmp(a, "--client-cert-lifetime") == 0 &&
		    !strcmp(cmd, "init"))
			io.client_cert_lifetime = flag_value(argc, argv, &i);
		else {
			fprintf(stderr, "stewardd: unknown option '%s' for "
					"%s (stewardd --help for usage)\n",
			    a, cmd);
			return 2;
		}
	}
	if (io.dir == NULL) {
		fprintf(stderr, "stewardd: %s needs --dir DIR\n", cmd);
		return 2;
	}
	if (strcmp(cmd, "init") == 0) {
		if (site_init(&io, err) < 0) {
			fprintf(stderr, "stewardd: init: %s\n", err);
			return 1;
		}
		printf("stewardd: created site in %s (approval %s); admin "
		       "credential in %s/%s\n",
		    io.dir, io.approval ? io.approval : "trusted", io.dir,
		    SITE_ADMIN_CRED);
		if (io.approval && strcmp(io.approval, "all") == 0)
			fprintf(stderr,
			    "stewardd: warning: approval 'all' approves every "
			    "device holding a token; unsafe outside a lab\n");
		return 0;
	}
	if (site_config_load(io.dir, &cfg, err) < 0) {
		fprintf(stderr, "stewardd: %s\n", err);
		return 1;
	}
	log_init("stewardd", (enum log_level)cfg.log_level);
	if (strcmp(cmd, "check") == 0) {
		if (site_check(&cfg, err) < 0) {
			fprintf(stderr, "stewardd: %s\n", err);
			return 1;
		}
		printf("configuration OK\n");
		return 0;
	}
	return server_run(&cfg, listen);
}
