/* notify.c - GET /v1/notify and the registry of client connections each
 * worker serves: long-polls are held here and answered when the site has
 * something for the client; a blocked client's connections are closed here,
 * on every worker, when a poke arrives. */
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/log.h"
#include "common/util.h"
#include "server.h"

#define BUCKETS_MIN 1024

/* One client connection of this worker. About 100 bytes; the rest of an
 * idle connection's cost is the TLS session and libevent's buffers. */
struct conn {
	struct worker *w;
	struct evhttp_connection *evcon;
	struct evhttp_request *waiting; /* a held GET /v1/notify */
	int64_t deadline;               /* monotonic seconds */
	int64_t after;                  /* ids the agent already has */
	int tarpit;                     /* waiting is a refused request */
	struct conn *hnext;
	char client_id[33];
};

static int64_t
mono_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

static size_t
bucket_of(const struct worker *w, const char *id)
{
	/* Client ids are random hex: their first 15 digits hash well. */
	size_t h = 0;
	int i;

	for (i = 0; i < 15 && id[i]; i++)
		h = h * 16 + (size_t)(id[i] <= '9' ? id[i] - '0'
						   : id[i] - 'a' + 10);
	return h % w->nbuckets;
}

static void
conn_unlink(struct conn *c)
{
	struct conn **pp = &c->w->conns[bucket_of(c->w, c->client_id)];

	while (*pp != NULL && *pp != c)
		pp = &(*pp)->hnext;
	if (*pp == c)
		*pp = c->hnext;
	c->w->nconns--;
}

/* libevent calls this when the connection goes away, whoever closed it; a
 * held request dies with it and must be forgotten first. */
static void
on_conn_close(struct evhttp_connection *evcon, void *arg)
{
	struct conn *c = arg;

	evhttp_connection_set_closecb(evcon, NULL, NULL);
	c->waiting = NULL;
	conn_unlink(c);
	free(c);
}

void
conn_register(struct request *r)
{
	struct peer *p = (struct peer *)r->peer;
	struct worker *w = r->w;
	struct conn *c;
	size_t b;

	if (p->conn != NULL || p->kind != PEER_CLIENT)
		return;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return;
	c->w = w;
	c->evcon = evhttp_request_get_connection(r->req);
	str_copy(c->client_id, sizeof(c->client_id), p->id);
	b = bucket_of(w, c->client_id);
	c->hnext = w->conns[b];
	w->conns[b] = c;
	w->nconns++;
	p->conn = c;
	evhttp_connection_set_closecb(c->evcon, on_conn_close, c);
}

static void
answer(struct conn *c, struct evhttp_request *req, json_t *list, int close)
{
	struct evbuffer *buf = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	json_t *o = json_pack("{s:o}", "notifications",
	    list ? list : json_array());
	char *text = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (close)
		evhttp_add_header(h, "Connection", "close");
	if (text)
		evbuffer_add(buf, text, strlen(text));
	evbuffer_add(buf, "\n", 1);
	free(text);
	if (c != NULL)
		c->waiting = NULL;
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
}

void
h_notify(struct request *r)
{
	struct peer *p = (struct peer *)r->peer;
	struct conn *c = p->conn;
	char v[24];
	int64_t after = 0, wait = r->srv->cfg.notify_hold;
	json_t *list;

	if (query_get(r, "after", v, sizeof(v)) == 0 &&
	    parse_int64(v, 0, INT64_MAX, &after) < 0) {
		reply_error(r, 400, "after must be a notification id");
		return;
	}
	if (query_get(r, "wait", v, sizeof(v)) == 0) {
		if (parse_int64(v, 0, 86400, &wait) < 0) {
			reply_error(r, 400, "wait must be 0 to 86400 seconds");
			return;
		}
		if (wait > r->srv->cfg.notify_hold)
			wait = r->srv->cfg.notify_hold;
	}
	list = db_notify_take(r->db, p->id, after, now_unix());
	if (list == NULL) {
		reply_error(r, 500, "cannot read notifications");
		return;
	}
	if (json_array_size(list) > 0 || wait == 0 || c == NULL ||
	    c->waiting != NULL) {
		answer(NULL, r->req, list, 0);
		return;
	}
	json_decref(list);
	c->waiting = r->req;
	c->after = after;
	c->deadline = mono_secs() + wait;
}

