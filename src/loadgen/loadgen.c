/* loadgen.c - steward-loadgen: speaks as many agents at once, over mutual
 * TLS keep-alive connections, each with a real device identity, and
 * measures what the server gives: requests/s, a latency histogram, errors
 * by kind, and (given its pid) the server's CPU time and RSS.
 *
 * One process; --threads event loops (default 2). Scenario "policy" polls a
 * path (GET /v1/policy by default) and sends back the ETag it was given, so
 * an unchanged policy costs a 304, as a fleet's agents do; "get" is the same
 * without ETags (full bodies); "handshake" makes one request per new
 * connection, each a full mutual-TLS handshake; "resume" does the same
 * resuming with the TLS 1.3 ticket of the connection before; "idle" opens
 * N connections (paced, over several 127.0.0.x source addresses past
 * 30,000), each asking once (a held GET /v1/notify by default) and then
 * idle, measures the server's RSS per connection, and with --trigger times
 * until every held request is answered. The path option points it at a
 * peer. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <jansson.h>

#include "common/util.h"
#include "crypto/pki.h"
#include "crypto/token.h"
#include "hist.h"
#include "proto/discovery.h"
#include "proto/wire.h"
#include "common/resp.h"

#define IDS_MAX 100000
#define HEADER_MAX 16384

enum scenario { SC_POLICY, SC_GET, SC_HANDSHAKE, SC_RESUME, SC_IDLE,
	SC_ENROLL, SC_INVENTORY, SC_STATUS, SC_MIXED };

/* What a device sends, for the report scenarios. */
enum rkind { RK_POLICY, RK_HEARTBEAT, RK_HEALTH, RK_STATUS, RK_INVENTORY };

#define INV_PACKAGES 200 /* packages in a full inventory report */
#define STATUS_BATCH 10  /* messages per status batch */

#define SOURCE_SPAN 30000  /* connections per 127.0.0.x source address */
#define CHURN_SOURCES 64   /* 127.0.0.x turned over by handshake scenarios */
#define OPEN_AHEAD 64      /* handshakes in flight per thread (idle) */
#define BODY_KEEP_MAX (1 << 20) /* an answer's body kept to be read */

struct opts {
	const char *scenario;
	enum scenario sc;
	char host[64];
	int port;
	const char *ca, *ids, *cert, *key, *path;
	int conns, threads, duration, etag, json;
	int follow;          /* idle: each answered device fetches its
	                      * policy, at its moment of the spread */
	long server_pid[16]; /* the server's processes, summed */
	int npids;
	const char *trigger; /* idle: the command that should answer all */
	int hold;            /* idle: seconds to settle before measuring */
	const char *verify_name; /* the server's DNS name, when not its IP */
	const char *token;   /* enroll: a token with uses enough */
	const char *out;     /* enroll: where identities are written */
	int count;           /* enroll: how many */
};

struct identity_ctx {
	SSL_CTX *ctx;
};

struct worker;

struct conn {
	struct worker *w;
	struct bufferevent *bev;
	SSL_CTX *ctx;
	char etag[RESP_ETAG_MAX];
	struct timespec sent;
	int busy;
	SSL_SESSION *session; /* the ticket to resume with (resume) */
	long long status;
	size_t body_left;
	int in_body;
	int chunked, chunk_crlf, chunk_last; /* chunked body state */
	int idx;      /* position over all connections (source address) */
	uint32_t starts; /* connections started (handshake scenarios) */
	char *req;    /* enroll: this enrollment's request body */
	EVP_PKEY *key; /* enroll: its key */
	int serial;   /* enroll: its number */
	struct evbuffer *body; /* enroll: the answer's body */
	enum rkind kind;  /* reports: what the request in flight is */
	int64_t seq;      /* inventory: the last report the site applied */
	int64_t sent_seq; /* inventory: the one in flight */
	int need_full;    /* inventory: the site asked for a full report */
	int64_t uid;      /* status, health: the sender's own numbering */
	const char *hwid; /* heartbeat: the identity's hardware id */
	int opened;   /* idle: established and asked */
	int following; /* idle --follow: where the device is (F_*) */
	struct event *follow_ev; /* idle --follow: the moment */
	long long after; /* idle --follow: the last notification it was told */
};

/* idle --follow: a device told "fetch policy now", as the agent's daemon
 * goes on: it waits for its moment of the spread, fetches its policy,
 * then holds its next long-poll, acknowledging what it was told. */
enum {
	F_NONE,   /* not told yet (or done, or failed) */
	F_WAIT,   /* waiting for its moment */
	F_FETCH,  /* fetching its policy */
	F_REHOLD, /* opening its next long-poll */
	F_HELD    /* holding it: back where it was before it was told */
};

enum err_kind { E_CONNECT, E_TLS, E_STATUS, E_PARSE, E_CLOSED, E_KINDS };
static const char *const err_names[] = {"connect", "tls", "status", "parse",
    "closed"};

struct worker {
	const struct opts *o;
	struct event_base *base;
	pthread_t thread;
	struct conn *c;
	int nconn;
	struct sockaddr_in sa;
	struct hist h;
	long long ok, not_modified, resumed, errors[E_KINDS];
	long long bytes;
	volatile int stopping;
	struct event *stop_ev;
	int next_open; /* idle: the next connection to open */
	int active;    /* enroll: connections with work left */
};

/* Idle scenario: progress every thread reports to the controller. */
static long long g_opened, g_failed, g_answered;
static long long g_followed, g_follow_failed, g_follow_resumed; /* --follow */
static long long g_reheld, g_rehold_failed, g_rehold_resumed;
static volatile int g_stop, g_triggered;
static struct timespec g_trigger_at;

static SSL_CTX **ctxs;
static char **hwids; /* per identity, from its hwid file, or NULL */
static int nctx;

/* Failures of all threads by kind, into kinds; returns their sum. */
static long long
errors_sum(const struct worker *ws, int n, long long *kinds)
{
	long long all = 0;
	int i, k;

	for (k = 0; k < E_KINDS; k++)
		kinds[k] = 0;
	for (i = 0; i < n; i++)
		for (k = 0; k < E_KINDS; k++) {
			kinds[k] += ws[i].errors[k];
			all += ws[i].errors[k];
		}
	return all;
}

/* The failures by kind, as a JSON object. */
static void
print_error_kinds(const long long *kinds)
{
	int k;

	printf("{");
	for (k = 0; k < E_KINDS; k++)
		printf("%s\"%s\": %lld", k ? ", " : "", err_names[k], kinds[k]);
	printf("}");
}

static double
ts_diff(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) * 1e6 +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e3;
}

static SSL_CTX *
make_ctx(const struct opts *o, const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());


	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, o->ca, NULL) != 1 ||
	    (cert != NULL &&
		(SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM) !=
			1 ||
		    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) !=
			1))) {
		fprintf(stderr, "steward-loadgen: cannot load %s / %s\n", cert,
		    key);
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (o->sc == SC_RESUME) {
		/* TLS 1.3 tickets, kept per connection by the caller. */
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
			SSL_SESS_CACHE_NO_INTERNAL_STORE);
	} else {
		/* Every new connection makes a full handshake. */
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	}
	return ctx;
}

/* Identities: --cert/--key, or every subdirectory of --ids holding
 * cert.pem and key.pem (agent state directories). */
