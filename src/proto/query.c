/* query.c - parser and evaluator of the collection query language.
 * Recursive descent over a bounded token stream; every limit (length,
 * nodes, depth, strings, lists) is checked, and errors name the column. */
#include "query.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util.h"

enum qop { Q_AND, Q_OR, Q_NOT, Q_EQ, Q_NE, Q_LT, Q_LE, Q_GT, Q_GE, Q_GLOB,
	Q_IN, Q_TRUE };

struct qnode {
	enum qop op;
	struct qnode *l, *r;   /* AND/OR/NOT */
	struct qattr attr;     /* comparisons */
	const char **vals;     /* right-hand side(s) */
	int nvals;
};

struct query {
	struct qnode *root;
	char *arena; /* all strings, NUL-separated */
	size_t arena_len, arena_cap;
	struct qnode *nodes;
	int nnodes;
	const char **ptrs; /* value arrays */
	int nptrs, ptrs_cap;
};

enum tok { T_END, T_IDENT, T_STR, T_NUM, T_DOT, T_LBRACK, T_RBRACK,
	T_LPAREN, T_RPAREN, T_COMMA, T_OP, T_AND, T_OR, T_NOT, T_IN };

struct parser {
	const char *text;
	size_t pos;
	enum tok t;
	size_t tstart;     /* column of the token (0-based) */
	char tval[QUERY_STR_MAX + 1];
	enum qop top;      /* for T_OP */
	struct query *q;
	int depth;
	char *err;
	size_t errsize;
	int failed;
};