/* Answers the held long-polls of one client (and, for CLOSE, ends every
 * connection of it). Matches are collected first: closing a connection
 * unlinks it from the chain being walked. */
/* The connections of a client on this worker (only those holding a
 * long-poll that is not a tarpit, with held_only), collected first:
 * answering or closing one unlinks it from the chain. Free the array. */
static struct conn **
client_conns(struct worker *w, const char *id, int held_only, size_t *n)
{
	struct conn *c, **hits = NULL;
	size_t cap = 0;

	*n = 0;
	for (c = w->conns[bucket_of(w, id)]; c; c = c->hnext) {
		if (strcmp(c->client_id, id) != 0 ||
		    (held_only && (c->waiting == NULL || c->tarpit)))
			continue;
		if (*n == cap) {
			struct conn **nh;

			cap = cap ? cap * 2 : 8;
			nh = realloc(hits, cap * sizeof(*hits));
			if (nh == NULL)
				break;
			hits = nh;
		}
		hits[(*n)++] = c;
	}
	return hits;
}

static void
poke_client(struct worker *w, const struct poke *pk)
{
	struct conn *c, **hits;
	size_t n, i;

	hits = client_conns(w, pk->client_id, 0, &n);
	for (i = 0; i < n; i++) {
		c = hits[i];
		if (c->waiting != NULL && c->tarpit) {
			if (pk->kind == POKE_CLOSE)
				evhttp_connection_free(c->evcon);
		} else if (c->waiting != NULL) {
			json_t *list = db_notify_take(w->db, c->client_id,
			    c->after, now_unix());

			if (json_array_size(list) > 0 || pk->kind == POKE_CLOSE)
				answer(c, c->waiting, list,
				    pk->kind == POKE_CLOSE);
			else
				json_decref(list);
		} else if (pk->kind == POKE_CLOSE) {
			evhttp_connection_free(c->evcon);
		}
	}
	if (pk->kind == POKE_CLOSE && n > 0)
		log_info("closed %zu connection(s) of blocked client %s", n,
		    pk->client_id);
	free(hits);
}

#define NOTIFY_BATCH 400 /* clients per read of pending notifications */

/* Answers the held long-polls of a batch of poked clients from one read of
 * their pending notifications (a "fetch policy now" to a whole collection
 * pokes every member at once). */
static void
answer_batch(struct worker *w, const char **ids, size_t n)
{
	json_t *pending = db_notify_pending(w->db, ids, n);
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *all = json_object_get(pending, ids[i]);
		struct conn *c, **hits;
		size_t nh, k;

		if (json_array_size(all) == 0)
			continue;
		hits = client_conns(w, ids[i], 1, &nh);
		for (k = 0; k < nh; k++) {
			json_t *list = json_array(), *it;
			size_t j;

			c = hits[k];
			json_array_foreach(all, j, it)
			{
				if (json_integer_value(json_object_get(it,
					"id")) > c->after)
					json_array_append(list, it);
			}
			if (json_array_size(list) > 0)
				answer(c, c->waiting, list, 0);
			else
				json_decref(list);
		}
		free(hits);
	}
	json_decref(pending);
}

/* 1 when this worker holds a long-poll of the client. */
static int
has_waiting(struct worker *w, const char *id)
{
	struct conn *c;

	for (c = w->conns[bucket_of(w, id)]; c; c = c->hnext)
		if (c->waiting != NULL && !c->tarpit &&
		    strcmp(c->client_id, id) == 0)
			return 1;
	return 0;
}

static void
on_poke(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct poke *list;
	const char *batch[NOTIFY_BATCH];
	size_t n, i, nb = 0;

	pthread_mutex_lock(&w->poke_lock);
	list = w->pokes;
	n = w->npokes;
	w->pokes = NULL;
	w->npokes = w->poke_cap = 0;
	pthread_mutex_unlock(&w->poke_lock);
	for (i = 0; i < n; i++) {
		if (list[i].kind != POKE_NOTIFY) {
			poke_client(w, &list[i]);
			continue;
		}
		/* Only clients with a long-poll held here need a read. */
		if (!has_waiting(w, list[i].client_id))
			continue;
		batch[nb++] = list[i].client_id;
		if (nb == NOTIFY_BATCH) {
			answer_batch(w, batch, nb);
			nb = 0;
		}
	}
	if (nb > 0)
		answer_batch(w, batch, nb);
	free(list);
}