static int
load_identities(const struct opts *o)
{
	char cert[4096], key[4096];
	struct dirent *de;
	DIR *d;

	ctxs = calloc(IDS_MAX, sizeof(*ctxs));
	hwids = calloc(IDS_MAX, sizeof(*hwids));
	if (ctxs == NULL)
		return -1;
	if (o->sc == SC_ENROLL) {
		/* Enrolling devices have no certificate yet. */
		ctxs[0] = make_ctx(o, NULL, NULL);
		nctx = ctxs[0] != NULL;
		return nctx ? 0 : -1;
	}
	if (o->cert != NULL) {
		ctxs[0] = make_ctx(o, o->cert, o->key);
		nctx = ctxs[0] != NULL;
		return nctx ? 0 : -1;
	}
	d = opendir(o->ids);
	if (d == NULL) {
		fprintf(stderr, "steward-loadgen: cannot open %s: %s\n", o->ids,
		    strerror(errno));
		return -1;
	}
	/* Connections take identities round-robin: more than one per
	 * connection would never be used. */
	while ((de = readdir(d)) != NULL && nctx < IDS_MAX && nctx < o->conns) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(cert, sizeof(cert), "%s/%s/cert.pem", o->ids,
		    de->d_name);
		snprintf(key, sizeof(key), "%s/%s/key.pem", o->ids, de->d_name);
		if (access(cert, R_OK) != 0 || access(key, R_OK) != 0)
			continue;
		if ((ctxs[nctx] = make_ctx(o, cert, key)) == NULL) {
			closedir(d);
			return -1;
		}
		snprintf(cert, sizeof(cert), "%s/%s/hwid", o->ids, de->d_name);
		if (hwids != NULL &&
		    file_read(cert, 200, &hwids[nctx], NULL, NULL) == 0)
			hwids[nctx][strcspn(hwids[nctx], "\r\n")] = '\0';
		nctx++;
	}
	closedir(d);
	if (nctx == 0) {
		fprintf(stderr, "steward-loadgen: no identities in %s\n", o->ids);
		return -1;
	}
	return 0;
}

static void conn_start(struct conn *c);
static void conn_recycle(struct conn *c);
static void send_report(struct conn *c, struct evbuffer *out);

static int enroll_prepare(struct conn *c);

/* The mix of a fleet at default intervals, per agent and day: 24 check-ins
 * (heartbeat, policy poll, health report, a status batch) and one
 * inventory delta. */
static enum rkind
mixed_kind(void)
{
	unsigned r = (unsigned)rand() % 97;

	if (r < 24)
		return RK_HEARTBEAT;
	if (r < 48)
		return RK_POLICY;
	if (r < 72)
		return RK_HEALTH;
	if (r < 96)
		return RK_STATUS;
	return RK_INVENTORY;
}

static void
post(struct conn *c, struct evbuffer *out, const char *path,
    struct evbuffer *body)
{
	evbuffer_add_printf(out, "POST %s HTTP/1.1\r\nHost: %s:%d\r\n"
				 "Accept: */*\r\nContent-Type: "
				 "application/json\r\nContent-Length: %zu\r\n"
				 "\r\n",
	    path, c->w->o->host, c->w->o->port, evbuffer_get_length(body));
	evbuffer_add_buffer(out, body);
}

static void
inventory_body(struct conn *c, struct evbuffer *b)
{
	int i, full = c->need_full || c->seq == 0;

	c->sent_seq = c->seq + 1;
	if (full) {
		evbuffer_add_printf(b, "{\"kind\": \"full\", \"seq\": %lld, "
				       "\"classes\": {\"os\": {\"id\": "
				       "\"debian\", \"version_id\": \"12\", "
				       "\"pretty_name\": \"Debian GNU/Linux 12\", "
				       "\"kernel\": \"6.1.0-13-amd64\"}, "
				       "\"memory\": {\"total_mb\": %d}, "
				       "\"packages\": [",
		    (long long)c->sent_seq, 1024 * (1 + c->idx % 16));
		for (i = 0; i < INV_PACKAGES; i++)
			evbuffer_add_printf(b, "%s{\"name\": \"pkg%d\", "
					       "\"version\": \"1.%d-1\", "
					       "\"arch\": \"amd64\", "
					       "\"source\": \"dpkg\"}",
			    i ? ", " : "", i, i % 7);
		evbuffer_add_printf(b, "]}}");
		return;
	}
	/* A delta: one package moves on a version. */
	evbuffer_add_printf(b, "{\"kind\": \"delta\", \"seq\": %lld, "
			       "\"base\": %lld, \"classes\": {\"packages\": "
			       "{\"upsert\": [{\"name\": \"pkg%d\", "
			       "\"version\": \"2.%lld-1\", \"arch\": "
			       "\"amd64\", \"source\": \"dpkg\"}]}}}",
	    (long long)c->sent_seq, (long long)c->seq,
	    (int)(c->seq % INV_PACKAGES), (long long)c->seq);
}

static void
send_report(struct conn *c, struct evbuffer *out)
{
	const struct opts *o = c->w->o;
	struct evbuffer *b = evbuffer_new();
	time_t now = time(NULL);
	int i;

	c->kind = o->sc == SC_INVENTORY ? RK_INVENTORY
	    : o->sc == SC_STATUS	    ? RK_STATUS
					    : mixed_kind();
	if (c->kind == RK_HEARTBEAT && c->hwid == NULL)
		c->kind = RK_POLICY; /* no hardware id to speak with */
	switch (c->kind) {
	case RK_POLICY:
		evbuffer_add_printf(out, "GET /v1/policy HTTP/1.1\r\nHost: "
					 "%s:%d\r\nAccept: */*\r\n",
		    o->host, o->port);
		if (c->etag[0])
			evbuffer_add_printf(out, "If-None-Match: %s\r\n",
			    c->etag);
		evbuffer_add_printf(out, "\r\n");
		break;
	case RK_HEARTBEAT:
		evbuffer_add_printf(b, "{\"hostname\": \"load-%06d\", "
				       "\"hardware_id\": \"%s\", \"os\": "
				       "\"Debian GNU/Linux 12\", \"kernel\": "
				       "\"Linux\", \"agent_version\": "
				       "\"loadgen\", \"addresses\": "
				       "[\"192.0.2.1\"]}",
		    c->idx, c->hwid);
		post(c, out, "/v1/heartbeat", b);
		break;
	case RK_HEALTH:
		evbuffer_add_printf(b, "{\"uid\": %lld, \"time\": %lld, "
				       "\"checks\": [{\"name\": \"spool\", "
				       "\"ok\": true, \"remediated\": false, "
				       "\"detail\": \"0 queued\"}]}",
		    (long long)++c->uid, (long long)now);
		post(c, out, "/v1/health", b);
		break;
	case RK_STATUS:
		evbuffer_add_printf(b, "{\"messages\": [");
		for (i = 0; i < (o->sc == SC_STATUS ? STATUS_BATCH : 2); i++)
			evbuffer_add_printf(b, "%s{\"uid\": %lld, \"component\": "
					       "\"loadgen\", \"message_id\": "
					       "%d, \"severity\": \"info\", "
					       "\"time\": %lld, \"strings\": "
					       "[\"load\", \"%d\"]}",
			    i ? ", " : "", (long long)++c->uid, 1000 + i,
			    (long long)now, i);
		evbuffer_add_printf(b, "]}");
		post(c, out, "/v1/status", b);
		break;
	case RK_INVENTORY:
		inventory_body(c, b);
		post(c, out, "/v1/inventory", b);
		break;
	}
	evbuffer_free(b);
	clock_gettime(CLOCK_MONOTONIC, &c->sent);
	c->busy = 1;
	c->in_body = 0;
}
static int enroll_save(struct conn *c);

