/* idle.c - what the agent gives back between check-ins.
 *
 * A running agent spends nearly all its life waiting. After a check-in it
 * returns the free heap to the system and drops its mappings of library
 * pages that hold nothing of its own: read-only, private, file-backed
 * mappings with no private (copied) page. Those pages stay in the page
 * cache, shared with every other process that maps them, and come back
 * by a minor fault at the next check-in; what was written (data, relocated
 * tables, heap, stacks) is never touched. */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "agent.h"

/* Parses "start-end perms ..." of a maps line: 1 when it is a private,
 * read-only mapping of a file. */
static int
mapping_of(const char *line, uintptr_t *start, uintptr_t *end)
{
	char *p;
	const char *perms, *path;

	*start = (uintptr_t)strtoull(line, &p, 16);
	if (*p != '-')
		return 0;
	*end = (uintptr_t)strtoull(p + 1, &p, 16);
	if (*p != ' ' || *end <= *start)
		return 0;
	perms = p + 1;
	if (strlen(perms) < 5 || perms[0] != 'r' || perms[1] != '-' ||
	    perms[3] != 'p')
		return 0;
	path = strchr(perms, '/');
	return path != NULL && strstr(path, " (deleted)") == NULL;
}

int
agent_idle_release(void)
{
	FILE *f = fopen("/proc/self/smaps", "re");
	char line[4096];
	uintptr_t start = 0, end = 0;
	int candidate = 0, dropped = 0;

	malloc_trim(0);
	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long kb;

		/* A mapping's first line starts with its address (lowercase
		 * hex); its fields ("Rss:", "Anonymous:") with a capital. */
		if ((line[0] >= '0' && line[0] <= '9') ||
		    (line[0] >= 'a' && line[0] <= 'f')) {
			candidate = mapping_of(line, &start, &end);
			continue;
		}
		/* Decided at this mapping's "Anonymous:" line: a private
		 * copy anywhere in it keeps the whole mapping. */
		if (!candidate || sscanf(line, "Anonymous: %lu kB", &kb) != 1)
			continue;
		candidate = 0;
		if (kb == 0 &&
		    madvise((void *)start, end - start, MADV_DONTNEED) == 0)
			dropped++;
	}
	fclose(f);
	return dropped;
}
