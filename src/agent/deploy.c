/* deploy.c - the agent's executor: runs what the signed policy deploys to
 * this device, and nothing else. Content is fetched by the hash the policy
 * names and refused when its bytes hash differently; a command line runs
 * only under exec.policy=bypass. Required deployments start when due and
 * inside a maintenance window that leaves their max runtime (or at their
 * deadline when they override windows). Every step is reported to the site
 * as a "deployment" status message. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"
#include "common/httpc.h"
#include "common/log.h"
#include "common/util.h"
#include "crypto/pki.h"
#include "proto/window.h"

#define DEPLOY_STATE "deployments.json"
#define DEPLOY_LOCK "deploy.lock"
#define CONTENT_MAX (2 * 1024 * 1024)
#define OUTPUT_TAIL 240 /* fits one status string */
#define KILL_GRACE 5
#define HOOK_UNLOCK "hooks/unlock.on_restart"

enum {
	MSG_WAITING = 4001,
	MSG_RUNNING = 4002,
	MSG_SUCCEEDED = 4003,
	MSG_FAILED = 4004,
	MSG_SETTING_APPLIED = 4101,
	MSG_SETTING_FAILED = 4102,
};

/* The clock the scheduler uses: the real one, or STEWARD_AGENT_NOW (unix
 * seconds) so tests can stand before and inside a window. */
int64_t
agent_clock(void)
{
	const char *v = getenv("STEWARD_AGENT_NOW");
	int64_t t;

	if (v != NULL && parse_int64(v, 0, INT64_MAX / 4, &t) == 0)
		return t;
	return now_unix();
}

static int
report(struct spool *sp, json_t *d, int msg, const char *state, int code,
    const char *output, const char *detail)
{
	char idtxt[24], codetxt[16] = "";
	char err[ERRMSG_MAX];

	str_fmt(idtxt, sizeof(idtxt), "%lld",
	    (long long)json_integer_value(json_object_get(d, "id")));
	if (code >= 0)
		str_fmt(codetxt, sizeof(codetxt), "%d", code);
	if (spool_status(sp, "deployment", msg,
		strcmp(state, "failed") == 0 ? "error" : "info",
		json_pack("[s,s,s,s,s]", idtxt, state, codetxt,
		    output ? output : "", detail ? detail : ""),
		err) < 0) {
		log_err("cannot queue a deployment report: %s", err);
		return -1;
	}
	return 0;
}

/* Fetches content by hash into the state directory's content/ cache; the
 * bytes must hash to what the signed policy says and have its size. */
static int
content_fetch(struct agent_state *s, const struct identity *id,
    const char *crl, const char *sha, int64_t size, char *path, size_t psize,
    char *err)
{
	struct httpc_tls tls = identity_tls(id, 120, crl);
	struct httpc_resp resp;
	char url[400], got[PKI_FPR_HEX], rel[100], dir[PATH_MAX], *data;
	size_t len;

	if (!pki_sha256_hex_valid(sha) || size < 0 || size > CONTENT_MAX)
		return err_set(err, "the policy names content badly");
	str_fmt(rel, sizeof(rel), "content/%s", sha);
	state_path(s, rel, path, psize);
	if (file_read(path, CONTENT_MAX, &data, &len, NULL) == 0) {
		pki_sha256_hex(data, len, got);
		free(data);
		if (strcmp(got, sha) == 0 && (int64_t)len == size)
			return 0;
	}
	str_fmt(url, sizeof(url), "%s/v1/content/%s", s->url, sha);
	if (httpc_request("GET", url, &tls, NULL, NULL, &resp, err) < 0)
		return -1;
	if (resp.status != 200) {
		err_set(err, "content %.16s... refused by the site (HTTP %ld)",
		    sha, resp.status);
		httpc_resp_free(&resp);
		return -1;
	}
	pki_sha256_hex(resp.body, resp.len, got);
	if (strcmp(got, sha) != 0 || (int64_t)resp.len != size) {
		err_set(err, "content hash differs from the policy's (got "
			     "%.16s..., %zu bytes): refused",
		    got, resp.len);
		httpc_resp_free(&resp);
		return -1;
	}
	state_path(s, "content", dir, sizeof(dir));
	if (dir_make(dir, 0700, err) < 0 ||
	    file_write_atomic(path, resp.body, resp.len, 0600, err) < 0) {
		httpc_resp_free(&resp);
		return -1;
	}
	httpc_resp_free(&resp);
	return 0;
}