static int fail_at(struct parser *p, size_t col, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail_at(struct parser *p, size_t col, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	if (p->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errsize, "column %zu: %s", col + 1, msg);
	p->failed = 1;
	return -1;
}

static const char *
keep(struct parser *p, const char *s)
{
	struct query *q = p->q;
	size_t n = strlen(s) + 1;
	const char *out;

	if (q->arena_len + n > q->arena_cap)
		return NULL; /* sized for the whole text up front */
	memcpy(q->arena + q->arena_len, s, n);
	out = q->arena + q->arena_len;
	q->arena_len += n;
	return out;
}

static int
next(struct parser *p)
{
	const char *s = p->text;
	size_t i;

	while (s[p->pos] == ' ' || s[p->pos] == '\t' || s[p->pos] == '\n' ||
	    s[p->pos] == '\r')
		p->pos++;
	p->tstart = p->pos;
	p->tval[0] = '\0';
	switch (s[p->pos]) {
	case '\0': p->t = T_END; return 0;
	case '.': p->t = T_DOT; p->pos++; return 0;
	case '[': p->t = T_LBRACK; p->pos++; return 0;
	case ']': p->t = T_RBRACK; p->pos++; return 0;
	case '(': p->t = T_LPAREN; p->pos++; return 0;
	case ')': p->t = T_RPAREN; p->pos++; return 0;
	case ',': p->t = T_COMMA; p->pos++; return 0;
	case '~': p->t = T_OP; p->top = Q_GLOB; p->pos++; return 0;
	case '=':
		if (s[p->pos + 1] != '=')
			return fail_at(p, p->pos, "'=' must be '=='");
		p->t = T_OP; p->top = Q_EQ; p->pos += 2; return 0;
	case '!':
		if (s[p->pos + 1] != '=')
			return fail_at(p, p->pos, "'!' must be '!='");
		p->t = T_OP; p->top = Q_NE; p->pos += 2; return 0;
	case '<':
	case '>':
		p->t = T_OP;
		if (s[p->pos + 1] == '=') {
			p->top = s[p->pos] == '<' ? Q_LE : Q_GE;
			p->pos += 2;
		} else {
			p->top = s[p->pos] == '<' ? Q_LT : Q_GT;
			p->pos++;
		}
		return 0;
	case '"':
		p->pos++;
		for (i = 0; s[p->pos] != '"'; p->pos++) {
			char c = s[p->pos];

			if (c == '\0')
				return fail_at(p, p->tstart,
				    "string is not closed");
			if (c == '\\') {
				c = s[++p->pos];
				if (c != '"' && c != '\\')
					return fail_at(p, p->pos - 1,
					    "only \\\" and \\\\ escape in "
					    "strings");
			} else if ((unsigned char)c < 0x20) {
				return fail_at(p, p->pos,
				    "control character in a string");
			}
			if (i >= QUERY_STR_MAX)
				return fail_at(p, p->tstart,
				    "string longer than %d characters",
				    QUERY_STR_MAX);
			p->tval[i++] = c;
		}
		p->tval[i] = '\0';
		p->pos++;
		p->t = T_STR;
		return 0;
	default:
		break;
	}
	if (isdigit((unsigned char)s[p->pos]) ||
	    (s[p->pos] == '-' && isdigit((unsigned char)s[p->pos + 1]))) {
		i = 0;
		do {
			if (i >= 30)
				return fail_at(p, p->tstart, "number too long");
			p->tval[i++] = s[p->pos++];
		} while (isdigit((unsigned char)s[p->pos]) || s[p->pos] == '.');
		p->tval[i] = '\0';
		p->t = T_NUM;
		return 0;
	}
	if (isalpha((unsigned char)s[p->pos]) || s[p->pos] == '_') {
		i = 0;
		while (isalnum((unsigned char)s[p->pos]) || s[p->pos] == '_') {
			if (i >= 64)
				return fail_at(p, p->tstart,
				    "name longer than 64 characters");
			p->tval[i++] = (char)tolower((unsigned char)s[p->pos++]);
		}
		p->tval[i] = '\0';
		p->t = !strcmp(p->tval, "and")   ? T_AND
		    : !strcmp(p->tval, "or")     ? T_OR
		    : !strcmp(p->tval, "not")    ? T_NOT
		    : !strcmp(p->tval, "in")     ? T_IN
						 : T_IDENT;
		return 0;
	}
	return fail_at(p, p->pos, "unexpected character '%c'", s[p->pos]);
}

static struct qnode *
node(struct parser *p, enum qop op)
{
	struct qnode *n;

	if (p->q->nnodes >= QUERY_NODES_MAX) {
		fail_at(p, p->tstart, "query has more than %d terms",
		    QUERY_NODES_MAX);
		return NULL;
	}
	n = &p->q->nodes[p->q->nnodes++];
	memset(n, 0, sizeof(*n));
	n->op = op;
	return n;
}

static int
value(struct parser *p, const char **out)
{
	if (p->t != T_STR && p->t != T_NUM)
		return fail_at(p, p->tstart, "expected a \"string\" or a "
					     "number");
	*out = keep(p, p->tval);
	return next(p);
}

static struct qnode *parse_or(struct parser *p);

static struct qnode *
parse_cmp(struct parser *p)
{
	struct qnode *n = node(p, Q_TRUE);
	size_t col = p->tstart;

	if (n == NULL)
		return NULL;
	if (p->t != T_IDENT) {
		fail_at(p, p->tstart, "expected an attribute like os.id");
		return NULL;
	}
	n->attr.seg[n->attr.nseg++] = keep(p, p->tval);
	if (next(p) < 0)
		return NULL;
	for (;;) {
		if (p->t == T_LBRACK) {
			if (n->attr.key != NULL || next(p) < 0 || p->t != T_STR) {
				fail_at(p, p->tstart,
				    "expected one [\"key\"] after a name");
				return NULL;
			}
			n->attr.key = keep(p, p->tval);
			if (next(p) < 0)
				return NULL;
			if (p->t != T_RBRACK) {
				fail_at(p, p->tstart, "expected ']'");
				return NULL;
			}
		} else if (p->t == T_DOT) {
			if (next(p) < 0)
				return NULL;
			if (p->t != T_IDENT) {
				fail_at(p, p->tstart, "expected a name after "
						      "'.'");
				return NULL;
			}
			if (n->attr.nseg >= QUERY_PATH_MAX) {
				fail_at(p, p->tstart, "attribute too deep");
				return NULL;
			}
			n->attr.seg[n->attr.nseg++] = keep(p, p->tval);
		} else {
			break;
		}
		if (next(p) < 0)
			return NULL;
	}
	if (p->t == T_IN) {
		n->op = Q_IN;
		if (next(p) < 0)
			return NULL;
		if (p->t != T_LBRACK) {
			fail_at(p, p->tstart, "expected '[' after 'in'");
			return NULL;
		}
		if (p->q->nptrs + QUERY_LIST_MAX > p->q->ptrs_cap) {
			fail_at(p, p->tstart, "too many list values");
			return NULL;
		}
		n->vals = &p->q->ptrs[p->q->nptrs];
		if (next(p) < 0)
			return NULL;
		while (p->t != T_RBRACK) {
			if (n->nvals == QUERY_LIST_MAX) {
				fail_at(p, p->tstart, "a list holds at most %d "
						      "values",
				    QUERY_LIST_MAX);
				return NULL;
			}
			if (value(p, &n->vals[n->nvals]) < 0)
				return NULL;
			n->nvals++;
			if (p->t == T_COMMA) {
				if (next(p) < 0)
					return NULL;
			} else if (p->t != T_RBRACK) {
				fail_at(p, p->tstart, "expected ',' or ']'");
				return NULL;
			}
		}
		p->q->nptrs += n->nvals;
		if (n->nvals == 0) {
			fail_at(p, p->tstart, "empty list");
			return NULL;
		}
		return next(p) < 0 ? NULL : n;
	}
	if (p->t != T_OP) {
		fail_at(p, p->tstart, "expected a comparison after the "
				      "attribute at column %zu",
		    col + 1);
		return NULL;
	}
	n->op = p->top;
	if (next(p) < 0 || p->q->nptrs >= p->q->ptrs_cap)
		return NULL;
	n->vals = &p->q->ptrs[p->q->nptrs++];
	n->nvals = 1;
	if (value(p, &n->vals[0]) < 0)
		return NULL;
	return n;
}

static struct qnode *
parse_unary(struct parser *p)
{
	struct qnode *n;

	if (++p->depth > QUERY_DEPTH_MAX) {
		fail_at(p, p->tstart, "nested deeper than %d", QUERY_DEPTH_MAX);
		return NULL;
	}
	if (p->t == T_NOT) {
		n = node(p, Q_NOT);
		if (n == NULL || next(p) < 0 || (n->l = parse_unary(p)) == NULL)
			return NULL;
	} else if (p->t == T_LPAREN) {
		size_t col = p->tstart;

		if (next(p) < 0 || (n = parse_or(p)) == NULL)
			return NULL;
		if (p->t != T_RPAREN) {
			fail_at(p, p->tstart, "expected ')' to close the '(' "
					      "at column %zu",
			    col + 1);
			return NULL;
		}
		if (next(p) < 0)
			return NULL;
	} else {
		n = parse_cmp(p);
	}
	p->depth--;
	return n;
}

static struct qnode *
parse_and(struct parser *p)
{
	struct qnode *l = parse_unary(p), *n;

	while (l != NULL && p->t == T_AND) {
		n = node(p, Q_AND);
		if (n == NULL || next(p) < 0)
			return NULL;
		n->l = l;
		n->r = parse_unary(p);
		if (n->r == NULL)
			return NULL;
		l = n;
	}
	return l;
}

static struct qnode *
parse_or(struct parser *p)
{
	struct qnode *l = parse_and(p), *n;

	while (l != NULL && p->t == T_OR) {
		n = node(p, Q_OR);
		if (n == NULL || next(p) < 0)
			return NULL;
		n->l = l;
		n->r = parse_and(p);
		if (n->r == NULL)
			return NULL;
		l = n;
	}
	return l;
}

struct query *
query_parse(const char *text, char *err, size_t errsize)
{
	struct parser p;
	struct query *q;
	size_t len = strlen(text);

	if (len > QUERY_MAX) {
		snprintf(err, errsize, "query longer than %d characters",
		    QUERY_MAX);
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return NULL;
	/* Every string is shorter than the text it came from. */
	q->arena_cap = 2 * len + 64;
	q->arena = malloc(q->arena_cap);
	q->nodes = calloc(QUERY_NODES_MAX, sizeof(*q->nodes));
	q->ptrs_cap = QUERY_NODES_MAX + QUERY_LIST_MAX * 8;
	q->ptrs = calloc((size_t)q->ptrs_cap, sizeof(*q->ptrs));
	if (q->arena == NULL || q->nodes == NULL || q->ptrs == NULL) {
		query_free(q);
		return NULL;
	}
	memset(&p, 0, sizeof(p));
	p.text = text;
	p.q = q;
	p.err = err;
	p.errsize = errsize;
	if (next(&p) == 0) {
		if (p.t == T_END)
			fail_at(&p, 0, "empty query");
		else if ((q->root = parse_or(&p)) != NULL && p.t != T_END)
			fail_at(&p, p.tstart, "unexpected '%.20s'",
			    text + p.tstart);
	}
	if (p.failed || q->root == NULL) {
		if (!p.failed)
			fail_at(&p, p.tstart, "cannot parse");
		query_free(q);
		return NULL;
	}
	return q;
}

void
query_free(struct query *q)
{
	if (q == NULL)
		return;
	free(q->arena);
	free(q->nodes);
	free(q->ptrs);
	free(q);
}

/* --- evaluation --- */

static int
is_number(const char *s, double *out)
{
	char *end;

	if (*s == '\0' || strlen(s) > 30)
		return 0;
	*out = strtod(s, &end);
	return *end == '\0';
}

static int
is_version_attr(const struct qattr *a)
{
	return a->nseg >= 1 &&
	    strcmp(a->seg[a->nseg - 1], "version") == 0;
}

/* <0, 0, >0: numbers numerically, versions in Debian order, else bytes. */
static int
compare(const struct qattr *a, const char *have, const char *want)
{
	double x, y;

	if (is_version_attr(a))
		return debian_version_cmp(have, want);
	if (is_number(have, &x) && is_number(want, &y))
		return x < y ? -1 : x > y ? 1 : 0;
	return strcmp(have, want);
}

static int
eval(const struct qnode *n, query_get_fn get, void *arg)
{
	struct qval v;
	int c, i;

	switch (n->op) {
	case Q_AND:
		return eval(n->l, get, arg) && eval(n->r, get, arg);
	case Q_OR:
		return eval(n->l, get, arg) || eval(n->r, get, arg);
	case Q_NOT:
		return !eval(n->l, get, arg);
	case Q_TRUE:
		return 1;
	default:
		break;
	}
	if (get(arg, &n->attr, &v) != 1 || v.s == NULL)
		return 0;
	if (n->op == Q_IN) {
		for (i = 0; i < n->nvals; i++)
			if (compare(&n->attr, v.s, n->vals[i]) == 0)
				return 1;
		return 0;
	}
	if (n->op == Q_GLOB)
		return query_glob(n->vals[0], v.s);
	c = compare(&n->attr, v.s, n->vals[0]);
	switch (n->op) {
	case Q_EQ: return c == 0;
	case Q_NE: return c != 0;
	case Q_LT: return c < 0;
	case Q_LE: return c <= 0;
	case Q_GT: return c > 0;
	case Q_GE: return c >= 0;
	default: return 0;
	}
}

int
query_eval(const struct query *q, query_get_fn get, void *arg)
{
	return eval(q->root, get, arg);
}

int
query_only_roots(const struct query *q, const char *const *roots, char *err,
    size_t errsize)
{
	int i, j;

	for (i = 0; i < q->nnodes; i++) {
		const struct qnode *n = &q->nodes[i];

		if (n->attr.nseg == 0)
			continue;
		for (j = 0; roots[j]; j++)
			if (strcmp(n->attr.seg[0], roots[j]) == 0)
				break;
		if (roots[j] == NULL) {
			snprintf(err, errsize,
			    "'%s' is reported by the device; this collection "
			    "may use only attributes the site sets",
			    n->attr.seg[0]);
			return -1;
		}
	}
	return 0;
}

int
query_glob(const char *pat, const char *s)
{
	const char *star = NULL, *mark = NULL;

	/* Iterative with one backtrack point: linear in practice, never
	 * exponential. */
	while (*s) {
		if (*pat == '*') {
			star = pat++;
			mark = s;
		} else if (*pat == '?' || *pat == *s) {
			pat++;
			s++;
		} else if (star != NULL) {
			pat = star + 1;
			s = ++mark;
		} else {
			return 0;
		}
	}
	while (*pat == '*')
		pat++;
	return *pat == '\0';
}

/* dpkg's ordering of one character in a version part: '~' before the end,
 * the end before letters, letters before everything else. */
static int
order(int c)
{
	if (isdigit(c))
		return 0;
	if (isalpha(c))
		return c;
	if (c == '~')
		return -1;
	if (c)
		return c + 256;
	return 0;
}

static int
verrevcmp(const char *a, const char *b)
{
	while (*a || *b) {
		int first_diff = 0;

		while ((*a && !isdigit((unsigned char)*a)) ||
		    (*b && !isdigit((unsigned char)*b))) {
			int ac = order((unsigned char)*a);
			int bc = order((unsigned char)*b);

			if (ac != bc)
				return ac - bc;
			a++;
			b++;
		}
		while (*a == '0')
			a++;
		while (*b == '0')
			b++;
		while (isdigit((unsigned char)*a) &&
		    isdigit((unsigned char)*b)) {
			if (!first_diff)
				first_diff = *a - *b;
			a++;
			b++;
		}
		if (isdigit((unsigned char)*a))
			return 1;
		if (isdigit((unsigned char)*b))
			return -1;
		if (first_diff)
			return first_diff;
	}
	return 0;
}

/* Splits "epoch:upstream-revision" into parts (in buf). */
static void
split_version(const char *v, char *buf, size_t size, long *epoch,
    const char **up, const char **rev)
{
	const char *colon = strchr(v, ':');
	char *dash;

	*epoch = 0;
	if (colon != NULL && colon > v &&
	    strspn(v, "0123456789") == (size_t)(colon - v)) {
		*epoch = strtol(v, NULL, 10);
		v = colon + 1;
	}
	str_copy(buf, size, v);
	dash = strrchr(buf, '-');
	if (dash != NULL) {
		*dash = '\0';
		*rev = dash + 1;
	} else {
		*rev = "";
	}
	*up = buf;
}

int
debian_version_cmp(const char *a, const char *b)
{
	char ba[QUERY_STR_MAX + 1], bb[QUERY_STR_MAX + 1];
	const char *ua, *ra, *ub, *rb;
	long ea, eb;
	int r;

	split_version(a, ba, sizeof(ba), &ea, &ua, &ra);
	split_version(b, bb, sizeof(bb), &eb, &ub, &rb);
	if (ea != eb)
		return ea < eb ? -1 : 1;
	r = verrevcmp(ua, ub);
	if (r != 0)
		return r;
	return verrevcmp(ra, rb);
}
