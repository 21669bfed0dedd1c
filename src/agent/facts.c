/* facts.c - what the agent reports about its device: host name, hardware
 * id, OS, kernel and addresses. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "agent.h"
#include "common/util.h"

int
facts_hardware_id(char *out, size_t size, char *err)
{
	static const char *sources[] = {"/etc/machine-id",
	    "/sys/class/dmi/id/product_uuid"};
	unsigned char md[32];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int found = 0;
	size_t i;

	if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(ctx);
		return err_set(err, "out of memory");
	}
	for (i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		char *text;

		if (file_read(sources[i], 4096, &text, NULL, NULL) < 0)
			continue;
		str_trim_right(text);
		if (text[0] != '\0') {
			EVP_DigestUpdate(ctx, sources[i], strlen(sources[i]));
			EVP_DigestUpdate(ctx, text, strlen(text) + 1);
			found++;
		}
		free(text);
	}
	EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	if (!found)
		return err_set(err,
		    "no hardware id: /etc/machine-id and the DMI product UUID "
		    "are unreadable; pass --hardware-id");
	if (size < 65)
		return err_set(err, "buffer too small");
	hex_encode(md, sizeof(md), out);
	return 0;
}

static void
os_name(char *out, size_t size)
{
	char *text, *line, *save = NULL;

	str_copy(out, size, "Linux");
	if (file_read("/etc/os-release", 65536, &text, NULL, NULL) < 0)
		return;
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "PRETTY_NAME=", 12) == 0) {
			char *v = line + 12;
			size_t n = strlen(v);

			if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
				v[n - 1] = '\0';
				v++;
			}
			str_copy(out, size, v);
			break;
		}
	}
	free(text);
}

static void
addresses(struct discovery *d)
{
	struct ifaddrs *ifa, *p;

	if (getifaddrs(&ifa) < 0)
		return;
	for (p = ifa; p && d->naddresses < DISC_ADDR_MAX; p = p->ifa_next) {
		char buf[INET6_ADDRSTRLEN];

		if ((p->ifa_flags & IFF_LOOPBACK) ||
		    ifaddr_text(p->ifa_addr, buf, sizeof(buf)) < 0)
			continue;
		str_copy(d->addresses[d->naddresses++],
			    DISC_ADDR_LEN, buf);
	}
	freeifaddrs(ifa);
}

int
facts_collect(struct discovery *d, const char *hostname,
    const char *hardware_id, char *err)
{
	struct utsname u;

	memset(d, 0, sizeof(*d));
	if (hostname != NULL) {
		if (!discovery_hostname_valid(hostname))
			return err_set(err, "invalid host name '%s'", hostname);
		str_copy(d->hostname, sizeof(d->hostname), hostname);
	} else if (gethostname(d->hostname, sizeof(d->hostname) - 1) < 0 ||
	    !discovery_hostname_valid(d->hostname)) {
		str_copy(d->hostname, sizeof(d->hostname), "localhost");
	}
	if (hardware_id != NULL) {
		if (!discovery_hwid_valid(hardware_id))
			return err_set(err,
			    "hardware id must be 8-128 printable characters");
		str_copy(d->hardware_id, sizeof(d->hardware_id), hardware_id);
	} else if (facts_hardware_id(d->hardware_id, sizeof(d->hardware_id),
		       err) < 0) {
		return -1;
	}
	os_name(d->os, sizeof(d->os));
	if (uname(&u) == 0)
		str_fmt(d->kernel, sizeof(d->kernel), "%s %s", u.sysname,
		    u.release);
	str_copy(d->agent_version, sizeof(d->agent_version), STEWARD_VERSION);
	addresses(d);
	return 0;
}