/* In the child: the user to run as (root keeps root). */
static void
child_become(const char *user)
{
	struct passwd *pw;

	if (user == NULL)
		return;
	pw = getpwnam(user);
	if (pw == NULL) {
		fprintf(stderr, "steward-agent: no user %s\n", user);
		_exit(126);
	}
	if (getuid() != pw->pw_uid &&
	    (initgroups(pw->pw_name, pw->pw_gid) < 0 ||
		setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)) {
		fprintf(stderr, "steward-agent: cannot become %s: %s\n", user,
		    strerror(errno));
		_exit(126);
	}
	setenv("HOME", pw->pw_dir, 1);
	setenv("USER", pw->pw_name, 1);
	setenv("LOGNAME", pw->pw_name, 1);
}

/* Appends n bytes to the tail, keeping its last size - 1 bytes. */
static void
tail_keep(char *tail, size_t size, size_t *have, const char *buf, size_t n)
{
	if (n >= size - 1) {
		memcpy(tail, buf + n - (size - 1), size - 1);
		*have = size - 1;
	} else {
		if (*have + n > size - 1) {
			size_t drop = *have + n - (size - 1);

			memmove(tail, tail + drop, *have - drop);
			*have -= drop;
		}
		memcpy(tail + *have, buf, n);
		*have += n;
	}
	tail[*have] = '\0';
}

int
agent_run_child(char *const argv[], const char *user, int64_t max_runtime,
    int64_t deployment, char *tail, size_t tsize, int *timed_out)
{
	int p[2], status = 0, devnull;
	char buf[4096], idtxt[24];
	size_t have = 0;
	pid_t pid;
	struct timespec t0, t;
	int killed = 0, exited = 0, eof = 0;

	*timed_out = 0;
	tail[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	str_fmt(idtxt, sizeof(idtxt), "%lld", (long long)deployment);
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		setsid();
		devnull = open("/dev/null", O_RDONLY);
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(p[1], 1) < 0 ||
		    dup2(p[1], 2) < 0)
			_exit(126);
		clearenv();
		setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:"
			       "/usr/bin:/sbin:/bin",
		    1);
		setenv("LANG", "C.UTF-8", 1);
		setenv("HOME", "/root", 1);
		setenv("STEWARD_DEPLOYMENT_ID", idtxt, 1);
		child_become(user);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	/* Until the leader exits: its output is read, and past max_runtime
	 * its whole group is stopped. A background process it left holding
	 * the output does not keep the deployment running. */
	for (;;) {
		struct pollfd pfd = {p[0], POLLIN, 0};
		int64_t ran;
		ssize_t n;
		int r;

		clock_gettime(CLOCK_MONOTONIC, &t);
		ran = t.tv_sec - t0.tv_sec;
		if (!killed && ran >= max_runtime) {
			kill(-pid, SIGTERM);
			killed = 1;
			*timed_out = 1;
		} else if (killed == 1 && ran >= max_runtime + KILL_GRACE) {
			kill(-pid, SIGKILL);
			killed = 2;
		}
		if (!exited && waitpid(pid, &status, WNOHANG) == pid)
			exited = 1;
		if (eof) {
			if (exited)
				break;
			poll(NULL, 0, 200);
			continue;
		}
		r = poll(&pfd, 1, exited ? 0 : 200);
		if (r <= 0) {
			if (exited)
				break;
			continue;
		}
		n = read(p[0], buf, sizeof(buf));
		if (n > 0) {
			tail_keep(tail, tsize, &have, buf, (size_t)n);
			continue;
		}
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			eof = 1;
	}
	close(p[0]);
	if (*timed_out)
		kill(-pid, SIGKILL);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* One line for a status string: line breaks and other control characters
 * become spaces, trailing ones go. */
static void
tail_clean(char *t)
{
	size_t n;

	for (n = 0; t[n]; n++)
		if ((unsigned char)t[n] < 0x20 || t[n] == 0x7f)
			t[n] = ' ';
	while (n > 0 && t[n - 1] == ' ')
		t[--n] = '\0';
}

