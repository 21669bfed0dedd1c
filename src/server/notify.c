/* notify.c - GET /v1/notify and the registry of client connections each
 * worker serves: long-polls are held here and answered when the site has
 * something for the client; a blocked client's connections are closed here,
 * on every worker, when a poke arrives. */
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "common/log.h"
#include "common/util.h"
#include "park.h"
#include "server.h"

#define BUCKETS_MIN 1024
#define PARK_TRIM_AFTER 256 /* parked since the last trim */

/* One client connection of this worker. About 100 bytes; the rest of an
 * idle connection's cost is the TLS session and libevent's buffers, or,
 * once its long-poll is parked (park.c), its keys and one event. */
struct conn {
	struct worker *w;
	struct evhttp_connection *evcon; /* NULL once parked */
	struct evhttp_request *waiting; /* a held GET /v1/notify */
	struct park *park;              /* a parked GET /v1/notify */
	struct event *pev;              /* its watch: the client's close */
	int64_t deadline;               /* monotonic seconds */
	int64_t after;                  /* ids the agent already has */
	int tarpit;                     /* waiting is a refused request */
	int answered;                   /* parked, its answer being written */
	struct conn *hnext;
	char client_id[33];
};

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

/* The body of an answer, {"notifications":[...]} and a newline, holding
 * the notices of one client that come after id after; NULL when out of
 * memory. The one writer of that text. */
static char *
notices_body(const struct db_notice *v, size_t n, int64_t after, size_t *len)
{
	static const char head[] = "{\"notifications\":[", tail[] = "]}\n";
	size_t i, at, cap = sizeof(head) + sizeof(tail);
	char *body;
	int any = 0;

	for (i = 0; i < n; i++)
		if (v[i].id > after)
			cap += 120 + STR_JSON_MAX(strlen(v[i].kind));
	if ((body = malloc(cap)) == NULL)
		return NULL;
	memcpy(body, head, sizeof(head) - 1);
	at = sizeof(head) - 1;
	for (i = 0; i < n; i++) {
		if (v[i].id <= after)
			continue;
		at += (size_t)snprintf(body + at, cap - at, "%s{\"id\":%lld,"
		    "\"kind\":", any++ ? "," : "", (long long)v[i].id);
		at += str_json(body + at, v[i].kind);
		at += (size_t)snprintf(body + at, cap - at,
		    ",\"created_at\":%lld,\"spread\":%lld}",
		    (long long)v[i].created_at, (long long)v[i].spread);
	}
	memcpy(body + at, tail, sizeof(tail));
	*len = at + sizeof(tail) - 1;
	return body;
}

/* The same from a list of db_notify_take (taken; NULL: empty). */
static char *
answer_body(json_t *list, size_t *len)
{
	size_t i, n = 0, k = json_array_size(list);
	struct db_notice *v = calloc(k ? k : 1, sizeof(*v));
	const char *kind;
	char *body = NULL;
	json_t *it;

	json_array_foreach(list, i, it)
	{
		kind = json_string_value(json_object_get(it, "kind"));
		if (v == NULL || kind == NULL || strlen(kind) >= sizeof(v->kind))
			continue;
		str_copy(v[n].kind, sizeof(v[n].kind), kind);
		v[n].id = json_integer_value(json_object_get(it, "id"));
		v[n].created_at =
		    json_integer_value(json_object_get(it, "created_at"));
		v[n].spread = json_integer_value(json_object_get(it, "spread"));
		n++;
	}
	if (v != NULL)
		body = notices_body(v, n, INT64_MIN, len);
	free(v);
	json_decref(list);
	return body;
}

/* Answers req with body (taken; NULL: an empty list). */
static void
answer(struct conn *c, struct evhttp_request *req, char *body, size_t len,
    int close)
{
	struct evbuffer *buf = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (body == NULL)
		body = answer_body(NULL, &len);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (close)
		evhttp_add_header(h, "Connection", "close");
	if (body != NULL)
		evbuffer_add(buf, body, len);
	free(body);
	if (c != NULL)
		c->waiting = NULL;
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
}

/* 1 when the connection holds a long-poll (parked or not). */
static int
held(const struct conn *c)
{
	return (c->park != NULL && !c->answered) ||
	    (c->waiting != NULL && !c->tarpit);
}

/* Parked connections. */

static int devnull = -1;
static pthread_once_t devnull_once = PTHREAD_ONCE_INIT;