static void
send_request(struct conn *c)
{
	const struct opts *o = c->w->o;
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (o->sc == SC_ENROLL) {
		evbuffer_add_printf(out, "POST /v1/enroll HTTP/1.1\r\nHost: "
					 "%s:%d\r\nConnection: close\r\n"
					 "Content-Type: application/json\r\n"
					 "Content-Length: %zu\r\n\r\n%s",
		    o->host, o->port, strlen(c->req), c->req);
		clock_gettime(CLOCK_MONOTONIC, &c->sent);
		c->busy = 1;
		c->in_body = 0;
		return;
	}

	if (o->sc == SC_INVENTORY || o->sc == SC_STATUS || o->sc == SC_MIXED) {
		send_report(c, out);
		return;
	}
	if (c->following == F_REHOLD) /* acknowledging what it was told */
		evbuffer_add_printf(out, "GET %s%cafter=%lld HTTP/1.1\r\n",
		    o->path, strchr(o->path, '?') ? '&' : '?', c->after);
	else
		evbuffer_add_printf(out, "GET %s HTTP/1.1\r\n",
		    c->following == F_FETCH ? "/v1/policy" : o->path);
	evbuffer_add_printf(out, "Host: %s:%d\r\nAccept: */*\r\n%s", o->host,
	    o->port,
	    o->sc == SC_HANDSHAKE || o->sc == SC_RESUME ||
		c->following == F_FETCH
		? "Connection: close\r\n"
		: "");
	if (o->etag && c->etag[0])
		evbuffer_add_printf(out, "If-None-Match: %s\r\n", c->etag);
	evbuffer_add_printf(out, "\r\n");
	clock_gettime(CLOCK_MONOTONIC, &c->sent);
	c->busy = 1;
	c->in_body = 0;
}

/* Ends the connection after a complete answer and opens the next,
 * keeping the TLS session to resume with when resuming. */
static void
conn_recycle(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

	if (c->w->o->sc == SC_RESUME && ssl != NULL) {
		SSL_SESSION *sess = SSL_get1_session(ssl);

		if (sess != NULL && SSL_SESSION_is_resumable(sess)) {
			SSL_SESSION_free(c->session);
			c->session = sess;
		} else {
			SSL_SESSION_free(sess);
		}
		if (SSL_session_reused(ssl))
			c->w->resumed++;
		/* Ended cleanly: freeing an SSL that was not shut down marks
		 * its session unusable for resumption. */
		SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
	}
	bufferevent_free(c->bev);
	c->bev = NULL;
	conn_start(c);
}

static void open_next(struct worker *w);

static void
conn_fail(struct conn *c, enum err_kind k)
{
	c->w->errors[k]++;
	if (c->bev != NULL) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	c->busy = 0;
	if (c->w->o->sc == SC_ENROLL && c->req == NULL)
		return; /* nothing left to send */
	if (c->w->o->sc == SC_IDLE && c->following != F_NONE) {
		if (c->following == F_REHOLD)
			__atomic_add_fetch(&g_rehold_failed, 1,
			    __ATOMIC_ACQ_REL);
		else if (c->following != F_HELD)
			__atomic_add_fetch(&g_follow_failed, 1,
			    __ATOMIC_ACQ_REL);
		c->following = F_NONE;
		return;
	}
	if (c->w->o->sc == SC_IDLE) {
		/* Held connections are not reopened: a failure is counted
		 * and the next one opens in its place in the pacing. */
		if (!c->opened)
			__atomic_add_fetch(&g_failed, 1, __ATOMIC_ACQ_REL);
		if (!c->opened)
			open_next(c->w);
		return;
	}
	if (!c->w->stopping)
		conn_start(c);
}

/* Takes in one answer's head: its status, body framing and ETag (a
 * head without one keeps the ETag the connection had). */
static int
parse_head(struct conn *c, const char *h, size_t len)
{
	struct resp_head r;

	/* Every answer on a kept connection needs its length. */
	if (resp_parse_head(h, len, &r) < 0 || r.length == RESP_TO_CLOSE)
		return -1;
	c->status = r.status;
	if (r.etag[0] != '\0')
		memcpy(c->etag, r.etag, sizeof(c->etag));
	c->chunked = r.length == RESP_CHUNKED; /* sizes with each chunk */
	c->body_left = c->chunked ? 0 : (size_t)r.length;
	return 0;
}

/* Where an answer's body goes: kept when it is read afterwards (an
 * enrollment's answer, a held answer's spread), up to BODY_KEEP_MAX (a
 * longer one is cut, and then fails to parse); else dropped. */
static struct evbuffer *
body_sink(const struct conn *c)
{
	if (c->body == NULL || c->following == F_FETCH ||
	    evbuffer_get_length(c->body) > BODY_KEEP_MAX)
		return NULL;
	return c->body;
}

/* Reads chunked body framing: 1 when the body is complete, 0 when more is
 * needed, -1 on a malformed chunk. Data bytes are drained or kept. */
static int
read_chunks(struct conn *c, struct evbuffer *in)
{
	for (;;) {
		size_t have = evbuffer_get_length(in), n;
		char line[32];
		long long size;
		struct evbuffer_ptr p;

		if (c->body_left > 0) {
			n = have < c->body_left ? have : c->body_left;
			if (body_sink(c) != NULL)
				evbuffer_remove_buffer(in, c->body, n);
			else
				evbuffer_drain(in, n);
			c->body_left -= n;
			c->w->bytes += (long long)n;
			if (c->body_left > 0)
				return 0;
			c->chunk_crlf = 1;
			continue;
		}
		if (c->chunk_crlf) {
			if (evbuffer_get_length(in) < 2)
				return 0;
			evbuffer_drain(in, 2);
			c->chunk_crlf = 0;
			if (c->chunk_last)
				return 1;
			continue;
		}
		p = evbuffer_search(in, "\r\n", 2, NULL);
		if (p.pos < 0)
			return have > sizeof(line) ? -1 : 0;
		if ((size_t)p.pos >= sizeof(line))
			return -1;
		evbuffer_remove(in, line, (size_t)p.pos + 2);
		if ((size = resp_chunk_size(line, (size_t)p.pos)) < 0)
			return -1;
		if (size == 0) {
			/* The last chunk; no trailers expected. */
			c->chunk_last = 1;
			c->chunk_crlf = 1;
			continue;
		}
		c->body_left = (size_t)size;
	}
}

static void conn_start(struct conn *c);

/* The TLS session of a held connection, to resume with at the device's
 * moment (as an agent does). */
static void
follow_keep_session(struct conn *c)
{
	SSL *ssl = c->bev ? bufferevent_openssl_get_ssl(c->bev) : NULL;
	SSL_SESSION *sess = ssl ? SSL_get1_session(ssl) : NULL;

	if (sess != NULL && SSL_SESSION_is_resumable(sess)) {
		SSL_SESSION_free(c->session);
		c->session = sess;
	} else
		SSL_SESSION_free(sess);
	if (ssl != NULL)
		SSL_set_shutdown(ssl, SSL_SENT_SHUTDOWN |
			SSL_RECEIVED_SHUTDOWN);
}

/* --follow: the device's next connection (to fetch, F_FETCH, or to hold
 * its next long-poll, F_REHOLD), resuming the session of the one it
 * leaves (a ticket is good once); a failure to start is counted. */