static int
mode_parse(const char *s, mode_t *m)
{
	char *end;
	long v;

	if (s == NULL) {
		*m = 0644;
		return 0;
	}
	v = strtol(s, &end, 8);
	if (*end != '\0' || v < 0 || v > 07777)
		return -1;
	*m = (mode_t)v;
	return 0;
}

/* A file deployment: the content placed at path, atomically, with its
 * owner and mode. */
static int
place_file(const char *content, const json_t *d, char *err)
{
	const char *path = json_string_value(json_object_get(d, "path"));
	const char *owner = json_string_value(json_object_get(d, "owner"));
	char *data;
	size_t len;
	mode_t mode;
	struct passwd *pw = NULL;
	int r;

	if (path == NULL || path[0] != '/' ||
	    mode_parse(json_string_value(json_object_get(d, "mode")), &mode) <
		0)
		return err_set(err, "the policy gives no usable path or mode");
	if (owner != NULL && (pw = getpwnam(owner)) == NULL)
		return err_set(err, "no user %s on this device", owner);
	if (file_read(content, CONTENT_MAX, &data, &len, err) < 0)
		return -1;
	r = file_write_atomic(path, data, len, mode, err);
	free(data);
	if (r < 0)
		return -1;
	if (chmod(path, mode) < 0)
		return err_set(err, "chmod %s: %s", path, strerror(errno));
	if (pw != NULL && chown(path, pw->pw_uid, pw->pw_gid) < 0)
		return err_set(err, "chown %s: %s", path, strerror(errno));
	return 0;
}

/* A copy of a script in a new private directory, owned by the user it runs
 * as; argv[1] then names it. */
static int
script_copy(const char *content, const char *user, char *tmpdir,
    char **argv, char *err)
{
	static char path[96];
	struct passwd *pw = getpwnam(user);
	char *data;
	size_t len;
	int r;

	if (pw == NULL)
		return err_set(err, "no user %s on this device", user);
	str_copy(tmpdir, 64, "/tmp/steward-run.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		tmpdir[0] = '\0';
		return err_set(err, "mkdtemp: %s", strerror(errno));
	}
	str_fmt(path, sizeof(path), "%s/script", tmpdir);
	if (file_read(content, CONTENT_MAX, &data, &len, err) < 0)
		return -1;
	r = file_write_new(path, data, len, 0600, err);
	free(data);
	if (r < 0)
		return -1;
	if (chown(path, pw->pw_uid, pw->pw_gid) < 0 ||
	    chown(tmpdir, pw->pw_uid, pw->pw_gid) < 0)
		return err_set(err, "chown: %s", strerror(errno));
	argv[1] = path;
	return 0;
}

struct exec_ctx {
	struct agent_state *s;
	const struct identity *id;
	const char *crl;
	struct spool *sp;
	const char *exec_policy;
};

/* Runs one deployment now; reports running, then succeeded or failed.
 * Returns 0 succeeded, 1 failed. */