static void
devnull_open(void)
{
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
}

static void
park_end(struct conn *c)
{
	conn_unlink(c);
	if (c->pev != NULL)
		event_free(c->pev);
	park_free(c->park);
	free(c);
}

static void
on_park_write(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (park_flush(c->park) == 1 && event_add(c->pev, NULL) == 0)
		return;
	park_end(c);
}

/* A parked connection reads nothing: the client's close, or anything it
 * sends, ends it. */
static void
on_park_read(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	park_end(arg);
}

/* Answers a parked long-poll with body (taken; NULL: an empty list) and
 * closes it once written. */
static void
park_answer(struct conn *c, char *body, size_t blen)
{
	size_t hlen;
	char *text = NULL, head[320];
	const char *date = worker_date(c->w);
	int r = -1;

	if (body == NULL)
		body = answer_body(NULL, &blen);
	hlen = (size_t)snprintf(head, sizeof(head),
	    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
	    "Cache-Control: no-store\r\nConnection: close\r\n"
	    "%s%s%sContent-Length: %zu\r\n\r\n",
	    date ? "Date: " : "", date ? date : "", date ? "\r\n" : "", blen);
	if (body != NULL && hlen < sizeof(head) &&
	    (text = malloc(hlen + blen)) != NULL) {
		memcpy(text, head, hlen);
		memcpy(text + hlen, body, blen);
		r = park_send(c->park, text, hlen + blen);
	}
	free(text);
	free(body);
	if (r == 1) {
		/* The rest when the socket takes it: answered, no longer
		 * held (a later slice, or the sweep, must not answer it
		 * again). */
		c->answered = 1;
		event_free(c->pev);
		c->pev = event_new(c->w->base, park_fd(c->park), EV_WRITE,
		    on_park_write, c);
		if (c->pev != NULL && event_add(c->pev, NULL) == 0)
			return;
	}
	park_end(c);
}

/* Answers the long-poll c holds, parked or not, with body (taken; NULL:
 * an empty list); close also ends a connection that is not parked (a
 * parked one always ends). */
static void
reply_held(struct conn *c, char *body, size_t len, int close)
{
	if (c->park != NULL)
		park_answer(c, body, len);
	else
		answer(c, c->waiting, body, len, close);
}

/* libevent's part of a parked connection (the SSL, the buffers, the HTTP
 * state) is freed in two turns of the loop: first its events are removed
 * (epoll learns of it at the next turn), then the descriptor's number is
 * made to name /dev/null, so that freeing the connection (a shutdown and
 * a close of that number) cannot reach the socket the parked connection
 * holds under its own descriptor. */
struct detach {
	struct worker *w;
	struct evhttp_connection *evcon;
	int fd;
	int step;
	int gone; /* libevent freed it meanwhile */
};

static void
on_detached_close(struct evhttp_connection *evcon, void *arg)
{
	struct detach *d = arg;

	(void)evcon;
	d->gone = 1;
}

static void
detach_step(evutil_socket_t fd, short what, void *arg)
{
	struct detach *d = arg;
	struct timeval ms = {0, 1000};

	(void)fd;
	(void)what;
	if (d->gone) {
		free(d);
		return;
	}
	if (d->step++ == 0) {
		bufferevent_disable(evhttp_connection_get_bufferevent(d->evcon),
		    EV_READ | EV_WRITE);
		if (event_base_once(d->w->base, -1, EV_TIMEOUT, detach_step,
			d, &ms) == 0)
			return;
	}
	if (devnull >= 0 && dup3(devnull, d->fd, O_CLOEXEC) >= 0) {
		evhttp_connection_set_closecb(d->evcon, NULL, NULL);
		evhttp_connection_free(d->evcon);
	} else {
		log_warn("cannot free the TLS state of a parked connection");
	}
	free(d);
}

