/* agent.h - steward-agent: its state directory, facts, enrollment and run. */
#ifndef STEWARD_AGENT_H
#define STEWARD_AGENT_H

#include <limits.h>
#include <sys/socket.h>
#include <stddef.h>

#include "common/httpc.h"
#include "crypto/token.h"
#include "proto/discovery.h"

#include <jansson.h>

#define AGENT_KEY "key.pem"
#define AGENT_CERT "cert.pem"
#define AGENT_CA "ca.pem"
#define AGENT_STATE "state.json"
#define AGENT_KEY_NEW "key.new.pem"   /* a renewal in progress */
#define AGENT_CERT_NEW "cert.new.pem"
#define AGENT_CRL "crl.pem"
#define AGENT_TLS_SESSION "tls.session" /* resumption with the site, 0600 */

/* Exit codes of "steward-agent enroll". */
enum {
	AGENT_EXIT_OK = 0,
	AGENT_EXIT_ERROR = 1,
	AGENT_EXIT_USAGE = 2,
	AGENT_EXIT_PENDING = 3,
	AGENT_EXIT_DENIED = 4,
};

/* What the agent keeps between runs (state.json, mode 0600). */
struct agent_state {
	char dir[PATH_MAX / 2];
	char url[TOKEN_URL_MAX];
	char ca_fpr[PKI_FPR_HEX];
	char sign_pub[64];
	char client_id[33];
	char request_id[33];
	char poll_secret[64];
	char status[16]; /* "", pending, issued, denied */
	char hostname[DISC_HOST_MAX];
	char hardware_id[DISC_HWID_MAX];
};

int state_path(const struct agent_state *s, const char *name, char *out,
    size_t size);
/* Loads state.json if present (a missing file is an empty state). */
int state_load(const char *dir, struct agent_state *s, char *err);
int state_save(const struct agent_state *s, char *err);
/* Reads a file of the state directory into a malloc'ed string. */
char *state_read(const struct agent_state *s, const char *name, char *err);
/* Reads a JSON object file of the state directory; NULL when absent or
 * not an object. */
json_t *state_json(const struct agent_state *s, const char *name);
/* The text form of an interface address (IPv4 or IPv6) into buf; -1 for
 * other families. */
int ifaddr_text(const struct sockaddr *sa, char *buf, size_t size);

/* Fills d with this device's facts; overrides may be NULL. */
int facts_collect(struct discovery *d, const char *hostname,
    const char *hardware_id, char *err);
/* The default hardware id: SHA-256 of /etc/machine-id and the DMI product
 * UUID (whichever are readable), in hex. */
int facts_hardware_id(char *out, size_t size, char *err);

struct enroll_opts {
	const char *state_dir;
	const char *token;
	int wait_secs;
	const char *hostname;
	const char *hardware_id;
	const char *enterprise_cert;
	const char *enterprise_key;
};
int agent_enroll(const struct enroll_opts *o);

struct run_opts {
	const char *state_dir;
	int once;
	const char *hardware_id;
	int interval_secs;
};
int agent_run(const struct run_opts *o);
int agent_status(const char *state_dir, int json);
/* Queues count status messages and sends what it can. */
int agent_send_status(const char *state_dir, const char *component,
    int64_t message_id, const char *severity, int count, char **strings,
    int nstrings);
/* "install ID": runs one deployment of the policy now (available ones
 * included, windows not applied); "deployments": lists them. */
int agent_install(const char *state_dir, int64_t deployment);
int agent_list_deployments(const char *state_dir, int json);
/* Removes the device's identity so an image captured afterwards has none. */
int agent_reset_identity(const char *state_dir);

/* The identity files of an enrolled agent, read into memory. */
struct identity {
	char *ca, *cert, *key;
	int64_t not_before, not_after;
};
/* Finishes a renewal a crash interrupted (call at start, before threads). */
void identity_recover(struct agent_state *s);
/* Loads the identity files. */
int identity_load(struct agent_state *s, struct identity *id, char *err);
void identity_free(struct identity *id);
/* The TLS of a request made as this device: its certificate and key, the
 * site CA, the CRL to check the site against (or NULL), and a timeout for
 * the whole request. */
struct httpc_tls identity_tls(const struct identity *id, long timeout_secs,
    const char *crl);

/* renew.c: 1 when a certificate valid from not_before to not_after is due
 * for renewal at now (two thirds of its lifetime have passed). */
