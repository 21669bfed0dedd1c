/* collect.c - the inventory collectors: OS, CPU, memory, DMI, disks,
 * filesystems, network interfaces, installed packages (dpkg) and local human
 * users, read from a root directory ("/" on a device, a fixture tree in
 * tests). Each returns what the inventory schema accepts. */
#include <arpa/inet.h>
#include <dirent.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

#include "agent.h"
#include "common/util.h"
#include "proto/inventory.h"

#define FILE_MAX (64 * 1024 * 1024)

static char *
slurp(const char *root, const char *rel)
{
	char path[PATH_MAX], *text;

	if (str_fmt(path, sizeof(path), "%s%s", strcmp(root, "/") ? root : "",
		rel) < 0)
		return NULL;
	if (file_read(path, FILE_MAX, &text, NULL, NULL) < 0)
		return NULL;
	return text;
}

/* Sets key to a bounded, control-character-free copy of value. */
static void
set_text(json_t *o, const char *key, const char *value, size_t max)
{
	char buf[520];
	size_t i, n = 0;

	for (i = 0; value[i] && n < max && n + 1 < sizeof(buf); i++)
		if ((unsigned char)value[i] >= 0x20 && value[i] != 0x7f)
			buf[n++] = value[i];
	buf[n] = '\0';
	json_object_set_new(o, key, json_string(buf));
}

static json_t *
collect_os(const char *root)
{
	json_t *o = json_object();
	char *text = slurp(root, "/etc/os-release"), *line, *save = NULL;
	char *kernel = slurp(root, "/proc/sys/kernel/osrelease");

	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		static const struct {
			const char *var, *key;
			size_t max;
		} map[] = {{"ID=", "id", 64}, {"VERSION_ID=", "version_id", 64},
		    {"PRETTY_NAME=", "pretty_name", 256}};
		size_t i;

		for (i = 0; i < 3; i++) {
			size_t vl = strlen(map[i].var), n;
			char *v;

			if (strncmp(line, map[i].var, vl) != 0)
				continue;
			v = line + vl;
			n = strlen(v);
			if (n >= 2 && (v[0] == '"' || v[0] == '\'') &&
			    v[n - 1] == v[0]) {
				v[n - 1] = '\0';
				v++;
			}
			if (i == 0 && strspn(v, "abcdefghijklmnopqrstuvwxyz"
						"0123456789._-") != strlen(v))
				continue;
			set_text(o, map[i].key, v, map[i].max);
		}
	}
	if (kernel) {
		str_trim_right(kernel);
		set_text(o, "kernel", kernel, 128);
	}
	free(text);
	free(kernel);
	return o;
}

static json_t *
collect_cpu(const char *root)
{
	char *text = slurp(root, "/proc/cpuinfo"), *line, *save = NULL;
	json_t *o = json_object();
	int cores = 0, have_model = 0;

	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "processor", 9) == 0)
			cores++;
		else if (!have_model && strncmp(line, "model name", 10) == 0 &&
		    strchr(line, ':')) {
			char *v = strchr(line, ':') + 1;

			while (*v == ' ' || *v == '\t')
				v++;
			set_text(o, "model", v, 256);
			have_model = 1;
		}
	}
	if (cores > 0)
		json_object_set_new(o, "cores", json_integer(cores));
	free(text);
	return o;
}

static json_t *
collect_memory(const char *root)
{
	char *text = slurp(root, "/proc/meminfo"), *p;
	json_t *o = json_object();
	long long kb;

	if (text && (p = strstr(text, "MemTotal:")) != NULL &&
	    sscanf(p, "MemTotal: %lld kB", &kb) == 1 && kb >= 0)
		json_object_set_new(o, "total_mb", json_integer(kb / 1024));
	free(text);
	return o;
}

static json_t *
collect_dmi(const char *root)
{
	static const char *files[][2] = {
	    {"/sys/class/dmi/id/sys_vendor", "vendor"},
	    {"/sys/class/dmi/id/product_name", "product"},
	    {"/sys/class/dmi/id/product_serial", "serial"}};
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < 3; i++) {
		char *v = slurp(root, files[i][0]);

		if (v) {
			str_trim_right(v);
			if (*v)
				set_text(o, files[i][1], v, 256);
			free(v);
		}
	}
	return o;
}

