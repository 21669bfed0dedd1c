/* pcache.c - per-worker policy ETag cache (see pcache.h). */
#include "pcache.h"

#include <stdlib.h>
#include <string.h>

#include "common/util.h"

static size_t
hash(const char *s)
{
	size_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

void
pcache_free(struct pcache *c)
{
	size_t i;

	for (i = 0; i < c->nb; i++) {
		struct pentry *e = c->b[i], *next;

		for (; e != NULL; e = next) {
			next = e->next;
			free(e->body);
			free(e);
		}
	}
	free(c->b);
	memset(c, 0, sizeof(*c));
}

static int
grow(struct pcache *c)
{
	size_t nb = c->nb ? c->nb * 2 : 1024, i;
	struct pentry **b = calloc(nb, sizeof(*b));

	if (b == NULL)
		return -1;
	for (i = 0; i < c->nb; i++) {
		struct pentry *e = c->b[i], *next;

		for (; e != NULL; e = next) {
			size_t k = hash(e->id) & (nb - 1);

			next = e->next;
			e->next = b[k];
			b[k] = e;
		}
	}
	free(c->b);
	c->b = b;
	c->nb = nb;
	return 0;
}

struct pentry *
pcache_get(struct pcache *c, const char *id)
{
	struct pentry *e;
	size_t k;

	if (c->nb > 0) {
		for (e = c->b[hash(id) & (c->nb - 1)]; e != NULL; e = e->next)
			if (strcmp(e->id, id) == 0)
				return e;
	}
	if (c->n >= PCACHE_MAX)
		pcache_free(c);
	if ((c->n + 1 > c->nb * 2 || c->nb == 0) && grow(c) < 0)
		return NULL;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	str_copy(e->id, sizeof(e->id), id);
	k = hash(id) & (c->nb - 1);
	e->next = c->b[k];
	c->b[k] = e;
	c->n++;
	return e;
}

void
pcache_set_body(struct pcache *c, struct pentry *e, const char *body,
    size_t len)
{
	if (e->body != NULL) {
		c->body_bytes -= e->blen;
		free(e->body);
		e->body = NULL;
		e->blen = 0;
	}
	if (body == NULL || c->body_bytes + len > PCACHE_BODY_MAX)
		return;
	e->body = malloc(len);
	if (e->body == NULL)
		return;
	memcpy(e->body, body, len);
	e->blen = len;
	c->body_bytes += len;
}
