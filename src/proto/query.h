/* query.h - the collection query language: a small expression language over
 * discovery, inventory and site attributes, e.g.
 *   os.id == "debian" and memory.total_mb >= 4096
 *     and package["openssh-server"].version < "1:9.2p1-2"
 * Comparisons == != < <= > >= and glob ~, `in [..]`, and/or/not,
 * parentheses. Package versions compare in Debian version order. */
#ifndef STEWARD_QUERY_H
#define STEWARD_QUERY_H

#include <stddef.h>

#define QUERY_MAX 4096     /* characters */
#define QUERY_NODES_MAX 256
#define QUERY_DEPTH_MAX 32
#define QUERY_STR_MAX 256
#define QUERY_LIST_MAX 64
#define QUERY_PATH_MAX 8   /* segments in an attribute */

struct query;

/* An attribute: segments like {"package", "version"} with the key of an
 * index ("openssh-server"), or {"os", "id"} with no key. */
struct qattr {
	const char *seg[QUERY_PATH_MAX];
	int nseg;
	const char *key; /* NULL when there is no [".."] */
};

/* A value an attribute has on a device. */
struct qval {
	const char *s; /* text form, always set when found */
};

/* Looks an attribute up on one device: 1 found (out filled), 0 absent. */
typedef int (*query_get_fn)(void *arg, const struct qattr *a,
    struct qval *out);

/* Parses text; on error returns NULL with err = "column N: what". */
struct query *query_parse(const char *text, char *err, size_t errsize);
void query_free(struct query *q);
/* 1 when the device matches, 0 when not. A comparison with an attribute
 * the device lacks is false. */
int query_eval(const struct query *q, query_get_fn get, void *arg);
/* Checks every attribute's first segment is in roots (NULL-terminated);
 * else -1 with err naming the attribute. For site-attributes-only
 * collections. */
int query_only_roots(const struct query *q, const char *const *roots,
    char *err, size_t errsize);

/* Debian version order (dpkg): <0, 0, >0. */
int debian_version_cmp(const char *a, const char *b);
/* Shell-style glob: * any run, ? one character, everything else literal. */
int query_glob(const char *pattern, const char *s);

#endif