static int
execute(struct exec_ctx *x, json_t *d, char *detail, size_t dsize, int *code)
{
	const char *type = json_string_value(json_object_get(d, "type"));
	const char *sha = json_string_value(json_object_get(d, "content"));
	const char *user = json_string_value(json_object_get(d, "run_as"));
	int64_t runtime = json_integer_value(json_object_get(d, "max_runtime"));
	int64_t did = json_integer_value(json_object_get(d, "id"));
	char content[PATH_MAX], tail[OUTPUT_TAIL + 1] = "", err[ERRMSG_MAX];
	char tmpdir[64] = "";
	int timed_out = 0, rc;

	*code = -1;
	detail[0] = '\0';
	if (type == NULL)
		return str_fmt(detail, dsize, "no type"), 1;
	if (strcmp(type, "command") == 0 &&
	    strcmp(x->exec_policy, "bypass") != 0) {
		str_fmt(detail, dsize, "refused: exec.policy is %s; a command "
				       "line runs only under bypass",
		    x->exec_policy);
		log_warn("deployment %lld: %s", (long long)did, detail);
		report(x->sp, d, MSG_FAILED, "failed", -1, NULL, detail);
		return 1;
	}
	if (strcmp(type, "command") != 0 &&
	    content_fetch(x->s, x->id, x->crl, sha ? sha : "",
		json_integer_value(json_object_get(d, "size")), content,
		sizeof(content), err) < 0) {
		str_copy(detail, dsize, err);
		log_err("deployment %lld: %s", (long long)did, detail);
		report(x->sp, d, MSG_FAILED, "failed", -1, NULL, detail);
		return 1;
	}
	report(x->sp, d, MSG_RUNNING, "running", -1, NULL, NULL);
	if (runtime <= 0)
		runtime = 3600;
	if (strcmp(type, "file") == 0) {
		rc = place_file(content, d, err) < 0 ? 1 : 0;
		if (rc)
			str_copy(detail, dsize, err);
		else
			str_fmt(detail, dsize, "placed %s",
			    json_string_value(json_object_get(d, "path")));
		*code = rc;
	} else {
		char *argv[5];

		if (strcmp(type, "script") == 0) {
			argv[0] = "/bin/sh";
			argv[1] = content;
			argv[2] = NULL;
		} else if (strcmp(type, "package") == 0) {
			argv[0] = "/usr/bin/dpkg";
			argv[1] = "-i";
			argv[2] = content;
			argv[3] = NULL;
		} else {
			argv[0] = "/bin/sh";
			argv[1] = "-c";
			argv[2] = (char *)json_string_value(json_object_get(d,
			    "command"));
			argv[3] = NULL;
		}
		/* Run as another user, a script gets a copy it can read. */
		if (user != NULL && strcmp(type, "script") == 0 &&
		    script_copy(content, user, tmpdir, argv, err) < 0) {
			if (tmpdir[0]) {
				char left[96];

				str_fmt(left, sizeof(left), "%s/script", tmpdir);
				unlink(left);
				rmdir(tmpdir);
			}
			str_copy(detail, dsize, err);
			report(x->sp, d, MSG_FAILED, "failed", -1, NULL, detail);
			return 1;
		}
		*code = agent_run_child(argv, user, runtime, did, tail, sizeof(tail),
		    &timed_out);
		if (tmpdir[0]) {
			unlink(argv[1]);
			rmdir(tmpdir);
		}
		tail_clean(tail);
		if (*code < 0)
			str_fmt(detail, dsize, "cannot start: %s",
			    strerror(errno));
		else if (timed_out)
			str_fmt(detail, dsize, "stopped after the max runtime "
					       "of %llds",
			    (long long)runtime);
		rc = *code == 0 ? 0 : 1;
	}
	log_info("deployment %lld (%s) %s, exit %d%s%s", (long long)did, type,
	    rc ? "failed" : "succeeded", *code, detail[0] ? ": " : "", detail);
	report(x->sp, d, rc ? MSG_FAILED : MSG_SUCCEEDED,
	    rc ? "failed" : "succeeded", *code, tail, detail);
	return rc;
}

static void
state_set(json_t *st, json_t *d, const char *state, int code,
    const char *detail, int64_t at)
{
	char key[24];

	str_fmt(key, sizeof(key), "%lld",
	    (long long)json_integer_value(json_object_get(d, "id")));
	json_object_set_new(st, key, json_pack("{s:s,s:i,s:s,s:I}", "state",
					 state, "exit", code, "detail",
					 detail ? detail : "", "at",
					 (json_int_t)at));
}

/* What the device last recorded about deployment d. */
static json_t *
entry_of(json_t *st, json_t *d)
{
	char key[24];

	str_fmt(key, sizeof(key), "%lld",
	    (long long)json_integer_value(json_object_get(d, "id")));
	return json_object_get(st, key);
}

static const char *
state_of(json_t *st, json_t *d)
{
	return json_string_value(json_object_get(entry_of(st, d), "state"));
}

static const char *
detail_of(json_t *st, json_t *d)
{
	const char *v = json_string_value(json_object_get(entry_of(st, d),
	    "detail"));

	return v ? v : "";
}