static json_t *
collect_disks(const char *root)
{
	char path[PATH_MAX];
	json_t *a = json_array();
	struct dirent *de;
	DIR *d;

	str_fmt(path, sizeof(path), "%s/sys/block",
	    strcmp(root, "/") ? root : "");
	d = opendir(path);
	while (d && (de = readdir(d)) != NULL && json_array_size(a) < 256) {
		char rel[PATH_MAX], *size;
		json_t *o;

		if (de->d_name[0] == '.' || !strncmp(de->d_name, "loop", 4) ||
		    !strncmp(de->d_name, "ram", 3) ||
		    !strncmp(de->d_name, "zram", 4) || strlen(de->d_name) > 64)
			continue;
		str_fmt(rel, sizeof(rel), "/sys/block/%s/size", de->d_name);
		size = slurp(root, rel);
		o = json_object();
		set_text(o, "name", de->d_name, 64);
		if (size)
			json_object_set_new(o, "size_mb",
			    json_integer(strtoll(size, NULL, 10) / 2048));
		free(size);
		json_array_append_new(a, o);
	}
	if (d)
		closedir(d);
	return a;
}

static int
real_fs(const char *type)
{
	static const char *types[] = {"ext2", "ext3", "ext4", "xfs", "btrfs",
	    "vfat", "exfat", "zfs", "f2fs", "jfs", "reiserfs", "ntfs", "ntfs3",
	    NULL};
	int i;

	for (i = 0; types[i]; i++)
		if (strcmp(type, types[i]) == 0)
			return 1;
	return 0;
}

static json_t *
collect_filesystems(const char *root)
{
	char *text = slurp(root, "/proc/mounts"), *line, *save = NULL;
	json_t *a = json_array();

	for (line = text ? strtok_r(text, "\n", &save) : NULL;
	     line && json_array_size(a) < 512;
	     line = strtok_r(NULL, "\n", &save)) {
		char dev[257], mnt[513], type[33];
		struct statvfs sv;
		json_t *o;

		if (sscanf(line, "%256s %512s %32s", dev, mnt, type) != 3 ||
		    !real_fs(type))
			continue;
		o = json_object();
		set_text(o, "mount", mnt, 512);
		set_text(o, "type", type, 32);
		set_text(o, "device", dev, 256);
		/* Sizes only on the live system: a fixture has no mounts. */
		if (strcmp(root, "/") == 0 && statvfs(mnt, &sv) == 0) {
			json_object_set_new(o, "size_mb",
			    json_integer((json_int_t)((unsigned long long)
				    sv.f_blocks * sv.f_frsize >> 20)));
			json_object_set_new(o, "free_mb",
			    json_integer((json_int_t)((unsigned long long)
				    sv.f_bavail * sv.f_frsize >> 20)));
		}
		json_array_append_new(a, o);
	}
	free(text);
	return a;
}

static void
add_addresses(json_t *ifaces)
{
	struct ifaddrs *ifa, *p;

	if (getifaddrs(&ifa) < 0)
		return;
	for (p = ifa; p; p = p->ifa_next) {
		char buf[INET6_ADDRSTRLEN];
		json_t *o, *list;
		size_t i;

		if (ifaddr_text(p->ifa_addr, buf, sizeof(buf)) < 0)
			continue;
		json_array_foreach(ifaces, i, o)
		{
			if (strcmp(json_string_value(json_object_get(o, "name")),
				p->ifa_name) != 0)
				continue;
			list = json_object_get(o, "addresses");
			if (list == NULL) {
				list = json_array();
				json_object_set_new(o, "addresses", list);
			}
			if (json_array_size(list) < 64)
				json_array_append_new(list, json_string(buf));
		}
	}
	freeifaddrs(ifa);
}

static json_t *
collect_interfaces(const char *root)
{
	char path[PATH_MAX];
	json_t *a = json_array();
	struct dirent *de;
	DIR *d;

	str_fmt(path, sizeof(path), "%s/sys/class/net",
	    strcmp(root, "/") ? root : "");
	d = opendir(path);
	while (d && (de = readdir(d)) != NULL && json_array_size(a) < 256) {
		char rel[PATH_MAX], *mac;
		json_t *o;

		if (de->d_name[0] == '.' || strcmp(de->d_name, "lo") == 0 ||
		    strlen(de->d_name) > 64)
			continue;
		o = json_object();
		set_text(o, "name", de->d_name, 64);
		str_fmt(rel, sizeof(rel), "/sys/class/net/%s/address",
		    de->d_name);
		mac = slurp(root, rel);
		if (mac) {
			str_trim_right(mac);
			if (*mac && strspn(mac, "0123456789abcdef:") ==
					strlen(mac))
				set_text(o, "mac", mac, 64);
			free(mac);
		}
		json_array_append_new(a, o);
	}
	if (d)
		closedir(d);
	if (strcmp(root, "/") == 0)
		add_addresses(a);
	return a;
}

/* dpkg's status file: stanzas separated by blank lines; a package counts
 * when its Status is "install ok installed". */