void
server_poke(struct server *srv, enum poke_kind kind, const char *client_id)
{
	int i;

	for (i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];
		int ok = 1;

		pthread_mutex_lock(&w->poke_lock);
		if (w->npokes == w->poke_cap) {
			size_t cap = w->poke_cap ? w->poke_cap * 2 : 16;
			struct poke *np = realloc(w->pokes, cap * sizeof(*np));

			if (np == NULL)
				ok = 0;
			else {
				w->pokes = np;
				w->poke_cap = cap;
			}
		}
		if (ok) {
			w->pokes[w->npokes].kind = kind;
			str_copy(w->pokes[w->npokes].client_id,
			    sizeof(w->pokes[0].client_id), client_id);
			w->npokes++;
		}
		pthread_mutex_unlock(&w->poke_lock);
		/* Thread-safe: bases are created with locking enabled. */
		event_active(w->poke_ev, EV_READ, 0);
	}
}

int
notify_client(struct server *srv, struct db *db, const char *client_id,
    const char *kind, char *err)
{
	return db_notify_add(db, client_id, kind, now_unix(), err);
}

/* Answers a held, rate-limited request: 429 with Retry-After. */
static void
answer_tarpit(struct conn *c)
{
	struct evhttp_request *req = c->waiting;
	struct evbuffer *buf = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	static const char body[] =
	    "{\"error\":\"too many requests from this client; slow down\"}\n";

	c->waiting = NULL;
	c->tarpit = 0;
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Retry-After", "1");
	evbuffer_add(buf, body, sizeof(body) - 1);
	evhttp_send_reply(req, 429, "Too Many Requests", buf);
	evbuffer_free(buf);
}

int
conn_tarpit(struct request *r)
{
	struct conn *c = r->peer->conn;

	if (c == NULL || c->waiting != NULL)
		return -1;
	/* Answered by the sweep within one to two seconds: a flooding
	 * connection gets about one request a second, whatever it sends,
	 * and costs a timer check meanwhile. */
	c->waiting = r->req;
	c->tarpit = 1;
	c->deadline = mono_secs() + 1;
	return 0;
}

/* Once a second: answer long-polls whose hold time is over with an empty
 * list, and refused requests held in the tarpit. O(connections) per
 * second. */
static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	int64_t now = mono_secs();
	size_t b;

	for (b = 0; b < w->nbuckets; b++) {
		struct conn *c;

		for (c = w->conns[b]; c; c = c->hnext) {
			if (c->waiting == NULL || c->deadline > now)
				continue;
			if (c->tarpit)
				answer_tarpit(c);
			else
				answer(c, c->waiting, NULL, 0);
		}
	}
}

int
worker_notify_init(struct worker *w)
{
	struct timeval one = {1, 0};

	w->nbuckets = BUCKETS_MIN * 16;
	w->conns = calloc(w->nbuckets, sizeof(*w->conns));
	pthread_mutex_init(&w->poke_lock, NULL);
	w->poke_ev = event_new(w->base, -1, EV_PERSIST, on_poke, w);
	w->sweep_ev = event_new(w->base, -1, EV_PERSIST, on_sweep, w);
	if (w->conns == NULL || w->poke_ev == NULL || w->sweep_ev == NULL)
		return -1;
	event_add(w->poke_ev, NULL);
	return event_add(w->sweep_ev, &one);
}

void
worker_notify_free(struct worker *w)
{
	size_t b;

	/* Connections still open are freed with the evhttp; forget them. */
	for (b = 0; w->conns && b < w->nbuckets; b++) {
		struct conn *c = w->conns[b], *next;

		for (; c; c = next) {
			next = c->hnext;
			evhttp_connection_set_closecb(c->evcon, NULL, NULL);
			free(c);
		}
	}
	free(w->conns);
	w->conns = NULL;
	if (w->poke_ev)
		event_free(w->poke_ev);
	if (w->sweep_ev)
		event_free(w->sweep_ev);
	free(w->pokes);
	pthread_mutex_destroy(&w->poke_lock);
}
