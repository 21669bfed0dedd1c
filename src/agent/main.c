/* main.c - steward-agent: the client daemon on each managed device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent.h"
#include "common/httpc.h"
#include "common/log.h"
#include "common/util.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: steward-agent enroll --state DIR [--token T] [--wait "
	    "SECONDS]\n"
	    "                            [--hostname NAME] [--hardware-id ID]\n"
	    "                            [--enterprise-cert FILE "
	    "--enterprise-key FILE]\n"
	    "       steward-agent run --state DIR [--once] [--hardware-id "
	    "ID]\n"
	    "       steward-agent status --state DIR [--json]\n"
	    "       steward-agent deployments --state DIR [--json]\n"
	    "       steward-agent install --state DIR DEPLOYMENT-ID\n"
	    "       steward-agent reset-identity --state DIR\n"
	    "       steward-agent verify-log FILE\n"
	    "       steward-agent send-status --state DIR --component C "
	    "--message-id N\n"
	    "                     [--severity info|warning|error] [--count N] "
	    "[TEXT...]\n"
	    "       steward-agent --version\n"
	    "enroll exits 0 when issued, 3 pending, 4 denied, 1 on error, 2 on "
	    "usage.\n");
}

static const char *
value(int argc, char **argv, int *i)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "steward-agent: %s needs a value\n", argv[*i]);
		exit(AGENT_EXIT_USAGE);
	}
	return argv[++*i];
}

static int
known_command(const char *cmd)
{
	static const char *const cmds[] = {"enroll", "run", "status",
	    "deployments", "install", "reset-identity", "send-status"};
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i]) == 0)
			return 1;
	return 0;
}

int
main(int argc, char **argv)
{
	struct enroll_opts eo;
	struct run_opts ro;
	const char *cmd, *state = NULL, *component = NULL, *severity = "info";
	int64_t message_id = -1, count = 1, deployment = 0;
	char *texts[16];
	int i, json = 0, ntexts = 0;

	if (argc < 2) {
		usage(stderr);
		return AGENT_EXIT_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "--version") == 0) {
		printf("steward-agent %s\n", STEWARD_VERSION);
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
			fprintf(stderr, "usage: steward-agent verify-log FILE\n");
			return AGENT_EXIT_USAGE;
		}
		r = log_verify(argv[2], report, sizeof(report));
		printf("%s\n", report);
		return r == 0 ? 0 : 1;
	}
	if (!known_command(cmd)) {
		fprintf(stderr, "steward-agent: unknown command '%s' "
				"(steward-agent --help for usage)\n",
		    cmd);
		return AGENT_EXIT_USAGE;
	}
	log_init("steward-agent", LVL_INFO);
	memset(&eo, 0, sizeof(eo));
	memset(&ro, 0, sizeof(ro));
	for (i = 2; i < argc; i++) {
		const char *a = argv[i];
		int is_enroll = strcmp(cmd, "enroll") == 0;
		int is_run = strcmp(cmd, "run") == 0;

		if (strcmp(a, "--state") == 0)
			state = value(argc, argv, &i);
		else if (is_enroll && strcmp(a, "--token") == 0)
			eo.token = value(argc, argv, &i);
		else if (is_enroll && strcmp(a, "--wait") == 0) {
			int64_t w;

			if (parse_int64(value(argc, argv, &i), 0, 86400, &w) <
			    0) {
				fprintf(stderr, "steward-agent: --wait takes "
						"0 to 86400 seconds\n");
				return AGENT_EXIT_USAGE;
			}
			eo.wait_secs = (int)w;
		} else if (is_enroll && strcmp(a, "--hostname") == 0)
			eo.hostname = value(argc, argv, &i);
		else if ((is_enroll || is_run) &&
		    strcmp(a, "--hardware-id") == 0)
			eo.hardware_id = ro.hardware_id =
			    value(argc, argv, &i);
		else if (is_enroll && strcmp(a, "--enterprise-cert") == 0)
			eo.enterprise_cert = value(argc, argv, &i);
		else if (is_enroll && strcmp(a, "--enterprise-key") == 0)
			eo.enterprise_key = value(argc, argv, &i);
		else if (is_run && strcmp(a, "--once") == 0)
			ro.once = 1;
		else if (is_run && strcmp(a, "--interval") == 0) {
			int64_t v;

			if (parse_int64(value(argc, argv, &i), 5, 86400, &v) <
			    0) {
				fprintf(stderr, "steward-agent: --interval "
						"takes 5 to 86400 seconds\n");
				return AGENT_EXIT_USAGE;
			}
			ro.interval_secs = (int)v;
		} else if ((strcmp(cmd, "status") == 0 ||
			       strcmp(cmd, "deployments") == 0) &&
		    strcmp(a, "--json") == 0)
			json = 1;
		else if (strcmp(cmd, "install") == 0 && a[0] != '-' &&
		    deployment == 0) {
			if (parse_int64(a, 1, INT64_MAX / 2, &deployment) < 0) {
				fprintf(stderr, "steward-agent: '%s' is not a "
						"deployment id\n",
				    a);
				return AGENT_EXIT_USAGE;
			}
		}
		else if (strcmp(cmd, "send-status") == 0 &&
		    strcmp(a, "--component") == 0)
			component = value(argc, argv, &i);
		else if (strcmp(cmd, "send-status") == 0 &&
		    strcmp(a, "--severity") == 0)
			severity = value(argc, argv, &i);
		else if (strcmp(cmd, "send-status") == 0 &&
		    strcmp(a, "--message-id") == 0) {
			if (parse_int64(value(argc, argv, &i), 0, 2147483647,
				&message_id) < 0) {
				fprintf(stderr, "steward-agent: --message-id "
						"takes a number\n");
				return AGENT_EXIT_USAGE;
			}
		} else if (strcmp(cmd, "send-status") == 0 &&
		    strcmp(a, "--count") == 0) {
			if (parse_int64(value(argc, argv, &i), 1, 100000,
				&count) < 0) {
				fprintf(stderr, "steward-agent: --count takes "
						"1 to 100000\n");
				return AGENT_EXIT_USAGE;
			}
		} else if (strcmp(cmd, "send-status") == 0 && a[0] != '-' &&
		    ntexts < 16 && strlen(a) <= 256)
			texts[ntexts++] = argv[i];
		else {
			fprintf(stderr, "steward-agent: unknown option '%s' "
					"for %s (steward-agent --help for "
					"usage)\n",
			    a, cmd);
			return AGENT_EXIT_USAGE;
		}
	}
	if (state == NULL) {
		fprintf(stderr, "steward-agent: %s needs --state DIR\n", cmd);
		return AGENT_EXIT_USAGE;
	}
	if ((eo.enterprise_cert == NULL) != (eo.enterprise_key == NULL)) {
		fprintf(stderr, "steward-agent: --enterprise-cert and "
				"--enterprise-key go together\n");
		return AGENT_EXIT_USAGE;
	}
	httpc_global_init();
	{
		/* jansson's hash seed, from getrandom (it would open
		 * /dev/urandom for it). */
		uint32_t seed;

		do
			rand_bytes((unsigned char *)&seed, sizeof(seed));
		while (seed == 0);
		json_object_seed(seed);
	}
	if (strcmp(cmd, "run") == 0 || strcmp(cmd, "send-status") == 0 ||
	    strcmp(cmd, "install") == 0) {
		char path[PATH_MAX], err[ERRMSG_MAX];

		/* The next run resumes this run's TLS session with the
		 * site instead of a full handshake. */
		str_fmt(path, sizeof(path), "%s/%s", state, AGENT_TLS_SESSION);
		httpc_session_file(path);

		/* The agent's protected log: STATE/log/agent.log, 0640, in a
		 * 0750 directory only root writes. */
		str_fmt(path, sizeof(path), "%s/log", state);
		if (dir_make(state, 0700, err) < 0 ||
		    dir_make(path, 0750, err) < 0 ||
		    str_fmt(path, sizeof(path), "%s/log/agent.log", state) <
			0 ||
		    log_open_file(path, err) < 0)
			fprintf(stderr, "steward-agent: %s\n", err);
	}
	if (strcmp(cmd, "enroll") == 0) {
		eo.state_dir = state;
		return agent_enroll(&eo);
	}
	if (strcmp(cmd, "run") == 0) {
		ro.state_dir = state;
		return agent_run(&ro);
	}
	if (strcmp(cmd, "status") == 0)
		return agent_status(state, json);
	if (strcmp(cmd, "deployments") == 0)
		return agent_list_deployments(state, json);
	if (strcmp(cmd, "install") == 0) {
		if (deployment == 0) {
			fprintf(stderr, "steward-agent: install needs a "
					"deployment id\n");
			return AGENT_EXIT_USAGE;
		}
		return agent_install(state, deployment);
	}
	if (strcmp(cmd, "reset-identity") == 0)
		return agent_reset_identity(state);
	if (strcmp(cmd, "send-status") == 0) {
		if (component == NULL || message_id < 0 ||
		    strspn(component, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
				      "OPQRSTUVWXYZ0123456789._-") !=
			strlen(component) ||
		    strlen(component) > 64 ||
		    (strcmp(severity, "info") && strcmp(severity, "warning") &&
			strcmp(severity, "error"))) {
			fprintf(stderr, "steward-agent: send-status needs "
					"--component [A-Za-z0-9._-]{1,64}, "
					"--message-id N and a severity of "
					"info, warning or error\n");
			return AGENT_EXIT_USAGE;
		}
		return agent_send_status(state, component, message_id, severity,
		    (int)count, texts, ntexts);
	}
	/* known_command() let through a command handled nowhere above. */
	fprintf(stderr, "steward-agent: unknown command '%s'\n", cmd);
	return AGENT_EXIT_USAGE;
}