static void
follow_step(struct conn *c, int next, long long *failed)
{
	if (c->bev != NULL) {
		follow_keep_session(c);
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
	c->following = next;
	conn_start(c);
	if (c->bev == NULL) {
		__atomic_add_fetch(failed, 1, __ATOMIC_ACQ_REL);
		c->following = F_NONE;
	}
}

static void
on_follow(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (!c->w->stopping && c->following == F_WAIT)
		follow_step(c, F_FETCH, &g_follow_failed);
}

/* --follow: the largest spread of the held answer's notifications (0
 * when none), read as the agent reads it; the device's moment is picked
 * in it. The last notification's id is acknowledged by the next
 * long-poll. */
static void
follow_plan(struct conn *c)
{
	struct timeval tv = {0, 0};
	size_t len = c->body ? evbuffer_get_length(c->body) : 0, i;
	json_t *doc = NULL, *n;
	json_int_t spread = 0;
	uint32_t r;

	if (len > 0)
		doc = json_loadb((const char *)evbuffer_pullup(c->body, -1),
		    len, 0, NULL);
	json_array_foreach(json_object_get(doc, "notifications"), i, n) {
		json_int_t sp = json_integer_value(json_object_get(n, "spread"));
		json_int_t id = json_integer_value(json_object_get(n, "id"));

		if (sp > spread)
			spread = sp;
		if (id > c->after)
			c->after = (long long)id;
	}
	json_decref(doc);
	if (c->body != NULL)
		evbuffer_drain(c->body, len);
	if (spread > NOTIFY_SPREAD_MAX)
		spread = NOTIFY_SPREAD_MAX;
	if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1)
		r = 0;
	if (spread > 0) {
		long long ms = (long long)(r % (uint32_t)(spread * 1000));

		tv.tv_sec = (time_t)(ms / 1000);
		tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	}
	if (c->follow_ev == NULL)
		c->follow_ev = evtimer_new(c->w->base, on_follow, c);
	if (c->follow_ev == NULL || evtimer_add(c->follow_ev, &tv) < 0) {
		__atomic_add_fetch(&g_follow_failed, 1, __ATOMIC_ACQ_REL);
		return;
	}
	c->following = F_WAIT;
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	for (;;) {
		struct timespec now;

		if (!c->in_body) {
			struct evbuffer_ptr p = evbuffer_search(in, "\r\n\r\n", 4,
			    NULL);
			char head[HEADER_MAX];

			if (p.pos < 0) {
				if (evbuffer_get_length(in) > HEADER_MAX)
					conn_fail(c, E_PARSE);
				return;
			}
			if ((size_t)p.pos + 4 > sizeof(head)) {
				conn_fail(c, E_PARSE);
				return;
			}
			evbuffer_remove(in, head, (size_t)p.pos + 4);
			if (parse_head(c, head, (size_t)p.pos + 4) < 0) {
				conn_fail(c, E_PARSE);
				return;
			}
			c->in_body = 1;
			c->chunk_crlf = c->chunk_last = 0;
		}
		if (c->chunked) {
			int done = read_chunks(c, in);

			if (done < 0) {
				conn_fail(c, E_PARSE);
				return;
			}
			if (done == 0)
				return;
		} else if (c->body_left > 0) {
			size_t have = evbuffer_get_length(in);
			size_t take = have < c->body_left ? have : c->body_left;

			if (body_sink(c) != NULL)
				evbuffer_remove_buffer(in, c->body, take);
			else
				evbuffer_drain(in, take);
			c->body_left -= take;
			c->w->bytes += (long long)take;
			if (c->body_left > 0)
				return;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		c->busy = 0;
		c->in_body = 0;
		if (c->status == 200)
			c->w->ok++;
		else if (c->status == 304)
			c->w->not_modified++;
		else if (c->status == 409 && c->kind == RK_INVENTORY) {
			c->w->not_modified++; /* the site asks for a full one */
		} else {
			c->w->errors[E_STATUS]++;
			c->etag[0] = '\0';
		}
		if (c->kind == RK_INVENTORY &&
		    (c->w->o->sc == SC_INVENTORY || c->w->o->sc == SC_MIXED)) {
			c->need_full = c->status != 200;
			if (c->status == 200)
				c->seq = c->sent_seq;
		}
		if (c->w->o->sc == SC_ENROLL) {
			/* Counted above as a 200; issued only once saved. */
			if (c->status == 200 && enroll_save(c) != 0) {
				c->w->ok--;
				c->w->errors[E_PARSE]++;
			}
			hist_add(&c->w->h, (uint64_t)ts_diff(&c->sent, &now));
			if (c->w->stopping || enroll_prepare(c) < 0) {
				/* Done: this connection has nothing more; the
				 * last one of the thread ends its loop. */
				bufferevent_free(c->bev);
				c->bev = NULL;
				if (--c->w->active == 0)
					event_base_loopexit(c->w->base, NULL);
				return;
			}
			conn_recycle(c);
			return;
		}
		if (c->w->o->sc == SC_IDLE && c->following == F_FETCH) {
			/* The follow-up fetch: done; next, the long-poll. */
			SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

			if (ssl != NULL && SSL_session_reused(ssl))
				__atomic_add_fetch(&g_follow_resumed, 1,
				    __ATOMIC_ACQ_REL);
			if (c->status == 200 || c->status == 304)
				__atomic_add_fetch(&g_followed, 1,
				    __ATOMIC_ACQ_REL);
			else {
				__atomic_add_fetch(&g_follow_failed, 1,
				    __ATOMIC_ACQ_REL);
				c->following = F_NONE;
				bufferevent_free(c->bev);
				c->bev = NULL;
				return;
			}
			follow_step(c, F_REHOLD, &g_rehold_failed);
			return;
		}
		if (c->w->o->sc == SC_IDLE && c->following == F_HELD) {
			/* Its next long-poll answered (the hold ended): not
			 * part of what is measured. */
			c->following = F_NONE;
			if (c->body != NULL)
				evbuffer_drain(c->body,
				    evbuffer_get_length(c->body));
			if (evbuffer_get_length(in) == 0)
				return;
			continue;
		}
		if (c->w->o->sc == SC_IDLE) {
			/* Answered (at once by a peer that does not hold, or
			 * by the trigger): stay open, idle, asking nothing;
			 * with --follow, fetch at its moment of the spread. */
			if (__atomic_load_n(&g_triggered, __ATOMIC_ACQUIRE))
				hist_add(&c->w->h,
				    (uint64_t)ts_diff(&g_trigger_at, &now));
			if (c->w->o->follow &&
			    __atomic_load_n(&g_triggered, __ATOMIC_ACQUIRE))
				follow_plan(c);
			__atomic_add_fetch(&g_answered, 1, __ATOMIC_ACQ_REL);
			if (evbuffer_get_length(in) == 0)
				return;
			continue;
		}
		hist_add(&c->w->h, (uint64_t)ts_diff(&c->sent, &now));
		if (c->w->stopping)
			return;
		if (c->w->o->sc == SC_HANDSHAKE || c->w->o->sc == SC_RESUME) {
			/* One request per connection: the next one starts
			 * with a new connection (and handshake). */
			conn_recycle(c);
			return;
		}
		send_request(c);
		if (evbuffer_get_length(in) == 0)
			return;
	}
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (what & BEV_EVENT_CONNECTED) {
		int one = 1;

		setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY,
		    &one, sizeof(one));
		send_request(c);
		if (c->w->o->sc == SC_IDLE && c->following == F_NONE) {
			/* The handshake is done and the request written (a
			 * held one stays unanswered): the next may open. */
			c->opened = 1;
			__atomic_add_fetch(&g_opened, 1, __ATOMIC_ACQ_REL);
			open_next(c->w);
		} else if (c->following == F_REHOLD) {
			/* --follow: this device is back, held again. */
			SSL *ssl = bufferevent_openssl_get_ssl(c->bev);

			if (ssl != NULL && SSL_session_reused(ssl))
				__atomic_add_fetch(&g_rehold_resumed, 1,
				    __ATOMIC_ACQ_REL);
			__atomic_add_fetch(&g_reheld, 1, __ATOMIC_ACQ_REL);
			c->following = F_HELD;
		}
		return;
	}
	if ((what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) && c->busy &&
	    evbuffer_get_length(bufferevent_get_input(bev)) > 0) {
		/* An answer may have come with the close: take it first. */
		on_read(bev, c);
		if (c->bev != bev)
			return;
	}
	if ((what & BEV_EVENT_EOF) && c->w->o->sc == SC_IDLE && c->opened &&
	    !c->busy && (c->following == F_NONE || c->following == F_WAIT)) {
		/* Closed after its answer (a parked long-poll is answered
		 * with Connection: close): done, not a failure; with
		 * --follow, the session kept to resume at its moment. */
		if (c->following == F_WAIT)
			follow_keep_session(c);
		bufferevent_free(c->bev);
		c->bev = NULL;
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		unsigned long e = bufferevent_get_openssl_error(c->bev);

		conn_fail(c, e ? E_TLS : E_CONNECT);
		return;
	}
	if (what & BEV_EVENT_EOF)
		conn_fail(c, E_CLOSED);
}

