/* log.c - log records: one line each on stderr; optionally appended to a
 * protected file in which every record carries the SHA-256 chain value of
 * all records before it (so a deleted or edited record is detectable), and
 * sent to syslog. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util.h"

#define CHAIN_HEX 64
#define CHAIN_MARK " |chain "

/* Process-wide, labelled: written by log_init()/log_open_file() before any
 * thread starts; the file and chain are then guarded by log_lock. */
static char log_tag[32] = "steward";
static enum log_level log_threshold = LVL_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_fd = -1;
static int log_syslog;
static unsigned long long log_seq;
static char log_prev[CHAIN_HEX + 1];

void
log_init(const char *tag, enum log_level level)
{
	str_copy(log_tag, sizeof(log_tag), tag);
	log_threshold = level;
}

/* chain = SHA-256(prev chain hex || record text), hex. */
static void
chain_next(const char *prev, const char *text, size_t len, char out[65])
{
	unsigned char md[32];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	EVP_DigestUpdate(ctx, prev, strlen(prev));
	EVP_DigestUpdate(ctx, text, len);
	EVP_DigestFinal_ex(ctx, md, NULL);
	EVP_MD_CTX_free(ctx);
	hex_encode(md, sizeof(md), out);
}

/* Splits "TEXT |chain SEQ HASH" into its parts. */
static int
split_record(char *line, char **text, size_t *tlen, unsigned long long *seq,
    char **hash)
{
	char *m = strstr(line, CHAIN_MARK), *end;

	if (m == NULL)
		return -1;
	while (strstr(m + 1, CHAIN_MARK))
		m = strstr(m + 1, CHAIN_MARK);
	*text = line;
	*tlen = (size_t)(m - line);
	errno = 0;
	*seq = strtoull(m + strlen(CHAIN_MARK), &end, 10);
	if (errno || *end != ' ' || strlen(end + 1) != CHAIN_HEX)
		return -1;
	*hash = end + 1;
	return 0;
}

#define LOG_TAIL (64 * 1024) /* far more than one record */

/* The last max bytes of a file (all of a shorter one), NUL-terminated:
 * the chain continues from the last record without reading a year of
 * logs at every start. */
static char *
read_tail(const char *path, size_t max, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf;
	off_t from;
	ssize_t n;

	*len = 0;
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || (buf = malloc(max + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	from = st.st_size > (off_t)max ? st.st_size - (off_t)max : 0;
	n = pread(fd, buf, max, from);
	close(fd);
	if (n < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	return buf;
}

int
log_open_file(const char *path, char *err)
{
	char dir[4096], *slash, *text = NULL;
	struct stat st;
	mode_t old;
	size_t len;
	int fd;

	str_copy(dir, sizeof(dir), path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		return err_set(err, "log path %s has no directory", path);
	*slash = '\0';
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return err_set(err, "log directory %s is missing", dir);
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return err_set(err, "log directory %s is writable by group or "
				    "others; it must not be",
		    dir);
	old = umask(0);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	umask(old);
	if (fd < 0)
		return err_set(err, "cannot open log %s: %s", path,
		    strerror(errno));
	if (fstat(fd, &st) < 0 || (st.st_mode & (S_IWGRP | S_IRWXO)) ||
	    (geteuid() == 0 && st.st_uid != 0)) {
		close(fd);
		return err_set(err, "log %s must be root-owned and 0640 or "
				    "stricter",
		    path);
	}
	/* Continue the chain from the last record. */
	memset(log_prev, '0', CHAIN_HEX);
	log_prev[CHAIN_HEX] = '\0';
	log_seq = 0;
	if ((text = read_tail(path, LOG_TAIL, &len)) != NULL && len > 0) {
		char *last, *t, *h;
		size_t tl;
		unsigned long long seq;

		while (len > 0 && text[len - 1] == '\n')
			text[--len] = '\0';
		last = strrchr(text, '\n');
		last = last ? last + 1 : text;
		if (split_record(last, &t, &tl, &seq, &h) == 0) {
			log_seq = seq;
			str_copy(log_prev, sizeof(log_prev), h);
		}
	}
	free(text);
	log_fd = fd;
	if (access("/dev/log", W_OK) == 0) {
		openlog(log_tag, LOG_PID | LOG_NDELAY, LOG_DAEMON);
		log_syslog = 1;
	}
	return 0;
}

void
log_close_file(void)
{
	pthread_mutex_lock(&log_lock);
	if (log_fd >= 0)
		close(log_fd);
	log_fd = -1;
	pthread_mutex_unlock(&log_lock);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *names[] = {"error", "warning", "info", "debug"};
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char msg[2048], line[2300], when[32];
	va_list ap;
	size_t i;

	if (level > log_threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* A record is one line whatever it quotes. */
	for (i = 0; msg[i]; i++)
		if (msg[i] == '\n' || msg[i] == '\r')
			msg[i] = ' ';
	time_iso(now_unix(), when, sizeof(when));
	snprintf(line, sizeof(line), "%s %s[%s]: %s", when, log_tag,
	    names[level], msg);
	/* One fprintf per record keeps records whole across threads. */
	fprintf(stderr, "%s\n", line);
	if (log_fd < 0)
		return;
	pthread_mutex_lock(&log_lock);
	if (log_fd >= 0) {
		char rec[2500], next[CHAIN_HEX + 1];
		int n;

		chain_next(log_prev, line, strlen(line), next);
		n = snprintf(rec, sizeof(rec), "%s%s%llu %s\n", line,
		    CHAIN_MARK, ++log_seq, next);
		if (n > 0 && write(log_fd, rec, (size_t)n) == n)
			memcpy(log_prev, next, sizeof(log_prev));
		if (log_syslog)
			syslog(prio[level], "%s", msg);
	}
	pthread_mutex_unlock(&log_lock);
}

int
log_verify(const char *path, char *report, size_t size)
{
	char *text, *line, *save = NULL, prev[CHAIN_HEX + 1], want[65];
	unsigned long long expect = 0, n = 0;
	size_t len;

	if (file_read(path, 1024 * 1024 * 1024, &text, &len, NULL) < 0) {
		str_fmt(report, size, "cannot read %s", path);
		return -1;
	}
	memset(prev, '0', CHAIN_HEX);
	prev[CHAIN_HEX] = '\0';
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save), n++) {
		char *t, *h;
		size_t tl;
		unsigned long long seq;

		if (split_record(line, &t, &tl, &seq, &h) < 0) {
			str_fmt(report, size,
			    "line %llu: not a chained record (edited or "
			    "inserted)",
			    n + 1);
			free(text);
			return 1;
		}
		if (expect == 0 && seq != 1) {
			str_fmt(report, size,
			    "records 1 to %llu are missing from the start",
			    seq - 1);
			free(text);
			return 1;
		}
		if (expect != 0 && seq != expect) {
			str_fmt(report, size,
			    seq > expect ? "record %llu is missing (line %llu "
					   "holds record %llu)"
					 : "record %llu is out of order (line "
					   "%llu holds record %llu)",
			    expect, n + 1, seq);
			free(text);
			return 1;
		}
		chain_next(prev, t, tl, want);
		if (strcmp(want, h) != 0) {
			str_fmt(report, size,
			    "record %llu (line %llu) was altered: its chain "
			    "value does not match",
			    seq, n + 1);
			free(text);
			return 1;
		}
		memcpy(prev, h, CHAIN_HEX);
		expect = seq + 1;
	}
	str_fmt(report, size, "%s: %llu records, chain intact", path, n);
	free(text);
	return 0;
}