static int
state_store(struct agent_state *s, json_t *st)
{
	char path[PATH_MAX], err[ERRMSG_MAX], *text = json_dumps(st,
	    JSON_COMPACT | JSON_SORT_KEYS), *held;
	int r;

	/* Unchanged (a run with nothing to do): nothing to write and sync. */
	held = text ? state_read(s, DEPLOY_STATE, NULL) : NULL;
	if (held != NULL && strcmp(held, text) == 0) {
		free(held);
		free(text);
		return 0;
	}
	free(held);
	state_path(s, DEPLOY_STATE, path, sizeof(path));
	r = text ? file_write_atomic(path, text, strlen(text), 0600, err) : -1;
	if (r < 0)
		log_err("cannot save deployment state: %s", text ? err : "");
	free(text);
	return r;
}

static size_t
load_windows(json_t *doc, struct window **out)
{
	json_t *arr = json_object_get(doc, "windows"), *o;
	struct window *w = calloc(json_array_size(arr) + 1, sizeof(*w));
	char err[ERRMSG_MAX];
	size_t i, n = 0;

	json_array_foreach(arr, i, o)
	{
		if (w != NULL && window_from_json(o, &w[n], err) == 0)
			n++;
		else
			log_warn("policy window ignored: %s", err);
	}
	*out = w;
	return n;
}

/* Applies unlock.on_restart through the device's hook when its value
 * changed since it was last applied. */