static void
conn_start(struct conn *c)
{
	SSL *ssl = SSL_new(c->ctx);
	int fd, one = 1;

	if (ssl == NULL) {
		c->w->errors[E_TLS]++;
		return;
	}
	if (c->w->o->verify_name != NULL)
		SSL_set1_host(ssl, c->w->o->verify_name);
	else
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
		    c->w->o->host);
	/* Past one source address's ports, the next 127.0.0.x. A new
	 * connection per request leaves a TIME_WAIT per request (thousands a
	 * second, for a minute): those scenarios turn over CHURN_SOURCES
	 * addresses, so that no port range fills up whichever server is
	 * measured. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0 && c->w->sa.sin_addr.s_addr == htonl(0x7f000001)) {
		struct sockaddr_in src;
		uint32_t host = 0x7f000001 + (uint32_t)(c->idx / SOURCE_SPAN);

		if (c->w->o->sc == SC_HANDSHAKE || c->w->o->sc == SC_RESUME)
			host = 0x7f000002 + (c->starts++ % CHURN_SOURCES);
		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr.s_addr = htonl(host);
		/* The port chosen at connect, by the whole address pair: a
		 * port chosen at bind must be free of every use, a search
		 * through the address's ports that took half of this
		 * process's CPU with thousands held. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
		    sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			close(fd);
			fd = -1;
		}
	}
	if (fd < 0) {
		SSL_free(ssl);
		c->w->errors[E_CONNECT]++;
		return;
	}
	c->bev = bufferevent_openssl_socket_new(c->w->base, fd, ssl,
	    BUFFEREVENT_SSL_CONNECTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		c->w->errors[E_CONNECT]++;
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	/* After the bufferevent set the connect state, which would drop a
	 * session set before it. */
	if (c->session != NULL)
		SSL_set_session(ssl, c->session);
	/* --follow reads the held answer's spread from its body. */
	if (c->w->o->follow && c->body == NULL)
		c->body = evbuffer_new();
	bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&c->w->sa,
		sizeof(c->w->sa)) < 0) {
		bufferevent_free(c->bev);
		c->bev = NULL;
		c->w->errors[E_CONNECT]++;
	}
}

static void
on_stop(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	w->stopping = 1;
	event_base_loopexit(w->base, NULL);
}

/* Enroll: the next enrollment's key, CSR and request, or -1 when the
 * count is reached. */
static long long g_enroll_next;

static int
enroll_prepare(struct conn *c)
{
	const struct opts *o = c->w->o;
	char *csr = NULL, host[64];
	struct discovery d;
	long long n = __atomic_fetch_add(&g_enroll_next, 1, __ATOMIC_ACQ_REL);

	free(c->req);
	c->req = NULL;
	EVP_PKEY_free(c->key);
	c->key = NULL;
	if (n >= o->count) {
		return -1;
	}
	c->serial = (int)n + 1;
	memset(&d, 0, sizeof(d));
	snprintf(host, sizeof(host), "load-%06d", c->serial);
	str_copy(d.hostname, sizeof(d.hostname), host);
	snprintf(d.hardware_id, sizeof(d.hardware_id), "loadgen-hw-%012d",
	    c->serial);
	str_copy(d.os, sizeof(d.os), "Debian GNU/Linux 12");
	str_copy(d.kernel, sizeof(d.kernel), "Linux");
	str_copy(d.agent_version, sizeof(d.agent_version), "loadgen");
	c->key = pki_key_new_ec();
	if (c->key == NULL || pki_csr_make(c->key, host, &csr) == NULL) {
		c->w->errors[E_TLS]++;
		return -1;
	}
	c->req = enroll_request_build(o->token, csr, &d);
	free(csr);
	if (c->body == NULL)
		c->body = evbuffer_new();
	evbuffer_drain(c->body, evbuffer_get_length(c->body));
	return c->req != NULL ? 0 : -1;
}

/* Enroll: writes OUT/eN/{key.pem,cert.pem} from an issued answer. */
static int
enroll_save(struct conn *c)
{
	const struct opts *o = c->w->o;
	size_t len = evbuffer_get_length(c->body);
	char dir[4096], path[4200], err[ERRMSG_MAX];
	const char *cert, *status;
	json_t *doc;
	int r = -1;

	doc = json_loadb((const char *)evbuffer_pullup(c->body, -1), len, 0,
	    NULL);
	cert = json_string_value(json_object_get(doc, "certificate"));
	status = json_string_value(json_object_get(doc, "status"));
	if (cert == NULL || status == NULL || strcmp(status, "issued") != 0)
		goto out;
	snprintf(dir, sizeof(dir), "%s/e%06d", o->out, c->serial);
	if (dir_make(dir, 0700, err) < 0)
		goto out;
	snprintf(path, sizeof(path), "%s/key.pem", dir);
	r = pki_key_write(path, c->key, err);
	snprintf(path, sizeof(path), "%s/cert.pem", dir);
	if (r == 0)
		r = file_write_atomic(path, cert, strlen(cert), 0600, err);
	if (r == 0) {
		char hw[64];

		/* Heartbeats must name the hardware it enrolled with. */
		snprintf(hw, sizeof(hw), "loadgen-hw-%012d\n", c->serial);
		snprintf(path, sizeof(path), "%s/hwid", dir);
		r = file_write_atomic(path, hw, strlen(hw), 0600, err);
	}
out:
	json_decref(doc);
	return r;
}

/* Idle: opens the next connection of this thread, if any is left. */
static void
open_next(struct worker *w)
{
	if (w->next_open < w->nconn && !g_stop)
		conn_start(&w->c[w->next_open++]);
}

/* Idle: the controller (main thread) ends the loops through this flag. */
static void
on_check_stop(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	if (__atomic_load_n(&g_stop, __ATOMIC_ACQUIRE)) {
		w->stopping = 1;
		event_base_loopbreak(w->base);
	}
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct timeval tv = {w->o->duration, 0}, tick = {0, 100000};
	int i;

	if (w->o->sc == SC_ENROLL) {
		for (i = 0; i < w->nconn; i++) {
			if (enroll_prepare(&w->c[i]) == 0) {
				w->active++;
				conn_start(&w->c[i]);
			}
		}
		if (w->active == 0)
			return NULL;
		w->stop_ev = evtimer_new(w->base, on_stop, w);
		evtimer_add(w->stop_ev, &tv);
	} else if (w->o->sc == SC_IDLE) {
		for (i = 0; i < OPEN_AHEAD; i++)
			open_next(w);
		w->stop_ev = event_new(w->base, -1, EV_PERSIST, on_check_stop,
		    w);
		event_add(w->stop_ev, &tick);
	} else {
		for (i = 0; i < w->nconn; i++)
			conn_start(&w->c[i]);
		w->stop_ev = evtimer_new(w->base, on_stop, w);
		evtimer_add(w->stop_ev, &tv);
	}
	event_base_dispatch(w->base);
	return NULL;
}

/* utime + stime of a process, in seconds; RSS in KiB. */
static int
proc_usage(long pid, double *cpu, long *rss_kb)
{
	/* Opened once and read again from the start each time: under load
	 * this process may hold every descriptor it may, and a new open of
	 * /proc would fail. */
	static struct {
		long pid;
		int stat, status;
	} open_[16];
	static int nopen;
	char path[64], buf[4096], *p, *q;
	unsigned long ut, st;
	ssize_t n;
	int i, k;

	for (k = 0; k < nopen && open_[k].pid != pid; k++)
		;
	if (k == nopen) {
		if (nopen == 16)
			return -1;
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		open_[k].stat = open(path, O_RDONLY | O_CLOEXEC);
		snprintf(path, sizeof(path), "/proc/%ld/status", pid);
		open_[k].status = open(path, O_RDONLY | O_CLOEXEC);
		if (open_[k].stat < 0)
			return -1;
		open_[k].pid = pid;
		nopen++;
	}
	n = pread(open_[k].stat, buf, sizeof(buf) - 1, 0);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (p == NULL)
		return -1;
	/* Fields after the name: state is 3; utime 14, stime 15. */
	for (i = 0, p += 2; i < 11 && p; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, " %lu %lu", &ut, &st) != 2)
		return -1;
	*cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	*rss_kb = 0;
	if (open_[k].status >= 0 &&
	    (n = pread(open_[k].status, buf, sizeof(buf) - 1, 0)) > 0) {
		buf[n] = '\0';
		if ((q = strstr(buf, "\nVmRSS:")) != NULL)
			*rss_kb = strtol(q + 7, NULL, 10);
	}
	return 0;
}

