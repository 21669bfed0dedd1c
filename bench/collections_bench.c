/* collections_bench.c - collection evaluation at scale: N synthetic approved
 * devices (discovery, an inventory with OS, memory and packages, tags) in a
 * real SQLite site database, M query collections of mixed kinds; times a
 * full evaluation and one-device incremental evaluations.
 * Usage: collections_bench DB-PATH [DEVICES [COLLECTIONS [SAMPLES]]] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "common/util.h"
#include "db/db.h"
#include "server.h"

#define PACKAGES 40

static double
mono(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void
die(const char *what, const char *err)
{
	fprintf(stderr, "collections_bench: %s: %s\n", what, err);
	exit(1);
}

static void
populate(struct db *db, int devices, int colls)
{
	char err[ERRMSG_MAX], id[33], host[64], hw[64], disc[256], data[256];
	char key[32], q[300], name[64];
	int64_t now = now_unix();
	int i, j;

	if (db_begin(db, err) < 0)
		die("begin", err);
	for (i = 0; i < devices; i++) {
		str_fmt(id, sizeof(id), "%032x", i + 1);
		str_fmt(host, sizeof(host), "%s-%05d",
		    i % 3 == 0 ? "web" : (i % 3 == 1 ? "db" : "cache"), i);
		str_fmt(hw, sizeof(hw), "hw-%d", i);
		str_fmt(disc, sizeof(disc),
		    "{\"os\":\"Debian GNU/Linux 12\",\"kernel\":\"6.1.0-%d\","
		    "\"agent_version\":\"0.1.%d\"}",
		    i % 30, i % 4);
		if (db_client_insert(db, id, "approved", host, hw, "all", NULL,
			disc, now, err) < 0)
			die("client", err);
		str_fmt(data, sizeof(data),
		    "{\"id\":\"%s\",\"version_id\":\"%d\"}",
		    i % 10 == 0 ? "ubuntu" : "debian", 10 + i % 3);
		if (db_inventory_put(db, id, "os", "", data, now, err) < 0)
			die("inventory", err);
		str_fmt(data, sizeof(data), "{\"total_mb\":%d}",
		    1024 * (1 + i % 16));
		if (db_inventory_put(db, id, "memory", "", data, now, err) < 0)
			die("inventory", err);
		for (j = 0; j < PACKAGES; j++) {
			str_fmt(key, sizeof(key), "pkg%d:amd64", j);
			str_fmt(data, sizeof(data),
			    "{\"name\":\"pkg%d\",\"arch\":\"amd64\","
			    "\"version\":\"1.%d-%d\"}",
			    j, (i + j) % 10, i % 3);
			if (db_inventory_put(db, id, "packages", key, data, now,
				err) < 0)
				die("inventory", err);
		}
		str_fmt(data, sizeof(data), "%d", i % 10);
		if (db_tag_set(db, id, "ring", data, err) < 0)
			die("tag", err);
	}
	for (i = 0; i < colls; i++) {
		switch (i % 5) {
		case 0:
			str_fmt(q, sizeof(q),
			    "os.id == \"debian\" and memory.total_mb >= %d",
			    1024 * (i % 16));
			break;
		case 1:
			str_fmt(q, sizeof(q),
			    "package[\"pkg%d\"].version < \"1.%d\"", i % PACKAGES,
			    i % 10);
			break;
		case 2:
			str_fmt(q, sizeof(q), "tag[\"ring\"] == \"%d\"", i % 10);
			break;
		case 3:
			str_fmt(q, sizeof(q), "host.name ~ \"web-%d*\"", i % 10);
			break;
		default:
			str_fmt(q, sizeof(q),
			    "os.version_id in [\"11\", \"12\"] and not "
			    "memory.total_mb < %d",
			    2048 * (i % 8));
		}
		str_fmt(name, sizeof(name), "bench-%03d", i);
		if (db_collection_add(db, name, NULL, 0, "bench", now, err) < 0 ||
		    db_collection_rule_add(db, name, "query", q, err) < 0)
			die("collection", err);
	}
	if (db_commit(db, err) < 0)
		die("commit", err);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	int devices = argc > 2 ? atoi(argv[2]) : 100000;
	int colls = argc > 3 ? atoi(argv[3]) : 500;
	int samples = argc > 4 ? atoi(argv[4]) : 1000;
	char err[ERRMSG_MAX], id[33];
	struct db *db;
	struct rusage ru;
	double t0, full, again, *lat;
	int64_t members = 0;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: collections_bench DB [DEVICES "
				"[COLLECTIONS [SAMPLES]]]\n");
		return 2;
	}
	unlink(argv[1]);
	db = db_open(argv[1], err);
	if (db == NULL)
		die("open", err);
	t0 = mono();
	populate(db, devices, colls);
	fprintf(stderr, "populated %d devices, %d collections in %.1f s\n",
	    devices, colls, mono() - t0);

	t0 = mono();
	if (collections_evaluate_all(db, err) < 0)
		die("evaluate all", err);
	full = mono() - t0;
	/* Again, nothing changed: the steady-state cost of a scheduled or
	 * rule-change evaluation. */
	t0 = mono();
	if (collections_evaluate_all(db, err) < 0)
		die("evaluate all", err);
	again = mono() - t0;
	{
		struct db_result *r;

		if (db_exec(db, "SELECT COUNT(*) FROM collection_members", NULL,
			0, &r, err) == 0) {
			members = strtoll(db_cell(r, 0, 0), NULL, 10);
			db_result_free(r);
		}
	}
	lat = calloc((size_t)samples, sizeof(*lat));
	srand(7);
	for (i = 0; i < samples; i++) {
		double s = mono();

		str_fmt(id, sizeof(id), "%032x", 1 + rand() % devices);
		if (collections_evaluate_device(db, id, err) < 0)
			die("evaluate device", err);
		lat[i] = mono() - s;
	}
	qsort(lat, (size_t)samples, sizeof(*lat), cmp_double);
	getrusage(RUSAGE_SELF, &ru);
	printf("{\"devices\": %d, \"collections\": %d, \"memberships\": %lld, "
	       "\"full_s\": %.3f, \"full_devices_per_s\": %.0f, "
	       "\"full_again_s\": %.3f, \"full_again_devices_per_s\": %.0f, "
	       "\"incremental_p50_ms\": %.3f, \"incremental_p99_ms\": %.3f, "
	       "\"max_rss_mb\": %.1f}\n",
	    devices, colls, (long long)members, full, devices / full, again,
	    devices / again,
	    lat[samples / 2] * 1e3, lat[samples * 99 / 100] * 1e3,
	    ru.ru_maxrss / 1024.0);
	free(lat);
	db_close(db);
	return 0;
}