int renew_due(int64_t not_before, int64_t not_after, int64_t now);
/* Renews: a new key on the device, a CSR signed with it, sent with the
 * current certificate; the new identity replaces the old once the site
 * accepted a request made with it. */
int agent_renew(struct agent_state *s, struct identity *id, const char *hwid,
    char *err);
/* Fetches and verifies the site's CRL into the state directory; returns the
 * path to pass to the HTTPS client, or NULL when none is valid. */
const char *agent_crl(struct agent_state *s, const struct identity *id,
    char *path, size_t size);
/* The CRL already held, when current (no request). */
const char *agent_crl_held(struct agent_state *s, char *path, size_t size);

/* spool.c: the outbox of status messages and health reports. */
struct spool;
struct spool *spool_open(struct agent_state *s, char *err);
void spool_close(struct spool *sp);
int64_t spool_pending(struct spool *sp);
/* Queues one report of kind "status" (a message) or "health". */
int spool_add(struct spool *sp, const char *kind, json_t *item, char *err);
/* Queues a status message; takes ownership of strings (a JSON array). */
int spool_status(struct spool *sp, const char *component, int64_t message_id,
    const char *severity, json_t *strings, char *err);
/* Sends everything queued, in order, deleting what the site acknowledged.
 * 0 when the spool is empty, -1 when something stays for later. */
int spool_flush(struct spool *sp, struct agent_state *s,
    const struct identity *id, const char *crl, int *sent, char *err);

/* policy.c: fetches and verifies the signed policy (refusals are logged and
 * reported through the spool); agent_policy_fresh says whether the held
 * policy is current (for the self-checks). */
int agent_policy(struct agent_state *s, const struct identity *id,
    const char *crl, struct spool *sp, char *err);
int agent_policy_fresh(struct agent_state *s, int64_t now, char *detail,
    size_t size);
/* deploy.c: runs the required deployments of the held (verified) policy
 * that are due and allowed now, or (only > 0) that one deployment now,
 * reporting each state; applies unlock.on_restart through the device's
 * hook. Returns how many ran, or -1 with err. */
int agent_deploy(struct agent_state *s, const struct identity *id,
    const char *crl, struct spool *sp, int64_t only, char *err);
/* Runs argv (as user, unless NULL) with a clean environment, stdin from
 * /dev/null and output captured (its last tsize - 1 bytes kept in tail), in
 * its own process group, stopped (TERM, then KILL) past max_runtime
 * seconds. Returns the exit code (128 + signal when killed by one), or -1
 * when it could not start. */
int agent_run_child(char *const argv[], const char *user, int64_t max_runtime,
    int64_t deployment, char *tail, size_t tsize, int *timed_out);
/* The held policy's deployments with their local state. */
json_t *agent_deployments(struct agent_state *s, char *err);
/* The scheduler's clock: now, or STEWARD_AGENT_NOW for tests. */
int64_t agent_clock(void);
/* The held policy document, its signature, addressee and expiry checked
 * again; NULL with err. */
json_t *agent_policy_held(struct agent_state *s, char *err);
/* idle.c: between check-ins, gives back the free heap and the mapped
 * library pages that hold nothing of the agent's; returns how many
 * mappings were dropped. */
int agent_idle_release(void);
/* 1 when the policy last verified has nothing for the executor (no
 * deployments, unlock.on_restart never): a hint that only skips work. */
int agent_policy_idle(struct agent_state *s);
/* An integer client setting from the held policy, or def. */
int64_t agent_setting(struct agent_state *s, const char *key, int64_t def);

/* health.c: the agent's self-checks, when due (hourly) or forced; queues a
 * health report. skew is the site's clock minus ours, when known. */
int agent_health(struct agent_state *s, struct identity *id, struct spool *sp,
    int site_ok, int64_t skew, int have_skew, int force, char *err);

/* report.c: sends the inventory when due (or force): full the first time
 * and when the site asks, else a delta. 1 sent, 0 not due, -1 error. */
int agent_inventory(struct agent_state *s, const struct identity *id,
    const char *crl, int force, char *err);

/* collect.c: the full inventory classes of the system under root ("/"). */
json_t *collect_inventory(const char *root);
/* The delta classes from old to cur (both full classes objects). */
json_t *inventory_delta(json_t *old, json_t *cur);

#endif