static void
apply_unlock(struct agent_state *s, json_t *doc, json_t *st, struct spool *sp)
{
	const char *want = json_string_value(json_object_get(
	    json_object_get(doc, "settings"), "unlock.on_restart"));
	const char *done = json_string_value(json_object_get(st,
	    "unlock.on_restart"));
	char hook[PATH_MAX], tail[OUTPUT_TAIL + 1], codetxt[16];
	char *argv[3];
	struct stat sb;
	int code, to;

	if (want == NULL || (done != NULL && strcmp(done, want) == 0) ||
	    (done == NULL && strcmp(want, "never") == 0))
		return;
	state_path(s, HOOK_UNLOCK, hook, sizeof(hook));
	if (stat(hook, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (sb.st_mode & 0022) != 0 || sb.st_uid != geteuid() ||
	    (sb.st_mode & 0100) == 0) {
		log_warn("unlock.on_restart=%s, but no usable hook at %s "
			 "(executable, owned by the agent's user, not "
			 "writable by others)",
		    want, hook);
		spool_status(sp, "settings", MSG_SETTING_FAILED, "warning",
		    json_pack("[s,s,s]", "unlock.on_restart", want,
			"no hook configured"),
		    NULL);
		json_object_set_new(st, "unlock.on_restart", json_string(want));
		return;
	}
	argv[0] = hook;
	argv[1] = (char *)want;
	argv[2] = NULL;
	code = agent_run_child(argv, NULL, 300, 0, tail, sizeof(tail), &to);
	tail_clean(tail);
	str_fmt(codetxt, sizeof(codetxt), "%d", code);
	log_info("unlock.on_restart=%s applied by the hook: exit %d", want,
	    code);
	spool_status(sp, "settings",
	    code == 0 ? MSG_SETTING_APPLIED : MSG_SETTING_FAILED,
	    code == 0 ? "info" : "error",
	    json_pack("[s,s,s,s]", "unlock.on_restart", want, codetxt, tail),
	    NULL);
	if (code == 0)
		json_object_set_new(st, "unlock.on_restart", json_string(want));
}

int
agent_deploy(struct agent_state *s, const struct identity *id,
    const char *crl, struct spool *sp, int64_t only, char *err)
{
	struct exec_ctx x = {s, id, crl, sp, "all-signed"};
	char lockpath[PATH_MAX], detail[ERRMSG_MAX];
	struct window *wins = NULL;
	json_t *doc, *st, *d;
	int64_t now = agent_clock();
	size_t i, nwin;
	int lock, ran = 0, found = 0;

	/* Nothing to run (the usual check-in), and no unlock setting to
	 * undo: no signature to check. */
	if (only == 0 && agent_policy_idle(s)) {
		const char *done;
		int idle;

		st = state_json(s, DEPLOY_STATE);
		done = json_string_value(json_object_get(st,
		    "unlock.on_restart"));
		idle = done == NULL || strcmp(done, "never") == 0;
		json_decref(st);
		if (idle)
			return 0;
	}
	doc = agent_policy_held(s, err);
	if (doc == NULL)
		return -1;
	/* One executor at a time (the daemon and a "run --once"). */
	state_path(s, DEPLOY_LOCK, lockpath, sizeof(lockpath));
	lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX | LOCK_NB) < 0) {
		if (lock >= 0)
			close(lock);
		json_decref(doc);
		return err_set(err, "another executor is running");
	}
	st = state_json(s, DEPLOY_STATE);
	if (st == NULL)
		st = json_object();
	x.exec_policy = json_string_value(json_object_get(
	    json_object_get(doc, "settings"), "exec.policy"));
	if (x.exec_policy == NULL)
		x.exec_policy = "all-signed";
	if (only == 0)
		apply_unlock(s, doc, st, sp);
	nwin = load_windows(doc, &wins);
	json_array_foreach(json_object_get(doc, "deployments"), i, d)
	{
		int64_t did = json_integer_value(json_object_get(d, "id"));
		int64_t deadline = json_integer_value(json_object_get(d,
		    "deadline"));
		int64_t need = json_integer_value(json_object_get(d,
		    "max_runtime"));
		int required = json_is_true(json_object_get(d, "required"));
		int override = json_is_true(json_object_get(d,
		    "override_windows"));
		const char *was = state_of(st, d);
		int code, rc;

		if (only != 0) {
			if (did != only)
				continue;
			found = 1;
		} else {
			/* Done is done: a new deployment runs it again. */
			if (!required || (was != NULL &&
						 (strcmp(was, "succeeded") == 0 ||
						     strcmp(was, "failed") == 0)))
				continue;
			if (deadline > 0 && now < deadline)
				continue; /* not due yet */
			if (nwin > 0 && windows_room(wins, nwin, now, need) < need &&
			    !(override && deadline > 0 && now >= deadline)) {
				int64_t next = windows_next_fit(wins, nwin, now,
				    need, WINDOW_HORIZON);
				char when[32];

				if (next >= 0) {
					time_iso(next, when, sizeof(when));
					str_fmt(detail, sizeof(detail),
					    "waiting for a maintenance window; "
					    "the next that holds %llds opens at "
					    "%s",
					    (long long)need, when);
				} else {
					str_fmt(detail, sizeof(detail),
					    "waiting: no maintenance window in "
					    "the next 30 days holds %llds",
					    (long long)need);
				}
				if (was != NULL && strcmp(was, "waiting") == 0 &&
				    strcmp(detail, detail_of(st, d)) == 0)
					continue; /* reported already */
				log_info("deployment %lld: %s", (long long)did,
				    detail);
				report(sp, d, MSG_WAITING, "waiting", -1, NULL,
				    detail);
				state_set(st, d, "waiting", -1, detail, now);
				state_store(s, st);
				continue;
			}
		}
		state_set(st, d, "running", -1, NULL, now);
		state_store(s, st);
		/* The site learns "running" before a long run. */
		if (spool_flush(sp, s, id, crl, &code, err) < 0)
			log_warn("%s", err);
		rc = execute(&x, d, detail, sizeof(detail), &code);
		state_set(st, d, rc ? "failed" : "succeeded", code, detail,
		    agent_clock());
		state_store(s, st);
		ran++;
	}
	state_store(s, st);
	free(wins);
	json_decref(st);
	json_decref(doc);
	close(lock);
	if (only != 0 && !found)
		return err_set(err, "the policy has no deployment %lld",
		    (long long)only);
	return ran;
}

json_t *
agent_deployments(struct agent_state *s, char *err)
{
	json_t *doc = agent_policy_held(s, err), *st, *d, *out;
	size_t i;

	if (doc == NULL)
		return NULL;
	st = state_json(s, DEPLOY_STATE);
	out = json_array();
	json_array_foreach(json_object_get(doc, "deployments"), i, d)
	{
		const char *was = state_of(st, d);

		json_array_append_new(out,
		    json_pack("{s:O,s:O,s:O,s:b,s:s}", "id",
			json_object_get(d, "id"), "name",
			json_object_get(d, "name"), "type",
			json_object_get(d, "type"), "required",
			json_is_true(json_object_get(d, "required")), "state",
			was ? was : "pending"));
	}
	json_decref(st);
	json_decref(doc);
	return out;
}