static json_t *
collect_packages(const char *root)
{
	char *text = slurp(root, "/var/lib/dpkg/status"), *p, *next;
	json_t *a = json_array();

	for (p = text; p && *p && json_array_size(a) < 20000; p = next) {
		char *end = strstr(p, "\n\n"), *line, *save = NULL;
		char name[129] = "", version[129] = "", arch[33] = "";
		int installed = 0;

		next = end ? end + 2 : p + strlen(p);
		if (end)
			*end = '\0';
		for (line = strtok_r(p, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			if (strncmp(line, "Package: ", 9) == 0)
				str_copy(name, sizeof(name), line + 9);
			else if (strncmp(line, "Version: ", 9) == 0)
				str_copy(version, sizeof(version), line + 9);
			else if (strncmp(line, "Architecture: ", 14) == 0)
				str_copy(arch, sizeof(arch), line + 14);
			else if (strcmp(line, "Status: install ok installed") ==
			    0)
				installed = 1;
		}
		if (installed && name[0]) {
			json_t *o = json_object();

			set_text(o, "name", name, 128);
			set_text(o, "version", version, 128);
			if (arch[0])
				set_text(o, "arch", arch, 32);
			json_object_set_new(o, "source", json_string("dpkg"));
			json_array_append_new(a, o);
		}
	}
	free(text);
	return a;
}

/* Local human users: uid 1000 to 59999 in /etc/passwd (Debian's range). */
static json_t *
collect_users(const char *root)
{
	char *text = slurp(root, "/etc/passwd"), *line, *save = NULL;
	json_t *a = json_array();

	for (line = text ? strtok_r(text, "\n", &save) : NULL;
	     line && json_array_size(a) < 2000;
	     line = strtok_r(NULL, "\n", &save)) {
		char *f[7], *s = line;
		int n = 0;
		int64_t uid;
		json_t *o;

		while (n < 7 && s) {
			f[n++] = s;
			s = strchr(s, ':');
			if (s)
				*s++ = '\0';
		}
		if (n < 7 || parse_int64(f[2], 0, 4294967295LL, &uid) < 0 ||
		    uid < 1000 || uid >= 60000 || strlen(f[0]) > 64)
			continue;
		o = json_object();
		set_text(o, "name", f[0], 64);
		json_object_set_new(o, "uid", json_integer(uid));
		set_text(o, "home", f[5], 512);
		set_text(o, "shell", f[6], 256);
		json_array_append_new(a, o);
	}
	free(text);
	return a;
}

json_t *
collect_inventory(const char *root)
{
	json_t *c = json_object();

	json_object_set_new(c, "os", collect_os(root));
	json_object_set_new(c, "cpu", collect_cpu(root));
	json_object_set_new(c, "memory", collect_memory(root));
	json_object_set_new(c, "dmi", collect_dmi(root));
	json_object_set_new(c, "disks", collect_disks(root));
	json_object_set_new(c, "filesystems", collect_filesystems(root));
	json_object_set_new(c, "interfaces", collect_interfaces(root));
	json_object_set_new(c, "packages", collect_packages(root));
	json_object_set_new(c, "users", collect_users(root));
	return c;
}

/* The delta from the last acknowledged classes to the current ones: list
 * classes as upserts and removals by key, singletons whole when changed. */
json_t *
inventory_delta(json_t *old, json_t *cur)
{
	json_t *out = json_object();
	const char *cls;
	json_t *v;

	json_object_foreach(cur, cls, v)
	{
		json_t *was = json_object_get(old, cls);

		if (!inventory_class_is_list(cls)) {
			if (!json_equal(was, v))
				json_object_set(out, cls, v);
			continue;
		}
		{
			json_t *ups = json_array(), *rm = json_array(), *o;
			json_t *oldmap = json_object(), *newmap = json_object();
			const char *k;
			char key[300];
			size_t i;

			json_array_foreach(was, i, o)
			{
				if (inventory_row_key(cls, o, key,
					sizeof(key)) == 0)
					json_object_set(oldmap, key, o);
			}
			json_array_foreach(v, i, o)
			{
				if (inventory_row_key(cls, o, key,
					sizeof(key)) < 0)
					continue;
				json_object_set(newmap, key, o);
				if (!json_equal(json_object_get(oldmap, key), o))
					json_array_append(ups, o);
			}
			json_object_foreach(oldmap, k, o)
			{
				if (json_object_get(newmap, k) == NULL)
					json_array_append_new(rm,
					    json_string(k));
			}
			if (json_array_size(ups) || json_array_size(rm))
				json_object_set_new(out, cls,
				    json_pack("{s:o,s:o}", "upsert", ups,
					"remove", rm));
			else {
				json_decref(ups);
				json_decref(rm);
			}
			json_decref(oldmap);
			json_decref(newmap);
		}
	}
	return out;
}