/* Parks the long-poll just held on c: 0 parked, -1 held as it is. */
static int
park_conn(struct conn *c)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(c->evcon);
	SSL *ssl = bev ? bufferevent_openssl_get_ssl(bev) : NULL;
	struct timeval ms = {0, 1000};
	struct detach *d;
	const char *why = "";
	int fd = bev ? (int)bufferevent_getfd(bev) : -1;

	pthread_once(&devnull_once, devnull_open);
	if (ssl == NULL || fd < 0 || devnull < 0 ||
	    evbuffer_get_length(bufferevent_get_output(bev)) > 0 ||
	    evbuffer_get_length(bufferevent_get_input(bev)) > 0)
		return -1;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -1;
	c->park = park_take(ssl, fd, &why);
	if (c->park != NULL) {
		c->pev = event_new(c->w->base, park_fd(c->park),
		    EV_READ | EV_PERSIST, on_park_read, c);
		d->w = c->w;
		d->evcon = c->evcon;
		d->fd = fd;
	}
	/* The SSL moved to the same key: unparked, the connection goes on
	 * as before. */
	if (c->park == NULL || c->pev == NULL || event_add(c->pev, NULL) < 0 ||
	    event_base_once(c->w->base, -1, EV_TIMEOUT, detach_step, d,
		&ms) < 0) {
		if (c->pev != NULL)
			event_free(c->pev);
		c->pev = NULL;
		park_free(c->park);
		c->park = NULL;
		free(d);
		log_debug("long-poll not parked: %s", why);
		return -1;
	}
	evhttp_connection_set_closecb(c->evcon, on_detached_close, d);
	c->evcon = NULL;
	c->waiting = NULL;
	c->w->parked++;
	return 0;
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
		size_t len;
		char *body = answer_body(list, &len);

		answer(NULL, r->req, body, len, 0);
		return;
	}
	json_decref(list);
	/* Answered later: the Date is that of the answer. */
	evhttp_remove_header(evhttp_request_get_output_headers(r->req),
	    "Date");
	c->waiting = r->req;
	c->after = after;
	c->deadline = mono_secs() + wait;
	if (r->srv->cfg.notify_park)
		park_conn(c);
}

/* The connections of a client on this worker (only those holding a
 * long-poll that is not a tarpit, with held_only), collected first:
 * answering or closing one unlinks it from the chain. */
struct hits {
	struct conn **v;
	size_t n;
	struct conn *local[4]; /* a client has one or two, as a rule */
};

static void
client_conns(struct worker *w, const char *id, int held_only, struct hits *h)
{
	struct conn *c, **nv;
	size_t cap = sizeof(h->local) / sizeof(h->local[0]);

	h->v = h->local;
	h->n = 0;
	for (c = w->conns[bucket_of(w, id)]; c; c = c->hnext) {
		if (strcmp(c->client_id, id) != 0 || (held_only && !held(c)))
			continue;
		if (h->n == cap) {
			nv = malloc(2 * cap * sizeof(*nv));
			if (nv == NULL)
				break;
			memcpy(nv, h->v, cap * sizeof(*nv));
			if (h->v != h->local)
				free(h->v);
			h->v = nv;
			cap *= 2;
		}
		h->v[h->n++] = c;
	}
}

static void
hits_free(struct hits *h)
{
	if (h->v != h->local)
		free(h->v);
}

static void
poke_client(struct worker *w, const struct poke *pk)
{
	struct conn *c;
	struct hits hits;
	size_t i;

	client_conns(w, pk->client_id, 0, &hits);
	for (i = 0; i < hits.n; i++) {
		c = hits.v[i];
		if (c->waiting != NULL && c->tarpit) {
			if (pk->kind == POKE_CLOSE)
				evhttp_connection_free(c->evcon);
		} else if (held(c)) {
			/* On a block, answered with the "blocked"
			 * notification and closed. */
			json_t *list = db_notify_take(w->db, c->client_id,
			    c->after, now_unix());
			size_t len = 0;
			char *body;

			if (json_array_size(list) > 0 ||
			    pk->kind == POKE_CLOSE) {
				body = answer_body(list, &len);
				reply_held(c, body, len,
				    pk->kind == POKE_CLOSE);
			} else
				json_decref(list);
		} else if (pk->kind == POKE_CLOSE && c->evcon != NULL) {
			/* (A parked one being answered ends once written.) */
			evhttp_connection_free(c->evcon);
		}
	}
	if (pk->kind == POKE_CLOSE && hits.n > 0)
		log_info("closed %zu connection(s) of blocked client %s",
		    hits.n, pk->client_id);
	hits_free(&hits);
}

#define NOTIFY_BATCH 400 /* clients per read of pending notifications */