/* A whole decimal number in [lo, hi], or -1. */
static long
number(const char *v, long lo, long hi)
{
	int64_t n;

	return parse_int64(v, lo, hi, &n) == 0 ? (long)n : -1;
}

/* The sum over the server's processes. */
static int
procs_usage(const struct opts *o, double *cpu, long *rss_kb)
{
	double c;
	long r;
	int i;

	double sc = 0;
	long sr = 0;

	for (i = 0; i < o->npids; i++) {
		if (proc_usage(o->server_pid[i], &c, &r) < 0)
			return -1; /* no partial sums: the values are kept */
		sc += c;
		sr += r;
	}
	*cpu = sc;
	*rss_kb = sr;
	return 0;
}

static int
parse_pids(const char *v, struct opts *o)
{
	char buf[256], *tok, *save = NULL;

	if (strlen(v) >= sizeof(buf))
		return -1;
	memcpy(buf, v, strlen(v) + 1);
	for (tok = strtok_r(buf, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		long pid = number(tok, 1, 1L << 30);

		if (pid < 0 || o->npids >= 16)
			return -1;
		o->server_pid[o->npids++] = pid;
	}
	return o->npids > 0 ? 0 : -1;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static long long
load_ll(long long *v)
{
	return __atomic_load_n(v, __ATOMIC_ACQUIRE);
}

/* Connections the kernel dropped for a full listen queue so far, in this
 * network namespace (the server's too, on loopback), or -1. */
static long long
listen_overflows(void)
{
	FILE *f = fopen("/proc/net/netstat", "re");
	char *head = NULL, *vals = NULL, *hs, *vs, *h, *v;
	size_t hcap = 0, vcap = 0;
	long long n = -1;

	if (f == NULL)
		return -1;
	/* Lines of names, each followed by one of values: read whole (they
	 * grow with the kernel), so that the two stay in step. */
	while (getline(&head, &hcap, f) > 0 && getline(&vals, &vcap, f) > 0) {
		if (strncmp(head, "TcpExt:", 7) != 0)
			continue;
		h = strtok_r(head, " \n", &hs);
		v = strtok_r(vals, " \n", &vs);
		while (h != NULL && v != NULL) {
			if (strcmp(h, "ListenOverflows") == 0) {
				n = strtoll(v, NULL, 10);
				break;
			}
			h = strtok_r(NULL, " \n", &hs);
			v = strtok_r(NULL, " \n", &vs);
		}
		break;
	}
	free(head);
	free(vals);
	fclose(f);
	return n;
}

/* This process's user and system CPU so far, in seconds. */
static double
self_cpu(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) < 0)
		return 0;
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* The idle scenario's controller: opens every connection (paced), lets
 * them settle, measures the server's RSS per connection, then runs the
 * trigger and times until every held request has been answered. */
static int
idle_control(struct opts *o, struct worker *ws, double cpu0, long rss0)
{
	struct timespec t, now;
	struct hist total;
	double cpu1 = 0, cpu2 = 0, all_ms = -1;
	double self0 = 0, self1 = 0, self2 = 0, peak = 0, cpu3 = 0;
	double follow_ms = -1, trigger_ms = -1;
	long long lo0 = -1, lo1 = -1;
	long rss1 = 0, rss2 = 0;
	long long opened, answered0 = 0, answered, errs, kinds[E_KINDS];
	int i, rc;

	(void)cpu0;
	clock_gettime(CLOCK_MONOTONIC, &t);
	for (;;) {
		opened = load_ll(&g_opened);
		if (opened + load_ll(&g_failed) >= o->conns)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (ts_diff(&t, &now) > 900e6)
			break;
		sleep_ms(100);
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	fprintf(stderr, "steward-loadgen: %lld connections open (%lld failed) "
			"in %.1f s\n",
	    opened, load_ll(&g_failed), ts_diff(&t, &now) / 1e6);
	sleep_ms(1000 * (o->hold ? o->hold : 3));
	if (o->npids > 0)
		procs_usage(o, &cpu1, &rss1);
	if (o->trigger != NULL) {
		answered0 = load_ll(&g_answered);
		self0 = self_cpu();
		lo0 = listen_overflows();
		clock_gettime(CLOCK_MONOTONIC, &g_trigger_at);
		__atomic_store_n(&g_triggered, 1, __ATOMIC_RELEASE);
		rc = system(o->trigger);
		clock_gettime(CLOCK_MONOTONIC, &now);
		trigger_ms = ts_diff(&g_trigger_at, &now) / 1e3;
		if (rc != 0)
			fprintf(stderr, "steward-loadgen: the trigger exited "
					"%d\n",
			    rc);
		for (;;) {
			answered = load_ll(&g_answered) - answered0;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (answered >= opened) {
				all_ms = ts_diff(&g_trigger_at, &now) / 1e3;
				break;
			}
			if (ts_diff(&g_trigger_at, &now) > 60e6)
				break;
			sleep_ms(5);
		}
	}
	answered = load_ll(&g_answered) - answered0;
	/* The server's CPU from the trigger to the last answer: what the
	 * answers cost it, whatever the clients sharing its cores cost. */
	if (o->trigger != NULL && o->npids > 0)
		procs_usage(o, &cpu2, &rss2);
	/* And this process's over the same span: reading the answers is the
	 * devices' work, which shares the server's cores only here. */
	if (o->trigger != NULL)
		self1 = self_cpu();
	/* --follow: every answered device comes back at its moment of the
	 * spread, fetching its policy and holding its next long-poll; the
	 * server's CPU sampled each second for its peak. */
	if (o->trigger != NULL && o->follow && all_ms >= 0) {
		double c0 = cpu2, c1;
		long r1;

		for (;;) {
			sleep_ms(1000);
			if (o->npids > 0 && procs_usage(o, &c1, &r1) == 0) {
				if (c1 - c0 > peak)
					peak = c1 - c0;
				c0 = c1;
			}
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (load_ll(&g_followed) + load_ll(&g_follow_failed) >=
				answered &&
			    load_ll(&g_reheld) + load_ll(&g_rehold_failed) >=
				load_ll(&g_followed)) {
				follow_ms = ts_diff(&g_trigger_at, &now) / 1e3;
				break;
			}
			if (ts_diff(&g_trigger_at, &now) >
			    (NOTIFY_SPREAD_MAX + 60) * 1e6)
				break;
		}
		if (o->npids > 0)
			procs_usage(o, &cpu3, &rss2);
		self2 = self_cpu();
		lo1 = listen_overflows();
	}
	__atomic_store_n(&g_stop, 1, __ATOMIC_RELEASE);
	for (i = 0; i < o->threads; i++)
		pthread_join(ws[i].thread, NULL);
	hist_init(&total);
	for (i = 0; i < o->threads; i++)
		hist_merge(&total, &ws[i].h);
	errs = errors_sum(ws, o->threads, kinds);
	printf("{\"scenario\": \"idle\", \"path\": \"%s\", \"connections\": "
	       "%d, \"identities\": %d, \"opened\": %lld, \"errors\": %lld, "
	       "\"server_rss_before_kb\": %ld, \"server_rss_kb\": %ld, "
	       "\"rss_per_connection_bytes\": %.0f",
	    o->path, o->conns, nctx, opened, errs, rss0, rss1,
	    opened > 0 ? (double)(rss1 - rss0) * 1024.0 / (double)opened : 0.0);
	printf(", \"error_kinds\": ");
	print_error_kinds(kinds);
	if (o->trigger != NULL)
		printf(", \"answered_after_trigger\": %lld, \"all_answered_ms\": "
		       "%.1f, \"answer_p50_ms\": %.1f, \"answer_p99_ms\": %.1f",
		    answered, all_ms, hist_pct(&total, 50) / 1e3,
		    hist_pct(&total, 99) / 1e3);
	/* When the first answer came: what the request that asks took
	 * before the answering began; and when the command that asked
	 * returned (its own start, and the site's answer to it). */
	if (o->trigger != NULL)
		printf(", \"first_answer_ms\": %.1f, \"trigger_ms\": %.1f, "
		       "\"loadgen_cpu_answering_ms\": %.1f",
		    hist_pct(&total, 1e-9) / 1e3, trigger_ms,
		    (self1 - self0) * 1e3);
	if (o->trigger != NULL && o->follow)
		printf(", \"followed\": %lld, \"follow_failed\": %lld, "
		       "\"follow_resumed\": %lld, \"all_followed_ms\": %.0f, "
		       "\"follow_server_cpu_ms\": %.0f, "
		       "\"follow_peak_server_cpu_pct\": %.0f, \"reheld\": %lld, "
		       "\"rehold_failed\": %lld, \"rehold_resumed\": %lld, "
		       "\"loadgen_cpu_follow_ms\": %.0f, "
		       "\"listen_overflows\": %lld",
		    load_ll(&g_followed), load_ll(&g_follow_failed),
		    load_ll(&g_follow_resumed), follow_ms,
		    (cpu3 - cpu2) * 1e3, peak * 100, load_ll(&g_reheld),
		    load_ll(&g_rehold_failed), load_ll(&g_rehold_resumed),
		    (self2 - self1) * 1e3,
		    lo0 >= 0 && lo1 >= 0 ? lo1 - lo0 : -1);
	if (o->trigger != NULL && o->npids > 0 && answered > 0)
		printf(", \"server_cpu_answering_ms\": %.1f, "
		       "\"server_cpu_us_per_answer\": %.1f",
		    (cpu2 - cpu1) * 1e3, (cpu2 - cpu1) * 1e6 / (double)answered);
	printf("}\n");
	fflush(stdout);
	/* Hundreds of thousands of connections: the process exit frees them
	 * faster than closing each. */
	_exit(opened > 0 && (o->trigger == NULL || all_ms >= 0) &&
		(!o->follow || follow_ms >= 0)
	    ? 0
	    : 1);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: steward-loadgen "
	    "policy|get|handshake|resume|idle|inventory|status|mixed\n"
	    "           --url https://IP:PORT --ca FILE\n"
	    "           (--ids DIR | --cert FILE --key FILE) [--path PATH]\n"
	    "           [--connections N] [--threads N] [--duration SECONDS]\n"
	    "           [--server-pid PID[,PID...]] [--verify-name DNSNAME] "
	    "[--json]\n"
	    "       idle: [--trigger COMMAND [--follow]] [--hold SECONDS] "
	    "(connections held open)\n"
	    "       enroll --token T --out DIR --count N (new identities, "
	    "no --ids)\n");
}

/* A one-line complaint about the command line; the exit status of one. */
static int
bad_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("steward-loadgen: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (--help for usage)\n", stderr);
	return 2;
}

