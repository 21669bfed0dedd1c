/* log.c - one-line log records to stderr, with a process tag. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* Process-wide, written once by log_init() before any thread starts. */
static char log_tag[32] = "steward";
static enum log_level log_threshold = LOG_INFO;

void
log_init(const char *tag, enum log_level level)
{
	str_copy(log_tag, sizeof(log_tag), tag);
	log_threshold = level;
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *names[] = {"error", "warning", "info", "debug"};
	char line[2048], when[32];
	va_list ap;

	if (level > log_threshold)
		return;
	time_iso(now_unix(), when, sizeof(when));
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One fprintf per record keeps records whole across threads. */
	fprintf(stderr, "%s %s[%s]: %s\n", when, log_tag, names[level], line);
}