/* The first of the n notices (sorted by client) that is id's, or n. */
static size_t
notices_of(const struct db_notice *v, size_t n, const char *id)
{
	size_t lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(v[mid].client_id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && strcmp(v[lo].client_id, id) == 0 ? lo : n;
}

/* Answers the held long-polls of a batch of poked clients from one read of
 * their pending notifications (a "fetch policy now" to a whole collection
 * pokes every member at once), until *budget answers are spent. Returns how
 * many clients of the batch it went through: one whose long-polls were not
 * all answered is gone through again at the next slice, from a fresh read
 * (those answered are no longer held). */
static size_t
answer_batch(struct worker *w, const char **ids, size_t n, size_t *budget)
{
	struct db_notice *v;
	size_t nv, i, first, last, k, len;
	int rest = 0;

	if (db_notify_pending(w->db, ids, n, &v, &nv) < 0) {
		log_warn("cannot read pending notifications");
		return n;
	}
	for (i = 0; i < n && *budget > 0 && !rest; i++) {
		struct hits hits;

		if ((first = notices_of(v, nv, ids[i])) == nv)
			continue;
		for (last = first; last < nv &&
		     strcmp(v[last].client_id, ids[i]) == 0; last++)
			;
		client_conns(w, ids[i], 1, &hits);
		for (k = 0; k < hits.n; k++) {
			char *body;

			if (*budget == 0) {
				rest = 1;
				break;
			}
			/* Sorted by id: nothing newer than the agent has,
			 * nothing to say. */
			if (v[last - 1].id <= hits.v[k]->after ||
			    (body = notices_body(v + first, last - first,
				 hits.v[k]->after, &len)) == NULL)
				continue;
			reply_held(hits.v[k], body, len, 0);
			(*budget)--;
			w->wave_answered++;
		}
		hits_free(&hits);
	}
	free(v);
	return rest ? i - 1 : i;
}

/* 1 when this worker holds a long-poll of the client. */
static int
has_waiting(struct worker *w, const char *id)
{
	struct conn *c;

	for (c = w->conns[bucket_of(w, id)]; c; c = c->hnext)
		if (held(c) && strcmp(c->client_id, id) == 0)
			return 1;
	return 0;
}

/* Takes the pokes queued for this worker as the wave to answer; 0 when
 * there are none. */
static int
wave_take(struct worker *w)
{
	pthread_mutex_lock(&w->poke_lock);
	w->wave = w->pokes;
	w->wave_n = w->npokes;
	w->pokes = NULL;
	w->npokes = w->poke_cap = 0;
	pthread_mutex_unlock(&w->poke_lock);
	w->wave_at = w->wave_answered = 0;
	w->wave_turns = 0;
	w->wave_start_ms = mono_ms();
	if (w->wave_n == 0) {
		free(w->wave);
		w->wave = NULL;
	}
	return w->wave != NULL;
}

static void
wave_end(struct worker *w)
{
	int more;

	/* A wave that took more than a slice is a collection's: said. */
	if (w->wave_turns > 1)
		log_info("worker %d answered %zu held long-polls in %.2f s, "
			 "%u slices",
		    (int)(w - w->srv->workers), w->wave_answered,
		    (double)(mono_ms() - w->wave_start_ms) / 1e3,
		    w->wave_turns);
	free(w->wave);
	w->wave = NULL;
	w->wave_n = w->wave_at = 0;
	/* Pokes that came during a wave woke a slice of it: theirs is
	 * next. */
	pthread_mutex_lock(&w->poke_lock);
	more = w->npokes > 0;
	pthread_mutex_unlock(&w->poke_lock);
	if (more)
		event_active(w->poke_ev, EV_READ, 0);
}

/* Answers the pokes, a slice at each turn of the loop: at most
 * notify_slice answers (and eight times as many members looked at) before
 * the worker serves what else is waiting, the reply to the request that
 * poked among it. A "fetch policy now" to 100,000 would otherwise hold
 * each worker for a second or more. */
static void
on_poke(evutil_socket_t fd, short what, void *arg)
{
	static const struct timeval next_turn = {0, 0};
	struct worker *w = arg;
	const char *batch[NOTIFY_BATCH];
	size_t at[NOTIFY_BATCH];
	size_t slice = (size_t)w->srv->cfg.notify_slice;
	size_t budget = slice, looked = 0, nb = 0, done;

	(void)fd;
	(void)what;
	if (w->wave == NULL && !wave_take(w))
		return;
	w->wave_turns++;
	while (w->wave_at < w->wave_n && budget > 0 && looked < 8 * slice) {
		struct poke *pk = &w->wave[w->wave_at++];

		looked++;
		if (pk->kind != POKE_NOTIFY) {
			poke_client(w, pk);
			continue;
		}
		/* Only clients with a long-poll held here need a read. */
		if (!has_waiting(w, pk->client_id))
			continue;
		at[nb] = w->wave_at - 1;
		batch[nb++] = pk->client_id;
		if (nb == NOTIFY_BATCH) {
			if ((done = answer_batch(w, batch, nb, &budget)) < nb)
				w->wave_at = at[done];
			nb = 0;
		}
	}
	if (nb > 0 && (done = answer_batch(w, batch, nb, &budget)) < nb)
		w->wave_at = at[done];
	if (w->wave_at < w->wave_n)
		event_add(w->wave_ev, &next_turn);
	else
		wave_end(w);
}

void
server_poke_many(struct server *srv, enum poke_kind kind,
    const char *const *ids, size_t n)
{
	size_t k, cap;
	int i;

	if (n == 0)
		return;
	for (i = 0; i < srv->nworkers; i++) {
		struct worker *w = &srv->workers[i];

		pthread_mutex_lock(&w->poke_lock);
		for (cap = w->poke_cap ? w->poke_cap : 16;
		     cap < w->npokes + n; cap *= 2)
			;
		if (cap > w->poke_cap) {
			struct poke *np = realloc(w->pokes, cap * sizeof(*np));

			if (np != NULL) {
				w->pokes = np;
				w->poke_cap = cap;
			}
		}
		for (k = 0; k < n && w->npokes < w->poke_cap; k++) {
			w->pokes[w->npokes].kind = kind;
			str_copy(w->pokes[w->npokes].client_id,
			    sizeof(w->pokes[0].client_id), ids[k]);
			w->npokes++;
		}
		pthread_mutex_unlock(&w->poke_lock);
		/* Thread-safe: bases are created with locking enabled. */
		event_active(w->poke_ev, EV_READ, 0);
	}
}

void
server_poke(struct server *srv, enum poke_kind kind, const char *client_id)
{
	server_poke_many(srv, kind, &client_id, 1);
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
 * list, and refused requests held in the tarpit; idle connections give
 * back their TLS record buffers, and those that began no request in time
 * are closed (tlsbuf.c). O(connections) per second. */
static void
on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	int64_t now = mono_secs();
	size_t b, closed;

	/* What parked connections freed lies in holes between live blocks:
	 * given back to the system during a wave of them, and once it has
	 * settled (a few ms each time). */
	if (w->parked >= PARK_TRIM_AFTER ||
	    (w->parked > 0 && w->parked == w->parked_seen)) {
		w->parked = 0;
		malloc_trim(0);
	}
	w->parked_seen = w->parked;
	tlsbuf_sweep(&w->tlsbufs, now, &closed);
	if (closed > 0)
		log_info("closed %zu connection(s) that began no request "
			 "within %llds",
		    closed, (long long)w->srv->cfg.first_request_timeout);

	for (b = 0; b < w->nbuckets; b++) {
		struct conn *c, *next;

		/* Answering a parked connection frees it: next first. */
		for (c = w->conns[b]; c; c = next) {
			next = c->hnext;
			if (c->deadline > now || !(held(c) || c->tarpit))
				continue;
			if (c->tarpit)
				answer_tarpit(c);
			else
				reply_held(c, NULL, 0, 0);
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
	w->wave_ev = evtimer_new(w->base, on_poke, w);
	w->sweep_ev = event_new(w->base, -1, EV_PERSIST, on_sweep, w);
	if (w->conns == NULL || w->poke_ev == NULL || w->wave_ev == NULL ||
	    w->sweep_ev == NULL)
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
			if (c->evcon != NULL)
				evhttp_connection_set_closecb(c->evcon, NULL,
				    NULL);
			if (c->pev != NULL)
				event_free(c->pev);
			park_free(c->park);
			free(c);
		}
	}
	free(w->conns);
	w->conns = NULL;
	if (w->poke_ev)
		event_free(w->poke_ev);
	if (w->wave_ev)
		event_free(w->wave_ev);
	free(w->wave);
	if (w->sweep_ev)
		event_free(w->sweep_ev);
	free(w->pokes);
	pthread_mutex_destroy(&w->poke_lock);
}