static const struct {
	const char *name;
	enum scenario sc;
} scenarios[] = {
	{ "policy", SC_POLICY },
	{ "get", SC_GET },
	{ "handshake", SC_HANDSHAKE },
	{ "resume", SC_RESUME },
	{ "idle", SC_IDLE },
	{ "notify-idle", SC_IDLE },
	{ "enroll", SC_ENROLL },
	{ "inventory", SC_INVENTORY },
	{ "status", SC_STATUS },
	{ "mixed", SC_MIXED },
};

/* The options that take a word, and where it goes. */
static const struct {
	const char *name;
	size_t off;
} word_opts[] = {
	{ "--ca", offsetof(struct opts, ca) },
	{ "--ids", offsetof(struct opts, ids) },
	{ "--cert", offsetof(struct opts, cert) },
	{ "--key", offsetof(struct opts, key) },
	{ "--path", offsetof(struct opts, path) },
	{ "--trigger", offsetof(struct opts, trigger) },
	{ "--token", offsetof(struct opts, token) },
	{ "--verify-name", offsetof(struct opts, verify_name) },
	{ "--out", offsetof(struct opts, out) },
};

/* The options that take a whole number, and its range. */
static const struct {
	const char *name;
	size_t off;
	long lo, hi;
} number_opts[] = {
	{ "--connections", offsetof(struct opts, conns), 1, 1000000 },
	{ "--threads", offsetof(struct opts, threads), 1, 64 },
	{ "--duration", offsetof(struct opts, duration), 1, 3600 },
	{ "--count", offsetof(struct opts, count), 1, 10000000 },
	{ "--hold", offsetof(struct opts, hold), 0, 3600 },
};

static int
parse_url(const char *url, struct opts *o)
{
	const char *h, *colon;
	size_t n;

	if (strncmp(url, "https://", 8) != 0)
		return -1;
	h = url + 8;
	colon = strchr(h, ':');
	if (colon == NULL || (n = (size_t)(colon - h)) >= sizeof(o->host))
		return -1;
	memcpy(o->host, h, n);
	o->host[n] = '\0';
	o->port = (int)number(colon + 1, 1, 65535);
	return o->port > 0 ? 0 : -1;
}

/* A --path goes on the request line and into the JSON report as it is:
 * visible ASCII, without quotes or backslashes. */
static int
path_ok(const char *path)
{
	const unsigned char *p = (const unsigned char *)path;

	if (*p != '/')
		return 0;
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == '"' || *p == '\\')
			return 0;
	return 1;
}

/* The command line into o: -1 to go on, or the exit status (0 after
 * --help, 2 after a one-line complaint). */
static int
parse_args(int argc, char **argv, struct opts *o)
{
	size_t k;
	long n;
	int i;

	if (argc < 2)
		return bad_usage("name a scenario");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	o->scenario = argv[1];
	for (k = 0; k < sizeof(scenarios) / sizeof(scenarios[0]); k++)
		if (strcmp(o->scenario, scenarios[k].name) == 0)
			break;
	if (k == sizeof(scenarios) / sizeof(scenarios[0]))
		return bad_usage("unknown scenario '%s'", o->scenario);
	o->sc = scenarios[k].sc;
	o->path = "/v1/policy";
	o->conns = 16;
	o->threads = 2;
	o->duration = 10;
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--json") == 0) {
			o->json = 1;
			continue;
		}
		if (strcmp(a, "--follow") == 0) {
			o->follow = 1;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		for (k = 0; k < sizeof(word_opts) / sizeof(word_opts[0]); k++)
			if (strcmp(a, word_opts[k].name) == 0)
				break;
		if (k < sizeof(word_opts) / sizeof(word_opts[0])) {
			if (v == NULL)
				return bad_usage("%s needs a value", a);
			*(const char **)((char *)o + word_opts[k].off) = v;
			i++;
			continue;
		}
		for (k = 0; k < sizeof(number_opts) / sizeof(number_opts[0]);
		    k++)
			if (strcmp(a, number_opts[k].name) == 0)
				break;
		if (k < sizeof(number_opts) / sizeof(number_opts[0])) {
			if (v == NULL ||
			    (n = number(v, number_opts[k].lo,
				number_opts[k].hi)) < 0)
				return bad_usage("%s takes a whole number from "
						 "%ld to %ld",
				    a, number_opts[k].lo, number_opts[k].hi);
			*(int *)((char *)o + number_opts[k].off) = (int)n;
			i++;
			continue;
		}
		if (strcmp(a, "--url") == 0) {
			if (v == NULL || parse_url(v, o) < 0)
				return bad_usage("--url takes https://IPV4:PORT");
			i++;
		} else if (strcmp(a, "--server-pid") == 0) {
			if (v == NULL || parse_pids(v, o) < 0)
				return bad_usage("--server-pid takes PID[,PID...] "
						 "(up to 16)");
			i++;
		} else
			return bad_usage("unknown option '%s'", a);
	}
	if (o->sc == SC_ENROLL &&
	    (o->token == NULL || o->out == NULL || o->count < 1))
		return bad_usage("enroll needs --token, --out and --count");
	if (o->sc == SC_ENROLL) {
		/* The agent's check: a mistyped token fails here, not in
		 * every enrollment. */
		struct token t;
		char err[ERRMSG_MAX];

		if (token_parse(o->token, strlen(o->token), &t, err) < 0)
			return bad_usage("--token: %s", err);
	}
	if (o->follow && (o->sc != SC_IDLE || o->trigger == NULL))
		return bad_usage("--follow needs the idle scenario and "
				 "--trigger");
	if (!path_ok(o->path))
		return bad_usage("--path takes /PATH, visible ASCII without "
				 "quotes or backslashes");
	if (o->host[0] == '\0')
		return bad_usage("--url is required");
	if (o->ca == NULL)
		return bad_usage("--ca is required");
	if (o->sc != SC_ENROLL && o->ids == NULL &&
	    (o->cert == NULL || o->key == NULL))
		return bad_usage("give --ids DIR, or --cert FILE and --key FILE");
	return -1;
}

