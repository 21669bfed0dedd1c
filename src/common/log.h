/* log.h - one-line log records to stderr, and optionally to a protected,
 * hash-chained log file and to syslog. */
#ifndef STEWARD_LOG_H
#define STEWARD_LOG_H

#include <stddef.h>

enum log_level { LVL_ERR = 0, LVL_WARN = 1, LVL_INFO = 2, LVL_DEBUG = 3 };

/* Process-wide, set once at start before threads exist. */
void log_init(const char *tag, enum log_level level);
/* Also write records to path (created root-owned 0640; its directory must
 * not be writable by group or others) continuing its hash chain, and to
 * syslog when /dev/log exists. */
int log_open_file(const char *path, char *err);
void log_close_file(void);
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Checks a log file's chain; prints the first broken or missing record.
 * Returns 0 when intact, 1 when broken, -1 when unreadable. */
int log_verify(const char *path, char *report, size_t size);

#define log_err(...) log_msg(LVL_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LVL_DEBUG, __VA_ARGS__)

#endif