int
main(int argc, char **argv)
{
	struct opts o = {0};
	struct worker *ws;
	struct hist total;
	double cpu0 = 0, cpu1 = 0, secs;
	long rss = 0;
	long long ok = 0, nm = 0, errs[E_KINDS], bytes = 0, all;
	long long resumed = 0;
	struct timespec t0, t1;
	int i, k, have_cpu = 0;

	if ((i = parse_args(argc, argv, &o)) >= 0)
		return i;
	o.etag = o.sc == SC_POLICY;
	if (o.sc == SC_ENROLL) {
		char err[ERRMSG_MAX];

		o.path = "/v1/enroll";
		if (dir_make(o.out, 0700, err) < 0) {
			fprintf(stderr, "steward-loadgen: %s\n", err);
			return 1;
		}
	}
	if (o.sc == SC_IDLE && strcmp(o.path, "/v1/policy") == 0)
		o.path = "/v1/notify?wait=3600";
	signal(SIGPIPE, SIG_IGN);
	if (load_identities(&o) < 0)
		return 1;
	ws = calloc((size_t)o.threads, sizeof(*ws));
	for (i = 0; i < o.threads; i++) {
		struct worker *w = &ws[i];

		w->o = &o;
		w->base = event_base_new();
		w->sa.sin_family = AF_INET;
		w->sa.sin_port = htons((uint16_t)o.port);
		inet_pton(AF_INET, o.host, &w->sa.sin_addr);
		w->nconn = o.conns / o.threads + (i < o.conns % o.threads);
		w->c = calloc((size_t)w->nconn + 1, sizeof(*w->c));
		hist_init(&w->h);
		for (k = 0; k < w->nconn; k++) {
			w->c[k].w = w;
			/* Identities round-robin over all connections. */
			w->c[k].idx = k * o.threads + i;
			w->c[k].ctx = ctxs[w->c[k].idx % nctx];
			w->c[k].hwid = hwids[w->c[k].idx % nctx];
			/* Numbers no earlier run used. */
			w->c[k].uid = (int64_t)time(NULL) * 1000000 +
			    (int64_t)w->c[k].idx * 1000;
		}
	}
	if (o.npids > 0)
		have_cpu = procs_usage(&o, &cpu0, &rss) == 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < o.threads; i++)
		pthread_create(&ws[i].thread, NULL, worker_main, &ws[i]);
	if (o.sc == SC_IDLE)
		return idle_control(&o, ws, cpu0, rss);
	for (i = 0; i < o.threads; i++)
		pthread_join(ws[i].thread, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (have_cpu)
		have_cpu = procs_usage(&o, &cpu1, &rss) == 0;
	secs = ts_diff(&t0, &t1) / 1e6;
	hist_init(&total);
	for (i = 0; i < o.threads; i++) {
		hist_merge(&total, &ws[i].h);
		ok += ws[i].ok;
		nm += ws[i].not_modified;
		resumed += ws[i].resumed;
		bytes += ws[i].bytes;
	}
	errors_sum(ws, o.threads, errs);
	all = ok + nm;
	if (o.json) {
		printf("{\"scenario\": \"%s\", \"path\": \"%s\", "
		       "\"connections\": %d, \"identities\": %d, "
		       "\"seconds\": %.2f, \"requests\": %lld, \"ok_200\": %lld, "
		       "\"not_modified_304\": %lld, \"resumed\": %lld, "
		       "\"rps\": %.0f, "
		       "\"body_bytes\": %lld, \"p50_us\": %llu, \"p90_us\": %llu, "
		       "\"p99_us\": %llu, \"p999_us\": %llu, \"errors\": ",
		    o.scenario, o.path, o.conns, nctx, secs, all, ok, nm,
		    resumed, (double)all / secs, bytes,
		    (unsigned long long)hist_pct(&total, 50),
		    (unsigned long long)hist_pct(&total, 90),
		    (unsigned long long)hist_pct(&total, 99),
		    (unsigned long long)hist_pct(&total, 99.9));
		print_error_kinds(errs);
		if (have_cpu)
			printf(", \"server_cpu_s\": %.2f, "
			       "\"server_cpu_us_per_request\": %.1f, "
			       "\"server_rss_kb\": %ld",
			    cpu1 - cpu0,
			    all ? (cpu1 - cpu0) * 1e6 / (double)all : 0.0, rss);
		printf("}\n");
	} else {
		printf("%s %s: %lld requests in %.1f s over %d connections (%d "
		       "identities): %.0f/s\n",
		    o.scenario, o.path, all, secs, o.conns, nctx,
		    (double)all / secs);
		printf("  200: %lld, 304: %lld, resumed handshakes: %lld; latency "
		       "p50 %llu us, p90 %llu, p99 %llu, p99.9 %llu\n",
		    ok, nm, resumed, (unsigned long long)hist_pct(&total, 50),
		    (unsigned long long)hist_pct(&total, 90),
		    (unsigned long long)hist_pct(&total, 99),
		    (unsigned long long)hist_pct(&total, 99.9));
		printf("  errors:");
		for (k = 0; k < E_KINDS; k++)
			printf(" %s %lld", err_names[k], errs[k]);
		printf("\n");
		if (have_cpu)
			printf("  server: %.2f s CPU (%.1f us per request), RSS "
			       "%ld KiB\n",
			    cpu1 - cpu0,
			    all ? (cpu1 - cpu0) * 1e6 / (double)all : 0.0, rss);
	}
	for (i = 0; i < o.threads; i++) {
		for (k = 0; k < ws[i].nconn; k++) {
			if (ws[i].c[k].bev != NULL)
				bufferevent_free(ws[i].c[k].bev);
			SSL_SESSION_free(ws[i].c[k].session);
			free(ws[i].c[k].req);
			EVP_PKEY_free(ws[i].c[k].key);
			if (ws[i].c[k].body != NULL)
				evbuffer_free(ws[i].c[k].body);
		}
		free(ws[i].c);
		if (ws[i].stop_ev != NULL)
			event_free(ws[i].stop_ev);
		event_base_free(ws[i].base);
	}
	free(ws);
	for (i = 0; i < nctx; i++) {
		SSL_CTX_free(ctxs[i]);
		if (hwids != NULL)
			free(hwids[i]);
	}
	free(ctxs);
	free(hwids);
	return all > 0 ? 0 : 1;
}
